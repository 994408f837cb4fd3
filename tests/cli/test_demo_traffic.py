"""The demo's traffic generator: pure, seeded, and shaped like what AWS writes."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import pytest

from apilogs.demo.sample import SampleApp, describe_sample
from apilogs.demo.traffic import (
    ROUTES,
    ROUTES_BY_KEY,
    SHOWCASE_OPENING,
    FailureRates,
    LogRecord,
    Scenario,
    SimulatedRequest,
    TrafficGenerator,
    render_access_log,
)

T0 = 1_795_000_000_000  # 2026-11-18, any fixed instant will do
MINUTE = 60_000

APP = describe_sample()
LAMBDA_GROUPS = {f.log_group for f in APP.functions}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
REPORT_RE = re.compile(
    rf"REPORT RequestId: (?P<id>{UUID})\tDuration: (?P<duration>[\d.]+) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB\t"
    r"Max Memory Used: (?P<used>\d+) MB\t(?:Init Duration: (?P<init>[\d.]+) ms\t)?"
)


@pytest.fixture(scope="module")
def traffic() -> list[SimulatedRequest]:
    """12 minutes of busy traffic with failures made frequent, shared by the read-only tests."""
    generator = TrafficGenerator(APP, seed=7, rates=FailureRates().scaled(4))
    return list(generator.simulate(T0, T0 + 12 * MINUTE, rps=6))


def all_records(requests: Iterable[SimulatedRequest]) -> list[LogRecord]:
    return [record for request in requests for record in request.records]


def by_stream(records: Iterable[LogRecord]) -> dict[tuple[str, str], list[LogRecord]]:
    streams: defaultdict[tuple[str, str], list[LogRecord]] = defaultdict(list)
    for record in records:
        streams[(record.group, record.stream)].append(record)
    return streams


def access_line(request: SimulatedRequest) -> dict[str, str]:
    [record] = [r for r in request.records if r.group == APP.access_log_group]
    parsed: dict[str, str] = json.loads(record.message)
    return parsed


def lambda_report(request: SimulatedRequest, lambda_request_id: str) -> dict[str, float]:
    """The numbers of an invocation's REPORT, in either log format."""
    for record in lambda_records(request, lambda_request_id):
        if match := REPORT_RE.match(record.message):
            return {
                "duration": float(match["duration"]),
                "init": float(match["init"] or 0),
                "billed": float(match["billed"]),
                "used": float(match["used"]),
                "size": float(match["size"]),
            }
        if '"type":"platform.report"' in record.message:
            metrics = json.loads(record.message)["record"]["metrics"]
            return {
                "duration": metrics["durationMs"],
                "init": metrics.get("initDurationMs", 0.0),
                "billed": metrics["billedDurationMs"],
                "used": metrics["maxMemoryUsedMB"],
                "size": metrics["memorySizeMB"],
            }
    raise AssertionError(f"no REPORT for {lambda_request_id}")


def lambda_records(request: SimulatedRequest, request_id: str) -> list[LogRecord]:
    return [r for r in request.records if r.group in LAMBDA_GROUPS and request_id in r.message]


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_same_records() -> None:
    first = list(TrafficGenerator(APP, seed=3).requests(T0, T0 + 2 * MINUTE, rps=5))
    second = list(TrafficGenerator(APP, seed=3).requests(T0, T0 + 2 * MINUTE, rps=5))
    other = list(TrafficGenerator(APP, seed=4).requests(T0, T0 + 2 * MINUTE, rps=5))
    assert first == second
    assert first != other
    assert len(first) > 300


def test_requests_come_in_start_order_inside_the_window(traffic: list[SimulatedRequest]) -> None:
    starts = [r.start_ms for r in traffic]
    assert starts == sorted(starts)
    assert starts[0] >= T0 and starts[-1] < T0 + 12 * MINUTE
    # Poisson-ish: about rps * seconds requests.
    assert 0.8 * 6 * 720 < len(traffic) < 1.2 * 6 * 720


