"""Where the TUI's data comes from: one read of the core's API turned into batches of (events,
request updates), the same shape whether it follows live (`Api.follow`) or reads a fixed window
(`Api.events` joined by the core's `Correlator` as it streams, so a request shows up at its first
line, not once the window is read). Runs in a thread; no Textual here."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from apilogs.api import Api, EngineName
from apilogs.correlate import Correlator
from apilogs.fetch import FetchStats
from apilogs.fetch.filter import DEFAULT_MAX_LAG_MS
from apilogs.model import LogEvent, Request, RequestUpdate
from apilogs.times import TimeArg
from apilogs.xray import TraceReport

__all__ = ["ApiFeed", "Batch", "Feed", "ReadPlan", "TraceReader", "trace_reader", "window_batches"]


@dataclass(frozen=True, slots=True)
class Batch:
    """One step of a read: events in time order with their `late` flag (for the stream view),
    the request updates they caused, and the clock (epoch ms) the read had reached."""

    events: tuple[tuple[LogEvent, bool], ...] = ()
    updates: tuple[RequestUpdate, ...] = ()
    now_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What to read: the options `apilogs get` would take, and whether to follow."""

    start: TimeArg = "5m"
    end: TimeArg | None = None
    follow: bool = True
    sources: tuple[str, ...] = ()
    log_groups: tuple[str, ...] = ()
    filter_pattern: str | None = None
    grep: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    interval_s: float = 1.0
    max_lag_ms: int | None = None
    fail_after_s: float | None = None  # None: 60 s for a window, never when following
    live: bool = False  # follow through Live Tail instead of polling
    engine: EngineName = "filter"  # for a window: filter, insights or auto


class Feed(Protocol):
    """A source of batches. `run` blocks until the read ends or `stop` is set, calling `emit`
    for each batch from its own thread; errors are raised from `run`."""

    stats: FetchStats

    def run(self, stop: threading.Event, emit: Callable[[Batch], None]) -> None: ...


# A feed may read X-Ray traces too, as `traces(requests, stop)`: blocking (the app calls it
# from a thread worker), stopped by `stop`; what X-Ray refuses or lacks is in the report.
TraceReader = Callable[[Sequence[Request], threading.Event], TraceReport]


def trace_reader(feed: Feed) -> TraceReader | None:
    """The feed's `traces`, when it has one (a feed without it cannot read traces)."""
    reader = getattr(feed, "traces", None)
    return reader if callable(reader) else None


def _keeper(
    grep: tuple[re.Pattern[str], ...], exclude: tuple[re.Pattern[str], ...]
) -> Callable[[LogEvent], bool] | None:
    if not grep and not exclude:
        return None

    def keep(event: LogEvent) -> bool:
        message = event.raw.message
        if grep and not any(p.search(message) for p in grep):
            return False
        return not any(p.search(message) for p in exclude)

    return keep


def window_batches(
    events: Iterable[LogEvent],
    *,
    keep: Callable[[LogEvent], bool] | None = None,
    every_s: float = 0.1,
    max_events: int = 5_000,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[Batch, None, None]:
    """A window's events (time order) → batches: the first event at once (the first row should
    not wait), then at most every `every_s` or `max_events`. Requests are joined as the events
    stream (NEW at their first line, UPDATED, CLOSED); the last batch closes every one."""
    correlator = Correlator(track_updates=True)
    pending: list[tuple[LogEvent, bool]] = []
    sent_at = 0.0
    last_ms: int | None = None
    first = True
    for event in events:
        correlator.add(event)
        last_ms = event.raw.timestamp
        if keep is None or keep(event):
            pending.append((event, False))
        if first or len(pending) >= max_events or clock() - sent_at >= every_s:
            first = False
            yield Batch(tuple(pending), tuple(correlator.updates()), last_ms)
            pending = []
            sent_at = clock()
    correlator.flush()
    yield Batch(tuple(pending), tuple(correlator.updates()), last_ms)


class ApiFeed:
    """The read of an `Api` the TUI shows."""

    def __init__(self, api: Api, plan: ReadPlan, stats: FetchStats | None = None) -> None:
        self.api = api
        self.plan = plan
        self.stats = stats if stats is not None else FetchStats()

    def traces(self, requests: Sequence[Request], stop: threading.Event) -> TraceReport:
        """The X-Ray traces of these requests (`Api.traces`). Its own stats: a read of
        `aws/spans` must not take the notices of the feed's read."""
        return self.api.traces(requests, stop=stop)

    def run(self, stop: threading.Event, emit: Callable[[Batch], None]) -> None:
        plan = self.plan
        if plan.follow:
            for followed in self.api.follow(
                plan.start,
                sources=plan.sources,
                log_groups=plan.log_groups,
                filter_pattern=plan.filter_pattern,
                grep=plan.grep,
                exclude=plan.exclude,
                interval=plan.interval_s,
                live=plan.live,
                fail_after_s=plan.fail_after_s,
                stop=stop,
                stats=self.stats,
                max_lag_ms=plan.max_lag_ms if plan.max_lag_ms is not None else DEFAULT_MAX_LAG_MS,
            ):
                if stop.is_set():
                    return
                emit(
                    Batch(
                        tuple((f.event, f.late) for f in followed.events),
                        followed.updates,
                        followed.now_ms,
                    )
                )
            return
        events = self.api.events(
            plan.start,
            plan.end,
            sources=plan.sources,
            log_groups=plan.log_groups,
            filter_pattern=plan.filter_pattern,
            engine=plan.engine,
            fail_after_s=plan.fail_after_s if plan.fail_after_s is not None else 60.0,
            stop=stop,
            stats=self.stats,
        )
        batches = window_batches(events, keep=_keeper(plan.grep, plan.exclude))
        try:
            for batch in batches:
                if stop.is_set():
                    return
                emit(batch)
        finally:
            # Ends the read's threads now, not when the generators are collected.
            batches.close()
            close = getattr(events, "close", None)
            if close is not None:
                close()
