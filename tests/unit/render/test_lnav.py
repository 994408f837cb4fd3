"""The lnav format for `get -o json`: what it says, where it is installed, and what the real lnav
makes of `get -o json` lines with it (skipped when lnav is not installed: `apt-get install lnav`).

The lines are the demo's traffic (every failure mode, Python, Node and JSON runtimes, JSON and
CLF access logs) written by the same formatter `get -o json` uses, plus hostile ones."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from apilogs.model import LineKind, LogEvent, RawEvent, Role, Source
from apilogs.parse import parse_event
from apilogs.render.events import EventFormatter, RenderOptions, event_to_dict
from apilogs.render.lnav import (
    FORMAT_FILE,
    FORMAT_NAME,
    InstallAction,
    LnavFormatConflict,
    NoLnavHome,
    install_lnav_format,
    is_our_format,
    lnav_config_dir,
    lnav_format,
    lnav_format_path,
    lnav_format_text,
    lnav_level,
)
from apilogs.render.style import Painter
from tests.support import hostile
from tests.support.demo_events import T0, demo_events, demo_sources

LNAV = shutil.which("lnav")
needs_lnav = pytest.mark.skipif(
    LNAV is None, reason="lnav is not installed (apt-get install -y lnav): real-lnav checks skipped"
)

RID = hostile.RID
LAMBDA_ID = "0b8c2e58-3c5a-4a4e-9a51-4f3c2a1b0c9d"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"


# --- the lines ----------------------------------------------------------------------------------


# Hostile messages, and the level each must get: what the line is, whatever text it carries.
def hostile_cases() -> list[tuple[Role, str, str]]:
    execution = hostile.execution_lines(RID, LAMBDA_ID, TRACE, "JjGvEiWsoAMEPaA=")
    levels = ["info"] * 7 + ["error", "error"]  # the Lambda error line, then status 502
    cases = [(Role.EXECUTION, m, lvl) for m, lvl in zip(execution, levels, strict=True)]
    lambda_levels = ["info", "info", "info", "error", "error", "error", "info", "info"]
    cases += [
        (Role.LAMBDA, m, lvl)
        for m, lvl in zip(hostile.lambda_lines(LAMBDA_ID, TRACE), lambda_levels, strict=True)
    ]
    agent = hostile.access_line(RID, status=502, agent=hostile.SMUGGLED_AGENT)
    cases.append((Role.ACCESS, agent, "error"))
    cases.append(
        (Role.ACCESS, hostile.access_line(RID, status=404, agent=hostile.PAYLOAD), "warning")
    )
    raw_levels = {hostile.INVALID_JSON: "error"}  # it says "status": 500
    cases += [(Role.LAMBDA, m, raw_levels.get(m, "info")) for m in hostile.RAW_MESSAGES]
    return cases


def hostile_events() -> list[tuple[LogEvent, str]]:
    sources = {
        Role.EXECUTION: Source(
            Role.EXECUTION, "API-Gateway-Execution-Logs_a1b2c3/prod", "us-east-1"
        ),
        Role.ACCESS: Source(
            Role.ACCESS, "/access/shop", "us-east-1", log_format=hostile.ACCESS_JSON_FORMAT
        ),
        Role.LAMBDA: Source(Role.LAMBDA, "/aws/lambda/orders", "us-east-1", function_name="orders"),
    }
    out = []
    for i, (role, message, level) in enumerate(hostile_cases()):
        source = sources[role]
        raw = RawEvent(T0 + 200_000 + i, T0 + 200_000 + i, source.log_group, "s", f"h{i}",
                       message, source)  # fmt: skip
        out.append((parse_event(raw), level))
    return out


_ERROR_KINDS = {
    LineKind.APIGW_TIMEOUT,
    LineKind.APIGW_LAMBDA_ERROR,
    LineKind.APIGW_MALFORMED,
    LineKind.APIGW_PERMISSIONS,
    LineKind.APIGW_FAILED,
    LineKind.LAMBDA_TIMEOUT,
    LineKind.LAMBDA_RUNTIME_EXIT,
    LineKind.LAMBDA_ERROR,
}
_LEVELS = {"ERROR": "error", "FATAL": "error", "CRITICAL": "error", "WARN": "warning",
           "DEBUG": "debug", "TRACE": "debug"}  # fmt: skip


def parsed_level(event: LogEvent) -> str:
    """The level apilogs's own parser implies: what lnav should show for a well-formed line."""
    kind, fields = event.kind, event.line.fields
    if kind in (LineKind.APIGW_THROTTLED, LineKind.APIGW_UNAUTHORIZED):
        return "warning"
    if kind in _ERROR_KINDS:
        return "error"
    status = fields.get("status")
    if kind in (LineKind.APIGW_COMPLETED, LineKind.ACCESS) and isinstance(status, int):
        return "error" if status >= 500 else "warning" if status >= 400 else "info"
    if kind is LineKind.LAMBDA_REPORT and fields.get("lambda_status") in ("timeout", "error"):
        return "error"
    if kind is LineKind.LAMBDA_TRACEBACK and event.message.startswith("Traceback"):
        return "error"
    return _LEVELS.get(str(fields.get("level")), "info")


