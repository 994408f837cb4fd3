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
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apilogs.model import (
    Invocation,
    LineKind,
    LogEvent,
    Outcome,
    Request,
    RequestUpdate,
    Role,
    UpdateKind,
)

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
        "closed_at",
        "events",
        "extended_request_id",
        "facts",
        "ids",
        "invocations",
        "kinds",
        "last_ms",
        "reported",
        "request_id",
        "serial",
        "trace_id",
    )

    def __init__(self, serial: int) -> None:
        self.serial = serial
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
        self.closed_at = 0  # the stream clock when it closed
        self.reported = False  # a NEW update went out for it

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
        self.reported = self.reported or other.reported


class Correlator:
    """Feed events in time order with `add`; it joins them into requests and closes each once
    the stream's clock has passed its last line by the grace.

    Two ways to consume it:
    - window reads take the closed requests `add`, `advance` and `flush` return;
    - front ends that show requests as they happen (`track_updates=True`) take `updates()`:
      a request is reported NEW once API Gateway has named it, UPDATED (at most once per take)
      when lines joined it, CLOSED when it closes. A line that arrives after its request closed,
      within `reopen_ms`, joins that request (UPDATED again; also returned by `add` as closed)
      instead of starting a second request with the same ID."""

    def __init__(
        self,
        grace_ms: int = DEFAULT_GRACE_MS,
        done_grace_ms: int = DONE_GRACE_MS,
        *,
        track_updates: bool = False,
        reopen_ms: int | None = None,
    ) -> None:
        self.grace_ms = grace_ms
        self.done_grace_ms = min(done_grace_ms, grace_ms)
        self.reopen_ms = grace_ms if reopen_ms is None else reopen_ms
        self.track_updates = track_updates
        self._by_id: dict[str, _Builder] = {}
        # Closed requests a late line may still join, by ID; oldest first.
        self._recent: dict[str, _Builder] = {}
        self._open_by_stream: dict[tuple[str, str], str] = {}
        self._pending_init: dict[tuple[str, str], list[LogEvent]] = {}
        self._changed: dict[int, _Builder] = {}
        self._closed_updates: list[RequestUpdate] = []
        self._serials = itertools.count()
        self._clock = 0
        self._last_sweep = 0
        self.unattributed = 0
        self.late_joined = 0

    # -- input ---------------------------------------------------------------------------------

    def add(self, event: LogEvent) -> list[Request]:
        """Join one event; returns the requests this step closed (and closed requests a late
        line just updated)."""
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
        request_id = line.request_id if raw.source.role is not Role.AUTHORIZER else None
        late = self._late_builder(ids, request_id)
        builder = late if late is not None else self._link(ids, request_id)
        self._record(builder, event, lambda_id)
        if late is not None:
            for i in ids:
                if i not in late.ids:
                    late.ids.add(i)
                    self._recent[i] = late
        self._touch(builder)
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
        done = self._advance(raw.timestamp)
        if late is not None:
            self.late_joined += 1
            done.append(build_request(late))
        return done

    def flush(self) -> list[Request]:
        """Every request still open (end of input)."""
        done = self._close(lambda b: True)
        self._open_by_stream.clear()
        self._pending_init.clear()
        self._recent.clear()
        return done

    def advance(self, now_ms: int) -> list[Request]:
        """The clock moved without events (follow mode, idle): close what is old enough."""
        return self._advance(now_ms, force=True)

    # -- output --------------------------------------------------------------------------------

    def updates(self) -> list[RequestUpdate]:
        """What changed since the last call (needs `track_updates`): NEW, UPDATED and CLOSED,
        one update per request and kind, in the order the changes happened."""
        out: list[RequestUpdate] = []
        for builder in self._changed.values():
            if builder.closed and not builder.reported:
                continue  # closes below: NEW then CLOSED
            if builder.request_id is None and not builder.reported:
                continue  # Lambda lines no API Gateway line has claimed yet
            kind = UpdateKind.UPDATED if builder.reported else UpdateKind.NEW
            builder.reported = True
            out.append(RequestUpdate(kind, build_request(builder, in_progress=not builder.closed)))
        self._changed.clear()
        out.extend(self._closed_updates)
        self._closed_updates = []
        return out

    def open_snapshot(self) -> list[Request]:
        """The requests still open that API Gateway has named, in start order."""
        unique = {id(b): b for b in self._by_id.values() if b.request_id is not None}
        found = [build_request(b, in_progress=True) for b in unique.values()]
        found.sort(key=lambda r: (r.start_ms, r.request_id or ""))
        return found

    @property
    def open_requests(self) -> int:
        return len({id(b) for b in self._by_id.values()})

    # -- internals -----------------------------------------------------------------------------

    def _touch(self, builder: _Builder) -> None:
        if self.track_updates:
            self._changed[id(builder)] = builder

    def _late_builder(self, ids: list[str], request_id: str | None) -> _Builder | None:
        """The closed request a late line belongs to, if no open one claims its IDs."""
        if not self._recent:
            return None
        if any(i in self._by_id for i in ids):
            return None
        for i in ids:
            found = self._recent.get(i)
            if found is not None and (request_id is None or found.request_id in (None, request_id)):
                return found
        return None

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
            builder = _Builder(next(self._serials))
        else:
            # Keep the builder already reported (front ends know it), else the one with the most
            # lines; fold the others into it.
            builders.sort(key=lambda b: (b.reported, len(b.events)), reverse=True)
            builder = builders[0]
            for other in builders[1:]:
                builder.absorb(other)
                self._changed.pop(id(other), None)
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
        self._forget_recent()
        horizon = self._clock - self.grace_ms
        done_horizon = self._clock - self.done_grace_ms
        return self._close(lambda b: b.last_ms < horizon or _done(b, done_horizon))

    def _forget_recent(self) -> None:
        horizon = self._clock - self.reopen_ms
        recent = self._recent
        while recent:
            key, builder = next(iter(recent.items()))
            if builder.closed_at >= horizon:
                break
            del recent[key]

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
            builder.closed_at = self._clock
            if self.reopen_ms > 0:
                for key in builder.ids:
                    self._recent.pop(key, None)
                    self._recent[key] = builder
            request = build_request(builder)
            requests.append(request)
            if self.track_updates:
                self._changed.pop(id(builder), None)
                if not builder.reported and request.seen_by_api_gateway:
                    builder.reported = True
                    self._closed_updates.append(RequestUpdate(UpdateKind.NEW, request))
                if builder.reported:
                    self._closed_updates.append(RequestUpdate(UpdateKind.CLOSED, request))
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


