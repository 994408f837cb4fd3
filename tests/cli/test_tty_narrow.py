"""What a person sees in a real terminal at 80x24 and at 200x50: tmux runs `apilogs requests`,
`groups`, `stats` and `get` against moto's server with the seeded demo traffic, and the pane
is read back with `capture-pane`. Time, method, status, latency, cause and the ID to copy must
be on screen, and no line may wrap."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.demo_data import Traffic

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux runs the real terminal"),
    pytest.mark.slow,
]

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "TERM": "xterm-256color",
}
DONE = "APILOGS-EXITED"


class Screen:
    def __init__(self) -> None:
        self.socket = f"apilogs-tty-{uuid.uuid4().hex[:8]}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        ).stdout

    def run(self, shell: str, size: tuple[int, int], timeout: float = 90) -> str:
        """`shell` in a fresh pane of `size`; the pane once it has ended."""
        self.tmux("kill-server")
        time.sleep(0.3)  # the old server gone before the new one starts
        command = (
            "env -u COLUMNS -u LINES "
            + " ".join(f"{k}={shlex.quote(v)}" for k, v in ENV.items())
            + f" sh -c {shlex.quote(shell)}; echo {DONE} $?; sleep 60"
        )
        columns, rows = size
        self.tmux("new-session", "-d", "-s", "t", "-x", str(columns), "-y", str(rows), command)
        deadline = time.monotonic() + timeout
        while True:
            # -J: a line the terminal wrapped comes back whole, longer than the pane.
            # -S -: from the start of the history, what scrolled away too.
            text = self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t")
            if DONE in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the pane shows:\n{text}")
            time.sleep(0.3)


@pytest.fixture
def screen() -> Iterator[Screen]:
    found = Screen()
    yield found
    found.tmux("kill-server")


def apilogs(
    traffic: Traffic,
    *args: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    max_rps: str = "0",
) -> str:
    window = [
        "-s", str(start_ms if start_ms is not None else traffic.start_ms - 60_000),
        "-e", str(end_ms if end_ms is not None else traffic.end_ms + 60_000),
    ]  # fmt: skip
    target = ["-a", traffic.app.rest_api_id, "-t", traffic.app.rest_stage]
    return shlex.join(
        [sys.executable, "-m", "apilogs", *args, *target, *window, "--endpoint-url", traffic.url,
         "--max-rps", max_rps]
    )  # fmt: skip


def fits(text: str, width: int) -> bool:
    """No line of the pane wrapped (tmux joined it back: longer than the pane)."""
    return all(len(x) <= width for x in text.splitlines())


def hms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_requests_shows_what_on_call_needs(traffic: Traffic, screen: Screen, size) -> None:
    timeout = traffic.forced["lambda_timeout"]
    shell = apilogs(traffic, "requests", "--utc", "--errors",
                    start_ms=timeout.start_ms - 200, end_ms=timeout.end_ms + 5000)  # fmt: skip
    text = screen.run(shell, size)
    row = next((x for x in text.splitlines() if hms(timeout.start_ms) in x), None)
    assert row is not None, text
    assert "GET" in row and "502" in row and "3.0 s" in row, row
    assert "Lambda timeout" in row or "Lambda timed out" in row, row
    if size[0] == 80:
        assert timeout.request_id[:8] in row and timeout.request_id not in row
        header = next(x for x in text.splitlines() if x.startswith("TIME"))
        assert header.split() == [
            "TIME", "METHOD", "PATH", "STATUS", "LATENCY", "LAMBDA", "CAUSE", "ID"
        ]  # fmt: skip
    else:
        assert timeout.request_id in row and "Lambda timed out after" in row
        assert re.search(r"\d\d:\d\d:\d\d\.\d{3}", row)
    assert fits(text, size[0])
    assert f"{DONE} 0" in text


def test_errors_are_server_errors_and_4xx_have_status(traffic: Traffic, screen: Screen) -> None:
    text = screen.run(apilogs(traffic, "requests", "--errors") + " | cat", (200, 50))
    statuses = re.findall(r"  ([1-5]\d\d)  ", text)
    assert statuses and all(s.startswith("5") for s in statuses), text
    text = screen.run(apilogs(traffic, "requests", "--status", "4xx") + " | tail -5", (200, 50))
    statuses = re.findall(r"  ([1-5]\d\d)  ", text)
    assert statuses and all(s.startswith("4") for s in statuses), text


def test_a_piped_row_keeps_the_whole_cause(traffic: Traffic, screen: Screen) -> None:
    timeout = traffic.forced["apigw_timeout_no_xray"]
    shell = apilogs(traffic, "requests", "--utc", start_ms=timeout.start_ms - 200,
                    end_ms=timeout.end_ms + 5000) + " | cat"  # fmt: skip
    text = screen.run(shell, (200, 50))
    assert "API Gateway integration timeout; the Lambda ran on" in text, text
    assert timeout.request_id in text


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_groups_shows_every_group_name_whole(traffic: Traffic, screen: Screen, size) -> None:
    shell = shlex.join([sys.executable, "-m", "apilogs", "groups", "-a", traffic.app.rest_api_id,
                        "-t", traffic.app.rest_stage, "--endpoint-url", traffic.url])  # fmt: skip
    text = screen.run(shell, size)
    assert f"{DONE} 0" in text, text
    groups = {r.group for t in traffic.rest() for r in t.records}
    assert groups and all(g in text for g in groups), text
    assert fits(text, size[0])


def test_stats_rows_do_not_wrap_at_80(traffic: Traffic, screen: Screen) -> None:
    text = screen.run(apilogs(traffic, "stats", "--engine", "filter"), (80, 50))
    assert "Errors by cause" in text and "Lambda duration" in text, text
    assert fits(text, 80)
    # Every row of the error table starts with its count: none was folded onto a second row.
    table = text[text.index("Errors by cause") :].split("\n\n")[0].splitlines()[1:]
    assert table and all(re.match(r" +\d+  \w+ +e\.g\. \S{8}  \S", x) for x in table), table


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_get_on_a_terminal_is_time_source_id_message(
    traffic: Traffic, screen: Screen, size
) -> None:
    request = traffic.forced["out_of_memory"]
    shell = apilogs(traffic, "get", "--utc", "-r", request.request_id[:8],
                    start_ms=request.start_ms - 1000, end_ms=request.end_ms + 5000)  # fmt: skip
    text = screen.run(shell, size)
    assert f"{DONE} 0" in text, text
    lines = [x for x in text.splitlines() if re.match(r"\d\d:\d\d:\d\d\.\d{3}  ", x)]
    assert lines, text
    assert all(request.request_id[:8] in x for x in lines)
    assert any(x.split()[1] == "exec" for x in lines) and any("REPORT" in x for x in lines)
    assert not any(traffic.app.rest_api_id + "/" in x.split()[1] for x in lines)  # no group
    # Piped: the whole line, with the whole ID on every line, for `| grep <id>`.
    piped = screen.run(shell + f" | grep -c {request.request_id}", size)
    count = int(next(x for x in piped.splitlines() if x.strip().isdigit()))
    assert count >= len(lines), piped


def test_progress_never_mixes_into_piped_output(traffic: Traffic, screen: Screen) -> None:
    # Reads slowed down to 2 calls a second: the progress line is up before the first row.
    shell = apilogs(traffic, "requests", "--utc", max_rps="2") + " | head -5"
    text = screen.run(shell, (80, 24))
    assert "reading" not in text, text  # wiped before the rows, and at the end
    rows = [x for x in text.splitlines() if re.match(r"\d\d:\d\d:\d\d", x)]
    assert len(rows) == 4, text
