"""The command line: `apilogs` and its commands. Options are declared once (`options`), values
checked by click (`params`), errors worded and given exit codes in one table (`status`); the
commands (`commands`, `demo`) only wire options into the core's API and a renderer."""

from __future__ import annotations

import signal
import threading

from apilogs.cli.app import cli, run_reporting_errors

# Importing the commands registers them on `cli`.
from apilogs.cli import commands as _commands  # noqa: F401  isort: skip
from apilogs.cli import apis as _apis  # noqa: F401  isort: skip
from apilogs.cli import demo as _demo  # noqa: F401  isort: skip
from apilogs.cli import shell as _shell  # noqa: F401  isort: skip
from apilogs.cli import tui as _tui  # noqa: F401  isort: skip

__all__ = ["cli", "main", "run_reporting_errors"]


def main() -> None:
    """Entry point."""
    signal.signal(signal.SIGINT, _interrupt_once)
    cli.main(prog_name="apilogs")


_interrupted = threading.Event()


def _interrupt_once(signum: int, frame: object) -> None:
    """The first Ctrl-C interrupts; any further one while we shut down is ignored, so a second
    press within a millisecond cannot interrupt the clean-up itself (atexit, thread joins)."""
    if _interrupted.is_set():
        return
    _interrupted.set()
    raise KeyboardInterrupt
