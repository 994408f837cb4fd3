"""Requests, stats, show and get --request-id, checked against the traffic generator's ground
truth: every simulated request must come back once, with its status and its cause."""

from __future__ import annotations

import json
import re
import time

import boto3
import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.scenario import Scenario as Simulated
from apilogs.demo.traffic import ROUTES_BY_KEY, SimulatedRequest, TrafficGenerator
from apilogs.diagnosis.summary import WindowStats
from apilogs.model import Outcome, Request
from apilogs.render.requests import stats_lines
from apilogs.render.style import Painter
from tests.support.demo_data import Traffic

EXPECTED_OUTCOME = {
    Simulated.OK: "ok",
    Simulated.SLOW: "ok",
    Simulated.NOT_FOUND: "client_error",
    Simulated.BAD_REQUEST: "client_error",
    Simulated.STAGE_THROTTLED: "throttled",
    Simulated.AUTH_UNAUTHORIZED: "auth_denied",
    Simulated.AUTH_DENIED: "auth_denied",
    Simulated.LAMBDA_THROTTLED: "throttled",
    Simulated.UNHANDLED_EXCEPTION: "unhandled_exception",
    Simulated.LAMBDA_TIMEOUT: "lambda_timeout",
    Simulated.OUT_OF_MEMORY: "out_of_memory",
    Simulated.MALFORMED_RESPONSE: "malformed_proxy_response",
    Simulated.INTEGRATION_TIMEOUT: "apigw_timeout",
}


