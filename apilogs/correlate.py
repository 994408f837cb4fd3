"""LogEvent stream (time order) → Request records: one per API request, joined across services.

IDs join lines: API Gateway's request ID, the Lambda request ID(s) of the integration and the
authorizer, the X-Ray trace ID and the extended request ID. Any line carrying two of them links
what each already gathered, so the order in which the IDs show up does not matter (a Lambda's
lines come before the execution-log line that names its request ID). Lambda lines without an ID
(a plain `print`) belong to the invocation open in the same log stream between START and END.

Streaming and bounded: a request is emitted once the stream's clock has passed its last line by
`grace_ms` (or at `flush()`); the builder forgets it then."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apilogs.model import Invocation, LineKind, LogEvent, Outcome, Request, Role

DEFAULT_GRACE_MS = 30_000
# API Gateway's last words on a request (the access line, "Method completed") close it sooner:
# what could still follow in time order is only a line or two within milliseconds.
DONE_GRACE_MS = 2_000
_FINAL_KINDS = frozenset({LineKind.ACCESS, LineKind.APIGW_COMPLETED})


@dataclass
class _InvocationFacts:
    lambda_request_id: str
    role: Role = Role.LAMBDA
    function: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def freeze(self) -> Invocation:
        f = self.fields
        return Invocation(
            lambda_request_id=self.lambda_request_id,
            role=self.role,
            function=self.function,
            start_ms=self.start_ms,
            end_ms=self.end_ms,
            duration_ms=f.get("duration_ms"),
            billed_ms=f.get("billed_ms"),
            memory_mb=f.get("memory_mb"),
            max_memory_mb=f.get("max_memory_mb"),
            init_ms=f.get("init_ms"),
            status=f.get("lambda_status"),
        )


class _Builder:
    """What is known so far about one request; merged with another when an ID links them."""

    __slots__ = (
        "authorizer_ids",
        "closed",
        "events",
        "extended_request_id",
        "facts",
        "ids",
        "invocations",
        "kinds",
        "last_ms",
        "request_id",
        "trace_id",
    )

    def __init__(self) -> None:
        self.request_id: str | None = None
        self.extended_request_id: str | None = None
        self.trace_id: str | None = None
        self.invocations: dict[str, _InvocationFacts] = {}
        self.authorizer_ids: set[str] = set()
        self.events: list[LogEvent] = []
        self.facts: dict[str, Any] = {}
        self.kinds: set[LineKind] = set()
        self.ids: set[str] = set()
        self.last_ms = 0
        self.closed = False

    def absorb(self, other: _Builder) -> None:
        self.request_id = self.request_id or other.request_id
        self.extended_request_id = self.extended_request_id or other.extended_request_id
        self.trace_id = self.trace_id or other.trace_id
        for lid, inv in other.invocations.items():
            mine = self.invocations.setdefault(lid, inv)
            if mine is not inv:
                mine.fields.update({k: v for k, v in inv.fields.items() if k not in mine.fields})
                mine.start_ms = mine.start_ms or inv.start_ms
                mine.end_ms = mine.end_ms or inv.end_ms
                mine.function = mine.function or inv.function
        self.authorizer_ids |= other.authorizer_ids
        # Both lists are in time order; a merge keeps it.
        self.events = sorted(self.events + other.events, key=lambda e: e.raw.timestamp)
        for key, value in other.facts.items():
            self.facts.setdefault(key, value)
        self.kinds |= other.kinds
        self.ids |= other.ids
        self.last_ms = max(self.last_ms, other.last_ms)


class Correlator:
    """Feed events in time order with `add`; collect finished requests from its return value."""

    def __init__(
        self, grace_ms: int = DEFAULT_GRACE_MS, done_grace_ms: int = DONE_GRACE_MS
    ) -> None:
        self.grace_ms = grace_ms
        self.done_grace_ms = min(done_grace_ms, grace_ms)
        self._by_id: dict[str, _Builder] = {}
        self._open_by_stream: dict[tuple[str, str], str] = {}
        self._pending_init: dict[tuple[str, str], list[LogEvent]] = {}
        self._clock = 0
        self._last_sweep = 0
        self.unattributed = 0

    # -- input ---------------------------------------------------------------------------------

    def add(self, event: LogEvent) -> list[Request]:
        line = event.line
        raw = event.raw
        stream_key = (raw.group, raw.stream)
        lambda_id = line.lambda_request_id
        is_lambda = raw.source.role in (Role.LAMBDA, Role.AUTHORIZER)
        if is_lambda:
            if line.kind is LineKind.LAMBDA_INIT and not lambda_id:
                # INIT lines precede the START of the invocation they slow down.
                self._pending_init.setdefault(stream_key, []).append(event)
                return self._advance(raw.timestamp)
            if not lambda_id and line.kind in (
                LineKind.LAMBDA_PRINT,
                LineKind.LAMBDA_TRACEBACK,
                LineKind.LAMBDA_RUNTIME_EXIT,
                LineKind.LAMBDA_ERROR,
                LineKind.UNKNOWN,
            ):
                lambda_id = self._open_by_stream.get(stream_key)
        ids = [
            i
            for i in (
                line.request_id,
                line.extended_request_id,
                line.trace_id,
                lambda_id,
                line.fields.get("authorizer_request_id"),
            )
            if i
        ]
        if not ids:
            self.unattributed += 1
            return self._advance(raw.timestamp)
        builder = self._link(
            ids, line.request_id if raw.source.role is not Role.AUTHORIZER else None
        )
        self._record(builder, event, lambda_id)
        if is_lambda and lambda_id:
            if line.kind is LineKind.LAMBDA_START:
                self._open_by_stream[stream_key] = lambda_id
                for init in self._pending_init.pop(stream_key, ()):
                    builder.events.append(init)
                builder.events.sort(key=lambda e: e.raw.timestamp)
            elif (
                line.kind is LineKind.LAMBDA_REPORT
                and self._open_by_stream.get(stream_key) == lambda_id
            ):
                del self._open_by_stream[stream_key]
        return self._advance(raw.timestamp)

    def flush(self) -> list[Request]:
        """Every request still open (end of input)."""
        done = self._close(lambda b: True)
        self._open_by_stream.clear()
        self._pending_init.clear()
        return done

    def advance(self, now_ms: int) -> list[Request]:
        """The clock moved without events (follow mode, idle): close what is old enough."""
        return self._advance(now_ms, force=True)

    @property
    def open_requests(self) -> int:
        return len({id(b) for b in self._by_id.values()})

    # -- internals -----------------------------------------------------------------------------

    def _link(self, ids: list[str], request_id: str | None) -> _Builder:
        builders: list[_Builder] = []
        for i in ids:
            found = self._by_id.get(i)
            if found is not None and not found.closed and all(found is not b for b in builders):
                builders.append(found)
        # Two requests API Gateway told apart stay apart, whatever else they share (a client
        # may send the same trace header twice).
        owner = request_id or next((b.request_id for b in builders if b.request_id), None)
        if owner:
            builders = [b for b in builders if b.request_id in (None, owner)]
        if not builders:
            builder = _Builder()
        else:
            # Keep the builder with the most lines; fold the others into it.
            builders.sort(key=lambda b: len(b.events), reverse=True)
            builder = builders[0]
            for other in builders[1:]:
                builder.absorb(other)
                for key in other.ids:
                    self._by_id[key] = builder
        for i in ids:
            self._by_id[i] = builder
            builder.ids.add(i)
        return builder

    def _record(self, b: _Builder, event: LogEvent, lambda_id: str | None) -> None:
        line = event.line
        raw = event.raw
        fields = line.fields
        b.events.append(event)
        b.kinds.add(line.kind)
        b.last_ms = max(b.last_ms, raw.timestamp)
        if line.request_id and not b.request_id and raw.source.role is not Role.AUTHORIZER:
            b.request_id = line.request_id
        b.extended_request_id = b.extended_request_id or line.extended_request_id
        b.trace_id = b.trace_id or line.trace_id
        role = raw.source.role
        if role in (Role.LAMBDA, Role.AUTHORIZER) and lambda_id:
            inv = b.invocations.setdefault(lambda_id, _InvocationFacts(lambda_id))
            inv.role = role
            inv.function = inv.function or raw.source.function_name
            if line.kind is LineKind.LAMBDA_START or inv.start_ms is None:
                inv.start_ms = (
                    raw.timestamp if inv.start_ms is None else min(inv.start_ms, raw.timestamp)
                )
            if line.kind is LineKind.LAMBDA_REPORT:
                inv.end_ms = raw.timestamp
            inv.fields.update(fields)
            # An error object's fields describe the request's failure too. An authorizer that
            # raises `Unauthorized` is how a Lambda authorizer says 401: kept apart.
            prefix = "authorizer" if role is Role.AUTHORIZER else "lambda"
            for key in ("error_type", "error_message", "error_cause", "timeout_s"):
                if key in fields:
                    b.facts.setdefault(f"{prefix}_{key}", fields[key])
            if role is Role.AUTHORIZER:
                b.authorizer_ids.add(lambda_id)
            return
        if line.lambda_request_id and role is not Role.ACCESS:
            b.invocations.setdefault(
                line.lambda_request_id, _InvocationFacts(line.lambda_request_id)
            )
        authorizer_id = fields.get("authorizer_request_id")
        if authorizer_id:
            b.authorizer_ids.add(authorizer_id)
        if role is Role.ACCESS and line.lambda_request_id:
            b.invocations.setdefault(
                line.lambda_request_id, _InvocationFacts(line.lambda_request_id)
            )
        for key, value in fields.items():
            if value is None or value == "":
                continue
            if (
                key == "status"
                and role is Role.EXECUTION
                and line.kind is not LineKind.APIGW_COMPLETED
            ):
                continue
            # The access log's final word on status and latencies wins over intermediate lines.
            if role is Role.ACCESS or key not in b.facts:
                b.facts[key] = value

    def _advance(self, now_ms: int, force: bool = False) -> list[Request]:
        if now_ms > self._clock:
            self._clock = now_ms
        # Sweeping costs a pass over open requests: do it at most every second of stream time.
        if not force and self._clock - self._last_sweep < min(1_000, self.done_grace_ms):
            return []
        self._last_sweep = self._clock
        horizon = self._clock - self.grace_ms
        done_horizon = self._clock - self.done_grace_ms
        return self._close(lambda b: b.last_ms < horizon or _done(b, done_horizon))

    def _close(self, ready: Any) -> list[Request]:
        done: dict[int, _Builder] = {}
        for builder in self._by_id.values():
            if id(builder) not in done and ready(builder):
                done[id(builder)] = builder
        if not done:
            return []
        for builder in done.values():
            for key in builder.ids:
                if self._by_id.get(key) is builder:
                    del self._by_id[key]
        requests = []
        for builder in done.values():
            builder.closed = True
            requests.append(build_request(builder))
        requests.sort(key=lambda r: (r.start_ms, r.request_id or ""))
        return requests


def _done(b: _Builder, horizon: int) -> bool:
    """API Gateway has said its last word on the request, a while ago."""
    return (
        b.last_ms < horizon
        and bool(b.kinds & _FINAL_KINDS)
        # After an integration timeout the Lambda runs on; its REPORT, with the trace ID that
        # joins it to the request, comes later: such a request waits the full grace.
        and LineKind.APIGW_TIMEOUT not in b.kinds
    )


def build_request(b: _Builder) -> Request:
    f = b.facts
    for lid in b.authorizer_ids:
        if lid in b.invocations:
            b.invocations[lid].role = Role.AUTHORIZER
    invocations = tuple(
        sorted((i.freeze() for i in b.invocations.values()), key=lambda i: i.start_ms or 0)
    )
    events = tuple(b.events)
    outcome, cause = explain(b.kinds, f, invocations)
    return Request(
        request_id=b.request_id,
        start_ms=events[0].raw.timestamp if events else 0,
        end_ms=events[-1].raw.timestamp if events else 0,
        outcome=outcome,
        cause=cause,
        extended_request_id=b.extended_request_id,
        trace_id=b.trace_id,
        lambda_request_ids=tuple(i.lambda_request_id for i in invocations),
        method=f.get("method"),
        path=f.get("path"),
        route=f.get("route"),
        status=_int(f.get("status")),
        response_latency_ms=_int(f.get("response_latency_ms")),
        integration_latency_ms=_int(f.get("integration_latency_ms")),
        integration_status=_int(f.get("integration_status")),
        error_type=f.get("lambda_error_type") or f.get("error_type"),
        error_message=f.get("lambda_error_message") or f.get("error_message"),
        invocations=invocations,
        events=events,
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def explain(
    kinds: set[LineKind], f: dict[str, Any], invocations: tuple[Invocation, ...]
) -> tuple[Outcome, str]:
    """The request's outcome and a one-line cause, from what its lines said. Pure."""
    status = _int(f.get("status"))
    causes = {f.get("error_cause"), f.get("lambda_error_cause")}
    lambda_status = {i.status for i in invocations}
    error = _error_text(f)
    lambda_timed_out = LineKind.LAMBDA_TIMEOUT in kinds or (
        "timeout" in lambda_status and LineKind.LAMBDA_REPORT in kinds
    )
    seconds = f.get("lambda_timeout_s") or f.get("timeout_s")
    after = f" after {seconds:.2f} s" if isinstance(seconds, float | int) else ""
    if LineKind.APIGW_TIMEOUT in kinds:
        # API Gateway gave up first (29 s); the client saw that, whatever the Lambda did next.
        later = f"; the Lambda ran on and timed out{after}" if lambda_timed_out else ""
        return Outcome.APIGW_TIMEOUT, f"API Gateway integration timeout{later}"
    if lambda_timed_out:
        return Outcome.LAMBDA_TIMEOUT, f"Lambda timed out{after}"

    def exhausted(i: Invocation) -> bool:
        return bool(i.status and i.max_memory_mb and i.memory_mb and i.max_memory_mb >= i.memory_mb)

    if "oom" in causes or any(exhausted(i) for i in invocations):
        used = next((i for i in invocations if exhausted(i)), None) or next(
            (i for i in invocations if i.role is not Role.AUTHORIZER and i.memory_mb), None
        )
        detail = (
            f" ({used.max_memory_mb}/{used.memory_mb} MB)" if used and used.max_memory_mb else ""
        )
        return Outcome.OUT_OF_MEMORY, f"Lambda ran out of memory{detail}"
    if "timeout" in causes:
        return Outcome.APIGW_TIMEOUT, "API Gateway integration timeout"
    if (
        LineKind.APIGW_UNAUTHORIZED in kinds
        or "unauthorized" in causes
        or (
            status in (401, 403)
            and (
                f.get("authorized") is False
                or LineKind.APIGW_AUTHORIZER_START in kinds
                or "authorizer_error_type" in f
            )
        )
    ):
        return Outcome.AUTH_DENIED, f"Authorizer denied ({status or 403})"
    if (
        "lambda_error_type" in f
        or "lambda_error_message" in f
        or "customer_function_error" in causes
        or (f.get("error_type") in ("Unhandled", "Handled"))
    ):
        return Outcome.UNHANDLED_EXCEPTION, error or "Lambda function error"
    if LineKind.APIGW_MALFORMED in kinds or "malformed_proxy_response" in causes:
        return Outcome.MALFORMED_RESPONSE, "Malformed Lambda proxy response"
    if LineKind.APIGW_PERMISSIONS in kinds or "permissions" in causes:
        return Outcome.BAD_PERMISSIONS, "Invalid permissions on Lambda function"
    if LineKind.APIGW_THROTTLED in kinds or "throttled" in causes or status == 429:
        if status == 429:
            return Outcome.THROTTLED, "Throttled (429)"
        return Outcome.THROTTLED, f"Lambda throttled the invocation ({status or '?'})"
    integration_status = _int(f.get("integration_status"))
    if integration_status is not None and integration_status >= 500:
        return Outcome.INTEGRATION_ERROR, f"Integration returned {integration_status}"
    if status is None:
        return Outcome.UNKNOWN, "no status logged"
    if 400 <= status < 500:
        return Outcome.CLIENT_ERROR, f"Client error ({status})"
    if status >= 500:
        return Outcome.SERVER_ERROR, error or f"Server error ({status})"
    return Outcome.OK, "ok"


