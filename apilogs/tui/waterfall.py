"""A request's phases on a time axis: authorizer, Lambda init, Lambda run, integration.

Phases come from `PhaseSource`s, functions of a Request. `DEFAULT_PHASE_SOURCES` reads what the
logs say; X-Ray subsegments (downstream calls, once traces are read) plug in as one more source
that yields `Phase`s with `depth` 1 or more under their parent: pass it in `phase_sources` to
`TuiApp` (or append it to the tuple a caller builds); nothing else changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text

from apilogs.model import LineKind, Request, Role
from apilogs.times import format_duration_ms
from apilogs.tui.text import cell

__all__ = [
    "DEFAULT_PHASE_SOURCES",
    "Phase",
    "PhaseSource",
    "log_phases",
    "phases_of",
    "waterfall_lines",
]


@dataclass(frozen=True, slots=True)
class Phase:
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
        if inv.role is Role.AUTHORIZER:
            if inv.init_ms:
                phases.append(
                    Phase("auth init", start - inv.init_ms, start, function, "bright_cyan", 0,
                          "cold start")
                )  # fmt: skip
            phases.append(Phase("authorizer", start, end, function, "magenta", 0, inv.status or ""))
            continue
        if inv.init_ms:
            phases.append(
                Phase("init", start - inv.init_ms, start, function, "bright_cyan", 0, "cold start")
            )
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


NAME_WIDTH = 30
BAR = "█"


def waterfall_lines(request: Request, phases: Sequence[Phase], width: int) -> list[Text]:
    """The axis and one bar per phase, scaled to `width` columns."""
    if not phases:
        return [Text("  no phases logged (no Lambda or integration lines)", "dim", end="")]
    origin = min([request.start_ms, *(p.start_ms for p in phases)])
    finish = max([request.end_ms, *(p.end_ms for p in phases)])
    total = max(1.0, finish - origin)
    notes = max((len(cell(p.note)) + 2 for p in phases if p.note), default=0)
    # name, bar, duration (9), note: all within `width`.
    bar_width = max(10, width - (NAME_WIDTH + 2) - 9 - notes - 1)
    scale = bar_width / total
    lines: list[Text] = []
    axis = Text(" " * (NAME_WIDTH + 2), end="", no_wrap=True)
    left = (
        f"0 ms (+{format_duration_ms(request.start_ms - origin)} before start)"
        if origin < request.start_ms
        else "0 ms"
    )
    right = format_duration_ms(total)
    fill = max(1, bar_width - len(left) - len(right) - 2)
    axis.append(f"{left} {'─' * fill} {right}", "dim")
    lines.append(axis)
    for phase in phases:
        name = "  " * phase.depth + phase.name + (f" {cell(phase.label)}" if phase.label else "")
        name = name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"
        line = Text(
            "  " + name.ljust(NAME_WIDTH), "bold" if phase.depth == 0 else "", end="", no_wrap=True
        )
        a = int((phase.start_ms - origin) * scale)
        b = max(a + 1, round((phase.end_ms - origin) * scale))
        a, b = min(a, bar_width - 1), min(b, bar_width)
        line.append(" " * a)
        line.append(BAR * max(1, b - a), phase.style)
        line.append(" " * (bar_width - b))
        line.append(f" {format_duration_ms(phase.duration_ms):>8}")
        if phase.note:
            line.append(
                f"  {cell(phase.note)}",
                "bright_red" if phase.note in ("timeout", "error") else "dim",
            )
        lines.append(line)
    return lines
