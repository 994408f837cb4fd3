"""Read many log groups at once and hand back one time-ordered stream.

Each group gets a reader thread (the work is waiting on the network; the shared limiter keeps the
account's quota) feeding a small bounded channel, so memory does not grow with the window: a
reader that is ahead waits for the merge to catch up.

Every read owns its threads: they are started by a `ReaderPool` and stopped and joined when the
read ends — the window read to its end, the consumer closed the generator, or the caller's
`stop` was set (noticed within a fraction of a second, even by a reader backing off)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import InitVar, dataclass, field

from apilogs.aws import MAX_IN_FLIGHT, AwsContext
from apilogs.cancel import CancelScope, LateStop, StopSignal
from apilogs.errors import GroupFailure, IncompleteRead
from apilogs.fetch.classes import (
    DELIVERY,
    INFREQUENT_ACCESS,
    ClassRefused,
    delivery_notice,
    insights_notice,
    insights_pages,
    learn,
    pattern_notice,
    query_class,
)
from apilogs.fetch.filter import (
    DEFAULT_MAX_LAG_MS,
    FOLLOW_POLICY,
    GROUP_FIRST_RANK,
    SLICE_FIRST_RANK,
    SWEEP_EVERY_S,
    WINDOW_POLICY,
    GaveUp,
    GroupQuery,
    RetryPolicy,
    follow_group,
    queries_for,
    read_window,
)
from apilogs.fetch.merge import Released, WatermarkMerge, arrived, merge_sorted
from apilogs.fetch.stats import FetchStats
from apilogs.model import RawEvent

__all__ = [
    "FOLLOW_POLICY",
    "WINDOW_POLICY",
    "FetchStats",
    "GroupQuery",
    "HeadStart",
    "ReaderPool",
    "Released",
    "RetryPolicy",
    "fetch_window",
    "follow",
    "queries_for",
]

log = logging.getLogger(__name__)

# Pages a reader may hold beyond the one being merged. CloudWatch Logs pages are at most 1 MB,
# so this bounds memory by the number of readers, never by the window; one keeps the service
# busy while the merge works.
PAGES_AHEAD = 1
# How often a blocked thread looks at its stop signal.
_TICK_S = 0.1
# The share of the read rate that follow-mode polls may plan to use (the rest: the periodic
# re-reads, pages beyond the first, retries).
QUOTA_SHARE = 0.9
_DONE = object()


class ReaderPool:
    """The threads of one read, at most `limit` of them: started here, stopped and joined when
    the read closes the pool. Threads are daemons only so that an HTTP call stuck past
    `close`'s time-out cannot keep the interpreter alive."""

    def __init__(self, stop: CancelScope, limit: int) -> None:
        self.stop = stop
        self.limit = limit
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, name: str, target: Callable[..., None], *args: object) -> None:
        with self._lock:
            alive = sum(1 for t in self._threads if t.is_alive())
            if alive >= self.limit:
                raise RuntimeError(f"reader pool full ({self.limit} threads)")
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            self._threads.append(thread)
        thread.start()

    def close(self, timeout_s: float = 1.0) -> None:
        self.stop.set()
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            # A call in flight cannot be interrupted; it ends with its response or time-out.
            log.debug("reader threads still in a call after stop: %s", ", ".join(stuck))

    @property
    def alive(self) -> int:
        with self._lock:
            return sum(1 for t in self._threads if t.is_alive())


