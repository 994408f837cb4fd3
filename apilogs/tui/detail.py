"""The detail pane: one request's whole story. IDs, route, status, cause and what it means; a
waterfall of its phases; then every line it left, from every source, in time order."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from apilogs.diagnosis.story import DEFAULT_PHASE_SOURCES, PhaseSource, tell
from apilogs.model import Request, Role, Source, Trace
from apilogs.tui.line_view import LineView
from apilogs.tui.text import (
    TimeFormat,
    cell,
    event_lines,
    label_width_for,
    outcome_style,
    status_rich_style,
)
from apilogs.tui.traces import TraceCache, xray_lines
from apilogs.tui.waterfall import waterfall_lines

HINT = (
    # Short enough for an 80-column terminal.
    "Select a request: j/k or a click · e: next 5xx · /: filter · ?: every key"
)


def story(
    request: Request,
    fmt: TimeFormat,
    width: int,
    *,
    pretty: bool = True,
    sources: Sequence[Source] = (),
    highlights: Sequence[re.Pattern[str]] = (),
    phase_sources: Sequence[PhaseSource] = DEFAULT_PHASE_SOURCES,
    trace: Trace | None = None,
    trace_note: str | None = None,
) -> list[Text]:
    """The detail pane's lines for `request` (pure: tests read it without a screen). `trace`:
    its X-Ray trace once read (its calls listed; its spans come in through `phase_sources`),
    or `trace_note`: why there is none, or that it is being read."""
    told = tell(
        request,
        trace=trace,
        trace_notes=() if trace_note is None else (trace_note,),
        phase_sources=phase_sources,
    )
    lines: list[Text] = []
    title = Text(no_wrap=True, end="")
    title.append(cell(told.title), "bold")
    title.append("  →  ")
    if request.status is not None:
        title.append(str(request.status), status_rich_style(request.status))
    else:
        title.append("…" if request.in_progress else "?", "dim")
    cause = Text(no_wrap=True, end="")
    if request.in_progress and request.status is None:
        cause.append("in progress", "dim italic")
    else:
        cause.append(cell(request.cause), outcome_style(request.outcome))
    if request.in_progress:
        cause.append("   (still receiving lines)", "dim")
    cause_wrapped = title.cell_len + 2 + cause.cell_len > width
    if not cause_wrapped:
        lines.append(title + Text("  ") + cause)
    else:
        # A cause too long for the title's line (an exception's message, at 80 columns) is
        # said in full, wrapped under its label, whatever the wrap setting.
        lines.append(title)
        lines.extend(_wrapped("cause", cause, width))
    if told.explanation:
        # Said in full, whatever the wrap setting: wrapped under its label.
        pieces = textwrap.wrap(told.explanation, max(20, width - 18))
        lines.append(_field("why", pieces[0], "italic"))
        lines.extend(_field("", piece, "italic") for piece in pieces[1:])
    if told.error and not (cause_wrapped and cell(told.error) == cell(request.cause)):
        lines.append(_field("error", cell(told.error), "bright_red"))
    lines.append(_field("when", f"{fmt.full(request.start_ms)}  ({fmt.zone_name})"))
    if request.route:
        lines.append(_field("route", cell(request.route)))
    latency = " · ".join(f"{name} {value}" for name, value in told.latencies)
    lines.append(_field("latency", latency))
    for named in told.ids:
        lines.append(_field(named.short_name, cell(named.value), "bold"))
    for inv in told.invocations:
        line = _field(f"{inv.role} id", cell(inv.lambda_request_id), "bold")
        line.append(f"  {' · '.join(inv.words(cell))}", "dim")
        lines.append(line)
    xray = xray_lines(told.trace, told.notes[0] if told.notes else None)
    if xray:
        lines.append(Text(""))
        lines.extend(xray)
    lines.append(Text(""))
    lines.append(Text("Waterfall", "bold underline", end=""))
    lines.extend(waterfall_lines(request, told.phases, width))
    lines.append(Text(""))
    heading = Text(f"Lines ({len(request.events)})", "bold underline", end="")
    heading.append(f"   x: JSON {'pretty' if pretty else 'as logged'} · w: wrap", "dim")
    # Every execution line starts with `(request id) `: the title says it once, and on a
    # narrow screen the prefix would leave no room for what the line says.
    prefix = f"({request.request_id}) " if request.request_id else ""
    if prefix:
        heading.append(" · execution lines without their (request id)", "dim")
    lines.append(heading)
    label_width = label_width_for(sources or [e.raw.source for e in request.events], width)
    for event in request.events:
        drop = prefix if event.raw.source.role is Role.EXECUTION else ""
        lines.extend(
            event_lines(
                event, fmt, label_width, pretty=pretty, highlights=highlights, drop_prefix=drop
            )
        )
    return lines


# Wraps text (its width is the one passed to `wrap`; nothing is printed through it).
_MEASURE = Console(width=200, color_system=None, file=io.StringIO())


def _wrapped(label: str, value: Text, width: int) -> list[Text]:
    """`value` under `label`, wrapped to the pane's `width` (the label's column kept free)."""
    indent = 16  # `_field`'s label column
    value = value.copy()
    value.no_wrap = False
    value.overflow = "fold"
    pieces = value.wrap(_MEASURE, max(20, width - indent))
    out = []
    for i, piece in enumerate(pieces):
        line = Text(f"  {label if i == 0 else '':<14}", "dim", no_wrap=True, end="")
        line.append_text(piece)
        out.append(line)
    return out


def _field(label: str, value: str, style: str = "") -> Text:
    text = Text(f"  {label:<14}", "dim", no_wrap=True, end="")
    text.append(value, style)
    return text


class DetailView(LineView):
    """Shows the selected request; redrawn in place when lines join it."""

    def __init__(
        self,
        fmt: TimeFormat,
        *,
        sources: Sequence[Source] = (),
        highlights: Sequence[re.Pattern[str]] = (),
        phase_sources: Sequence[PhaseSource] = DEFAULT_PHASE_SOURCES,
        traces: TraceCache | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.fmt = fmt
        self.sources = tuple(sources)
        self.highlights = tuple(highlights)
        self.phase_sources = tuple(phase_sources)
        self.traces = traces
        self.pretty = True
        self.request: Request | None = None

    def on_mount(self) -> None:
        self.border_title = Text("Detail")
        self.set_lines([Text(HINT, "dim")])

    def show(self, request: Request | None, *, same: bool = False) -> None:
        """Show `request`; `same`: it is an update of the one shown (keep the scroll)."""
        self.request = request
        if request is None:
            self.border_title = Text("Detail")
            self.set_lines([Text(HINT, "dim")])
            return
        self.border_title = Text(f"Detail · {cell(request.request_id or '-')}")
        width = max(40, self.scrollable_content_region.width)
        self.set_lines(
            story(
                request,
                self.fmt,
                width,
                pretty=self.pretty,
                sources=self.sources,
                highlights=self.highlights,
                phase_sources=self.phase_sources,
                trace=self.traces.trace_for(request) if self.traces else None,
                trace_note=self.traces.note_for(request) if self.traces else None,
            ),
            keep_scroll=same,
        )

    def redraw(self) -> None:
        self.show(self.request, same=True)

    def toggle_pretty(self) -> None:
        self.pretty = not self.pretty
        self.redraw()
