"""Correlation: lines of several services → one Request each, with its outcome and cause."""

from __future__ import annotations

import itertools

import pytest

from apilogs.join.correlate import Correlator, correlate
from apilogs.model import LogEvent, Outcome, RawEvent, Role, Source
from apilogs.parse import parse_event

ACCESS_FORMAT = (
    '{"requestId":"$context.requestId","status":"$context.status",'
    '"responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",'
    '"integrationRequestId":"$context.integration.requestId","xrayTraceId":"$context.xrayTraceId",'
    '"httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath"}'
)
EXECUTION = Source(Role.EXECUTION, "API-Gateway-Execution-Logs_abc/prod", "us-east-1")
ACCESS = Source(Role.ACCESS, "/access", "us-east-1", log_format=ACCESS_FORMAT)
ACCESS_WITH_PATH = Source(
    Role.ACCESS,
    "/access",
    "us-east-1",
    log_format=ACCESS_FORMAT.replace("}", ',"path":"$context.path"}'),
)
PRIMES = Source(Role.LAMBDA, "/aws/lambda/primes", "us-east-1", function_name="primes")
AUTH = Source(Role.AUTHORIZER, "/aws/lambda/auth", "us-east-1", function_name="auth")
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:primes"
_ids = itertools.count()


def ev(source: Source, ts: int, message: str, stream: str = "s") -> LogEvent:
    raw = RawEvent(ts, ts + 50, source.log_group, stream, str(next(_ids)), message, source)
    return parse_event(raw)


def request_lines(
    rid: str,
    lid: str,
    t: int,
    *,
    status: int = 200,
    lambda_lines: list[str] | None = None,
    report_extra: str = "",
    failure: list[str] | None = None,
    stream: str = "2024/01/01/[$LATEST]aaaa",
    trace: str | None = None,
) -> list[LogEvent]:
    """One REST request's lines as AWS writes them, in time order."""
    x = lambda s: f"({rid}) {s}"  # noqa: E731
    trace = trace or f"1-5f84c7a1-{rid[:8]}0d5b0e8a4b2c3d4e"
    events = [
        ev(EXECUTION, t, x(f"Extended Request Id: {rid[:8]}EfGhIjKlM=")),
        ev(EXECUTION, t + 1, x(f"Starting execution for request: {rid}")),
        ev(EXECUTION, t + 1, x("HTTP Method: GET, Resource Path: /primes")),
        ev(
            EXECUTION,
            t + 2,
            x(
                f"Endpoint request URI: https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/{FN_ARN}/invocations"
            ),
        ),
        ev(PRIMES, t + 5, f"START RequestId: {lid} Version: $LATEST", stream),
    ]
    for i, line in enumerate(
        lambda_lines
        or [f"[INFO]\t2024-01-01T00:00:00.000Z\t{lid}\tcomputing", "plain print without id"]
    ):
        events.append(ev(PRIMES, t + 6 + i, line, stream))
    events += [
        ev(PRIMES, t + 40, f"END RequestId: {lid}", stream),
        ev(
            PRIMES,
            t + 40,
            f"REPORT RequestId: {lid}\tDuration: 30.50 ms\tBilled Duration: 31 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB{report_extra}",
            stream,
        ),
    ]
    events += [ev(EXECUTION, t + 45, x(line)) for line in (failure or [])]
    events += [
        ev(EXECUTION, t + 45, x("Received response. Status: 200, Integration latency: 40 ms")),
        ev(
            EXECUTION,
            t + 45,
            x(
                f"Endpoint response headers: {{Date=Mon, 01 Jan 2024 00:00:00 GMT, Content-Type=application/json, x-amzn-RequestId={lid}, X-Amzn-Trace-Id=root={trace};sampled=1}}"
            ),
        ),
        ev(EXECUTION, t + 46, x(f"Method completed with status: {status}")),
        ev(EXECUTION, t + 46, x(f"AWS Integration Endpoint RequestId : {lid}")),
        ev(EXECUTION, t + 46, x(f"X-ray Tracing ID : Root={trace}")),
        ev(
            ACCESS,
            t + 47,
            f'{{"requestId":"{rid}","status":"{status}","responseLatency":"46","integrationLatency":"40",'
            f'"integrationRequestId":"{lid}","xrayTraceId":"Root={trace}","httpMethod":"GET","resourcePath":"/primes"}}',
        ),
    ]
    return events


