"""Writing generated traffic into CloudWatch Logs (moto's server, or anything that speaks the API).

`LogWriter` batches within PutLogEvents' limits; `backfill` writes a closed window of history;
`LiveTraffic` keeps writing, in a thread, the requests that "happen" as the clock moves;
`load_bulk` writes a large data set quickly for benchmarks.

The demo, end to end:

    server = start_server()
    app = deploy_sample(boto3.Session(), server.url)
    writer = LogWriter.connect(boto3.Session(), server.url)
    live = LiveTraffic(app, writer, rps=2, history_ms=15 * 60_000).start()
    ...
    live.stop(); server.stop()
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, ClassVar, Self

import boto3
from botocore.config import Config

from apilogs.demo.sample import SampleApp
from apilogs.demo.traffic import (
    MAX_REQUEST_SPAN_MS,
    FailureRates,
    LogRecord,
    SimulatedRequest,
    TrafficGenerator,
)

# PutTraceSegments takes a list of documents; a few dozen per call stay far below its size limit.
SEGMENTS_PER_CALL = 50

# PutLogEvents limits.
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000


def batches(records: list[LogRecord]) -> Iterable[list[LogRecord]]:
    """Split one stream's records, already in time order, into PutLogEvents-sized batches."""
    batch: list[LogRecord] = []
    size = 0
    for record in records:
        # surrogatepass: a message may hold a lone surrogate; it must cost bytes, not raise.
        record_size = len(record.message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES
        if batch and (
            len(batch) >= MAX_BATCH_EVENTS
            or size + record_size > MAX_BATCH_BYTES
            or record.timestamp - batch[0].timestamp >= MAX_BATCH_SPAN_MS
        ):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_size
    if batch:
        yield batch


class _ServiceWriter:
    """What the writers share: a client of their service, given or made by `connect`."""

    SERVICE: ClassVar[str]

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def connect(
        cls, session: boto3.Session, endpoint_url: str | None, region: str = "us-east-1"
    ) -> Self:
        """A writer with its own client."""
        return cls(
            session.client(
                cls.SERVICE, region_name=region, endpoint_url=endpoint_url, config=cls._config()
            )
        )

    @classmethod
    def _config(cls) -> Config | None:
        return None


class LogWriter(_ServiceWriter):
    """Writes records to their group and stream, creating streams on first sight.

    Each call groups its records by stream and writes each stream in time order, so callers that
    must keep a stream ordered across calls only pass records once they are due (see
    `LiveTraffic`)."""

    SERVICE = "logs"

    def __init__(self, logs_client: Any) -> None:
        super().__init__(logs_client)
        self._streams: set[tuple[str, str]] = set()
        self.events_written = 0
        self.events_rejected = 0
        self.put_calls = 0

    @classmethod
    def _config(cls) -> Config | None:
        """The events are built here, well-formed, so botocore's parameter validation (about a
        third of the client's time on a 10,000-event batch) is left out."""
        return Config(parameter_validation=False)

    def write(self, records: Iterable[LogRecord]) -> int:
        """Write the records; return how many CloudWatch Logs accepted."""
        by_stream: defaultdict[tuple[str, str], list[LogRecord]] = defaultdict(list)
        for record in records:
            by_stream[(record.group, record.stream)].append(record)
        accepted = 0
        for (group, stream), items in by_stream.items():
            self._ensure_stream(group, stream)
            items.sort(key=lambda r: r.timestamp)  # stable: equal timestamps keep their order
            for batch in batches(items):
                accepted += self._put(group, stream, batch)
        return accepted

    def _put(self, group: str, stream: str, batch: list[LogRecord]) -> int:
        response = self._client.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": r.timestamp, "message": r.message} for r in batch],
        )
        self.put_calls += 1
        rejected = _rejected(response.get("rejectedLogEventsInfo") or {}, len(batch))
        self.events_rejected += rejected
        self.events_written += len(batch) - rejected
        return len(batch) - rejected

    def _ensure_stream(self, group: str, stream: str) -> None:
        if (group, stream) in self._streams:
            return
        errors = self._client.exceptions
        try:
            self._client.create_log_stream(logGroupName=group, logStreamName=stream)
        except errors.ResourceAlreadyExistsException:
            pass
        except errors.ResourceNotFoundException:
            # Lambda and API Gateway create their groups on first write; so do we.
            self._client.create_log_group(logGroupName=group)
            self._client.create_log_stream(logGroupName=group, logStreamName=stream)
        self._streams.add((group, stream))


