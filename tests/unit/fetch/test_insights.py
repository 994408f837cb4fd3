"""The Logs Insights engine.

Against moto's server: a window read gives exactly what FilterLogEvents gives (moto honours
`fields`, `sort` and `| limit`, so the row cap and its splitting run against it too). moto cannot
show the rest — `Running`, AWS's timestamp format, `@log` as `account:group`, whole-second edges,
LimitExceeded, StopQuery, `stats` — so those run through botocore's Stubber, with responses shaped
as the CloudWatch Logs API reference documents them (the Stubber also checks them against
botocore's service model)."""

from __future__ import annotations

import calendar
import contextlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from apilogs.aws import AwsContext, RateLimiter
from apilogs.errors import ApilogsError
from apilogs.fetch import FetchStats, fetch_window, queries_for
from apilogs.fetch.filter import GroupQuery
from apilogs.fetch.insights import (
    InsightsError,
    InsightsUsage,
    PollSchedule,
    events_query,
    parse_insights_time,
    read_window,
    stats_window,
)
from apilogs.fetch.merge import event_key
from apilogs.model import RawEvent, Role, Source

REGION = "us-east-1"
ACCOUNT = "123456789012"
FAST = PollSchedule(first_s=0.01, factor=1.5, max_s=0.05, limit_wait_s=0.05)
# A whole second, an hour ago: CloudWatch Logs refuses events older than 14 days.
BASE_S = int(time.time()) - 3600
BASE_MS = BASE_S * 1000


def moto_ctx(endpoint: str) -> AwsContext:
    return AwsContext(
        session=boto3.Session(region_name=REGION),
        endpoint_url=endpoint,
        logs_limiter=RateLimiter(0),
    )


def put(logs: Any, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    events = sorted(events)
    for i in range(0, len(events), 10_000):
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in events[i : i + 10_000]],
        )


def lambda_queries(*groups: str) -> list[GroupQuery]:
    return queries_for(
        tuple(Source(Role.LAMBDA, g, REGION, function_name=g.rsplit("/", 1)[1]) for g in groups)
    )


def plain(events: list[RawEvent]) -> list[tuple[int, str, str, str]]:
    return [(e.timestamp, e.group, e.stream, e.message) for e in events]


# --- against moto's server ---


@pytest.mark.parametrize("row_limit", [10_000, 400, 25])
def test_insights_window_equals_filter_window(endpoint: str, client, row_limit: int) -> None:
    """Same events, same order, every one once — also when the row cap forces the range to be
    split (400), and when single seconds hold more than a query returns (25)."""
    logs = client("logs")
    rng = random.Random(row_limit)
    groups = ("/aws/lambda/a", "/aws/lambda/b", "/aws/lambda/c")
    for group in groups:
        for stream in ("s1", "s2"):
            # Coarse timestamps over ~20 s: many events share a millisecond across groups.
            put(
                logs,
                group,
                stream,
                [
                    (BASE_MS + rng.randrange(0, 2000) * 10, f"{group} {stream} {i}")
                    for i in range(500)
                ],
            )
    ctx = moto_ctx(endpoint)
    queries = lambda_queries(*groups)
    # Window edges inside seconds: Insights takes whole seconds, the engine trims them.
    lo, hi = BASE_MS + 1_234, BASE_MS + 17_777

    expected = plain(list(fetch_window(ctx, queries, lo, hi, FetchStats())))
    stats = FetchStats()
    usage = InsightsUsage()
    got = list(
        read_window(ctx, queries, lo, hi, stats, usage=usage, row_limit=row_limit, poll=FAST)
    )

    assert len(expected) > 2000
    assert Counter(plain(got)) == Counter(expected)
    assert [k[:3] for k in plain(got)] == [k[:3] for k in expected]
    assert [event_key(e) for e in got] == sorted(event_key(e) for e in got)
    assert stats.events == len(got)
    assert got[0].source.function_name in {"a", "b", "c"}
    over_cap = [n for n in stats.notices if "more than one query returns" in n]
    if row_limit == 10_000:
        assert usage.queries == 1 and not over_cap
    elif row_limit == 400:
        assert usage.splits >= 1 and usage.queries > 3 and not over_cap
    else:
        assert over_cap and usage.over_cap_seconds == len(over_cap)


