"""Lambda lines without a request ID (a plain `print`, a traceback) belong to the invocation open
in the same log stream between START and REPORT; the init phase (`INIT_START` /
`platform.initStart`, SnapStart's `RESTORE_START`, and whatever the function and its extensions
print while the environment starts) belongs to the invocation that follows it in the stream, so
its lines wait here for that START.

What a stream printed before any START, END or REPORT was read in it waits too, with or without
an INIT_START in the window (Java's `Picked up JAVA_TOOL_OPTIONS: …`, written before the
runtime's first line): a START places it in the init of that invocation; a line naming an
invocation that began before the window (its END, its REPORT, a line with its request ID) places
it in that invocation instead. Never in another stream's.

Lambda Managed Instances run several invocations at once in one environment (JSON log format
only): their lines interleave in one stream, and "the invocation open in the stream" means
nothing there. A stream where an invocation starts while another is still open (no REPORT
between) is such a stream (`concurrent`): from then on its lines join by their request ID only,
and its ID-less lines join nothing (`overlap_notice` says so, once per group).
https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances.html"""

from __future__ import annotations

from collections.abc import Iterable

from apilogs.join.builder import Slot
from apilogs.model import LineKind, LogEvent
from apilogs.parse.lambda_ import lambda_phase, stream_function

__all__ = [
    "MAX_PENDING_PER_STREAM",
    "Held",
    "LambdaStreams",
    "OverlapWatch",
    "StreamKey",
    "init_phases",
    "overlap_notice",
]

# ID-less lines of a stream waiting for the START that follows an INIT phase.
MAX_PENDING_PER_STREAM = 500
# A stream read once is remembered this long (stream time) after its last START or REPORT:
# what it prints after that is not an environment's first output.
SEEN_MS = 3_600_000

StreamKey = tuple[str, str]  # (log group, log stream)
Held = list[tuple[LogEvent, Slot | None]]
_LAMBDA_INIT = LineKind.LAMBDA_INIT
_LAMBDA_START, _LAMBDA_REPORT = LineKind.LAMBDA_START, LineKind.LAMBDA_REPORT


def init_phases(events: Iterable[LogEvent]) -> dict[int, str]:
    """A request's ID-less Lambda lines (by `id`) that its stream printed before the START of
    the invocation that follows: its environment starting (`init`), as the labeller tells them
    while streaming (`LabeledEvent.phase`), for lines that arrive whole (a lookup)."""
    first_start: dict[StreamKey, int] = {}
    lines = list(events)
    for event in lines:
        if event.kind is _LAMBDA_START:
            key = (event.raw.group, event.raw.stream)
            first_start[key] = min(first_start.get(key, event.raw.timestamp), event.raw.timestamp)
    phases: dict[int, str] = {}
    for event in lines:
        start = first_start.get((event.raw.group, event.raw.stream))
        if (
            start is not None
            and event.kind is LineKind.LAMBDA_PRINT
            and event.raw.timestamp < start
            and event.line.lambda_request_id is None
        ):
            phases[id(event)] = "init"
    return phases


def overlap_notice(group: str) -> str:
    return (
        f"{group}: invocations overlap in one log stream (Lambda Managed Instances run several "
        "at once in one environment): its lines are joined to their request by request ID only, "
        "and lines without one (a plain print) to none"
    )


class OverlapWatch:
    """Finds the streams where an invocation starts while another is open (`LambdaStreams`'s
    rule), for a reader that must say so: `see` returns the group the first time one of its
    streams is found to be such a stream."""

    __slots__ = ("_open", "_told")

    def __init__(self) -> None:
        self._open: dict[StreamKey, str] = {}
        self._told: set[str] = set()

    def see(self, event: LogEvent) -> str | None:
        kind = event.line.kind
        lambda_id = event.line.lambda_request_id
        if lambda_id is None or (kind is not _LAMBDA_START and kind is not _LAMBDA_REPORT):
            return None
        key = (event.raw.group, event.raw.stream)
        if kind is _LAMBDA_REPORT:
            if self._open.get(key) == lambda_id:
                del self._open[key]
            return None
        prior = self._open.get(key)
        self._open[key] = lambda_id
        if prior is None or prior == lambda_id or key[0] in self._told:
            return None
        self._told.add(key[0])
        return key[0]


