"""A read's own stop signal, linked to the caller's.

An engine must end within a second once the caller sets `stop`, whichever thread notices, but it
must never set the caller's event itself: one event may govern several reads in a row (a request
lookup reads the window several times). So each read makes a `Halt`: an Event set when the caller's
`stop` is set (a small watcher thread links them within 50 ms) or when the read ends. Every thread
and every wait of the read uses the halt event; `close()` sets it and joins the watcher."""

from __future__ import annotations

import threading
from types import TracebackType

LINK_INTERVAL_S = 0.05


class Halt:
    def __init__(self, stop: threading.Event | None, *, name: str = "halt") -> None:
        self.event = threading.Event()
        self._stop = stop
        self._watcher: threading.Thread | None = None
        if stop is not None:
            if stop.is_set():
                self.event.set()
            else:
                self._watcher = threading.Thread(target=self._link, name=name, daemon=True)
                self._watcher.start()

    def _link(self) -> None:
        assert self._stop is not None
        while not self.event.wait(LINK_INTERVAL_S):
            if self._stop.is_set():
                self.event.set()

    @property
    def requested(self) -> bool:
        """The caller asked to stop (as opposed to the read ending by itself)."""
        return self._stop is not None and self._stop.is_set()

    def close(self) -> None:
        self.event.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join()

    def __enter__(self) -> Halt:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
