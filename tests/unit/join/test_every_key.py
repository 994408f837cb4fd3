"""Issue 27: every join key a line offers, shared groups' streams, init/restore/extension output,
and Lambda Managed Instances, at the level of the joins (`correlate`, `label_events`)."""

from __future__ import annotations

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
