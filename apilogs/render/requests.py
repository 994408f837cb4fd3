"""Request → a row (`apilogs requests`), a JSON object, a story (`apilogs show`); and the window's
summary (`apilogs stats`)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from apilogs.diagnosis.story import Tone, span_text, tell
from apilogs.diagnosis.summary import PERCENTILES
from apilogs.model import Outcome, Request, SpanKind, Trace, TraceSpan
from apilogs.render.events import EventFormatter, event_to_dict
from apilogs.render.sanitize import sanitize
from apilogs.render.style import BOLD, BRIGHT_RED, CYAN, DIM, GREEN, RED, YELLOW, Painter
from apilogs.render.table import (
    SPACING,
    Column,
    Narrow,
    cut,
    cut_left,
    fit_spaced,
    join,
    row_width,
)
from apilogs.times import format_duration_ms, is_valid_ms, iso_utc_or_none

OUTCOME_COLORS = {
    Outcome.OK: GREEN,
    Outcome.CLIENT_ERROR: YELLOW,
    Outcome.AUTH_DENIED: YELLOW,
    Outcome.THROTTLED: YELLOW,
    Outcome.UNKNOWN: DIM,
}
TONE_COLORS = {Tone.FAULT: RED, Tone.WARNING: YELLOW}

__all__ = [
    "OUTCOME_COLORS",
    "RequestRows",
    "request_to_dict",
    "span_to_dict",
    "stats_lines",
    "story_lines",
    "trace_call_lines",
    "trace_to_dict",
]


def _ms(value: float | None) -> str:
    return "-" if value is None else format_duration_ms(value)


def _cell(value: object) -> str:
    """Any value for a table cell, a header or a story line: one line, every unsafe character
    shown as an escape. Every piece of text a request carries came from a log line."""
    return sanitize(str(value), keep_newlines=False)


def span_to_dict(span: TraceSpan) -> dict[str, Any]:
    """One X-Ray span in JSON output."""
    return {
        "id": span.span_id,
        "parent_id": span.parent_id,
        "depth": span.depth,
        "kind": str(span.kind),
        "name": span.name,
        "origin": span.origin,
        "operation": span.operation,
        "resource": span.resource,
        "start_timestamp": round(span.start_ms, 3),
        "end_timestamp": None if span.end_ms is None else round(span.end_ms, 3),
        "duration_ms": None if span.duration_ms is None else round(span.duration_ms, 3),
        "status": span.status,
        "fault": span.fault,
        "error": span.error,
        "throttle": span.throttle,
        "cause": span.cause,
        "retries": span.retries,
    }


def trace_to_dict(trace: Trace) -> dict[str, Any]:
    """An X-Ray trace in JSON output: its spans in tree order."""
    return {
        "trace_id": trace.trace_id,
        "source": trace.source,
        "duration_ms": None if trace.duration_ms is None else round(trace.duration_ms, 3),
        "limit_exceeded": trace.limit_exceeded,
        "spans": [span_to_dict(s) for s in trace.spans],
    }


def request_to_dict(
    request: Request,
    *,
    with_events: bool = False,
    trace: Trace | None = None,
    with_trace: bool = False,
) -> dict[str, Any]:
    """The JSON object of a request (`requests -o json`; with its lines, `show -o json`).
    `with_trace` (`--traces`): a `trace` key, the request's X-Ray trace or null."""
    integration = request.integration
    doc: dict[str, Any] = {
        "time": iso_utc_or_none(request.start_ms),
        "timestamp": request.start_ms,
        "end_timestamp": request.end_ms,
        "request_id": request.request_id,
        "extended_request_id": request.extended_request_id,
        "lambda_request_ids": list(request.lambda_request_ids),
        "trace_id": request.trace_id,
        "method": request.method,
        "path": request.path,
        "route": request.route,
        "status": request.status,
        "response_latency_ms": request.response_latency_ms,
        "integration_latency_ms": request.integration_latency_ms,
        "integration_status": request.integration_status,
        "function": integration.function if integration else None,
        "lambda_duration_ms": integration.duration_ms if integration else None,
        "memory_used_mb": integration.max_memory_mb if integration else None,
        "memory_size_mb": integration.memory_mb if integration else None,
        "cold_start": request.cold_start,
        "init_duration_ms": next((i.init_ms for i in request.invocations if i.init_ms), None),
        "outcome": str(request.outcome),
        "cause": request.cause,
        "error_type": request.error_type,
        "error_message": request.error_message,
        "responded_timestamp": request.responded_ms,
        "gave_up_timestamp": request.gave_up_ms,
        # Some invocation was joined by timing alone (no ID links it): a probable join.
        "probable": request.probable,
        "invocations": [
            {
                "lambda_request_id": i.lambda_request_id,
                "role": str(i.role),
                "function": i.function,
                "duration_ms": i.duration_ms,
                "billed_ms": i.billed_ms,
                "memory_size_mb": i.memory_mb,
                "max_memory_used_mb": i.max_memory_mb,
                "init_duration_ms": i.init_ms,
                "status": i.status,
                "start_timestamp": i.start_ms,
                "end_timestamp": i.end_ms,
                "probable": i.probable,
            }
            for i in request.invocations
        ],
        "lines": len(request.events),
    }
    if request.in_progress:
        doc["in_progress"] = True
    if with_trace or trace is not None:
        doc["trace"] = trace_to_dict(trace) if trace is not None else None
    if with_events:
        doc["events"] = [event_to_dict(e) for e in request.events]
    return doc