def test_consecutive_windows_continue_one_history() -> None:
    """Environments stay warm across calls: a second window does not cold-start everything."""
    generator = TrafficGenerator(APP, seed=5)
    list(generator.simulate(T0, T0 + 5 * MINUTE, rps=4))
    later = list(generator.simulate(T0 + 5 * MINUTE, T0 + 6 * MINUTE, rps=4))
    fresh = list(TrafficGenerator(APP, seed=5).simulate(T0 + 5 * MINUTE, T0 + 6 * MINUTE, rps=4))
    assert sum(r.cold_start for r in later) < sum(r.cold_start for r in fresh)


# -- failure modes -----------------------------------------------------------------------------


def test_every_outcome_happens_over_a_long_enough_window(traffic: list[SimulatedRequest]) -> None:
    seen = Counter(r.outcome for r in traffic)
    assert set(seen) == set(Scenario)
    assert seen[Scenario.OK] > len(traffic) / 2


def test_default_rates_are_low() -> None:
    requests = list(TrafficGenerator(APP, seed=11).simulate(T0, T0 + 6 * MINUTE, rps=5))
    failed = sum(r.status >= 500 for r in requests)
    assert 0 < failed < 0.05 * len(requests)


# (route, outcome, status, a line the failure must leave, the group it is in)
SIGNATURES = [
    ("GET /primes", Scenario.OK, 200, "Successfully completed execution", "execution"),
    ("GET /primes", Scenario.SLOW, 200, "Method completed with status: 200", "execution"),
    ("GET /primes/{n}", Scenario.NOT_FOUND, 404, "Method completed with status: 404", "execution"),
    ("POST /orders", Scenario.BAD_REQUEST, 400, '"level":"WARN"', "lambda"),
    ("GET /health", Scenario.STAGE_THROTTLED, 429, '"status":"429"', "access"),
    ("GET /primes", Scenario.AUTH_UNAUTHORIZED, 401, "Unauthorized request: ", "execution"),
    (
        "GET /primes",
        Scenario.AUTH_DENIED,
        403,
        "The client is not authorized to perform this operation.",
        "execution",
    ),
    (
        "GET /reports",
        Scenario.LAMBDA_THROTTLED,
        500,
        "Lambda invocation failed with status: 429. Lambda request id: ",
        "execution",
    ),
    (
        "GET /primes",
        Scenario.UNHANDLED_EXCEPTION,
        502,
        "Lambda execution failed with status 200 due to customer function error: ",
        "execution",
    ),
    ("GET /primes", Scenario.LAMBDA_TIMEOUT, 502, "Task timed out after 3.00 seconds", "lambda"),
    (
        "GET /primes",
        Scenario.OUT_OF_MEMORY,
        502,
        "Error: Runtime exited with error: signal: killed",
        "lambda",
    ),
    (
        "GET /reports",
        Scenario.MALFORMED_RESPONSE,
        502,
        "Execution failed due to configuration error: Malformed Lambda proxy response",
        "execution",
    ),
    (
        "GET /reports",
        Scenario.INTEGRATION_TIMEOUT,
        504,
        "Execution failed due to a timeout error",
        "execution",
    ),
    ("GET /hello", Scenario.UNHANDLED_EXCEPTION, 500, "\tERROR\tInvoke Error \t", "lambda"),
]


@pytest.mark.parametrize(("route", "outcome", "status", "line", "where"), SIGNATURES)
def test_each_failure_leaves_its_lines(
    route: str, outcome: Scenario, status: int, line: str, where: str
) -> None:
    request = TrafficGenerator(APP, seed=1).simulate_one(T0, route=route, outcome=outcome)
    assert request.status == status
    groups = {
        "execution": {APP.execution_log_group},
        "access": {APP.access_log_group, APP.http_access_log_group},
        "lambda": LAMBDA_GROUPS,
    }[where]
    assert any(line in r.message for r in request.records if r.group in groups)
    if ROUTES_BY_KEY[route].api == "rest":
        assert f"Method completed with status: {status}" in "".join(
            r.message for r in request.records
        ) or outcome in (Scenario.STAGE_THROTTLED, Scenario.AUTH_UNAUTHORIZED)
        assert access_line(request)["status"] == str(status)


