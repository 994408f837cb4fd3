"""A one-line progress display on stderr, only when stderr is a terminal.

It reads the fetcher's counters from a timer thread; stdout is never touched."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from apilogs.fetch import FetchStats

CLEAR = "\r\x1b[K"


class Progress:
    """`width`: the terminal's columns; the line is cut to fit so it never wraps (a wrapped
    line cannot be cleared with one carriage return)."""

    def __init__(
        self,
        stats: FetchStats,
        stream: TextIO | None = None,
        *,
        enabled: bool,
        width: int | None = None,
    ) -> None:
        self.stats = stats
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._shown = False

    def line(self) -> str:
        s = self.stats
        text = (
            f"reading {s.groups_done}/{s.groups} groups · {s.pages:,} pages · {s.events:,} events"
        )
        if s.throttles:
            text += f" · throttled {s.throttles}× (slowing down)"
        if s.errors_retried:
            text += f" · {s.errors_retried} errors retried"
        if s.failing:
            text += f" · {len(s.failing)} group(s) failing, retrying"
        if self.width and len(text) >= self.width:
            text = text[: max(0, self.width - 2)] + "…"
        return text

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                self.stream.write(CLEAR + self.line())
                self.stream.flush()
                self._shown = True

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=1)
        with self._lock:
            if self._shown:
                self.stream.write(CLEAR)
                self.stream.flush()
