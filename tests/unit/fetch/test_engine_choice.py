"""`--engine auto`: a pure choice from the window's length, the groups' stored bytes and the
endpoint; and Logs Insights that answers nothing where FilterLogEvents finds lines."""

from __future__ import annotations

import time

from botocore.stub import Stubber

from apilogs.fetch.auto import choose_engine, estimate_window_bytes
from apilogs.fetch.engines import AUTO_INSIGHTS, INSIGHTS, Reading
from apilogs.model import Role, Source
from tests.support.builders import make_log_group, put_event

HOUR = 3_600_000
GB = 2**30


def group(name: str, stored: int | None, retention: int | None = 30) -> Source:
    return Source(Role.LAMBDA, name, "us-east-1", stored_bytes=stored, retention_days=retention)


def test_a_short_window_is_read_with_filter_log_events_whatever_the_size() -> None:
    choice = choose_engine([group("/a", 500 * GB)], 0, 4 * 60_000)
    assert choice.engine == "filter"
    assert choice.reason == "engine auto: FilterLogEvents (a 4 min window is read quickly)"


def test_a_long_window_goes_to_insights_with_the_estimated_scan_and_cost() -> None:
    choice = choose_engine([group("/a", 30 * GB, 30), group("/b", None)], 0, 7 * 24 * HOUR)
    assert choice.engine == "insights"
    # 30 GB over 30 days of retention: 7 GB in a week.
    assert choice.estimated_bytes == 7 * GB
    assert choice.reason.startswith("engine auto: Logs Insights (a 7.0 days window, est. 7.0 GB")
    assert "$0.0350" in choice.reason and "list price" in choice.reason


def test_a_window_too_big_for_filter_log_events_goes_to_insights() -> None:
    # 300 GB over 30 days: ~427 MB an hour, ~85 s at 5 requests/s of 1 MB pages.
    choice = choose_engine([group("/a", 300 * GB)], 0, HOUR)
    assert choice.engine == "insights"
    assert choice.reason == (
        "engine auto: Logs Insights (~426.7 MB in the window would take FilterLogEvents ~85 s "
        "at 5 requests/s; scanning it costs ~$0.0021 at the us-east-1 list price)"
    )
    # Twice the rate: ~43 s, under the minute: FilterLogEvents.
    assert choose_engine([group("/a", 300 * GB)], 0, HOUR, rps=10).engine == "filter"


def test_small_groups_and_unknown_sizes_stay_with_filter_log_events() -> None:
    choice = choose_engine([group("/a", 2 * GB)], 0, HOUR)
    assert choice.engine == "filter"
    assert choice.reason == "engine auto: FilterLogEvents (~2.8 MB in a 1.0 h window)"
    unknown = choose_engine([group("/a", None)], 0, 2 * HOUR)
    assert (unknown.engine, unknown.estimated_bytes) == ("filter", None)
    assert unknown.reason == "engine auto: FilterLogEvents (a 2.0 h window)"
    assert choose_engine([group("/a", 900 * GB)], 0, 10 * HOUR, rps=0).engine == "filter"


def test_the_estimate_never_exceeds_what_a_group_holds_and_counts_a_group_once() -> None:
    never_expire = group("/a", 10 * GB, retention=None)
    assert estimate_window_bytes([never_expire], 90 * 24 * HOUR) == 10 * GB
    shared = [group("/a", 3 * GB, 3), group("/a", 3 * GB, 3)]  # two functions, one group
    assert estimate_window_bytes(shared, 24 * HOUR) == 1 * GB


def test_an_emulator_keeps_filter_log_events_and_aws_hosts_do_not() -> None:
    sources = [group("/aws/lambda/a", 10 * GB)]
    long_window = (0, 12 * HOUR)
    emulator = choose_engine(sources, *long_window, endpoint_url="http://127.0.0.1:4566")
    assert emulator.engine == "filter"
    assert "http://127.0.0.1:4566 is not AWS: Logs Insights is not assumed" in emulator.reason
    for aws in ("https://logs.us-east-1.amazonaws.com", "https://logs.cn-north-1.amazonaws.com.cn"):
        assert choose_engine(sources, *long_window, endpoint_url=aws).engine == "insights"
    assert choose_engine(sources, *long_window).engine == "insights"


def _reading(endpoint: str, start_ms: int, end_ms: int) -> Reading:
    """A window under 15 minutes: one Insights query, which a Stubber can answer in order."""
    from apilogs.aws import make_context
    from apilogs.fetch import FetchStats, queries_for

    ctx = make_context(region="us-east-1", endpoint_url=endpoint, max_rps=0)
    queries = queries_for([Source(Role.LAMBDA, "/aws/lambda/a", "us-east-1")])
    return Reading(ctx, queries, start_ms, end_ms, FetchStats())


def _empty_insights_then_a_page(stub: Stubber, start_ms: int, events: list[dict]) -> None:
    stub.add_response("start_query", {"queryId": "q1"})
    stub.add_response(
        "get_query_results",
        {"status": "Complete", "results": [], "statistics": {"recordsMatched": 0.0}},
    )
    if events:
        stub.add_response("filter_log_events", {"events": events, "searchedLogStreams": []})


def test_insights_that_finds_nothing_where_filter_log_events_finds_lines_gives_way(
    endpoint: str, client
) -> None:
    """Insights answering nothing (stubbed: moto cannot show it) while one FilterLogEvents call to
    the server finds a line: the engine auto chose reads with FilterLogEvents and says so; the
    one asked for by name only says its answer may be wrong."""
    now = int(time.time() * 1000)
    make_log_group(client, "/aws/lambda/a")
    put_event(client, "/aws/lambda/a", "s", now - 60_000, "START RequestId: r1")
    reading = _reading(endpoint, now - 10 * 60_000, now)
    line = {"logStreamName": "s", "timestamp": now - 60_000, "message": "START RequestId: r1"}
    line |= {"ingestionTime": now, "eventId": "e1"}
    with Stubber(reading.ctx.reader_client("us-east-1")) as stub:
        _empty_insights_then_a_page(stub, reading.start_ms, [line])
        got = [e.message for e in AUTO_INSIGHTS.read(reading)]
    assert got == ["START RequestId: r1"]
    assert (
        "Logs Insights found no lines, but FilterLogEvents finds lines in /aws/lambda/a in the "
        "window: read with FilterLogEvents instead"
    ) in reading.stats.notices
    asked = _reading(endpoint, now - 10 * 60_000, now)
    with Stubber(asked.ctx.reader_client("us-east-1")) as stub:
        _empty_insights_then_a_page(stub, asked.start_ms, [])
        assert list(INSIGHTS.read(asked)) == []
    assert not any("FilterLogEvents instead" in n for n in asked.stats.notices)
    assert (
        "Logs Insights found no lines, but FilterLogEvents finds lines in /aws/lambda/a in the "
        "window: the result may be wrong (try --engine filter)"
    ) in asked.stats.notices


def test_insights_that_finds_nothing_in_an_empty_window_is_believed(endpoint: str, client) -> None:
    now = int(time.time() * 1000)
    make_log_group(client, "/aws/lambda/a")
    reading = _reading(endpoint, now - 10 * 60_000, now)
    with Stubber(reading.ctx.reader_client("us-east-1")) as stub:
        _empty_insights_then_a_page(stub, reading.start_ms, [])
        assert list(AUTO_INSIGHTS.read(reading)) == []
    assert not any("FilterLogEvents" in n for n in reading.stats.notices)
