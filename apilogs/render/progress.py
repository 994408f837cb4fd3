"""A one-line progress display on stderr, only when stderr is a terminal.

It reads the fetcher's counters from a timer thread. The line shares the terminal with
everything else: a warning on stderr, and the command's output when stdout is a pipe whose
reader (`| head`, `| grep`) prints to the same terminal. So it is cleared before anything
else is written (`hide`), stays away while output flows, and is never left behind."""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from apilogs.fetch import FetchStats

CLEAR = "\r\x1b[K"

# After output was written, the line stays away this long: the reader of a pipe prints what it
# was given a moment later, and must not print it behind a line drawn meanwhile.
QUIET_S = 1.0


class Progress:
    """`width`: the terminal's columns; the line is cut to fit so it never wraps (a wrapped
    line cannot be cleared with one carriage return). `lock`: shared with whatever else
    writes to the same terminal, so a line is never drawn in the middle of another."""

    def __init__(
        self,
        stats: FetchStats,
        stream: TextIO | None = None,
        *,
        enabled: bool,
        width: int | None = None,
        lock: threading.Lock | None = None,
        quiet_s: float = QUIET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.quiet_s = quiet_s
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = lock or threading.Lock()
        self._shown = False
        self._quiet_until = 0.0

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

    def hide(self) -> None:
        """Other text is about to reach the terminal: the line is wiped first, and not drawn
        again until output has paused for `quiet_s`."""
        if not self.enabled:
            return
        with self._lock:
            self._quiet_until = self._clock() + self.quiet_s
            self._wipe()

    def wiped(self) -> None:
        """Someone holding the shared lock wrote CLEAR themselves (a warning line)."""
        self._shown = False

    def _wipe(self) -> None:
        if self._shown:
            self._shown = False
            self.stream.write(CLEAR)
            self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                # Checked under the lock: once __exit__ has wiped the line, nothing draws it.
                if self._stop.is_set():
                    return
                if self._clock() < self._quiet_until:
                    continue
                self.stream.write(CLEAR + self.line())
                self.stream.flush()
                self._shown = True

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._stop.set()
            self._wipe()
        if self._thread:
            self._thread.join(timeout=1)


def may_reach_terminal(stream: TextIO) -> bool:
    """Whether what is written to `stream` may show on a terminal: a terminal, or a pipe or
    socket whose reader may print it there. A regular file or /dev/null cannot."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return True  # not a file (a test's buffer): assume the worst
    if stat.S_ISREG(mode):
        return False
    if stat.S_ISCHR(mode):
        try:
            return os.isatty(stream.fileno())
        except (OSError, ValueError):
            return True
    return True


class Announced:
    """A text stream that calls `before` ahead of each write and flush: stdout, so that the
    progress line is wiped before output that may land on the same terminal."""

    def __init__(self, stream: TextIO, before: Callable[[], None]) -> None:
        self._stream = stream
        self._before = before

    def write(self, text: str) -> int:
        self._before()
        return self._stream.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        self._before()
        self._stream.writelines(lines)

    def flush(self) -> None:
        self._before()
        self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