class _ReaderFailed:
    """A reader thread's error, carried to the consumer through its inbox to be raised there."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Split:
    """The rest of a group comes from these channels, one after the other."""

    __slots__ = ("channels",)

    def __init__(self, channels: list[_PageChannel]) -> None:
        self.channels = channels


class _ReadAhead:
    """Pages a reader may fetch beyond the one waiting in its channel, shared by every reader
    of one read: big groups read ahead (their later slices wait while earlier ones are merged)
    while memory stays bounded by the read, not by the window."""

    def __init__(self, pages: int) -> None:
        self._left = threading.Semaphore(pages)

    def take(self) -> bool:
        return self._left.acquire(blocking=False)

    def give_back(self) -> None:
        self._left.release()


class _PageChannel:
    """One group's pages, from its reader thread to the merge.

    A reader may always have one page waiting for the merge (so the stream the merge waits on
    can always be fed: no deadlock), and `ahead` more while the read's shared read-ahead allows
    it."""

    def __init__(
        self,
        stop: CancelScope,
        stats: FetchStats | None = None,
        slow_after_s: float = 10.0,
        *,
        shared: _ReadAhead | None = None,
        ahead: int = 0,
    ) -> None:
        self.items: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.room = threading.Semaphore(PAGES_AHEAD)
        self.stop = stop
        self.stats = stats
        self.slow_after_s = slow_after_s
        self.shared = shared
        self.ahead = ahead
        self._extra = 0  # pages waiting that came out of the shared read-ahead
        self._lock = threading.Lock()
        # Where each place a page will take came from, in the order the pages are put (a deque:
        # the merge takes from the left, a reader that put no page gives back on the right).
        self._borrowed: deque[bool] = deque()

    def wait_for_room(self) -> bool:
        while not self.stop.is_set():
            if self.room.acquire(blocking=False):
                self._borrowed.append(False)
                return True
            if self._can_borrow() and self.shared is not None and self.shared.take():
                with self._lock:
                    self._extra += 1
                self._borrowed.append(True)
                return True
            if self.room.acquire(timeout=_TICK_S):
                self._borrowed.append(False)
                return True
        return False

    def _can_borrow(self) -> bool:
        return self.shared is not None and self._extra < self.ahead

    def _give(self, borrowed: bool) -> None:
        if borrowed:
            with self._lock:
                self._extra -= 1
            assert self.shared is not None
            self.shared.give_back()
        else:
            self.room.release()

    def _taken(self) -> None:
        """The merge took a page: its place goes back where it came from."""
        self._give(self._borrowed.popleft())

    def unused(self) -> None:
        """The reader got a place and put no page there (the group ended, or failed)."""
        self._give(self._borrowed.pop())

    def drain(self) -> Iterator[RawEvent]:
        while True:
            try:
                try:
                    item = self.items.get_nowait()
                except queue.Empty:
                    if self.stats is not None:
                        self.stats.stalling()
                    item = self.items.get(timeout=_TICK_S)
            except queue.Empty:
                if self.stop.is_set():
                    return
                if self.stats is not None:
                    self.stats.tell_slow_calls(self.slow_after_s)
                continue
            if isinstance(item, list):
                self._taken()
            if item is _DONE:
                return
            if isinstance(item, _ReaderFailed):
                raise item.error
            if isinstance(item, _Split):
                for channel in item.channels:
                    yield from channel.drain()
                return
            assert isinstance(item, list)
            yield from item


# A group whose first page holds this many events is big: the rest of its window is read as
# SLICES time slices at once, so one dominant group (the execution log, usually) is not read one
# page after another. The shared limiter still caps the total rate.
SPLIT_MIN_EVENTS = 2_000
SPLIT_MIN_SPAN_MS = 10_000
SLICES = 4
# Slice readers in one fetch, over all groups: the biggest groups (the first to show it) get
# them, and the number of readers, hence of pages alive, stays the same however large the
# window.
MAX_SLICE_READERS = 8
# Pages the readers of one fetch may hold beyond the one each may always have waiting: later
# slices of a big group read ahead while the earlier ones are merged. A fixed number, so memory
# does not grow with the window.
READ_AHEAD_PAGES = 6
SLICE_PAGES_AHEAD = 3


class _SliceBudget:
    def __init__(self, readers: int) -> None:
        self._left = readers
        self._lock = threading.Lock()

    def take(self, readers: int) -> bool:
        with self._lock:
            if self._left < readers:
                return False
            self._left -= readers
            return True


@dataclass(frozen=True, slots=True)
class _Job:
    ctx: AwsContext
    query: GroupQuery
    stats: FetchStats
    filter_pattern: str | None
    slices: _SliceBudget
    pool: ReaderPool
    policy: RetryPolicy
    # A read begun on a guess (HeadStart): a group that does not exist is set here, not told.
    missing: threading.Event | None = None
    # The literal strings `filter_pattern` stands for (see `fetch_window`).
    terms: Sequence[str] | None = None


def _start_reader(
    job: _Job,
    start_ms: int,
    end_ms: int | None,
    channel: _PageChannel,
    *,
    may_split: bool,
    skip: frozenset[tuple[str, str, str]] = frozenset(),
) -> None:
    job.pool.start(
        f"read {job.query.group}", _reader, job, start_ms, end_ms, channel, may_split, skip
    )


def _slices_worth(start_ms: int, split_at: int, last_ms: int) -> int:
    """How many slices the rest of a group's window deserves, guessed from its first page: the
    page covered [start_ms, split_at], so the rest holds about that many pages again per span.
    A first page cut a few events short of the end is not worth a split."""
    if last_ms - split_at < SPLIT_MIN_SPAN_MS:
        return 0
    pages_left = (last_ms - split_at) / max(1, split_at - start_ms)
    return min(SLICES, int(pages_left))


def _slices(
    start_ms: int, end_ms: int | None, now_ms: int, count: int = 4
) -> list[tuple[int, int | None]]:
    """[start, end] cut in `count` consecutive, non-overlapping ranges (endTime is inclusive)."""
    last = end_ms if end_ms is not None else now_ms
    step = (last - start_ms) // count
    bounds = [start_ms + i * step for i in range(count)]
    ranges: list[tuple[int, int | None]] = [
        (bounds[i], bounds[i + 1] - 1) for i in range(count - 1)
    ]
    ranges.append((bounds[-1], end_ms))
    return ranges


def _reader(
    job: _Job,
    start_ms: int,
    end_ms: int | None,
    channel: _PageChannel,
    may_split: bool,
    skip: frozenset[tuple[str, str, str]],
) -> None:
    rank = GROUP_FIRST_RANK if may_split else SLICE_FIRST_RANK
    pages = _group_pages(job, start_ms, end_ms, channel.stop, rank)
    first = True
    holding = False  # a place in the channel taken, no page put in it yet
    try:
        while channel.wait_for_room():
            holding = True
            page = next(pages, None)
            if page is None:
                holding = False
                channel.unused()
                channel.items.put(_DONE)
                return
            if skip and page and page[0].timestamp == start_ms:
                # The events of the split point the first page already delivered.
                page = [e for e in page if e.key not in skip]
            if (
                first
                and may_split
                and len(page) >= SPLIT_MIN_EVENTS
                # Read through Insights: it splits its own range.
                and job.query.group not in job.stats.log_classes
            ):
                split_at = page[-1].timestamp
                last = end_ms if end_ms is not None else int(time.time() * 1000)
                count = _slices_worth(start_ms, split_at, last)
                if count >= 2 and job.slices.take(count):
                    pages.close()  # the rest is read again, in slices, from split_at on
                    delivered = frozenset(e.key for e in page if e.timestamp == split_at)
                    holding = False
                    channel.items.put(page)
                    channels = []
                    for index, (lo, hi) in enumerate(_slices(split_at, end_ms, last, count)):
                        sub = _PageChannel(
                            channel.stop,
                            channel.stats,
                            channel.slow_after_s,
                            shared=channel.shared,
                            ahead=SLICE_PAGES_AHEAD,
                        )
                        _start_reader(
                            job,
                            lo,
                            hi,
                            sub,
                            may_split=False,
                            skip=delivered if index == 0 else frozenset(),
                        )
                        channels.append(sub)
                    channel.items.put(_Split(channels))
                    return
            first = False
            holding = False
            channel.items.put(page)
            del page  # the channel holds it now; this frame must not keep it alive
    except BaseException as exc:  # handed to the consumer, which raises it in its own thread
        if holding:
            channel.unused()
        channel.items.put(_ReaderFailed(exc))
    finally:
        pages.close()


def _group_pages(
    job: _Job, start_ms: int, end_ms: int | None, stop: CancelScope, rank: int
) -> Generator[list[RawEvent], None, None]:
    """A group's pages from FilterLogEvents; from Logs Insights when FilterLogEvents refuses
    the group for its class (not known before: DescribeLogGroups was not allowed, say)."""
    pages = read_window(
        job.ctx,
        job.query,
        start_ms,
        end_ms,
        job.stats,
        filter_pattern=job.filter_pattern,
        stop=stop,
        policy=job.policy,
        missing=job.missing,
        first_rank=rank,
    )
    try:
        yield from pages
        return
    except ClassRefused as refused:
        learn(job.stats, refused)
        if refused.log_class not in (INFREQUENT_ACCESS, DELIVERY):
            job.stats.notice(
                f"log group {job.query.group} is of log-group-class {refused.log_class}: "
                "FilterLogEvents refuses it, skipped"
            )
            return
        if not _insights_reads(job.query, job.stats, job.filter_pattern, job.terms):
            return
    finally:
        pages.close()
    yield from insights_pages(
        job.ctx, job.query, start_ms, end_ms, job.stats, stop=stop, terms=job.terms or ()
    )


def _insights_reads(
    query: GroupQuery,
    stats: FetchStats,
    filter_pattern: str | None,
    terms: Sequence[str] | None,
) -> bool | None:
    """Whether the group is read through Logs Insights (True), FilterLogEvents (False), or
    not at all (None, said in a notice)."""
    log_class = query_class(query, stats)
    if log_class == DELIVERY:
        stats.notice(delivery_notice(query.group))
        return None
    if log_class != INFREQUENT_ACCESS:
        return False
    if filter_pattern and terms is None:
        stats.notice(pattern_notice(query.group))
        return None
    stats.notice(insights_notice(query.group))
    return True


def _counted(events: Iterator[RawEvent], stats: FetchStats) -> Iterator[RawEvent]:
    """A group's stream that counts itself done for the progress line once exhausted."""
    yield from events
    stats.groups_done += 1


