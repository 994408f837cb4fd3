"""The header: which API and window, the follow state, counts, sparklines of requests and 5xx
per interval, and the notices a person must see (throttled, a source missing, a group failing)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static


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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
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

    def show(
        self,
        title: Text,
        counts: Text,
        notices: Text,
        requests: Sequence[int],
        errors: Sequence[int],
    ) -> None:
        self._title.update(title)
        self._counts.update(counts)
        self._notices.update(notices)
        for spark, data in ((self._requests, requests), (self._errors, errors)):
            if list(spark.data or ()) != list(data):
                spark.data = list(data)

    @property
    def spark_bins(self) -> int:
        return 30