def json_lines(events: list[LogEvent]) -> list[str]:
    """As `get -o json` writes them; every 40th marked late, as `--watch` may."""
    formatter = EventFormatter(
        RenderOptions(output="json"), Painter(False), list(demo_sources().values())
    )
    return [formatter.format(e, i % 40 == 0) for i, e in enumerate(events)]


# --- the format, without lnav ------------------------------------------------------------------


def test_the_format_is_a_json_lines_format_lnav_can_read() -> None:
    doc = json.loads(lnav_format_text())
    assert doc == lnav_format()
    assert set(doc) == {"$schema", FORMAT_NAME}
    fmt = doc[FORMAT_NAME]
    assert fmt["json"] is True
    assert fmt["timestamp-field"] == "time"
    assert fmt["opid-field"] == "request_id"
    assert fmt["level-field"] == "message"
    assert fmt["body-field"] == "message"
    assert set(fmt["level"]) == {"debug", "warning", "error"}
    for pattern in fmt["level"].values():
        re.compile(pattern)
    # Every field the line-format and values name is a field of the JSON output.
    fields = set(event_to_dict(next(demo_events()), late=True))
    shown = {e["field"] for e in fmt["line-format"] if isinstance(e, dict)}
    assert shown - {"__timestamp__"} <= fields
    assert set(fmt["value"]) <= fields
    # lnav 0.11 takes the operation ID from the rendered line: it must be there, whole.
    (opid,) = [e for e in fmt["line-format"] if isinstance(e, dict) and e["field"] == "request_id"]
    assert opid == {"field": "request_id"}
    # lnav 0.11.1 makes no table for a format with a value named like an SQL keyword.
    assert "group" not in fmt["value"]
    assert is_our_format(lnav_format_text())


def test_samples_are_lines_get_writes_with_the_level_they_say() -> None:
    fields = list(event_to_dict(next(demo_events())))
    for sample in lnav_format()[FORMAT_NAME]["sample"]:
        doc = json.loads(sample["line"])
        assert list(doc) == fields
        assert lnav_level(doc["message"]) == sample["level"]


@pytest.mark.parametrize(
    ("message", "level"),
    [
        (f"({RID}) Method completed with status: 502", "error"),
        (f"({RID}) Method completed with status: 404", "warning"),
        (f"({RID}) Method completed with status: 200", "info"),
        (f"({RID}) Execution failed due to a timeout error", "error"),
        (f"({RID}) Execution failed due to configuration error: Malformed Lambda proxy response", "error"),
        (f"({RID}) Execution failed due to configuration error: Rate Exceeded.", "warning"),
        (f"({RID}) Lambda invocation failed with status: 429. Lambda request id: {LAMBDA_ID}", "warning"),
        (f"({RID}) Lambda invocation failed with status: 500. Lambda request id: {LAMBDA_ID}", "error"),
        (f"({RID}) Unauthorized request: {RID}", "warning"),
        (f"({RID}) Method request body before transformations: Execution failed", "info"),
        (f"[ERROR]\t2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\tboom\n", "error"),
        (f"[WARNING]\t2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\tslow\n", "warning"),
        (f"[DEBUG]\t2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\tx\n", "debug"),
        (f"[INFO]\t2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\t[ERROR] Execution failed\n", "info"),
        (f"2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\tERROR\tInvoke Error \t{{}}\n", "error"),
        (f"2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\tWARN\tcareful\n", "warning"),
        (f"2024-01-01T00:00:03.005Z {LAMBDA_ID} Task timed out after 3.00 seconds\n", "error"),
        (f"RequestId: {LAMBDA_ID} Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n", "error"),
        (f"REPORT RequestId: {LAMBDA_ID}\tDuration: 3000.00 ms\tStatus: timeout\n", "error"),
        (f"REPORT RequestId: {LAMBDA_ID}\tDuration: 3.00 ms\t\n", "info"),
        ('{"time":"x","type":"platform.report","record":{"status":"timeout"}}', "error"),
        ('{"time":"x","type":"platform.report","record":{"status":"success"}}', "info"),
        ('{"timestamp":"x","level":"ERROR","message":"no"}', "error"),
        ('{"level":40,"msg":"pino warns"}', "warning"),
        ('{"requestId":"x","status":"503"}', "error"),
        ('1.2.3.4 - - [14/Nov/2023:22:13:20 +0000] "GET /x HTTP/1.1" 403 12 x', "warning"),
        ("print('Execution failed')", "info"),
    ],
)  # fmt: skip
def test_level_of_a_message(message: str, level: str) -> None:
    assert lnav_level(message) == level


