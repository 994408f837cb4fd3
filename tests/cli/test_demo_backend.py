"""The demo against moto's server: the sample deployed through boto3, traffic written into it."""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.backend import start_demo
from apilogs.demo.sample import RETENTION_DAYS, SampleApp, deploy_sample
from apilogs.demo.traffic import LogRecord
from apilogs.demo.writer import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    LiveTraffic,
    LogWriter,
    backfill,
    batches,
    load_bulk,
)

REGION = "us-east-1"
Client = Callable[..., Any]


@pytest.fixture(scope="module")
def session(_fake_credentials: None) -> boto3.Session:
    """One session for the module: it caches the service models, which makes clients cheap."""
    return boto3.Session(region_name=REGION)


@pytest.fixture
def app(session: boto3.Session, endpoint: str) -> SampleApp:
    return deploy_sample(session, endpoint, REGION)


@pytest.fixture
def writer(session: boto3.Session, endpoint: str) -> LogWriter:
    return LogWriter.connect(session, endpoint, REGION)


def read_group(logs: Any, group: str, **kwargs: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, **kwargs):
        events += page["events"]
    return events


def now_ms() -> int:
    return int(time.time() * 1000)


# -- deploy_sample -----------------------------------------------------------------------------


def test_rest_api_and_stage_settings(app: SampleApp, client: Client) -> None:
    apigw = client("apigateway")
    assert app.rest_api_id == "erat0s7hen"
    assert apigw.get_rest_api(restApiId=app.rest_api_id)["name"] == "Eratosthenes"
    stage = apigw.get_stage(restApiId=app.rest_api_id, stageName=app.rest_stage)
    settings = stage["methodSettings"]["*/*"]
    assert settings["loggingLevel"] == "INFO"
    assert settings["dataTraceEnabled"] is app.data_trace
    assert stage["tracingEnabled"] is True
    assert stage["variables"] == {"primesFunction": "eratosthenes-primes"}
    assert stage["deploymentId"] == app.deployment_id
    access = stage["accessLogSettings"]
    assert access["destinationArn"] == (
        f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/apigateway/eratosthenes-access"
    )
    assert access["format"] == app.access_log_format
    variables = set(json.loads(access["format"]).values())
    assert {
        "$context.requestId",
        "$context.extendedRequestId",
        "$context.status",
        "$context.integrationLatency",
        "$context.responseLatency",
        "$context.integration.requestId",
        "$context.authorizer.requestId",
        "$context.xrayTraceId",
    } <= variables


def test_rest_integrations_and_authorizer(app: SampleApp, client: Client) -> None:
    apigw = client("apigateway")
    resources = apigw.get_resources(restApiId=app.rest_api_id, embed=["methods"])["items"]
    methods = {
        (r["path"], verb): method
        for r in resources
        for verb, method in r.get("resourceMethods", {}).items()
    }
    prefix = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
    functions = f"arn:aws:lambda:{REGION}:123456789012:function:"
    uris = {key: m["methodIntegration"]["uri"] for key, m in methods.items()}
    assert uris == {
        ("/primes", "GET"): f"{prefix}{functions}eratosthenes-primes/invocations",
        ("/primes/{n}", "GET"): (
            f"{prefix}{functions}${{stageVariables.primesFunction}}/invocations"
        ),
        ("/orders", "POST"): f"{prefix}{functions}eratosthenes-orders/invocations",
        ("/health", "GET"): f"{prefix}{functions}eratosthenes-health/invocations",
        ("/reports", "GET"): f"{prefix}{functions}eratosthenes-reports:live/invocations",
        ("/export", "GET"): f"{prefix}{functions}eratosthenes-export/invocations",
    }
    assert all(m["methodIntegration"]["type"] == "AWS_PROXY" for m in methods.values())
    assert methods[("/primes", "GET")]["authorizationType"] == "CUSTOM"
    assert methods[("/primes", "GET")]["authorizerId"] == app.authorizer_id
    [authorizer] = apigw.get_authorizers(restApiId=app.rest_api_id)["items"]
    assert authorizer["id"] == app.authorizer_id
    assert authorizer["type"] == "TOKEN"
    assert authorizer["authorizerUri"] == (
        f"{prefix}{functions}eratosthenes-authorizer/invocations"
    )


