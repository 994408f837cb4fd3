"""Requests and events as `rich.text.Text`, built from plain strings only.

Every string a log carries went through `sanitize` before it gets here, and nothing is ever
parsed as markup: `Text(str)` plus styles by span, the same spans (`apilogs.render.spans`) the
plain output paints as ANSI codes, so both front ends highlight the same words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from rich.text import Text

from apilogs.model import LogEvent, Outcome, Request, Role, Source
from apilogs.render.events import label_for
from apilogs.render.expand import expand_json
from apilogs.render.sanitize import sanitize
from apilogs.render.spans import RICH_STYLES, message_spans, status_style
from apilogs.render.style import palette_color
from apilogs.times import format_duration_ms, invalid_time, is_valid_ms

COLD_MARK = "❄"
IN_PROGRESS_MARK = "…"
# A late line's mark, in the column after its time: the message stays where every other starts.
LATE_MARK = "~"
LATE_STYLE = "bold yellow"

# The plain output's ANSI colours (render.style) by their Rich names.
_ANSI_TO_RICH = {
    "32": "green",
    "33": "yellow",
    "35": "magenta",
    "36": "cyan",
    "91": "bright_red",
    "92": "bright_green",
    "93": "bright_yellow",
    "94": "bright_blue",
    "95": "bright_magenta",
    "96": "bright_cyan",
}
ROLE_STYLES = {
    Role.EXECUTION: "bold cyan",
    Role.ACCESS: "bold bright_yellow",
    Role.OTHER: "bold dim",
}
OUTCOME_STYLES = {
    Outcome.OK: "dim",
    Outcome.CLIENT_ERROR: "yellow",
    Outcome.AUTH_DENIED: "yellow",
    Outcome.THROTTLED: "yellow",
    Outcome.UNKNOWN: "dim",
}
ERROR_STYLE = "bright_red"


def cell(value: object) -> str:
    """Any value for one line: unsafe characters shown as escapes, line breaks as ⏎."""
    return sanitize(str(value), keep_newlines=False)


def source_style(source: Source) -> str:
    if source.function_name:
        return "bold " + _ANSI_TO_RICH.get(palette_color(source.function_name), "green")
    return ROLE_STYLES.get(source.role, "bold")


def outcome_style(outcome: Outcome) -> str:
    return OUTCOME_STYLES.get(outcome, ERROR_STYLE)


def status_rich_style(status: int) -> str:
    return RICH_STYLES.get(status_style(status), "bold")


class TimeFormat:
    """Epoch ms → the time shown: in UTC or local time, with the date when the window spans
    more than one day."""

    def __init__(self, tz: tzinfo | None, with_date: bool = False) -> None:
        self.tz = tz  # None: local time
        self.with_date = with_date
        self._cache: dict[int, str] = {}

    def clear(self) -> None:
        """Forget formatted times (after the zone or the date setting changed)."""
        self._cache.clear()

    @property
    def zone_name(self) -> str:
        if self.tz is UTC:
            return "UTC"
        return datetime.now().astimezone(self.tz).strftime("%Z") or "local"

    def moment(self, ms: int) -> datetime:
        moment = datetime.fromtimestamp(ms / 1000, self.tz or UTC)
        return moment if self.tz is not None else moment.astimezone()

    def short(self, ms: int) -> str:
        if not is_valid_ms(ms):
            # A broken or hostile endpoint's timestamp: no date holds it. Fits the column.
            return "invalid time"
        second = ms // 1000
        head = self._cache.get(second)
        if head is None:
            pattern = "%m-%d %H:%M:%S." if self.with_date else "%H:%M:%S."
            try:
                head = self.moment(ms).strftime(pattern)
            except (OverflowError, OSError, ValueError):  # local time past year 1 or 9999
                return "invalid time"
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[second] = head
        return f"{head}{ms % 1000:03d}"

    def full(self, ms: int) -> str:
        try:
            moment = self.moment(ms) if is_valid_ms(ms) else None
        except (OverflowError, OSError, ValueError):
            moment = None
        if moment is None:
            return invalid_time(ms)
        text = moment.isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) else text

    @property
    def width(self) -> int:
        return 18 if self.with_date else 12


def spans_days(start_ms: int, end_ms: int, tz: tzinfo | None) -> bool:
    """Whether [start, end] covers more than one calendar day in the zone shown."""
    fmt = TimeFormat(tz)
    return fmt.moment(start_ms).date() != fmt.moment(end_ms).date()


def duration(ms: float | None) -> str:
    return "-" if ms is None else format_duration_ms(ms)


# -- the requests pane -----------------------------------------------------------------------------

METHOD_WIDTH = 7  # OPTIONS
STATUS_WIDTH = 3
LATENCY_WIDTH = 7  # LATENCY; the widest duration is 6 (`999 ms`, `29.0 s`, `1m 00s`)
LAMBDA_WIDTH = 7
SHORT_ID_WIDTH = 8  # a unique prefix: every command takes one for an ID
FULL_ID_WIDTH = 36
# Below this width the LAMBDA column goes and the gaps narrow: the cause matters more.
COMPACT_BELOW = 100
# From these widths on, a column of the request ID (its 8-character prefix, the whole ID).
SHORT_ID_FROM = 120
FULL_ID_FROM = 160


@dataclass(frozen=True, slots=True)
class Columns:
    """The requests pane's column widths for a pane `total` columns wide. The columns a person
    needs on call (time, method, path, status, latency, cause) are there at every width; the
    path gives way first, to leave the cause room (the detail pane shows both in full)."""

    time: int
    path: int
    show_lambda: bool
    id_width: int = 0  # 0: no ID column
    gap: int = 2
    total: int = 0  # the pane's width: a cause cut at its edge ends in `…` (0: never cut)

    @classmethod
    def fit(cls, total: int, time_width: int) -> Columns:
        compact = total < COMPACT_BELOW
        gap = 1 if compact else 2
        id_width = (
            FULL_ID_WIDTH
            if total >= FULL_ID_FROM
            else SHORT_ID_WIDTH
            if total >= SHORT_ID_FROM
            else 0
        )
        # time, method, path, status, latency [lambda] cold-mark [id] cause: their gaps too.
        fixed = time_width + gap + METHOD_WIDTH + 1 + gap + STATUS_WIDTH + gap + LATENCY_WIDTH
        fixed += (1 + LAMBDA_WIDTH if not compact else 0) + 1 + 1 + gap
        fixed += id_width + gap if id_width else 0
        rest = total - fixed  # the path's and the cause's
        path = rest // 3 if compact else rest * 2 // 5
        return cls(time_width, max(12, min(48, path)), not compact, id_width, gap, total)


def _fit(text: str, width: int) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.ljust(width)


def header_row(columns: Columns) -> Text:
    gap = " " * columns.gap
    lambda_head = f" {'LAMBDA'.rjust(LAMBDA_WIDTH)}" if columns.show_lambda else ""
    id_head = (
        f"{_fit('REQUEST ID' if columns.id_width > 10 else 'ID', columns.id_width)}{gap}"
        if columns.id_width
        else ""
    )
    return Text(
        f"{'TIME'.ljust(columns.time)}{gap}{'METHOD'.ljust(METHOD_WIDTH)} "
        f"{'PATH'.ljust(columns.path)}{gap}{'ST'.rjust(STATUS_WIDTH)}{gap}"
        f"{'LATENCY'.rjust(LATENCY_WIDTH)}{lambda_head}  {gap}{id_head}CAUSE",
        style="bold",
        no_wrap=True,
        end="",
    )


def request_row(request: Request, fmt: TimeFormat, columns: Columns) -> Text:
    """One request as a row: time, method, path, status (coloured by class), latency, Lambda
    duration, cold-start mark, request ID, cause (coloured by outcome)."""
    integration = request.integration
    gap = " " * columns.gap
    row = Text(no_wrap=True, end="")
    row.append(fmt.short(request.start_ms), "dim")
    row.append(gap)
    row.append(_fit(cell(request.method or "-"), METHOD_WIDTH), "bold")
    row.append(" ")
    row.append(_fit(cell(request.path or request.route or "-"), columns.path))
    row.append(gap)
    if request.status is not None:
        row.append(str(request.status).rjust(STATUS_WIDTH), status_rich_style(request.status))
    else:
        mark = IN_PROGRESS_MARK if request.in_progress else "-"
        row.append(mark.rjust(STATUS_WIDTH), "dim")
    row.append(gap)
    row.append(duration(request.response_latency_ms).rjust(LATENCY_WIDTH))
    if columns.show_lambda:
        row.append(" ")
        row.append(duration(integration.duration_ms if integration else None).rjust(LAMBDA_WIDTH))
    row.append(" ")
    row.append(COLD_MARK if request.cold_start else " ", "bold bright_cyan")
    row.append(gap)
    if columns.id_width:
        rid = request.request_id or (request.ids[0] if request.ids else "-")
        shown = cell(rid)[: columns.id_width] if columns.id_width < len(rid) else cell(rid)
        row.append(shown.ljust(columns.id_width), "dim")
        row.append(gap)
    if request.in_progress and request.status is None:
        row.append("in progress", "dim italic")
    else:
        cause = cell(request.cause)
        room = columns.total - row.cell_len
        if columns.total and len(cause) > room:
            cause = _fit(cause, max(1, room))
        row.append(cause, outcome_style(request.outcome))
    return row


# -- lines -----------------------------------------------------------------------------------------


def label_text(source: Source, width: int) -> Text:
    label = cell(label_for(source))
    return Text(_fit(label, width), source_style(source), end="")


# What is kept of a request ID in a shortened execution-log prefix: `(6605b081…) `.
SHORT_ID = 8


def execution_prefix(event: LogEvent) -> str:
    """The `({request id}) ` an execution-log line starts with, or ''."""
    rid = event.line.request_id
    if not rid or event.raw.source.role is not Role.EXECUTION:
        return ""
    prefix = f"({rid}) "
    return prefix if event.raw.message.startswith(prefix) else ""


def message_lines(
    event: LogEvent,
    *,
    pretty: bool = False,
    highlights: Sequence[re.Pattern[str]] = (),
    drop_prefix: str = "",
    short_id: bool = False,
) -> list[Text]:
    """The message as screen lines (a traceback keeps its lines), sanitised, highlighted by
    the shared spans; JSON pretty-printed when `pretty`; `drop_prefix` left out where the
    message starts with it. `short_id`: an execution line's `({request id}) ` prefix is shown
    as `(6605b081…) ` (a highlight of the whole ID still shows on what is left)."""
    text = event.raw.message.rstrip("\n")
    if drop_prefix and text.startswith(drop_prefix):
        text = text[len(drop_prefix) :]
    if pretty:
        text = expand_json(text)
    text = sanitize(text).expandtabs(4)
    cut = 0
    if short_id:
        prefix = execution_prefix(event)
        if prefix and text.startswith(prefix):
            cut = len(prefix) - 2  # the ID's end: `) ` stays
    rich = Text(text, no_wrap=True, end="")
    for span in message_spans(event.line.kind, text, highlights):
        style = RICH_STYLES.get(span.style)
        if style and span.end > span.start:
            rich.stylize(style, span.start, span.end)
    if cut:
        keep = 1 + SHORT_ID
        ellipsis = rich[keep - 1 : keep]
        ellipsis.plain = "…"
        rich = rich[:keep] + ellipsis + rich[cut:]
    if "\n" not in text:
        return [rich]
    return list(rich.split("\n", allow_blank=True))


def event_lines(
    event: LogEvent,
    fmt: TimeFormat,
    label_width: int,
    *,
    pretty: bool = False,
    late: bool = False,
    highlights: Sequence[re.Pattern[str]] = (),
    drop_prefix: str = "",
    short_id: bool = False,
) -> list[Text]:
    """An event as `apilogs get -o short` shows it: time, source label, message; continuation
    lines indented under the message. `late`: the time in yellow and `LATE_MARK` after it, in
    the gap before the label (the message starts where every other line's does)."""
    body = message_lines(
        event, pretty=pretty, highlights=highlights, drop_prefix=drop_prefix, short_id=short_id
    )
    head = Text(no_wrap=True, end="")
    if late:
        head.append(fmt.short(event.raw.timestamp), "yellow")
        head.append(LATE_MARK, LATE_STYLE)
        head.append(" ")
    else:
        head.append(fmt.short(event.raw.timestamp), "dim")
        head.append("  ")
    head.append_text(label_text(event.raw.source, label_width))
    head.append("  ")
    indent = " " * (fmt.width + 2 + label_width + 2)
    lines = [head + body[0]]
    for more in body[1:]:
        line = Text(indent, no_wrap=True, end="")
        line.append_text(more)
        lines.append(line)
    return lines


def label_width_for(sources: Sequence[Source], pane_width: int | None = None) -> int:
    """The source column: as wide as the longest label, at most 24 columns, and on a narrow
    pane at most a fifth of it (the message matters more than a function's full name)."""
    labels = [cell(label_for(s)) for s in sources] or ["execution"]
    width = min(24, max(len(label) for label in labels))
    return width if pane_width is None else fit_label_width(width, pane_width)


def shorten_ids(fmt: TimeFormat, label_width: int, pane_width: int) -> bool:
    """Whether the execution log's `({request id}) ` prefix (39 columns) would take more than
    half of what is left of a pane this wide for the message: then it is shown short (at 80
    columns, the message itself would start past the edge)."""
    room = pane_width - (fmt.width + 2 + label_width + 2)
    return room < 2 * len("(6605b081-6f04-11e6-97ac-c34deb0b3dd9) ")


def fit_label_width(width: int, pane_width: int) -> int:
    """A source column of `width`, on a pane `pane_width` wide: at most a fifth of it."""
    return min(width, max(9, pane_width // 5))