class SegmentWriter(_ServiceWriter):
    """Sends X-Ray segment documents with PutTraceSegments, as the X-Ray daemon would."""

    SERVICE = "xray"

    def __init__(self, xray_client: Any) -> None:
        super().__init__(xray_client)
        self.segments_written = 0
        self.segments_rejected = 0

    def write(self, documents: Iterable[str]) -> int:
        docs = list(documents)
        accepted = 0
        for at in range(0, len(docs), SEGMENTS_PER_CALL):
            batch = docs[at : at + SEGMENTS_PER_CALL]
            response = self._client.put_trace_segments(TraceSegmentDocuments=batch)
            rejected = len(response.get("UnprocessedTraceSegments") or ())
            self.segments_rejected += rejected
            accepted += len(batch) - rejected
        self.segments_written += accepted
        return accepted


def _rejected(info: dict[str, int], count: int) -> int:
    """How many events of a batch CloudWatch Logs refused (too old, expired, too new)."""
    refused: set[int] = set()
    for key in ("tooOldLogEventEndIndex", "expiredLogEventEndIndex"):
        if key in info:
            refused.update(range(min(info[key] + 1, count)))
    if "tooNewLogEventStartIndex" in info:
        refused.update(range(info["tooNewLogEventStartIndex"], count))
    return len(refused)