def test_functions_and_their_logging(app: SampleApp, client: Client) -> None:
    lam = client("lambda")
    configs = {f.name: lam.get_function_configuration(FunctionName=f.name) for f in app.functions}
    logging = {name: c["LoggingConfig"] for name, c in configs.items()}
    assert logging["eratosthenes-orders"] == {
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/eratosthenes-orders",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }
    assert logging["eratosthenes-primes"]["LogFormat"] == "Text"
    shared = "/aws/lambda-shared/eratosthenes"
    assert logging["eratosthenes-health"]["LogGroup"] == shared
    assert logging["eratosthenes-reports"]["LogGroup"] == shared
    # The Java function logs in the JSON format to the same shared group.
    assert logging["eratosthenes-export"]["LogGroup"] == shared
    assert logging["eratosthenes-export"]["LogFormat"] == "JSON"
    assert configs["eratosthenes-export"]["Runtime"] == "java21"
    assert configs["eratosthenes-hello"]["Runtime"] == "nodejs20.x"
    alias = lam.get_alias(FunctionName="eratosthenes-reports", Name="live")
    assert alias["FunctionVersion"] == app.reports.version == "1"
    for function in app.functions:
        assert configs[function.name]["FunctionArn"].startswith(function.arn)
        assert logging[function.name]["LogGroup"] == function.log_group


def test_http_api(app: SampleApp, client: Client) -> None:
    apigw2 = client("apigatewayv2")
    api = apigw2.get_api(ApiId=app.http_api_id)
    assert (api["Name"], api["ProtocolType"]) == ("eratosthenes-http", "HTTP")
    [integration] = apigw2.get_integrations(ApiId=app.http_api_id)["Items"]
    assert integration["IntegrationUri"] == app.hello.arn
    [route] = apigw2.get_routes(ApiId=app.http_api_id)["Items"]
    assert route["RouteKey"] == "GET /hello"
    assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    stage = apigw2.get_stage(ApiId=app.http_api_id, StageName="$default")
    assert stage["AccessLogSettings"] == {
        "DestinationArn": (
            f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/apigateway/eratosthenes-http-access"
        ),
        "Format": app.http_access_log_format,
    }


def test_log_groups_exist_with_retention(app: SampleApp, client: Client) -> None:
    groups = {
        g["logGroupName"]: g.get("retentionInDays")
        for g in client("logs").describe_log_groups()["logGroups"]
    }
    assert set(app.log_groups) == set(groups)
    assert "API-Gateway-Execution-Logs_erat0s7hen/prod" in groups
    assert "/aws/lambda/eratosthenes-health" not in groups  # it logs to the shared group
    for group, days in RETENTION_DAYS.items():
        assert groups[group] == days
    assert groups["API-Gateway-Execution-Logs_erat0s7hen/prod"] is None


# -- writing -----------------------------------------------------------------------------------


def test_backfill_is_readable_with_filter_log_events(
    app: SampleApp, writer: LogWriter, client: Client
) -> None:
    end = now_ms() - 120_000
    written = backfill(app, writer, end - 2 * 60_000, end, rps=3, seed=1)
    logs = client("logs")
    per_group = {group: read_group(logs, group) for group in app.log_groups}
    assert written == writer.events_written == sum(len(v) for v in per_group.values())
    assert writer.events_rejected == 0
    assert all(per_group.values()), [g for g, events in per_group.items() if not events]
    started = [
        e
        for e in per_group[app.execution_log_group]
        if "Starting execution for request" in e["message"]
    ]
    accessed = per_group[app.access_log_group]
    assert len(started) <= len(accessed)
    ids = {json.loads(e["message"])["requestId"] for e in accessed}
    assert all(e["message"][1:37] in ids for e in started)


def test_streams_are_written_in_time_order(
    app: SampleApp, writer: LogWriter, client: Client
) -> None:
    end = now_ms() - 120_000
    backfill(app, writer, end - 60_000, end, rps=4, seed=2)
    logs = client("logs")
    for group in app.log_groups:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        for stream in streams:
            events = logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
            )["events"]
            stamps = [e["timestamp"] for e in events]
            assert stamps == sorted(stamps), (group, stream["logStreamName"])