def test_levels_agree_with_what_apilogs_parses() -> None:
    """Over the demo's traffic, the level read from the message is the one the parser implies."""
    wrong = [
        (e.kind, e.message[:120], lnav_level(e.message), parsed_level(e))
        for e in demo_events()
        if lnav_level(e.message) != parsed_level(e)
    ]
    assert not wrong


def test_hostile_lines_keep_the_level_of_what_they_are() -> None:
    for event, level in hostile_events():
        assert lnav_level(event.message) == level, event.message[:120]


# --- where it goes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folders", "xdg", "expected"),
    [
        ({"home"}, None, "home/.lnav"),
        ({"home", "home/.config"}, None, "home/.config/lnav"),
        ({"home", "home/.config", "xdg"}, "xdg", "xdg/lnav"),
        ({"home", "home/.config"}, "xdg", "home/.config/lnav"),  # XDG names no folder
        ({"home", "home/.lnav", "home/.config", "xdg"}, "xdg", "home/.lnav"),  # ~/.lnav wins
    ],
)
def test_config_dir_follows_lnav(folders: set[str], xdg: str | None, expected: str) -> None:
    env = {"HOME": "/r/home"} | ({"XDG_CONFIG_HOME": f"/r/{xdg}"} if xdg else {})
    found = lnav_config_dir(env, is_dir=lambda p: str(p).removeprefix("/r/") in folders)
    assert found == Path("/r") / expected


def test_no_home_is_an_error_not_a_guess() -> None:
    with pytest.raises(NoLnavHome):
        lnav_config_dir({})
    with pytest.raises(NoLnavHome):
        lnav_config_dir({"HOME": "/nonexistent/apilogs-test"})


def test_install_writes_then_leaves_alone_then_updates(tmp_path: Path) -> None:
    (tmp_path / ".config").mkdir()
    env = {"HOME": str(tmp_path)}
    first = install_lnav_format(env)
    path = tmp_path / ".config" / "lnav" / "formats" / "installed" / FORMAT_FILE
    assert (first.path, first.action) == (path, InstallAction.INSTALLED)
    assert path.read_text() == lnav_format_text()
    assert first.describe() == f"installed the lnav format: {path}"
    assert install_lnav_format(env).action is InstallAction.UNCHANGED
    # An older version of ours is replaced.
    old = lnav_format()
    old[FORMAT_NAME]["line-format"] = [{"field": "message"}]
    path.write_text(json.dumps(old))
    assert install_lnav_format(env).action is InstallAction.UPDATED
    assert path.read_text() == lnav_format_text()
    assert sorted(p.name for p in path.parent.iterdir()) == [FORMAT_FILE]  # no temporary left


