"""What the TUI holds, bounded: requests keyed by API Gateway request ID, the order a view shows
them in, every line for the stream view, counts and a histogram for the header. Pure Python: no
Textual, so it is tested (and timed) on its own.

Memory is capped: the newest `max_requests` requests and the newest `max_lines` lines are kept;
what is dropped is counted (`dropped`), never lost silently."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from apilogs.model import LogEvent, Request, RequestUpdate

# Dropping happens in chunks (a tenth of the cap) so the cost of a `del list[:k]` is spread.
_SLACK = 0.1


def request_key(request: Request) -> str:
    """How a front end tells requests apart (as MatchingUpdates does)."""
    return request.request_id or ",".join(request.ids) or f"@{request.start_ms}"


def is_server_error(request: Request) -> bool:
    """What `e`/`E` jump to: a 5xx, or a failure whose status was never logged."""
    if request.status is not None:
        return request.status >= 500
    return request.outcome.is_error


def latency_of(request: Request) -> float | None:
    """Response latency, or the integration's Lambda duration when API Gateway gave none."""
    if request.response_latency_ms is not None:
        return float(request.response_latency_ms)
    integration = request.integration
    return integration.duration_ms if integration else None


class Sort(StrEnum):
    TIME = "time"
    LATENCY = "latency"


@dataclass
class Counts:
    requests: int = 0
    server_errors: int = 0  # 5xx
    client_errors: int = 0  # 4xx
    cold_starts: int = 0
    in_progress: int = 0


