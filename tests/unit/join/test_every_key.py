"""Issue 27: every join key a line offers, shared groups' streams, init/restore/extension output,
and Lambda Managed Instances, at the level of the joins (`correlate`, `label_events`)."""

from __future__ import annotations

import json

from apilogs.join.correlate import correlate
from apilogs.join.label import label_events
from apilogs.model import LogEvent, Role, Source
from tests.unit.join.test_correlate import EXECUTION, FN_ARN, LID1, RID1, ev

AUTH_ARN = "arn:aws:lambda:us-east-1:123456789012:function:auth"
AUTH = Source(Role.AUTHORIZER, "/aws/lambda/auth", "us-east-1", function_name="auth")
PRIMES = Source(Role.LAMBDA, "/aws/lambda/primes", "us-east-1", function_name="primes")
ACCESS = Source(
    Role.ACCESS,
    "/access",
    "us-east-1",
    log_format='{"requestId":"$context.requestId","status":"$context.status",'
    '"integrationRequestId":"$context.integration.requestId",'
    '"authorizerRequestId":"$context.authorizer.requestId"}',
)
AID = "0a0a0a0a-1111-4a2b-9c3d-0123456789ab"


def _url(arn: str) -> str:
    return f"https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/{arn}/invocations"


def gave_up_after_authorizer() -> tuple[list[LogEvent], set[str]]:
    """A request whose TOKEN authorizer allowed it and whose integration API Gateway gave up
    on (504, not traced): only the access line names the authorizer's invocation, nothing names
    the integration's. Returns the lines and the messages joined by timing alone."""
    x = lambda s: f"({RID1}) {s}"  # noqa: E731
    lines = [
        ev(EXECUTION, 0, x(f"Starting authorizer: abc123 for request: {RID1}")),
        ev(EXECUTION, 1, x(f"Endpoint request URI: {_url(AUTH_ARN)}")),
        ev(EXECUTION, 2, x(f"Sending request to {_url(AUTH_ARN)}")),
        ev(AUTH, 5, f"START RequestId: {AID} Version: $LATEST", "a"),
        ev(AUTH, 6, "token checked", "a"),
        ev(AUTH, 9, f"END RequestId: {AID}", "a"),
        ev(
            AUTH,
            9,
            f"REPORT RequestId: {AID}\tDuration: 3.00 ms\tBilled Duration: 3 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 40 MB",
            "a",
        ),
        ev(EXECUTION, 12, x("Successfully completed authorizer execution")),
        ev(EXECUTION, 13, x(f"Starting execution for request: {RID1}")),
        ev(EXECUTION, 14, x(f"Endpoint request URI: {_url(FN_ARN)}")),
        ev(EXECUTION, 15, x(f"Sending request to {_url(FN_ARN)}")),
        ev(PRIMES, 20, f"START RequestId: {LID1} Version: $LATEST", "p"),
        ev(PRIMES, 21, "still working", "p"),
        ev(EXECUTION, 29_015, x("Execution failed due to a timeout error")),
        ev(EXECUTION, 29_015, x("Method completed with status: 504")),
        ev(
            ACCESS,
            29_016,
            f'{{"requestId":"{RID1}","status":"504","integrationRequestId":"-",'
            f'"authorizerRequestId":"{AID}"}}',
        ),
        ev(PRIMES, 35_000, f"END RequestId: {LID1}", "p"),
        ev(
            PRIMES,
            35_000,
            f"REPORT RequestId: {LID1}\tDuration: 34980.00 ms\tBilled Duration: 34980 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 60 MB",
            "p",
        ),
    ]
    probable = {e.message for e in lines if e.source is PRIMES}
    return lines, probable


def test_a_timeout_after_an_authorizer_joins_the_integration_by_timing_and_the_authorizer_by_id() -> (
    None
):
    lines, probable = gave_up_after_authorizer()
    [request] = list(correlate(lines))
    assert len(request.events) == len(lines)
    assert {e.message for e in request.probable_events} == probable
    assert {i.lambda_request_id: i.probable for i in request.invocations} == {
        AID: False,
        LID1: True,
    }
    # The hold-back labels every line, the integration's as probable.
    got = [(e.event.message, e.request_id, e.probable) for e in label_events(lines)]
    assert got == [(e.message, RID1, e.message in probable) for e in lines]