RID1 = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
LID1 = "8f5b2a1c-1111-4a2b-9c3d-0123456789ab"
RID2 = "77777777-6f04-11e6-97ac-c34deb0b3dd9"
LID2 = "8f5b2a1c-2222-4a2b-9c3d-0123456789ab"


def test_one_request_joins_every_service_and_the_id_less_print() -> None:
    [request] = list(correlate(request_lines(RID1, LID1, 1000)))

    assert request.request_id == RID1
    assert request.lambda_request_ids == (LID1,)
    assert request.trace_id == "1-5f84c7a1-6605b0810d5b0e8a4b2c3d4e"
    assert request.extended_request_id == "6605b081EfGhIjKlM="
    assert (request.method, request.route, request.status) == ("GET", "/primes", 200)
    assert request.response_latency_ms == 46 and request.integration_latency_ms == 40
    assert request.outcome is Outcome.OK and not request.cold_start
    assert any(e.message == "plain print without id" for e in request.events)
    assert len(request.events) == 15
    inv = request.integration
    assert inv and inv.function == "primes" and inv.duration_ms == 30.5 and inv.max_memory_mb == 60


@pytest.mark.parametrize(
    ("path", "logged", "route"),
    [
        ("/primes/107", "{n=107}", "/primes/{n}"),
        ("/api/v1", "{proxy=api/v1}", "/{proxy+}"),
        ("/health", "{}", "/health"),
        ("/users/7/orders/9", "{id=7, order=9}", "/users/{id}/orders/{order}"),
        ("/primes/107", None, None),  # parameters not logged: the route is not known
    ],
)
def test_without_an_access_log_the_route_comes_from_the_execution_log(
    path: str, logged: str | None, route: str | None
) -> None:
    x = lambda s: f"({RID1}) {s}"  # noqa: E731
    lines = [
        ev(EXECUTION, 1, x(f"Starting execution for request: {RID1}")),
        ev(EXECUTION, 1, x(f"HTTP Method: GET, Resource Path: {path}")),
        *([ev(EXECUTION, 1, x(f"Method request path: {logged}"))] if logged else []),
        ev(EXECUTION, 9, x("Method completed with status: 200")),
    ]
    [request] = list(correlate(lines))
    assert (request.method, request.path, request.route) == ("GET", path, route)
    # And the response latency: from the first line to "Method completed".
    assert request.response_latency_ms == 8


def test_the_usage_plan_check_gives_the_exact_template() -> None:
    # As AWS logs a `/{resource+}` proxy resource: the parameter's value is one segment, so only
    # the usage-plan check tells that the route is greedy.
    x = lambda s: f"({RID1}) {s}"  # noqa: E731
    lines = [
        ev(
            EXECUTION,
            1,
            x(
                "API Key  authorized because method 'ANY /{resource+}' does not "
                "require API Key. Request will not contribute to throttle or quota limits"
            ),
        ),
        ev(EXECUTION, 1, x(f"Starting execution for request: {RID1}")),
        ev(EXECUTION, 1, x("HTTP Method: GET, Resource Path: /user_info")),
        ev(EXECUTION, 1, x("Method request path: {resource=user_info}")),
        ev(EXECUTION, 37, x("Method completed with status: 200")),
    ]
    [request] = list(correlate(lines))
    assert (request.method, request.path, request.route) == ("GET", "/user_info", "/{resource+}")
    assert request.response_latency_ms == 36


def test_the_access_logs_route_path_and_latency_win_over_the_execution_logs() -> None:
    x = lambda s: f"({RID1}) {s}"  # noqa: E731
    access = (
        f'{{"requestId":"{RID1}","status":"200","httpMethod":"GET","resourcePath":"/p/{{n}}",'
        '"responseLatency":"12"'
    )
    lines = [
        ev(EXECUTION, 1, x("HTTP Method: GET, Resource Path: /p/5")),
        ev(EXECUTION, 1, x("Method request path: {n=5}")),
        ev(EXECUTION, 9, x("Method completed with status: 200")),
        ev(ACCESS_WITH_PATH, 10, access + ',"path":"/prod/p/5"}'),
    ]
    [request] = list(correlate(lines))
    assert (request.path, request.route) == ("/prod/p/5", "/p/{n}")
    assert request.response_latency_ms == 12