@dataclass(eq=False)
class _Fetch:
    """The threads and shared budgets of one window read: its cancel scope, reader pool, slice
    readers and read-ahead pages."""

    ctx: AwsContext
    stats: FetchStats
    policy: RetryPolicy
    filter_pattern: str | None
    stop: InitVar[StopSignal | None]
    groups: InitVar[int]
    terms: Sequence[str] | None = None
    scope: CancelScope = field(init=False)
    pool: ReaderPool = field(init=False)
    slices: _SliceBudget = field(init=False)
    shared: _ReadAhead = field(init=False)

    def __post_init__(self, stop: StopSignal | None, groups: int) -> None:
        self.scope = CancelScope(stop)
        self.pool = ReaderPool(self.scope, limit=groups + MAX_SLICE_READERS)
        self.slices = _SliceBudget(MAX_SLICE_READERS)
        self.shared = _ReadAhead(READ_AHEAD_PAGES)

    def read(
        self,
        query: GroupQuery,
        start_ms: int,
        end_ms: int | None,
        missing: threading.Event | None = None,
    ) -> Iterator[RawEvent]:
        """One group's events: its reader starts now, the stream is merged by the caller."""
        channel = _PageChannel(
            self.scope, self.stats, self.policy.notice_after_s, shared=self.shared
        )
        job = _Job(
            self.ctx,
            query,
            self.stats,
            self.filter_pattern,
            self.slices,
            self.pool,
            self.policy,
            missing,
            self.terms,
        )
        _start_reader(job, start_ms, end_ms, channel, may_split=True)
        self.stats.groups += 1
        return _counted(channel.drain(), self.stats)


