"""Lambda lines without a request ID (a plain `print`, a traceback) belong to the invocation open
in the same log stream between START and REPORT; the init phase (`INIT_START` /
`platform.initStart`, and whatever the function prints while it initialises) belongs to the
invocation that follows it in the stream, so its lines wait here for that START."""

from __future__ import annotations

from apilogs.join.builder import Slot
from apilogs.model import LogEvent

__all__ = ["MAX_PENDING_PER_STREAM", "Held", "LambdaStreams", "StreamKey"]

# ID-less lines of a stream waiting for the START that follows an INIT phase.
MAX_PENDING_PER_STREAM = 500

StreamKey = tuple[str, str]  # (log group, log stream)
Held = list[tuple[LogEvent, Slot | None]]


class LambdaStreams:
    """The invocation open in each stream (`open`, read by the correlator per ID-less line; only
    this class writes it), and the lines held for a START. `dropped` counts the held lines let
    go without an invocation (too many, too old, or the input ended)."""

    __slots__ = ("_pending", "dropped", "open")

    def __init__(self) -> None:
        self.open: dict[StreamKey, str] = {}
        self._pending: dict[StreamKey, Held] = {}
        self.dropped = 0

    def holding(self, key: StreamKey) -> bool:
        """Lines of this stream wait for its next START."""
        return key in self._pending

    def hold(self, key: StreamKey, event: LogEvent, slot: Slot | None) -> None:
        held = self._pending.setdefault(key, [])
        if slot is not None:
            slot.waiting = True
        held.append((event, slot))
        if len(held) > MAX_PENDING_PER_STREAM:
            _, dropped = held.pop(0)
            if dropped is not None:
                dropped.waiting = False
            self.dropped += 1

    def start(self, key: StreamKey, lambda_id: str) -> Held | None:
        """The invocation started in the stream: the lines held for it, if any (their slots
        still say `waiting` until the caller has placed them)."""
        self.open[key] = lambda_id
        return self._pending.pop(key, None)

    def end(self, key: StreamKey, lambda_id: str) -> None:
        if self.open.get(key) == lambda_id:
            del self.open[key]

    def forget(self, horizon_ms: int) -> None:
        """Lines held since before the horizon: no START will claim them now."""
        old = [k for k, held in self._pending.items() if held[-1][0].raw.timestamp < horizon_ms]
        for key in old:
            self._let_go(self._pending.pop(key))

    def clear(self) -> None:
        self.open.clear()
        for held in self._pending.values():
            self._let_go(held)
        self._pending.clear()

    def _let_go(self, held: Held) -> None:
        for _, slot in held:
            if slot is not None:
                slot.waiting = False
        self.dropped += len(held)