def test_terms_are_or_ed_and_checked_locally(endpoint: str, client) -> None:
    """moto ignores `filter`; the engine still returns only what a term matches."""
    logs = client("logs")
    put(
        logs,
        "/aws/lambda/a",
        "s",
        [(BASE_MS + i, f"line {i} {'abc' if i % 7 == 0 else ''}") for i in range(50)],
    )
    put(logs, "/aws/lambda/b", "s", [(BASE_MS + 3, "request xyz here"), (BASE_MS + 4, "other")])

    got = list(
        read_window(
            moto_ctx(endpoint),
            lambda_queries("/aws/lambda/a", "/aws/lambda/b"),
            BASE_MS,
            BASE_MS + 1000,
            FetchStats(),
            terms=("abc", "xyz"),
            poll=FAST,
        )
    )

    assert [e.message for e in got] == [
        "line 0 abc",
        "request xyz here",
        *(f"line {i} abc" for i in range(7, 50, 7)),
    ]


def test_a_missing_group_is_skipped_with_a_notice(endpoint: str, client) -> None:
    put(client("logs"), "/aws/lambda/a", "s", [(BASE_MS + 5, "hello")])
    stats = FetchStats()

    got = list(
        read_window(
            moto_ctx(endpoint),
            lambda_queries("/aws/lambda/a", "/aws/lambda/gone"),
            BASE_MS,
            BASE_MS + 1000,
            stats,
            poll=FAST,
        )
    )

    assert [e.message for e in got] == ["hello"]
    assert "log group /aws/lambda/gone does not exist: skipped" in stats.notices


def test_more_than_50_groups_are_read_by_several_queries(endpoint: str, client) -> None:
    logs = client("logs")
    groups = [f"/aws/lambda/f{i:02d}" for i in range(55)]
    for i, group in enumerate(groups):
        put(logs, group, "s", [(BASE_MS + 55 - i, f"event of {group}")])
    stats = FetchStats()
    usage = InsightsUsage()

    got = list(
        read_window(
            moto_ctx(endpoint),
            lambda_queries(*groups),
            BASE_MS,
            BASE_MS + 999,
            stats,
            usage=usage,
            poll=FAST,
        )
    )

    assert [e.group for e in got] == groups[::-1]  # one merged stream, in time order
    assert usage.queries == 2
    assert stats.groups == stats.groups_done == 55
    # With no usage object of its own, the caller is told the bytes scanned as a notice.
    stats = FetchStats()
    list(
        read_window(
            moto_ctx(endpoint),
            lambda_queries(*groups[:2]),
            BASE_MS,
            BASE_MS + 999,
            stats,
            poll=FAST,
        )
    )
    assert any(
        n.startswith("Logs Insights: 1 query scanned") and "estimated cost $" in n
        for n in stats.notices
    )


# --- with botocore's Stubber: what moto cannot show ---


def aws_time(ms: int) -> str:
    """@timestamp as CloudWatch Logs Insights returns it."""
    second, milli = divmod(ms, 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second)) + f".{milli:03d}"


def row(
    ms: int, message: str, ptr: str, group: str = "/aws/lambda/a", stream: str = "s"
) -> list[dict[str, str]]:
    """One result row as GetQueryResults returns it: a list of field/value pairs."""
    return [
        {"field": "@timestamp", "value": aws_time(ms)},
        {"field": "@message", "value": message},
        {"field": "@logStream", "value": stream},
        {"field": "@log", "value": f"{ACCOUNT}:{group}"},
        {"field": "@ptr", "value": ptr},
        {"field": "@ingestionTime", "value": aws_time(ms + 250)},
    ]


def results(status: str, rows: list[list[dict[str, str]]], scanned: float = 0.0) -> dict[str, Any]:
    return {
        "status": status,
        "results": rows,
        "statistics": {
            "recordsMatched": float(len(rows)),
            "recordsScanned": float(len(rows) * 3),
            "bytesScanned": scanned,
        },
    }


@contextlib.contextmanager
def stubbed() -> Any:
    ctx = AwsContext(session=boto3.Session(region_name=REGION), logs_limiter=RateLimiter(0))
    client = ctx.reader_client(REGION)
    with Stubber(client) as stubber:
        yield ctx, stubber


