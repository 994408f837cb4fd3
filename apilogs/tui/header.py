"""The header: which API and window, the follow state, counts, sparklines of requests and 5xx
per interval, and the notices a person must see (throttled, a source missing, a group failing).

The app sets facts (reactive attributes); the header words them, and redraws only the line whose
facts changed."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Sparkline, Static

from apilogs.model import Topology
from apilogs.tui.store import Counts
from apilogs.tui.text import TimeFormat, cell

SPARK_BINS = 30
NARROW_TITLE_BELOW = 100


@dataclass(frozen=True)
class Notices:
    """What may need a person's attention, as of the app's last look."""

    error: str | None = None  # the read failed: why
    failing: tuple[tuple[str, float, str], ...] = ()  # (group, seconds not answering, why)
    throttles: int = 0
    dropped_requests: int = 0
    max_requests: int = 0
    dropped_lines: int = 0
    # Values no AWS service can write, left out of the requests (`apilogs.parse.vet`): said
    # once, its count kept up to date.
    left_out: str | None = None
    told: tuple[str, ...] = ()  # notices told so far, oldest first


@dataclass(frozen=True)
class Window:
    """Which API and time window: fixed for the app's life (the time zone is not: `zone`)."""

    topology: Topology
    start_ms: int
    end_ms: int | None


