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
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    HeaderBar .spark-label {
        width: auto;
        padding: 0 1 0 2;
        color: $text-muted;
    }
    HeaderBar Sparkline {
        width: 30;
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

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        with Horizontal():
            yield Static(id="counts", markup=False)
            yield Static("requests", classes="spark-label", markup=False)
            yield Sparkline([], id="spark-requests")
            yield Static("5xx", classes="spark-label", markup=False)
            yield Sparkline([], id="spark-errors")
        yield Static(id="notices", markup=False)

    def show(
        self,
        title: Text,
        counts: Text,
        notices: Text,
        requests: Sequence[int],
        errors: Sequence[int],
    ) -> None:
        self.query_one("#title", Static).update(title)
        self.query_one("#counts", Static).update(counts)
        self.query_one("#notices", Static).update(notices)
        spark = self.query_one("#spark-requests", Sparkline)
        if list(spark.data or ()) != list(requests):
            spark.data = list(requests)
        spark_errors = self.query_one("#spark-errors", Sparkline)
        if list(spark_errors.data or ()) != list(errors):
            spark_errors.data = list(errors)

    @property
    def spark_bins(self) -> int:
        return 30
