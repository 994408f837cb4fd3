"""LogEvent stream (time order) → Request records: one per API request, joined across services.

IDs join lines: API Gateway's request ID, the Lambda request ID(s) of the integration and the
authorizer, the X-Ray trace ID and the extended request ID. Any line carrying two of them links
what each already gathered, so the order in which the IDs show up does not matter (a Lambda's
lines come before the execution-log line that names its request ID). Lambda lines without an ID
(a plain `print`, a traceback) belong to the invocation open in the same log stream between
START and REPORT; the init phase (`INIT_START` / `platform.initStart`, and whatever the function
prints while it initialises) belongs to the invocation that follows it in the stream.

When no ID links a request to its invocation (API Gateway gave up on the integration before the
Lambda answered, and the request was not sampled by X-Ray, so the REPORT carries no trace ID),
the invocation is joined by timing: an invocation of the function API Gateway called that starts
within `timing_window_ms` after `Sending request to`, that no ID gives to another request, and
that no other request still waiting for its invocation could equally have started. Such a join
is *probable* (`Invocation.probable`); it is a soft link, dropped if an ID later says otherwise,
and it never gives one invocation to two requests.

Streaming and bounded: a request is emitted once the stream's clock has passed its last line by
`grace_ms` (or at `flush()`); the builder forgets it then. With `keep_events=False` the
correlator only joins IDs (for labelling lines, `apilogs.label`): it keeps no lines and builds
no requests."""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apilogs.diagnosis import build_request
from apilogs.errors import IncompleteRead
from apilogs.model import (
    Invocation,
    LineKind,
    LogEvent,
    Request,
    RequestUpdate,
    Role,
    UpdateKind,
)

DEFAULT_GRACE_MS = 30_000
# API Gateway's last words on a request (the access line, "Method completed") close it sooner:
# what could still follow in time order is only a line or two within milliseconds.
DONE_GRACE_MS = 2_000
# An invocation joined by timing starts at most this long after API Gateway sent the request
# (its START, or on a cold start its INIT_START).
TIMING_WINDOW_MS = 500
# ID-less lines of a stream waiting for the START that follows an INIT phase.
MAX_PENDING_PER_STREAM = 500
_FINAL_KINDS = frozenset({LineKind.ACCESS, LineKind.APIGW_COMPLETED})
# Execution lines that start or end a call to an integration: the joins by timing need them.
_EXECUTION_JOINS = frozenset({LineKind.APIGW_ENDPOINT_URI, LineKind.APIGW_TIMEOUT})
_ID_LESS_KINDS = frozenset(
    {
        LineKind.LAMBDA_PRINT,
        LineKind.LAMBDA_TRACEBACK,
        LineKind.LAMBDA_RUNTIME_EXIT,
        LineKind.LAMBDA_ERROR,
        LineKind.UNKNOWN,
    }
)


# Enum members the per-event code uses, read from module names: on Python 3.11, reading
# `Role.LAMBDA` from its class takes EnumType.__getattr__'s slow path (several times a global).
_ACCESS_LINE = LineKind.ACCESS
_APIGW_COMPLETED = LineKind.APIGW_COMPLETED
_APIGW_START = LineKind.APIGW_START
_APIGW_ENDPOINT_URI = LineKind.APIGW_ENDPOINT_URI
_APIGW_TIMEOUT = LineKind.APIGW_TIMEOUT
_LAMBDA_INIT = LineKind.LAMBDA_INIT
_LAMBDA_REPORT = LineKind.LAMBDA_REPORT
_LAMBDA_START = LineKind.LAMBDA_START
_ACCESS_ROLE = Role.ACCESS
_AUTHORIZER = Role.AUTHORIZER
_EXECUTION = Role.EXECUTION
_LAMBDA = Role.LAMBDA