def expect_query(
    stubber: Stubber,
    query_id: str,
    start_s: int,
    end_s: int,
    row_limit: int = 10_000,
    groups: list[str] | None = None,
) -> None:
    stubber.add_response(
        "start_query",
        {"queryId": query_id},
        {
            "logGroupNames": groups or ["/aws/lambda/a"],
            "startTime": start_s,
            "endTime": end_s,
            "queryString": events_query(row_limit),
        },
    )


def test_polls_through_scheduled_and_running_partial_results_until_complete() -> None:
    rows = [
        row(BASE_MS + 10, "one", "p1"),
        row(BASE_MS + 20, "two", "p2"),
        row(BASE_MS + 30, "three", "p3"),
    ]
    with stubbed() as (ctx, stubber):
        expect_query(stubber, "q1", BASE_S, BASE_S + 1)
        stubber.add_response("get_query_results", results("Scheduled", []), {"queryId": "q1"})
        stubber.add_response(
            "get_query_results", results("Running", rows[:1], 512.0), {"queryId": "q1"}
        )
        stubber.add_response(
            "get_query_results", results("Running", rows[:2], 1024.0), {"queryId": "q1"}
        )
        stubber.add_response(
            "get_query_results", results("Complete", rows, 3 * 2**30), {"queryId": "q1"}
        )
        stats = FetchStats()
        usage = InsightsUsage()

        got = list(
            read_window(
                ctx,
                lambda_queries("/aws/lambda/a"),
                BASE_MS,
                BASE_MS + 999,
                stats,
                usage=usage,
                poll=FAST,
            )
        )
        stubber.assert_no_pending_responses()

    # Partial results are not final: each event comes once, from the complete result.
    assert [(e.timestamp, e.message, e.event_id) for e in got] == [
        (BASE_MS + 10, "one", "p1"),
        (BASE_MS + 20, "two", "p2"),
        (BASE_MS + 30, "three", "p3"),
    ]
    # AWS's `account:group` @log and its `YYYY-MM-DD HH:MM:SS.mmm` times.
    assert {e.group for e in got} == {"/aws/lambda/a"}
    assert got[0].ingestion_time == BASE_MS + 260
    assert got[0].source.function_name == "a"
    assert usage.bytes_scanned == 3 * 2**30
    assert usage.estimated_cost_usd == pytest.approx(0.015)
    assert "3.0 GB" in usage.summary() and "$0.0150" in usage.summary()
    assert stats.pages == 4


def test_the_row_cap_splits_the_range_and_edges_are_deduplicated_by_ptr() -> None:
    """A capped query keeps its rows older than the newest one it returned; the rest is queried
    again in pieces cut on whole seconds. AWS includes the end second in a query, so adjacent
    pieces return the same rows: each event still comes out once, in order."""
    cap = 4
    t = BASE_MS
    every = {  # ms offset → ptr; a query returns the ones in its seconds, earliest first
        t + 100: "a",
        t + 1_100: "b",
        t + 2_100: "c",
        t + 3_500: "d",
        t + 3_500 + 1: "e",
        t + 4_200: "f",
        t + 5_999: "g",
        t + 6_000: "h",
        t + 8_400: "i",
        t + 9_998: "j",
    }

    def rows_for(start_s: int, end_s: int, limit: int) -> list[list[dict[str, str]]]:
        # Whole seconds, inclusive at both ends: what AWS documents.
        inside = [
            (ms, p) for ms, p in sorted(every.items()) if start_s * 1000 <= ms < (end_s + 1) * 1000
        ]
        return [row(ms, f"m-{p}", p) for ms, p in inside[:limit]]

    with stubbed() as (ctx, stubber):
        # The whole window: 10 s, capped at the 4th row (3.500).
        expected_ranges = [(BASE_S, BASE_S + 10)]
        # 4 rows over 3.5 s, 6.5 s to go: 4 pieces of ~2 rows, on whole seconds from 3.500.
        expected_ranges += [
            (BASE_S + 3, BASE_S + 4),
            (BASE_S + 4, BASE_S + 6),
            (BASE_S + 6, BASE_S + 8),
            (BASE_S + 8, BASE_S + 10),
        ]
        for n, (start_s, end_s) in enumerate(expected_ranges):
            expect_query(stubber, f"q{n}", start_s, end_s, row_limit=cap)
            stubber.add_response(
                "get_query_results",
                results("Complete", rows_for(start_s, end_s, cap)),
                {"queryId": f"q{n}"},
            )
        stats = FetchStats()
        usage = InsightsUsage()

        got = list(
            read_window(
                ctx,
                lambda_queries("/aws/lambda/a"),
                t,
                t + 9_999,
                stats,
                usage=usage,
                row_limit=cap,
                concurrency=1,
                poll=FAST,
            )
        )
        stubber.assert_no_pending_responses()

    assert [e.event_id for e in got] == list("abcdefghij")
    assert [e.timestamp for e in got] == sorted(every)
    assert usage.splits == 1 and usage.queries == 5
    assert not [n for n in stats.notices if "more than one query" in n]