def test_a_powertools_correlation_id_joins_only_the_request_of_that_id() -> None:
    x = lambda s: f"({RID1}) {s}"  # noqa: E731
    named = f'{{"level":"INFO","message":"for the request","correlation_id":"{RID1}"}}'
    stranger = (
        '{"level":"INFO","message":"a client value","correlation_id":"order-42-from-the-client"}'
    )
    lines = [
        ev(EXECUTION, 0, x(f"Starting execution for request: {RID1}")),
        ev(PRIMES, 5, named, "p"),  # no invocation open in its stream: only the ID joins it
        ev(PRIMES, 6, stranger, "q"),
        ev(EXECUTION, 10, x("Method completed with status: 200")),
    ]
    [request, *rest] = list(correlate(lines))
    assert request.request_id == RID1 and rest == []
    assert [e.message for e in request.events] == [lines[0].message, named, lines[3].message]
    got = {e.event.message: e.request_id for e in label_events(lines)}
    assert got[named] == RID1 and got[stranger] is None


def test_a_shared_groups_streams_name_their_function() -> None:
    from apilogs.model import RawEvent
    from apilogs.stream import StreamSources, stream_function

    assert stream_function("2026/12/04/orders[$LATEST]3f1c9d2b7a6e45f08c1d2e3f4a5b6c7d") == (
        "orders",
        "$LATEST",
    )
    assert stream_function("2026/12/04/[12]3f1c9d2b7a6e45f08c1d2e3f4a5b6c7d") == (None, "12")
    assert stream_function("8f14e45fceea167a5a36dedd4bea2543") is None
    assert stream_function("2026/12/04/orders[$LATEST]3f1c/../x") is None

    shared = "/shop/functions"
    orders = Source(Role.LAMBDA, shared, "us-east-1", function_name="orders", log_format="JSON")
    auth = Source(Role.AUTHORIZER, "/aws/lambda/auth", "us-east-1", function_name="auth")
    other = Source(Role.OTHER, shared, "us-east-1")
    attribute = StreamSources([orders, auth, other])

    def source(src: Source, stream: str) -> Source:
        return attribute(RawEvent(1, 2, src.log_group, stream, "1", "m", src)).source

    # Its own stream: the same Source; another function's: that function's.
    assert source(orders, "2026/12/04/orders[$LATEST]aa11") is orders
    assert source(orders, "2026/12/04/billing[$LATEST]bb22").function_name == "billing"
    # A group given by --log-group: the Source of the function its stream names, role and all.
    found = source(other, "2026/12/04/auth[$LATEST]cc33")
    assert (found.role, found.function_name, found.log_group) == (Role.AUTHORIZER, "auth", shared)
    assert source(other, "not-a-lambda-stream") is other
    default = Source(Role.OTHER, "/aws/lambda/billing", "us-east-1")
    billing = source(default, "2026/12/04/[$LATEST]dd44")
    assert (billing.role, billing.function_name) == (Role.LAMBDA, "billing")


# --- Init, restore and extension output ------------------------------------------------------

LID2 = "8f5b2a1c-2222-4a2b-9c3d-0123456789ab"


def _invocation_of(lid: str, t: int, stream: str, body: list[str]) -> list[LogEvent]:
    return [
        ev(PRIMES, t, f"START RequestId: {lid} Version: $LATEST", stream),
        *(ev(PRIMES, t + 1 + i, text, stream) for i, text in enumerate(body)),
        ev(PRIMES, t + 50, f"END RequestId: {lid}", stream),
        ev(
            PRIMES,
            t + 50,
            f"REPORT RequestId: {lid}\tDuration: 40.00 ms\tBilled Duration: 40 ms\t"
            "Memory Size: 512 MB\tMax Memory Used: 90 MB",
            stream,
        ),
    ]