def test_interleaved_requests_in_two_streams_stay_apart() -> None:
    a = request_lines(RID1, LID1, 1000, stream="s-a", lambda_lines=["print A"])
    b = request_lines(RID2, LID2, 1003, stream="s-b", lambda_lines=["print B"])
    events = sorted(a + b, key=lambda e: e.raw.timestamp)

    requests = {r.request_id: r for r in correlate(events)}

    assert set(requests) == {RID1, RID2}
    assert [e.message for e in requests[RID1].events if e.message.startswith("print")] == [
        "print A"
    ]
    assert [e.message for e in requests[RID2].events if e.message.startswith("print")] == [
        "print B"
    ]
    assert len(requests[RID1].events) == len(a) and len(requests[RID2].events) == len(b)


def test_a_shared_trace_header_does_not_merge_two_requests() -> None:
    trace = "1-5f84c7a1-6c0d5b0e8a4b2c3d4e5f6a7b"
    a = request_lines(RID1, LID1, 1000, stream="s-a", trace=trace)
    b = request_lines(RID2, LID2, 1003, stream="s-b", trace=trace)
    requests = list(correlate(sorted(a + b, key=lambda e: e.raw.timestamp)))
    assert sorted(r.request_id or "" for r in requests) == [RID1, RID2]


def test_lambda_timeout() -> None:
    # A proxy integration turns a Lambda timeout into a function error: 502, not 504.
    lines = request_lines(
        RID1,
        LID1,
        0,
        status=502,
        lambda_lines=[f"2024-01-01T00:00:03.000Z {LID1} Task timed out after 3.00 seconds"],
        report_extra="\tStatus: timeout",
        failure=[
            "Lambda execution failed with status 200 due to customer function error: "
            f"2024-01-01T00:00:03.000Z {LID1} Task timed out after 3.00 seconds. "
            f"Lambda request id: {LID1}"
        ],
    )
    [request] = list(correlate(lines))
    assert request.outcome is Outcome.LAMBDA_TIMEOUT
    assert request.cause == "Lambda timed out after 3.00 s"


def test_api_gateway_gives_up_before_the_lambda() -> None:
    lines = request_lines(
        RID1,
        LID1,
        0,
        status=504,
        lambda_lines=[f"2024-01-01T00:00:40.000Z {LID1} Task timed out after 40.00 seconds"],
        report_extra="\tStatus: timeout",
        failure=["Execution failed due to a timeout error"],
    )
    [request] = list(correlate(lines))
    assert request.outcome is Outcome.APIGW_TIMEOUT
    assert request.cause == (
        "API Gateway integration timeout; the Lambda ran on and timed out after 40.00 s"
    )


def test_out_of_memory_then_malformed_proxy_response() -> None:
    lines = request_lines(
        RID1,
        LID1,
        0,
        status=502,
        lambda_lines=[f"RequestId: {LID1} Error: Runtime exited with error: signal: killed"],
        report_extra="\tStatus: error\tError Type: Runtime.OutOfMemory",
        failure=["Execution failed due to configuration error: Malformed Lambda proxy response"],
    )
    [request] = list(correlate(lines))
    assert request.outcome is Outcome.OUT_OF_MEMORY
    assert request.status == 502


def test_unhandled_exception_names_type_and_message() -> None:
    lines = request_lines(
        RID1,
        LID1,
        0,
        status=502,
        lambda_lines=[
            '[ERROR] ValueError: n must be positive\nTraceback (most recent call last):\n  File "/var/task/app.py", line 9, in handler\n',
        ],
        failure=[
            f"Lambda execution failed with status 200 due to customer function error: n must be positive. Lambda request id: {LID1}"
        ],
    )
    [request] = list(correlate(lines))
    assert request.outcome is Outcome.UNHANDLED_EXCEPTION
    assert request.cause == "ValueError: n must be positive"


def test_authorizer_deny_without_integration() -> None:
    rid = RID1
    x = lambda s: f"({rid}) {s}"  # noqa: E731
    events = [
        ev(EXECUTION, 0, x(f"Starting execution for request: {rid}")),
        ev(EXECUTION, 1, x("HTTP Method: GET, Resource Path: /primes")),
        ev(EXECUTION, 1, x(f"Starting authorizer: 62kj1f for request: {rid}")),
        ev(EXECUTION, 20, x("The client is not authorized to perform this operation.")),
        ev(EXECUTION, 21, x("Method completed with status: 403")),
        ev(
            ACCESS,
            22,
            f'{{"requestId":"{rid}","status":"403","httpMethod":"GET","resourcePath":"/primes"}}',
        ),
    ]
    [request] = list(correlate(events))
    assert request.outcome is Outcome.AUTH_DENIED and request.status == 403