@dataclass(frozen=True, slots=True)
class Change:
    """What one `apply` did, for the views: keys that appeared, changed, and were dropped."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


class Histogram:
    """Requests and 5xx per interval of start time, for the header's sparklines."""

    def __init__(self, start_ms: int, bucket_ms: int = 1000) -> None:
        self.start_ms = start_ms
        self.bucket_ms = max(1, bucket_ms)
        self._buckets: dict[int, list[int]] = {}

    def bucket(self, ms: int) -> int:
        return (ms - self.start_ms) // self.bucket_ms

    def add(self, bucket: int, requests: int, errors: int) -> None:
        slot = self._buckets.get(bucket)
        if slot is None:
            slot = self._buckets[bucket] = [0, 0]
        slot[0] += requests
        slot[1] += errors

    def series(self, bins: int, end_ms: int) -> tuple[list[int], list[int]]:
        """`bins` values each of requests and of 5xx from the start to `end_ms`."""
        bins = max(1, bins)
        last = max(self.bucket(end_ms - 1), max(self._buckets, default=0), 0) + 1
        per_bin = max(1, -(-last // bins))
        requests = [0] * bins
        errors = [0] * bins
        for index, (r, e) in self._buckets.items():
            at = min(bins - 1, max(0, index // per_bin))
            requests[at] += r
            errors[at] += e
        used = min(bins, -(-last // per_bin))
        return requests[:used], errors[:used]


def nice_bucket_ms(span_ms: int, buckets: int = 600) -> int:
    """A round interval (1 s, 5 s, 1 min, …) that cuts `span_ms` into about `buckets` pieces."""
    for step in (1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000):
        if span_ms / step <= buckets:
            return step
    return 3_600_000


class RequestStore:
    """The newest `max_requests` requests, each as its latest snapshot, in arrival order."""

    def __init__(self, max_requests: int, histogram: Histogram) -> None:
        self.max_requests = max(1, max_requests)
        self.histogram = histogram
        self.requests: dict[str, Request] = {}
        self.seq: dict[str, int] = {}
        self.counts = Counts()
        self.dropped = 0
        self.lines = 0
        # Any ID of a request (Lambda, trace, extended) → its key: the stream view jumps by it.
        self.by_id: dict[str, str] = {}
        self._next = 0
        # key → (bucket, 5xx, 4xx, cold, in progress): what it adds to the counts, to undo.
        self._adds: dict[str, tuple[int, bool, bool, bool, bool]] = {}
        # Dropped keys, so a late line for one does not bring it back (bounded like the store).
        self._gone: dict[str, None] = {}

    def __len__(self) -> int:
        return len(self.requests)

    def get(self, key: str) -> Request | None:
        return self.requests.get(key)

    def apply(self, updates: Iterable[RequestUpdate]) -> Change:
        new: list[str] = []
        changed: dict[str, None] = {}
        for update in updates:
            request = update.request
            if not request.seen_by_api_gateway:
                continue
            key = request_key(request)
            if key in self._gone:
                continue
            known = key in self.requests
            old = self.requests.get(key)
            self.requests[key] = request
            self.lines += len(request.events) - (len(old.events) if old else 0)
            for other in request.ids:
                self.by_id[other] = key
            self._count(key, request)
            if known:
                changed[key] = None
            else:
                self.seq[key] = self._next
                self._next += 1
                new.append(key)
        dropped = self._trim()
        gone = set(dropped)
        return Change(
            tuple(k for k in new if k not in gone),
            tuple(k for k in changed if k not in gone and k not in new),
            tuple(dropped),
        )

    def _count(self, key: str, request: Request) -> None:
        counts = self.counts
        status = request.status
        now = (
            self.histogram.bucket(request.start_ms),
            status is not None and status >= 500,
            status is not None and 400 <= status < 500,
            request.cold_start,
            request.in_progress,
        )
        old = self._adds.get(key)
        if old == now:
            return
        if old is None:
            counts.requests += 1
            self.histogram.add(now[0], 1, int(now[1]))
        else:
            counts.server_errors -= old[1]
            counts.client_errors -= old[2]
            counts.cold_starts -= old[3]
            counts.in_progress -= old[4]
            self.histogram.add(old[0], -1, -int(old[1]))
            self.histogram.add(now[0], 1, int(now[1]))
        counts.server_errors += now[1]
        counts.client_errors += now[2]
        counts.cold_starts += now[3]
        counts.in_progress += now[4]
        self._adds[key] = now

    def _trim(self) -> list[str]:
        over = len(self.requests) - self.max_requests
        if over <= 0:
            return []
        # Drop a chunk below the cap, so trimming is not paid on every batch.
        drop = min(len(self.requests), over + int(self.max_requests * _SLACK))
        dropped: list[str] = []
        for key in self.requests:
            if len(dropped) >= drop:
                break
            dropped.append(key)
        for key in dropped:
            request = self.requests.pop(key)
            self.lines -= len(request.events)
            del self.seq[key]
            adds = self._adds.pop(key, None)
            if adds is not None and adds[4]:
                self.counts.in_progress -= 1
            for other in request.ids:
                if self.by_id.get(other) == key:
                    del self.by_id[other]
            self._gone[key] = None
        while len(self._gone) > 4 * self.max_requests:
            del self._gone[next(iter(self._gone))]
        self.dropped += len(dropped)
        return dropped

    def snapshot(self) -> list[tuple[str, int, Request]]:
        """(key, arrival, request) of every request: immutable, safe to read in a thread."""
        seq = self.seq
        return [(key, seq[key], request) for key, request in self.requests.items()]


# -- the order a view shows ------------------------------------------------------------------------

Entry = tuple[float, int, str]  # (start time, or minus the latency; arrival; key)


def sort_entry(sort: Sort, key: str, seq: int, request: Request) -> Entry:
    if sort is Sort.LATENCY:
        latency = latency_of(request)
        # Slowest first; requests without a latency last.
        return (-(latency if latency is not None else -1.0), seq, key)
    return (float(request.start_ms), seq, key)


def build_entries(
    items: Iterable[tuple[str, int, Request]],
    keep: Callable[[Request], bool] | None,
    sort: Sort,
) -> list[Entry]:
    """The sorted entries of the requests `keep` (a predicate, or None for all) keeps."""
    test = keep
    entries = [
        sort_entry(sort, key, seq, request)
        for key, seq, request in items
        if test is None or test(request)
    ]
    entries.sort()
    return entries


@dataclass
class RequestIndex:
    """The keys a requests view shows, in order: filtered, sorted, kept up to date one update
    at a time (a bisect each), so a batch costs what it changes, not the whole list."""

    sort: Sort = Sort.TIME
    entries: list[Entry] = field(default_factory=list)
    _entry_of: dict[str, Entry] = field(default_factory=dict)

    def reset(self, entries: list[Entry], sort: Sort) -> None:
        self.sort = sort
        self.entries = entries
        self._entry_of = {e[2]: e for e in entries}

    def __len__(self) -> int:
        return len(self.entries)

    def key_at(self, index: int) -> str | None:
        if 0 <= index < len(self.entries):
            return self.entries[index][2]
        return None

    def keys(self) -> list[str]:
        return [e[2] for e in self.entries]

    def __contains__(self, key: object) -> bool:
        return key in self._entry_of

    def position(self, key: str) -> int | None:
        entry = self._entry_of.get(key)
        if entry is None:
            return None
        return bisect.bisect_left(self.entries, entry)

    def put(self, key: str, seq: int, request: Request, shown: bool) -> bool:
        """Show (or stop showing) `key` as `request` now is; True when the order changed."""
        old = self._entry_of.get(key)
        if not shown:
            if old is None:
                return False
            self._remove(old)
            return True
        entry = sort_entry(self.sort, key, seq, request)
        if old == entry:
            return False
        if old is not None:
            self._remove(old)
        entries = self.entries
        if not entries or entries[-1] < entry:
            entries.append(entry)
        else:
            bisect.insort(entries, entry)
        self._entry_of[key] = entry
        return True

    def remove(self, key: str) -> bool:
        old = self._entry_of.get(key)
        if old is None:
            return False
        self._remove(old)
        return True

    def remove_many(self, keys: Sequence[str]) -> int:
        """Drop many keys at once (the store's trim): one pass instead of one bisect each."""
        gone = {k for k in keys if k in self._entry_of}
        if not gone:
            return 0
        for key in gone:
            del self._entry_of[key]
        self.entries = [e for e in self.entries if e[2] not in gone]
        return len(gone)

    def _remove(self, entry: Entry) -> None:
        at = bisect.bisect_left(self.entries, entry)
        if at < len(self.entries) and self.entries[at] == entry:
            del self.entries[at]
        del self._entry_of[entry[2]]


# -- every line, for the stream view ---------------------------------------------------------------


def line_count(message: str) -> int:
    return message.rstrip("\n").count("\n") + 1


class EventLog:
    """The newest `max_lines` events in arrival order, each with how many screen lines it takes
    (a traceback takes several): `locate(y)` finds the event on line y by bisection."""

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max(1, max_lines)
        self.events: list[LogEvent] = []
        self.late: set[int] = set()  # absolute indexes of events that arrived late
        self._ends: list[int] = []  # absolute cumulative line count after each event
        self.base_index = 0  # absolute index of events[0]
        self.base_line = 0  # absolute line of events[0]'s first line
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.events)

    @property
    def lines(self) -> int:
        return (self._ends[-1] if self._ends else self.base_line) - self.base_line

    def extend(self, events: Iterable[tuple[LogEvent, bool]]) -> int:
        """Append; returns how many events were dropped from the front to stay in the cap."""
        ends = self._ends
        total = ends[-1] if ends else self.base_line
        for event, late in events:
            total += line_count(event.raw.message)
            if late:
                self.late.add(self.base_index + len(self.events))
            self.events.append(event)
            ends.append(total)
        over = len(self.events) - self.max_lines
        if over <= 0:
            return 0
        drop = min(len(self.events), over + int(self.max_lines * _SLACK))
        self.base_line = ends[drop - 1]
        del self.events[:drop]
        del ends[:drop]
        self.base_index += drop
        if self.late:
            self.late = {i for i in self.late if i >= self.base_index}
        self.dropped += drop
        return drop

    def locate(self, line: int) -> tuple[int, int] | None:
        """Line `line` (0 = the first kept) → (index into events, line within the event)."""
        if line < 0 or line >= self.lines:
            return None
        absolute = line + self.base_line
        at = bisect.bisect_right(self._ends, absolute)
        start = self._ends[at - 1] if at else self.base_line
        return at, absolute - start

    def first_line(self, index: int) -> int:
        """The view line where events[index] starts."""
        return (self._ends[index - 1] if index else self.base_line) - self.base_line

    def is_late(self, index: int) -> bool:
        return (self.base_index + index) in self.late
