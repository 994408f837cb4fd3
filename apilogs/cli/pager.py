"""Long output on a terminal goes through a pager ($PAGER, else `less -R`), as git does; short
output, pipes and --no-pager print directly."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from apilogs.render.env import Terminal


def pager_command(environ: Mapping[str, str] | None = None) -> list[str] | None:
    env = os.environ if environ is None else environ
    chosen = env.get("APILOGS_PAGER", env.get("PAGER"))
    if chosen is not None:
        words = shlex.split(chosen)
        # PAGER= (empty) or cat: no pager, as git reads it.
        return words if words and words != ["cat"] else None
    if shutil.which("less"):
        return ["less", "-R"]
    return None


def show_lines(term: Terminal, lines: Sequence[str], *, pager: bool = True) -> None:
    """Write `lines` to the terminal, through a pager when they are more than a screen."""
    rows = shutil.get_terminal_size((100, 24)).lines
    command = pager_command() if pager and term.out_tty and len(lines) > rows - 1 else None
    text = "".join(line + "\n" for line in lines)
    if command is None:
        term.out.write(text)
        term.out.flush()
        return
    env = {**os.environ}
    # less: colours as they are, no bell, keep the screen when it fits after all.
    env.setdefault("LESS", "FRX")
    term.out.flush()
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
    except OSError:
        term.out.write(text)
        term.out.flush()
        return
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, OSError):
        process.stdin.write(
            text.encode(getattr(term.out, "encoding", None) or "utf-8", "backslashreplace")
        )
    with contextlib.suppress(BrokenPipeError, OSError):
        process.stdin.close()
    process.wait()