def test_an_outcome_a_route_cannot_have_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot happen"):
        TrafficGenerator(APP).simulate_one(T0, route="GET /health", outcome=Scenario.AUTH_DENIED)


def test_unhandled_exception_is_one_multiline_event_without_request_id() -> None:
    request = TrafficGenerator(APP, seed=2).simulate_one(
        T0, route="GET /primes", outcome=Scenario.UNHANDLED_EXCEPTION
    )
    [error] = [r for r in request.records if r.message.startswith("[ERROR] ValueError: ")]
    assert '\nTraceback (most recent call last):\n  File "/var/task/app.py"' in error.message
    assert request.lambda_request_id and request.lambda_request_id not in error.message
    headers = next(r.message for r in request.records if "Endpoint response headers" in r.message)
    assert "X-Amz-Function-Error=Unhandled" in headers
    assert f"x-amzn-RequestId={request.lambda_request_id}" in headers


def test_lambda_timeout_and_out_of_memory_report_their_status() -> None:
    generator = TrafficGenerator(APP, seed=2)
    timeout = generator.simulate_one(T0, route="GET /primes", outcome=Scenario.LAMBDA_TIMEOUT)
    oom = generator.simulate_one(T0 + MINUTE, route="GET /primes", outcome=Scenario.OUT_OF_MEMORY)
    [report] = [
        r.message
        for r in timeout.records
        if r.message.startswith("REPORT") and str(timeout.lambda_request_id) in r.message
    ]
    assert "\tDuration: 3000.00 ms\t" in report and "\tStatus: timeout\t" in report
    [report] = [
        r.message
        for r in oom.records
        if r.message.startswith("REPORT") and str(oom.lambda_request_id) in r.message
    ]
    assert "\tStatus: error\tError Type: Runtime.OutOfMemory\t" in report
    assert "\tMax Memory Used: 128 MB\t" in report


def test_integration_timeout_outlives_the_request() -> None:
    """API Gateway answers 504 at the route's integration timeout (10 s for GET /reports)
    without learning the Lambda request ID; the function's lines go on after the access log
    line. Sampled by X-Ray, its REPORT carries the trace ID that joins them; not sampled,
    nothing does."""
    generator = TrafficGenerator(APP, seed=2)
    assert APP.integration_timeout_ms("GET /reports") == 10_000
    for sampled in (True, False):
        request = generator.simulate_one(
            T0 + (0 if sampled else MINUTE),
            route="GET /reports",
            outcome=Scenario.INTEGRATION_TIMEOUT,
            sampled=sampled,
        )
        assert request.sampled is sampled and request.status == 504
        access = access_line(request)
        assert access["integrationRequestId"] == "-"
        assert 10_000 <= int(access["integrationLatency"]) < 10_100
        assert request.lambda_request_id is not None
        execution = [r for r in request.records if r.group == APP.execution_log_group]
        assert not any(request.lambda_request_id in r.message for r in execution)
        end = [r for r in lambda_records(request, request.lambda_request_id) if "END" in r.message]
        assert end and end[0].timestamp > request.end_ms
        linked = any(f"XRAY TraceId: {request.trace_id}" in r.message for r in request.records)
        assert linked is sampled
        assert bool(request.segments) is sampled


