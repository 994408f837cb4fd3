"""Request → a row (`apilogs requests`), a JSON object, a story (`apilogs show`); and the window's
summary (`apilogs stats`)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apilogs.model import Outcome, Request, Role
from apilogs.render.events import EventFormatter, iso_utc
from apilogs.render.sanitize import sanitize
from apilogs.render.style import BOLD, BRIGHT_RED, CYAN, DIM, GREEN, RED, YELLOW, Painter
from apilogs.times import format_duration_ms

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


def request_to_dict(request: Request) -> dict[str, Any]:
    integration = request.integration
    return {
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


ROW_HEADER = (
    "TIME",
    "METHOD",
    "PATH",
    "STATUS",
    "LATENCY",
    "LAMBDA",
    "MEMORY",
    "CAUSE",
    "REQUEST ID",
)


class RequestRows:
    """One aligned line per request; the widths are fixed so a stream of rows stays aligned."""

    def __init__(self, paint: Painter, clock: Any) -> None:
        self.paint = paint
        self.clock = clock

    def header(self) -> str:
        return self.paint(self._join(ROW_HEADER), BOLD)

    @staticmethod
    def _join(cells: tuple[str, ...] | list[str]) -> str:
        widths = (12, 6, 24, 6, 8, 8, 9, 34, 36)
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    def row(self, request: Request) -> str:
        paint = self.paint
        integration = request.integration
        path = _cell(request.path or request.route or "-")
        if len(path) > 24:
            path = path[:23] + "…"
        memory = "-"
        if integration and integration.max_memory_mb is not None:
            memory = f"{integration.max_memory_mb}/{integration.memory_mb or '?'}"
        lambda_ms = _ms(integration.duration_ms if integration else None)
        if request.cold_start:
            lambda_ms += "*"
        cause = _cell(request.cause)
        if len(cause) > 34:
            cause = cause[:33] + "…"
        cells = [
            self.clock.short(request.start_ms),
            _cell(request.method or "-"),
            path,
            str(request.status or "-"),
            _ms(request.response_latency_ms),
            lambda_ms,
            memory,
            cause,
            _cell(
                request.request_id
                or (request.lambda_request_ids[0] if request.lambda_request_ids else "-")
            ),
        ]
        line = self._join(cells)
        if not paint.enabled:
            return line
        color = OUTCOME_COLORS.get(request.outcome, BRIGHT_RED)
        status = cells[3]
        # Colour the status and the cause cells in place: the widths were computed uncoloured.
        head, sep, tail = line.partition(f"  {status.ljust(6)}")
        if sep:
            line = f"{head}  {paint(status.ljust(6), color, BOLD)}{tail}"
        return line.replace(cause, paint(cause, color), 1) if request.outcome.is_error else line


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of already collected values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class WindowStats:
    """Sums up a stream of requests; memory is per distinct value kept for percentiles."""

    requests: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    response: list[float] = field(default_factory=list)
    integration: list[float] = field(default_factory=list)
    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cold: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    causes: Counter[Outcome] = field(default_factory=Counter)
    examples: dict[Outcome, str] = field(default_factory=dict)
    cause_text: dict[Outcome, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    routes: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_ms: int | None = None
    last_ms: int | None = None

    def add(self, request: Request) -> None:
        self.requests += 1
        self.first_ms = (
            request.start_ms if self.first_ms is None else min(self.first_ms, request.start_ms)
        )
        self.last_ms = request.end_ms if self.last_ms is None else max(self.last_ms, request.end_ms)
        status = request.status
        self.by_class[f"{status // 100}xx" if status else "unknown"] += 1
        if status:
            self.by_status[status] += 1
        if request.response_latency_ms is not None:
            self.response.append(request.response_latency_ms)
            route = f"{request.method or '?'} {request.path or request.route or '?'}"
            self.routes[route].append(request.response_latency_ms)
        if request.integration_latency_ms is not None:
            self.integration.append(request.integration_latency_ms)
        for invocation in request.invocations:
            name = invocation.function or "?"
            if invocation.role is Role.AUTHORIZER:
                name += " (auth)"
            if invocation.duration_ms is not None:
                self.durations[name].append(invocation.duration_ms)
            if invocation.init_ms is not None:
                self.cold[name].append(invocation.init_ms)
        if request.outcome.is_error:
            self.causes[request.outcome] += 1
            self.cause_text[request.outcome][request.cause] += 1
            if request.outcome not in self.examples:
                self.examples[request.outcome] = request.request_id or ",".join(
                    request.lambda_request_ids
                )

    def to_dict(self) -> dict[str, Any]:
        def pcts(values: list[float]) -> dict[str, float | None]:
            return {f"p{p}": percentile(values, p) for p in (50, 90, 99)} | {
                "max": max(values) if values else None,
                "count": len(values),
            }

        return {
            "requests": self.requests,
            "from": iso_utc(self.first_ms) if self.first_ms is not None else None,
            "to": iso_utc(self.last_ms) if self.last_ms is not None else None,
            "by_status_class": dict(sorted(self.by_class.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "response_latency_ms": pcts(self.response),
            "integration_latency_ms": pcts(self.integration),
            "lambda_duration_ms": {k: pcts(v) for k, v in sorted(self.durations.items())},
            "cold_starts": {
                k: {"count": len(v), "init_ms": pcts(v)} for k, v in sorted(self.cold.items())
            },
            "errors": [
                {
                    "outcome": str(outcome),
                    "count": count,
                    "cause": self.cause_text[outcome].most_common(1)[0][0],
                    "example_request_id": self.examples.get(outcome),
                }
                for outcome, count in self.causes.most_common()
            ],
            "slowest_routes": [
                {"route": route, "count": len(v), "p90_ms": percentile(v, 90), "max_ms": max(v)}
                for route, v in self.slowest_routes()
            ],
        }

    def slowest_routes(self, n: int = 5) -> list[tuple[str, list[float]]]:
        return sorted(self.routes.items(), key=lambda kv: -(percentile(kv[1], 90) or 0))[:n]

    def lines(self, paint: Painter) -> Iterator[str]:
        def pct_line(values: list[float]) -> str:
            if not values:
                return "-"
            return (
                "  ".join(
                    f"p{p} {format_duration_ms(percentile(values, p) or 0)}" for p in (50, 90, 99)
                )
                + f"  max {format_duration_ms(max(values))}"
            )

        span = ""
        if self.first_ms is not None and self.last_ms is not None:
            span = f" between {iso_utc(self.first_ms)} and {iso_utc(self.last_ms)}"
        yield paint(f"{self.requests} requests{span}", BOLD)
        classes = "  ".join(f"{k} {v}" for k, v in sorted(self.by_class.items()))
        yield f"  status       {classes or '-'}"
        yield f"  response     {pct_line(self.response)}"
        yield f"  integration  {pct_line(self.integration)}"
        if self.durations:
            yield ""
            yield paint("Lambda duration", BOLD)
            width = max(len(_cell(k)) for k in self.durations)
            for name, values in sorted(self.durations.items()):
                cold = self.cold.get(name, [])
                extra = ""
                if cold:
                    extra = f"  cold {len(cold)}× (init p50 {format_duration_ms(percentile(cold, 50) or 0)})"
                yield f"  {_cell(name).ljust(width)}  {pct_line(values)}{extra}"
        if self.causes:
            yield ""
            yield paint("Errors by cause", BOLD)
            for outcome, count in self.causes.most_common():
                text = _cell(self.cause_text[outcome].most_common(1)[0][0])
                color = OUTCOME_COLORS.get(outcome, RED)
                example = _cell(self.examples.get(outcome) or "-")
                yield f"  {paint(str(count).rjust(5), color, BOLD)}  {outcome!s:<26} {text[:60]}  e.g. {example}"
        if self.routes:
            yield ""
            yield paint("Slowest routes (p90)", BOLD)
            for route, values in self.slowest_routes():
                yield f"  {format_duration_ms(percentile(values, 90) or 0).rjust(8)}  {_cell(route)}  ({len(values)} requests)"


def story_lines(request: Request, formatter: EventFormatter, paint: Painter) -> Iterator[str]:
    """`apilogs show`: the header, a timeline of phases, then every line."""
    color = OUTCOME_COLORS.get(request.outcome, BRIGHT_RED)
    title = f"{request.method or '?'} {request.path or request.route or '?'}"
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