class LambdaStreams:
    """The invocation open in each stream (`open`, read by the correlator per ID-less line; only
    this class writes it), and the lines held for a START. `dropped` counts the held lines let
    go without an invocation (too many, too old, or the input ended)."""

    __slots__ = ("_lambda_named", "_pending", "_started", "concurrent", "dropped", "open", "seen")

    def __init__(self) -> None:
        self.open: dict[StreamKey, str] = {}
        self._pending: dict[StreamKey, Held] = {}
        # Streams where an invocation was seen to start or end, and when last.
        self.seen: dict[StreamKey, int] = {}
        # Streams where invocations overlap (Lambda Managed Instances): none is "open" there.
        self.concurrent: set[StreamKey] = set()
        # The invocation last started in each stream and not yet reported (the overlap rule).
        self._started: dict[StreamKey, str] = {}
        # Whether each stream is named as Lambda names an environment's (`stream_function`).
        self._lambda_named: dict[StreamKey, bool] = {}
        self.dropped = 0

    def holding(self, key: StreamKey) -> bool:
        """Lines of this stream wait for its next START."""
        return key in self._pending

    def fresh(self, key: StreamKey) -> bool:
        """No START, END or REPORT was read yet in this stream, which Lambda named as an
        environment's: what it prints may be that environment's init."""
        if key in self.seen:
            return False
        named = self._lambda_named.get(key)
        if named is None:
            if len(self._lambda_named) > 100_000:
                self._lambda_named.clear()
            named = self._lambda_named[key] = stream_function(key[1]) is not None
        return named

    def hold(
        self, key: StreamKey, event: LogEvent, slot: Slot | None, speculative: bool = False
    ) -> None:
        """`speculative`: held only because the stream is `fresh`."""
        held = self._pending.setdefault(key, [])
        if slot is not None:
            slot.waiting = True
            slot.speculative = speculative and all(s is None or s.speculative for _, s in held[-1:])
        held.append((event, slot))
        if len(held) > MAX_PENDING_PER_STREAM:
            _, dropped = held.pop(0)
            if dropped is not None:
                dropped.waiting = False
            self.dropped += 1

    def start(self, key: StreamKey, lambda_id: str, at_ms: int) -> Held | None:
        """The invocation started in the stream: the lines held for it, if any (their slots
        still say `waiting` until the caller has placed them), each slot told its phase."""
        prior = self._started.get(key)
        self._started[key] = lambda_id
        self.seen[key] = at_ms
        if key in self.concurrent or (prior is not None and prior != lambda_id):
            # Another invocation is still running here: several at once in one environment.
            self.concurrent.add(key)
            self.open.pop(key, None)
            return self._pending.pop(key, None)
        self.open[key] = lambda_id
        held = self._pending.pop(key, None)
        if held:
            phase = "init"
            for event, slot in held:
                said = lambda_phase(event.raw.message, event.line.kind)
                if said == "restore":
                    phase = "restore"  # what follows SnapStart's RESTORE_START is the restore's
                if slot is not None:
                    slot.phase = said or phase
        return held

    def named(self, key: StreamKey, lambda_id: str, at_ms: int, ended: bool) -> Held | None:
        """A line of the stream named its invocation (not its START: it began before the
        window): the lines held since the stream's first were that invocation's, unless they
        are an init phase (which waits for its own START). `ended`: its END or REPORT."""
        held = self._pending.get(key)
        if held is not None and any(e.line.kind is _LAMBDA_INIT for e, _ in held):
            return None
        self.seen[key] = at_ms
        if ended:
            self.end(key, lambda_id, at_ms)
        # Not opened: where it began is not known, nor (without its REPORT) where it ends, so
        # what the stream prints next is no more its than the next invocation's.
        return self._pending.pop(key, None)

    def end(self, key: StreamKey, lambda_id: str, at_ms: int) -> None:
        self.seen[key] = at_ms
        if self.open.get(key) == lambda_id:
            del self.open[key]
        if self._started.get(key) == lambda_id:
            del self._started[key]

    def forget(self, horizon_ms: int) -> None:
        """Lines held since before the horizon: no START will claim them now."""
        old = [k for k, held in self._pending.items() if held[-1][0].raw.timestamp < horizon_ms]
        for key in old:
            self._let_go(self._pending.pop(key))
        seen = self.seen
        if seen:
            stale = [k for k, at in seen.items() if at < horizon_ms - SEEN_MS]
            for key in stale:
                del seen[key]
                self._started.pop(key, None)
                self.concurrent.discard(key)

    def clear(self) -> None:
        self.open.clear()
        self.seen.clear()
        self._started.clear()
        self.concurrent.clear()
        for held in self._pending.values():
            self._let_go(held)
        self._pending.clear()

    def _let_go(self, held: Held) -> None:
        for _, slot in held:
            if slot is not None:
                slot.waiting = False
        self.dropped += len(held)