def test_a_second_over_the_cap_is_read_with_filter_log_events_and_said() -> None:
    cap = 3
    t = BASE_MS
    with stubbed() as (ctx, stubber):
        expect_query(stubber, "q1", BASE_S, BASE_S + 2, row_limit=cap)
        stubber.add_response(
            "get_query_results",
            results(
                "Complete", [row(t + 1, "x1", "p1"), row(t + 2, "x2", "p2"), row(t + 3, "x3", "p3")]
            ),
            {"queryId": "q1"},
        )
        # The first second alone fills the query: FilterLogEvents reads it (5 events).
        stubber.add_response(
            "filter_log_events",
            {
                "events": [
                    {
                        "logStreamName": "s",
                        "timestamp": t + i,
                        "message": f"x{i}",
                        "ingestionTime": t + 500,
                        "eventId": f"e{i}",
                    }
                    for i in range(1, 6)
                ],
                "searchedLogStreams": [],
            },
            {
                "logGroupName": "/aws/lambda/a",
                "interleaved": True,
                "startTime": t,
                "endTime": t + 999,
            },
        )
        expect_query(stubber, "q2", BASE_S + 1, BASE_S + 2, row_limit=cap)
        stubber.add_response(
            "get_query_results",
            results("Complete", [row(t + 1_500, "later", "p9")]),
            {"queryId": "q2"},
        )
        stats = FetchStats()

        got = list(
            read_window(
                ctx,
                lambda_queries("/aws/lambda/a"),
                t,
                t + 1_999,
                stats,
                row_limit=cap,
                concurrency=1,
                poll=FAST,
            )
        )
        stubber.assert_no_pending_responses()

    assert [e.message for e in got] == ["x1", "x2", "x3", "x4", "x5", "later"]
    second = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_S))
    assert (
        f"Logs Insights: 5 events in the second {second} of /aws/lambda/a are more than one query "
        "returns (3); that second was read with FilterLogEvents instead, nothing is left out"
    ) in stats.notices


def test_too_many_concurrent_queries_waits_and_retries() -> None:
    with stubbed() as (ctx, stubber):
        for _ in range(2):
            stubber.add_client_error(
                "start_query",
                "LimitExceededException",
                "Account maximum query concurrency limit of [30] reached.",
            )
        expect_query(stubber, "q1", BASE_S, BASE_S + 1)
        stubber.add_response(
            "get_query_results",
            results("Complete", [row(BASE_MS + 1, "ok", "p1")]),
            {"queryId": "q1"},
        )
        stats = FetchStats()
        usage = InsightsUsage()

        got = list(
            read_window(
                ctx,
                lambda_queries("/aws/lambda/a"),
                BASE_MS,
                BASE_MS + 999,
                stats,
                usage=usage,
                poll=FAST,
            )
        )
        stubber.assert_no_pending_responses()

    assert [e.message for e in got] == ["ok"]
    assert usage.limit_waits == 2
    assert any("concurrent query limit is reached; waiting" in n for n in stats.notices)


