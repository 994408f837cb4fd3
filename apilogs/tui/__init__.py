"""`apilogs tui`: the interactive, request-first front end (Textual). It stands on the core's
public API (`apilogs.api`) and model; the core never imports it."""

from apilogs.tui.app import TuiApp, TuiOptions, run_tui
from apilogs.tui.feed import ApiFeed, Batch, Feed, ReadPlan

__all__ = ["ApiFeed", "Batch", "Feed", "ReadPlan", "TuiApp", "TuiOptions", "run_tui"]
