"""The TUI's filter language: a pure function from text to a predicate on requests."""

from __future__ import annotations

from dataclasses import replace

import pytest

from apilogs.model import (
    Invocation,
    Line,
    LineKind,
    LogEvent,
    Outcome,
    RawEvent,
    Request,
    Role,
    Source,
)
from apilogs.tui.query import QueryError, parse_query

RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
LID = "aaaaaaaa-1111-4222-8333-444444444444"


def request(**kw: object) -> Request:
    base = Request(
        request_id=RID,
        start_ms=1_000,
        end_ms=1_200,
        outcome=Outcome.OK,
        cause="ok",
        method="GET",
        path="/users/42",
        route="GET /users/{id}",
        status=200,
        response_latency_ms=120,
        invocations=(Invocation(LID, Role.LAMBDA, "eratosthenes-users", duration_ms=80.0),),
        lambda_request_ids=(LID,),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def keeps(text: str, r: Request) -> bool:
    return parse_query(text)(r)


def test_empty_keeps_every_request_api_gateway_saw() -> None:
    assert parse_query("").empty
    assert keeps("", request())
    # Lambda lines no API Gateway line claimed are an invocation, not a request.
    assert not keeps("", request(request_id=None, status=None))


@pytest.mark.parametrize(
    ("text", "status", "kept"),
    [
        ("status:5xx", 502, True),
        ("status:5xx", 200, False),
        ("status:502", 502, True),
        ("status:502", 504, False),
        ("status:4xx,429", 429, True),
        ("status:4XX", 404, True),
        ("status:2xx", None, False),
        ("-status:2xx", 500, True),
        ("!status:2xx", 200, False),
    ],
)
def test_status(text: str, status: int | None, kept: bool) -> None:
    assert keeps(text, request(status=status)) is kept


def test_path_globs_match_the_path_or_the_route() -> None:
    assert keeps("path:/users/*", request())
    assert not keeps("path:/orders/*", request())
    assert keeps("path:/users/{id}", request(path=None))
    assert not keeps("path:/users", request())  # a glob matches the whole path
    assert keeps("-path:/health", request())


@pytest.mark.parametrize(
    ("text", "latency", "kept"),
    [
        ("slow:>1s", 1500, True),
        ("slow:>1s", 1000, False),
        ("slow:1s", 1000, True),  # no operator: at least
        ("slow:>=1s", 1000, True),
        ("slow:>250ms", 300, True),
        ("slow:<50ms", 20, True),
        ("slow:<50ms", 50, False),
        ("slow:<=50ms", 50, True),
    ],
)
def test_slow(text: str, latency: int, kept: bool) -> None:
    assert keeps(text, request(response_latency_ms=latency)) is kept


def test_slow_falls_back_to_the_lambda_duration_and_skips_what_has_neither() -> None:
    assert keeps("slow:>50ms", request(response_latency_ms=None))  # 80 ms Lambda
    assert not keeps("slow:>1ms", request(response_latency_ms=None, invocations=()))


def test_cold_error_fn_and_method() -> None:
    cold = (Invocation(LID, Role.LAMBDA, "eratosthenes-users", init_ms=300.0),)
    assert keeps("cold", request(invocations=cold))
    assert not keeps("cold", request())
    assert keeps("-cold", request())
    failed = request(outcome=Outcome.LAMBDA_TIMEOUT, status=502)
    assert keeps("error", failed) and not keeps("error", request())
    assert keeps("errors", failed)
    assert keeps("fn:users", request()) and keeps("fn:Eratosthenes-*", request())
    assert not keeps("fn:orders", request())
    assert keeps("method:get", request()) and not keeps("method:POST", request())


def test_free_text_finds_ids_row_cells_and_logged_lines() -> None:
    group = "API-Gateway-Execution-Logs_x/prod"
    line = RawEvent(
        1_050, 1_060, group, "s", "1", "(x) order 8812 rejected: card declined",
        Source(Role.EXECUTION, group, "us-east-1"),
    )  # fmt: skip
    event = LogEvent(line, Line(LineKind.APIGW_OTHER, request_id=RID))
    r = request(events=(event,), cause="Client error (402)", status=402)
    assert keeps(RID[:8], r)  # part of an ID, as pasted from a ticket
    assert keeps(LID, r)
    assert keeps("8812", r)  # in a line it logged
    assert keeps("CARD DECLINED", r)  # case-insensitive; quotes keep the space
    assert keeps('"card declined"', r)
    assert keeps("402", r)
    assert not keeps("8813", r)
    assert keeps("-8813", r)
    assert parse_query('8812 "card declined"').needles == ("8812", "card declined")


def test_terms_combine_with_and() -> None:
    r = request(status=502, outcome=Outcome.UNHANDLED_EXCEPTION, response_latency_ms=2000)
    assert keeps("status:5xx slow:>1s path:/users/*", r)
    assert not keeps("status:5xx slow:>3s", r)


def test_markup_in_free_text_is_just_text() -> None:
    r = request(cause="[bold]x[/bold]")
    assert keeps("[bold]x", r)
    assert not keeps("[link=x]", r)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("status:6xx", "bad status"),
        ("status:", "needs a value"),
        ("slow:fast", "duration"),
        ("slow:>500", "duration"),  # a unit is required
        ("staus:5xx", "did you mean status:"),
        ("paht:/x", "did you mean path:"),
        ('"unclosed', "quote"),
    ],
)
def test_bad_terms_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert says in str(caught.value)


def test_a_colon_in_free_text_that_is_no_filter_name_stays_text() -> None:
    assert keeps("keyerror:", request(error_message="KeyError: 'n'"))
    assert not keeps("keyerror:", request())
    assert keeps("http://x", request(cause="see http://x"))
    assert keeps("colour:red", request(cause="colour:red"))
