"""Every line of a request, from any of its IDs (issue 27): a REST API with a TOKEN authorizer, an
access log that names the authorizer's Lambda request ID, and functions that log in Lambda's JSON
format to one shared log group.

The lines are written as API Gateway and Lambda write them:
- execution log: the lines `apilogs.demo.rest_api` writes, as listed in DESIGN.md ("What the
  lines look like") and AWS's "Monitor REST API execution with CloudWatch Logs";
- access log: the `$context` variables of AWS's "Variables for access logging" (REST), among them
  `$context.authorizer.requestId`, `$context.integration.requestId`, `$context.xrayTraceId`; API
  Gateway writes `-` for a variable without a value (a 504 never learns the integration's ID);
- Lambda, JSON log format (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html):
  `platform.start` / `platform.report` records (with `tracing` when the invocation is traced),
  application records with `requestId`, and `print` output as plain text (Python's runtime does not
  turn stdout into JSON); the Text format for the authorizer (START / `[INFO]` / END / REPORT);
- streams of a custom (shared) log group are named `YYYY/MM/DD/<function>[<version>]<id>`
  (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html), those of a
  function's own group `YYYY/MM/DD/[<version>]<id>`.

The authorizer's Lambda request ID is written ONLY by its own lines and by the access log: API
Gateway's execution log never names it (no data trace of the authorizer's response headers)."""

from __future__ import annotations

import contextlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.builders import lambda_uri, make_function, make_log_group, make_rest_api

BASE_MS = (int(time.time()) - 3600) * 1000
DAY = datetime.fromtimestamp(BASE_MS / 1000, UTC).strftime("%Y/%m/%d")
SHARED = "/shop/functions"
ACCESS = "/access/shop"
AUTHZ = "/aws/lambda/authz"
ACCESS_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "integrationRequestId": "$context.integration.requestId",
        "authorizerRequestId": "$context.authorizer.requestId",
        "authorizerLatency": "$context.authorizer.integrationLatency",
        "xrayTraceId": "$context.xrayTraceId",
        "integrationLatency": "$context.integrationLatency",
        "responseLatency": "$context.responseLatency",
    },
    separators=(",", ":"),
)

Key = tuple[str, str, int, str]  # group, stream, timestamp, message


def iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def jline(obj: dict[str, object]) -> str:
    return json.dumps(obj, separators=(",", ":"))


@dataclass
class Req:
    """One request of the scenario: its IDs and the lines it wrote."""

    name: str
    request_id: str
    extended_id: str
    lambda_id: str | None = None
    authorizer_id: str | None = None
    trace_id: str | None = None
    lines: list[Key] = field(default_factory=list)
    # Lines joined by timing alone: labelled, but marked probable.
    probable: set[Key] = field(default_factory=set)
    # The JSON `phase` of the lines that have one.
    phases: dict[Key, str] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        found = [self.request_id, self.extended_id, self.lambda_id, self.authorizer_id]
        return [i for i in (*found, self.trace_id) if i]


@dataclass
class Scenario:
    api_id: str
    execution_group: str
    requests: list[Req]
    lines: dict[str, list[tuple[str, int, str]]]  # group → (stream, timestamp, message)
    # Lines of no request: a function outside the API that logs to the shared group.
    strays: set[Key]
    # What every command adds: `--log-group` when discovery does not know the shared group.
    extra: tuple[str, ...] = ()