def build_request(b: _Builder, *, in_progress: bool = False) -> Request:
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
        route=f.get("resource_path") or _route_path(f.get("route")),
        status=_int(f.get("status")),
        response_latency_ms=_int(f.get("response_latency_ms")),
        integration_latency_ms=_int(f.get("integration_latency_ms")),
        integration_status=_int(f.get("integration_status")),
        error_type=f.get("lambda_error_type") or f.get("error_type"),
        error_message=f.get("lambda_error_message") or f.get("error_message"),
        invocations=invocations,
        events=events,
        in_progress=in_progress,
    )


def _route_path(route_key: Any) -> str | None:
    """An HTTP API's route key (`GET /hello/{name}`, `$default`) → its path template."""
    if not isinstance(route_key, str) or not route_key:
        return None
    _method, sep, path = route_key.partition(" ")
    return path if sep and path.startswith("/") else route_key


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
    the grace and the time a late line may still join it) puts them back in start order, and
    lets a late line's update replace what it updates, without holding the whole window."""
    correlator = Correlator(grace_ms)
    buffer: list[tuple[int, int, str]] = []
    latest: dict[str, Request] = {}
    sequence = 0
    hold_ms = grace_ms + correlator.reopen_ms + 2 * MAX_REQUEST_MS

    def keep(request: Request) -> None:
        nonlocal sequence
        key = _identity(request)
        if key not in latest:
            heapq.heappush(buffer, (request.start_ms, sequence, key))
            sequence += 1
        latest[key] = request

    for event in events:
        for request in correlator.add(event):
            keep(request)
        horizon = event.raw.timestamp - hold_ms
        while buffer and buffer[0][0] < horizon:
            yield latest.pop(heapq.heappop(buffer)[2])
    for request in correlator.flush():
        keep(request)
    while buffer:
        yield latest.pop(heapq.heappop(buffer)[2])


def _identity(request: Request) -> str:
    """What tells one request from another in one correlation run."""
    if request.request_id:
        return request.request_id
    ids = request.ids
    return ids[0] if ids else f"@{request.start_ms}"
