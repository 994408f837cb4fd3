"""The messages the TUI's parts talk through: the reader to the app, the widgets to the app.
No widget calls another; the app routes.

Each is a small dataclass (Textual's `Message` initialises itself from `__post_init__`). Those
that a newer one of the same kind makes moot say so in `can_replace`, and the queue drops the
superseded one: a held-down key or fast typing then costs one redraw, not one per event."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from apilogs.fetch.xray import TraceReport
from apilogs.tui.feed import Batch
from apilogs.tui.store import Entry, Sort


@dataclass
class FeedBatch(Message):
    """The reader thread brought a batch (never dropped: each holds data and a reader slot)."""

    batch: Batch


@dataclass
class FeedEnded(Message):
    """The read ended: the window is read, or it failed (`error`, already worded for people)."""

    error: str | None = None


@dataclass
class FilterComputed(Message):
    """A worker sorted and filtered a snapshot of the store for filter `generation`."""

    generation: int
    entries: list[Entry]
    sort: Sort

    def can_replace(self, message: Message) -> bool:
        # Only the newest generation is shown: an older result waiting in the queue is moot.
        return isinstance(message, FilterComputed)


@dataclass
class RequestHighlighted(Message):
    """The cursor of the requests pane is on `key` (None: on nothing)."""

    key: str | None

    def can_replace(self, message: Message) -> bool:
        # The detail pane shows where the cursor is now, not every row it passed over.
        return isinstance(message, RequestHighlighted)


@dataclass
class RequestChosen(Message):
    """Enter (or a double click) on a request: read its story."""

    key: str


@dataclass
class JumpToRequest(Message):
    """Enter on a line of the stream view: show the request it belongs to (by any of its IDs)."""

    ids: tuple[str, ...]


@dataclass
class FilterEdited(Message):
    """The filter bar's text, as typed (`final`: Enter was pressed)."""

    text: str
    final: bool

    def can_replace(self, message: Message) -> bool:
        # Text typed on supersedes text typed before it; Enter is never lost.
        return isinstance(message, FilterEdited) and not message.final


@dataclass
class FilterClosed(Message):
    """The filter bar closed; `restore` holds the text to go back to when it was cancelled."""

    restore: str | None


@dataclass
class TraceRead(Message):
    """A worker read the X-Ray trace `trace_id`: the report, or why the read failed (`error`,
    already worded for people, one line)."""

    trace_id: str
    report: TraceReport | None
    error: str | None = None