class Writer:
    """The lines of the scenario, each owned by its request."""

    def __init__(self, api_id: str, arns: dict[str, str], authorizer_id: str) -> None:
        self.api_id = api_id
        self.arns = arns
        self.authorizer_id = authorizer_id
        self.execution = f"API-Gateway-Execution-Logs_{api_id}/prod"
        self.lines: dict[str, list[tuple[str, int, str]]] = defaultdict(list)

    def put(
        self, req: Req, group: str, stream: str, t: int, message: str, probable: bool = False
    ) -> None:
        self.lines[group].append((stream, t, message))
        req.lines.append((group, stream, t, message))
        if probable:
            req.probable.add((group, stream, t, message))

    def ex(self, req: Req, t: int, text: str) -> None:
        self.put(
            req, self.execution, "8f14e45fceea167a5a36dedd4bea2543", t, f"({req.request_id}) {text}"
        )

    def url(self, function: str) -> str:
        return (
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/"
            f"{self.arns[function]}/invocations"
        )

    def authorize(self, req: Req, t: int, aid: str, allow: bool) -> int:
        """The TOKEN authorizer's lines: the execution log's and the authorizer's own (Text
        format, Python). Returns the time after them."""
        req.authorizer_id = aid
        stream = f"{DAY}/[$LATEST]0a1b2c3d4e5f60718293a4b5c6d7e8f9"
        self.ex(req, t, f"Extended Request Id: {req.extended_id}")
        self.ex(
            req, t + 1, f"Starting authorizer: {self.authorizer_id} for request: {req.request_id}"
        )
        self.ex(req, t + 1, "Incoming identity: **********************abcd")
        self.ex(req, t + 2, f"Endpoint request URI: {self.url('authz')}")
        self.ex(req, t + 5, f"Sending request to {self.url('authz')}")
        self.put(req, AUTHZ, stream, t + 8, f"START RequestId: {aid} Version: $LATEST\n")
        self.put(req, AUTHZ, stream, t + 9, f"[INFO]\t{iso(t + 9)}\t{aid}\tchecking the token\n")
        self.put(req, AUTHZ, stream, t + 10, f"token of user-{req.name} checked\n")
        self.put(req, AUTHZ, stream, t + 20, f"END RequestId: {aid}\n")
        self.put(
            req,
            AUTHZ,
            stream,
            t + 20,
            f"REPORT RequestId: {aid}\tDuration: 11.52 ms\tBilled Duration: 12 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
        )
        effect = "Allow" if allow else "Deny"
        arn = f"arn:aws:execute-api:us-east-1:123456789012:{self.api_id}/prod/GET/orders"
        policy = {
            "principalId": f"user-{req.name}",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}],
            },
        }
        self.ex(req, t + 25, f"Authorizer result body before parsing: {jline(policy)}")
        self.ex(req, t + 25, f"Using valid authorizer policy for methodArn: {arn}")
        self.ex(req, t + 26, "Successfully completed authorizer execution")
        return t + 30

    def call(self, req: Req, t: int, function: str) -> int:
        self.ex(req, t, f"Starting execution for request: {req.request_id}")
        self.ex(req, t, f"HTTP Method: GET, Resource Path: /{function}")
        self.ex(req, t + 1, f"Endpoint request URI: {self.url(function)}")
        self.ex(req, t + 3, f"Sending request to {self.url(function)}")
        return t + 3

    def invocation(
        self,
        req: Req,
        function: str,
        stream_id: str,
        t: int,
        lid: str,
        run_ms: int,
        *,
        status: str = "success",
        error_type: str | None = None,
        probable: bool = False,
        init: str | None = None,
        extension: str | None = None,
    ) -> int:
        """A JSON-format invocation in the shared group: start, a log record, a print, report.
        `init`: what the function printed while its environment started, before the start
        (no platform.initStart: its system log level is above INFO, or the window began after
        it); `extension`: an extension's output while it runs."""
        stream = f"{DAY}/{function}[$LATEST]{stream_id}"
        if init:
            self.put(req, SHARED, stream, t - 2, init, probable)
            req.phases[(SHARED, stream, t - 2, init)] = "init"
        record: dict[str, object] = {"requestId": lid, "version": "$LATEST"}
        if req.trace_id:
            record["tracing"] = {
                "spanId": "7e1cc7b1f2a3d4e5",
                "type": "X-Amzn-Trace-Id",
                "value": f"Root={req.trace_id};Parent=53995c3f42cd8ad8;Sampled=1",
            }
        put = self.put
        put(
            req,
            SHARED,
            stream,
            t,
            jline({"time": iso(t), "type": "platform.start", "record": record}),
            probable,
        )
        app = {
            "timestamp": iso(t + 2),
            "level": "INFO",
            "message": f"{function} for {req.name}",
            "logger": "root",
            "requestId": lid,
        }
        put(req, SHARED, stream, t + 2, jline(app), probable)
        put(req, SHARED, stream, t + 3, f"print: {function} working for {req.name}\n", probable)
        if extension:
            put(req, SHARED, stream, t + 4, extension, probable)
            req.phases[(SHARED, stream, t + 4, extension)] = "extension"
        report: dict[str, object] = {
            "requestId": lid,
            "metrics": {
                "durationMs": float(run_ms),
                "billedDurationMs": run_ms + 1,
                "memorySizeMB": 128,
                "maxMemoryUsedMB": 128 if error_type else 71,
            },
        }
        if req.trace_id:
            report["tracing"] = record["tracing"]
        report["status"] = status
        if error_type:
            report["errorType"] = error_type
        end = t + run_ms + 1
        put(
            req,
            SHARED,
            stream,
            end,
            jline({"time": iso(end), "type": "platform.report", "record": report}),
            probable,
        )
        return end

    def respond(
        self, req: Req, t: int, status: int, lid: str | None, error: str | None = None
    ) -> None:
        if lid:
            self.ex(req, t, "Received response. Status: 200, Integration latency: 25 ms")
            headers = (
                f"{{Date=Fri, 04 Dec 2026 20:00:00 GMT, Content-Type=application/json, "
                f"Content-Length=20, Connection=keep-alive, x-amzn-RequestId={lid}"
                + (", X-Amz-Function-Error=Unhandled" if error else "")
                + ", x-amzn-Remapped-Content-Length=0, X-Amz-Executed-Version=$LATEST}"
            )
            self.ex(req, t, f"Endpoint response headers: {headers}")
        if error:
            self.ex(
                req,
                t + 1,
                "Lambda execution failed with status 200 due to customer function error: "
                f"{error}. Lambda request id: {lid}",
            )
        self.ex(req, t + 1, f"Method completed with status: {status}")
        if lid:
            self.ex(req, t + 1, f"AWS Integration Endpoint RequestId : {lid}")
        if req.trace_id:
            self.ex(req, t + 1, f"X-ray Tracing ID : Root={req.trace_id}")

    def access(self, req: Req, t: int, status: int, path: str, integration: str | None) -> None:
        values = {
            "requestId": req.request_id,
            "extendedRequestId": req.extended_id,
            "httpMethod": "GET",
            "resourcePath": path,
            "status": str(status),
            "integrationRequestId": integration or "-",
            "authorizerRequestId": req.authorizer_id or "-",
            "authorizerLatency": "21" if req.authorizer_id else "-",
            "xrayTraceId": req.trace_id or "-",
            "integrationLatency": "25" if integration else "-",
            "responseLatency": "80",
        }
        self.put(req, ACCESS, "0cc175b9c0f1b6a831c399e269772661", t, jline(values))


