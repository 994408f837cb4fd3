"""One request's story as data: what `apilogs show`, `show --export`, the TUI's detail pane and
its waterfall tell, built once here and only painted there.

A story holds the request's facts (its title, latencies, error, IDs and what each invocation
did), what its outcome means for the person on call, a timeline of the moments its lines show
(and its X-Ray trace's spans on the same clock), the phases of its waterfall, and notes. Pure:
no terminal, no Rich, no Markdown. Durations are worded; text that came from a log line or a
trace is kept as it was, for each painter to make safe its own way (escapes, code spans)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from apilogs.model import (
    Invocation,
    LineKind,
    Outcome,
    Request,
    Role,
    SpanKind,
    Trace,
    TraceSpan,
)
from apilogs.times import format_duration_ms

__all__ = [
    "DEFAULT_PHASE_SOURCES",
    "EXPLANATIONS",
    "NOT_SAMPLED",
    "NO_TRACE_FOUND",
    "NO_TRACE_ID",
    "InvocationFacts",
    "Moment",
    "NamedId",
    "Phase",
    "PhaseSource",
    "Story",
    "Tone",
    "explain_outcome",
    "log_phases",
    "memory_used",
    "phases_of",
    "span_flags",
    "span_label",
    "span_text",
    "tell",
    "timeline",
    "trace_moments",
    "untraced_note",
]


# --- what an outcome means -----------------------------------------------------------------------

EXPLANATIONS: dict[Outcome, str] = {
    Outcome.OK: "",
    Outcome.CLIENT_ERROR: (
        "The request was refused as sent (bad input, no such resource): the caller's side, "
        "unless the function answers 4xx by mistake."
    ),
    Outcome.AUTH_DENIED: (
        "The authorizer refused the caller (a Deny policy, or `Unauthorized`): the integration "
        "never ran. Its lines say which token or rule."
    ),
    Outcome.LAMBDA_TIMEOUT: (
        "The function ran past its configured timeout and was stopped; API Gateway answered 502. "
        "Its last lines show what it was waiting for: fix that call, or raise the timeout."
    ),
    Outcome.APIGW_TIMEOUT: (
        "API Gateway stopped waiting for the integration (its timeout: 29 s unless the route "
        "sets a shorter one) and answered 504; the function may have run on (and been billed) "
        "after that. The waterfall shows how long it waited."
    ),
    Outcome.OUT_OF_MEMORY: (
        "The function used all its memory and the runtime was killed; API Gateway answered 502. "
        "Raise its memory size, or hold less at once."
    ),
    Outcome.UNHANDLED_EXCEPTION: (
        "The function raised an exception it did not handle; API Gateway answered 502 (500 on "
        "HTTP APIs). The traceback is among its lines below."
    ),
    Outcome.MALFORMED_RESPONSE: (
        "The function returned, but not a proxy response ({statusCode, headers, body} with a "
        "string body); API Gateway answered 502."
    ),
    Outcome.BAD_PERMISSIONS: (
        "API Gateway may not invoke the function (its resource policy or the integration's "
        "role): the function never ran."
    ),
    Outcome.THROTTLED: (
        "Refused for rate: the stage's throttle (429), or Lambda's concurrency limit (500)."
    ),
    Outcome.INTEGRATION_ERROR: "The integration itself answered 5xx.",
    Outcome.SERVER_ERROR: "API Gateway answered 5xx; its lines give no more specific cause.",
    Outcome.UNKNOWN: (
        "Not enough lines to tell: execution logging may be off or at ERROR, there may be no "
        "access log, or the window cut the request. `apilogs groups` says what is missing."
    ),
}


def explain_outcome(outcome: Outcome) -> str:
    """What the outcome means for the person on call, and where to look next ("" for ok)."""
    return EXPLANATIONS.get(outcome, "")


# --- X-Ray spans in words ------------------------------------------------------------------------

# What a story says when a request's trace cannot be shown.
NO_TRACE_ID = "no trace ID in the lines: X-Ray tracing is off for this stage"
NOT_SAMPLED = "not sampled by X-Ray (its trace header says Sampled=0): no trace"
NO_TRACE_FOUND = "no trace found: not sampled by X-Ray, not yet ingested, or expired"


def untraced_note(request: Request) -> str | None:
    """Why the request has no trace to ask X-Ray for (None: it may have one)."""
    if request.trace_id is None:
        return NO_TRACE_ID
    if request.sampled is False:
        return NOT_SAMPLED
    return None


def span_label(span: TraceSpan) -> str:
    """What a span is, for people: `DynamoDB PutItem orders`, `API Gateway erat0s7hen/prod`."""
    kind = span.kind
    if kind is SpanKind.API_GATEWAY:
        return f"API Gateway {span.name}"
    if kind is SpanKind.LAMBDA:
        return f"Lambda service {span.name}"
    if kind is SpanKind.FUNCTION:
        return f"function {span.name}"
    if kind is SpanKind.AWS_CALL or kind is SpanKind.HTTP_CALL:
        return " ".join(x for x in (span.name, span.operation, span.resource) if x)
    return span.name


def span_flags(span: TraceSpan) -> str:
    flags = [
        name
        for name, on in (("fault", span.fault), ("error", span.error), ("throttle", span.throttle))
        if on
    ]
    if span.status is not None and (span.status >= 400 or flags):
        flags.append(str(span.status))
    if span.retries:
        flags.append(f"{span.retries} retries")
    if span.end_ms is None:
        flags.append("in progress")
    text = ", ".join(flags)
    if span.cause:
        text = f"{text}: {span.cause}" if text else span.cause
    return text


def span_text(span: TraceSpan) -> str:
    """One line for a span: its label, duration and flags (indented by depth by callers)."""
    parts = [span_label(span)]
    if span.duration_ms is not None:
        parts.append(format_duration_ms(span.duration_ms))
    flags = span_flags(span)
    if flags:
        parts.append(f"({flags})")
    return " ".join(parts)


# --- the timeline: moments -----------------------------------------------------------------------


class Tone(StrEnum):
    """How bad a moment is, for a painter's colour."""

    FAULT = "fault"  # a service failed
    WARNING = "warning"  # the caller's error, or throttled