def _phases(lines: list[LogEvent]) -> dict[str, tuple[str | None, str | None]]:
    """Each message → (its invocation's request ID as labelled, its JSON `phase`)."""
    from apilogs.render.events import event_to_dict

    got = {}
    for item in label_events(lines, expect_calls=False, hold_ms=5_000):
        doc = event_to_dict(item.event, phase=item.phase)
        [request] = [r for r in correlate(lines) if item.event in r.events] or [None]
        got[item.event.message] = (
            request.lambda_request_ids[0] if request else None,
            doc.get("phase"),
        )
    return got


def test_output_before_the_first_start_without_init_start_is_that_invocations_init() -> None:
    # Java writes this before its runtime's first line when JAVA_TOOL_OPTIONS is set
    # (aws-samples/serverless-mutual-tls#1: "displayed from Runtime Init phase"); the window
    # began after the INIT_START, or the stream's INIT_START was not logged.
    java = "Picked up JAVA_TOOL_OPTIONS: -XX:+TieredCompilation -XX:TieredStopAtLevel=1"
    log4j = "2026-12-04 20:00:00 <> INFO  com.example.App:22 - Loading configuration"
    other = ev(PRIMES, 2, "a print of another environment", "2026/12/04/[$LATEST]bbbb")
    lines = [
        ev(PRIMES, 0, java, "2026/12/04/[$LATEST]aaaa"),
        other,
        ev(PRIMES, 3, log4j, "2026/12/04/[$LATEST]aaaa"),
        *_invocation_of(LID1, 500, "2026/12/04/[$LATEST]aaaa", ["handling"]),
    ]
    got = _phases(lines)
    assert got[java] == got[log4j] == (LID1, "init")
    assert got["handling"] == (LID1, None)
    # Never across streams: the other environment's line waits for its own START, in vain.
    assert got[other.message] == (None, None)


def test_snapstart_restore_and_its_output_belong_to_the_invocation_that_follows() -> None:
    # SnapStart's lines (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html;
    # Platform.RestoreStart / RestoreReport take the place of the init's, per
    # DataDog/datadog-lambda-extension#911).
    stream = "2026/12/04/[3]cccc"
    restore = (
        "RESTORE_START Runtime Version: java:21.v21\tRuntime Version ARN: "
        "arn:aws:lambda:us-east-1::runtime:0a25e3e7a1cc9ce404bc435eeb2ad358d8fa64338e618d0c224fe509403583ca"
    )
    hook = "afterRestore: reconnecting the pool"
    report = "RESTORE_REPORT Restore Duration: 474.16 ms\tBilled Restore Duration: 219 ms"
    lines = [
        ev(PRIMES, 0, restore, stream),
        ev(PRIMES, 100, hook, stream),
        ev(PRIMES, 480, report, stream),
        *_invocation_of(LID1, 500, stream, ["handling"]),
    ]
    got = _phases(lines)
    assert got[restore] == got[hook] == got[report] == (LID1, "restore")
    assert got["handling"] == (LID1, None)


def test_extension_output_belongs_to_the_invocation_it_runs_in() -> None:
    # The Extensions API's registration line and the sample extension's own output
    # (aws-samples/aws-lambda-extensions, cache-extension-demo).
    stream = "2026/12/04/[$LATEST]dddd"
    registered = "EXTENSION\tName: cache-extension-demo\tState: Ready\tEvents: [INVOKE,SHUTDOWN]"
    waiting = "[cache-extension-demo] Waiting for event..."
    lines = [
        ev(PRIMES, 0, registered, stream),
        *_invocation_of(LID1, 500, stream, ["handling", waiting]),
        *_invocation_of(LID2, 900, stream, [waiting + " "]),
    ]
    got = _phases(lines)
    assert got[registered] == (LID1, "extension")
    assert got[waiting] == (LID1, "extension")
    assert got[waiting + " "] == (LID2, "extension")
    assert got["handling"] == (LID1, None)


