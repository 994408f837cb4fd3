"""Following, batch by batch: the stream layer's batches of (event, late) turned into what
`Api.follow` yields — the request updates they cause (requests close once quiet for
`close_after_ms` of the wall clock), and, when labelling, each line with its request's ID."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from apilogs.fetch import FetchStats
from apilogs.join.correlate import Correlator
from apilogs.join.label import LabeledEvent, Labeller
from apilogs.labeling import Shows, say_unlabelled
from apilogs.model import LogEvent, RequestUpdate

__all__ = ["CLOSE_AFTER_MS", "FollowBatch", "FollowedEvent", "Following"]

# While following, a request whose last line is this far behind the wall clock is closed: its
# lines arrive within a second or two of each other, the access line last.
CLOSE_AFTER_MS = 3_000


@dataclass(frozen=True, slots=True)
class FollowedEvent:
    event: LogEvent
    late: bool  # it arrived after later events were delivered
    # With `follow(label=True)`: its request's API Gateway request ID (see `LabeledEvent`).
    request_id: str | None = None
    probable: bool = False
    phase: str | None = None  # `init` / `restore`: see `LabeledEvent.phase`


@dataclass(frozen=True, slots=True)
class FollowBatch:
    """What one step of following brought: new events in time order (late ones flagged), and
    the request updates they caused. An empty batch is a heartbeat."""

    events: tuple[FollowedEvent, ...] = ()
    updates: tuple[RequestUpdate, ...] = ()
    now_ms: int = 0


@dataclass(frozen=True, slots=True)
class Following:
    """How a follow's batches are told: `correlator` joins every line read into requests (None:
    no updates), `labeller` labels them (None: unlabelled), `shows` picks the lines delivered
    (None: all of them), `clock` is the wall clock."""

    correlator: Correlator | None = None
    labeller: Labeller | None = None
    shows: Shows | None = None
    clock: Callable[[], float] = time.time
    close_after_ms: int = CLOSE_AFTER_MS

    def batches(
        self, read: Iterable[list[tuple[LogEvent, bool]]], stats: FetchStats
    ) -> Iterator[FollowBatch]:
        told = 0
        for batch in read:
            now_ms = int(self.clock() * 1000)
            updates = self._updates(batch, now_ms)
            if self.labeller is None:
                events = [FollowedEvent(event, late) for event, late in batch]
            else:
                labelled = self._labelled(self.labeller, batch, now_ms)
                told = say_unlabelled(self.labeller, stats, told)
                events = [
                    FollowedEvent(item.event, item.late, item.request_id, item.probable, item.phase)
                    for item in labelled
                ]
            shows = self.shows
            shown = tuple(f for f in events if shows is None or shows(f.event))
            yield FollowBatch(shown, updates, now_ms)

    def _updates(
        self, batch: list[tuple[LogEvent, bool]], now_ms: int
    ) -> tuple[RequestUpdate, ...]:
        correlator = self.correlator
        if correlator is None:
            return ()
        for event, _late in batch:
            correlator.add(event)
        correlator.advance(now_ms - self.close_after_ms)
        return tuple(correlator.updates())

    @staticmethod
    def _labelled(
        labeller: Labeller, batch: list[tuple[LogEvent, bool]], now_ms: int
    ) -> list[LabeledEvent]:
        ready: list[LabeledEvent] = []
        for event, late in batch:
            ready += labeller.add(event, late=late)
        ready += labeller.advance(now_ms)
        return ready
