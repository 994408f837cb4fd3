"""What the correlator knows so far of one request (`Builder`), and where each event went
(`Slot`). A builder takes in what each of its lines says; two builders an ID links are folded
into one (`absorb`), the other left pointing at it (`root`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apilogs.model import Invocation, LineKind, LogEvent, Role

__all__ = ["Builder", "InvocationFacts", "Slot", "earliest", "latest"]

# Enum members `record` uses, read from module names: on Python 3.11, reading `Role.LAMBDA`
# from its class takes EnumType.__getattr__'s slow path (several times a global).
_ACCESS_ROLE, _AUTHORIZER = Role.ACCESS, Role.AUTHORIZER
_EXECUTION, _LAMBDA = Role.EXECUTION, Role.LAMBDA
_ACCESS_LINE, _APIGW_START = LineKind.ACCESS, LineKind.APIGW_START
_APIGW_COMPLETED, _APIGW_TIMEOUT = LineKind.APIGW_COMPLETED, LineKind.APIGW_TIMEOUT
_LAMBDA_REPORT, _LAMBDA_START = LineKind.LAMBDA_REPORT, LineKind.LAMBDA_START
# An error object's fields describe the request's failure too.
_ERROR_FIELDS = ("error_type", "error_message", "error_cause", "timeout_s")


class Slot:
    """Where one event went. `apilogs.join.label` keeps it beside the event and asks the correlator
    later which request that is (the builder may have been folded into another since)."""

    __slots__ = ("builder", "phase", "speculative", "waiting")

    def __init__(self) -> None:
        self.builder: Builder | None = None
        # Held for the START that follows an init phase: its invocation is not known yet.
        self.waiting = False
        # Placed in an invocation's init (`init`) or SnapStart restore (`restore`) by where it
        # sits in its stream (`apilogs.join.streams`).
        self.phase: str | None = None
        # Held only because its stream had shown no START yet (no INIT_START before it): if no
        # START comes, nothing could have told its request.
        self.speculative = False

    @property
    def joined(self) -> bool:
        """The event went to a request (or to an invocation no request has claimed yet)."""
        return self.builder is not None


@dataclass
class InvocationFacts:
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


class Builder:
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
        self.invocations: dict[str, InvocationFacts] = {}
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
        self.merged_into: Builder | None = None
        # A request's invocation joined by timing (soft: not merged), and its reverse.
        self.probable: Builder | None = None
        self.probable_owner: Builder | None = None
        # API Gateway's "Sending request to" a Lambda function: (when, function name).
        self.sends: list[tuple[int, str]] = []
        self.responded_ms: int | None = None
        self.gave_up_ms: int | None = None
        # When API Gateway received the request: its first execution line.
        self.received_ms: int | None = None

    def root(self) -> Builder:
        """The builder this one was folded into (itself when it was not)."""
        found = self
        while found.merged_into is not None:
            found = found.merged_into
        if found is not self:
            self.merged_into = found  # path compression: slots resolve in one step next time
        return found

    def absorb(self, other: Builder) -> None:
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
        self.responded_ms = latest(self.responded_ms, other.responded_ms)
        self.received_ms = earliest(self.received_ms, other.received_ms)
        self.gave_up_ms = self.gave_up_ms or other.gave_up_ms
        self.last_ms = max(self.last_ms, other.last_ms)
        self.reported = self.reported or other.reported

    def record(self, event: LogEvent, lambda_id: str | None, keep_events: bool) -> bool:
        """Take in what one line says (`lambda_id`: its invocation, also when the line does
        not name it). True when what a slot is asked may have changed: the request's ID, an
        invocation's end, an invocation or authorizer named by API Gateway."""
        line = event.line
        raw = event.raw
        fields = line.fields
        kind = line.kind
        changed = False
        if keep_events:
            self.events.append(event)
        self.kinds.add(kind)
        if raw.timestamp > self.last_ms:
            self.last_ms = raw.timestamp
        role = raw.source.role
        if line.request_id and not self.request_id and role is not _AUTHORIZER:
            self.request_id = line.request_id
            changed = True
        if line.extended_request_id and not self.extended_request_id:
            self.extended_request_id = line.extended_request_id
        if line.trace_id and not self.trace_id:
            self.trace_id = line.trace_id
        if role is _LAMBDA or role is _AUTHORIZER:
            if not lambda_id:
                return changed
            inv = self.invocations.get(lambda_id)
            if inv is None:
                inv = self.invocations[lambda_id] = InvocationFacts(lambda_id)
            inv.role = role
            if inv.function is None:
                inv.function = raw.source.function_name
            if kind is _LAMBDA_START or inv.start_ms is None:
                inv.start_ms = (
                    raw.timestamp if inv.start_ms is None else min(inv.start_ms, raw.timestamp)
                )
            if kind is _LAMBDA_REPORT:
                inv.end_ms = raw.timestamp
                changed = True
            if role is _AUTHORIZER:
                self.authorizer_ids.add(lambda_id)
            if not fields:
                return changed
            inv.fields.update(fields)
            if not keep_events:
                return changed
            # An authorizer that raises `Unauthorized` is how a Lambda authorizer says 401:
            # kept apart from the integration's failure.
            prefix = "authorizer" if role is _AUTHORIZER else "lambda"
            for key in _ERROR_FIELDS:
                if key in fields:
                    self.facts.setdefault(f"{prefix}_{key}", fields[key])
            return changed
        if kind is _APIGW_COMPLETED or kind is _ACCESS_LINE:
            self.responded_ms = latest(self.responded_ms, raw.timestamp)
        elif kind is _APIGW_START:
            self.received_ms = earliest(self.received_ms, raw.timestamp)
        elif kind is _APIGW_TIMEOUT:
            self.gave_up_ms = self.gave_up_ms or raw.timestamp
        if line.lambda_request_id and line.lambda_request_id not in self.invocations:
            self.invocations[line.lambda_request_id] = InvocationFacts(line.lambda_request_id)
            changed = True
        if not fields:
            return changed
        authorizer_id = fields.get("authorizer_request_id")
        if authorizer_id and authorizer_id not in self.authorizer_ids:
            self.authorizer_ids.add(authorizer_id)
            changed = True
        if not keep_events:
            return changed
        facts = self.facts
        for key, value in fields.items():
            if value is None or value == "":
                continue
            if key == "status" and role is _EXECUTION and kind is not _APIGW_COMPLETED:
                continue
            # The access log's final word on status and latencies wins over intermediate lines.
            if role is _ACCESS_ROLE or key not in facts:
                facts[key] = value
        return changed


def latest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


def earliest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
