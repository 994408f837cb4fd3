"""The filter bar: `/` opens it, rows are hidden as you type, Enter keeps the filter, Esc goes
back to the one before."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from apilogs.tui.messages import FilterClosed, FilterEdited

PLACEHOLDER = (
    "status:5xx  path:/users/*  cold  slow:>1s  error  fn:NAME  text   (Enter keeps, Esc undoes)"
)


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    def action_cancel(self) -> None:
        bar = self.parent
        if isinstance(bar, FilterBar):
            bar.close(cancel=True)


class FilterBar(Vertical):
    DEFAULT_CSS = """
    FilterBar {
        height: auto;
        display: none;
        background: $panel;
    }
    FilterBar.-open {
        display: block;
    }
    FilterBar Input {
        border: tall $accent;
    }
    FilterBar #filter-error {
        color: $error;
        height: auto;
        padding: 0 1;
        display: none;
    }
    FilterBar #filter-error.-shown {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._before = ""

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder=PLACEHOLDER, id="filter-input", select_on_focus=False)
        yield Static("", id="filter-error", markup=False)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, current: str) -> None:
        self._before = current
        field = self.query_one(FilterInput)
        field.value = current
        field.cursor_position = len(current)
        self.show_error(None)
        self.add_class("-open")
        field.focus()

    def close(self, *, cancel: bool) -> None:
        self.remove_class("-open")
        self.show_error(None)
        self.post_message(FilterClosed(self._before if cancel else None))

    def show_error(self, message: str | None) -> None:
        error = self.query_one("#filter-error", Static)
        error.update(Text(message or ""))
        error.set_class(bool(message), "-shown")

    @on(Input.Changed, "#filter-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.is_open:
            self.post_message(FilterEdited(event.value, final=False))

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(FilterEdited(event.value, final=True))
