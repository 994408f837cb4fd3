"""merge_sorted's own k-way merge (an input that stays ahead goes on without the heap) gives
what `heapq.merge(key=event_key)` gives, event for event, whatever the inputs: in order or
not, with equal keys in several inputs, exhausted at any point; and ties are sorted the same."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.fetch.merge import _merge, _sort_ties, event_key, merge_sorted
from apilogs.model import RawEvent, Role, Source

SOURCE = Source(role=Role.LAMBDA, log_group="/aws/lambda/fn", region="us-east-1")
_serial = itertools.count()


def ev(ts: int, group: str, stream: str, event_id: str) -> RawEvent:
    # A message of its own: identical keys stay told apart, so the order of those is checked too.
    return RawEvent(ts, ts, group, stream, event_id, f"m{next(_serial)}", SOURCE)


EVENT = st.builds(
    ev,
    ts=st.integers(0, 12),
    group=st.sampled_from(["g1", "g2"]),
    stream=st.sampled_from(["s1", "s2"]),
    event_id=st.sampled_from(["a", "b"]),
)
# Any order at all: the merge must match heapq's even for inputs that go back in time.
INPUTS = st.lists(st.lists(EVENT, max_size=25), max_size=6)


def _reference_sort_ties(events: Iterable[RawEvent]) -> Iterator[RawEvent]:
    """The tie sort as it was: every event through a list."""
    iterator = iter(events)
    first = next(iterator, None)
    if first is None:
        return
    run = [first]
    for event in iterator:
        if event.timestamp == run[0].timestamp:
            run.append(event)
            continue
        run.sort(key=event_key)
        yield from run
        run = [event]
    run.sort(key=event_key)
    yield from run


@settings(max_examples=400, deadline=None)
@given(INPUTS)
def test_the_merge_is_heapq_merge_event_for_event(inputs: list[list[RawEvent]]) -> None:
    expected = list(heapq.merge(*inputs, key=event_key))
    assert list(_merge([iter(i) for i in inputs])) == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_ties_are_sorted_as_before(events: list[RawEvent]) -> None:
    assert list(_sort_ties(events)) == list(_reference_sort_ties(events))


@settings(max_examples=300, deadline=None)
@given(INPUTS)
def test_merge_sorted_is_what_it_was(inputs: list[list[RawEvent]]) -> None:
    expected = list(heapq.merge(*(_reference_sort_ties(i) for i in inputs), key=event_key))
    assert list(merge_sorted(iter(i) for i in inputs)) == expected