@dataclass(frozen=True, slots=True)
class Moment:
    """One instant of the timeline: what happened (`name`: received, lambda, lambda end, gave
    up, responded, x-ray), when (epoch ms) and what there is to say of it."""

    name: str
    at_ms: int
    text: str
    tone: Tone | None = None


_PROBABLE_WORDS = "probable: joined by timing, no ID links it"


def timeline(request: Request) -> list[Moment]:
    """The moments the request's lines show, in time order."""
    moments = [
        Moment(
            "received",
            request.start_ms,
            f"{request.method or ''} {request.path or request.route or ''}".strip(),
        )
    ]
    for invocation in request.invocations:
        name = "authorizer" if invocation.role is Role.AUTHORIZER else "lambda"
        details = [invocation.function or "?", invocation.lambda_request_id]
        if invocation.probable:
            details.append(_PROBABLE_WORDS)
        if invocation.duration_ms is not None:
            details.append(format_duration_ms(invocation.duration_ms))
        memory = memory_used(invocation)
        if memory is not None:
            details.append(memory)
        if invocation.init_ms is not None:
            details.append(f"cold start, init {format_duration_ms(invocation.init_ms)}")
        if invocation.status:
            details.append(f"status {invocation.status}")
        at = invocation.start_ms or request.start_ms
        moments.append(Moment(name, at, ", ".join(details)))
        if invocation.end_ms:
            end = invocation.function or ""
            if request.gave_up_ms is not None and invocation.end_ms > request.gave_up_ms:
                ran_on = format_duration_ms(invocation.end_ms - request.gave_up_ms)
                end += f", {ran_on} after API Gateway gave up"
            moments.append(Moment(f"{name} end", invocation.end_ms, end))
    if request.gave_up_ms is not None:
        waited = ""
        if request.integration_latency_ms is not None:
            waited = f" after {format_duration_ms(request.integration_latency_ms)}"
        text = f"API Gateway stopped waiting for the integration{waited}"
        moments.append(Moment("gave up", request.gave_up_ms, text))
    responded = request.responded_ms if request.responded_ms is not None else request.end_ms
    moments.append(Moment("responded", responded, f"{request.status or '?'} — {request.cause}"))
    return sorted(moments, key=_at)


def _at(moment: Moment) -> int:
    return moment.at_ms


def trace_moments(trace: Trace) -> list[Moment]:
    """Each span of the trace as a moment, indented by its depth, in tree order."""
    return [
        Moment("x-ray", round(span.start_ms), "  " * span.depth + span_text(span), _tone(span))
        for span in trace.spans
    ]