def test_sampled_requests_carry_their_segment_documents() -> None:
    """API Gateway's segment with its call to Lambda, the Lambda service segment and the
    function segment (Initialization on a cold start, Invocation with the downstream calls,
    Overhead), linked by parent IDs, on the same clock as the lines."""
    request = TrafficGenerator(APP, seed=3).simulate_one(
        T0, route="POST /orders", outcome=Scenario.UNHANDLED_EXCEPTION, sampled=True
    )
    docs = [json.loads(d) for d in request.segments]
    by_origin = {d["origin"]: d for d in docs}
    assert set(by_origin) == {"AWS::ApiGateway::Stage", "AWS::Lambda", "AWS::Lambda::Function"}
    assert all(d["trace_id"] == request.trace_id for d in docs)
    gateway, service, function = (
        by_origin[o] for o in ("AWS::ApiGateway::Stage", "AWS::Lambda", "AWS::Lambda::Function")
    )
    [call] = gateway["subsegments"]
    assert service["parent_id"] == call["id"] and function["parent_id"] == service["id"]
    assert gateway["fault"] is True and gateway["http"]["response"]["status"] == 502
    names = [s["name"] for s in function["subsegments"]]
    assert names[-2:] == ["Invocation", "Overhead"]
    invocation = function["subsegments"][-2]
    [dynamodb] = invocation["subsegments"]
    assert dynamodb["aws"]["operation"] == "PutItem" and dynamodb["throttle"] is True
    assert invocation["fault"] is True
    assert invocation["cause"]["exceptions"][0]["type"] == "ClientError"
    start = gateway["start_time"] * 1000
    assert request.start_ms - 1 <= start <= request.start_ms + 1
    assert gateway["end_time"] * 1000 <= request.end_ms + 1
    unsampled = TrafficGenerator(APP, seed=3).simulate_one(
        T0, route="POST /orders", outcome=Scenario.OK, sampled=False
    )
    assert unsampled.segments == ()


def test_lambda_throttle_id_appears_in_no_lambda_log() -> None:
    request = TrafficGenerator(APP, seed=2).simulate_one(
        T0, route="POST /orders", outcome=Scenario.LAMBDA_THROTTLED
    )
    assert request.lambda_request_id
    assert not [r for r in request.records if r.group in LAMBDA_GROUPS]
    assert access_line(request)["integrationRequestId"] == request.lambda_request_id


def test_stage_throttle_writes_only_an_access_line() -> None:
    request = TrafficGenerator(APP, seed=2).simulate_one(
        T0, route="GET /health", outcome=Scenario.STAGE_THROTTLED
    )
    assert [r.group for r in request.records] == [APP.access_log_group]


def test_denied_requests_run_the_authorizer_but_not_the_integration() -> None:
    request = TrafficGenerator(APP, seed=2).simulate_one(
        T0, route="GET /primes", outcome=Scenario.AUTH_DENIED
    )
    groups = {r.group for r in request.records}
    assert APP.authorizer.log_group in groups
    assert APP.primes.log_group not in groups
    assert access_line(request)["authorizerRequestId"] == request.authorizer_request_id


# -- shapes ------------------------------------------------------------------------------------


def test_execution_lines_carry_the_request_id(traffic: list[SimulatedRequest]) -> None:
    for request in traffic[:500]:
        for record in request.records:
            if record.group == APP.execution_log_group:
                assert record.message.startswith(f"({request.request_id}) ")


def test_stream_names_look_like_aws(traffic: list[SimulatedRequest]) -> None:
    lambda_stream = re.compile(
        r"^\d{4}/\d{2}/\d{2}/(eratosthenes-[a-z]+)?\[(\$LATEST|\d+)\][0-9a-f]{32}$"
    )
    for group, stream in by_stream(all_records(traffic)):
        if group in LAMBDA_GROUPS:
            match = lambda_stream.match(stream)
            assert match, stream
            # Only the shared custom group names its streams after the function.
            assert bool(match.group(1)) == (group == "/aws/lambda-shared/eratosthenes")
        else:
            assert re.fullmatch(r"[0-9a-f]{32}", stream), stream


def test_access_lines_follow_the_stage_format(traffic: list[SimulatedRequest]) -> None:
    keys = set(json.loads(APP.access_log_format))
    for request in traffic:
        if request.api_id != APP.rest_api_id:
            continue
        access = access_line(request)
        assert set(access) == keys
        assert access["requestId"] == request.request_id
        assert access["extendedRequestId"] == request.extended_request_id
        assert access["xrayTraceId"] == request.trace_id
        assert access["status"] == str(request.status)
        if request.lambda_request_id and request.outcome is not Scenario.INTEGRATION_TIMEOUT:
            assert access["integrationRequestId"] == request.lambda_request_id