# How long a head start waits to be taken over before it stops reading: a caller that asked for
# one and then read nothing must not leave a reader waiting forever.
HEAD_START_EXPIRES_S = 60.0


@dataclass(eq=False)
class HeadStart:
    """One group's window read, begun before the read that wants it is asked for.

    The execution log's name follows from the API ID and stage, so it can be read while
    discovery finds the other groups (a few round trips). `fetch_window` given a head start
    for the same window, filter pattern, stats and policy takes its reader over, pages read
    so far included; any other read stops it. A group that does not exist is not told here
    (the read it was a guess for tells it, if it still wants the group)."""

    ctx: InitVar[AwsContext]
    query: GroupQuery
    start_ms: int
    end_ms: int | None
    stats: FetchStats
    filter_pattern: str | None = field(default=None, kw_only=True)
    policy: RetryPolicy = field(default=WINDOW_POLICY, kw_only=True)
    _stop: LateStop = field(init=False, default_factory=LateStop)
    _missing: threading.Event = field(init=False, default_factory=threading.Event)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _taken: bool = field(init=False, default=False)
    _fetch: _Fetch = field(init=False)
    _stream: Iterator[RawEvent] = field(init=False)
    _timer: threading.Timer = field(init=False)

    def __post_init__(self, ctx: AwsContext) -> None:
        self._fetch = _Fetch(
            ctx, self.stats, self.policy, self.filter_pattern, self._stop, groups=1
        )
        self._stream = self._fetch.read(self.query, self.start_ms, self.end_ms, self._missing)
        self._timer = threading.Timer(HEAD_START_EXPIRES_S, self.close)
        self._timer.daemon = True
        self._timer.start()

    def take(
        self,
        queries: list[GroupQuery],
        start_ms: int,
        end_ms: int | None,
        stats: FetchStats,
        filter_pattern: str | None,
        policy: RetryPolicy,
        stop: StopSignal | None,
    ) -> tuple[_Fetch, Iterator[RawEvent]] | None:
        """The read so far, for a fetch of `queries` that includes it; else None (and the
        head start is stopped, if it was not already)."""
        fits = (
            self.query in queries
            and (start_ms, end_ms, filter_pattern, policy)
            == (self.start_ms, self.end_ms, self.filter_pattern, self.policy)
            and stats is self.stats
            and not self._missing.is_set()
        )
        if not self._claim():
            return None  # stopped before (it expired)
        if not fits:
            self._stop_reading()
            return None
        self._stop.attach(stop)
        self._fetch.pool.limit = len(queries) + MAX_SLICE_READERS
        return self._fetch, self._stream

    def close(self) -> None:
        """Stop it unless a fetch took it over (or it was stopped before)."""
        if self._claim():
            self._stop_reading()

    def _claim(self) -> bool:
        """True for the first of `take`, `close` and the expiry only: what it was begun for is
        decided once."""
        with self._lock:
            first, self._taken = not self._taken, True
        self._timer.cancel()
        return first

    def _stop_reading(self) -> None:
        # Not joined: a reader in a call ends with its answer, and the read that came instead
        # must not wait for it.
        self._fetch.scope.set()
        self.stats.groups -= 1