class _Pending:
    """Records held back until they are due, popped in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, LogRecord]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, records: Iterable[LogRecord]) -> None:
        for record in records:
            heapq.heappush(self._heap, (record.timestamp, next(self._order), record))

    def pop_until(self, t_ms: int) -> list[LogRecord]:
        """Every record with timestamp <= t_ms, in time order (insertion order on ties)."""
        due = []
        while self._heap and self._heap[0][0] <= t_ms:
            due.append(heapq.heappop(self._heap)[2])
        return due


def backfill(
    app: SampleApp,
    writer: LogWriter,
    start_ms: int,
    end_ms: int,
    rps: float,
    seed: int | None = None,
    *,
    rates: FailureRates | None = None,
    generator: TrafficGenerator | None = None,
    segments: SegmentWriter | None = None,
) -> int:
    """Write the traffic of [start_ms, end_ms) at `rps`; return the events written (and, with
    `segments`, the sampled requests' X-Ray segments).

    CloudWatch Logs refuses events older than 14 days (or than the group's retention) and more
    than 2 hours ahead; refused events are counted in `writer.events_rejected`."""
    generator = generator or TrafficGenerator(app, seed, rates)
    return _write_in_order(generator.simulate(start_ms, end_ms, rps), writer, segments=segments)


def load_bulk(
    app: SampleApp,
    writer: LogWriter,
    n_events: int,
    seed: int | None = 0,
    *,
    rps: float = 25.0,
    end_ms: int | None = None,
) -> int:
    """Write about `n_events` events of a busy API (whole requests, so a few more), all in the
    past of `end_ms` (default: now); return the events written."""
    end = (end_ms if end_ms is not None else int(time.time() * 1000)) - MAX_REQUEST_SPAN_MS
    # About 31 events per request: aim wide so the window holds n_events, and stop there.
    span_ms = max(60_000, int(n_events / 20 / rps * 1000))
    requests = TrafficGenerator(app, seed).simulate(end - span_ms, end, rps)
    return _write_in_order(requests, writer, limit=n_events)


# Enough for large batches, small enough to bound memory (about 60 MB).
_FLUSH_EVERY = 200_000


def _write_in_order(
    requests: Iterable[SimulatedRequest],
    writer: LogWriter,
    limit: int | None = None,
    *,
    segments: SegmentWriter | None = None,
) -> int:
    """Write requests' records with bounded memory, each stream in time order across writes.

    Requests come in start order and no record precedes its request's start, so whatever is
    older than the latest start is final and can go."""
    pending = _Pending()
    written = produced = 0
    for request in requests:
        pending.add(request.records)
        produced += len(request.records)
        if segments is not None and request.segments:
            segments.write(request.segments)
        if limit is not None and produced >= limit:
            break
        if len(pending) >= _FLUSH_EVERY:
            written += writer.write(pending.pop_until(request.start_ms - 1))
    return written + writer.write(pending.pop_until(sys.maxsize))


class LiveTraffic:
    """Writes, every `tick_s`, the traffic that happened since the last tick, at `rps`.

    Lines are written when their time comes, not when their request starts: a slow request shows
    its first lines at once and its last ones seconds later, as in CloudWatch. `history_ms` first
    writes that much of the past, so a newcomer sees data at once."""

    def __init__(
        self,
        app: SampleApp,
        writer: LogWriter,
        rps: float = 2.0,
        *,
        seed: int | None = None,
        rates: FailureRates | None = None,
        generator: TrafficGenerator | None = None,
        segments: SegmentWriter | None = None,
        tick_s: float = 0.25,
        history_ms: int = 0,
        clock: Callable[[], float] = time.time,
        showcase: bool = False,
    ) -> None:
        """`showcase`: the live demo's mix, and its opening (SHOWCASE_OPENING) from the moment
        the traffic starts: each failure README promises in the first half minute."""
        self.app = app
        self.rps = rps
        self._writer = writer
        self._generator = generator or TrafficGenerator(app, seed, rates, showcase=showcase)
        self.showcase = showcase
        self._tick_s = tick_s
        self._history_ms = history_ms
        self._clock = clock
        self._pending = _Pending()
        self._segments = segments
        # (when the request's last line is due, its segment documents)
        self._pending_segments: list[tuple[int, int, tuple[str, ...]]] = []
        self._order = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.events_written = 0
        self.requests_started = 0
        self.started_ms: int | None = None  # the traffic's "now" when it started (its clock's)
        self.error: BaseException | None = None

    def start(self) -> LiveTraffic:
        if self._thread is not None:
            raise RuntimeError("LiveTraffic already started")
        self._thread = threading.Thread(target=self._run, name="apilogs-live-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the write in progress, if any; records not yet due are dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> LiveTraffic:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _run(self) -> None:
        try:
            self.started_ms = started = self._now_ms()
            last = started - self._history_ms
            if self.showcase:
                self._generator.open_showcase(started)
            while not self._stop.is_set():
                now = self._now_ms()
                self._tick(last, now)
                last = now
                self._stop.wait(self._tick_s)
        except Exception as exc:  # a thread has no caller to raise to; `error` reports it
            self.error = exc

    def _tick(self, start_ms: int, now_ms: int) -> None:
        for request in self._generator.simulate(start_ms, now_ms, self.rps):
            self._pending.add(request.records)
            if self._segments is not None and request.segments:
                due = max(r.timestamp for r in request.records)
                heapq.heappush(self._pending_segments, (due, next(self._order), request.segments))
            self.requests_started += 1
            if self._stop.is_set():
                return
        self.events_written += self._writer.write(self._pending.pop_until(now_ms))
        documents: list[str] = []
        while self._pending_segments and self._pending_segments[0][0] <= now_ms:
            documents.extend(heapq.heappop(self._pending_segments)[2])
        if documents and self._segments is not None:
            self._segments.write(documents)
