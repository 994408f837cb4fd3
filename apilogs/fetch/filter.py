"""FilterLogEvents readers: one group per call, every page to the end, under the shared limiter.

`read_window` reads a fixed window; `follow_group` polls a group forever with an overlap so that
late-ingested events are still found, and drops what it already returned by event identity.
Readers never print: they count into `FetchStats` and the front end decides what to show."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from apilogs.aws import AwsContext, RateLimiter, error_code, is_throttle
from apilogs.model import RawEvent, Source

# How far back each poll reaches before the newest event seen, at least: CloudWatch Logs can
# ingest an event seconds after its timestamp, in a stream that did not exist a moment ago.
MIN_OVERLAP_MS = 5_000
MAX_OVERLAP_MS = 300_000
# Throttles and dropped connections slow a reader down; they never end the run.
MAX_BACKOFF_S = 20.0


@dataclass
class FetchStats:
    """Counters the readers bump and the front ends read (progress, end-of-run summary).

    Plain ints under the GIL; `notices` is what the user must be told (cut off, skipped)."""

    groups: int = 0
    groups_done: int = 0
    pages: int = 0
    events: int = 0
    errors_retried: int = 0
    duplicates: int = 0
    notices: list[str] = field(default_factory=list)
    limiter: RateLimiter | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def throttles(self) -> int:
        """Throttled reads so far (retried by botocore or by us: never lost)."""
        return self.limiter.throttles if self.limiter else 0

    def notice(self, text: str) -> None:
        with self._lock:
            if text not in self.notices:
                self.notices.append(text)


@dataclass(frozen=True, slots=True)
class GroupQuery:
    """One log group to read and the Sources whose events it holds.

    Several functions may share one group (Lambda's custom log group): their log streams are
    named `YYYY/MM/DD/{function}[{version}]{id}`, which attributes each event."""

    group: str
    region: str
    sources: tuple[Source, ...]

    def source_for(self, stream: str) -> Source:
        if len(self.sources) > 1:
            for source in self.sources:
                if source.function_name and f"/{source.function_name}[" in stream:
                    return source
        return self.sources[0]


def queries_for(sources: tuple[Source, ...]) -> list[GroupQuery]:
    """Group sources by (region, log group): each group is read once."""
    by_group: dict[tuple[str, str], list[Source]] = {}
    for source in sources:
        by_group.setdefault((source.region, source.log_group), []).append(source)
    return [GroupQuery(group, region, tuple(s)) for (region, group), s in by_group.items()]


def _events(query: GroupQuery, page: dict[str, Any]) -> list[RawEvent]:
    """A page's events, in the order the service gave them (ascending by timestamp; ties
    across streams are put in a fixed order by the merge). Runs for every event: positional
    arguments and no per-event lookups of what is the same for the whole page."""
    group = query.group
    if len(query.sources) == 1:
        source = query.sources[0]
        return [
            RawEvent(
                e["timestamp"],
                e.get("ingestionTime", 0),
                group,
                e.get("logStreamName", ""),
                e.get("eventId", ""),
                e["message"],
                source,
            )
            for e in page.get("events", ())
        ]
    source_for = query.source_for
    return [
        RawEvent(
            e["timestamp"],
            e.get("ingestionTime", 0),
            group,
            e.get("logStreamName", ""),
            e.get("eventId", ""),
            e["message"],
            source_for(e.get("logStreamName", "")),
        )
        for e in page.get("events", ())
    ]


class _Pager:
    """Calls FilterLogEvents with the limiter, backing off on throttles and transient errors."""

    def __init__(self, ctx: AwsContext, query: GroupQuery, stats: FetchStats) -> None:
        self.ctx = ctx
        self.query = query
        self.stats = stats
        self.client = ctx.client("logs", query.region)
        stats.limiter = ctx.logs_limiter

    def call(self, stop: threading.Event, **kwargs: Any) -> dict[str, Any] | None:
        """One page; None when the group is gone or `stop` was set."""
        delay = 0.5
        while not stop.is_set():
            self.ctx.logs_limiter.acquire()
            try:
                # `interleaved` is deprecated and always on in CloudWatch Logs, but emulators
                # (moto) return stream after stream without it: ask for time order explicitly.
                with self.ctx.logs_in_flight:
                    page: dict[str, Any] = self.client.filter_log_events(
                        logGroupName=self.query.group, interleaved=True, **kwargs
                    )
                self.stats.pages += 1
                return page
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    self.stats.notice(f"log group {self.query.group} does not exist: skipped")
                    return None
                if not is_throttle(exc) and error_code(exc) not in {
                    "ServiceUnavailableException",
                    "InternalFailure",
                    "ServiceUnavailable",
                }:
                    raise
                if is_throttle(exc):
                    self.ctx.logs_limiter.slow_down()
                else:
                    self.stats.errors_retried += 1
            except (
                botocore.exceptions.ConnectionError,
                botocore.exceptions.ReadTimeoutError,
                botocore.exceptions.ConnectionClosedError,
            ):
                # botocore already retried; keep going rather than lose the group's events.
                self.stats.errors_retried += 1
            stop.wait(delay)
            delay = min(MAX_BACKOFF_S, delay * 2)
        return None


def read_window(
    ctx: AwsContext,
    query: GroupQuery,
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    *,
    filter_pattern: str | None = None,
    stream_names: list[str] | None = None,
    stop: threading.Event | None = None,
) -> Generator[list[RawEvent], None, None]:
    """Every event of the group in [start_ms, end_ms], page by page, ascending."""
    stop = stop or threading.Event()
    pager = _Pager(ctx, query, stats)
    kwargs: dict[str, Any] = {"startTime": start_ms}
    if end_ms is not None:
        kwargs["endTime"] = end_ms
    if filter_pattern:
        kwargs["filterPattern"] = filter_pattern
    if stream_names:
        kwargs["logStreamNames"] = stream_names[:100]
    seen_tokens: set[str] = set()
    while True:
        page = pager.call(stop, **kwargs)
        if page is None:
            return
        events = _events(query, page)
        token = page.get("nextToken")
        # The parsed response is as large as the events again: let it go before waiting.
        del page
        if events:
            stats.events += len(events)
            yield events
            del events
        if not token:
            return
        if token in seen_tokens:
            stats.notice(
                f"{query.group}: the server returned the same page token twice; "
                "stopped reading this group here, later events of the window may be missing"
            )
            return
        seen_tokens.add(token)
        kwargs["nextToken"] = token


@dataclass
class FollowState:
    """What a follower remembers between polls: the newest timestamp and the keys it returned."""

    since_ms: int
    newest_ms: int = 0
    lag_ms: int = 0
    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)

    @property
    def overlap_ms(self) -> int:
        return max(MIN_OVERLAP_MS, min(MAX_OVERLAP_MS, 2 * self.lag_ms + 2_000))

    def poll_start(self) -> int:
        if not self.newest_ms:
            return self.since_ms
        return max(self.since_ms, self.newest_ms - self.overlap_ms)

    def admit(self, events: list[RawEvent], stats: FetchStats) -> list[RawEvent]:
        """The events not returned before; remembers them."""
        fresh = []
        for event in events:
            key = event.key
            if key in self.seen:
                stats.duplicates += 1
                continue
            self.seen[key] = event.timestamp
            fresh.append(event)
            if event.timestamp > self.newest_ms:
                self.newest_ms = event.timestamp
            lag = event.ingestion_time - event.timestamp
            if lag > self.lag_ms:
                self.lag_ms = min(lag, MAX_OVERLAP_MS)
        return fresh

    def forget_old(self) -> None:
        """Keys older than any future poll can return are dropped: memory stays bounded."""
        horizon = self.poll_start() - 1
        if len(self.seen) > 1024:
            self.seen = {k: ts for k, ts in self.seen.items() if ts >= horizon}


def follow_group(
    ctx: AwsContext,
    query: GroupQuery,
    since_ms: int,
    stats: FetchStats,
    emit: Callable[[GroupQuery, list[RawEvent], int], None],
    *,
    interval_s: float = 1.0,
    filter_pattern: str | None = None,
    stop: threading.Event,
    clock: Callable[[], float] = time.time,
) -> None:
    """Poll the group until `stop`; `emit(query, new_events, read_until_ms)` after every poll.

    `read_until_ms` is the time the poll started: the group has been read up to it, and anything
    older that shows up later is a late event (ingestion lag), which is still emitted."""
    state = FollowState(since_ms=since_ms)
    pager = _Pager(ctx, query, stats)
    while not stop.is_set():
        started_ms = int(clock() * 1000)
        kwargs: dict[str, Any] = {"startTime": state.poll_start()}
        if filter_pattern:
            kwargs["filterPattern"] = filter_pattern
        seen_tokens: set[str] = set()
        gone = False
        read_until = -1
        while not stop.is_set():
            page = pager.call(stop, **kwargs)
            if page is None:
                gone = not stop.is_set()
                break
            events = _events(query, page)
            token = page.get("nextToken")
            if token and events:
                # More pages follow, ascending: only what is older than this page's newest event
                # has certainly been read.
                read_until = max(read_until, events[-1].timestamp - 1)
            fresh = state.admit(events, stats)
            if fresh:
                stats.events += len(fresh)
                emit(query, fresh, read_until)
            if not token or token in seen_tokens:
                break
            seen_tokens.add(token)
            kwargs["nextToken"] = token
        if stop.is_set():
            return
        # The group has been read up to the poll's start: tell the merge even when nothing came.
        emit(query, [], started_ms - 1)
        state.forget_old()
        # A group that does not exist yet may appear (first invocation): keep polling, slower.
        stop.wait(interval_s * (5 if gone else 1))
