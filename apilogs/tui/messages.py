"""The messages the TUI's parts talk through: the reader to the app, the widgets to the app.
No widget calls another; the app routes."""

from __future__ import annotations

from textual.message import Message

from apilogs.tui.feed import Batch
from apilogs.tui.store import Entry, Sort
from apilogs.xray import TraceReport


class FeedBatch(Message):
    """The reader thread brought a batch."""

    def __init__(self, batch: Batch) -> None:
        super().__init__()
        self.batch = batch


class FeedEnded(Message):
    """The read ended: the window is read, or it failed (`error`, already worded for people)."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class FilterComputed(Message):
    """A worker sorted and filtered a snapshot of the store for filter `generation`."""

    def __init__(self, generation: int, entries: list[Entry], sort: Sort) -> None:
        super().__init__()
        self.generation = generation
        self.entries = entries
        self.sort = sort


class RequestHighlighted(Message):
    """The cursor of the requests pane is on `key` (None: on nothing)."""

    def __init__(self, key: str | None) -> None:
        super().__init__()
        self.key = key


class RequestChosen(Message):
    """Enter (or a double click) on a request: read its story."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class JumpToRequest(Message):
    """Enter on a line of the stream view: show the request it belongs to (by any of its IDs)."""

    def __init__(self, ids: tuple[str, ...]) -> None:
        super().__init__()
        self.ids = ids


class FilterEdited(Message):
    """The filter bar's text, as typed (`final`: Enter was pressed)."""

    def __init__(self, text: str, final: bool) -> None:
        super().__init__()
        self.text = text
        self.final = final


class FilterClosed(Message):
    """The filter bar closed; `restore` holds the text to go back to when it was cancelled."""

    def __init__(self, restore: str | None) -> None:
        super().__init__()
        self.restore = restore


class TraceRead(Message):
    """A worker read the X-Ray trace `trace_id`: the report, or why the read failed (`error`,
    already worded for people, one line)."""

    def __init__(self, trace_id: str, report: TraceReport | None, error: str | None = None) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.report = report
        self.error = error