def test_install_never_overwrites_a_file_that_is_not_ours(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    (tmp_path / "xdg").mkdir()
    path = lnav_format_path(env)
    assert path == tmp_path / "xdg" / "lnav" / "formats" / "installed" / FORMAT_FILE
    path.parent.mkdir(parents=True)
    theirs = '{"apilogs_json": {"title": "my own", "json": true}}\n'
    path.write_text(theirs)
    with pytest.raises(LnavFormatConflict) as caught:
        install_lnav_format(env)
    assert str(path) in str(caught.value)
    assert "not written by apilogs" in str(caught.value)
    assert path.read_text() == theirs
    replaced = install_lnav_format(env, replace_foreign=True)
    assert replaced.action is InstallAction.REPLACED
    assert path.read_text() == lnav_format_text()


# --- with the real lnav -----------------------------------------------------------------------


def run_lnav(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LNAV"))}
    env |= {"HOME": str(home), "TZ": "UTC", "TERM": "dumb"}
    assert LNAV is not None
    return subprocess.run(
        [LNAV, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def lnav_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    install_lnav_format({"HOME": str(home)})
    return home


@needs_lnav
def test_lnav_checks_the_format_without_a_complaint(lnav_home: Path, tmp_path: Path) -> None:
    checked = run_lnav(lnav_home, "-C")
    assert checked.returncode == 0, checked.stderr
    assert "error" not in checked.stdout + checked.stderr
    sample = tmp_path / "sample.json"
    sample.write_text("\n".join(json_lines(list(demo_events())[:50])) + "\n")
    warned = run_lnav(lnav_home, "-W", "-n", "-c", ";SELECT 1", str(sample))
    assert FORMAT_FILE not in warned.stdout + warned.stderr
    assert "warning" not in warned.stdout + warned.stderr
    # `-C` with a file checks that some format matches it.
    matched = run_lnav(lnav_home, "-C", str(sample))
    assert matched.returncode == 0, matched.stdout + matched.stderr


@needs_lnav
@pytest.mark.parametrize("layout", ["dot-lnav", "dot-config", "xdg"])
def test_install_goes_where_lnav_looks(tmp_path: Path, layout: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    if layout == "dot-lnav":
        (home / ".lnav").mkdir()
    elif layout == "dot-config":
        (home / ".config").mkdir()
    if layout == "xdg":
        (tmp_path / "xdg").mkdir()
        env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    installed = install_lnav_format(env)
    help_env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LNAV"))}
    help_env |= env | {"TZ": "UTC", "TERM": "dumb"}
    assert LNAV is not None
    shown = subprocess.run([LNAV, "-h"], env=help_env, capture_output=True, text=True,
                           timeout=30, check=False)  # fmt: skip
    found = re.search(r"format files are stored in:\s*\S*\s*(/\S+)", shown.stdout + shown.stderr)
    if found is None:
        pytest.skip("this lnav's -h does not say where its configuration is")
    assert installed.path == Path(found.group(1)) / "formats" / "installed" / FORMAT_FILE


@needs_lnav
def test_lnav_install_names_the_file_as_we_do(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    printed = tmp_path / "printed.json"
    printed.write_text(lnav_format_text())
    done = run_lnav(home, "-i", str(printed))
    assert done.returncode == 0, done.stdout + done.stderr
    path = lnav_format_path({"HOME": str(home)})
    assert path.exists()
    assert install_lnav_format({"HOME": str(home)}).action is InstallAction.UNCHANGED


@needs_lnav
def test_lnav_reads_every_line_its_time_level_and_request_id(
    lnav_home: Path, tmp_path: Path
) -> None:
    demo = list(demo_events())
    hostile_pairs = hostile_events()
    events = demo + [e for e, _ in hostile_pairs]
    expected_level = {e.raw.event_id: parsed_level(e) for e in demo}
    expected_level |= {e.raw.event_id: level for e, level in hostile_pairs}
    log = tmp_path / "get.json"
    log.write_text("\n".join(json_lines(events)) + "\n")
    query = (
        ";SELECT event_id, log_time, log_level, log_opid, log_format, source, function, kind, "
        "request_id, lambda_request_id FROM apilogs_json"
    )
    done = run_lnav(lnav_home, "-n", "-c", query, "-c", ":write-json-to -", str(log))
    assert done.returncode == 0, done.stderr
    rows = {row["event_id"]: row for row in json.loads(done.stdout)}
    # Every line is read as this format: none left to another format or to plain text.
    counted = run_lnav(
        lnav_home, "-n", "-c", ";SELECT count(*) AS n FROM all_logs WHERE log_format = "
        f"'{FORMAT_NAME}'", "-c", ":write-json-to -", str(log)
    )  # fmt: skip
    assert json.loads(counted.stdout) == [{"n": len(events)}]
    assert len(rows) == len(events)
    for event in events:
        doc = event_to_dict(event)
        row = rows[doc["event_id"]]
        assert row["log_format"] == FORMAT_NAME
        assert row["log_time"] == doc["time"].replace("T", " ").removesuffix("Z")
        assert row["log_level"] == expected_level[doc["event_id"]], doc["message"][:120]
        assert row["log_level"] == lnav_level(doc["message"])
        # The request ID is the operation ID. lnav 0.11 renders a missing one as `null`.
        if doc["request_id"] is None:
            assert row["log_opid"] in (None, "null")
        else:
            assert row["log_opid"] == doc["request_id"]
        for name in ("source", "function", "kind", "request_id", "lambda_request_id"):
            assert row[name] == doc[name]
    levels = {row["log_level"] for row in rows.values()}
    assert levels == {"info", "warning", "error"}