def test_http_api_requests_have_no_execution_log(traffic: list[SimulatedRequest]) -> None:
    http = [r for r in traffic if r.api_id == APP.http_api_id]
    assert http
    for request in http:
        assert APP.execution_log_group not in {r.group for r in request.records}
        [line] = [r.message for r in request.records if r.group == APP.http_access_log_group]
        assert f" {request.status} " in line and request.request_id in line
        if request.lambda_request_id:
            assert request.lambda_request_id in line


def test_render_access_log_puts_a_dash_for_missing_values() -> None:
    line = render_access_log(
        '$context.requestId "$context.error.message" $context.status',
        {
            "requestId": "abc",
            "status": 200,
        },
    )
    assert line == 'abc "-" 200'


# -- timing ------------------------------------------------------------------------------------


def test_latencies_contain_the_lambda_run(traffic: list[SimulatedRequest]) -> None:
    checked = 0
    for request in traffic:
        if request.api_id != APP.rest_api_id or request.outcome in (
            Scenario.STAGE_THROTTLED,
            Scenario.LAMBDA_THROTTLED,
            Scenario.INTEGRATION_TIMEOUT,
            Scenario.AUTH_DENIED,
            Scenario.AUTH_UNAUTHORIZED,
        ):
            continue
        access = access_line(request)
        assert request.lambda_request_id
        report = lambda_report(request, request.lambda_request_id)
        ran = report["duration"] + report["init"]
        integration, response = int(access["integrationLatency"]), int(access["responseLatency"])
        assert ran <= integration <= ran + 20
        assert integration <= response
        assert response == request.end_ms - request.start_ms
        assert bool(report["init"]) == request.cold_start
        assert report["billed"] >= report["duration"] + report["init"]
        assert report["used"] <= report["size"]
        checked += 1
    assert checked > 1000


def test_records_of_a_request_are_in_time_order(traffic: list[SimulatedRequest]) -> None:
    for request in traffic:
        stamps = [r.timestamp for r in request.records]
        assert stamps == sorted(stamps)
        assert stamps[0] >= request.start_ms


def test_lambda_streams_are_in_time_order_as_generated(traffic: list[SimulatedRequest]) -> None:
    """A writer can write Lambda streams as the requests come: they never go back in time."""
    for (group, _), records in by_stream(all_records(traffic)).items():
        if group in LAMBDA_GROUPS:
            stamps = [r.timestamp for r in records]
            assert stamps == sorted(stamps)


# -- Lambda invocations and environments --------------------------------------------------------

_START = re.compile(rf"START RequestId: ({UUID}) Version: ")
_END = re.compile(rf"END RequestId: ({UUID})")


def _invocation_markers(message: str) -> tuple[str, str] | None:
    if message.startswith("{") and '"type":"platform.' in message:
        event = json.loads(message)
        if event["type"] == "platform.start":
            return "start", event["record"]["requestId"]
        if event["type"] == "platform.report":
            return "end", event["record"]["requestId"]
        return None
    if match := _START.match(message):
        return "start", match.group(1)
    if match := _END.match(message):
        return "end", match.group(1)
    return None


def test_invocations_pair_up_and_never_overlap_in_a_stream(
    traffic: list[SimulatedRequest],
) -> None:
    # The orders function also logs the API request ID it finds in its event.
    api_request_of = {r.lambda_request_id: r.request_id for r in traffic}
    prints = 0
    for (group, _), records in by_stream(all_records(traffic)).items():
        if group not in LAMBDA_GROUPS:
            continue
        open_id: str | None = None
        for record in sorted(records, key=lambda r: r.timestamp):
            marker = _invocation_markers(record.message)
            if marker and marker[0] == "start":
                assert open_id is None, "an invocation started before the last one ended"
                open_id = marker[1]
            elif marker:
                assert marker[1] == open_id
                open_id = None
            elif open_id:
                ids = set(re.findall(UUID, record.message))
                assert ids <= {open_id, api_request_of.get(open_id)}, record.message
                prints += not ids
        assert open_id is None
    # Some lines carry no request ID: only START…END ties them to their invocation.
    assert prints > 100


