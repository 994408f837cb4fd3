"""Where output goes and what it can show: the streams, whether each is a terminal, colour,
width. Made once per run and handed to the renderers, so every output choice can be tested
in-process with any streams."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from apilogs.render.style import color_enabled


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


@dataclass(frozen=True)
class Terminal:
    out: TextIO
    err: TextIO
    out_tty: bool
    err_tty: bool
    color: bool  # on stdout
    err_color: bool
    # Columns of the terminal stdout is on; None when stdout is not a terminal (a pipe has no
    # width: lines are never cut for it).
    width: int | None
    err_width: int | None

    @classmethod
    def detect(
        cls,
        color: str = "auto",
        out: TextIO | None = None,
        err: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Terminal:
        out = out if out is not None else sys.stdout
        err = err if err is not None else sys.stderr
        env = os.environ if environ is None else environ
        out_tty, err_tty = _isatty(out), _isatty(err)
        return cls(
            out=out,
            err=err,
            out_tty=out_tty,
            err_tty=err_tty,
            color=color_enabled(color, out, env),
            err_color=color_enabled(color, err, env),
            width=_columns(env) if out_tty else None,
            err_width=_columns(env) if err_tty else None,
        )

    def prepare(self) -> None:
        """A terminal that cannot show a character gets an escape, never a crash."""
        for stream in (self.out, self.err):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                with contextlib.suppress(ValueError, OSError):
                    reconfigure(errors="backslashreplace")


def _columns(env: Mapping[str, str]) -> int:
    value = env.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return shutil.get_terminal_size((100, 24)).columns