def run(traffic: Traffic, *args: str, api: str | None = None) -> tuple[int, str, str]:
    app = traffic.app
    target = ["-a", api or app.rest_api_id]
    if api is None:
        target += ["-t", app.rest_stage]
    window = ["-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 60_000)]
    result = CliRunner().invoke(
        cli,
        [*args, *target, *window, "--endpoint-url", traffic.url, "--max-rps", "0"],
    )
    return result.exit_code, result.stdout, result.stderr


def _linkable(request: SimulatedRequest) -> bool:
    """Whether the logs themselves join the request to its Lambda invocation. After an
    integration timeout API Gateway never names the invocation; only an X-Ray trace in the
    Lambda's REPORT (sampled requests) joins them."""
    if request.outcome is Simulated.LAMBDA_THROTTLED:
        return False  # Lambda refused the call: there is no invocation to find
    if request.outcome is Simulated.INTEGRATION_TIMEOUT:
        return any(request.trace_id in r.message for r in request.records if "/lambda" in r.group)
    return True


def test_every_request_once_with_its_status_and_cause(traffic: Traffic) -> None:
    code, out, err = run(traffic, "requests", "-o", "json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    by_id = {row["request_id"]: row for row in rows}
    truth = traffic.rest()

    assert len(rows) == len(by_id) == len(truth)
    assert {t.outcome for t in truth} >= {
        Simulated.LAMBDA_TIMEOUT,
        Simulated.OUT_OF_MEMORY,
        Simulated.UNHANDLED_EXCEPTION,
        Simulated.AUTH_DENIED,
        Simulated.STAGE_THROTTLED,
    }, "the seed must exercise every failure mode"
    for expected in truth:
        row = by_id[expected.request_id]
        assert row["status"] == expected.status, expected
        assert row["outcome"] == EXPECTED_OUTCOME[expected.outcome], (expected, row)
        if expected.lambda_request_id and _linkable(expected):
            assert expected.lambda_request_id in row["lambda_request_ids"], row
        # The truth marks the integration's cold start; the row's mark also counts the authorizer's.
        integration = [i for i in row["invocations"] if i["role"] == "lambda"]
        integration_cold = any(i["init_duration_ms"] is not None for i in integration)
        if _linkable(expected):
            assert integration_cold == expected.cold_start, (expected, row)
            assert row["cold_start"] >= expected.cold_start
        if expected.trace_id:
            assert row["trace_id"] == expected.trace_id
    times = [row["timestamp"] for row in rows]
    assert times == sorted(times)


def test_a_lambda_throttled_request_names_the_function_that_refused_it(traffic: Traffic) -> None:
    # Lambda answered 429: the function never ran, so no line of its own names it. API
    # Gateway's call does.
    throttled = [t for t in traffic.rest() if t.outcome is Simulated.LAMBDA_THROTTLED]
    assert throttled, "the seed must exercise a Lambda throttle"
    code, out, err = run(traffic, "requests", "-o", "json")
    assert code == 0, err
    by_id = {row["request_id"]: row for row in map(json.loads, out.splitlines())}
    for expected in throttled:
        function = getattr(traffic.app, ROUTES_BY_KEY[expected.route].function).name
        row = by_id[expected.request_id]
        [integration] = [i for i in row["invocations"] if i["role"] == "lambda"]
        assert integration["function"] == function, row
    # The story's timeline says so too (it said `?`).
    first = throttled[0]
    code, out, err = run(traffic, "show", first.request_id)
    assert code == 0, err
    function = getattr(traffic.app, ROUTES_BY_KEY[first.route].function).name
    assert re.search(rf"\+\d+ ms +lambda +{function}, [0-9a-f-]{{36}}\n", out), out


def test_http_api_requests(traffic: Traffic) -> None:
    code, out, err = run(traffic, "requests", "-o", "json", api=traffic.app.http_api_id)
    assert code == 0, err
    rows = {json.loads(line)["request_id"]: json.loads(line) for line in out.splitlines()}
    truth = [r for r in traffic.truth if r.api_id == traffic.app.http_api_id]
    assert truth and set(rows) == {t.request_id for t in truth}
    for expected in truth:
        assert rows[expected.request_id]["status"] == expected.status


def test_filters(traffic: Traffic) -> None:
    truth = traffic.rest()
    _, out, _ = run(traffic, "requests", "-o", "json", "--status", "5xx")
    assert {json.loads(r)["request_id"] for r in out.splitlines()} == {
        t.request_id for t in truth if t.status >= 500
    }
    # --errors: the server's errors, 5xx, not a deny, a throttle or a 404 (--status 4xx).
    _, out, _ = run(traffic, "requests", "-o", "json", "--errors")
    assert {json.loads(r)["request_id"] for r in out.splitlines()} == {
        t.request_id for t in truth if t.status >= 500
    }
    _, out, _ = run(traffic, "requests", "-o", "json", "--status", "4xx")
    assert {json.loads(r)["request_id"] for r in out.splitlines()} == {
        t.request_id for t in truth if 400 <= t.status < 500
    }
    code, out, err = run(traffic, "requests", "--errors", "--status", "4xx")
    assert code == 2 and not out and "--status 4xx" in err
    _, out, _ = run(traffic, "requests", "-o", "json", "--errors", "--path", "/primes")
    got = [json.loads(r) for r in out.splitlines()]
    assert got and all(r["route"] == "/primes" and r["status"] >= 500 for r in got)
    assert all(r["path"].startswith("/prod/primes") for r in got)  # what clients sent
    _, out, _ = run(traffic, "requests", "-o", "json", "--cold")
    cold = {json.loads(r)["request_id"] for r in out.splitlines()}
    assert cold >= {t.request_id for t in truth if t.cold_start and _linkable(t)}
    assert all(json.loads(r)["cold_start"] for r in out.splitlines())
    _, out, _ = run(traffic, "requests", "-o", "json", "--slow", "2s")
    slow = [json.loads(r) for r in out.splitlines()]
    assert slow and all(r["response_latency_ms"] >= 2000 for r in slow)


def test_plain_rows_name_the_cause(traffic: Traffic) -> None:
    timeout = next(t for t in traffic.rest() if t.outcome is Simulated.LAMBDA_TIMEOUT)
    _, out, _ = run(traffic, "requests", "--status", str(timeout.status))
    line = next(line for line in out.splitlines() if timeout.request_id in line)
    assert "Lambda timed out after 3.00 s" in line and str(timeout.status) in line
    assert out.splitlines()[0].split()[:5] == ["TIME", "METHOD", "PATH", "ROUTE", "STATUS"]


@pytest.mark.parametrize(
    "which", ["request_id", "lambda_request_id", "trace_id", "extended_request_id"]
)
def test_get_request_id_prints_exactly_that_request(traffic: Traffic, which: str) -> None:
    # An unhandled exception: its Lambda writes lines that carry no ID at all.
    expected = next(t for t in traffic.rest() if t.outcome is Simulated.UNHANDLED_EXCEPTION)
    asked = getattr(expected, which)
    code, out, err = run(traffic, "get", "-o", "json", "--request-id", asked)
    assert code == 0, err
    got = {
        (r["group"], r["stream"], r["timestamp"], r["message"])
        for r in map(json.loads, out.splitlines())
    }
    want = {(r.group, r.stream, r.timestamp, r.message) for r in expected.records}
    assert got == want


def test_get_unknown_request_id(traffic: Traffic) -> None:
    code, out, err = run(traffic, "get", "--request-id", "00000000-0000-0000-0000-000000000000")
    assert code == 1 and out == ""
    assert "no request with ID 00000000-0000-0000-0000-000000000000" in err


def test_show_tells_the_story(traffic: Traffic) -> None:
    expected = next(t for t in traffic.rest() if t.outcome is Simulated.OUT_OF_MEMORY)
    code, out, err = run(traffic, "show", expected.lambda_request_id or "")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("GET /primes") and str(expected.status) in lines[0]
    assert "Lambda ran out of memory" in lines[0]
    assert any(
        line.strip().startswith("request id") and expected.request_id in line for line in lines
    )
    assert "Timeline" in lines and any(
        "Runtime exited with error: signal: killed" in line for line in lines
    )


def test_stats_add_up(traffic: Traffic) -> None:
    code, out, err = run(traffic, "stats", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    truth = traffic.rest()
    assert doc["requests"] == len(truth)
    assert doc["by_status_class"]["5xx"] == sum(1 for t in truth if t.status >= 500)
    errors = {e["outcome"]: e for e in doc["errors"]}
    timeouts = [t for t in truth if t.outcome is Simulated.LAMBDA_TIMEOUT]
    assert errors["lambda_timeout"]["count"] == len(timeouts)
    assert errors["lambda_timeout"]["example_request_id"] in {t.request_id for t in timeouts}
    assert doc["response_latency_ms"]["p50"] <= doc["response_latency_ms"]["p99"]
    assert "eratosthenes-primes" in doc["lambda_duration_ms"]
    code, out, _ = run(traffic, "stats")
    assert f"{len(truth)} requests" in out and "Errors by cause" in out


def test_without_the_access_log_requests_keep_their_route_latency_and_deny_status(
    traffic: Traffic,
) -> None:
    # Execution logging on, access logging off (or not read): what the rows can still say.
    only = ["--source", "execution", "--source", "lambda", "--source", "authorizer"]
    code, out, err = run(traffic, "requests", "-o", "json", *only)
    assert code == 0, err
    rows = {d["request_id"]: d for d in map(json.loads, out.splitlines())}
    # A stage's throttle (429) is written to the access log only.
    truth = [t for t in traffic.rest() if t.outcome is not Simulated.STAGE_THROTTLED]
    assert rows.keys() == {t.request_id for t in truth}
    for t in truth:
        row = rows[t.request_id]
        method, template = t.route.split(" ", 1)
        assert row["status"] == t.status, t
        # An authorizer's deny comes before the execution log names the method, and a 401
        # logs no "Method completed".
        if t.status not in (401, 403):
            assert (row["method"], row["route"]) == (method, template), t
        if t.status != 401:
            latency = row["response_latency_ms"]
            assert latency is not None and abs(latency - (t.end_ms - t.start_ms)) <= 2, t
    code, out, err = run(traffic, "stats", *only)
    assert code == 0, err
    assert "GET /primes/{n}" in out and "Authorizer denied (401)" in out


def _failed(
    rid: str, outcome: Outcome, cause: str, status: int = 504, ran_on_ms: float | None = None
) -> Request:
    return Request(rid, 0, 1_000, outcome, cause, status=status, ran_on_ms=ran_on_ms)


def test_stats_give_every_integration_timeout_one_row_whatever_its_lambda_ran_for() -> None:
    stats = WindowStats()
    ran_on = "API Gateway integration timeout; the Lambda ran on, {:.2f} s in all"
    for i, seconds in enumerate((30.82, 36.74, 31.5)):
        cause = ran_on.format(seconds)
        stats.add(_failed(f"t{i}", Outcome.APIGW_TIMEOUT, cause, ran_on_ms=seconds * 1000))
    stats.add(_failed("g", Outcome.APIGW_TIMEOUT, "API Gateway integration timeout"))
    error = "ClientError: An error occurred (ProvisionedThroughputExceededException) " * 3
    stats.add(_failed("x", Outcome.UNHANDLED_EXCEPTION, error, 502))
    rows = {(e["outcome"], e["count"]): e["cause"] for e in stats.to_dict()["errors"]}
    assert rows == {
        ("apigw_timeout", 3): (
            "API Gateway integration timeout; the Lambda ran on, 30.82–36.74 s in all"
        ),
        ("apigw_timeout", 1): "API Gateway integration timeout",
        ("unhandled_exception", 1): error,
    }
    lines = [line for line in stats_lines(stats, Painter(False)) if "e.g." in line]
    # A cause too long for a line is cut and says so; the causes start in one column.
    [cut] = [line for line in lines if "ClientError" in line]
    shown = cut[cut.index("ClientError") :].split("…")[0]
    assert "…" in cut and error.startswith(shown) and len(shown) < len(error)
    assert len({line.index("e.g.") for line in lines}) == 1
    assert len({line.index("API Gateway integration timeout") for line in lines[:2]}) == 1
    assert any(line.endswith("the Lambda ran on, 30.82–36.74 s in all") for line in lines)


def test_requests_watch_shows_each_new_request_once(traffic: Traffic) -> None:
    import os
    import signal
    import subprocess
    import sys
    import threading

    from apilogs.demo.writer import LogWriter as Writer

    session = boto3.Session(region_name="us-east-1")
    writer = Writer(session.client("logs", endpoint_url=traffic.url))
    generator = TrafficGenerator(traffic.app, seed=99)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apilogs",
            "requests",
            "-a",
            traffic.app.rest_api_id,
            "-t",
            "prod",
            "--endpoint-url",
            traffic.url,
            "--max-rps",
            "0",
            "-w",
            "--watch-interval",
            "0.2",
            "-s",
            "5s",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
    )
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
    ).start()  # type: ignore[union-attr]
    sent = []
    try:
        time.sleep(1.5)
        for route in ("GET /health", "GET /primes/{n}", "POST /orders"):
            request = generator.simulate_one(
                int(time.time() * 1000) - 200, route=route, outcome=Simulated.OK
            )
            writer.write(request.records)
            sent.append(request)
        deadline = time.time() + 45
        while time.time() < deadline and len(lines) < len(sent):
            time.sleep(0.2)
        time.sleep(1)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    rows = [json.loads(line) for line in lines]
    assert sorted(r["request_id"] for r in rows) == sorted(r.request_id for r in sent)
    assert all(r["outcome"] == "ok" for r in rows)
    assert proc.returncode == 130