REQUEST_ID_WIDTH = 36
# The shortest prefix of a request ID that every command takes for the ID (`lookup.MIN_PREFIX`).
ID_PREFIX = 8
ROW_COLUMNS = (
    Column("TIME", 12),
    Column("METHOD", 6),
    Column("PATH", 28),
    Column("ROUTE", 24),
    Column("STATUS", 6),
    Column("LATENCY", 8),
    Column("LAMBDA", 8),
    Column("MEMORY", 9),
    Column("CAUSE", 34),
    Column("REQUEST ID", REQUEST_ID_WIDTH),
)
_TIME, _PATH, _CAUSE, _ID = 0, 2, 8, 9


def _plan(time_width: int) -> tuple[Narrow, ...]:
    """On a narrow terminal, the least useful first. What an on-call person reads at 80
    columns stays: time, method, path, status, latency, Lambda duration, cause and an ID to
    copy (its first 8 characters, which every command takes for the ID). Below that, columns
    go in the order of the last steps; the ID is never left out."""
    return (
        Narrow("ROUTE", 0),
        Narrow("MEMORY", 0),
        Narrow("CAUSE", 28),
        Narrow("PATH", 22),
        Narrow("REQUEST ID", ID_PREFIX, whole=True),
        Narrow("CAUSE", 24),
        Narrow("PATH", 18),
        Narrow("LATENCY", 7),
        Narrow("LAMBDA", 7),
        Narrow(SPACING, 1),
        Narrow("TIME", time_width - 4, whole=True),  # without the milliseconds
        Narrow("CAUSE", 18),
        Narrow("PATH", 13),
        Narrow("LAMBDA", 0),
        Narrow("METHOD", 0),
        Narrow("LATENCY", 0),
        Narrow("CAUSE", 12),
        Narrow("PATH", 8),
        Narrow("CAUSE", 0),
        Narrow("PATH", 0),
    )


ROW_HEADER = tuple(c.title for c in ROW_COLUMNS)
UPDATED = "(updated)"
# On a wide terminal the cause takes the room left, up to this much.
_CAUSE_ROOM = 80

# A cause for a narrow column, when the whole one does not fit: what happened in a few words
# (the numbers are in the other columns and in `show`). An exception's cause starts with its
# type, and says more cut than any summary.
SHORT_CAUSES = {
    Outcome.CLIENT_ERROR: "Client error",
    Outcome.AUTH_DENIED: "Authorizer denied",
    Outcome.LAMBDA_TIMEOUT: "Lambda timeout",
    Outcome.APIGW_TIMEOUT: "Gateway timeout",
    Outcome.OUT_OF_MEMORY: "Out of memory",
    Outcome.MALFORMED_RESPONSE: "Malformed response",
    Outcome.BAD_PERMISSIONS: "Bad permissions",
    Outcome.THROTTLED: "Throttled",
}


# Below this width a cut cause says less than its few words.
_SHORT_BELOW = 30


def short_cause(request: Request, width: int) -> str:
    """The request's cause in at most `width` characters (cut with … if need be)."""
    cause = _cell(request.cause)
    if len(cause) > width and width < _SHORT_BELOW:
        cause = SHORT_CAUSES.get(request.outcome, cause)
    return cut(cause, width)


