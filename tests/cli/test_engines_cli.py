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

import pytest
from click.testing import CliRunner, Result

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


def _through_aws_host(traffic: Traffic, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """apilogs told to talk to AWS's own host, which an HTTP proxy (moto's server, which serves
    requests sent to it as a proxy) answers: what `--engine auto` does against AWS."""
    monkeypatch.setenv("HTTP_PROXY", traffic.url)
    monkeypatch.setenv("http_proxy", traffic.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    app = traffic.app
    return CliRunner().invoke(
        cli,
        [
            *args,
            *("-a", app.rest_api_id, "-t", app.rest_stage, "-s", "2 days ago"),
            *("--endpoint-url", "http://logs.us-east-1.amazonaws.com", "--engine", "auto"),
        ],
    )


def test_auto_says_when_it_picks_insights(traffic: Traffic, monkeypatch) -> None:
    result = _through_aws_host(traffic, monkeypatch, "get", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert "engine auto: Logs Insights (a 2.0 days window" in result.stderr
    assert len(result.stdout.splitlines()) > 1000


def test_auto_sums_with_filter_where_insights_does_not_compute_stats(
    traffic: Traffic, monkeypatch
) -> None:
    # moto answers a `stats` query with raw lines: auto must not print "0 requests" from that.
    _, by_filter, _ = run(traffic, "stats", "-o", "json", "--engine", "filter")
    result = _through_aws_host(traffic, monkeypatch, "stats", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert "engine auto: Logs Insights" in result.stderr
    assert (
        "Logs Insights at this endpoint answered the stats query with lines, not sums: it does "
        "not compute `stats`: summed with FilterLogEvents instead"
    ) in result.stderr
    summed = json.loads(result.stdout)
    assert summed["requests"] == json.loads(by_filter)["requests"] > 100


def test_auto_keeps_filter_log_events_on_an_emulator(traffic: Traffic) -> None:
    """The demo's case: `stats -s 7h` on an emulator printed "0 requests" with confidence."""
    app = traffic.app
    argv = [
        *("-a", app.rest_api_id, "-t", app.rest_stage, "-s", "2 days ago"),
        *("--endpoint-url", traffic.url, "--engine", "auto"),
    ]
    _, by_filter, _ = run(traffic, "stats", "-o", "json", "--engine", "filter")
    result = CliRunner().invoke(cli, ["stats", "-o", "json", *argv])
    assert result.exit_code == 0, result.stderr
    assert "Logs Insights" not in result.stderr
    assert json.loads(result.stdout)["requests"] == json.loads(by_filter)["requests"] > 100
    got = CliRunner().invoke(cli, ["get", "-o", "json", *argv])
    assert got.exit_code == 0 and "Logs Insights" not in got.stderr
    assert len(got.stdout.splitlines()) > 1000


def test_insights_by_name_where_it_does_not_compute_stats_is_one_error_line(
    traffic: Traffic,
) -> None:
    code, out, err = run(traffic, "stats", "--engine", "insights")
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and "does not compute `stats` (use --engine filter)" in err


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


def test_auto_sums_the_requests_under_a_urls_path_from_their_lines(
    traffic: Traffic, monkeypatch
) -> None:
    """Logs Insights sums the whole API: under a URL's path, auto sums with FilterLogEvents."""
    app = traffic.app
    _, listed, _ = run(traffic, "requests", "-o", "json", "--engine", "filter")
    paths = [json.loads(line).get("path") or "" for line in listed.splitlines()]
    inner = next(p for p in paths if p.count("/") >= 2).split("/")[2]  # /{stage}/{this}/…
    url = f"https://{app.rest_api_id}.execute-api.us-east-1.amazonaws.com/{app.rest_stage}/{inner}"
    under = [p for p in paths if p.split("/")[2:3] == [inner]]
    monkeypatch.setenv("HTTP_PROXY", traffic.url)
    monkeypatch.setenv("http_proxy", traffic.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = CliRunner().invoke(
        cli,
        [
            *("stats", url, "-o", "json", "-s", "2 days ago"),
            *("--endpoint-url", "http://logs.us-east-1.amazonaws.com", "--engine", "auto"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "the requests under the path are summed from their lines (FilterLogEvents)" in (
        result.stderr
    )
    assert 0 < json.loads(result.stdout)["requests"] == len(under) < len(paths)
