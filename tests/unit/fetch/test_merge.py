"""merge_sorted (search mode) and WatermarkMerge (follow mode)."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.fetch.merge import (
    DEFAULT_MAX_HOLD_MS,
    EventKey,
    Released,
    WatermarkMerge,
    event_key,
    merge_sorted,
)
from apilogs.model import RawEvent, Role, Source

SOURCE = Source(role=Role.LAMBDA, log_group="/aws/lambda/fn", region="us-east-1")
_ids = itertools.count()


def ev(
    ts: int, group: str = "g", stream: str = "s", event_id: str | None = None, message: str = ""
) -> RawEvent:
    return RawEvent(
        timestamp=ts,
        ingestion_time=ts + 100,
        group=group,
        stream=stream,
        event_id=event_id if event_id is not None else f"{next(_ids):08d}",
        message=message,
        source=SOURCE,
    )


def keys(events: list[RawEvent]) -> list[EventKey]:
    return [event_key(e) for e in events]


# --- merge_sorted ---


def test_event_key_is_the_documented_order() -> None:
    e = ev(5, "grp", "str", "id")
    assert event_key(e) == (5, "grp", "str", "id")


def test_merge_of_nothing() -> None:
    assert list(merge_sorted([])) == []
    assert list(merge_sorted([[], []])) == []


def test_merge_interleaves_by_time_then_group() -> None:
    a = [ev(1, "a"), ev(3, "a"), ev(5, "a")]
    b = [ev(2, "b"), ev(3, "b"), ev(4, "b")]
    assert [(e.timestamp, e.group) for e in merge_sorted([b, a])] == [
        (1, "a"),
        (2, "b"),
        (3, "a"),
        (3, "b"),
        (4, "b"),
        (5, "a"),
    ]


def test_ties_within_one_input_are_sorted_by_stream_and_id() -> None:
    # FilterLogEvents orders a group by time only: one millisecond's events from several log
    # streams may come in any order. The output must not depend on that order.
    one = [ev(1000, "g", "s2", "b"), ev(1000, "g", "s1", "z"), ev(1000, "g", "s1", "a"), ev(1001)]
    assert [(e.stream, e.event_id) for e in merge_sorted([one])][:3] == [
        ("s1", "a"),
        ("s1", "z"),
        ("s2", "b"),
    ]


def test_identical_keys_keep_input_order() -> None:
    first = ev(1, "g", "s", "x", message="first input")
    second = ev(1, "g", "s", "x", message="second input")
    again = ev(1, "g", "s", "x", message="first input, read again")
    merged = list(merge_sorted([[first, again], [second]]))
    assert [e.message for e in merged] == ["first input", "first input, read again", "second input"]


def test_out_of_order_input_is_not_dropped() -> None:
    odd = [ev(5), ev(3), ev(7)]
    four = ev(4)
    merged = list(merge_sorted([odd, [four]]))
    assert Counter(merged) == Counter([*odd, four])


def test_merge_is_lazy() -> None:
    pulled = Counter[str]()

    def endless(name: str) -> Iterator[RawEvent]:
        for ts in itertools.count():
            pulled[name] += 1
            yield ev(ts * 10, name)

    first = list(itertools.islice(merge_sorted([endless("a"), endless("b")]), 10))
    assert [e.timestamp for e in first] == [0, 0, 10, 10, 20, 20, 30, 30, 40, 40]
    # Each input is read a couple of events ahead (one tie run plus one), never to the end.
    assert max(pulled.values()) <= 8


def _timestamp_sorted_streams() -> st.SearchStrategy[list[list[RawEvent]]]:
    """Streams ascending by timestamp only, ties in a random order (as CloudWatch may give)."""
    event = st.builds(
        ev,
        ts=st.integers(0, 30),
        group=st.sampled_from(["g1", "g2"]),
        stream=st.sampled_from(["s1", "s2", "s3"]),
    )

    def order(events: list[RawEvent], seed: int) -> list[RawEvent]:
        random.Random(seed).shuffle(events)
        return sorted(events, key=lambda e: e.timestamp)  # stable: shuffled within ties

    stream = st.builds(order, st.lists(event, max_size=30), st.integers(0, 2**32))
    return st.lists(stream, max_size=6)


@settings(max_examples=300, deadline=None)
@given(_timestamp_sorted_streams())
def test_merge_equals_sorting_everything(streams: list[list[RawEvent]]) -> None:
    everything = [e for stream in streams for e in stream]
    merged = list(merge_sorted(iter(s) for s in streams))
    assert keys(merged) == sorted(keys(everything))
    assert Counter(merged) == Counter(everything)


@settings(max_examples=100, deadline=None)
@given(_timestamp_sorted_streams(), st.randoms(use_true_random=False))
def test_merge_ignores_tie_order_and_stream_order(
    streams: list[list[RawEvent]], rnd: random.Random
) -> None:
    # Same events, ties reshuffled and inputs permuted: same output, event for event.
    reshuffled = []
    for stream in streams:
        copy = list(stream)
        rnd.shuffle(copy)
        reshuffled.append(sorted(copy, key=lambda e: e.timestamp))
    rnd.shuffle(reshuffled)
    assert list(merge_sorted(streams)) == list(merge_sorted(reshuffled))


# --- WatermarkMerge: examples ---


def events_of(released: list[Released]) -> list[int]:
    return [r.event.timestamp for r in released]


def test_nothing_goes_out_before_every_source_has_read_past_it() -> None:
    merge = WatermarkMerge(max_hold_ms=None)
    merge.push("A", [ev(100, "A"), ev(200, "A")], 250, now_ms=0)
    # A is the only source so far: its own mark rules.
    assert events_of(merge.pop_ready(now_ms=0)) == [100, 200]
    merge.register("B")
    merge.push("A", [ev(300, "A")], 400, now_ms=0)
    assert merge.pop_ready(now_ms=0) == []  # B never read: it could still hold anything
    assert merge.waiting_on() == ["B"]
    merge.push("B", [ev(150, "B"), ev(350, "B"), ev(450, "B")], 380, now_ms=0)
    # 150 sorts before the already released 200: late. 300 and 350 are final (≤ 380).
    out = merge.pop_ready(now_ms=0)
    assert [(r.event.timestamp, r.late) for r in out] == [(150, True), (300, False), (350, False)]
    assert merge.watermark_ms == 380
    assert merge.waiting_on() == ["B"]
    assert len(merge) == 1
    assert [(r.event.timestamp, r.late) for r in merge.flush()] == [(450, False)]
    assert len(merge) == 0


def test_registered_sources_hold_back_until_read() -> None:
    merge = WatermarkMerge(["A", "B"], max_hold_ms=None)
    assert merge.sources == ("A", "B")
    assert merge.watermark_ms is None
    merge.push("A", [ev(10, "A")], 100, now_ms=0)
    assert merge.pop_ready(now_ms=10**9) == []
    merge.push("B", [], 50, now_ms=0)  # an empty poll still moves the mark
    assert events_of(merge.pop_ready(now_ms=0)) == [10]


def test_the_watermark_is_inclusive() -> None:
    merge = WatermarkMerge(["A"], max_hold_ms=None)
    merge.push("A", [ev(100), ev(101)], 100, now_ms=0)
    assert events_of(merge.pop_ready(now_ms=0)) == [100]


def test_release_is_in_key_order_across_sources() -> None:
    merge = WatermarkMerge(["B", "A"], max_hold_ms=None)
    merge.push("B", [ev(5, "b", "s", "1"), ev(7, "b")], 10, now_ms=0)
    merge.push("A", [ev(5, "a", "s", "9"), ev(6, "a")], 10, now_ms=0)
    out = merge.pop_ready(now_ms=0)
    assert [(r.event.timestamp, r.event.group) for r in out] == [
        (5, "a"),
        (5, "b"),
        (6, "a"),
        (7, "b"),
    ]
    assert not any(r.late for r in out)


def test_a_silent_source_is_given_up_on_after_max_hold() -> None:
    merge = WatermarkMerge(["A", "slow"], max_hold_ms=5_000)
    merge.push("A", [ev(100, "A")], 1_000, now_ms=10_000)
    merge.push("A", [ev(900, "A")], 2_000, now_ms=12_000)
    assert merge.pop_ready(now_ms=14_999) == []
    # The first push has waited 5 s: it goes, and only it (the second has waited 3 s).
    assert events_of(merge.pop_ready(now_ms=15_000)) == [100]
    assert events_of(merge.pop_ready(now_ms=17_000)) == [900]
    # The slow source finally answers with something older than what went out: late, not lost.
    merge.push("slow", [ev(500, "slow"), ev(1_500, "slow")], 2_000, now_ms=18_000)
    out = merge.pop_ready(now_ms=18_000)
    assert [(r.event.timestamp, r.late) for r in out] == [(500, True), (1_500, False)]


def test_max_hold_releases_everything_ordered_before_the_expired_event() -> None:
    merge = WatermarkMerge(["A", "B", "silent"], max_hold_ms=1_000)
    merge.push("A", [ev(50, "A"), ev(300, "A")], 300, now_ms=0)
    merge.push("B", [ev(100, "B"), ev(400, "B")], 400, now_ms=900)
    # A's push expires at 1000 and lets out up to its largest key (300): that takes B's 100 too,
    # so nothing released later can come before it. B's 400 waits for its own budget.
    assert events_of(merge.pop_ready(now_ms=1_000)) == [50, 100, 300]
    assert events_of(merge.pop_ready(now_ms=1_900)) == [400]


def test_default_max_hold_is_used() -> None:
    merge = WatermarkMerge(["A", "silent"])
    merge.push("A", [ev(1, "A")], 10, now_ms=0)
    assert merge.pop_ready(now_ms=DEFAULT_MAX_HOLD_MS - 1) == []
    assert events_of(merge.pop_ready(now_ms=DEFAULT_MAX_HOLD_MS)) == [1]


def test_default_clock_is_monotonic_milliseconds() -> None:
    merge = WatermarkMerge(["A", "silent"], max_hold_ms=0)
    merge.push("A", [ev(1, "A")], 10)
    assert events_of(merge.pop_ready()) == [1]


def test_late_event_goes_out_on_the_next_pop_even_while_blocked() -> None:
    merge = WatermarkMerge(["A"], max_hold_ms=None)
    merge.push("A", [ev(100, "A")], 100, now_ms=0)
    assert events_of(merge.pop_ready(now_ms=0)) == [100]
    merge.register("B")  # now blocked on B...
    merge.push("A", [ev(50, "A"), ev(150, "A")], 150, now_ms=0)
    # ...but 50 can never be in order again: holding it would only delay it.
    assert [(r.event.timestamp, r.late) for r in merge.pop_ready(now_ms=0)] == [(50, True)]
    assert len(merge) == 1


def test_same_event_pushed_twice() -> None:
    merge = WatermarkMerge(["A"], max_hold_ms=None)
    same = ev(100, "A", "s", "x")
    merge.push("A", [same, same], 50, now_ms=0)
    merge.push("A", [same, ev(120, "A")], 200, now_ms=0)
    out = merge.pop_ready(now_ms=0)
    assert [r.event for r in out][:3] == [same, same, same]
    assert not any(r.late for r in out)
    # Again after later events went out: it now sorts before them, so it is late.
    merge.push("A", [same], 200, now_ms=0)
    assert merge.pop_ready(now_ms=0) == [Released(same, late=True)]


def test_a_mark_never_moves_back() -> None:
    merge = WatermarkMerge(["A"], max_hold_ms=None)
    merge.push("A", [], 500, now_ms=0)
    merge.push("A", [ev(400, "A")], 100, now_ms=0)  # overlapping poll window
    assert merge.watermark_ms == 500
    assert events_of(merge.pop_ready(now_ms=0)) == [400]


def test_unregister_stops_waiting() -> None:
    merge = WatermarkMerge(["A", "gone"], max_hold_ms=None)
    merge.push("A", [ev(1, "A")], 10, now_ms=0)
    assert merge.pop_ready(now_ms=0) == []
    merge.unregister("gone")
    merge.unregister("never-known")
    assert events_of(merge.pop_ready(now_ms=0)) == [1]
    merge.push("A", [ev(20, "A")], 15, now_ms=0)
    merge.unregister("A")  # nobody left to wait for: all of it is final
    assert merge.watermark_ms is None
    assert events_of(merge.pop_ready(now_ms=0)) == [20]


def test_flush_releases_everything_in_order() -> None:
    merge = WatermarkMerge(["A", "B"], max_hold_ms=None)
    merge.push("A", [ev(3, "A"), ev(1, "A")], 0, now_ms=0)
    merge.push("B", [ev(2, "B")], 0, now_ms=0)
    assert events_of(merge.flush()) == [1, 2, 3]
    assert merge.flush() == [] and merge.pop_ready(now_ms=0) == []


def test_released_unpacks() -> None:
    merge = WatermarkMerge(["A"], max_hold_ms=None)
    merge.push("A", [ev(1)], 1, now_ms=0)
    for event, late in merge.pop_ready(now_ms=0):
        assert event.timestamp == 1 and late is False


# --- WatermarkMerge: properties ---


# ("push", source, how many events this poll returns, a mark for dishonest sources, push twice)
# or ("pop", clock advance in ms).
Step = tuple[str, str, int, int, bool] | tuple[str, int]


@st.composite
def follow_scenario(draw: st.DrawFn) -> tuple[dict[str, list[RawEvent]], list[Step]]:
    """Per-source event lists (ascending by time, ties possible) and a schedule of steps."""
    names = [f"src{i}" for i in range(draw(st.integers(1, 4)))]
    per_source = {
        name: sorted(
            draw(st.lists(st.builds(ev, ts=st.integers(0, 60), group=st.just(name)), max_size=20)),
            key=event_key,
        )
        for name in names
    }
    steps = draw(
        st.lists(
            st.one_of(
                st.tuples(
                    st.just("push"),
                    st.sampled_from(names),
                    st.integers(0, 5),  # how many events this poll returns
                    st.integers(0, 70),  # a mark for dishonest sources
                    st.booleans(),  # also push that batch a second time
                ),
                st.tuples(st.just("pop"), st.integers(0, 3_000)),  # clock advance
            ),
            max_size=40,
        )
    )
    return per_source, steps


def run_scenario(
    per_source: dict[str, list[RawEvent]],
    steps: list[Step],
    *,
    honest: bool,
    max_hold_ms: int | None,
) -> tuple[list[Released], list[RawEvent], WatermarkMerge]:
    merge = WatermarkMerge(per_source, max_hold_ms=max_hold_ms)
    cursor = dict.fromkeys(per_source, 0)
    pushed: list[RawEvent] = []
    pushed_at: dict[int, int] = {}  # id(event) → clock at its (first) push
    released: list[Released] = []
    now = 0
    for step in steps:
        if len(step) == 2:
            now += step[1]
            released += merge.pop_ready(now_ms=now)
            if max_hold_ms is not None:
                # Nothing pushed max_hold_ms ago or earlier may still be held.
                out = {id(r.event) for r in released}
                overdue = [e for e in pushed if pushed_at[id(e)] <= now - max_hold_ms]
                assert all(id(e) in out for e in overdue)
            continue
        _, name, count, dishonest_mark, duplicate = step
        events = per_source[name]
        batch = events[cursor[name] : cursor[name] + count]
        cursor[name] += len(batch)
        if honest:
            # Everything at or below the mark has been pushed: stop just before the next event.
            rest = events[cursor[name] :]
            mark = rest[0].timestamp - 1 if rest else 10_000
        else:
            mark = dishonest_mark
        batches = [batch, batch] if duplicate else [batch]
        for b in batches:
            merge.push(name, b, mark, now_ms=now)
            pushed += b
            for e in b:
                pushed_at.setdefault(id(e), now)
    released += merge.flush()
    return released, pushed, merge


def assert_release_invariants(released: list[Released], pushed: list[RawEvent]) -> None:
    # Nothing lost, nothing invented (duplicates counted).
    assert Counter(r.event for r in released) == Counter(pushed)
    # Out of order only when flagged, and flagged exactly when out of order.
    high: EventKey | None = None
    for r in released:
        key = event_key(r.event)
        assert r.late == (high is not None and key < high)
        if high is None or key > high:
            high = key


@settings(max_examples=300, deadline=None)
@given(follow_scenario(), st.sampled_from([None, 0, 1_000, 5_000]), st.booleans())
def test_watermark_never_loses_and_flags_every_disorder(
    scenario: tuple[dict[str, list[RawEvent]], list[Step]],
    max_hold_ms: int | None,
    honest: bool,
) -> None:
    per_source, steps = scenario
    released, pushed, merge = run_scenario(
        per_source, steps, honest=honest, max_hold_ms=max_hold_ms
    )
    assert_release_invariants(released, pushed)
    assert len(merge) == 0


@settings(max_examples=300, deadline=None)
@given(follow_scenario())
def test_honest_sources_without_hold_budget_give_perfect_order(
    scenario: tuple[dict[str, list[RawEvent]], list[Step]],
) -> None:
    per_source, steps = scenario
    released, pushed, _ = run_scenario(per_source, steps, honest=True, max_hold_ms=None)
    assert not any(r.late for r in released)
    assert keys([r.event for r in released]) == sorted(keys(pushed))


@settings(max_examples=200, deadline=None)
@given(follow_scenario())
def test_everything_read_everywhere_is_released_without_flush(
    scenario: tuple[dict[str, list[RawEvent]], list[Step]],
) -> None:
    per_source, _ = scenario
    merge = WatermarkMerge(per_source, max_hold_ms=None)
    for name, events in per_source.items():
        merge.push(name, events, 60, now_ms=0)  # every timestamp drawn is ≤ 60
    out = merge.pop_ready(now_ms=0)
    assert len(merge) == 0
    assert [r.event for r in out] == sorted(
        (e for events in per_source.values() for e in events), key=event_key
    )


@pytest.mark.parametrize("max_hold_ms", [None, 1_000])
def test_held_memory_is_only_held_events(max_hold_ms: int | None) -> None:
    merge = WatermarkMerge(["A"], max_hold_ms=max_hold_ms)
    for ts in range(10_000):
        merge.push("A", [ev(ts, "A")], ts, now_ms=ts)
        merge.pop_ready(now_ms=ts)
    assert len(merge) == 0
    assert len(merge._pushes) == 0  # once nothing is held, no push records are kept either
