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
correlator only joins IDs (for labelling lines, `apilogs.join.label`): it keeps no lines and builds
no requests."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator

from apilogs.diagnosis import build_request
from apilogs.errors import IncompleteRead
from apilogs.join.builder import Builder, Slot, earliest, latest
from apilogs.join.ids import IdIndex
from apilogs.join.streams import Held, LambdaStreams, StreamKey
from apilogs.join.timing import TimingJoin, wait_for_partners
from apilogs.join.updates import UpdateLog
from apilogs.model import LineKind, LogEvent, Request, RequestUpdate, Role

__all__ = [
    "DEFAULT_GRACE_MS",
    "DONE_GRACE_MS",
    "MAX_REQUEST_MS",
    "TIMING_WINDOW_MS",
    "Correlator",
    "Slot",
    "correlate",
    "function_name_of",
]

DEFAULT_GRACE_MS = 30_000
# API Gateway's last words on a request (the access line, "Method completed") close it sooner:
# what could still follow in time order is only a line or two within milliseconds.
DONE_GRACE_MS = 2_000
# An invocation joined by timing starts at most this long after API Gateway sent the request
# (its START, or on a cold start its INIT_START).
TIMING_WINDOW_MS = 500
_FINAL_KINDS = frozenset({LineKind.ACCESS, LineKind.APIGW_COMPLETED})
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
_AUTHORIZER, _EXECUTION, _LAMBDA = Role.AUTHORIZER, Role.EXECUTION, Role.LAMBDA
_APIGW_COMPLETED, _APIGW_START = LineKind.APIGW_COMPLETED, LineKind.APIGW_START
_APIGW_ENDPOINT_URI, _APIGW_TIMEOUT = LineKind.APIGW_ENDPOINT_URI, LineKind.APIGW_TIMEOUT
_LAMBDA_INIT, _LAMBDA_REPORT = LineKind.LAMBDA_INIT, LineKind.LAMBDA_REPORT
_LAMBDA_START = LineKind.LAMBDA_START


