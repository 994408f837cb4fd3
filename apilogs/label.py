"""Every line labelled with its request's API Gateway request ID, in time order: the hold-back.

A request's Lambda lines come before the execution-log line that names their Lambda request ID
(API Gateway logs `x-amzn-RequestId` once the Lambda has answered), so a line cannot always be
labelled when it is read. `Labeller` holds lines back, in order, until the line at the head of
the queue is known:

- its request is known (API Gateway's lines name it; a Lambda line's invocation was joined to
  a request by an ID, or by timing: then the label is *probable*);
- or it can no longer be known: an ID-less line outside any invocation, an invocation that no
  request still waiting for its answer could claim (no API Gateway call to its function, just
  before it started, is unanswered);
- or it has waited `hold_ms` (stream time: the newest event's timestamp, or in follow mode the
  clock), or `max_held` lines wait behind it. It goes out with what is known then.

Nothing is held forever, memory is bounded by `max_held` lines, and the order never changes: a
line waits for the lines before it. Pure: no I/O, no clock of its own (follow mode passes it).

Following (`in_order=False`), only the lines whose request is not known yet wait: a line that
is known goes out at once, even while older ones are held, and a held line that goes out after
newer ones is marked `late`. In order, one slow request (a Lambda line is named only once the
function has answered) would hold back every line after it, for every request, for as long as
it runs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from apilogs.correlate import DEFAULT_GRACE_MS, Correlator, Slot
from apilogs.model import LogEvent, Role, per_event

__all__ = ["DEFAULT_HOLD_MS", "DEFAULT_MAX_HELD", "LabeledEvent", "Labeller", "label_events"]

# API Gateway waits at most 29 s for an integration: by then every request has named its
# invocation or given up on it.
DEFAULT_HOLD_MS = 30_000
DEFAULT_MAX_HELD = 100_000


@per_event
@dataclass(frozen=True, slots=True)
class LabeledEvent:
    """An event and the API Gateway request ID of its request (None: not known)."""

    event: LogEvent
    request_id: str | None = None
    probable: bool = False  # the request was joined to this Lambda line by timing alone
    late: bool = False  # following: it arrived after later events were delivered


class Labeller:
    """Feed events in time order with `add`; take the labelled events it returns, in the same
    order. `advance(now_ms)` moves the clock without events (follow mode); `flush()` at the end.

    `expect_calls`: the execution log (at INFO) is read, so every invocation API Gateway made
    is preceded by its `Sending request to` line; an invocation no such call precedes is not a
    request's and need not wait. Without it, Lambda lines wait for their request until
    `hold_ms`.

    `in_order=False` (following): a line is returned as soon as it is known, held lines are
    looked at again on `advance`, and one returned after newer lines is `late`."""

    def __init__(
        self,
        hold_ms: int = DEFAULT_HOLD_MS,
        max_held: int = DEFAULT_MAX_HELD,
        *,
        expect_calls: bool = True,
        in_order: bool = True,
    ) -> None:
        self.hold_ms = hold_ms
        self.max_held = max(1, max_held)
        self.expect_calls = expect_calls
        self.in_order = in_order
        self._delivered_ms = -1  # the newest line returned (in_order=False: what makes one late)
        grace = max(DEFAULT_GRACE_MS, hold_ms)
        self.correlator = Correlator(grace_ms=grace, keep_events=False)
        self._held: deque[tuple[LogEvent, Slot, bool]] = deque()
        self._clock = 0
        # The correlator's version when the head was last found waiting: asked again only
        # once something changed, or its time is up.
        self._seen_version = -1
        self.released_unknown = 0  # lines let go without a label, though one may have come
        self.held_max = 0

    def add(self, event: LogEvent, *, late: bool = False) -> list[LabeledEvent]:
        """`late`: carried along to the labelled event (follow mode's flag)."""
        slot = Slot()
        self.correlator.add(event, slot)
        timestamp = event.raw.timestamp
        if timestamp > self._clock:
            self._clock = timestamp
        held = self._held
        if not held or not self.in_order:
            own = event.line.request_id
            done: LabeledEvent | None
            if own and event.raw.source.role is not Role.AUTHORIZER:
                done = LabeledEvent(event, own, False, late)  # API Gateway's own line
            else:
                done = self._settled(event, slot, late)
            if done is not None:
                if timestamp > self._delivered_ms:
                    self._delivered_ms = timestamp
                return [done]
        held.append((event, slot, late))
        if len(held) > self.held_max:
            self.held_max = len(held)
        if not self.in_order:
            return self._release_known() if len(held) > self.max_held else []
        return self._release()

    def advance(self, now_ms: int) -> list[LabeledEvent]:
        """The clock moved on without events."""
        if now_ms > self._clock:
            self._clock = now_ms
        self.correlator.advance(now_ms)
        return self._release() if self.in_order else self._release_known()

    def flush(self) -> list[LabeledEvent]:
        """Everything still held, labelled with what is known at the end of the input."""
        out = [self._label(event, slot, late) for event, slot, late in self._held]
        self._held.clear()
        self.correlator.flush()
        return out

    @property
    def held(self) -> int:
        return len(self._held)

    # -- internals -----------------------------------------------------------------------------

    def _release(self) -> list[LabeledEvent]:
        out: list[LabeledEvent] = []
        held = self._held
        version = self.correlator.version
        horizon = self._clock - self.hold_ms
        if (
            held
            and version == self._seen_version
            and len(held) <= self.max_held
            and held[0][0].raw.timestamp >= horizon
        ):
            return out  # nothing the head waits for has changed
        while held:
            event, slot, late = held[0]
            done = self._settled(event, slot, late)
            if done is None:
                if len(held) <= self.max_held and event.raw.timestamp >= horizon:
                    self._seen_version = version
                    break
                done = self._label(event, slot, late)
                if done.request_id is None:
                    self.released_unknown += 1
            held.popleft()
            out.append(done)
        return out

    def _release_known(self) -> list[LabeledEvent]:
        """in_order=False: every held line that is known, or whose time is up, in time order;
        the others stay, in theirs."""
        held = self._held
        version = self.correlator.version
        horizon = self._clock - self.hold_ms
        if not held or (
            version == self._seen_version
            and len(held) <= self.max_held
            and held[0][0].raw.timestamp >= horizon
        ):
            return []
        over = len(held) - self.max_held
        out: list[LabeledEvent] = []
        waiting: deque[tuple[LogEvent, Slot, bool]] = deque()
        for event, slot, late in held:
            done = self._settled(event, slot, late)
            if done is None:
                if over <= 0 and event.raw.timestamp >= horizon:
                    waiting.append((event, slot, late))
                    continue
                done = self._label(event, slot, late)
                if done.request_id is None:
                    self.released_unknown += 1
            over -= 1
            timestamp = event.raw.timestamp
            if timestamp < self._delivered_ms and not done.late:
                done = LabeledEvent(done.event, done.request_id, done.probable, True)
            out.append(done)
        if out:
            newest = out[-1].event.raw.timestamp
            if newest > self._delivered_ms:
                self._delivered_ms = newest
        self._held = waiting
        self._seen_version = version
        return out

    def _settled(self, event: LogEvent, slot: Slot, late: bool) -> LabeledEvent | None:
        """The labelled event when its label is final, else None (it must wait)."""
        line = event.line
        role = event.raw.source.role
        if line.request_id and role is not Role.AUTHORIZER:
            return LabeledEvent(event, line.request_id, late=late)
        builder = slot.builder
        if builder is None:
            return None if slot.waiting else LabeledEvent(event, late=late)
        root = builder.root()
        if root.request_id is not None:
            return LabeledEvent(event, root.request_id, late=late)
        owner = root.probable_owner
        if owner is not None:
            owner = owner.root()
            if owner.request_id is not None:
                if any(i.end_ms is None for i in root.invocations.values()):
                    # Joined by timing while it runs: its REPORT may still confirm the join
                    # with the request's X-Ray trace ID. Wait for it (within the hold).
                    return None
                return LabeledEvent(event, owner.request_id, probable=True, late=late)
        if role is not Role.LAMBDA and role is not Role.AUTHORIZER:
            return LabeledEvent(event, late=late)  # an access or other line without the ID
        if not self.expect_calls:
            return None
        if self.correlator.may_be_claimed(root):
            return None
        return LabeledEvent(event, late=late)

    def _label(self, event: LogEvent, slot: Slot, late: bool) -> LabeledEvent:
        """The best label known now (the line goes out whatever it is)."""
        line = event.line
        if line.request_id and event.raw.source.role is not Role.AUTHORIZER:
            return LabeledEvent(event, line.request_id, late=late)
        builder = slot.builder
        if builder is None:
            return LabeledEvent(event, late=late)
        root = builder.root()
        if root.request_id is not None:
            return LabeledEvent(event, root.request_id, late=late)
        owner = root.probable_owner
        if owner is not None and owner.root().request_id is not None:
            return LabeledEvent(event, owner.root().request_id, probable=True, late=late)
        return LabeledEvent(event, late=late)


def label_events(
    events: Iterable[LogEvent],
    hold_ms: int = DEFAULT_HOLD_MS,
    max_held: int = DEFAULT_MAX_HELD,
    *,
    expect_calls: bool = True,
) -> Iterator[LabeledEvent]:
    """A window's events, each with its request's API Gateway request ID, in the same order."""
    labeller = Labeller(hold_ms, max_held, expect_calls=expect_calls)
    for event in events:
        yield from labeller.add(event)
    yield from labeller.flush()
