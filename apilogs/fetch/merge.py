"""N time-ordered event streams → one.

Two shapes, one order. Both emit events by `event_key`: (timestamp, group, stream, event_id).
Timestamp first because that is what people read; group/stream/event_id only break ties, so that
the same input always gives the same output (stable screenshots, diffable JSON, reproducible tests).

- `merge_sorted` is for a finished window (search mode): a lazy k-way merge.
- `WatermarkMerge` is for follow mode, where sources are polled one at a time and each poll
  returns only what arrived since the last one: an event may be emitted only once every source
  has been read past its timestamp, or something older could still turn up from a slower source.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from apilogs.model import RawEvent

__all__ = [
    "DEFAULT_MAX_HOLD_MS",
    "EventKey",
    "Released",
    "WatermarkMerge",
    "arrived",
    "event_key",
    "merge_sorted",
]

EventKey = tuple[int, str, str, str]

#: The total order of events: (timestamp, group, stream, event_id). attrgetter runs in C, and the
#: key is computed for every event of every merge.
event_key: Callable[[RawEvent], EventKey] = attrgetter("timestamp", "group", "stream", "event_id")


# --- search mode ---


def merge_sorted(streams: Iterable[Iterable[RawEvent]]) -> Iterator[RawEvent]:
    """Lazily merge streams that are each ascending by timestamp into one stream in `event_key`
    order.

    Only the timestamp order of each input is assumed (FilterLogEvents guarantees no more: within
    one millisecond, events of different log streams come in no promised order). Each input's runs
    of equal timestamps are sorted by the full key before they enter the merge, so the output is
    exactly ``sorted(all events, key=event_key)``: the order never depends on how CloudWatch
    interleaved a millisecond's events, or on which input an event came from. The cost is holding
    one millisecond's worth of events per input, never a whole stream.

    Events with equal full keys (the same event read twice) come out in input order: the stream
    that comes first in `streams` first, and within one stream as they were read.

    An input that goes back in time is not an error (a log viewer must not die on odd data), but
    its events then come out where it put them: the merge cannot reorder what it has not seen."""
    # The inputs are taken now, as `heapq.merge(*inputs)` takes them.
    return _merge([_sort_ties(stream) for stream in streams])


# A head of `_merge`'s heap: [its key, its input's place, the event, the input].
_Head = list[Any]


def _merge(inputs: list[Iterator[RawEvent]]) -> Iterator[RawEvent]:
    """`heapq.merge(*inputs, key=event_key)`, event for event (equal keys: the earlier input
    first), with less work per event: an input whose next event still comes before every
    other input's head goes on without the heap. One group's lines come in runs (a request's
    execution lines, an invocation's), so most events skip it."""
    key = event_key
    heap: list[_Head] = []
    for order, events in enumerate(inputs):
        try:
            value = next(events)
        except StopIteration:
            continue
        heap.append([key(value), order, value, events])
    heapq.heapify(heap)
    while len(heap) > 1:
        top = heap[0]
        # The smallest head of the others: what heapq.merge would compare the next event to.
        other = heap[1] if len(heap) == 2 or heap[1] < heap[2] else heap[2]
        other_key, other_order = other[0], other[1]
        _, order, value, events = top
        pull = events.__next__
        while True:
            yield value
            try:
                value = pull()
            except StopIteration:
                heapq.heappop(heap)
                break
            value_key = key(value)
            if value_key < other_key or (value_key == other_key and order < other_order):
                continue
            top[0] = value_key
            top[2] = value
            heapq.heapreplace(heap, top)
            break
    if heap:
        _, _, value, events = heap[0]
        yield value
        yield from events


def _sort_ties(events: Iterable[RawEvent]) -> Iterator[RawEvent]:
    """Yield `events`, each run of equal timestamps sorted by the full key (stable)."""
    iterator = iter(events)
    previous = next(iterator, None)
    if previous is None:
        return
    previous_ts = previous.timestamp
    # Most timestamps are their event's alone: a list is made only for a run of two or more.
    run: list[RawEvent] | None = None
    for event in iterator:
        timestamp = event.timestamp
        if timestamp == previous_ts:
            if run is None:
                run = [previous]
            run.append(event)
            continue
        if run is None:
            yield previous
        else:
            run.sort(key=event_key)
            yield from run
            run = None
        previous = event
        previous_ts = timestamp
    if run is None:
        yield previous
    else:
        run.sort(key=event_key)
        yield from run


# --- follow mode ---

#: How long an event may wait for a slow or silent source before it is let go anyway.
DEFAULT_MAX_HOLD_MS = 10_000


class Released(NamedTuple):
    """One event out of `WatermarkMerge`.

    `late` is True when the event sorts before something already released: its source delivered
    it after the watermark (or the hold budget) had moved past it. It is still delivered, once,
    never dropped; a renderer can mark it, a correlator can still attach it to its request."""

    event: RawEvent
    late: bool


_Held = tuple[int, str, str, str, int, RawEvent]  # event_key, arrival sequence, event


class WatermarkMerge:
    """Hold events from several polled sources until their order is final, then release them in
    `event_key` order.

    Each source (any hashable key; the fetcher uses the log group) reports with `push` the events
    of one poll and `read_until_ms`: every event with a timestamp up to and including it has now
    been pushed, as far as the source can tell. The watermark is the smallest such mark over all
    registered sources; `pop_ready` releases, in key order, every held event at or below it.

    Liveness: a registered source that has never reported holds everything back, and so does one
    whose polls stall (throttling, a slow page). So every push is stamped with `now_ms`, and once
    an event has been held for `max_hold_ms` it is released anyway, together with every held event
    that sorts before it (order among released events is kept). Events the slow source delivers
    later that sort before what went out are released as late (`Released.late`).

    Late events: an event that sorts before the last one released is released on the next
    `pop_ready`, flagged late, whatever the watermark says. The flag is exact: `late` is True
    iff the event's key is smaller than that of an event released before it. So the released
    stream is in key order except for flagged events, and nothing pushed is ever dropped.

    Duplicates (the same event pushed twice) are kept apart by an arrival counter and released
    one after the other; de-duplication belongs to the fetcher.

    Clock: `now_ms` on `push` and `pop_ready` is any monotonic millisecond clock; it defaults to
    `time.monotonic()`. Pass it always or never: the two clocks do not mix. Memory: the held
    events, plus one small record per push made within the last `max_hold_ms`.
    """

    def __init__(
        self,
        sources: Iterable[Hashable] = (),
        *,
        max_hold_ms: int | None = DEFAULT_MAX_HOLD_MS,
    ) -> None:
        # None: registered, never read. Dict order is registration order (for waiting_on()).
        self._read_until: dict[Hashable, int | None] = dict.fromkeys(sources)
        self._max_hold_ms = max_hold_ms
        self._heap: list[_Held] = []
        self._arrivals = itertools.count()
        # (arrival time, largest key of that push), oldest first: when the front expires, every
        # held event up to that key goes out.
        self._pushes: deque[tuple[int, EventKey]] = deque()
        self._high_water: EventKey | None = None  # largest key released so far

    # --- sources ---

    def register(self, source_key: Hashable) -> None:
        """Wait for `source_key` from now on. Registering twice changes nothing."""
        self._read_until.setdefault(source_key, None)

    def unregister(self, source_key: Hashable) -> None:
        """Stop waiting for `source_key` (it ended, or cannot be read). Its held events stay."""
        self._read_until.pop(source_key, None)

    @property
    def sources(self) -> tuple[Hashable, ...]:
        return tuple(self._read_until)

    @property
    def watermark_ms(self) -> int | None:
        """Every registered source has been read up to here; None while one has not reported
        (or none is registered)."""
        marks = self._read_until.values()
        if not marks or None in marks:
            return None
        return min(mark for mark in marks if mark is not None)

    def waiting_on(self) -> list[Hashable]:
        """The sources holding the watermark back: never read, or read least far."""
        watermark = self.watermark_ms
        return [key for key, mark in self._read_until.items() if mark is None or mark == watermark]

    # --- events ---

    def push(
        self,
        source_key: Hashable,
        events: Iterable[RawEvent],
        read_until_ms: int,
        *,
        now_ms: int | None = None,
    ) -> None:
        """Hold `events` from `source_key`, and note it has been read up to `read_until_ms`.

        An unknown source is registered. A mark lower than the source's previous one is ignored:
        what has been read stays read (a poll window that overlaps the last one is normal)."""
        previous = self._read_until.get(source_key)
        self._read_until[source_key] = (
            read_until_ms if previous is None else max(previous, read_until_ms)
        )
        largest: EventKey | None = None
        for event in events:
            key = event_key(event)
            heapq.heappush(self._heap, (*key, next(self._arrivals), event))
            if largest is None or key > largest:
                largest = key
        if largest is not None and self._max_hold_ms is not None:
            self._pushes.append((_now(now_ms), largest))

    def pop_ready(self, *, now_ms: int | None = None) -> list[Released]:
        """Release, in key order, every held event that is final: at or below the watermark,
        late, or held longer than `max_hold_ms` (with everything that sorts before it)."""
        watermark = self.watermark_ms
        if not self._read_until:
            watermark = _FOREVER  # nobody left to wait for
        # Keys up to `through` go out whatever the watermark: late events (below the high water)
        # and events whose hold budget ran out.
        through = self._high_water
        if self._max_hold_ms is not None:
            expired_before = _now(now_ms) - self._max_hold_ms
            while self._pushes and self._pushes[0][0] <= expired_before:
                _, largest = self._pushes.popleft()
                if through is None or largest > through:
                    through = largest
        released: list[Released] = []
        heap = self._heap
        while heap:
            held = heap[0]
            key: EventKey = held[:4]
            if not (
                (watermark is not None and held[0] <= watermark)
                or (through is not None and key <= through)
            ):
                break
            heapq.heappop(heap)
            released.append(self._release(key, held[5]))
        if not heap:
            self._pushes.clear()
        return released

    def flush(self) -> list[Released]:
        """Release everything held, in key order (end of run)."""
        released: list[Released] = []
        while self._heap:
            held = heapq.heappop(self._heap)
            released.append(self._release(held[:4], held[5]))
        self._pushes.clear()
        return released

    def __len__(self) -> int:
        """How many events are held."""
        return len(self._heap)

    def _release(self, key: EventKey, event: RawEvent) -> Released:
        high = self._high_water
        if high is None or key >= high:
            self._high_water = key
            return Released(event, late=False)
        return Released(event, late=True)


_FOREVER = 2**63


def _now(now_ms: int | None) -> int:
    return time.monotonic_ns() // 1_000_000 if now_ms is None else now_ms


_Item = TypeVar("_Item")


def arrived(inbox: queue.Queue[_Item], wait_s: float) -> Iterator[_Item]:
    """What the readers put in `inbox`: the first item waited for up to `wait_s`, then all that is
    there without waiting, so a follow pushes each burst into its merge before it pops once."""
    try:
        item = inbox.get(timeout=wait_s)
    except queue.Empty:
        return
    while True:
        yield item
        try:
            item = inbox.get_nowait()
        except queue.Empty:
            return