def test_stop_ends_the_read_within_a_second_and_stops_the_query() -> None:
    stop = threading.Event()
    with stubbed() as (ctx, stubber):
        expect_query(stubber, "q1", BASE_S, BASE_S + 1)
        for _ in range(3):
            stubber.add_response("get_query_results", results("Running", []), {"queryId": "q1"})
        stubber.add_response("stop_query", {"success": True}, {"queryId": "q1"})
        polls = []

        def count(**_: Any) -> None:
            polls.append(1)
            if len(polls) == 3:
                stop.set()
                stopped_at.append(time.monotonic())

        stopped_at: list[float] = []
        ctx.reader_client(REGION).meta.events.register("after-call.logs.GetQueryResults", count)
        usage = InsightsUsage()
        slow = PollSchedule(first_s=0.2, factor=1.0, max_s=0.2)

        got = list(
            read_window(
                ctx,
                lambda_queries("/aws/lambda/a"),
                BASE_MS,
                BASE_MS + 999,
                FetchStats(),
                stop=stop,
                usage=usage,
                poll=slow,
            )
        )
        ended = time.monotonic()
        stubber.assert_no_pending_responses()

    assert got == []
    assert ended - stopped_at[0] < 1.0
    assert usage.stopped == 1
    assert not [t for t in threading.enumerate() if t.name.startswith("insights")]


def test_closing_the_iterator_stops_running_queries() -> None:
    """A 2 h window runs as two queries at once; the consumer leaves after the first event, while
    the second query still runs: it is stopped."""
    t = BASE_MS
    with stubbed() as (ctx, stubber):
        any_query = {
            "logGroupNames": ["/aws/lambda/a"],
            "startTime": ANY,
            "endTime": ANY,
            "queryString": ANY,
        }
        # The Stubber answers in call order, and the two workers run at once: the hooks below fix
        # the order to q1 started, q1 complete, q2 started (and then stopped).
        stubber.add_response("start_query", {"queryId": "q1"}, any_query)
        stubber.add_response(
            "get_query_results",
            results("Complete", [row(t + 1, "first", "p1"), row(t + 2, "second", "p2")]),
            {"queryId": "q1"},
        )
        stubber.add_response("start_query", {"queryId": "q2"}, any_query)
        stubber.add_response("stop_query", {"success": True}, {"queryId": "q2"})
        first_polled, second_started = threading.Event(), threading.Event()

        def before_start(params: dict[str, Any], **_: Any) -> None:
            if params["startTime"] != BASE_S:
                first_polled.wait(2)

        def after_start(parsed: dict[str, Any], **_: Any) -> None:
            if parsed.get("queryId") == "q2":
                second_started.set()

        hooks = ctx.reader_client(REGION).meta.events
        hooks.register("provide-client-params.logs.StartQuery", before_start)
        hooks.register("after-call.logs.StartQuery", after_start)
        hooks.register("after-call.logs.GetQueryResults", lambda **_: first_polled.set())
        usage = InsightsUsage()
        slow = PollSchedule(first_s=0.3, factor=1.0, max_s=0.3)
        events = read_window(
            ctx,
            lambda_queries("/aws/lambda/a"),
            t,
            t + 2 * 3_600_000,
            FetchStats(),
            usage=usage,
            concurrency=2,
            poll=slow,
        )
        first = next(events)
        assert second_started.wait(2)
        events.close()
        stubber.assert_no_pending_responses()

    assert first.message == "first"
    assert usage.queries == 2 and usage.stopped == 1
    assert not [t for t in threading.enumerate() if t.name.startswith("insights")]


def test_a_failed_query_raises_and_a_timed_out_one_is_split() -> None:
    with stubbed() as (ctx, stubber):
        expect_query(stubber, "q1", BASE_S, BASE_S + 4)
        stubber.add_response("get_query_results", results("Timeout", []), {"queryId": "q1"})
        expect_query(stubber, "q2", BASE_S, BASE_S + 2)
        stubber.add_response(
            "get_query_results",
            results("Complete", [row(BASE_MS + 5, "early", "p1")]),
            {"queryId": "q2"},
        )
        expect_query(stubber, "q3", BASE_S + 2, BASE_S + 4)
        stubber.add_response("get_query_results", results("Failed", []), {"queryId": "q3"})
        stats = FetchStats()
        with pytest.raises(InsightsError, match="query q3 ended Failed"):
            list(
                read_window(
                    ctx,
                    lambda_queries("/aws/lambda/a"),
                    BASE_MS,
                    BASE_MS + 3_999,
                    stats,
                    concurrency=1,
                    poll=FAST,
                )
            )
        stubber.assert_no_pending_responses()
    assert isinstance(InsightsError("x"), ApilogsError)
    assert any("timed out; its range is read again in halves" in n for n in stats.notices)


