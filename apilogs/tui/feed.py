"""Where the TUI's data comes from: one read of the core's API turned into batches of (events,
request updates), the same shape whether it follows live (`Api.follow`) or reads a fixed window
(`Api.window_updates`: requests joined as the events stream, so a request shows up at its first
line, not once the window is read). Runs in a thread; no Textual here."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, Unpack

from apilogs.api import Api
from apilogs.fetch import FetchStats
from apilogs.fetch.xray import TraceReport
from apilogs.model import LogEvent, Request, RequestUpdate
from apilogs.spec import ReadSpec
from apilogs.updates import StepPacing, window_steps

__all__ = ["ApiFeed", "Batch", "Feed", "ReadPlan", "TraceReader", "trace_reader", "window_batches"]


@dataclass(frozen=True, slots=True)
class Batch:
    """One step of a read: events in time order with their `late` flag (for the stream view),
    the request updates they caused, and the clock (epoch ms) the read had reached."""

    events: tuple[tuple[LogEvent, bool], ...] = ()
    updates: tuple[RequestUpdate, ...] = ()
    now_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ReadPlan(ReadSpec):
    """What to read (the options `apilogs get` would take), and whether to follow."""

    follow: bool = True


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


def window_batches(
    events: Iterable[LogEvent], **pacing: Unpack[StepPacing]
) -> Generator[Batch, None, None]:
    """A window's events as batches (`apilogs.updates.window_steps`)."""
    for step in window_steps(events, **pacing):
        yield Batch(*step)


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
            for followed in self.api.follow(plan, stop=stop, stats=self.stats):
                if stop.is_set():
                    return
                events = tuple((f.event, f.late) for f in followed.events)
                emit(Batch(events, followed.updates, followed.now_ms))
            return
        steps = self.api.window_updates(plan, stop=stop, stats=self.stats)
        try:
            for step in steps:
                if stop.is_set():
                    return
                emit(Batch(*step))
        finally:
            # Ends the read's threads now, not when the generators are collected.
            close = getattr(steps, "close", None)
            if close is not None:
                close()
