"""`apilogs demo` as a newcomer runs it: live lines at once, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest


def _env() -> dict[str, str]:
    # The demo must not need (or use) any AWS configuration.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def _port_is_free(url: str) -> bool:
    host, port = url.rsplit("//", 1)[1].split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


def _start(*args: str) -> tuple[subprocess.Popen[str], list[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "apilogs", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    out: list[str] = []
    err: list[str] = []
    for stream, sink in ((proc.stdout, out), (proc.stderr, err)):
        threading.Thread(
            target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True
        ).start()
    return proc, out, err


def test_demo_follows_live_traffic_and_stops_cleanly() -> None:
    proc, out, err = _start("--rps", "5", "--seed", "7", "-o", "json", "--color", "never")
    try:
        # A request writes about 25 execution lines before its one access line: read enough
        # lines to hold several whole requests.
        deadline = time.time() + 90
        while time.time() < deadline and len(out) < 400:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    rows = [json.loads(line) for line in out]
    assert len(rows) >= 400, "".join(err)
    assert {"execution", "access", "lambda"} <= {r["source"] for r in rows}
    assert any(r["request_id"] for r in rows) and any(r["lambda_request_id"] for r in rows)
    # As `get --watch`: a Lambda line carries its request's ID, so `| grep ID` finds it too
    # (none did before). A follow's first seconds label fewer than later (70-80 % of these
    # first 400 lines, about 99 % over a minute): a line waits half a second for its request.
    lambda_lines = [r for r in rows if r["source"] in ("lambda", "authorizer")]
    labelled = [r for r in lambda_lines if r["request_id"]]
    assert len(labelled) >= 0.5 * len(lambda_lines) > 0, (len(labelled), len(lambda_lines))
    assert proc.returncode == 130
    text = "".join(err)
    assert "Traceback" not in text
    url = re.search(r"http://127\.0\.0\.1:\d+", text)
    assert url, text
    assert _port_is_free(url.group(0)), "the emulator's port is still open after Ctrl-C"


def test_demo_serve_prints_working_commands() -> None:
    # The demo's own help example: the options after `serve`.
    proc, out, err = _start("serve", "--seed", "3", "--backfill", "2m")
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any("Ctrl-C" in line for line in out):
            time.sleep(0.2)
        text = "".join(out)
        url = re.search(r"endpoint\s+(http://127\.0\.0\.1:\d+)", text)
        assert url, text + "".join(err)
        assert "backfilled" in text
        env = {
            **_env(),
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": "us-east-1",
        }
        stats = subprocess.run(
            [
                sys.executable,
                "-m",
                "apilogs",
                "stats",
                "--endpoint-url",
                url.group(1),
                "--api-id",
                "erat0s7hen",
                "--stage",
                "prod",
                "-s",
                "5m",
                "--max-rps",
                "0",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["requests"] > 100
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 130
    assert _port_is_free(url.group(1))


@pytest.mark.slow
def test_demo_serve_shows_each_failure_in_its_first_half_minute() -> None:
    """Issue 28, item 7: a newcomer's first half minute shows each failure README promises."""
    proc, out, err = _start("serve", "--seed", "3", "--rps", "2")
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any("Ctrl-C" in line for line in out):
            time.sleep(0.2)
        url = re.search(r"endpoint\s+(http://127\.0\.0\.1:\d+)", "".join(out))
        assert url, "".join(out) + "".join(err)
        time.sleep(
            25
        )  # the opening's last failure starts 17 s in; the 504 comes 10 s after its start
        env = {
            **_env(),
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": "us-east-1",
        }
        requests = subprocess.run(
            [
                sys.executable,
                "-m",
                "apilogs",
                "requests",
                "--endpoint-url",
                url.group(1),
                "-a",
                "erat0s7hen",
                "-t",
                "prod",
                "-s",
                "2m",
                "--max-rps",
                "0",
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert requests.returncode == 0, requests.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    causes = [
        f"{row['status']} {row['cause']}" for row in map(json.loads, requests.stdout.splitlines())
    ]
    for status, words in (
        (502, "timed out"),
        (502, "ran out of memory"),
        (502, "Malformed Lambda proxy response"),
        (504, "API Gateway integration timeout"),
        (429, "Throttled"),
        (500, "throttled"),
        (403, "Authorizer denied"),
    ):
        assert any(c.startswith(f"{status} ") and words in c for c in causes), (status, causes)


def test_demo_serve_on_a_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "apilogs", "demo", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"port {port}" in result.stderr, result.stderr
    assert result.stdout == ""


def test_demo_refuses_the_aws_options_that_do_not_apply() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "apilogs", "demo", "--region", "eu-west-1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert result.returncode == 2 and "--region do not apply" in result.stderr