def test_an_unauthorized_request_without_its_status_line_is_a_401() -> None:
    # API Gateway logs no "Method completed" for an authorizer's 401; without the access log
    # the deny's own line says which answer it was.
    x = lambda s: f"({RID1}) {s}"  # noqa: E731
    events = [
        ev(EXECUTION, 0, x(f"Starting execution for request: {RID1}")),
        ev(EXECUTION, 1, x(f"Starting authorizer: 62kj1f for request: {RID1}")),
        ev(EXECUTION, 9, x(f"Unauthorized request: {RID1}")),
    ]
    [request] = list(correlate(events))
    assert request.outcome is Outcome.AUTH_DENIED and request.status == 401
    assert request.cause == "Authorizer denied (401)"


def test_throttled_and_client_error() -> None:
    x = lambda s: f"({RID1}) {s}"  # noqa: E731
    throttled = [
        ev(EXECUTION, 0, x("HTTP Method: GET, Resource Path: /primes")),
        ev(
            EXECUTION, 1, x(f"Lambda invocation failed with status: 429. Lambda request id: {LID1}")
        ),
        ev(EXECUTION, 2, x("Method completed with status: 500")),
    ]
    assert next(correlate(throttled)).outcome is Outcome.THROTTLED
    y = lambda s: f"({RID2}) {s}"  # noqa: E731
    client = [ev(EXECUTION, 0, y("Method completed with status: 404"))]
    request = next(correlate(client))
    assert request.outcome is Outcome.CLIENT_ERROR and request.cause == "Client error (404)"


def test_cold_start_from_init_duration_and_init_lines() -> None:
    stream = "2024/01/01/[$LATEST]cold"
    init = ev(
        PRIMES,
        0,
        "INIT_START Runtime Version: python:3.12.v18\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc",
        stream,
    )
    lines = request_lines(RID1, LID1, 100, stream=stream, report_extra="\tInit Duration: 130.49 ms")
    [request] = list(correlate([init, *lines]))
    assert request.cold_start and request.integration and request.integration.init_ms == 130.49
    assert request.events[0].message.startswith("INIT_START")


def test_requests_are_emitted_when_the_stream_moves_past_the_grace() -> None:
    correlator = Correlator(grace_ms=1_000)
    emitted = []
    for event in request_lines(RID1, LID1, 0):
        emitted += correlator.add(event)
    assert emitted == []
    for event in request_lines(RID2, LID2, 5_000):
        emitted += correlator.add(event)
    assert [r.request_id for r in emitted] == [RID1]
    assert correlator.open_requests == 1
    assert [r.request_id for r in correlator.flush()] == [RID2]
    assert correlator.open_requests == 0


def test_memory_stays_bounded_over_many_requests() -> None:
    correlator = Correlator(grace_ms=1_000)
    done = 0
    for n in range(300):
        rid = f"{n:08x}-6f04-11e6-97ac-c34deb0b3dd9"
        lid = f"{n:08x}-1111-4a2b-9c3d-0123456789ab"
        for event in request_lines(rid, lid, n * 500):
            done += len(correlator.add(event))
        assert correlator.open_requests <= 5
    done += len(correlator.flush())
    assert done == 300


# --- incremental correlation: what a front end that shows requests as they happen sees ---------


def kinds(correlator: Correlator) -> list[tuple[str, str | None, bool]]:
    return [
        (str(u.kind), u.request.request_id, u.request.in_progress) for u in correlator.updates()
    ]


