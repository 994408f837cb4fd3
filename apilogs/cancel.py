"""Stopping work that runs in threads.

The public API takes the caller's `threading.Event` as `stop`. One read starts several threads,
and must also stop them itself when its consumer goes away (a closed generator), without setting
the caller's event (which may stop other reads too). A `CancelScope` is that: set by the read,
or by the caller's event, whichever comes first; every wait inside a read goes through it."""

from __future__ import annotations

import threading
import time
from typing import Protocol

# How often a scope that follows a parent looks at it while waiting: the bound on how late a
# caller's `stop` is noticed by a sleeping thread.
_POLL_S = 0.05


class StopSignal(Protocol):
    """What every cancellable loop needs: `threading.Event` and `CancelScope` both are one."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class CancelScope:
    def __init__(self, parent: StopSignal | None = None) -> None:
        self._own = threading.Event()
        self._parent = parent

    def set(self) -> None:
        self._own.set()

    def is_set(self) -> bool:
        if self._own.is_set():
            return True
        if self._parent is not None and self._parent.is_set():
            self._own.set()
            return True
        return False

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until cancelled or `timeout` s passed; True when cancelled."""
        if self._parent is None:
            return self._own.wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            if left <= 0:
                return False
            if self._own.wait(left):
                return True
        return True

    def child(self) -> CancelScope:
        return CancelScope(self)


class LateStop:
    """A stop signal given later: work begun before the caller that will own it (and its
    `stop`) is known. Unset until `attach`ed to a signal that is set."""

    def __init__(self) -> None:
        self._signal: StopSignal | None = None

    def attach(self, signal: StopSignal | None) -> None:
        self._signal = signal

    def is_set(self) -> bool:
        signal = self._signal
        return signal is not None and signal.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = _POLL_S if deadline is None else min(_POLL_S, deadline - time.monotonic())
            if left <= 0:
                return False
            time.sleep(left)
        return True
