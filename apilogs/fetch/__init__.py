"""Read many log groups at once and hand back one time-ordered stream.

Each group gets a reader thread (the work is waiting on the network; the shared limiter keeps the
account's quota) feeding a small bounded queue, so memory does not grow with the window: a reader
that is ahead waits for the merge to catch up."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

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

_DONE = object()


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _PageChannel:
    """One group's pages, from its reader thread to the merge.

    The reader may fetch a page only once the merge has taken the previous one: at most two
    pages of a group are alive (the one being merged, the next one arriving), so memory is
    bounded by the number of groups, never by the window. The next page is still fetched while
    the merge works through the current one."""

    def __init__(self, stop: threading.Event) -> None:
        self.items: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.room = threading.Semaphore(1)
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
            assert isinstance(item, list)
            yield from item


def _reader(
    ctx: AwsContext,
    query: GroupQuery,
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    filter_pattern: str | None,
    channel: _PageChannel,
) -> None:
    pages = read_window(
        ctx, query, start_ms, end_ms, stats, filter_pattern=filter_pattern, stop=channel.stop
    )
    try:
        while channel.wait_for_room():
            page = next(pages, None)
            if page is None:
                channel.items.put(_DONE)
                return
            channel.items.put(page)
            del page  # the channel holds it now; this frame must not keep it alive
    except BaseException as exc:  # handed to the consumer, which raises it in the main thread
        channel.items.put(_Failed(exc))
    finally:
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
    threads = []
    for query in queries:
        channel = _PageChannel(stop)
        thread = threading.Thread(
            target=_reader,
            args=(ctx, query, start_ms, end_ms, stats, filter_pattern, channel),
            name=f"read {query.group}",
            daemon=True,
        )
        threads.append(thread)
        streams.append(channel.drain())
    for thread in threads:
        thread.start()
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