class RequestRows:
    """One aligned line per request. The widths are chosen once (from the terminal's width, when
    there is one) so that a stream of rows stays aligned and no row wraps. A pipe has no width:
    every column at its full width, and the cause and the ID whole (a longer one pushes the
    ID further on its row: the ID stays the last field)."""

    def __init__(
        self, paint: Painter, clock: Any, *, width: int | None = None, with_date: bool = False
    ) -> None:
        self.paint = paint
        self.clock = clock
        self.with_date = with_date
        self.width = width
        columns = list(ROW_COLUMNS)
        if with_date:
            columns[0] = Column("TIME", len("2026-11-30 12:00:00.000"))
        self.time_width = columns[0].width
        self.widths, self.gap = fit_spaced(columns, _plan(self.time_width), width)
        if width is not None and self.widths[_CAUSE]:
            room = width - row_width(self.widths, self.gap)
            self.widths[_CAUSE] += max(0, min(room, _CAUSE_ROOM - self.widths[_CAUSE]))
        # Short IDs shown so far, each with the whole IDs it stood for: a prefix that would
        # stand for two requests is made longer on the second one's row.
        self._shown: dict[str, str] = {}

    @property
    def short_ids(self) -> bool:
        return self.widths[_ID] < REQUEST_ID_WIDTH

    def header(self) -> str:
        titles = list(ROW_HEADER)
        if self.short_ids:
            titles[_ID] = "ID"
        return self.paint(join(titles, self.widths, self.gap), BOLD)

    def cells(self, request: Request) -> list[str]:
        """The whole text of each column, for `request`."""
        integration = request.integration
        memory = "-"
        if integration and integration.max_memory_mb is not None:
            memory = f"{integration.max_memory_mb}/{integration.memory_mb or '?'}"
        lambda_ms = _ms(integration.duration_ms if integration else None)
        if request.cold_start:
            lambda_ms += "*"
        if not is_valid_ms(request.start_ms):
            # Fits the narrowest time column; the number is in `-o json` and `show`.
            when = "invalid time"
        elif self.with_date:
            when = self.clock.dated(request.start_ms)
        else:
            when = self.clock.short(request.start_ms)
        return [
            when,
            _cell(request.method or "-"),
            _cell(request.path or request.route or "-"),
            _cell(request.route or "-"),
            str(request.status or "-"),
            _ms(request.response_latency_ms),
            lambda_ms,
            memory,
            _cell(request.cause),
            _cell(
                request.request_id
                or (request.lambda_request_ids[0] if request.lambda_request_ids else "-")
            ),
        ]

    def short_id(self, full: str) -> str:
        """The ID as the narrowed column shows it: its first 8 characters, more when those
        were shown for another ID already (the earlier prefix then finds both: `show` lists
        them)."""
        width = self.widths[_ID]
        if len(full) <= width or full == "-":
            return full
        length = width
        while length < len(full):
            owner = self._shown.setdefault(full[:length], full)
            if owner == full:
                break
            length += 1
        if len(self._shown) > 200_000:
            self._shown.clear()  # bounded: a collision this far back is told by `show`
        return full[:length]

    def _shown_cells(self, request: Request, mark: int = 0) -> tuple[list[str], list[int]]:
        """Each kept column's text, cut to its width, and the widths of this row. `mark`:
        the room a mark after the row takes (`(updated)`), taken from the cause."""
        cells = self.cells(request)
        widths = list(self.widths)
        over = row_width(widths, self.gap) + mark - self.width if self.width else 0
        if over > 0:
            # From a wide cause; then half from the path, half from the cause, so that both
            # still say something (the columns before the path stay aligned).
            from_cause = min(over, max(0, widths[_CAUSE] - _SHORT_BELOW))
            widths[_CAUSE] -= from_cause
            over -= from_cause
            from_path = min(over // 2, max(0, widths[_PATH] - 8))
            widths[_PATH] -= from_path
            widths[_CAUSE] = max(0, widths[_CAUSE] - (over - from_path))
        if widths[_TIME] < self.time_width and cells[_TIME] != "invalid time":
            cells[_TIME] = cells[_TIME][: widths[_TIME]]  # the milliseconds go
        if self.short_ids:
            cells[_ID] = self.short_id(cells[_ID])
        if self.width is None:
            # A pipe: the cause whole; it pushes the ID along on this row only.
            widths[_CAUSE] = max(widths[_CAUSE], len(cells[_CAUSE]))
        else:
            # A longer ID than its column (a longer prefix, an HTTP API's ID) takes its room
            # from the cause, so the row still fits.
            over = len(cells[_ID]) - widths[_ID]
            if over > 0 and widths[_CAUSE] > over:
                widths[_CAUSE] -= over
            cells[_CAUSE] = short_cause(request, widths[_CAUSE])
            cells[_PATH] = cut_left(cells[_PATH], widths[_PATH])
        # The ID is last and never cut: whatever it holds, people copy it whole.
        widths[_ID] = max(widths[_ID], len(cells[_ID]))
        return cells, widths

    def row(self, request: Request, *, updated: bool = False) -> str:
        """`updated`: the row of a request printed before, now changed by a late line."""
        paint = self.paint
        mark = f"  {paint(UPDATED, YELLOW)}" if updated else ""
        cells, widths = self._shown_cells(request, len(UPDATED) + 2 if updated else 0)
        if not paint.enabled:
            return join(cells, widths, self.gap) + mark
        # Colour the status and the cause in place: the widths are of the uncoloured text.
        color = OUTCOME_COLORS.get(request.outcome, BRIGHT_RED)
        padded = [cut(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)]
        status = ROW_HEADER.index("STATUS")
        padded[status] = paint(padded[status], color, BOLD)
        if request.outcome.is_error:
            padded[_CAUSE] = paint(padded[_CAUSE], color)
        kept = [p for p, w in zip(padded, widths, strict=True) if w]
        return ((" " * self.gap).join(kept)).rstrip() + mark


# A cause longer than this is cut, and shows … (an exception's message can be a paragraph).
_CAUSE_WIDTH = 120


class _Summary(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _wrapped(text: str, width: int | None, indent: str = "  ") -> list[str]:
    """Prose for a terminal `width` wide: folded at spaces, never cut."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(
        text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def _example_ids(ids: list[str], width: int | None) -> list[str]:
    """The example request IDs of `stats`: whole in a pipe; on a terminal their first 8
    characters (every command takes them), more where two would share them."""
    if width is None:
        return ids
    shown: list[str] = []
    for full in ids:
        length = min(ID_PREFIX, len(full))
        while length < len(full) and any(o != full and o.startswith(full[:length]) for o in ids):
            length += 1
        shown.append(full[:length])
    return shown


def stats_lines(summary: _Summary, paint: Painter, width: int | None = None) -> Iterator[str]:
    """`apilogs stats` for people, from the summary's JSON document (either engine's).
    `width`: the terminal's; no line is longer (a long one is folded, an ID shortened to its
    first 8 characters, a cause cut); None (a pipe): every line whole."""
    doc = summary.to_dict()

    def pct_line(pcts: dict[str, Any]) -> str:
        if not pcts.get("count"):
            return "-"
        parts = [
            f"p{p} {format_duration_ms(pcts[f'p{p}'])}"
            for p in PERCENTILES
            if pcts.get(f"p{p}") is not None
        ]
        if pcts.get("max") is not None:
            parts.append(f"max {format_duration_ms(pcts['max'])}")
        return "  ".join(parts) or "-"

    span = ""
    if doc.get("from") and doc.get("to"):
        span = f" between {doc['from']} and {doc['to']}"
    by = " (computed by Logs Insights)" if doc.get("engine") == "insights" else ""
    for line in _wrapped(f"{doc['requests']} requests{span}{by}", width):
        yield paint(line, BOLD)
    classes = "  ".join(f"{k} {v}" for k, v in doc["by_status_class"].items())
    yield from _wrapped(f"  status       {classes or '-'}", width, " " * 15)
    yield from _wrapped(f"  response     {pct_line(doc['response_latency_ms'])}", width, " " * 15)
    yield from _wrapped(
        f"  integration  {pct_line(doc['integration_latency_ms'])}", width, " " * 15
    )
    durations: dict[str, Any] = doc["lambda_duration_ms"]
    if durations:
        yield ""
        yield paint("Lambda duration", BOLD)
        name_width = max(len(_cell(k)) for k in durations)
        for name, pcts in durations.items():
            cold = doc["cold_starts"].get(name)
            extra = ""
            if cold and cold.get("count"):
                p50 = cold["init_ms"].get("p50")
                init = f" (init p50 {format_duration_ms(p50)})" if p50 is not None else ""
                extra = f"cold {cold['count']}×{init}"
            head = f"  {_cell(name).ljust(name_width)}  "
            pcts_text = pct_line(pcts)
            whole = head + pcts_text + (f"  {extra}" if extra else "")
            if width is None or len(whole) <= width:
                yield whole
                continue
            # Too long for the terminal: the cold starts under the percentiles, and the
            # percentiles under the name when even they do not fit beside it.
            under = " " * len(head)
            if len(head) + len(pcts_text) > width:
                yield f"  {_cell(name)}"
                under = "      "
                yield from _wrapped(under + pcts_text, width, under)
            else:
                yield head + pcts_text
            if extra:
                yield from _wrapped(under + extra, width, under)
    errors = doc.get("errors")
    if errors is None:
        yield ""
        yield paint("Errors by cause", BOLD)
        yield from _wrapped(
            "  not computed by Logs Insights: they need each request's lines joined "
            "(--engine filter)",
            width,
            "  ",
        )
    elif errors:
        yield ""
        yield paint("Errors by cause", BOLD)
        # The cause goes last, where a long one has room: the columns before it stay aligned.
        examples = _example_ids([_cell(row["example_request_id"] or "-") for row in errors], width)
        id_width = max(len(e) for e in examples)
        kind_width = max(len(str(row["outcome"])) for row in errors)
        for row, example in zip(errors, examples, strict=True):
            outcome = Outcome(row["outcome"])
            color = OUTCOME_COLORS.get(outcome, RED)
            head_width = 2 + 5 + 2 + kind_width + 1 + len("e.g. ") + id_width + 2
            room = _CAUSE_WIDTH if width is None else max(1, width - head_width)
            yield (
                f"  {paint(str(row['count']).rjust(5), color, BOLD)}  "
                f"{str(outcome).ljust(kind_width)} "
                f"e.g. {example.ljust(id_width)}  {cut(_cell(row['cause']), room)}"
            )
    routes = doc["slowest_routes"]
    if routes:
        yield ""
        yield paint("Slowest routes (p90)", BOLD)
        for route in routes:
            p90 = format_duration_ms(route["p90_ms"] or 0).rjust(8)
            count = f"  ({route['count']} requests)"
            text = _cell(route["route"])
            if width is not None:
                text = cut(text, max(8, width - 12 - len(count)))
            yield f"  {p90}  {text}{count}"


def trace_call_lines(trace: Trace, paint: Painter, width: int | None = None) -> Iterator[str]:
    """`requests --traces`: the downstream calls of a trace (and a failed Initialization),
    one indented line each: what the row cannot say. `width`: the terminal's; a longer line
    is cut (the whole trace is in `-o json` and `show --traces`)."""
    for span in trace.spans:
        if span.kind is SpanKind.AWS_CALL and span.name == "Lambda" and span.depth == 1:
            continue  # API Gateway's own call to the function: the row says it
        failed_init = span.name == "Initialization" and (span.fault or span.error)
        if span.is_call or (failed_init and span.kind is SpanKind.PHASE):
            text = _cell(span_text(span))
            if width is not None:
                text = cut(text, max(8, width - len("    x-ray  ")))
            color = RED if span.fault else YELLOW if (span.error or span.throttle) else DIM
            yield f"    {paint('x-ray', DIM)}  {paint(text, color)}"


def story_lines(
    request: Request,
    formatter: EventFormatter,
    paint: Painter,
    *,
    trace: Trace | None = None,
    trace_notes: Iterable[str] = (),
) -> Iterator[str]:
    """`apilogs show`: the header, a timeline of phases (with the X-Ray trace's segments and
    downstream calls when given, on the same clock), then every line."""
    story = tell(request, trace=trace, trace_notes=trace_notes)
    color = OUTCOME_COLORS.get(request.outcome, BRIGHT_RED)
    status = str(request.status or "?")
    yield f"{paint(_cell(story.route_title), BOLD)}  →  {paint(status, color, BOLD)}  {paint(_cell(request.cause), color)}"
    yield f"  when        {formatter.clock.full(request.start_ms)}"
    yield f"  latency     {', '.join(f'{name} {value}' for name, value in story.latencies)}"
    for named in story.ids:
        yield f"  {named.short_name:<11} {_cell(named.value)}"
    if story.error:
        yield f"  error       {paint(_cell(story.error), RED)}"
    for invocation in story.invocations:
        if invocation.probable:
            yield f"  {paint('probable', YELLOW)}    {_cell(invocation.probable_note)}"
    for note in story.notes:
        yield f"  x-ray       {_cell(note)}"
    yield ""
    yield paint("Timeline", BOLD)
    start = request.start_ms
    for moment in story.traced_timeline:
        delta = moment.at_ms - start
        offset = (f"+{delta} ms" if delta >= 0 else f"{delta} ms").rjust(10)
        text = _cell(moment.text)
        if moment.tone is not None:
            text = paint(text, TONE_COLORS[moment.tone])
        yield f"  {paint(offset, DIM)}  {paint(moment.name.ljust(12), CYAN)} {text}"
    yield ""
    yield paint(f"Lines ({len(request.events)})", BOLD)
    for event in request.events:
        yield formatter.format(event, False)
