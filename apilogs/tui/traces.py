"""X-Ray traces in the TUI: what was read (cached per trace ID), what the detail pane says about
a request's trace, and the phase source that puts a trace's spans in the waterfall under the
log phases, on the same clock. Pure: the app reads traces in a thread worker and hands the
results here. Trace data is untrusted: every value goes through `cell()`, never markup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rich.text import Text

from apilogs.diagnosis.story import NO_TRACE_FOUND, Phase, span_flags, span_label
from apilogs.fetch.xray import TraceReport
from apilogs.model import Request, SpanKind, Trace, TraceSpan
from apilogs.times import format_duration_ms
from apilogs.tui.text import cell

__all__ = [
    "READING",
    "TraceCache",
    "report_note",
    "trace_phases",
    "xray_lines",
]

READING = "reading X-Ray trace…"
# The detail pane lists at most this many calls (the waterfall shows them all).
MAX_CALLS_LISTED = 20


def request_key(request: Request) -> str:
    """What a note about the request's trace is kept under: its trace ID, or another ID."""
    return request.trace_id or request.request_id or next(iter(request.ids), "")


@dataclass
class TraceCache:
    """The traces read so far (by trace ID), and what was said about the others: not found,
    the read failed, no trace to ask for. Only traces are kept for good: asking again after a
    miss or a failure reads again (a trace not yet ingested may be there by then)."""

    traces: dict[str, Trace] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    reading: set[str] = field(default_factory=set)

    def trace_for(self, request: Request | None) -> Trace | None:
        if request is None or request.trace_id is None:
            return None
        return self.traces.get(request.trace_id)

    def note_for(self, request: Request | None) -> str | None:
        """What the detail pane says instead of a trace (None: nothing asked, or a trace)."""
        if request is None:
            return None
        if request.trace_id is not None and request.trace_id in self.reading:
            return READING
        return self.notes.get(request_key(request))

    def phases(self, request: Request) -> list[Phase]:
        """The phase source: the cached trace's spans (none before it is read)."""
        trace = self.trace_for(request)
        return trace_phases(trace) if trace is not None else []


def report_note(report: TraceReport, trace_id: str) -> str | None:
    """Why the report has no trace for `trace_id`, in one line (None: it has one)."""
    if report.get(trace_id) is not None:
        return None
    if report.error:
        return report.error
    if trace_id in report.unprocessed:
        return "X-Ray did not process this trace ID this time: press X to ask again"
    return NO_TRACE_FOUND


def _shown(span: TraceSpan, by_id: Mapping[str, TraceSpan]) -> bool:
    if span.kind is SpanKind.PHASE:
        return True
    if not span.is_call:
        return False
    parent = by_id.get(span.parent_id or "")
    # API Gateway's own call to the function: the log phases show it (lambda, integration).
    return not (
        parent is not None and parent.kind is SpanKind.API_GATEWAY and span.name == "Lambda"
    )


def _note(span: TraceSpan) -> str:
    marks = (("fault", span.fault), ("error", span.error), ("throttle", span.throttle))
    flags = [name for name, on in marks if on]
    if span.status is not None and (span.status >= 400 or flags):
        flags.append(str(span.status))
    if span.end_ms is None:
        flags.append("in progress")
    return " ".join(flags)


def _style(span: TraceSpan) -> str:
    if span.fault:
        return "bright_red"
    if span.error or span.throttle:
        return "yellow"
    if span.kind is SpanKind.PHASE:
        return {"Initialization": "bright_cyan", "Overhead": "bright_black"}.get(span.name, "green")
    return "bright_blue"


def trace_phases(trace: Trace) -> list[Phase]:
    """The function's Initialization, Invocation and Overhead, and each downstream call, as
    phases one level or more under the log phases (by their depth in the trace)."""
    by_id = {s.span_id: s for s in trace.spans if s.span_id}
    shown = [s for s in trace.spans if _shown(s, by_id)]
    if not shown:
        return []
    phase_depths = [s.depth for s in shown if s.kind is SpanKind.PHASE]
    base = min(phase_depths) if phase_depths else min(s.depth for s in shown)
    phases: list[Phase] = []
    for span in shown:
        if span.kind is SpanKind.PHASE:
            label = ""
        elif span.kind is SpanKind.HTTP_CALL:
            label = span.resource or span.operation or ""
        else:
            label = " ".join(x for x in (span.operation, span.resource) if x)
        end = span.end_ms if span.end_ms is not None else span.start_ms
        phases.append(
            Phase(
                cell(span.name),
                span.start_ms,
                end,
                cell(label),
                _style(span),
                max(1, span.depth - base + 1),
                _note(span),
            )
        )
    return phases


def xray_lines(trace: Trace | None, note: str | None) -> list[Text]:
    """The detail pane's X-Ray section: the downstream calls (name, duration, outcome), or
    why there is no trace to show. Empty when nothing was asked."""
    if trace is None and note is None:
        return []
    lines = [Text("X-Ray", "bold underline", end="")]
    if trace is None:
        style = "dim italic" if note == READING else "yellow"
        lines.append(Text(f"  {cell(note)}", style, end="", no_wrap=True))
        return lines
    by_id = {s.span_id: s for s in trace.spans if s.span_id}
    calls = [s for s in trace.spans if s.is_call and _shown(s, by_id)]
    spans_word = "span" if len(trace.spans) == 1 else "spans"
    calls_word = "call" if len(calls) == 1 else "calls"
    summary = (
        f"  trace {cell(trace.trace_id)} · {len(trace.spans)} {spans_word} · "
        f"{len(calls)} {calls_word}"
    )
    # What the spans cover, when they say: X-Ray's own Duration can be 0 for a trace still
    # being assembled (and is, on the emulator).
    ends = [s.end_ms for s in trace.spans if s.end_ms is not None]
    if ends:
        summary += f" · {format_duration_ms(max(ends) - min(s.start_ms for s in trace.spans))}"
    elif trace.duration_ms:
        summary += f" · {format_duration_ms(trace.duration_ms)}"
    if trace.limit_exceeded:
        summary += " · cut by X-Ray (too big)"
    lines.append(Text(summary, "dim", end="", no_wrap=True))
    if not calls:
        lines.append(Text("  no downstream calls in its trace", "dim", end="", no_wrap=True))
    for span in calls[:MAX_CALLS_LISTED]:
        line = Text(f"  {cell(span_label(span))}", "bold", end="", no_wrap=True)
        took = "…" if span.duration_ms is None else format_duration_ms(span.duration_ms)
        line.append(f"  {took}")
        flags = span_flags(span)
        if flags:
            style = "bright_red" if span.fault else "yellow" if span.error or span.throttle else ""
            line.append(f"  {cell(flags)}", style or "dim")
        else:
            line.append("  ok", "green")
        lines.append(line)
    if len(calls) > MAX_CALLS_LISTED:
        more = len(calls) - MAX_CALLS_LISTED
        lines.append(Text(f"  … {more} more calls (in the waterfall)", "dim", end=""))
    return lines