def _error_text(f: dict[str, Any]) -> str:
    kind = f.get("lambda_error_type") or (
        f.get("error_type") if f.get("error_type") not in ("Unhandled", "Handled") else None
    )
    message = f.get("lambda_error_message") or f.get("error_message")
    if kind and message:
        return f"{kind}: {message}"
    return str(kind or message or "")


# API Gateway gives up on an integration after 29 s: no request of a REST API lasts longer.
MAX_REQUEST_MS = 30_000


def correlate(events: Iterable[LogEvent], grace_ms: int = DEFAULT_GRACE_MS) -> Iterator[Request]:
    """Requests from a time-ordered event stream, in the order they started.

    Requests close in the order they end; a small buffer (as long as the longest request plus
    the grace) puts them back in start order without holding the whole window."""
    correlator = Correlator(grace_ms)
    buffer: list[tuple[int, int, Request]] = []
    sequence = 0
    for event in events:
        for request in correlator.add(event):
            heapq.heappush(buffer, (request.start_ms, sequence, request))
            sequence += 1
        # A request may stay open for its length, its Lambda running on, then the grace.
        horizon = event.raw.timestamp - grace_ms - 2 * MAX_REQUEST_MS
        while buffer and buffer[0][0] < horizon:
            yield heapq.heappop(buffer)[2]
    for request in correlator.flush():
        heapq.heappush(buffer, (request.start_ms, sequence, request))
        sequence += 1
    while buffer:
        yield heapq.heappop(buffer)[2]