def test_a_request_is_new_then_updated_then_closed_on_an_injected_clock() -> None:
    correlator = Correlator(grace_ms=1_000, done_grace_ms=200, track_updates=True)
    lines = request_lines(RID1, LID1, 10_000)
    first, rest = lines[:3], lines[3:]
    for event in first:
        correlator.add(event)
    assert kinds(correlator) == [("new", RID1, True)]
    assert [r.request_id for r in correlator.open_snapshot()] == [RID1]
    for event in rest[:3]:  # the Lambda's START and lines: not yet claimed
        correlator.add(event)
    assert kinds(correlator) == [("updated", RID1, True)]
    for event in rest[3:]:
        correlator.add(event)
    assert kinds(correlator) == [("updated", RID1, True)]
    assert correlator.advance(10_100) == []  # API Gateway's last word was 53 ms ago
    assert correlator.updates() == []
    [closed] = correlator.advance(10_300)
    assert closed.request_id == RID1 and closed.status == 200 and not closed.in_progress
    assert kinds(correlator) == [("closed", RID1, False)]
    assert correlator.open_snapshot() == []


def test_a_line_after_its_request_closed_updates_it_instead_of_making_a_second() -> None:
    lines = request_lines(RID1, LID1, 0)
    access = lines.pop()  # the access line comes late (its group was read behind)
    correlator = Correlator(grace_ms=1_000, done_grace_ms=200, track_updates=True)
    for event in lines:
        correlator.add(event)
    correlator.advance(5_000)
    assert kinds(correlator)[-1] == ("closed", RID1, False)
    late = ev(ACCESS, access.timestamp, access.message)
    returned = correlator.add(late)
    assert [r.request_id for r in returned] == [RID1]
    [update] = correlator.updates()
    assert (str(update.kind), update.request.request_id) == ("updated", RID1)
    assert update.request.response_latency_ms == 46 and late in update.request.events
    assert correlator.late_joined == 1

    # A window read makes one request of it too, with the late line.
    stream = [*lines, ev(EXECUTION, 3_000, "unrelated"), late]
    window = list(correlate(stream, grace_ms=1_000))
    assert [r.request_id for r in window] == [RID1]
    assert window[0].response_latency_ms == 46


def test_lambda_lines_no_api_gateway_line_claims_are_not_reported_as_requests() -> None:
    correlator = Correlator(grace_ms=1_000, track_updates=True)
    orphan = ev(PRIMES, 0, f"START RequestId: {LID2} Version: $LATEST")
    correlator.add(orphan)
    assert correlator.updates() == []
    correlator.advance(5_000)
    # Closed without any API Gateway line: no update at all (`requests` shows requests).
    assert correlator.updates() == []


# --- the init phase, and joins by timing ----------------------------------------------------------

REPORTS = Source(Role.LAMBDA, "/aws/lambda/reports", "us-east-1", function_name="reports")
REPORTS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:reports:live"
TRACE1 = "1-5f84c7a1-0d5b0e8a4b2c3d4e5f6a7b8c"


def timed_out(rid: str, t: int, *, sent: int | None = None, trace: str = TRACE1) -> list[LogEvent]:
    """A REST request whose integration API Gateway gave up on after 10 s: its lines name no
    Lambda request ID."""
    x = lambda s: f"({rid}) {s}"  # noqa: E731
    url = f"https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/{REPORTS_ARN}/invocations"
    sent = t + 2 if sent is None else sent
    return [
        ev(EXECUTION, t, x(f"Starting execution for request: {rid}")),
        ev(EXECUTION, t + 1, x("HTTP Method: GET, Resource Path: /reports")),
        ev(EXECUTION, t + 1, x(f"Endpoint request URI: {url}")),
        ev(EXECUTION, sent, x(f"Sending request to {url}")),
        ev(EXECUTION, t + 10_002, x("Execution failed due to a timeout error")),
        ev(EXECUTION, t + 10_003, x("Method completed with status: 504")),
        ev(EXECUTION, t + 10_003, x(f"X-ray Tracing ID : Root={trace}")),
    ]