class HeaderBar(Vertical):
    DEFAULT_CSS = """
    HeaderBar {
        height: 3;
        background: $panel;
        padding: 0 1;
    }
    HeaderBar Horizontal {
        height: 1;
    }
    HeaderBar #title, HeaderBar #notices {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    HeaderBar #counts {
        width: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    HeaderBar .spark-label {
        width: auto;
        padding: 0 1 0 2;
        color: $text-muted;
    }
    HeaderBar Sparkline {
        width: 1fr;
        max-width: 30;
    }
    HeaderBar.-narrow Sparkline, HeaderBar.-narrow .spark-label {
        display: none;
    }
    HeaderBar #spark-requests > .sparkline--max-color {
        color: $success;
    }
    HeaderBar #spark-requests > .sparkline--min-color {
        color: $success 40%;
    }
    HeaderBar #spark-errors > .sparkline--max-color {
        color: $error;
    }
    HeaderBar #spark-errors > .sparkline--min-color {
        color: $error 30%;
    }
    """

    # The read: "live", "reading", "done" or "stopped".
    state: reactive[str] = reactive("reading", repaint=False)
    # Paused: how many lines are held (None: not paused).
    held_lines: reactive[int | None] = reactive(None, repaint=False)
    # The time format's zone and whether times carry a date (the window is worded in them).
    zone: reactive[tuple[str, bool]] = reactive(("", False), repaint=False)
    # A copy: the store counts in place, and an equal value must not redraw.
    counts: reactive[Counts] = reactive(Counts, repaint=False)
    lines_seen: reactive[int] = reactive(0, repaint=False)
    notices: reactive[Notices] = reactive(Notices, repaint=False)
    # Requests and 5xx per interval, `SPARK_BINS` of them.
    series: reactive[tuple[tuple[int, ...], tuple[int, ...]]] = reactive(((), ()), repaint=False)

    def __init__(self, window: Window, fmt: TimeFormat, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.window = window
        self.fmt = fmt
        self._title = Static(id="title", markup=False)
        self._counts = Static(id="counts", markup=False)
        self._notices = Static(id="notices", markup=False)
        self._requests = Sparkline([], id="spark-requests")
        self._errors = Sparkline([], id="spark-errors")

    def compose(self) -> ComposeResult:
        yield self._title
        with Horizontal():
            yield self._counts
            yield Static("requests", classes="spark-label", markup=False)
            yield self._requests
            yield Static("5xx", classes="spark-label", markup=False)
            yield self._errors
        yield self._notices

    def on_resize(self) -> None:
        # Counts before sparklines: a narrow terminal keeps what must be read.
        self.set_class(self.size.width < 120, "-narrow")
        self._show_title()

    @property
    def spark_bins(self) -> int:
        return SPARK_BINS

    # -- what changed, redrawn -------------------------------------------------------------------

    def _show_title(self) -> None:
        self._title.update(self.title_text())

    def _show_counts(self) -> None:
        self._counts.update(self.counts_text())

    watch_state = watch_held_lines = watch_zone = _show_title
    watch_counts = watch_lines_seen = _show_counts

    def watch_notices(self) -> None:
        self._notices.update(self.notices_text())

    def watch_series(self) -> None:
        for spark, data in zip((self._requests, self._errors), self.series, strict=True):
            if list(spark.data or ()) != list(data):
                spark.data = list(data)

    # -- the words -------------------------------------------------------------------------------

    def title_text(self) -> Text:
        window = self.window
        topo = window.topology
        text = Text(no_wrap=True, end="")
        state, style = self._state()
        text.append(state, style)
        text.append("  ")
        text.append("apilogs ", "bold")
        text.append(cell(topo.api_name), "bold cyan")
        if self.size.width >= NARROW_TITLE_BELOW:
            # At 80 columns the window's end and zone matter more than the API's kind and ID.
            text.append(f" ({topo.kind} {cell(topo.api_id)})", "dim")
        text.append(" · stage ")
        text.append(cell(topo.stage), "bold")
        text.append(" · ")
        start = self.fmt.short(window.start_ms)
        if window.end_ms is not None:
            text.append(f"{start} → {self.fmt.short(window.end_ms)}")
        else:
            text.append(f"since {start}")
        text.append(f" {self.fmt.zone_name}")
        return text

    def _state(self) -> tuple[str, str]:
        held_lines = self.held_lines
        if held_lines is not None:
            held = f" · {held_lines:,} lines held" if held_lines else ""
            return f"⏸ paused{held} (p resumes)", "bold yellow"
        if self.state == "live":
            return "● live", "bold green"
        if self.state == "reading":
            return "◌ reading…", "bold cyan"
        if self.state == "done":
            return "■ done", "bold"
        return "✖ stopped", "bold bright_red"

    def counts_text(self) -> Text:
        counts = self.counts
        text = Text(no_wrap=True, end="")
        text.append(f"{counts.requests:,}", "bold")
        text.append(" requests")
        for count, label, style in (
            (counts.server_errors, "5xx", "bold bright_red"),
            (counts.client_errors, "4xx", "bold yellow"),
            (counts.cold_starts, "cold", "bold bright_cyan"),
        ):
            text.append(" · ")
            text.append(f"{count:,} {label}", style if count else "dim")
        if counts.in_progress:
            text.append(f" · {counts.in_progress:,} in progress", "dim")
        text.append(f" · {self.lines_seen:,} lines", "dim")
        return text

    def notices_text(self) -> Text:
        notices = self.notices
        parts: list[tuple[str, str]] = []
        if notices.error:
            parts.append((f"✖ {notices.error}", "bold bright_red"))
        for group, seconds, reason in notices.failing:
            parts.append(
                (f"⚠ {group} not answering for {seconds:.0f} s: {reason}", "bold bright_red")
            )
        if notices.throttles:
            parts.append(
                (
                    f"⚠ CloudWatch Logs throttled {notices.throttles:,} reads: "
                    "slowed down, nothing lost",
                    "yellow",
                )
            )
        if notices.dropped_requests:
            parts.append(
                (
                    f"⚠ {notices.dropped_requests:,} older requests dropped from view "
                    f"(the newest {notices.max_requests:,} are kept: --max-requests)",
                    "yellow",
                )
            )
        if notices.dropped_lines:
            parts.append(
                (f"⚠ {notices.dropped_lines:,} older lines dropped from the stream", "yellow")
            )
        if notices.left_out:
            parts.append((f"⚠ {notices.left_out}", "yellow"))
        if notices.told:
            count = len(notices.told)
            more = f" (+{count - 1} more)" if count > 1 else ""
            parts.append((f"⚠ {notices.told[-1]}{more}", "yellow"))
        text = Text(no_wrap=True, end="")
        if not parts:
            text.append("no notices", "dim")
            return text
        for i, (part, style) in enumerate(parts):
            if i:
                text.append("  ")
            text.append(cell(part), style)
        return text