def test_writer_batches_one_stream_within_the_limits(client: Client) -> None:
    logs = client("logs")
    logs.create_log_group(logGroupName="/big")
    base = now_ms() - 3_600_000
    records = [LogRecord("/big", "s", base + i, f"line {i}") for i in range(25_000)]
    writer = LogWriter(logs)
    assert writer.write(reversed(records)) == 25_000
    assert writer.put_calls == 3
    events = read_group(logs, "/big")
    assert [e["message"] for e in events] == [r.message for r in records]


def test_writer_creates_missing_groups_and_streams(client: Client) -> None:
    logs = client("logs")
    writer = LogWriter(logs)
    assert writer.write([LogRecord("/new/group", "stream-1", now_ms(), "hello")]) == 1
    assert writer.write([LogRecord("/new/group", "stream-1", now_ms(), "again")]) == 1
    assert [e["message"] for e in read_group(logs, "/new/group")] == ["hello", "again"]


def test_batches_respect_size_count_and_span() -> None:
    big = "x" * 100_000
    by_size = list(batches([LogRecord("g", "s", i, big) for i in range(30)]))
    assert all(
        sum(len(r.message) + EVENT_OVERHEAD_BYTES for r in b) <= MAX_BATCH_BYTES for b in by_size
    )
    assert [len(b) for b in by_size] == [10, 10, 10]
    by_count = list(batches([LogRecord("g", "s", 0, "m") for _ in range(MAX_BATCH_EVENTS + 1)]))
    assert [len(b) for b in by_count] == [MAX_BATCH_EVENTS, 1]
    day = 24 * 3600 * 1000
    by_span = list(batches([LogRecord("g", "s", t, "m") for t in (0, day - 1, day, day + 5)]))
    assert [[r.timestamp for r in b] for b in by_span] == [[0, day - 1], [day, day + 5]]


def test_load_bulk_is_quick_and_spans_the_groups(
    app: SampleApp, writer: LogWriter, client: Client
) -> None:
    written = load_bulk(app, writer, 10_000, seed=3)
    assert 10_000 <= written < 10_200
    logs = client("logs")
    filled = [g for g in app.log_groups if logs.describe_log_streams(logGroupName=g)["logStreams"]]
    assert len(filled) >= 6


# -- live traffic ------------------------------------------------------------------------------


def test_live_traffic_writes_and_stops_promptly(
    app: SampleApp, writer: LogWriter, client: Client
) -> None:
    live = LiveTraffic(app, writer, rps=20, seed=4, tick_s=0.05, history_ms=10_000).start()
    # Written once the simulated requests end: on a loaded machine that can take seconds.
    deadline = time.monotonic() + 15
    while live.events_written == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    stopping = time.perf_counter()
    live.stop()
    assert time.perf_counter() - stopping < 5  # Ctrl-C must not hang
    assert not live.running
    assert live.error is None
    assert live.requests_started > 0 and live.events_written > 0
    logs = client("logs")
    stored = sum(len(read_group(logs, group)) for group in app.log_groups)
    assert stored == live.events_written
    # Nothing from the future: lines are written when their time comes.
    latest = max(e["timestamp"] for group in app.log_groups for e in read_group(logs, group))
    assert latest <= now_ms()


def test_live_traffic_reports_a_failing_backend(app: SampleApp, client: Client) -> None:
    class Broken:
        def write(self, records: object) -> int:
            raise RuntimeError("backend gone")

    live = LiveTraffic(app, Broken(), rps=50, tick_s=0.02).start()  # type: ignore[arg-type]
    deadline = time.monotonic() + 3
    while live.running and time.monotonic() < deadline:
        time.sleep(0.02)
    live.stop()
    assert isinstance(live.error, RuntimeError)


# -- the live demo's opening and its cases (issue 28 item 7, issue 27) -------------------------


