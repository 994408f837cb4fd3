"""However a run ends — a group given up on, an error, Ctrl-C, a closed pipe — what was read and
may be printed is written first, then the error line. A read that gives up on one log group must
still print every event of the others, whether stdout is a file or a pipe."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from apilogs.cli.commands import write_batched
from apilogs.errors import GroupFailure, IncompleteRead
from apilogs.render.env import Terminal
from tests.support.demo_data import Traffic
from tests.support.faultproxy import fault_proxy


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true"}


def _command(traffic: Traffic, *args: str, fail_after: str = "1s") -> list[str]:
    app = traffic.app
    return [
        sys.executable,
        "-m",
        "apilogs",
        *args,
        "-a",
        app.rest_api_id,
        "-t",
        app.rest_stage,
        "-s",
        str(traffic.start_ms - 60_000),
        "-e",
        str(traffic.end_ms + 60_000),
        "--max-rps",
        "0",
        "--fail-after",
        fail_after,
    ]


def _run(command: list[str], url: str, to: str, tmp_path: Path) -> tuple[int, str, str]:
    """The command with stdout to a file or to a pipe (both are not terminals: batched)."""
    if to == "file":
        out_path = tmp_path / "out.txt"
        with out_path.open("w") as out:
            proc = subprocess.run(
                command, stdout=out, stderr=subprocess.PIPE, text=True, env=_env(url), timeout=120
            )
        return proc.returncode, out_path.read_text(), proc.stderr
    piped = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(url)
    )
    try:
        stdout, stderr = piped.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            piped.kill()
    return piped.returncode, stdout, stderr


def _read_groups(traffic: Traffic) -> set[str]:
    """The log groups `get` reads for the REST API: the execution and access logs and every
    integration's and the authorizer's group."""
    app = traffic.app
    groups = {app.execution_log_group, app.access_log_group}
    groups.update(f.log_group for f in app.rest_functions)
    return groups


def _gave_up_on(stderr: str, group: str) -> None:
    [error] = [line for line in stderr.splitlines() if "error:" in line]
    assert error == stderr.splitlines()[-1], stderr  # the error line comes last
    assert "gave up reading 1 log group(s)" in error and group in error, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("to", ["file", "pipe"])
@pytest.mark.parametrize("hold", ["--hold-back", "--no-hold-back"])
def test_get_prints_every_event_of_the_groups_it_could_read(
    traffic: Traffic, tmp_path: Path, to: str, hold: str
) -> None:
    failing = traffic.app.primes.log_group
    healthy = _read_groups(traffic) - {failing}
    written = Counter(
        (r.group, r.timestamp, r.message)
        for request in traffic.rest()
        for r in request.records
        if r.group in healthy
    )
    # More than a batch of pending lines (512), or the loss would not show.
    assert len(written) > 5_000
    hold_args = [hold, "30s"] if hold == "--hold-back" else [hold]
    with fault_proxy(traffic.url) as proxy:
        proxy.failing_groups = {failing}
        code, out, err = _run(
            _command(traffic, "get", "-o", "json", *hold_args), proxy.url, to, tmp_path
        )
    assert code == 3, err
    got = Counter(
        (d["group"], d["timestamp"], d["message"]) for d in map(json.loads, out.splitlines())
    )
    assert got == written
    _gave_up_on(err, failing)


@pytest.mark.parametrize("to", ["file", "pipe"])
def test_requests_prints_every_request_when_a_lambda_group_is_given_up_on(
    traffic: Traffic, tmp_path: Path, to: str
) -> None:
    # Every request is in the execution and access logs: a Lambda group given up on takes
    # none of the rows away, only some of their Lambda details.
    failing = traffic.app.primes.log_group
    with fault_proxy(traffic.url) as proxy:
        proxy.failing_groups = {failing}
        code, out, err = _run(_command(traffic, "requests", "-o", "json"), proxy.url, to, tmp_path)
    assert code == 3, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted(row["request_id"] for row in rows) == sorted(t.request_id for t in traffic.rest())
    _gave_up_on(err, failing)


def test_stats_sums_up_what_it_could_read_then_says_what_is_missing(
    traffic: Traffic, tmp_path: Path
) -> None:
    failing = traffic.app.primes.log_group
    with fault_proxy(traffic.url) as proxy:
        proxy.failing_groups = {failing}
        code, out, err = _run(_command(traffic, "stats", "-o", "json"), proxy.url, "pipe", tmp_path)
    assert code == 3, err
    assert json.loads(out)["requests"] == len(traffic.rest())
    _gave_up_on(err, failing)


@pytest.mark.parametrize("how", [("show", "-o", "json"), ("get", "-o", "json", "-r")])
def test_a_lookup_shows_what_the_other_groups_hold_then_says_what_is_missing(
    traffic: Traffic, tmp_path: Path, how: tuple[str, ...]
) -> None:
    """`show ID` and `get -r ID` with the request's Lambda group given up on: its API Gateway
    lines are shown, then the error names the group."""
    failing = traffic.app.primes.log_group
    wanted = traffic.forced["ok"]
    healthy = sorted(r.message for r in wanted.records if r.group != failing)
    assert healthy and any(r.group == failing for r in wanted.records)
    command, *options = how
    args = (
        [command, *options[:-1], options[-1], wanted.request_id]
        if command == "get"
        else [command, wanted.request_id, *options]
    )
    with fault_proxy(traffic.url) as proxy:
        proxy.failing_groups = {failing}
        code, out, err = _run(_command(traffic, *args), proxy.url, "pipe", tmp_path)
    assert code == 3, err
    docs = [json.loads(line) for line in out.splitlines()]
    if command == "show":
        [doc] = docs
        messages = sorted(e["message"] for e in doc["events"])
    else:
        messages = sorted(d["message"] for d in docs)
    assert messages == healthy
    _gave_up_on(err, failing)


# --- write_batched, in-process: what a line source that fails leaves behind ----------------------


def _lines(count: int, then: BaseException) -> Iterator[str]:
    for n in range(count):
        yield f"line {n}"
    raise then


@pytest.mark.parametrize(
    "error",
    [IncompleteRead([GroupFailure("/g", "ThrottlingException", 60.0, None)]), KeyboardInterrupt()],
)
def test_lines_pending_in_a_batch_are_written_before_the_error(error: BaseException) -> None:
    out = io.StringIO()
    term = Terminal.detect(out=out, err=io.StringIO())
    assert not term.out_tty
    with pytest.raises(type(error)):
        write_batched(term, _lines(700, error), batch=512, delay_s=3600)
    assert out.getvalue().splitlines() == [f"line {n}" for n in range(700)]


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_does_not_hide_why_the_read_ended() -> None:
    term = Terminal.detect(out=_ClosedPipe(), err=io.StringIO())
    failure = IncompleteRead([GroupFailure("/g", "ThrottlingException", 60.0, None)])
    with pytest.raises(IncompleteRead):
        write_batched(term, _lines(10, failure), batch=512, delay_s=3600)