def invocation(
    lid: str,
    start: int,
    end: int,
    *,
    stream: str = "2024/01/01/reports[1]aa",
    trace: str | None = None,
    init: int | None = None,
    json_format: bool = False,
) -> list[LogEvent]:
    e = lambda ts, m: ev(REPORTS, ts, m, stream)  # noqa: E731
    lines = []
    if init is not None:
        lines.append(
            e(
                init,
                '{"time":"x","type":"platform.initStart","record":{"runtimeVersion":"python:3.12"}}',
            )
            if json_format
            else e(init, "INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: arn:x")
        )
        lines.append(e(init + 1, "connecting to table orders"))  # a print while it initialises
    if json_format:
        lines += [
            e(start, f'{{"time":"x","type":"platform.start","record":{{"requestId":"{lid}"}}}}'),
            e(start + 5, "a plain print between start and report"),
            e(
                end,
                f'{{"time":"x","type":"platform.report","record":{{"requestId":"{lid}",'
                '"metrics":{"durationMs":1.0},'
                + (
                    f'"tracing":{{"type":"X-Amzn-Trace-Id","value":"Root={trace};Sampled=1"}},'
                    if trace
                    else ""
                )
                + '"status":"success"}}',
            ),
        ]
    else:
        xray = f"\nXRAY TraceId: {trace}\tSegmentId: 1\tSampled: true\t" if trace else ""
        lines += [
            e(start, f"START RequestId: {lid} Version: 1"),
            e(start + 5, "a plain print between start and report"),
            e(end, f"END RequestId: {lid}"),
            e(
                end,
                f"REPORT RequestId: {lid}\tDuration: 1.00 ms\tBilled Duration: 2 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t{xray}",
            ),
        ]
    return lines


def by_time(*parts: list[LogEvent]) -> list[LogEvent]:
    return sorted((e for p in parts for e in p), key=lambda e: e.raw.timestamp)


@pytest.mark.parametrize("json_format", [False, True])
def test_the_init_phase_and_its_prints_belong_to_the_invocation_that_follows(
    json_format: bool,
) -> None:
    lines = invocation(LID1, 600, 700, init=10, json_format=json_format, trace=TRACE1)
    requests = list(correlate(by_time(timed_out(RID1, 0, sent=5), lines)))
    [request] = requests
    messages = [e.message for e in request.events]
    assert any("initStart" in m or m.startswith("INIT_START") for m in messages)
    assert "connecting to table orders" in messages
    assert "a plain print between start and report" in messages
    # The trace in the REPORT confirms it: not probable.
    assert request.lambda_request_ids == (LID1,) and not request.probable


@pytest.mark.parametrize("json_format", [False, True])
def test_an_integration_timeout_without_xray_is_joined_by_timing_as_probable(
    json_format: bool,
) -> None:
    lines = invocation(LID1, 4, 40_000, json_format=json_format)
    [request] = list(correlate(by_time(timed_out(RID1, 0), lines)))
    assert request.request_id == RID1 and request.lambda_request_ids == (LID1,)
    assert request.probable and request.invocations[0].probable
    assert request.gave_up_ms == 10_002 and request.responded_ms == 10_003
    assert request.invocations[0].end_ms == 40_000 > request.gave_up_ms
    assert [e.raw.event_id for e in request.probable_events] == [e.raw.event_id for e in lines]


def test_a_cold_start_is_joined_by_when_its_init_began() -> None:
    lines = invocation(LID1, 900, 20_000, init=6)
    [request] = list(correlate(by_time(timed_out(RID1, 0), lines)))
    assert request.probable and request.lambda_request_ids == (LID1,)


def test_an_invocation_that_starts_too_late_is_not_joined() -> None:
    lines = invocation(LID1, 700, 20_000)
    requests = list(correlate(by_time(timed_out(RID1, 0), lines)))
    assert sorted(r.request_id or "-" for r in requests) == ["-", RID1]
    assert not any(r.probable for r in requests)


def test_two_requests_never_share_one_invocation() -> None:
    # Both called the function within the window; one invocation started: either could own it.
    lines = invocation(LID1, 8, 30_000)
    requests = list(correlate(by_time(timed_out(RID1, 0), timed_out(RID2, 3), lines)))
    assert [r.lambda_request_ids for r in requests if r.request_id] == [(), ()]
    assert any(r.request_id is None and r.lambda_request_ids == (LID1,) for r in requests)


def test_an_id_that_gives_the_invocation_to_another_request_drops_the_guess() -> None:
    # RID1 gave up and guessed LID1; LID1's REPORT carries RID2's trace: it was RID2's.
    trace2 = "1-5f84c7a1-99999999999999999999999a"
    lines = invocation(LID1, 6, 30_000, trace=trace2)
    other = [ev(EXECUTION, 29_999, f"({RID2}) X-ray Tracing ID : Root={trace2}")]
    requests = {r.request_id: r for r in correlate(by_time(timed_out(RID1, 0), other, lines))}
    assert requests[RID1].lambda_request_ids == () and not requests[RID1].probable
    assert requests[RID2].lambda_request_ids == (LID1,) and not requests[RID2].probable