@contextlib.contextmanager
def insights_endpoint(results_body: bytes) -> Iterator[str]:
    """A CloudWatch Logs endpoint on loopback that runs every query at once and answers
    GetQueryResults with `results_body`, as sent (bytes that are not UTF-8 included)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target", "")
            if target.endswith(".GetQueryResults"):
                body = results_body
            elif target.endswith(".StartQuery"):
                body = b'{"queryId": "q1"}'
            else:
                body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_query_results_that_are_not_utf8_are_read_and_said() -> None:
    """A GetQueryResults answer with a byte that is not UTF-8 (botocore would raise
    UnicodeDecodeError): the row holds U+FFFD there, the read goes on, and it is said once,
    naming the group — as FilterLogEvents pages are."""
    doc = results(
        "Complete",
        [row(BASE_MS + 10, "MARK bad", "p1"), row(BASE_MS + 20, "fine", "p2")],
    )
    body = json.dumps(doc).encode().replace(b"MARK", b"\xff")
    assert body.count(b"\xff") == 1
    with insights_endpoint(body) as url:
        stats = FetchStats()
        got = list(
            read_window(
                moto_ctx(url),
                lambda_queries("/aws/lambda/a"),
                BASE_MS,
                BASE_MS + 999,
                stats,
                poll=FAST,
            )
        )
    assert [e.message for e in got] == ["\ufffd bad", "fine"]
    told = [n for n in stats.notices if "not UTF-8" in n]
    assert told == [
        "/aws/lambda/a: 1 event held bytes that are not UTF-8 (1 byte shown as U+FFFD); "
        "the rest of each is as sent"
    ]


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2024-01-01 00:00:00.000", calendar.timegm((2024, 1, 1, 0, 0, 0)) * 1000),
        ("2024-02-29 23:59:59.999", calendar.timegm((2024, 2, 29, 23, 59, 59)) * 1000 + 999),
        ("2024-02-29 23:59:59.5", calendar.timegm((2024, 2, 29, 23, 59, 59)) * 1000 + 500),
        ("2024-02-29T23:59:59.123Z", calendar.timegm((2024, 2, 29, 23, 59, 59)) * 1000 + 123),
        ("1704067200123", 1704067200123),  # moto: epoch ms
    ],
)
def test_insights_timestamps(text: str, ms: int) -> None:
    assert parse_insights_time(text) == ms


def test_insights_timestamps_round_trip_and_reject_garbage() -> None:
    rng = random.Random(3)
    for _ in range(500):
        ms = rng.randrange(0, 4_102_444_800_000)
        assert parse_insights_time(aws_time(ms)) == ms
    with pytest.raises(ValueError, match="not an Insights timestamp"):
        parse_insights_time("yesterday")


# --- stats, server-side (Stubber only: moto ignores `stats`) ---


ACCESS_FORMAT = (
    '{"requestId":"$context.requestId","status":"$context.status","httpMethod":"$context.httpMethod",'
    '"resourcePath":"$context.resourcePath","responseLatency":$context.responseLatency,'
    '"integrationLatency":"$context.integrationLatency"}'
)


def stats_rows(*rows: dict[str, str]) -> list[list[dict[str, str]]]:
    return [[{"field": k, "value": v} for k, v in r.items()] for r in rows]


def test_stats_are_computed_server_side() -> None:
    sources = (
        Source(Role.ACCESS, "/access/shop", REGION, log_format=ACCESS_FORMAT),
        Source(
            Role.LAMBDA, "/aws/lambda/primes", REGION, function_name="primes", log_format="Text"
        ),
        Source(
            Role.AUTHORIZER, "/aws/lambda/auth", REGION, function_name="auth", log_format="JSON"
        ),
    )
    queries: list[str] = []
    with stubbed() as (ctx, stubber):
        canned = [
            stats_rows(
                {
                    "requests": "120",
                    "first": aws_time(BASE_MS + 5),
                    "last": aws_time(BASE_MS + 59_000),
                    "r50": "40",
                    "r90": "120.5",
                    "r99": "900",
                    "rmax": "1500",
                    "rn": "120",
                    "i50": "30",
                    "i90": "100",
                    "i99": "850",
                    "imax": "1450",
                    "in": "118",
                }
            ),
            stats_rows(
                {"status": "200", "n": "100"},
                {"status": "502", "n": "15"},
                {"status": "404", "n": "5"},
            ),
            stats_rows({"k0": "GET", "k1": "/primes", "n": "80", "p90": "130", "max": "1500"}),
            stats_rows(
                {
                    "@log": f"{ACCOUNT}:/aws/lambda/primes",
                    "invocations": "118",
                    "d50": "12.5",
                    "d90": "90",
                    "d99": "800",
                    "dmax": "1400",
                    "dn": "118",
                    "cold": "3",
                    "c50": "130.2",
                    "c90": "150",
                    "c99": "150",
                    "cmax": "150",
                    "cn": "3",
                }
            ),
            stats_rows(
                {
                    "@log": f"{ACCOUNT}:/aws/lambda/auth",
                    "invocations": "20",
                    "d50": "3",
                    "d90": "5",
                    "d99": "9",
                    "dmax": "9",
                    "dn": "20",
                    "cold": "0",
                    "cn": "0",
                }
            ),
        ]
        for n, rows in enumerate(canned):
            stubber.add_response(
                "start_query",
                {"queryId": f"s{n}"},
                {
                    "logGroupNames": ANY,
                    "startTime": BASE_S,
                    "endTime": BASE_S + 60,
                    "queryString": ANY,
                },
            )
            stubber.add_response(
                "get_query_results", results("Complete", rows, 1000.0), {"queryId": f"s{n}"}
            )

        def record(params: dict[str, Any], **_: Any) -> None:
            queries.append(params["queryString"])

        ctx.reader_client(REGION).meta.events.register(
            "provide-client-params.logs.StartQuery", record
        )
        usage = InsightsUsage()
        summary = stats_window(
            ctx,
            sources,
            BASE_MS,
            BASE_MS + 60_000,
            FetchStats(),
            usage=usage,
            concurrency=1,
            poll=FAST,
        )
        stubber.assert_no_pending_responses()

    assert summary is not None
    data = summary.to_dict()
    assert data["requests"] == 120
    assert data["by_status"] == {"200": 100, "404": 5, "502": 15}
    assert data["by_status_class"] == {"2xx": 100, "4xx": 5, "5xx": 15}
    assert data["response_latency_ms"] == {
        "p50": 40.0,
        "p90": 120.5,
        "p99": 900.0,
        "max": 1500.0,
        "count": 120,
    }
    assert data["integration_latency_ms"]["count"] == 118
    assert data["lambda_duration_ms"]["primes"]["p99"] == 800.0
    assert data["lambda_duration_ms"]["auth (auth)"]["count"] == 20
    assert data["cold_starts"] == {
        "primes": {
            "count": 3,
            "init_ms": {"p50": 130.2, "p90": 150.0, "p99": 150.0, "max": 150.0, "count": 3},
        }
    }
    assert data["slowest_routes"] == [
        {"route": "GET /primes", "count": 80, "p90_ms": 130.0, "max_ms": 1500.0}
    ]
    assert data["errors"] is None and data["engine"] == "insights"
    assert usage.bytes_scanned == 5000.0
    # The queries use the fields the stage's format names, and Lambda's REPORT fields.
    assert queries[1] == "stats count(*) as n by status as status"
    assert "pct(responseLatency, 99) as r99" in queries[0]
    assert queries[3].startswith('filter @type = "REPORT" | stats count(*) as invocations')
    assert "count(@initDuration) as cold" in queries[3] and queries[3].endswith("by @log")
    assert queries[4].startswith('filter type = "platform.report"')
    assert "pct(record.metrics.durationMs, 50) as d50" in queries[4]


def test_stats_say_what_a_non_json_access_log_cannot_give() -> None:
    sources = (
        Source(Role.ACCESS, "/access/clf", REGION, log_format="$context.requestId $context.status"),
    )
    with stubbed() as (ctx, _stubber):
        stats = FetchStats()
        summary = stats_window(ctx, sources, BASE_MS, BASE_MS + 1000, stats, poll=FAST)
    assert summary is not None and summary.requests == 0
    assert any("is not JSON" in n and "--engine filter" in n for n in stats.notices)