def fetch_window(
    ctx: AwsContext,
    queries: list[GroupQuery],
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    *,
    filter_pattern: str | None = None,
    stop: StopSignal | None = None,
    policy: RetryPolicy = WINDOW_POLICY,
    head: HeadStart | None = None,
    terms: Sequence[str] | None = None,
) -> Iterator[RawEvent]:
    """Every event of every group in the window, merged by (timestamp, group, stream, event id).

    Ends early, without error, once `stop` is set. Closing the generator stops the readers.
    When a group could not be read to the end (its reads failed for longer than `policy`
    allows), everything else is delivered first, then IncompleteRead says what is missing.
    `head`: a read of one of the groups begun earlier, taken over when it fits.

    Groups of the Infrequent Access class (`apilogs.fetch.classes`) are read through Logs
    Insights, merged into the same stream; Delivery-class groups are skipped; each said once.
    Insights cannot apply `filter_pattern`: `terms`, the literal strings it stands for (any of
    which a message holds), are what Insights looks for; without them such a group is skipped."""
    failures_before = len(stats.failures)
    by_insights: list[GroupQuery] = []
    by_filter: list[GroupQuery] = []
    for query in queries:
        reads = _insights_reads(query, stats, filter_pattern, terms)
        if reads is not None:
            (by_insights if reads else by_filter).append(query)
    queries = by_filter
    taken = (
        head.take(queries, start_ms, end_ms, stats, filter_pattern, policy, stop) if head else None
    )
    streams = []
    begun: GroupQuery | None = None  # the group whose read the head start began
    if taken is not None and head is not None:
        fetch, stream = taken
        streams.append(stream)
        begun = head.query
    else:
        fetch = _Fetch(ctx, stats, policy, filter_pattern, stop, len(queries), terms)
    # Every group's first page at once: the merge needs all of them before its first line.
    ctx.logs_in_flight.at_least(min(MAX_IN_FLIGHT, len(queries)))
    by_class: Iterator[RawEvent] | None = None
    try:
        for query in queries:
            if query != begun:
                streams.append(fetch.read(query, start_ms, end_ms))
        if by_insights:
            from apilogs.fetch import insights

            by_class = insights.read_window(
                ctx, by_insights, start_ms, end_ms, stats, stop=stop, terms=terms or ()
            )
            streams.append(by_class)
        yield from merge_sorted(streams)
    finally:
        if isinstance(by_class, Generator):
            by_class.close()
        fetch.pool.close()
    failures = stats.failures[failures_before:]
    if failures and not (stop is not None and stop.is_set()):
        raise IncompleteRead(_merged(failures))