def _tone(span: TraceSpan) -> Tone | None:
    if span.fault:
        return Tone.FAULT
    if span.error or span.throttle:
        return Tone.WARNING
    return None


# --- the waterfall: phases -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    """One bar of the waterfall. `style` names its colour (as Rich names colours)."""

    name: str  # "authorizer", "init", "lambda", "integration", or a subsegment's name
    start_ms: float
    end_ms: float
    label: str = ""  # the function, the downstream host, …
    style: str = "cyan"
    depth: int = 0  # nesting: subsegments under the phase they belong to
    note: str = ""  # "cold start", "timeout", "error", …

    @property
    def duration_ms(self) -> float:
        return max(0.0, self.end_ms - self.start_ms)


# Phases come from sources, functions of a Request: `log_phases` reads what the logs say;
# X-Ray's subsegments plug in as one more source that yields phases one level or more deep.
PhaseSource = Callable[[Request], Iterable[Phase]]


def log_phases(request: Request) -> list[Phase]:
    """The phases the logs show."""
    phases: list[Phase] = []
    for inv in request.invocations:
        start = inv.start_ms
        if start is None:
            continue
        if inv.duration_ms is not None:
            end = start + inv.duration_ms
        elif inv.end_ms is not None:
            end = inv.end_ms
        else:
            end = request.end_ms if request.in_progress else start
        function = inv.function or ""
        authorizer = inv.role is Role.AUTHORIZER
        if inv.init_ms:
            init = "auth init" if authorizer else "init"
            phases.append(
                Phase(init, start - inv.init_ms, start, function, "bright_cyan", 0, "cold start")
            )
        if authorizer:
            phases.append(Phase("authorizer", start, end, function, "magenta", 0, inv.status or ""))
        else:
            style = "bright_red" if inv.status else "green"
            phases.append(Phase("lambda", start, end, function, style, 0, inv.status or ""))
    sent = next(
        (e.timestamp for e in request.events if e.kind is LineKind.APIGW_ENDPOINT_URI), None
    )
    got = next((e.timestamp for e in request.events if e.kind is LineKind.APIGW_RESPONSE), None)
    if got is not None and request.integration_latency_ms is not None:
        phases.append(
            Phase("integration", got - request.integration_latency_ms, got, "", "blue", 0)
        )
    elif sent is not None and got is not None and got >= sent:
        phases.append(Phase("integration", sent, got, "", "blue", 0))
    elif sent is not None:
        timed_out = any(e.kind is LineKind.APIGW_TIMEOUT for e in request.events)
        end = request.end_ms
        phases.append(
            Phase("integration", sent, end, "", "blue", 0, "timeout" if timed_out else "")
        )
    return phases


DEFAULT_PHASE_SOURCES: tuple[PhaseSource, ...] = (log_phases,)


def phases_of(
    request: Request, sources: Sequence[PhaseSource] = DEFAULT_PHASE_SOURCES
) -> list[Phase]:
    """Every phase of the request, in start order; subsegments keep their place after their
    parent (a stable sort on start time, depth kept)."""
    phases = [phase for source in sources for phase in source(request)]
    return sorted(phases, key=lambda p: (p.start_ms, p.depth))


# --- the facts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamedId:
    """One of the request's IDs: `name` in full, `short_name` where a column is narrow."""

    name: str
    short_name: str
    value: str


@dataclass(frozen=True, slots=True)
class InvocationFacts:
    """What the story says of one invocation: its durations worded, its logged text as is."""

    role: str  # what the story calls it: "lambda" or "authorizer"
    lambda_request_id: str
    function: str | None
    duration: str | None  # "1.2 s"
    memory: str | None  # "56/128 MB"; "56/? MB" when the size was not logged
    init: str | None  # a cold start's init duration
    status: str | None  # the REPORT's status: timeout, error
    probable: bool  # joined by timing only

    def words(
        self, logged: Callable[[str], str], cold_start: str = "cold start, init {}"
    ) -> list[str]:
        """The function, duration, memory, cold start and status, as far as known. `logged`
        makes the logged text safe for the painter; `cold_start` words the init duration."""
        words = [logged(self.function or "?")]
        words += [x for x in (self.duration, self.memory) if x is not None]
        if self.init is not None:
            words.append(cold_start.format(self.init))
        if self.status:
            words.append(f"status {logged(self.status)}")
        return words

    @property
    def probable_note(self) -> str:
        """Why the invocation is the request's though no ID says it."""
        return (
            f"{self.lambda_request_id} is joined by timing only: it started right after API "
            f"Gateway called {self.function or 'the function'}, and no ID links it to another "
            "request"
        )