def test_cold_start_opens_a_new_stream_with_init(traffic: list[SimulatedRequest]) -> None:
    streams = by_stream(all_records(traffic))
    lambda_streams = {key: v for key, v in streams.items() if key[0] in LAMBDA_GROUPS}
    assert len(lambda_streams) > len(APP.functions)  # concurrency and crashes open more
    for records in lambda_streams.values():
        ordered = sorted(records, key=lambda r: r.timestamp)
        inits = [
            r for r in ordered if r.message.startswith("INIT_START") or "initStart" in r.message
        ]
        assert len(inits) == 1 and inits[0] is ordered[0]
        reports = [
            r.message
            for r in ordered
            if r.message.startswith("REPORT") or '"type":"platform.report"' in r.message
        ]
        with_init = [m for m in reports if "Init Duration" in m or "initDurationMs" in m]
        assert with_init == reports[:1]


def test_cold_starts_are_a_minority(traffic: list[SimulatedRequest]) -> None:
    invoked = [
        r for r in traffic if r.lambda_request_id and r.outcome is not Scenario.LAMBDA_THROTTLED
    ]
    cold = sum(r.cold_start for r in invoked)
    assert 0 < cold < 0.1 * len(invoked)


def test_json_format_function_writes_platform_records() -> None:
    request = TrafficGenerator(APP, seed=9).simulate_one(T0, route="POST /orders")
    lines = [
        json.loads(r.message)
        for r in request.records
        if r.group == APP.orders.log_group and r.message.startswith("{")
    ]
    types = [line.get("type") or line["level"] for line in lines]
    assert types[0] == "platform.initStart" and types[1] == "platform.start"
    assert types[-1] == "platform.report"
    report = lines[-1]["record"]
    assert report["requestId"] == request.lambda_request_id and report["status"] == "success"
    assert set(report["metrics"]) >= {
        "durationMs",
        "billedDurationMs",
        "memorySizeMB",
        "maxMemoryUsedMB",
        "initDurationMs",
    }
    app_lines = [line for line in lines if "level" in line]
    assert app_lines and all(line["requestId"] == request.lambda_request_id for line in app_lines)


def test_xray_lines_follow_sampling(traffic: list[SimulatedRequest]) -> None:
    traced = untraced = 0
    for request in traffic:
        if not request.trace_id:
            continue
        for record in request.records:
            if record.message.startswith("REPORT") and "\nXRAY TraceId: " in record.message:
                assert f"XRAY TraceId: {request.trace_id}\t" in record.message
                traced += 1
            elif record.message.startswith("REPORT"):
                untraced += 1
    # The default rule: one a second, then 5 %.
    assert traced and untraced


def test_authorizer_invocation_is_linked_by_the_access_log(
    traffic: list[SimulatedRequest],
) -> None:
    authorized = [r for r in traffic if r.authorizer_request_id]
    assert authorized
    for request in authorized[:200]:
        starts = [
            r
            for r in request.records
            if r.group == APP.authorizer.log_group
            and r.message.startswith(f"START RequestId: {request.authorizer_request_id}")
        ]
        assert len(starts) == 1
        assert access_line(request)["authorizerRequestId"] == request.authorizer_request_id


def test_routes_cover_the_sample() -> None:
    functions = {"primes", "orders", "health", "reports", "hello", "export"}
    assert {r.function for r in ROUTES} == functions
    assert abs(sum(r.weight for r in ROUTES) - 1) < 1e-9
    # /export is drawn only in the live demo's mix: a seed's traffic is what it always was.
    assert ROUTES_BY_KEY["GET /export"].weight == 0


def test_integration_uri_in_logs_is_resolved(traffic: list[SimulatedRequest]) -> None:
    """The stage variable is substituted and the alias kept, as API Gateway logs them."""
    uris = {
        r.message.split("Endpoint request URI: ")[1]
        for request in traffic
        for r in request.records
        if "Endpoint request URI: " in r.message
    }
    assert "${stageVariables" not in "".join(uris)
    assert any(u.endswith("function:eratosthenes-reports:live/invocations") for u in uris)


def test_describe_sample_matches_the_app_type() -> None:
    assert isinstance(APP, SampleApp)
    assert len(APP.log_groups) == 8


# -- the live demo's showcase (issue 28 item 7, issue 27) --------------------------------------


