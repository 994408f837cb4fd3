"""Read many log groups at once and hand back one time-ordered stream.

Each group gets a reader thread (the work is waiting on the network; the shared limiter keeps the
account's quota) feeding a small bounded queue, so memory does not grow with the window: a reader
that is ahead waits for the merge to catch up."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from apilogs.aws import AwsContext
from apilogs.fetch.filter import (
    FetchStats,
    GroupQuery,
    follow_group,
    queries_for,
    read_window,
)
from apilogs.merge import Released, WatermarkMerge, merge_sorted
from apilogs.model import RawEvent

__all__ = ["FetchStats", "GroupQuery", "Released", "fetch_window", "follow", "queries_for"]

# Pages a reader may hold beyond the one being merged. CloudWatch Logs pages are at most 1 MB,
# so this bounds memory by the number of readers, never by the window; one keeps the service
# busy while the merge works.
PAGES_AHEAD = 1
_DONE = object()


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Split:
    """The rest of a group comes from these channels, one after the other."""

    __slots__ = ("channels",)

    def __init__(self, channels: list[_PageChannel]) -> None:
        self.channels = channels


class _PageChannel:
    """One group's pages, from its reader thread to the merge.

    The reader may fetch a page only while fewer than PAGES_AHEAD pages wait for the merge: a
    group never has more than PAGES_AHEAD + 1 pages alive per reader, however large the
    window."""

    def __init__(self, stop: threading.Event) -> None:
        self.items: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.room = threading.Semaphore(PAGES_AHEAD)
        self.stop = stop

    def wait_for_room(self) -> bool:
        while not self.stop.is_set():
            if self.room.acquire(timeout=0.2):
                return True
        return False

    def drain(self) -> Iterator[RawEvent]:
        while True:
            item = self.items.get()
            self.room.release()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
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


def _start_reader(
    job: _Job,
    start_ms: int,
    end_ms: int | None,
    channel: _PageChannel,
    *,
    may_split: bool,
    skip: frozenset[tuple[str, str, str]] = frozenset(),
) -> None:
    threading.Thread(
        target=_reader,
        args=(job, start_ms, end_ms, channel, may_split, skip),
        name=f"read {job.query.group}",
        daemon=True,
    ).start()


def _slices(start_ms: int, end_ms: int | None, now_ms: int) -> list[tuple[int, int | None]]:
    """[start, end] cut in SLICES consecutive, non-overlapping ranges (endTime is inclusive)."""
    last = end_ms if end_ms is not None else now_ms
    step = (last - start_ms) // SLICES
    bounds = [start_ms + i * step for i in range(SLICES)]
    ranges: list[tuple[int, int | None]] = [
        (bounds[i], bounds[i + 1] - 1) for i in range(SLICES - 1)
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
    pages = read_window(
        job.ctx,
        job.query,
        start_ms,
        end_ms,
        job.stats,
        filter_pattern=job.filter_pattern,
        stop=channel.stop,
    )
    first = True
    try:
        while channel.wait_for_room():
            page = next(pages, None)
            if page is None:
                channel.items.put(_DONE)
                return
            if skip and page and page[0].timestamp == start_ms:
                # The events of the split point the first page already delivered.
                page = [e for e in page if e.key not in skip]
            if first and may_split and len(page) >= SPLIT_MIN_EVENTS:
                split_at = page[-1].timestamp
                last = end_ms if end_ms is not None else int(time.time() * 1000)
                if last - split_at >= SPLIT_MIN_SPAN_MS and job.slices.take(SLICES):
                    pages.close()  # the rest is read again, in slices, from split_at on
                    delivered = frozenset(e.key for e in page if e.timestamp == split_at)
                    channel.items.put(page)
                    channels = []
                    for index, (lo, hi) in enumerate(_slices(split_at, end_ms, last)):
                        sub = _PageChannel(channel.stop)
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
            channel.items.put(page)
            del page  # the channel holds it now; this frame must not keep it alive
    except BaseException as exc:  # handed to the consumer, which raises it in the main thread
        channel.items.put(_Failed(exc))


def _counted(events: Iterator[RawEvent], stats: FetchStats) -> Iterator[RawEvent]:
    """A group's stream that counts itself done for the progress line once exhausted."""
    yield from events
    stats.groups_done += 1


def fetch_window(
    ctx: AwsContext,
    queries: list[GroupQuery],
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    *,
    filter_pattern: str | None = None,
) -> Iterator[RawEvent]:
    """Every event of every group in the window, merged by (timestamp, group, stream, event id).

    Closing the generator (or an exception in the consumer) stops the readers."""
    stop = threading.Event()
    stats.groups += len(queries)
    streams = []
    slices = _SliceBudget(MAX_SLICE_READERS)
    for query in queries:
        channel = _PageChannel(stop)
        _start_reader(
            _Job(ctx, query, stats, filter_pattern, slices),
            start_ms,
            end_ms,
            channel,
            may_split=True,
        )
        streams.append(_counted(channel.drain(), stats))
    try:
        yield from merge_sorted(streams)
    finally:
        stop.set()


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
    stop: threading.Event | None = None,
) -> Iterator[list[Released]]:
    """Poll every group until `stop` (or forever); yield batches in time order.

    A watermark holds each event until every group has been read past its timestamp, so output
    stays ordered across groups; an event ingested late is still yielded, flagged."""
    stop = stop or threading.Event()
    stats.groups += len(queries)
    inbox: queue.Queue[tuple[str, list[RawEvent], int] | _Failed] = queue.Queue()
    merge = WatermarkMerge(max_hold_ms=max_hold_ms)
    for query in queries:
        merge.register(query.group)

    def emit(query: GroupQuery, events: list[RawEvent], read_until: int) -> None:
        inbox.put((query.group, events, read_until))

    def run(query: GroupQuery) -> None:
        try:
            follow_group(
                ctx,
                query,
                since_ms,
                stats,
                emit,
                interval_s=interval_s,
                filter_pattern=filter_pattern,
                stop=stop,
                clock=clock,
            )
        except BaseException as exc:
            inbox.put(_Failed(exc))

    for query in queries:
        threading.Thread(
            target=run, args=(query,), name=f"follow {query.group}", daemon=True
        ).start()
    read_until: dict[str, int] = {}
    try:
        while not stop.is_set():
            try:
                item = inbox.get(timeout=0.25)
            except queue.Empty:
                item = None
            while item is not None:
                if isinstance(item, _Failed):
                    raise item.error
                group, events, until = item
                until = max(until, read_until.get(group, -1))
                read_until[group] = until
                merge.push(group, events, until)
                try:
                    item = inbox.get_nowait()
                except queue.Empty:
                    item = None
            # An empty batch when idle is a heartbeat: consumers can close what is old enough.
            yield merge.pop_ready()
    finally:
        stop.set()