def uuid(n: int) -> str:
    return f"{n:08x}-1111-4222-8333-{n:012x}"


@pytest.fixture(params=["logging-config", "log-group"])
def scenario(client, request) -> Scenario:
    """`logging-config`: discovery reads each function's LoggingConfig (the shared group);
    `log-group`: it does not know it (a function configured before LoggingConfig existed, a
    role without lambda:GetFunctionConfiguration): the user adds the group with --log-group."""
    known = request.param == "logging-config"
    shared = {"LoggingConfig": {"LogFormat": "JSON", "LogGroup": SHARED}} if known else {}
    authz = make_function(client, "authz")
    orders = make_function(client, "orders", **shared)
    stock = make_function(client, "stock", **shared)
    api_id = make_rest_api(
        client,
        routes={"GET /orders": lambda_uri(orders), "GET /stock": lambda_uri(stock)},
        access_group=ACCESS,
        access_format=ACCESS_FORMAT,
        authorizer_uri=lambda_uri(authz),
        authorized_routes=("GET /orders",),
    )
    authorizer_id = client("apigateway").get_authorizers(restApiId=api_id)["items"][0]["id"]
    w = Writer(api_id, {"authz": authz, "orders": orders, "stock": stock}, authorizer_id)
    for group in (w.execution, ACCESS, AUTHZ, SHARED):
        make_log_group(client, group)
    env_a = "3f1c9d2b7a6e45f08c1d2e3f4a5b6c7d"
    env_b = "9e8d7c6b5a4f43e2b1a0f9e8d7c6b5a4"

    # 1. A 200, traced by X-Ray.
    ok = Req("ok", uuid(1), "Fm1aKHxyIAMEbQ=", trace_id="1-6750a1b2-0a1b2c3d4e5f60718293a4b5")
    t = w.authorize(ok, BASE_MS, uuid(101), allow=True)
    t = w.call(ok, t, "orders")
    ok.lambda_id = uuid(201)
    # The sample extension's output (aws-samples/aws-lambda-extensions, cache-extension-demo).
    waiting = "[cache-extension-demo] Waiting for event..."
    t = w.invocation(ok, "orders", env_a, t + 4, uuid(201), 20, extension=waiting)
    w.respond(ok, t + 3, 200, uuid(201))
    w.access(ok, t + 5, 200, "/orders", uuid(201))

    # 2. A 504: API Gateway gave up after 29 s, the function ran on (not traced).
    gave_up = Req("gaveup", uuid(2), "Fm1aLGxyIAMEbQ=")
    t = w.authorize(gave_up, BASE_MS + 5_000, uuid(102), allow=True)
    sent = w.call(gave_up, t, "orders")
    gave_up.lambda_id = uuid(202)
    warming = "print: warming the connection pool before the first request\n"
    w.invocation(gave_up, "orders", env_b, sent + 5, uuid(202), 35_000, probable=True, init=warming)
    # Another function of the shared group, outside the API, starts right after that call: its
    # stream names it, so it is no candidate for the call to `orders`.
    stray = Req("billing", "-", "-")
    w.invocation(stray, "billing", "77aa88bb99cc4d0e8f1a2b3c4d5e6f70", sent + 9, uuid(299), 40)
    w.ex(gave_up, sent + 29_000, "Execution failed due to a timeout error")
    w.ex(gave_up, sent + 29_000, "Method completed with status: 504")
    w.access(gave_up, sent + 29_001, 504, "/orders", None)

    # 3. An unauthorized route's 200 in the shared group, while the 504's function runs.
    other = Req("stock", uuid(3), "Fm1aMHxyIAMEbQ=")
    t = w.call(other, BASE_MS + 10_000, "stock")
    other.lambda_id = uuid(203)
    t = w.invocation(other, "stock", "5b6c7d8e9f0a41b2c3d4e5f60718293a", t + 4, uuid(203), 15)
    w.respond(other, t + 3, 200, uuid(203))
    w.access(other, t + 5, 200, "/stock", uuid(203))

    # 4. A 502: the function ran out of memory, on an authorized route.
    oom = Req("oom", uuid(4), "Fm1aNHxyIAMEbQ=")
    t = w.authorize(oom, BASE_MS + 60_000, uuid(104), allow=True)
    t = w.call(oom, t, "orders")
    oom.lambda_id = uuid(204)
    t = w.invocation(
        oom,
        "orders",
        env_a,
        t + 4,
        uuid(204),
        300,
        status="error",
        error_type="Runtime.OutOfMemory",
    )
    w.respond(oom, t + 3, 502, uuid(204), error="Runtime exited with error: signal: killed")
    w.access(oom, t + 5, 502, "/orders", uuid(204))

    # 5. The authorizer denies (403).
    denied = Req("denied", uuid(5), "Fm1aOHxyIAMEbQ=")
    t = w.authorize(denied, BASE_MS + 90_000, uuid(105), allow=False)
    w.ex(denied, t, "The client is not authorized to perform this operation.")
    w.ex(denied, t, "Method completed with status: 403")
    w.access(denied, t + 1, 403, "/orders", None)

    logs = client("logs")
    for group, lines in w.lines.items():
        by_stream: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for stream, ts, message in lines:
            by_stream[stream].append((ts, message))
        for stream, events in by_stream.items():
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[
                    {"timestamp": ts, "message": m} for ts, m in sorted(events, key=lambda e: e[0])
                ],
            )
    return Scenario(
        api_id,
        w.execution,
        [ok, gave_up, other, oom, denied],
        dict(w.lines),
        set(stray.lines),
        () if known else ("--log-group", SHARED),
    )


