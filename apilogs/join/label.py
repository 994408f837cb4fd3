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
- or it has waited `hold_ms` since it was read (stream time: the newest event's timestamp,
  moved on by the wall clock while a follow's stream is quiet), or `max_held` lines wait behind
  it. It goes out with what is known then.

Nothing is held forever, memory is bounded by `max_held` lines, and the order never changes: a
line waits for the lines before it. Pure: no I/O, no clock of its own (follow mode passes it).

Following (`in_order=False`), a line still waiting holds back the lines after it for
`block_ms` at most (of stream time, or of the wall clock since it was read); then the known
lines after it go out, and it is marked `late` when it goes. A quick request is answered within
that, so its lines keep their order; in order, one slow request (a Lambda line is named only
once the function has answered) would hold back every line after it, for every request, for as
long as it runs. Nor does a running function keep its own lines waiting that long: once a line
has waited `guess_after_ms`, it goes labelled *probable* when one request alone may have
started its invocation."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from apilogs.join.correlate import DEFAULT_GRACE_MS, Correlator, Slot
from apilogs.model import Line, LineKind, LogEvent, Role, per_event

__all__ = [
    "DEFAULT_BLOCK_MS",
    "DEFAULT_GUESS_AFTER_MS",
    "DEFAULT_HOLD_MS",
    "DEFAULT_MAX_HELD",
    "LabeledEvent",
    "Labeller",
    "label_events",
]

# API Gateway waits at most 29 s for an integration: by then every request has named its
# invocation or given up on it.
DEFAULT_HOLD_MS = 30_000
DEFAULT_MAX_HELD = 100_000
# Following: how far the stream may run past a line still waiting before the known lines after
# it go out ahead of it. Most requests are answered sooner, so their lines keep their order.
DEFAULT_BLOCK_MS = 500
# Following: how long (wall clock) a line waits, after it was read, for API Gateway to name its
# invocation before it goes with a probable label (see `Labeller`): a function that runs for
# seconds must not keep its lines off the screen until it has answered.
DEFAULT_GUESS_AFTER_MS = 500
_NEVER = 2**62
# Enum members the per-event code uses, read from module names: on Python 3.11, reading
# `Role.LAMBDA` from its class takes EnumType.__getattr__'s slow path (several times a global).
_ACCESS = Role.ACCESS
_AUTHORIZER = Role.AUTHORIZER
_EXECUTION = Role.EXECUTION
_LAMBDA = Role.LAMBDA
# Execution-log kinds the joins use even when the line carries only its request ID: the call
# to an integration (joins by timing), API Gateway giving up on it, the request's last line,
# and its first (a Lambda line's correlation ID joins only a request the correlator knows).
_JOINING_KINDS = frozenset(
    {
        LineKind.APIGW_START,
        LineKind.APIGW_ENDPOINT_URI,
        LineKind.APIGW_TIMEOUT,
        LineKind.APIGW_COMPLETED,
    }
)
# The slot of a line the correlator does not see (`_unseen`): nothing writes to it.
_UNSEEN = Slot()


@per_event
@dataclass(frozen=True, slots=True)
class LabeledEvent:
    """An event and the API Gateway request ID of its request (None: not known)."""

    event: LogEvent
    request_id: str | None = None
    probable: bool = False  # the request was joined to this Lambda line by timing alone
    late: bool = False  # following: it arrived after later events were delivered
    # `init` / `restore`: the line is its invocation's environment starting (placed there by
    # where it sits in its stream, `apilogs.join.streams`); None: not known to be.
    phase: str | None = None


# A line held: (event, slot, late, deadline, read). See `Labeller._held`.
_Held = tuple[LogEvent, Slot, bool, int, int]


class Labeller:
    """Feed events in time order with `add`; take the labelled events it returns, in the same
    order. `advance(now_ms)` moves the clock without events (follow mode); `flush()` at the end.

    `expect_calls`: the execution log (at INFO) is read, so every invocation API Gateway made
    is preceded by its `Sending request to` line; an invocation no such call precedes is not a
    request's and need not wait. Without it, Lambda lines wait for their request until
    `hold_ms`.

    `in_order=False` (following): a line still waiting holds back the lines after it only
    until the stream is `block_ms` past it, or `block_ms` have gone by on the wall clock since
    it was read; then every line that is known goes out, and a
    held line returned after newer ones is `late`. A quick request's lines keep their order
    (its answer is read in the same stretch); a slow one's do not hold up the stream.

    Following, a Lambda line still unnamed `guess_after_ms` after it was read (wall clock) goes
    with a probable label when one request alone is waiting for an answer from its function
    and called it just before the invocation began (`Correlator.likely_caller`): a function
    that runs for seconds shows what it prints while it runs. Its later lines take the
    confirmed ID once API Gateway logs it."""

    def __init__(
        self,
        hold_ms: int = DEFAULT_HOLD_MS,
        max_held: int = DEFAULT_MAX_HELD,
        *,
        expect_calls: bool = True,
        in_order: bool = True,
        block_ms: int = DEFAULT_BLOCK_MS,
        guess_after_ms: int = DEFAULT_GUESS_AFTER_MS,
    ) -> None:
        self.hold_ms = hold_ms
        self.max_held = max(1, max_held)
        self.expect_calls = expect_calls
        self.in_order = in_order
        self.block_ms = block_ms
        self.guess_after_ms = guess_after_ms
        grace = max(DEFAULT_GRACE_MS, hold_ms)
        self.correlator = Correlator(grace_ms=grace, keep_events=False)
        # Read for every line: what the correlator knows changed only when its version moved.
        self._changes = self.correlator.changes
        # (event, slot, late, deadline, read): a line waits until the clock passes its deadline,
        # the clock when it was read + hold_ms (following, lines read from the past wait too).
        # In order, a line labelled when read waits as its LabeledEvent behind the first that
        # is not; the head is never one.
        self._held: deque[_Held | LabeledEvent | LogEvent] = deque()
        self._clock = 0
        self._newest = 0  # the newest event's timestamp: stream time, never the wall clock
        self._newest_then = 0  # `_newest` at the last `advance`, and the wall clock when it moved
        self._moved_at = 0
        self._delivered_ms = -1  # the newest line returned (in_order=False: what makes one late)
        # The correlator's version when the head was last found waiting: asked again only
        # once something changed, or its time is up.
        self._seen_version = -1
        self._head_deadline = 0  # ... and that line's deadline
        # in_order=False: when the stream passes this, a line held now stops blocking the
        # lines after it, and what is held is looked at again.
        self._unblock_at = _NEVER
        self._unblock_wall = _NEVER  # ... or when the wall clock passes this
        self._wall = 0  # the wall clock at the last `advance` (following): when lines are read
        # Lines let go without a label, though one might have come: no request named them
        # within `hold_ms` (`unclaimed`), or `max_held` lines waited behind them (`crowded`).
        self.unclaimed = 0
        self.crowded = 0
        self.guessed = 0  # following: lines of a running invocation let go with a probable label
        self.held_max = 0

    def add(self, event: LogEvent, *, late: bool = False) -> list[LabeledEvent]:
        """`late`: carried along to the labelled event (follow mode's flag)."""
        if not self.in_order:
            return self._add_following(event, late)
        # A window's lines, in time order: this runs for every line, so the line labelled when
        # read (most are: API Gateway's name their request) costs as little as can be.
        line = event.line
        raw = event.raw
        own = line.request_id
        role = raw.source.role
        if (
            role is _EXECUTION
            and own is not None
            # `_unseen`, inline: nearly half the lines of a window are such lines.
            and line.kind not in _JOINING_KINDS
            and line.lambda_request_id is None
            and line.trace_id is None
            and line.extended_request_id is None
        ):
            slot = _UNSEEN
        elif own and (role is _EXECUTION or role is _ACCESS):
            # Labelled by its own ID, and never held in a Lambda stream (whose held lines read
            # each other's slots): nothing asks where it went.
            slot = _UNSEEN
            self.correlator.add(event)
        else:
            slot = Slot()
            self.correlator.add(event, slot)
        timestamp = raw.timestamp
        if timestamp > self._clock:
            self._clock = timestamp
        if timestamp > self._newest:
            self._newest = timestamp
        held = self._held
        if own and role is not _AUTHORIZER:
            if not held:
                return [LabeledEvent(event, own, False, late)]
            # It goes out with the line it waits behind, labelled then by its own ID: held as
            # the event itself, one object fewer per line for the collector to walk meanwhile.
            held.append(event if not late else LabeledEvent(event, own, False, late))
        else:
            if not held:
                settled = self._settled(event, slot, late)
                if settled is not None:
                    return [settled]
            held.append((event, slot, late, self._clock + self.hold_ms, self._wall))
        count = len(held)
        if count > self.held_max:
            self.held_max = count
        if (
            self._changes.version == self._seen_version
            and count <= self.max_held
            and self._head_deadline >= self._clock
        ):
            return []  # nothing the line at the head waits for has changed
        return self._release()

    def _add_following(self, event: LogEvent, late: bool) -> list[LabeledEvent]:
        line = event.line
        if event.raw.source.role is _EXECUTION and line.request_id and _unseen(line):
            slot = _UNSEEN
        else:
            slot = Slot()
            self.correlator.add(event, slot)
        timestamp = event.raw.timestamp
        if timestamp > self._clock:
            self._clock = timestamp
        if timestamp > self._newest:
            self._newest = timestamp
        held = self._held
        out: list[LabeledEvent] | None = None
        if held and not self._blocks(held[-1]):
            # No line held blocks this one any more: the older ones that can go first.
            out = self._release()
            held = self._held  # a new deque when lines stay behind
        if not held or not self._blocks(held[-1]):
            own = event.line.request_id
            done: LabeledEvent | None
            if own and event.raw.source.role is not _AUTHORIZER:
                done = LabeledEvent(event, own, False, late)  # API Gateway's own line
            else:
                done = self._settled(event, slot, late)
            if done is not None:
                if timestamp > self._delivered_ms:
                    self._delivered_ms = timestamp
                if out is None:
                    return [done]
                out.append(done)
                return out
        held.append((event, slot, late, self._clock + self.hold_ms, self._wall))
        if len(held) > self.held_max:
            self.held_max = len(held)
        return self._release() if out is None else out + self._release()

    def advance(self, now_ms: int) -> list[LabeledEvent]:
        """The wall clock is at `now_ms` (following). Time here is the stream's: the newest
        event's timestamp, moved on by the wall clock only while no newer event comes. So the
        lines of `get --watch -s 10m`, minutes old when read, wait for their requests as a
        window's do, and a line held while the stream is quiet still goes in `hold_ms`."""
        if now_ms > self._wall:
            self._wall = now_ms
        if not self._newest:
            return []  # nothing read yet: nothing to wait for
        if self._newest != self._newest_then:
            self._newest_then = self._newest
            self._moved_at = now_ms
        stream_ms = self._newest + max(0, now_ms - self._moved_at)
        if stream_ms > self._clock:
            self._clock = stream_ms
        self.correlator.advance(stream_ms)
        return self._release()

    def flush(self) -> list[LabeledEvent]:
        """Everything still held, labelled with what is known at the end of the input."""
        out = [
            self._label(item[0], item[1], item[2]) if isinstance(item, tuple) else _labelled(item)
            for item in self._held
        ]
        self._held.clear()
        self.correlator.flush()
        return out

    @property
    def released_unknown(self) -> int:
        """Lines let go without a label, though one might have come (`unclaimed` + `crowded`)."""
        return self.unclaimed + self.crowded

    @property
    def held(self) -> int:
        return len(self._held)

    # -- internals -----------------------------------------------------------------------------

    def _release(self) -> list[LabeledEvent]:
        held = self._held
        if not held:
            return []
        version = self._changes.version
        clock = self._clock
        # The head is waiting (see `_waiting`); read without the call: this runs whenever the
        # correlator's version moved, for every line while a head waits.
        deadline: int = held[0][3]  # type: ignore[index]
        unordered = not self.in_order
        if (
            version == self._seen_version
            and len(held) <= self.max_held
            and deadline >= clock
            and (
                not unordered
                or (self._newest < self._unblock_at and self._wall < self._unblock_wall)
            )
        ):
            return []  # nothing the head waits for has changed
        out: list[LabeledEvent] = []
        while held:
            item = held[0]
            if not isinstance(item, tuple):  # in order: labelled when read
                held.popleft()
                out.append(
                    LabeledEvent(item, item.line.request_id, False, False)
                    if isinstance(item, LogEvent)
                    else item
                )
                continue
            event, slot, late, deadline, _ = item
            done = self._settled(event, slot, late)
            if done is None:
                if len(held) <= self.max_held and deadline >= clock:
                    self._seen_version = version
                    self._head_deadline = deadline
                    if unordered:
                        if self._blocks(held[0]):
                            self._unblock_at = event.raw.timestamp + self.block_ms
                            self._unblock_wall = _waiting(held[0])[4] + self.block_ms
                        else:
                            out += self._release_known(clock)
                    break
                done = self._label(event, slot, late)
                if done.request_id is None and not slot.speculative:
                    if len(held) > self.max_held:
                        self.crowded += 1
                    else:
                        self.unclaimed += 1
            held.popleft()
            out.append(done)
        if unordered and out:
            out = self._mark_late(out)
        return out

    def _release_known(self, clock: int) -> list[LabeledEvent]:
        """in_order=False, the head's block over: every held line that is known (or whose time
        is up) and that no line still blocking comes before, in time order; the others stay, in
        theirs."""
        out: list[LabeledEvent] = []
        waiting: deque[_Held | LabeledEvent | LogEvent] = deque()
        self._unblock_at = self._unblock_wall = _NEVER
        held = self._held
        while held:
            item = _waiting(held.popleft())
            event, slot, late, deadline, read = item
            done = self._settled(event, slot, late)
            if done is None and read + self.guess_after_ms <= self._wall:
                done = self._guessed(event, slot, late)
                if done is None and slot.speculative and slot.waiting:
                    # Held only in case a START follows in its stream (a first print): when
                    # following, it does not wait longer than a guess would.
                    done = self._label(event, slot, late)
            if done is None:
                if deadline >= clock:
                    waiting.append(item)
                    if self._blocks(item):
                        # It blocks the lines after it (they keep their place behind it).
                        self._unblock_at = event.raw.timestamp + self.block_ms
                        self._unblock_wall = read + self.block_ms
                        waiting.extend(held)
                        held.clear()
                    continue
                done = self._label(event, slot, late)
                if done.request_id is None and not slot.speculative:
                    self.unclaimed += 1
            out.append(done)
        self._held = waiting
        return out

    def _blocks(self, item: _Held | LabeledEvent | LogEvent) -> bool:
        """A held line blocks the lines after it until the stream is `block_ms` past it, or
        `block_ms` have gone by on the wall clock since it was read."""
        line = _waiting(item)
        return (
            line[0].raw.timestamp >= self._newest - self.block_ms
            and line[4] + self.block_ms > self._wall
        )

    def _mark_late(self, out: list[LabeledEvent]) -> list[LabeledEvent]:
        delivered = self._delivered_ms
        marked = []
        for done in out:
            timestamp = done.event.raw.timestamp
            if timestamp < delivered and not done.late:
                done = LabeledEvent(done.event, done.request_id, done.probable, True, done.phase)
            elif timestamp > delivered:
                delivered = timestamp
            marked.append(done)
        self._delivered_ms = delivered
        return marked

    def _settled(self, event: LogEvent, slot: Slot, late: bool) -> LabeledEvent | None:
        """The labelled event when its label is final, else None (it must wait)."""
        line = event.line
        role = event.raw.source.role
        if line.request_id and role is not _AUTHORIZER:
            return LabeledEvent(event, line.request_id, late=late, phase=slot.phase)
        correlator = self.correlator
        request_id = correlator.request_of(slot)
        if request_id is not None:
            return LabeledEvent(event, request_id, late=late, phase=slot.phase)
        probable = correlator.probable_request_of(slot)
        if probable is not None:
            if correlator.running(slot):
                # Joined by timing while it runs: its REPORT may still confirm the join
                # with the request's X-Ray trace ID. Wait for it (within the hold).
                return None
            return LabeledEvent(event, probable, probable=True, late=late, phase=slot.phase)
        if not slot.joined:
            return None if slot.waiting else LabeledEvent(event, late=late, phase=slot.phase)
        if role is not _LAMBDA and role is not _AUTHORIZER:
            return LabeledEvent(
                event, late=late, phase=slot.phase
            )  # an access or other line without the ID
        if not self.expect_calls:
            return None
        if correlator.may_be_claimed(slot):
            return None
        return LabeledEvent(event, late=late, phase=slot.phase)

    def _guessed(self, event: LogEvent, slot: Slot, late: bool) -> LabeledEvent | None:
        """Following, a line whose block is over and whose invocation is still unnamed (API
        Gateway names it once the function has answered, which may take up to 29 s): it goes
        now, labelled probable, when one request alone may have started its invocation."""
        caller = self.correlator.likely_caller(slot)
        if caller is None:
            return None
        self.guessed += 1
        return LabeledEvent(event, caller, probable=True, late=late, phase=slot.phase)

    def _label(self, event: LogEvent, slot: Slot, late: bool) -> LabeledEvent:
        """The best label known now (the line goes out whatever it is)."""
        line = event.line
        if line.request_id and event.raw.source.role is not _AUTHORIZER:
            return LabeledEvent(event, line.request_id, late=late, phase=slot.phase)
        request_id = self.correlator.request_of(slot)
        if request_id is not None:
            return LabeledEvent(event, request_id, late=late, phase=slot.phase)
        probable = self.correlator.probable_request_of(slot)
        if probable is not None:
            return LabeledEvent(event, probable, probable=True, late=late, phase=slot.phase)
        return LabeledEvent(event, late=late, phase=slot.phase)


def _unseen(line: Line) -> bool:
    """An execution-log line that names its request (checked by the caller) and carries
    nothing the joins use: most of them (`Method request headers: …`, `Endpoint request body
    …`). The correlator need not see it: the lines around it give the request its span, and
    its own prefix its label."""
    return (
        line.kind not in _JOINING_KINDS
        and line.lambda_request_id is None
        and line.trace_id is None
        and line.extended_request_id is None
    )


def _labelled(item: LabeledEvent | LogEvent) -> LabeledEvent:
    """A line held in order that was labelled when read (`Labeller.add` keeps the event itself
    when it is not late: its own ID is its label)."""
    if isinstance(item, LogEvent):
        return LabeledEvent(item, item.line.request_id, False, False)
    return item


def _waiting(item: _Held | LabeledEvent | LogEvent) -> _Held:
    """A held line known to be waiting: the head (a labelled line goes as soon as it is the
    head), or any line when following (`_add_following` holds every line as read)."""
    return cast(_Held, item)


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
