"""The engines through the CLI, on moto's server: `--engine insights` prints what `--engine
filter` prints, `requests` agree, `auto` says when it picks Insights, `--watch --live` follows."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.builders import (
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
    put_event,
)
from tests.support.demo_data import Traffic


def run(traffic: Traffic, *args: str) -> tuple[int, str, str]:
    app = traffic.app
    window = ["-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 60_000)]
    result = CliRunner().invoke(
        cli,
        [
            *args,
            "-a",
            app.rest_api_id,
            "-t",
            app.rest_stage,
            *window,
            "--endpoint-url",
            traffic.url,
            "--max-rps",
            "0",
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def _lines(out: str) -> list[tuple[int, str, str, str]]:
    rows = [json.loads(line) for line in out.splitlines()]
    return [(r["timestamp"], r["group"], r["stream"], r["message"]) for r in rows]


def test_insights_prints_the_same_events_as_filter_in_the_same_order(traffic: Traffic) -> None:
    code, by_filter, err = run(traffic, "get", "-o", "json", "--engine", "filter")
    assert code == 0, err
    code, by_insights, err = run(traffic, "get", "-o", "json", "--engine", "insights")
    assert code == 0, err
    assert _lines(by_insights) == _lines(by_filter)
    assert len(_lines(by_filter)) > 1000
    assert "Logs Insights:" in err and "scanned" in err  # bytes scanned and cost, on stderr


def test_requests_agree_between_engines(traffic: Traffic) -> None:
    _, by_filter, _ = run(traffic, "requests", "-o", "json", "--engine", "filter")
    code, by_insights, err = run(traffic, "requests", "-o", "json", "--engine", "insights")
    assert code == 0, err
    strip = lambda out: [  # noqa: E731
        {k: v for k, v in json.loads(line).items()} for line in out.splitlines()
    ]
    assert strip(by_insights) == strip(by_filter)


def test_a_filter_pattern_with_insights_is_a_usage_error(traffic: Traffic) -> None:
    code, out, err = run(traffic, "get", "--engine", "insights", "-f", "ERROR")
    assert code == 2 and out == ""
    assert "Logs Insights cannot" in err and err.count("\n") == 1


def test_auto_says_when_it_picks_insights(traffic: Traffic) -> None:
    app = traffic.app
    result = CliRunner().invoke(
        cli,
        [
            "get",
            "-a",
            app.rest_api_id,
            "-t",
            app.rest_stage,
            "-o",
            "json",
            "-s",
            "2 days ago",
            "--endpoint-url",
            traffic.url,
            "--engine",
            "auto",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "engine auto: Logs Insights (a 2.0 days window" in result.stderr
    assert len(result.stdout.splitlines()) > 1000


def test_watch_live_follows_and_says_how(endpoint, client) -> None:
    primes = make_function(client, "primes")
    api_id = make_rest_api(client, routes={"GET /primes": lambda_uri(primes)})
    make_log_group(client, f"API-Gateway-Execution-Logs_{api_id}/prod")
    make_log_group(client, "/aws/lambda/primes")
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apilogs",
            "get",
            "-a",
            api_id,
            "-t",
            "prod",
            "-w",
            "--live",
            "--max-rps",
            "0",
            "-o",
            "json",
            "-s",
            "30s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out: list[str] = []
    err: list[str] = []
    for stream, sink in ((proc.stdout, out), (proc.stderr, err)):
        threading.Thread(
            target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True
        ).start()
    try:
        deadline = time.time() + 30
        n = 0
        while time.time() < deadline and len(out) < 5:
            put_event(client, "/aws/lambda/primes", "s", int(time.time() * 1000), f"tick {n}")
            n += 1
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        proc.kill()
    messages = [json.loads(line)["message"] for line in out]
    assert messages[:5] == [f"tick {i}" for i in range(5)], (messages, err)
    assert len(set(messages)) == len(messages)
    # moto ends every Live Tail session at once: apilogs says it polls instead.
    assert any("Live Tail" in line and "polling" in line for line in err), err


def test_a_lookup_through_insights_finds_the_same_lines_as_through_filter(
    traffic: Traffic,
) -> None:
    # The API Gateway ID of a timeout without X-Ray: the Lambda's lines join by timing, found by
    # the reads around what the scan found; the scan itself is Logs Insights'.
    wanted = traffic.forced["apigw_timeout_no_xray"].request_id
    code, by_filter, err = run(traffic, "get", "-o", "json", "-r", wanted, "--engine", "filter")
    assert code == 0, err
    code, by_insights, err = run(traffic, "get", "-o", "json", "-r", wanted, "--engine", "insights")
    assert code == 0, err
    assert "Logs Insights:" in err  # the scan ran there, and says what it cost
    assert _lines(by_insights) == _lines(by_filter)
    sources = {json.loads(line)["source"] for line in by_insights.splitlines()}
    assert {"execution", "lambda"} <= sources