def test_output_of_an_invocation_the_window_cut_joins_it_when_a_line_names_it() -> None:
    stream = "2026/12/04/[$LATEST]eeee"
    lines = [
        ev(PRIMES, 0, "still working on the order", stream),
        ev(PRIMES, 5, f"END RequestId: {LID1}", stream),
        ev(
            PRIMES,
            5,
            f"REPORT RequestId: {LID1}\tDuration: 900.00 ms\tBilled Duration: 900 ms\t"
            "Memory Size: 512 MB\tMax Memory Used: 90 MB",
            stream,
        ),
        *_invocation_of(LID2, 100, stream, ["next one"]),
    ]
    got = _phases(lines)
    assert got["still working on the order"] == (LID1, None)
    assert got["next one"] == (LID2, None)


# --- Lambda Managed Instances ----------------------------------------------------------------


def _platform(kind: str, lid: str, t: int) -> str:
    record: dict[str, object] = {"requestId": lid}
    if kind == "platform.report":
        record["metrics"] = {"durationMs": 5.0, "billedDurationMs": 5, "memorySizeMB": 2048}
        record["status"] = "success"
    return json.dumps({"time": f"2026-12-04T20:00:00.{t:03d}Z", "type": kind, "record": record})


def test_overlapping_invocations_in_one_stream_join_by_request_id_only() -> None:
    # Lambda Managed Instances: several invocations at once in one environment, JSON format
    # only (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html).
    from apilogs.join.streams import OverlapWatch

    stream = "2026/12/04/orders[$LATEST]ffff"
    app = '{"timestamp":"2026-12-04T20:00:00.000Z","level":"INFO","message":"%s","requestId":"%s"}'
    lines = [
        ev(PRIMES, 1, _platform("platform.start", LID1, 1), stream),
        ev(PRIMES, 2, "alone: only the first runs", stream),
        ev(PRIMES, 3, _platform("platform.start", LID2, 3), stream),
        ev(PRIMES, 4, app % ("first", LID1), stream),
        ev(PRIMES, 5, "which one printed this?", stream),
        ev(PRIMES, 6, app % ("second", LID2), stream),
        ev(PRIMES, 7, _platform("platform.report", LID1, 7), stream),
        ev(PRIMES, 8, "still two? no: one, but the stream is known to overlap", stream),
        ev(PRIMES, 9, _platform("platform.report", LID2, 9), stream),
    ]
    by_lid = {r.lambda_request_ids[0]: {e.message for e in r.events} for r in correlate(lines)}
    assert by_lid[LID1] == {lines[i].message for i in (0, 1, 3, 6)}
    assert by_lid[LID2] == {lines[i].message for i in (2, 5, 8)}
    watch = OverlapWatch()
    assert [watch.see(e) for e in lines].count(PRIMES.log_group) == 1


def test_a_first_print_waits_for_a_start_only_while_one_may_come() -> None:
    from apilogs.join.label import Labeller

    stream = "2026/12/04/[$LATEST]abab"
    first = ev(PRIMES, 0, "a print, and no START ever", stream)
    # A window: it waits up to the hold-back, and is not told as a label that ran out (nothing
    # could have told its request).
    labeller = Labeller(hold_ms=1_000, expect_calls=False)
    assert labeller.add(first) == []
    [out] = labeller.add(ev(EXECUTION, 5_000, f"({RID1}) Method completed with status: 200"))[:1]
    assert (out.event, out.request_id, labeller.released_unknown) == (first, None, 0)
    # Following: no longer than a guess would wait.
    first = ev(PRIMES, 10, "a print, and no START ever", stream)
    labeller = Labeller(in_order=False, expect_calls=False)
    labeller.advance(1)
    assert labeller.add(first) == []
    assert [o.event for o in labeller.advance(1 + labeller.guess_after_ms + labeller.block_ms)] == [
        first
    ]
    # A stream not named as Lambda names an environment's: nothing to wait for.
    assert [o.event for o in Labeller(expect_calls=False).add(ev(PRIMES, 0, "x", "s"))] != []
