"""Request updates as lines stream: a window read in steps (`window_steps`), the shape following
gives, so a view shows a request at its first line rather than once the window is read; and
updates narrowed to the requests a filter keeps (`MatchingUpdates`)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import NamedTuple, TypedDict

from apilogs.join.correlate import Correlator
from apilogs.model import LogEvent, RequestUpdate, UpdateKind
from apilogs.stream import RequestFilter

__all__ = ["MatchingUpdates", "StepPacing", "WindowStep", "read_in_steps", "window_steps"]


class WindowStep(NamedTuple):
    """One step of a window read with its request updates (`Api.window_updates`): the events
    kept, each with its `late` flag (never late in a window), the updates every event read
    caused, and the time of the last event read (None before the first)."""

    events: tuple[tuple[LogEvent, bool], ...]
    updates: tuple[RequestUpdate, ...]
    now_ms: int | None


class StepPacing(TypedDict, total=False):
    """`window_steps`'s keyword arguments, for what hands them on."""

    keep: Callable[[LogEvent], bool] | None
    every_s: float
    max_events: int
    clock: Callable[[], float]


def window_steps(
    events: Iterable[LogEvent],
    *,
    keep: Callable[[LogEvent], bool] | None = None,
    every_s: float = 0.1,
    max_events: int = 5_000,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[WindowStep, None, None]:
    """A window's events (time order) → steps: the first event at once (the first row should
    not wait), then at most every `every_s` or `max_events`. Requests are joined as the events
    stream (NEW at their first line, UPDATED, CLOSED), from every event; `keep` chooses the
    events a step carries. The last step closes every request."""
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
            yield WindowStep(tuple(pending), tuple(correlator.updates()), last_ms)
            pending = []
            sent_at = clock()
    correlator.flush()
    yield WindowStep(tuple(pending), tuple(correlator.updates()), last_ms)


def read_in_steps(
    events: Iterator[LogEvent], keep: Callable[[LogEvent], bool] | None = None
) -> Iterator[WindowStep]:
    """`window_steps` of a read, which ends with them: closing the steps ends the read's
    threads now, not when the generators are collected."""
    steps = window_steps(events, keep=keep)
    try:
        yield from steps
    finally:
        steps.close()
        if isinstance(events, Generator):
            events.close()


class MatchingUpdates:
    """Request updates narrowed to the requests `where` keeps. A request is NEW to the consumer
    when it first matches (a 5xx filter sees a request once its status is known), then its
    UPDATED and CLOSED updates follow."""

    def __init__(self, where: RequestFilter | None = None, memory: int = 100_000) -> None:
        self.where = where if where is not None else RequestFilter()
        self.memory = memory
        self._reported: OrderedDict[str, None] = OrderedDict()

    def __call__(self, updates: Iterable[RequestUpdate]) -> list[RequestUpdate]:
        out: list[RequestUpdate] = []
        for update in updates:
            request = update.request
            if not self.where(request):
                continue
            key = request.request_id or ",".join(request.ids)
            if key not in self._reported:
                self._reported[key] = None
                if len(self._reported) > self.memory:
                    self._reported.popitem(last=False)
                if update.kind is not UpdateKind.NEW:
                    out.append(RequestUpdate(UpdateKind.NEW, request))
                    if update.kind is UpdateKind.UPDATED:
                        continue
            out.append(update)
        return out
