"""The `?` screen: every key, and the filter language."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from apilogs.tui.query import SYNTAX_HELP
from apilogs.tui.text import LATE_MARK

KEYS: tuple[tuple[str, str], ...] = (
    ("/", "filter requests (syntax below); Enter keeps it, Esc undoes the edit and leaves"),
    ("e / E", "next / previous 5xx (in the stream: error line)"),
    ("j k  ↓ ↑", "move the cursor (in the detail pane: scroll); h l  ← → sideways"),
    ("PgDn PgUp", "a page down / up"),
    ("g / G", "first / last; G also follows new requests again"),
    ("Enter", "open the selected request: its story in the detail pane (stream: the line's)"),
    ("Esc", "back: unzoom, leave the detail pane, leave the stream, in that order"),
    ("Esc Esc", "with nothing to go back from: clear the filter"),
    ("b", "back to the list of APIs (opened from `apilogs tui` with no API)"),
    ("Tab", "next pane"),
    ("v", "switch between requests and the stream of every line"),
    ("s", "sort by time or by latency (slowest first)"),
    ("t", "times in UTC or local time"),
    ("x", "JSON messages pretty-printed or as logged"),
    ("w", "wrap long lines in the detail pane, or scroll sideways (h / l)"),
    ("z", "zoom the focused pane to the whole screen, and back"),
    ("c", "copy the request ID to the clipboard (stream: the line's request's)"),
    ("X", "read the request's X-Ray trace into the waterfall (stream: the line's)"),
    ("p", "pause / resume: the screen stops changing; what arrives is held"),
    ("?", "this help"),
    ("q", "quit"),
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(Text(key), Text(what))
    table.add_row(Text(""), Text(""))
    table.add_row(Text("Filter", style="bold underline"), Text(""))
    for term, what in SYNTAX_HELP:
        table.add_row(Text(term), Text(what))
    table.add_row(Text(""), Text(""))
    table.add_row(Text("Row marks", style="bold underline"), Text(""))
    table.add_row(Text("❄"), Text("a cold start served it"))
    table.add_row(Text("…"), Text("in progress: lines are still arriving"))
    table.add_row(
        Text(LATE_MARK),
        Text("(stream) a late line: written before lines shown above it, shown as it arrived"),
    )
    table.add_row(
        Text(""), Text("Mouse: click a row to select it, double-click to open; wheel scrolls.")
    )
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 96;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        margin: 1 0;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "apilogs tui · keys (Esc closes)"
            yield Static(help_table(), id="help-table")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
