"""Live Tail streams for tests, as AWS sends them: event-stream messages on the wire, decoded and
parsed by botocore's own EventStream with StartLiveTail's output shape.

moto's Live Tail returns the history once and ends, and botocore's Stubber cannot return an event
stream (it validates `responseStream` as a dict); so tests script the bytes instead, paced like
the service (an update every second, here faster), with errors and drops where a test wants them.
The session's messages are shaped as the API reference documents StartLiveTailResponseStream:
`sessionStart`, `sessionUpdate` {`sessionMetadata`: {`sampled`}, `sessionResults`: [
{`logStreamName`, `logGroupIdentifier`, `message`, `timestamp`, `ingestionTime`}]}, and the
exceptions `SessionTimeoutException` and `SessionStreamingException`."""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser

_MODEL = botocore.session.get_session().get_service_model("logs")
_SHAPE = _MODEL.operation_model("StartLiveTail").output_shape.members["responseStream"]


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack("!B", len(n)) + n + b"\x07" + struct.pack("!H", len(v)) + v


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, its CRC, headers, payload, the message CRC."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    prelude = struct.pack("!II", 16 + len(head) + len(payload), len(head))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack("!I", zlib.crc32(body))


def _event(kind: str, body: dict[str, Any]) -> bytes:
    headers = {":message-type": "event", ":event-type": kind, ":content-type": "application/json"}
    return message(headers, json.dumps(body).encode())


def session_start(arns: Sequence[str]) -> bytes:
    return _event(
        "sessionStart",
        {
            "requestId": "req-1",
            "sessionId": "sess-1",
            "logGroupIdentifiers": list(arns),
            "logStreamNames": [],
            "logStreamNamePrefixes": [],
            "logEventFilterPattern": "",
        },
    )


def update(results: Iterable[dict[str, Any]], *, sampled: bool = False) -> bytes:
    return _event(
        "sessionUpdate", {"sessionMetadata": {"sampled": sampled}, "sessionResults": list(results)}
    )


def result(arn: str, stream: str, timestamp: int, text: str, lag_ms: int = 300) -> dict[str, Any]:
    return {
        "logStreamName": stream,
        "logGroupIdentifier": arn,
        "message": text,
        "timestamp": timestamp,
        "ingestionTime": timestamp + lag_ms,
    }


def exception(kind: str, text: str) -> bytes:
    headers = {
        ":message-type": "exception",
        ":exception-type": kind,
        ":content-type": "application/json",
    }
    return message(headers, json.dumps({"message": text}).encode())


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Heartbeat:
    """Empty updates every `every` seconds until the stream is closed (a quiet, live session)."""

    every: float = 0.05


Step = bytes | Pause | Heartbeat | BaseException | Callable[[], None]


class ScriptedRaw:
    """What botocore reads an event stream from (urllib3's response): `stream()` and `close()`."""

    def __init__(self, script: Iterable[Step], on_close: Callable[[], None] = lambda: None) -> None:
        self.script = list(script)
        self.closed = threading.Event()
        self._on_close = on_close

    def _sleep(self, seconds: float) -> bool:
        return self.closed.wait(seconds)

    def stream(self) -> Iterator[bytes]:
        for step in self.script:
            if self.closed.is_set():
                return
            if isinstance(step, bytes):
                yield step
            elif isinstance(step, Pause):
                if self._sleep(step.seconds):
                    return
            elif isinstance(step, Heartbeat):
                while not self._sleep(step.every):
                    yield update([])
                return
            elif isinstance(step, BaseException):
                raise step
            else:
                step()

    def close(self) -> None:
        if not self.closed.is_set():
            self._on_close()
        self.closed.set()


@dataclass
class FakeLiveTail:
    """An opener (the engine's boundary to StartLiveTail) that plays one script per session.

    `scripts(region, arns, n)` gives the n-th session's script. Every call and close is logged."""

    scripts: Callable[[str, Sequence[str], int], list[Step]]
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    raws: list[ScriptedRaw] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, region: str, arns: Sequence[str]) -> Any:
        with self._lock:
            n = len(self.calls)
            self.calls.append((region, tuple(arns)))
            self.log.append(f"open {n}")
            raw = ScriptedRaw(self.scripts(region, arns, n), lambda: self.log.append(f"close {n}"))
            self.raws.append(raw)
        return EventStream(raw, _SHAPE, EventStreamJSONParser(), "StartLiveTail")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