def memory_used(invocation: Invocation) -> str | None:
    """`56/128 MB`: the memory an invocation used of its size; `56/? MB` when its REPORT gave
    no size (or one Lambda cannot have, `apilogs.parse.vet`); None without the used memory. The
    facts and the timeline both say it so."""
    if invocation.max_memory_mb is None:
        return None
    return f"{invocation.max_memory_mb}/{invocation.memory_mb or '?'} MB"


def _invocation_facts(request: Request) -> tuple[InvocationFacts, ...]:
    return tuple(
        InvocationFacts(
            role="authorizer" if inv.role is Role.AUTHORIZER else "lambda",
            lambda_request_id=inv.lambda_request_id,
            function=inv.function,
            duration=None if inv.duration_ms is None else format_duration_ms(inv.duration_ms),
            memory=memory_used(inv),
            init=None if inv.init_ms is None else format_duration_ms(inv.init_ms),
            status=inv.status,
            probable=inv.probable,
        )
        for inv in request.invocations
    )


def _ids(request: Request) -> tuple[NamedId, ...]:
    named = (
        ("request id", "request id", request.request_id),
        ("extended request id", "extended id", request.extended_request_id),
        ("trace id", "trace id", request.trace_id),
    )
    return tuple(NamedId(name, short, value) for name, short, value in named if value)


def _worded(ms: float | None) -> str:
    return "-" if ms is None else format_duration_ms(ms)


# --- the story -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Story:
    """Everything a painter tells of one request; its lines are `request.events`."""

    request: Request
    explanation: str  # what the outcome means for the person on call ("" for ok)
    error: str | None  # "Type: message", as logged
    latencies: tuple[tuple[str, str], ...]  # ("response", "850 ms"), ("integration", "-")
    ids: tuple[NamedId, ...]
    invocations: tuple[InvocationFacts, ...]
    timeline: tuple[Moment, ...]  # what the lines show
    phases: tuple[Phase, ...]  # the waterfall's bars, from every phase source
    trace: Trace | None = None
    trace_moments: tuple[Moment, ...] = ()  # the trace's spans, on the timeline's clock
    notes: tuple[str, ...] = ()  # about its trace: why there is none, or that it is being read

    @property
    def title(self) -> str:
        """What the client asked for: `GET /prod/primes/4453`."""
        request = self.request
        return f"{request.method or '?'} {request.path or request.route or '?'}"

    @property
    def route_title(self) -> str:
        """The route first, and the path when it says more: `GET /primes/{n} (/primes/4453)`."""
        request = self.request
        title = f"{request.method or '?'} {request.route or request.path or '?'}"
        if request.path and request.route and request.path != request.route:
            title += f" ({request.path})"
        return title

    @property
    def traced_timeline(self) -> list[Moment]:
        """The timeline with the trace's spans in their place (after the lines' moments of the
        same millisecond)."""
        return sorted((*self.timeline, *self.trace_moments), key=_at)


def tell(
    request: Request,
    *,
    trace: Trace | None = None,
    trace_notes: Iterable[str] = (),
    phase_sources: Sequence[PhaseSource] = DEFAULT_PHASE_SOURCES,
) -> Story:
    """The request's story; with its X-Ray `trace` once read, or `trace_notes` saying why there
    is none. `phase_sources` give the waterfall's phases (X-Ray's plug in there)."""
    error = ": ".join(x for x in (request.error_type, request.error_message) if x)
    return Story(
        request=request,
        explanation=explain_outcome(request.outcome),
        error=error or None,
        latencies=(
            ("response", _worded(request.response_latency_ms)),
            ("integration", _worded(request.integration_latency_ms)),
        ),
        ids=_ids(request),
        invocations=_invocation_facts(request),
        timeline=tuple(timeline(request)),
        phases=tuple(phases_of(request, phase_sources)),
        trace=trace,
        trace_moments=tuple(trace_moments(trace)) if trace is not None else (),
        notes=tuple(trace_notes),
    )