def test_the_showcase_opens_with_each_failure_then_the_random_mix() -> None:
    generator = TrafficGenerator(APP, seed=11, showcase=True)
    generator.open_showcase(T0)
    requests = list(generator.simulate(T0 - 5_000, T0 + 2 * MINUTE, rps=3))
    placed = [(r.start_ms - T0, r.route, r.outcome) for r in requests if r.start_ms - T0 in OFFSETS]
    assert placed == list(SHOWCASE_OPENING)
    statuses = {r.outcome: r.status for r in requests if r.start_ms < T0 + 30_000}
    assert statuses[Scenario.LAMBDA_TIMEOUT] == statuses[Scenario.OUT_OF_MEMORY] == 502
    assert statuses[Scenario.MALFORMED_RESPONSE] == 502
    assert statuses[Scenario.INTEGRATION_TIMEOUT] == 504
    assert statuses[Scenario.STAGE_THROTTLED] == 429
    assert statuses[Scenario.LAMBDA_THROTTLED] == 500
    assert statuses[Scenario.AUTH_DENIED] == 403
    # All answered within the first half minute; then the random mix goes on alone.
    assert all(r.end_ms < T0 + 30_000 for r in requests if r.start_ms - T0 in OFFSETS)
    later = [r for r in requests if r.start_ms >= T0 + 20_000]
    assert len(later) > 200 and Counter(r.outcome for r in later)[Scenario.OK] > 150


OFFSETS = {offset for offset, _, _ in SHOWCASE_OPENING}


def test_export_is_drawn_only_in_the_showcase_mix() -> None:
    seeded = list(TrafficGenerator(APP, seed=3).simulate(T0, T0 + 10 * MINUTE, rps=5))
    assert not any(r.route == "GET /export" for r in seeded)
    live = list(TrafficGenerator(APP, seed=3, showcase=True).simulate(T0, T0 + 10 * MINUTE, 5))
    assert 0.01 < sum(r.route == "GET /export" for r in live) / len(live) < 0.08


def test_the_java_function_logs_json_to_the_shared_group_with_its_extension() -> None:
    generator = TrafficGenerator(APP, seed=5, showcase=True)
    generator.open_showcase(T0)
    requests = [
        r for r in generator.simulate(T0, T0 + 5 * MINUTE, rps=5) if r.route == "GET /export"
    ]
    records = [rec for r in requests for rec in r.records if rec.group == APP.export.log_group]
    assert APP.export.log_group == APP.health.log_group == APP.reports.log_group
    streams = by_stream(records)
    assert len(streams) >= 2  # bursts open more environments
    for (_, stream), lines in streams.items():
        assert re.fullmatch(
            r"\d{4}/\d{2}/\d{2}/eratosthenes-export\[\$LATEST\][0-9a-f]{32}", stream
        )
        messages = [line.message for line in sorted(lines, key=lambda x: x.timestamp)]
        start = next(i for i, m in enumerate(messages) if '"type":"platform.start"' in m)
        init = messages[:start]
        # A new environment: the JVM's line, the extension's, Lambda's record of it.
        assert any(m.startswith("Picked up JAVA_TOOL_OPTIONS: ") for m in init)
        assert "[cache-extension-demo]  Waiting for event...\n" in init
        assert any('"type":"platform.extension"' in m for m in init)
        # Each invocation: the extension's line, the function's JSON record and its print.
        assert messages.count("[cache-extension-demo] Waiting for event...\n") == sum(
            '"type":"platform.start"' in m for m in messages
        )
        assert any('"AWSRequestId":' in m and '"level":"INFO"' in m for m in messages)
        assert "export written\n" in messages
    # The first environment's INIT_START is not seen; every later one's is.
    firsts = sorted(streams.items(), key=lambda item: min(x.timestamp for x in item[1]))
    first, *others = (
        [line.message for line in sorted(lines, key=lambda x: x.timestamp)] for _, lines in firsts
    )
    assert not any('"type":"platform.initStart"' in m for m in first)
    assert all('"type":"platform.initStart"' in m[0] for m in others)