def _run(endpoint: str, command: str, start_ms: int, end_ms: int, *extra: str) -> list[Any]:
    result = CliRunner().invoke(
        cli,
        [
            command,
            "-a",
            "erat0s7hen",
            "-t",
            "prod",
            "--endpoint-url",
            endpoint,
            "--max-rps",
            "0",
            "--engine",
            "filter",
            "-s",
            str(start_ms),
            "-e",
            str(end_ms),
            "-o",
            "json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def live_minute(app: SampleApp, writer: LogWriter) -> int:
    """The live demo's first minute and a bit, written on a clock that started two minutes ago
    and runs 30 times as fast (so nothing is written ahead of its time); the moment the
    traffic started, epoch ms (its opening is timed from there)."""
    real = time.time()
    begin = real - 120

    def clock() -> float:
        return begin + (time.time() - real) * 30

    live = LiveTraffic(
        app, writer, rps=2, seed=5, tick_s=0.02, history_ms=5_000, clock=clock, showcase=True
    ).start()
    deadline = time.monotonic() + 60
    while (
        (live.started_ms is None or clock() * 1000 < live.started_ms + 75_000)
        and live.running
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    live.stop()
    assert live.error is None and live.started_ms is not None
    assert clock() * 1000 >= live.started_ms + 75_000
    return live.started_ms


def test_the_live_demo_opens_with_each_failure_readme_promises(
    live_minute: int, endpoint: str
) -> None:
    rows = _run(endpoint, "requests", live_minute - 6_000, live_minute + 75_000)
    # The requests that started in the live demo's first half minute.
    end = _iso(live_minute + 30_000)
    causes = [f"{r['status']} {r['cause']}" for r in rows if r["time"] < end]

    def seen(status: int, words: str) -> bool:
        return any(c.startswith(f"{status} ") and words in c for c in causes)

    assert seen(502, "timed out"), causes
    assert seen(502, "ran out of memory"), causes
    assert seen(502, "Malformed Lambda proxy response"), causes
    # "…; the Lambda ran on" when its invocation is joined (by timing: not when two could be).
    assert seen(504, "API Gateway integration timeout"), causes
    assert seen(429, "Throttled") and seen(500, "throttled"), causes
    assert seen(403, "Authorizer denied"), causes


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def test_the_live_demo_writes_issue_27s_cases(live_minute: int, endpoint: str) -> None:
    rows = _run(endpoint, "get", live_minute - 6_000, live_minute + 75_000)
    shared = "/aws/lambda-shared/eratosthenes"

    # A Java function in the JSON log format, in the group it shares with two others, its
    # streams named as Lambda names them in a custom group.
    export = [r for r in rows if r["group"] == shared and "eratosthenes-export[" in r["stream"]]
    streams = {r["stream"] for r in export}
    assert streams and all(
        re.fullmatch(r"\d{4}/\d{2}/\d{2}/eratosthenes-export\[\$LATEST\][0-9a-f]{32}", s)
        for s in streams
    )
    assert {r["function"] for r in export} == {"eratosthenes-export"}
    assert any('"type":"platform.start"' in r["message"] for r in export)
    assert any('"AWSRequestId":' in r["message"] for r in export)

    # Its first environment: init output (the JVM's line, the extension's) before the first
    # START, and no INIT_START; later cold starts write theirs.
    by_stream: dict[str, list[str]] = {}
    for r in export:
        by_stream.setdefault(r["stream"], []).append(r["message"])
    first = min(streams, key=lambda s: min(r["timestamp"] for r in export if r["stream"] == s))
    lines = by_stream[first]
    start = next(i for i, m in enumerate(lines) if '"type":"platform.start"' in m)
    before = lines[:start]
    assert before[0].startswith("Picked up JAVA_TOOL_OPTIONS: ")
    assert "[cache-extension-demo]  Waiting for event...\n" in before
    assert any('"type":"platform.extension"' in m for m in before)
    assert not any("platform.initStart" in m for m in lines)
    # The extension speaks during each invocation, between its start and its report.
    report = next(i for i, m in enumerate(lines) if '"type":"platform.report"' in m)
    assert "[cache-extension-demo] Waiting for event...\n" in lines[start:report]

    # The authorizer's Lambda request ID: in the access log, never in the execution log.
    access = [json.loads(r["message"]) for r in rows if r["source"] == "access"]
    named = {a["authorizerRequestId"] for a in access} - {"-"}
    assert named
    authorizer_starts = {
        r["message"].split()[2]
        for r in rows
        if r["message"].startswith("START RequestId: ")
        and r["function"] == "eratosthenes-authorizer"
    }
    assert named <= authorizer_starts
    execution = "".join(r["message"] for r in rows if r["source"] == "execution")
    assert not any(rid in execution for rid in named)


def test_apilogs_demo_runs_the_showcase() -> None:
    # `apilogs demo` and `demo serve` take start_demo's defaults; test_demo_cli runs them.
    assert inspect.signature(start_demo).parameters["showcase"].default is True
    assert inspect.signature(LiveTraffic).parameters["showcase"].default is False
