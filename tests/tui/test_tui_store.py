"""What the TUI holds: requests updated in place by key, capped with a count of what was dropped;
the order a view shows; every line with its screen lines, capped too. Pure, no Textual."""

from __future__ import annotations

import random
from dataclasses import replace

from apilogs.model import (
    Invocation,
    LogEvent,
    Outcome,
    RawEvent,
    Request,
    RequestUpdate,
    Role,
    Source,
    UpdateKind,
)
from apilogs.tui.query import parse_query
from apilogs.tui.store import (
    EventLog,
    Histogram,
    RequestIndex,
    RequestStore,
    Sort,
    build_entries,
    nice_bucket_ms,
)

SRC = Source(Role.EXECUTION, "exec", "us-east-1")


def req(n: int, **kw: object) -> Request:
    base = Request(
        request_id=f"{n:08d}-0000-4000-8000-000000000000",
        start_ms=1_000 * n,
        end_ms=1_000 * n + 50,
        outcome=Outcome.OK,
        cause="ok",
        status=200,
        response_latency_ms=10 * n,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def up(kind: UpdateKind, r: Request) -> RequestUpdate:
    return RequestUpdate(kind, r)


def store(cap: int = 100) -> RequestStore:
    return RequestStore(cap, Histogram(0, 1_000))


def test_a_request_appears_when_new_and_is_updated_in_place() -> None:
    s = store()
    first = s.apply([up(UpdateKind.NEW, req(1, status=None, in_progress=True))])
    assert first.new == (req(1).request_id,) and not first.changed
    assert s.counts.in_progress == 1 and s.counts.requests == 1
    done = s.apply([up(UpdateKind.CLOSED, req(1, status=502, outcome=Outcome.SERVER_ERROR))])
    assert done.changed == (req(1).request_id,) and not done.new
    assert len(s) == 1 and s.requests[req(1).request_id or ""].status == 502
    assert (s.counts.requests, s.counts.server_errors, s.counts.in_progress) == (1, 1, 0)


def test_new_then_closed_in_one_batch_is_one_new_row() -> None:
    s = store()
    change = s.apply([up(UpdateKind.NEW, req(1)), up(UpdateKind.CLOSED, req(1))])
    assert change.new == (req(1).request_id,) and change.changed == ()


def test_counts_follow_a_status_that_changes() -> None:
    s = store()
    s.apply([up(UpdateKind.NEW, req(1, status=404))])
    assert (s.counts.client_errors, s.counts.server_errors) == (1, 0)
    s.apply([up(UpdateKind.UPDATED, req(1, status=504))])
    assert (s.counts.client_errors, s.counts.server_errors) == (0, 1)
    cold = (Invocation("l", Role.LAMBDA, "f", init_ms=100.0),)
    s.apply([up(UpdateKind.UPDATED, req(1, status=504, invocations=cold))])
    assert s.counts.cold_starts == 1 and s.counts.requests == 1


def test_orphan_lambda_invocations_are_not_rows() -> None:
    s = store()
    change = s.apply([up(UpdateKind.NEW, req(1, request_id=None, status=None))])
    assert change.new == () and len(s) == 0


def test_the_cap_drops_the_oldest_counts_them_and_keeps_them_dropped() -> None:
    s = store(cap=100)
    dropped: list[str] = []
    for n in range(250):
        dropped += s.apply([up(UpdateKind.NEW, req(n))]).dropped
    assert len(s) <= 100
    assert s.dropped == len(dropped) == 250 - len(s)
    assert s.counts.requests == 250  # the header counts the window, not what is kept
    assert req(0).request_id in dropped and req(249).request_id in s.requests
    # A late line for a dropped request does not bring it back as a new row.
    late = s.apply([up(UpdateKind.UPDATED, req(0, status=500))])
    assert late.new == () and req(0).request_id not in s.requests


def test_by_id_finds_a_request_by_any_of_its_ids() -> None:
    s = store()
    r = req(1, lambda_request_ids=("l-1",), trace_id="1-abc-def")
    s.apply([up(UpdateKind.NEW, r)])
    assert s.by_id["l-1"] == s.by_id["1-abc-def"] == r.request_id


def test_index_keeps_time_order_filters_and_moves_rows_in_place() -> None:
    index = RequestIndex()
    wanted = parse_query("status:5xx")
    rows = [req(n, status=500 if n % 3 == 0 else 200) for n in range(30)]
    random.Random(1).shuffle(rows)
    for seq, r in enumerate(rows):
        index.put(r.request_id or "", seq, r, wanted(r))
    assert index.keys() == [req(n).request_id for n in range(0, 30, 3)]
    # Its status became 200: hidden; then 502: back in its place (by start time).
    three = req(3).request_id or ""
    assert index.put(three, 0, req(3, status=200), False)
    assert three not in index
    index.put(three, 0, req(3, status=502), True)
    assert index.keys()[1] == three and index.position(three) == 1


def test_index_by_latency_is_slowest_first_and_rebuild_matches_incremental() -> None:
    rows = [req(n, response_latency_ms=(n * 37) % 101) for n in range(50)]
    keep = parse_query("")
    built = build_entries(
        ((r.request_id or "", n, r) for n, r in enumerate(rows)), keep, Sort.LATENCY
    )
    index = RequestIndex(sort=Sort.LATENCY)
    for n, r in enumerate(rows):
        index.put(r.request_id or "", n, r, True)
    assert [e[2] for e in built] == index.keys()
    latencies = [
        next(r for r in rows if r.request_id == k).response_latency_ms
        for k in index.keys()  # noqa: SIM118
    ]
    assert latencies == sorted(latencies, reverse=True)
    index.remove_many(index.keys()[:10])
    assert len(index) == 40


def test_event_log_locates_lines_of_multi_line_events_and_trims_in_chunks() -> None:
    log = EventLog(max_lines=100)

    def event(n: int, lines: int) -> LogEvent:
        message = "\n".join(f"line {n}.{i}" for i in range(lines)) + "\n"
        return LogEvent(RawEvent(n, n, "g", "s", str(n), message, SRC))

    log.extend([(event(0, 1), False), (event(1, 3), True), (event(2, 1), False)])
    assert log.lines == 5
    assert [log.locate(y) for y in range(5)] == [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0)]
    assert log.locate(5) is None and log.is_late(1) and not log.is_late(0)
    dropped = log.extend((event(n, 2), False) for n in range(3, 120))
    assert dropped and len(log) <= 100 and log.dropped == dropped
    first = log.events[0].raw.timestamp
    assert log.locate(0) == (0, 0) and log.first_line(1) == 2
    assert log.events[log.locate(log.lines - 1)[0]].raw.timestamp == 119  # type: ignore[index]
    assert first == 120 - len(log)


def test_histogram_series_covers_the_window() -> None:
    h = Histogram(0, 1_000)
    for second in range(60):
        h.add(h.bucket(second * 1_000), 1, int(second >= 30))
    requests, errors = h.series(30, 60_000)
    assert sum(requests) == 60 and sum(errors) == 30
    assert errors[:15] == [0] * 15 and all(e == 2 for e in errors[15:30])
    assert nice_bucket_ms(300_000) == 1_000 and nice_bucket_ms(86_400_000) == 300_000