def function_name_of(arn: str) -> str | None:
    """`arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]` → name."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function" and parts[6]:
        return parts[6]
    return None


class Slot:
    """Where one event went. `apilogs.label` keeps it beside the event and asks it later which
    request that is (the builder may have been folded into another since)."""

    __slots__ = ("builder", "waiting")

    def __init__(self) -> None:
        self.builder: _Builder | None = None
        # Held for the START that follows an init phase: its invocation is not known yet.
        self.waiting = False


@dataclass
class _InvocationFacts:
    lambda_request_id: str
    role: Role = Role.LAMBDA
    function: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    init_at: int | None = None  # the INIT_START of a cold start, before START
    fields: dict[str, Any] = field(default_factory=dict)

    def freeze(self, *, probable: bool = False) -> Invocation:
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
            probable=probable,
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
        "gave_up_ms",
        "ids",
        "invocations",
        "kinds",
        "last_ms",
        "merged_into",
        "probable",
        "probable_owner",
        "received_ms",
        "reported",
        "request_id",
        "responded_ms",
        "sends",
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
        # Folded into this builder: slots that point here follow it.
        self.merged_into: _Builder | None = None
        # A request's invocation joined by timing (soft: not merged), and its reverse.
        self.probable: _Builder | None = None
        self.probable_owner: _Builder | None = None
        # API Gateway's "Sending request to" a Lambda function: (when, function name).
        self.sends: list[tuple[int, str]] = []
        self.responded_ms: int | None = None
        self.gave_up_ms: int | None = None
        # When API Gateway received the request: its first execution line.
        self.received_ms: int | None = None

    def root(self) -> _Builder:
        """The builder this one was folded into (itself when it was not)."""
        found = self
        while found.merged_into is not None:
            found = found.merged_into
        if found is not self:
            self.merged_into = found  # path compression: slots resolve in one step next time
        return found

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
                mine.init_at = mine.init_at or inv.init_at
                mine.function = mine.function or inv.function
        self.authorizer_ids |= other.authorizer_ids
        if other.events:
            # Both lists are in time order; a merge keeps it.
            self.events = sorted(self.events + other.events, key=lambda e: e.raw.timestamp)
        for key, value in other.facts.items():
            self.facts.setdefault(key, value)
        self.kinds |= other.kinds
        self.ids |= other.ids
        self.sends += other.sends
        self.responded_ms = _latest(self.responded_ms, other.responded_ms)
        self.received_ms = _earliest(self.received_ms, other.received_ms)
        self.gave_up_ms = self.gave_up_ms or other.gave_up_ms
        self.last_ms = max(self.last_ms, other.last_ms)
        self.reported = self.reported or other.reported


def _latest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


def _earliest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _send_ms(entry: tuple[int, Any]) -> int:
    return entry[0]


def _starts_within(send_ms: int, start_ms: int, init_at: int | None, window_ms: int) -> bool:
    if send_ms <= start_ms <= send_ms + window_ms:
        return True
    return init_at is not None and send_ms <= init_at <= send_ms + window_ms


class Correlator:
    """Feed events in time order with `add`; it joins them into requests and closes each once
    the stream's clock has passed its last line by the grace.

    Two ways to consume it:
    - window reads take the closed requests `add`, `advance` and `flush` return;
    - front ends that show requests as they happen (`track_updates=True`) take `updates()`:
      a request is reported NEW once API Gateway has named it, UPDATED (at most once per take)
      when lines joined it, CLOSED when it closes. A line that arrives after its request closed,
      within `reopen_ms`, joins that request (UPDATED again; also returned by `add` as closed)
      instead of starting a second request with the same ID.

    `keep_events=False`: only the joins are kept (`add(event, slot)` says where each event went);
    nothing is returned."""

    def __init__(
        self,
        grace_ms: int = DEFAULT_GRACE_MS,
        done_grace_ms: int = DONE_GRACE_MS,
        *,
        track_updates: bool = False,
        reopen_ms: int | None = None,
        keep_events: bool = True,
        timing_window_ms: int = TIMING_WINDOW_MS,
    ) -> None:
        self.grace_ms = grace_ms
        self.done_grace_ms = min(done_grace_ms, grace_ms)
        self._sweep_ms = min(1_000, self.done_grace_ms)
        self.reopen_ms = grace_ms if reopen_ms is None else reopen_ms
        self.track_updates = track_updates
        self.keep_events = keep_events
        self.timing_window_ms = timing_window_ms
        self._by_id: dict[str, _Builder] = {}
        # Closed requests a late line may still join, by ID; oldest first.
        self._recent: dict[str, _Builder] = {}
        self._open_by_stream: dict[tuple[str, str], str] = {}
        self._pending_init: dict[tuple[str, str], list[tuple[LogEvent, Slot | None]]] = {}
        # For joins by timing: invocations by function (START ms, INIT ms, Lambda ID) and API
        # Gateway's calls by function (Sending ms, the request's builder), in time order.
        self._starts: dict[str, deque[tuple[int, int | None, str]]] = {}
        self._sends: dict[str, deque[tuple[int, _Builder]]] = {}
        self._changed: dict[int, _Builder] = {}
        self._closed_updates: list[RequestUpdate] = []
        self._serials = itertools.count()
        self._clock = 0
        self._last_sweep = 0
        self.unattributed = 0
        self.late_joined = 0
        self.timing_joins = 0
        # Grows whenever what any builder is, or whom it belongs to, may have changed: a reader
        # of slots (apilogs.label) asks again only then.
        self.version = 0

    # -- input ---------------------------------------------------------------------------------

    def add(self, event: LogEvent, slot: Slot | None = None) -> list[Request]:
        """Join one event; returns the requests this step closed (and closed requests a late
        line just updated). `slot`, when given, is told which builder the event went to."""
        line = event.line
        raw = event.raw
        role = raw.source.role
        kind = line.kind
        rid = line.request_id
        if (
            role is _EXECUTION
            and rid is not None
            and kind not in _EXECUTION_JOINS
            and line.lambda_request_id is None
            and line.trace_id is None
            and line.extended_request_id is None
        ):
            known = self._by_id.get(rid)
            if known is not None and known.request_id == rid:
                fields = line.fields
                if not fields or (not self.keep_events and "authorizer_request_id" not in fields):
                    return self._add_to_known(known, event, slot)
        lambda_id = line.lambda_request_id
        is_lambda = role is _LAMBDA or role is _AUTHORIZER
        stream_key = (raw.group, raw.stream) if is_lambda else ("", "")
        if is_lambda and not lambda_id and (kind is _LAMBDA_INIT or kind in _ID_LESS_KINDS):
            lambda_id = self._open_by_stream.get(stream_key)
            if lambda_id is None and (kind is _LAMBDA_INIT or stream_key in self._pending_init):
                # The init phase, and what the function prints while it runs, belongs to the
                # invocation that follows in the stream.
                self._hold_for_start(stream_key, event, slot)
                return self._advance(raw.timestamp)
        fields = line.fields
        authorizer_id = fields.get("authorizer_request_id") if fields else None
        ids = [
            i
            for i in (
                line.request_id,
                line.extended_request_id,
                line.trace_id,
                lambda_id,
                authorizer_id,
            )
            if i
        ]
        if not ids:
            self.unattributed += 1
            return self._advance(raw.timestamp)
        request_id = line.request_id if role is not _AUTHORIZER else None
        # The common case first: one ID, of a request still open.
        found = self._by_id.get(ids[0]) if len(ids) == 1 else None
        late: _Builder | None = None
        if found is not None:
            builder = found
        else:
            late = self._late_builder(ids, request_id) if self._recent else None
            builder = late if late is not None else self._link(ids, request_id)
        self._record(builder, event, lambda_id, slot)
        if late is not None:
            for i in ids:
                if i not in late.ids:
                    late.ids.add(i)
                    self._recent[i] = late
        if is_lambda and lambda_id:
            if kind is _LAMBDA_START:
                self._started(builder, event, lambda_id, stream_key)
            elif kind is _LAMBDA_REPORT and self._open_by_stream.get(stream_key) == lambda_id:
                del self._open_by_stream[stream_key]
        elif role is _EXECUTION:
            # `Endpoint request URI` and, a moment later, `Sending request to`: the call.
            if kind is _APIGW_ENDPOINT_URI and fields:
                name = function_name_of(fields.get("function_arn") or "")
                if name:
                    builder.sends.append((raw.timestamp, name))
                    sends = self._sends.setdefault(name, deque())
                    if sends and raw.timestamp < sends[-1][0]:
                        # Following, a line read late: the calls stay in time order (searched).
                        insort(sends, (raw.timestamp, builder), key=_send_ms)
                    else:
                        sends.append((raw.timestamp, builder))
            elif kind is _APIGW_TIMEOUT:
                # API Gateway gave up: no line of its own will ever name the invocation.
                self._join_by_timing(builder.root())
        if self.track_updates:
            self._touch(builder)
        timestamp = raw.timestamp
        if timestamp > self._clock:
            self._clock = timestamp
        if self._clock - self._last_sweep < self._sweep_ms and late is None:
            return []
        done = self._advance(timestamp)
        if late is not None:
            self.late_joined += 1
            if self.keep_events:
                target = late.probable_owner or late
                done.append(build_request(target.root()))
        return done

    def _add_to_known(self, builder: _Builder, event: LogEvent, slot: Slot | None) -> list[Request]:
        """Most execution lines: one more line of an open request, carrying no ID it lacks and
        nothing the joins use (`add`'s checks); what `_record` would do for it, and no more."""
        if slot is not None:
            slot.builder = builder
        if self.keep_events:
            builder.events.append(event)
        kind = event.line.kind
        builder.kinds.add(kind)
        timestamp = event.raw.timestamp
        if timestamp > builder.last_ms:
            builder.last_ms = timestamp
        if kind is _APIGW_COMPLETED:
            builder.responded_ms = _latest(builder.responded_ms, timestamp)
        elif kind is _APIGW_START:
            builder.received_ms = _earliest(builder.received_ms, timestamp)
        if self.track_updates:
            self._touch(builder)
        if timestamp > self._clock:
            self._clock = timestamp
        if self._clock - self._last_sweep < self._sweep_ms:
            return []
        return self._advance(timestamp)

    def flush(self) -> list[Request]:
        """Every request still open (end of input)."""
        done = self._close(lambda b: True, final=True)
        self._open_by_stream.clear()
        for held in self._pending_init.values():
            for _, slot in held:
                if slot is not None:
                    slot.waiting = False
            self.unattributed += len(held)
        self._pending_init.clear()
        self._recent.clear()
        self._starts.clear()
        self._sends.clear()
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
            if builder.merged_into is not None or builder.probable_owner is not None:
                continue
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

    @property
    def clock_ms(self) -> int:
        return self._clock

    def may_be_claimed(self, builder: _Builder) -> bool:
        """Whether an API Gateway line may still name this invocation-only builder: a request
        that sent to its function just before it started is still waiting for its answer."""
        return next(self._waiting_callers(builder), None) is not None

    def likely_caller(self, builder: _Builder) -> _Builder | None:
        """Following, for lines that cannot wait until API Gateway names their invocation (it
        does so once the function has answered): the request that most likely started this
        invocation-only builder, the only one that called its function just before it began
        and still waits for its answer. None when there is none, or more than one. A guess
        for a label: nothing is joined."""
        found: _Builder | None = None
        for caller in self._waiting_callers(builder):
            if found is None:
                found = caller
            elif caller is not found:
                return None
        return found

    def _waiting_callers(self, builder: _Builder) -> Iterator[_Builder]:
        """The requests still waiting for an answer that called one of the builder's functions
        just before its invocation began, newest call first (a request may come twice)."""
        window = self.timing_window_ms
        for inv in builder.invocations.values():
            name = inv.function
            if name is None or inv.start_ms is None:
                continue
            sends = self._sends.get(name)
            if not sends:
                continue
            began = inv.start_ms if inv.init_at is None else min(inv.start_ms, inv.init_at)
            last = inv.start_ms if inv.init_at is None else max(inv.start_ms, inv.init_at)
            # Newest first, from the last call made before it started (a held line is looked at
            # again while the stream runs on: the calls made since are many, and never its
            # caller); stop at the calls made too long before it began.
            after = len(sends) - bisect_right(sends, last, key=_send_ms)
            for send_ms, sender in itertools.islice(reversed(sends), after, None):
                if send_ms < began - window:
                    break
                if not _starts_within(send_ms, inv.start_ms, inv.init_at, window):
                    continue
                rival = sender.root()
                if not rival.closed and not self._has_invocation_of(rival, name):
                    yield rival

    # -- internals -----------------------------------------------------------------------------

    def _hold_for_start(
        self, stream_key: tuple[str, str], event: LogEvent, slot: Slot | None
    ) -> None:
        held = self._pending_init.setdefault(stream_key, [])
        if slot is not None:
            slot.waiting = True
        held.append((event, slot))
        if len(held) > MAX_PENDING_PER_STREAM:
            _, dropped = held.pop(0)
            if dropped is not None:
                dropped.waiting = False
            self.unattributed += 1

    def _started(
        self, builder: _Builder, event: LogEvent, lambda_id: str, stream_key: tuple[str, str]
    ) -> None:
        self._open_by_stream[stream_key] = lambda_id
        init_at: int | None = None
        held = self._pending_init.pop(stream_key, None)
        if held:
            for init, slot in held:
                self._record(builder, init, lambda_id, slot)
                if slot is not None:
                    slot.waiting = False
                if init.line.kind is LineKind.LAMBDA_INIT and init_at is None:
                    init_at = init.raw.timestamp
            if self.keep_events:
                builder.events.sort(key=lambda e: e.raw.timestamp)
        inv = builder.invocations.get(lambda_id)
        if inv is not None:
            inv.start_ms = event.raw.timestamp
            inv.init_at = init_at
        name = event.raw.source.function_name
        if name:
            self._starts.setdefault(name, deque()).append((event.raw.timestamp, init_at, lambda_id))

    def _has_invocation_of(self, request: _Builder, name: str) -> bool:
        """The request has an invocation of this function joined by ID (or by timing)."""
        if request.probable is not None:
            return True
        for lid, inv in request.invocations.items():
            if inv.function == name or (inv.function is None and lid not in request.authorizer_ids):
                return True
        return False

    def _join_by_timing(self, request: _Builder) -> None:
        """Give the request the one invocation its unanswered call could have started."""
        if request.probable is not None or request.request_id is None or request.closed:
            return
        window = self.timing_window_ms
        for send_ms, name in request.sends:
            if self._has_invocation_of(request, name):
                continue
            found: list[tuple[_Builder, int, int | None]] = []
            # A cold start's START may come up to the init's length after the call.
            for start_ms, init_at, lid in reversed(self._starts.get(name, ())):
                if start_ms < send_ms:
                    break
                if not _starts_within(send_ms, start_ms, init_at, window):
                    continue
                candidate = self._by_id.get(lid)
                if candidate is None:
                    continue
                candidate = candidate.root()
                if (
                    candidate is request
                    or candidate.request_id is not None
                    or candidate.probable_owner is not None
                    or candidate.closed
                    or any(c is candidate for c, _, _ in found)
                ):
                    continue
                found.append((candidate, start_ms, init_at))
            if len(found) != 1:
                continue  # none, or several: a guess would be a coin toss
            invocation, start_ms, init_at = found[0]
            if self._contested(request, name, start_ms, init_at):
                continue  # another request waiting for an answer could have started it
            request.probable = invocation
            invocation.probable_owner = request
            self.timing_joins += 1
            self.version += 1
            self._touch(request)
            return

    def _contested(self, request: _Builder, name: str, start_ms: int, init_at: int | None) -> bool:
        """Another request, still waiting for its own invocation of this function, called it
        just before this invocation began."""
        window = self.timing_window_ms
        began = start_ms if init_at is None else min(start_ms, init_at)
        for rival_send, sender in reversed(self._sends.get(name, ())):
            if rival_send < began - window:
                return False
            rival = sender.root()
            if (
                rival is not request
                and not rival.closed
                and not self._has_invocation_of(rival, name)
                and _starts_within(rival_send, start_ms, init_at, window)
            ):
                return True
        return False

    def _touch(self, builder: _Builder) -> None:
        if self.track_updates:
            owner = builder.probable_owner
            target = owner.root() if owner is not None else builder
            self._changed[id(target)] = target

    def _late_builder(self, ids: list[str], request_id: str | None) -> _Builder | None:
        """The closed request a late line belongs to, if no open one claims its IDs."""
        recent = self._recent
        if not recent:
            return None
        by_id = self._by_id
        for i in ids:
            if i in by_id:
                return None
        for i in ids:
            found = recent.get(i)
            if found is not None and (request_id is None or found.request_id in (None, request_id)):
                return found
        return None

    def _link(self, ids: list[str], request_id: str | None) -> _Builder:
        by_id = self._by_id
        # Closed builders are not in `by_id`: what is found is open.
        first: _Builder | None = None
        builders: list[_Builder] | None = None
        for i in ids:
            found = by_id.get(i)
            if found is None or found is first:
                continue
            if first is None:
                first = found
            elif builders is None:
                builders = [first, found]
            elif all(found is not b for b in builders):
                builders.append(found)
        if builders is None and (
            first is None or not request_id or first.request_id in (None, request_id)
        ):
            # The common case: the IDs name one request or none yet.
            builder = first if first is not None else self._new_builder()
            for i in ids:
                if by_id.get(i) is not builder:
                    by_id[i] = builder
                    builder.ids.add(i)
                    self.version += 1
            return builder
        if builders is None:
            builders = [first] if first is not None else []
        # Two requests API Gateway told apart stay apart, whatever else they share (a client
        # may send the same trace header twice).
        owner = request_id or next((b.request_id for b in builders if b.request_id), None)
        if owner:
            builders = [b for b in builders if b.request_id in (None, owner)]
        if not builders:
            builder = self._new_builder()
        else:
            # Keep the builder already reported (front ends know it), else the one with the most
            # lines; fold the others into it.
            builders.sort(key=lambda b: (b.reported, len(b.events), -b.serial), reverse=True)
            builder = builders[0]
            for other in builders[1:]:
                self._merge(builder, other)
        for i in ids:
            if by_id.get(i) is not builder:
                by_id[i] = builder
                builder.ids.add(i)
        self.version += 1
        return builder

    def _new_builder(self) -> _Builder:
        self.version += 1
        return _Builder(next(self._serials))

    def _merge(self, keep: _Builder, other: _Builder) -> None:
        """Fold `other` into `keep`; a join by timing that an ID now confirms stops being a
        guess, one an ID gives to another request is dropped."""
        links: list[tuple[_Builder, _Builder]] = []
        for b in (keep, other):
            if b.probable is not None:
                links.append((b, b.probable))
            if b.probable_owner is not None:
                links.append((b.probable_owner, b))
        for request, invocation in links:
            request.probable = None
            invocation.probable_owner = None
        keep.absorb(other)
        other.merged_into = keep
        self._changed.pop(id(other), None)
        for key in other.ids:
            self._by_id[key] = keep
        for request, invocation in links:
            owner, inv = request.root(), invocation.root()
            if owner is inv or inv.request_id is not None:
                continue  # confirmed by an ID, or claimed by another request's ID
            owner.probable = inv
            inv.probable_owner = owner

    def _record(
        self, b: _Builder, event: LogEvent, lambda_id: str | None, slot: Slot | None
    ) -> None:
        line = event.line
        raw = event.raw
        fields = line.fields
        kind = line.kind
        if slot is not None:
            slot.builder = b
        if self.keep_events:
            b.events.append(event)
        b.kinds.add(kind)
        if raw.timestamp > b.last_ms:
            b.last_ms = raw.timestamp
        role = raw.source.role
        if line.request_id and not b.request_id and role is not _AUTHORIZER:
            b.request_id = line.request_id
            self.version += 1
        if line.extended_request_id and not b.extended_request_id:
            b.extended_request_id = line.extended_request_id
        if line.trace_id and not b.trace_id:
            b.trace_id = line.trace_id
        if role is _LAMBDA or role is _AUTHORIZER:
            if not lambda_id:
                return
            inv = b.invocations.get(lambda_id)
            if inv is None:
                inv = b.invocations[lambda_id] = _InvocationFacts(lambda_id)
            inv.role = role
            if inv.function is None:
                inv.function = raw.source.function_name
            if kind is _LAMBDA_START or inv.start_ms is None:
                inv.start_ms = (
                    raw.timestamp if inv.start_ms is None else min(inv.start_ms, raw.timestamp)
                )
            if kind is _LAMBDA_REPORT:
                inv.end_ms = raw.timestamp
                self.version += 1
            if role is _AUTHORIZER:
                b.authorizer_ids.add(lambda_id)
            if not fields:
                return
            inv.fields.update(fields)
            if not self.keep_events:
                return
            # An error object's fields describe the request's failure too. An authorizer that
            # raises `Unauthorized` is how a Lambda authorizer says 401: kept apart.
            prefix = "authorizer" if role is _AUTHORIZER else "lambda"
            for key in ("error_type", "error_message", "error_cause", "timeout_s"):
                if key in fields:
                    b.facts.setdefault(f"{prefix}_{key}", fields[key])
            return
        if kind is _APIGW_COMPLETED or kind is _ACCESS_LINE:
            b.responded_ms = _latest(b.responded_ms, raw.timestamp)
        elif kind is _APIGW_START:
            b.received_ms = _earliest(b.received_ms, raw.timestamp)
        elif kind is _APIGW_TIMEOUT:
            b.gave_up_ms = b.gave_up_ms or raw.timestamp
        if line.lambda_request_id and line.lambda_request_id not in b.invocations:
            b.invocations[line.lambda_request_id] = _InvocationFacts(line.lambda_request_id)
            self.version += 1
        if not fields:
            return
        authorizer_id = fields.get("authorizer_request_id")
        if authorizer_id and authorizer_id not in b.authorizer_ids:
            b.authorizer_ids.add(authorizer_id)
            self.version += 1
        if not self.keep_events:
            return
        facts = b.facts
        for key, value in fields.items():
            if value is None or value == "":
                continue
            if key == "status" and role is _EXECUTION and kind is not _APIGW_COMPLETED:
                continue
            # The access log's final word on status and latencies wins over intermediate lines.
            if role is _ACCESS_ROLE or key not in facts:
                facts[key] = value

    def _advance(self, now_ms: int, force: bool = False) -> list[Request]:
        if now_ms > self._clock:
            self._clock = now_ms
        # Sweeping costs a pass over open requests: do it at most every second of stream time.
        if not force and self._clock - self._last_sweep < self._sweep_ms:
            return []
        self._last_sweep = self._clock
        self.version += 1
        self._forget_recent()
        self._forget_timing()
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

    def _forget_timing(self) -> None:
        """What a join by timing may still need: calls and starts of the last two graces."""
        horizon = self._clock - 2 * self.grace_ms
        for index in (self._starts, self._sends):
            for name in list(index):
                entries = index[name]
                while entries and entries[0][0] < horizon:
                    entries.popleft()
                if not entries:
                    del index[name]
        for key in [
            k for k, held in self._pending_init.items() if held[-1][0].raw.timestamp < horizon
        ]:
            for _, slot in self._pending_init.pop(key):
                if slot is not None:
                    slot.waiting = False
                self.unattributed += 1

    def _close(self, ready: Callable[[_Builder], bool], *, final: bool = False) -> list[Request]:
        done: dict[int, _Builder] = {}
        for builder in self._by_id.values():
            if id(builder) in done or not ready(builder):
                continue
            if builder.sends and builder.probable is None:
                # Its call was never answered by ID: the last chance for a join by timing.
                self._join_by_timing(builder)
            done[id(builder)] = builder
        if not done:
            return []
        if not final:
            # A request and its invocation joined by timing close together, when both are ready.
            waiting = True
            while waiting:
                waiting = False
                for serial, builder in list(done.items()):
                    partner = builder.probable or builder.probable_owner
                    if partner is not None and not partner.closed and id(partner) not in done:
                        del done[serial]
                        waiting = True
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
            if builder.probable_owner is not None or not self.keep_events:
                continue  # part of its owner's request
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

    try:
        for event in events:
            for request in correlator.add(event):
                keep(request)
            horizon = event.raw.timestamp - hold_ms
            while buffer and buffer[0][0] < horizon:
                yield latest.pop(heapq.heappop(buffer)[2])
    except IncompleteRead:
        # Raised once every other group's events were delivered: the requests are as whole
        # as they will get, so all of them go out before the error.
        for request in correlator.flush():
            keep(request)
        while buffer:
            yield latest.pop(heapq.heappop(buffer)[2])
        raise
    except (Exception, KeyboardInterrupt):
        # Stopped midway: the requests already closed go out; those still open may lack lines
        # that were never read, and are not told as if complete.
        while buffer:
            yield latest.pop(heapq.heappop(buffer)[2])
        raise
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