def _merged(failures: list[GroupFailure]) -> list[GroupFailure]:
    """One failure per group (its slices may each have given up)."""
    by_group: dict[str, GroupFailure] = {}
    for failure in failures:
        known = by_group.get(failure.group)
        if known is None or (failure.read_until_ms or -1) < (known.read_until_ms or -1):
            by_group[failure.group] = failure
    return list(by_group.values())


def follow(
    ctx: AwsContext,
    queries: list[GroupQuery],
    since_ms: int,
    stats: FetchStats,
    *,
    interval_s: float = 1.0,
    filter_pattern: str | None = None,
    max_hold_ms: int = 30_000,
    clock: Callable[[], float] = time.time,
    stop: StopSignal | None = None,
    policy: RetryPolicy = FOLLOW_POLICY,
    max_lag_ms: int = DEFAULT_MAX_LAG_MS,
    sweep_every_s: float = SWEEP_EVERY_S,
) -> Iterator[list[Released]]:
    """Poll every group until `stop` (or forever); yield batches in time order, and an empty
    batch at least every quarter second (a heartbeat: consumers close what is old enough).

    A watermark holds each event until every group has been read past its timestamp, so output
    stays ordered across groups; an event ingested late is still yielded, flagged. A group whose
    reads keep failing stops holding the others back once it has been failing for
    `policy.notice_after_s`; with `policy.give_up_after_s` set, IncompleteRead ends the follow."""
    scope = CancelScope(stop)
    stats.groups += len(queries)
    inbox: queue.Queue[tuple[str, list[RawEvent], int] | _ReaderFailed] = queue.Queue()
    merge = WatermarkMerge(max_hold_ms=max_hold_ms)
    for query in queries:
        merge.register(query.group)

    def emit(query: GroupQuery, events: list[RawEvent], read_until: int) -> None:
        inbox.put((query.group, events, read_until))

    # Every group polled once a cycle must fit the quota: more groups than the rate allows a
    # second are polled less often, evenly spread, rather than fight over the limiter.
    rate = ctx.logs_limiter.configured
    cycle_s = interval_s
    if rate > 0 and queries:
        cycle_s = max(interval_s, len(queries) / (rate * QUOTA_SHARE))
        if cycle_s > interval_s * 1.05:
            stats.notice(
                f"following {len(queries)} groups at {rate:g} reads/s: each group is polled "
                f"every {cycle_s:.1f} s (--watch-interval {interval_s:g} would exceed the quota)"
            )

    def run(query: GroupQuery, phase_s: float) -> None:
        if phase_s and scope.wait(phase_s):
            return
        try:
            follow_group(
                ctx,
                query,
                since_ms,
                stats,
                emit,
                interval_s=cycle_s,
                filter_pattern=filter_pattern,
                stop=scope,
                clock=clock,
                policy=policy,
                max_lag_ms=max_lag_ms,
                sweep_every_s=sweep_every_s,
            )
        except GaveUp as exc:
            failure = GroupFailure(exc.group, exc.reason, exc.failing_for_s, None)
            inbox.put(_ReaderFailed(IncompleteRead([failure])))
        except BaseException as exc:
            inbox.put(_ReaderFailed(exc))

    pool = ReaderPool(scope, limit=len(queries))
    read_until: dict[str, int] = {}
    try:
        for index, query in enumerate(queries):
            pool.start(f"follow {query.group}", run, query, cycle_s * index / len(queries))
        while not scope.is_set():
            for item in arrived(inbox, 0.25):
                if isinstance(item, _ReaderFailed):
                    raise item.error
                group, events, until = item
                until = max(until, read_until.get(group, -1))
                read_until[group] = until
                merge.push(group, events, until)
            _release_stalled(merge, stats, policy)
            stats.tell_slow_calls(policy.notice_after_s)
            # An empty batch when idle is a heartbeat: consumers can close what is old enough.
            yield merge.pop_ready()
    finally:
        pool.close()


def _release_stalled(merge: WatermarkMerge, stats: FetchStats, policy: RetryPolicy) -> None:
    """A group that has failed for a while no longer holds the watermark back; its next push
    registers it again."""
    if not stats.failing:
        return
    now = time.monotonic()
    for group, (since, _) in list(stats.failing.items()):
        if now - since >= policy.notice_after_s and group in merge.sources:
            merge.unregister(group)
