"""A request's phases on a time axis: authorizer, Lambda init, Lambda run, integration.

The phases are the story's (`apilogs.diagnosis.story`), from `PhaseSource`s, functions of a Request.
`DEFAULT_PHASE_SOURCES` reads what the logs say; X-Ray subsegments (downstream calls, once traces
are read) plug in as one more source that yields `Phase`s with `depth` 1 or more under their
parent: pass it in `phase_sources` to `TuiApp` (or append it to the tuple a caller builds);
nothing else changes. This module paints them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from apilogs.diagnosis.story import Phase
from apilogs.model import Request
from apilogs.times import format_duration_ms
from apilogs.tui.text import cell

__all__ = ["waterfall_lines"]


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
