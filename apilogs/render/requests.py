"""Request → a row (`apilogs requests`), a JSON object, a story (`apilogs show`); and the window's
summary (`apilogs stats`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from apilogs.model import Outcome, Request, Role
from apilogs.render.events import EventFormatter, event_to_dict
from apilogs.render.sanitize import sanitize
from apilogs.render.style import BOLD, BRIGHT_RED, CYAN, DIM, GREEN, RED, YELLOW, Painter
from apilogs.render.table import Column, Narrow, cut, fit, join
from apilogs.summary import PERCENTILES
from apilogs.times import format_duration_ms, iso_utc

OUTCOME_COLORS = {
    Outcome.OK: GREEN,
    Outcome.CLIENT_ERROR: YELLOW,
    Outcome.AUTH_DENIED: YELLOW,
    Outcome.THROTTLED: YELLOW,
    Outcome.UNKNOWN: DIM,
}


def _ms(value: float | None) -> str:
    return "-" if value is None else format_duration_ms(value)


def _cell(value: object) -> str:
    """Any value for a table cell, a header or a story line: one line, every unsafe character
    shown as an escape. Every piece of text a request carries came from a log line."""
    return sanitize(str(value), keep_newlines=False)


def request_to_dict(request: Request, *, with_events: bool = False) -> dict[str, Any]:
    """The JSON object of a request (`requests -o json`; with its lines, `show -o json`)."""
    integration = request.integration
    doc: dict[str, Any] = {
        "time": iso_utc(request.start_ms),
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
            }
            for i in request.invocations
        ],
        "lines": len(request.events),
    }
    if request.in_progress:
        doc["in_progress"] = True
    if with_events:
        doc["events"] = [event_to_dict(e) for e in request.events]
    return doc


REQUEST_ID_WIDTH = 36
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
# On a narrow terminal: the least useful first; the request ID is never cut nor left out.
ROW_PLAN = (
    Narrow("ROUTE", 0),
    Narrow("MEMORY", 0),
    Narrow("CAUSE", 22),
    Narrow("PATH", 18),
    Narrow("LAMBDA", 0),
    Narrow("METHOD", 0),
    Narrow("LATENCY", 0),
    Narrow("CAUSE", 12),
    Narrow("PATH", 8),
    Narrow("CAUSE", 0),
    Narrow("PATH", 0),
)
ROW_HEADER = tuple(c.title for c in ROW_COLUMNS)


class RequestRows:
    """One aligned line per request. The widths are chosen once (from the terminal's width, when
    there is one) so that a stream of rows stays aligned and no row wraps."""

    def __init__(
        self, paint: Painter, clock: Any, *, width: int | None = None, with_date: bool = False
    ) -> None:
        self.paint = paint
        self.clock = clock
        self.with_date = with_date
        columns = list(ROW_COLUMNS)
        if with_date:
            columns[0] = Column("TIME", len("2026-11-30 12:00:00.000"))
        self.widths = fit(columns, ROW_PLAN, width)

    def header(self) -> str:
        return self.paint(join(ROW_HEADER, self.widths), BOLD)

    def cells(self, request: Request) -> list[str]:
        integration = request.integration
        memory = "-"
        if integration and integration.max_memory_mb is not None:
            memory = f"{integration.max_memory_mb}/{integration.memory_mb or '?'}"
        lambda_ms = _ms(integration.duration_ms if integration else None)
        if request.cold_start:
            lambda_ms += "*"
        when = (
            self.clock.dated(request.start_ms)
            if self.with_date
            else self.clock.short(request.start_ms)
        )
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

    def row(self, request: Request, *, updated: bool = False) -> str:
        """`updated`: the row of a request printed before, now changed by a late line."""
        paint = self.paint
        cells = self.cells(request)
        # The ID is last and never cut: whatever it holds, people copy it whole.
        widths = [*self.widths[:-1], max(self.widths[-1], len(cells[-1]))]
        mark = f"  {paint('(updated)', YELLOW)}" if updated else ""
        if not paint.enabled:
            return join(cells, widths) + mark
        # Colour the status and the cause in place: the widths are of the uncoloured text.
        color = OUTCOME_COLORS.get(request.outcome, BRIGHT_RED)
        padded = [cut(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)]
        status, cause = ROW_HEADER.index("STATUS"), ROW_HEADER.index("CAUSE")
        padded[status] = paint(padded[status], color, BOLD)
        if request.outcome.is_error:
            padded[cause] = paint(padded[cause], color)
        kept = [p for p, w in zip(padded, widths, strict=True) if w]
        return ("  ".join(kept)).rstrip() + mark


class _Summary(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def stats_lines(summary: _Summary, paint: Painter) -> Iterator[str]:
    """`apilogs stats` for people, from the summary's JSON document (either engine's)."""
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
    yield paint(f"{doc['requests']} requests{span}{by}", BOLD)
    classes = "  ".join(f"{k} {v}" for k, v in doc["by_status_class"].items())
    yield f"  status       {classes or '-'}"
    yield f"  response     {pct_line(doc['response_latency_ms'])}"
    yield f"  integration  {pct_line(doc['integration_latency_ms'])}"
    durations: dict[str, Any] = doc["lambda_duration_ms"]
    if durations:
        yield ""
        yield paint("Lambda duration", BOLD)
        width = max(len(_cell(k)) for k in durations)
        for name, pcts in durations.items():
            cold = doc["cold_starts"].get(name)
            extra = ""
            if cold and cold.get("count"):
                p50 = cold["init_ms"].get("p50")
                init = f" (init p50 {format_duration_ms(p50)})" if p50 is not None else ""
                extra = f"  cold {cold['count']}×{init}"
            yield f"  {_cell(name).ljust(width)}  {pct_line(pcts)}{extra}"
    errors = doc.get("errors")
    if errors is None:
        yield ""
        yield paint("Errors by cause", BOLD)
        yield "  not computed by Logs Insights: they need each request's lines joined (--engine filter)"
    elif errors:
        yield ""
        yield paint("Errors by cause", BOLD)
        for row in errors:
            outcome = Outcome(row["outcome"])
            text = _cell(row["cause"])[:60]
            color = OUTCOME_COLORS.get(outcome, RED)
            example = _cell(row["example_request_id"] or "-")
            yield (
                f"  {paint(str(row['count']).rjust(5), color, BOLD)}  {outcome!s:<26} {text}"
                f"  e.g. {example}"
            )
    routes = doc["slowest_routes"]
    if routes:
        yield ""
        yield paint("Slowest routes (p90)", BOLD)
        for route in routes:
            p90 = format_duration_ms(route["p90_ms"] or 0).rjust(8)
            yield f"  {p90}  {_cell(route['route'])}  ({route['count']} requests)"


def story_lines(request: Request, formatter: EventFormatter, paint: Painter) -> Iterator[str]:
    """`apilogs show`: the header, a timeline of phases, then every line."""
    color = OUTCOME_COLORS.get(request.outcome, BRIGHT_RED)
    title = f"{request.method or '?'} {request.route or request.path or '?'}"
    if request.path and request.route and request.path != request.route:
        title += f" ({request.path})"
    status = str(request.status or "?")
    yield f"{paint(_cell(title), BOLD)}  →  {paint(status, color, BOLD)}  {paint(_cell(request.cause), color)}"
    yield f"  when        {formatter.clock.full(request.start_ms)}"
    yield f"  latency     response {_ms(request.response_latency_ms)}, integration {_ms(request.integration_latency_ms)}"
    for label, value in (
        ("request id", request.request_id),
        ("extended id", request.extended_request_id),
        ("trace id", request.trace_id),
    ):
        if value:
            yield f"  {label:<11} {_cell(value)}"
    if request.error_type or request.error_message:
        error = ": ".join(_cell(x) for x in (request.error_type, request.error_message) if x)
        yield f"  error       {paint(error, RED)}"
    yield ""
    yield paint("Timeline", BOLD)
    start = request.start_ms
    for phase, at, detail in _phases(request):
        offset = f"+{at - start} ms".rjust(10)
        yield f"  {paint(offset, DIM)}  {paint(phase.ljust(12), CYAN)} {_cell(detail)}"
    yield ""
    yield paint(f"Lines ({len(request.events)})", BOLD)
    for event in request.events:
        yield formatter.format(event, False)


def _phases(request: Request) -> Iterable[tuple[str, int, str]]:
    phases: list[tuple[str, int, str]] = [
        (
            "received",
            request.start_ms,
            f"{request.method or ''} {request.path or request.route or ''}".strip(),
        )
    ]
    for invocation in request.invocations:
        name = "authorizer" if invocation.role is Role.AUTHORIZER else "lambda"
        details = [invocation.function or "?", invocation.lambda_request_id]
        if invocation.duration_ms is not None:
            details.append(f"{format_duration_ms(invocation.duration_ms)}")
        if invocation.max_memory_mb is not None:
            details.append(f"{invocation.max_memory_mb}/{invocation.memory_mb} MB")
        if invocation.init_ms is not None:
            details.append(f"cold start, init {format_duration_ms(invocation.init_ms)}")
        if invocation.status:
            details.append(f"status {invocation.status}")
        phases.append((name, invocation.start_ms or request.start_ms, ", ".join(details)))
        if invocation.end_ms:
            phases.append((f"{name} end", invocation.end_ms, invocation.function or ""))
    phases.append(("responded", request.end_ms, f"{request.status or '?'} — {request.cause}"))
    return sorted(phases, key=lambda p: p[1])