def function_name_of(arn: str) -> str | None:
    """`arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]` → name."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function" and parts[6]:
        return parts[6]
    return None


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

    `keep_events=False`: only the joins are kept (`add(event, slot)` says where each event went,
    and `request_of`, `probable_request_of`, `may_be_claimed` and `likely_caller` tell a reader
    of slots what is known of it); nothing is returned.

    The work is shared out: `IdIndex` joins by ID, `TimingJoin` by timing, `LambdaStreams`
    places the Lambda lines without an ID, `UpdateLog` tells what changed; this class feeds
    them each line and closes the requests."""

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
        # A reader of slots compares `changes.version` (`apilogs.join.label`).
        self.changes = UpdateLog(track_updates)
        self._ids = IdIndex(self.changes)
        self._timing = TimingJoin(timing_window_ms, self._ids, self.changes)
        self._streams = LambdaStreams()
        # The per-event path reads these without going through their owners (which alone
        # write them): a lookup per line, not a call.
        self._by_id = self._ids.by_id
        self._recent = self._ids.recent
        self._open_by_stream = self._streams.open
        self._seen_streams = self._streams.seen
        self._touch = self.changes.touch
        self._clock = 0
        self._last_sweep = 0
        self._no_id = 0
        self.late_joined = 0

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
            # The call to an integration (`Endpoint request URI`, `Sending request to`) is
            # known's too: `_add_to_known` tells the timing join of it.
            and kind is not _APIGW_TIMEOUT
            and line.lambda_request_id is None
            and line.extended_request_id is None
        ):
            known = self._by_id.get(rid)
            trace = line.trace_id
            if (
                known is not None
                and known.request_id == rid
                # A trace ID the request has, and is found by, is nothing new either: three
                # lines of a traced request carry it (X-Ray's, the method's headers).
                and (trace is None or (known.trace_id and self._by_id.get(trace) is known))
            ):
                fields = line.fields
                if not fields or (not self.keep_events and "authorizer_request_id" not in fields):
                    return self._add_to_known(known, event, slot)
        lambda_id = line.lambda_request_id
        is_lambda = role is _LAMBDA or role is _AUTHORIZER
        stream_key = (raw.group, raw.stream) if is_lambda else ("", "")
        fields = line.fields
        # Powertools' correlation ID, when it is a named request's own ID.
        correlated = (
            self._correlated(fields["correlation_id"])
            if is_lambda and fields and "correlation_id" in fields
            else None
        )
        if is_lambda and not lambda_id and (kind is _LAMBDA_INIT or kind in _ID_LESS_KINDS):
            lambda_id = self._open_by_stream.get(stream_key)
            if lambda_id is None and correlated is None:
                streams = self._streams
                init = kind is _LAMBDA_INIT or streams.holding(stream_key)
                if init or (stream_key not in self._seen_streams and streams.fresh(stream_key)):
                    # The init phase, and what the function prints while it runs, belongs to
                    # the invocation that follows in the stream; so may what a stream prints
                    # before its first START (`apilogs.join.streams`).
                    streams.hold(stream_key, event, slot, speculative=kind is not _LAMBDA_INIT)
                    return self._advance(raw.timestamp)
        authorizer_id = fields.get("authorizer_request_id") if fields else None
        # filter(None, …) keeps what a comprehension's `if i` would, without its frame.
        ids = list(
            filter(
                None,
                (
                    line.request_id,
                    line.extended_request_id,
                    line.trace_id,
                    lambda_id,
                    authorizer_id,
                ),
            )
        )
        if correlated is not None:
            ids.append(correlated)
        if not ids:
            self._no_id += 1
            return self._advance(raw.timestamp)
        request_id = line.request_id if role is not _AUTHORIZER else None
        # The common case first: one ID, of a request still open.
        found = self._by_id.get(ids[0]) if len(ids) == 1 else None
        late: Builder | None = None
        if found is not None:
            builder = found
        else:
            late = self._ids.late_builder(ids, request_id) if self._recent else None
            builder = late if late is not None else self._ids.link(ids, request_id)
        if slot is not None:
            slot.builder = builder
        if builder.record(event, lambda_id, self.keep_events):
            self.changes.version += 1
        if late is not None:
            self._ids.rejoined(late, ids)
        if is_lambda and lambda_id:
            if kind is _LAMBDA_START:
                self._started(builder, event, lambda_id, stream_key)
            elif line.lambda_request_id and self._streams.holding(stream_key):
                # The lines held since the stream's first were the output of an invocation
                # that began before the window, and this line names it.
                held = self._streams.named(
                    stream_key, lambda_id, raw.timestamp, ended=kind is _LAMBDA_REPORT
                )
                if held:
                    self._place(builder, lambda_id, held)
            elif kind is _LAMBDA_REPORT:
                self._streams.end(stream_key, lambda_id, raw.timestamp)
        elif role is _EXECUTION:
            # `Endpoint request URI` and, a moment later, `Sending request to`: the call.
            if kind is _APIGW_ENDPOINT_URI and fields:
                name = function_name_of(fields.get("function_arn") or "")
                if name:
                    self._timing.called(builder, raw.timestamp, name)
            elif kind is _APIGW_TIMEOUT:
                # API Gateway gave up: no line of its own will ever name the invocation.
                self._timing.join(builder.root())
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

    def _correlated(self, correlation_id: object) -> str | None:
        """A Lambda line's correlation ID (Powertools) when it is the request ID of a request
        API Gateway has named (it is, when the logger takes it from the event's
        `requestContext.requestId`). Any other value is the application's own, perhaps sent by
        the client and shared by several requests: never joined by."""
        if not isinstance(correlation_id, str):
            return None
        known = self._by_id.get(correlation_id) or self._recent.get(correlation_id)
        if known is not None and known.root().request_id == correlation_id:
            return correlation_id
        return None

    def _add_to_known(self, builder: Builder, event: LogEvent, slot: Slot | None) -> list[Request]:
        """Most execution lines: one more line of an open request, carrying no ID it lacks and
        nothing the joins use but a call to an integration (`add`'s checks); what
        `Builder.record` and the call's join by timing would do for it, and no more."""
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
            builder.responded_ms = latest(builder.responded_ms, timestamp)
        elif kind is _APIGW_START:
            builder.received_ms = earliest(builder.received_ms, timestamp)
        elif kind is _APIGW_ENDPOINT_URI:
            fields = event.line.fields
            if fields:
                name = function_name_of(fields.get("function_arn") or "")
                if name:
                    self._timing.called(builder, timestamp, name)
        if self.track_updates:
            self._touch(builder)
        if timestamp > self._clock:
            self._clock = timestamp
        if self._clock - self._last_sweep < self._sweep_ms:
            return []
        return self._advance(timestamp)

    def _started(
        self, builder: Builder, event: LogEvent, lambda_id: str, stream_key: StreamKey
    ) -> None:
        held = self._streams.start(stream_key, lambda_id, event.raw.timestamp)
        init_at = self._place(builder, lambda_id, held) if held else None
        inv = builder.invocations.get(lambda_id)
        if inv is not None:
            inv.start_ms = event.raw.timestamp
            inv.init_at = init_at
        name = event.raw.source.function_name
        if name:
            self._timing.started(name, event.raw.timestamp, init_at, lambda_id)

    def _place(self, builder: Builder, lambda_id: str, held: Held) -> int | None:
        """The held lines of a stream go to its invocation `lambda_id`; returns when its
        INIT_START was, if among them."""
        init_at: int | None = None
        for init, slot in held:
            if slot is not None:
                slot.builder = builder
            if builder.record(init, lambda_id, self.keep_events):
                self.changes.version += 1
            if slot is not None:
                slot.waiting = False
            if init.line.kind is _LAMBDA_INIT and init_at is None:
                init_at = init.raw.timestamp
        if self.keep_events:
            builder.events.sort(key=lambda e: e.raw.timestamp)
        self.changes.version += 1
        return init_at

    def flush(self) -> list[Request]:
        """Every request still open (end of input)."""
        done = self._close(lambda b: True, final=True)
        self._streams.clear()
        self._recent.clear()
        self._timing.clear()
        return done

    def advance(self, now_ms: int) -> list[Request]:
        """The clock moved without events (follow mode, idle): close what is old enough."""
        return self._advance(now_ms, force=True)

    # -- output --------------------------------------------------------------------------------

    def updates(self) -> list[RequestUpdate]:
        """What changed since the last call (needs `track_updates`): NEW, UPDATED and CLOSED,
        one update per request and kind, in the order the changes happened."""
        return self.changes.take()

    def open_snapshot(self) -> list[Request]:
        """The requests still open that API Gateway has named, in start order."""
        found = [
            build_request(b, in_progress=True)
            for b in self._ids.open_builders()
            if b.request_id is not None
        ]
        found.sort(key=lambda r: (r.start_ms, r.request_id or ""))
        return found

    @property
    def open_requests(self) -> int:
        return len(self._ids.open_builders())

    @property
    def clock_ms(self) -> int:
        return self._clock

    @property
    def version(self) -> int:
        """Grows whenever what any builder is, or whom it belongs to, may have changed."""
        return self.changes.version

    @property
    def unattributed(self) -> int:
        """Lines that went to no request: no ID, and no invocation open in their stream."""
        return self._no_id + self._streams.dropped

    @property
    def timing_joins(self) -> int:
        return self._timing.joins

    # -- what a reader of slots asks (`apilogs.join.label`) -----------------------------------------

    def request_of(self, slot: Slot) -> str | None:
        """The API Gateway request ID of the request an ID joined the slot's line to; None when
        none has named it yet, or the line went to no request (`Slot.joined`)."""
        builder = slot.builder
        if builder is None:
            return None
        root = builder.merged_into
        if root is None:
            return builder.request_id
        if root.merged_into is not None:
            # Asked for every held line: once compressed, the path is one step, and no call.
            root = builder.root()
        return root.request_id

    def probable_request_of(self, slot: Slot) -> str | None:
        """The request ID of the request the slot's invocation was joined to by timing."""
        builder = slot.builder
        if builder is None:
            return None
        if builder.merged_into is not None:
            builder = builder.root()
        owner = builder.probable_owner
        return None if owner is None else owner.root().request_id

    def running(self, slot: Slot) -> bool:
        """The slot's invocation has not ended (no REPORT yet)."""
        builder = slot.builder
        if builder is None:
            return False
        return any(i.end_ms is None for i in builder.root().invocations.values())

    def may_be_claimed(self, slot: Slot) -> bool:
        """Whether an API Gateway line may still name the slot's invocation: a request that
        called its function just before it started is still waiting for its answer."""
        builder = slot.builder
        if builder is None:
            return False
        return next(self._timing.waiting_callers(builder.root()), None) is not None

    def likely_caller(self, slot: Slot) -> str | None:
        """Following, for lines that cannot wait until API Gateway names their invocation (it
        does so once the function has answered): the request ID of the request joined to it by
        timing, else of the only request that called its function just before it began and
        still waits for its answer. None when there is none, or more than one. A guess for a
        label: nothing is joined."""
        builder = slot.builder
        if builder is None:
            return None
        root = builder.root()
        owner = root.probable_owner
        caller = owner.root() if owner is not None else self._timing.likely_caller(root)
        return None if caller is None else caller.request_id

    # -- closing -------------------------------------------------------------------------------

    def _advance(self, now_ms: int, force: bool = False) -> list[Request]:
        if now_ms > self._clock:
            self._clock = now_ms
        # Sweeping costs a pass over open requests: do it at most every second of stream time.
        if not force and self._clock - self._last_sweep < self._sweep_ms:
            return []
        self._last_sweep = self._clock
        self.changes.version += 1
        self._ids.forget_recent(self._clock - self.reopen_ms)
        # What a join by timing, or a START, may still need: the last two graces.
        horizon = self._clock - 2 * self.grace_ms
        self._timing.forget(horizon)
        self._streams.forget(horizon)
        horizon = self._clock - self.grace_ms
        done_horizon = self._clock - self.done_grace_ms
        return self._close(lambda b: b.last_ms < horizon or _done(b, done_horizon))

    def _close(self, ready: Callable[[Builder], bool], *, final: bool = False) -> list[Request]:
        done: dict[int, Builder] = {}
        for builder in self._by_id.values():
            if id(builder) in done or not ready(builder):
                continue
            if builder.sends and builder.probable is None:
                # Its call was never answered by ID: the last chance for a join by timing.
                self._timing.join(builder)
            done[id(builder)] = builder
        if not done:
            return []
        if not final:
            wait_for_partners(done)
        closing = list(done.values())
        self._ids.retire(closing, self._clock, remember=self.reopen_ms > 0)
        requests = []
        for builder in closing:
            if builder.probable_owner is not None or not self.keep_events:
                continue  # part of its owner's request
            request = build_request(builder)
            requests.append(request)
            if self.track_updates:
                self.changes.closed(builder, request)
        requests.sort(key=lambda r: (r.start_ms, r.request_id or ""))
        return requests


def _done(b: Builder, horizon: int) -> bool:
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