def run_get(endpoint: str, scenario: Scenario, *args: str) -> tuple[int, str, str]:
    window = ["-s", str(BASE_MS - 1_000), "-e", str(BASE_MS + 200_000)]
    result = CliRunner().invoke(
        cli,
        [
            "get",
            "-a",
            scenario.api_id,
            "-t",
            "prod",
            *window,
            *args,
            *scenario.extra,
            "--endpoint-url",
            endpoint,
            "--max-rps",
            "0",
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def keys(rows: list[dict[str, object]]) -> set[Key]:
    return {
        (str(r["group"]), str(r["stream"]), int(str(r["timestamp"])), str(r["message"]))
        for r in rows
    }


def test_every_id_of_every_request_returns_exactly_its_lines(endpoint, scenario: Scenario) -> None:
    failures = []
    for req in scenario.requests:
        for asked in req.ids:
            code, out, err = run_get(endpoint, scenario, "-r", asked, "-o", "json")
            rows = [json.loads(line) for line in out.splitlines()]
            got = keys(rows)
            want = set(req.lines)
            labels = {r["request_id"] for r in rows}
            if code != 0 or got != want or labels != {req.request_id}:
                failures.append(
                    f"{req.name} by {asked}: exit {code}, {len(got & want)} of {len(want)} lines, "
                    f"{len(got - want)} others, labels {sorted(map(str, labels))} {err.strip()[:200]}"
                )
            # The environment's start and an extension's output are said here too.
            phases = {next(iter(keys([r]))): r["phase"] for r in rows if "phase" in r}
            if phases != req.phases:
                failures.append(f"{req.name} by {asked}: phases {phases} != {req.phases}")
    assert not failures, "\n".join(failures)


def test_every_line_of_the_window_is_labelled_with_its_request(
    endpoint, scenario: Scenario
) -> None:
    code, out, err = run_get(endpoint, scenario, "-o", "json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    by_label: dict[str | None, set[Key]] = defaultdict(set)
    probable: set[Key] = set()
    for row in rows:
        by_label[row["request_id"]].add(next(iter(keys([row]))))
        if row.get("probable"):
            probable |= keys([row])
    failures = []
    for req in scenario.requests:
        want = set(req.lines)
        got = by_label.get(req.request_id, set())
        if got != want:
            failures.append(
                f"{req.name}: {len(got & want)} of {len(want)} lines labelled, missing "
                f"{sorted(m for *_, m in want - got)[:6]}"
            )
    assert not failures, "\n".join(failures)
    assert by_label.get(None, set()) == scenario.strays
    # Joined by timing alone: said so.
    assert probable == set().union(*(r.probable for r in scenario.requests))
    # The environment's start and an extension's output: said so.
    phases = {next(iter(keys([r]))): r["phase"] for r in rows if "phase" in r}
    assert phases == {k: v for r in scenario.requests for k, v in r.phases.items()}


def test_grep_of_the_plain_output_finds_every_line(endpoint, scenario: Scenario) -> None:
    code, out, err = run_get(endpoint, scenario)
    assert code == 0, err
    lines = out.splitlines()
    for req in scenario.requests:
        found = [line for line in lines if req.request_id in line]
        assert len(found) == len(req.lines), (req.name, len(found), len(req.lines))


def test_source_function_shows_its_lines_of_the_shared_group(endpoint, scenario: Scenario) -> None:
    code, out, err = run_get(endpoint, scenario, "--source", "orders", "-o", "json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    want = {k for r in scenario.requests for k in r.lines if k[0] == SHARED and "orders[" in k[1]}
    assert keys(rows) == want
    assert {(r["source"], r["function"]) for r in rows} == {("lambda", "orders")}
    # Every function of the group is told by its stream, also in the whole window.
    code, out, err = run_get(endpoint, scenario, "-o", "json")
    functions = {
        str(r["stream"]).split("/")[3].partition("[")[0]: (r["source"], r["function"])
        for r in map(json.loads, out.splitlines())
        if r["group"] == SHARED
    }
    assert functions == {
        "orders": ("lambda", "orders"),
        "stock": ("lambda", "stock"),
        "billing": ("lambda", "billing"),
    }


def test_overlapping_invocations_join_by_request_id_only_and_are_said_once(
    client, endpoint
) -> None:
    """Lambda Managed Instances: several invocations at once in one environment (JSON log format
    only), their lines interleaved in one stream."""
    orders = make_function(client, "orders", LoggingConfig={"LogFormat": "JSON"})
    api_id = make_rest_api(
        client,
        routes={"GET /orders": lambda_uri(orders)},
        access_group=ACCESS,
        access_format=ACCESS_FORMAT,
    )
    w = Writer(api_id, {"orders": orders}, "-")
    for group in (w.execution, ACCESS, "/aws/lambda/orders"):
        make_log_group(client, group)
    stream = f"{DAY}/[$LATEST]5e6f7a8b9c0d41e2a3b4c5d6e7f8a9b0"
    a, b = Req("a", uuid(11), "Fm1aPHxyIAMEbQ="), Req("b", uuid(12), "Fm1aQHxyIAMEbQ=")
    lines: list[tuple[int, str]] = []
    for req, lid, t in ((a, uuid(211), BASE_MS), (b, uuid(212), BASE_MS + 3)):
        req.lambda_id = lid
        sent = w.call(req, t, "orders")
        w.respond(req, sent + 40, 200, lid)
        w.access(req, sent + 42, 200, "/orders", lid)
        start = jline(
            {"time": iso(sent + 2), "type": "platform.start", "record": {"requestId": lid}}
        )
        log = jline(
            {
                "timestamp": iso(sent + 5),
                "level": "INFO",
                "message": f"for {req.name}",
                "requestId": lid,
            }
        )
        report = jline(
            {
                "time": iso(sent + 30),
                "type": "platform.report",
                "record": {"requestId": lid, "metrics": {"durationMs": 28.0}, "status": "success"},
            }
        )
        for ts, message in ((sent + 2, start), (sent + 5, log), (sent + 30, report)):
            lines.append((ts, message))
            req.lines.append(("/aws/lambda/orders", stream, ts, message))
    lines.append((BASE_MS + 9, "a print while both run\n"))
    logs = client("logs")
    for group, entries in w.lines.items():
        for stream_name in {e[0] for e in entries}:
            logs.create_log_stream(logGroupName=group, logStreamName=stream_name)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream_name,
                logEvents=[
                    {"timestamp": ts, "message": m}
                    for s, ts, m in sorted(entries, key=lambda e: e[1])
                    if s == stream_name
                ],
            )
    logs.create_log_stream(logGroupName="/aws/lambda/orders", logStreamName=stream)
    logs.put_log_events(
        logGroupName="/aws/lambda/orders",
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": m} for ts, m in sorted(lines)],
    )
    scenario = Scenario(api_id, w.execution, [a, b], dict(w.lines), set())

    code, out, err = run_get(endpoint, scenario, "-o", "json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    for req in (a, b):
        assert keys([r for r in rows if r["request_id"] == req.request_id]) == set(req.lines)
    [ambiguous] = [r for r in rows if r["message"].startswith("a print while both run")]
    assert ambiguous["request_id"] is None
    assert err.count("invocations overlap in one log stream") == 1, err
    for req in (a, b):
        code, out, err = run_get(endpoint, scenario, "-r", str(req.lambda_id), "-o", "json")
        assert code == 0, err
        assert keys([json.loads(line) for line in out.splitlines()]) == set(req.lines)
