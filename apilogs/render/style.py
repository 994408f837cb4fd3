"""When to colour, and the few ANSI styles the line renderers use.

Plain output is written as text with SGR codes built here, not through Rich: it is the hot path,
and untrusted text must never be parsed as markup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

RESET = "\x1b[0m"
BOLD = "1"
DIM = "2"
RED = "31"
GREEN = "32"
YELLOW = "33"
BLUE = "34"
MAGENTA = "35"
CYAN = "36"
BRIGHT_RED = "91"
BRIGHT_GREEN = "92"
BRIGHT_YELLOW = "93"
BRIGHT_BLUE = "94"
BRIGHT_MAGENTA = "95"
BRIGHT_CYAN = "96"

# Each Lambda gets its own colour, stable across runs: picked from this palette by name.
FUNCTION_PALETTE = (GREEN, MAGENTA, BRIGHT_BLUE, BRIGHT_GREEN, BRIGHT_MAGENTA, BRIGHT_CYAN, YELLOW)


def color_enabled(choice: str, stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """`--color auto|always|never`, honouring NO_COLOR and FORCE_COLOR (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if choice == "always":
        return True
    if choice == "never":
        return False
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Painter:
    """Wraps text in SGR codes, or does nothing when colour is off."""

    __slots__ = ("enabled",)

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *codes: str) -> str:
        if not self.enabled or not codes or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}{RESET}"


def palette_color(name: str) -> str:
    """A stable colour for a name (not Python's randomised hash)."""
    total = 0
    for char in name:
        total = (total * 31 + ord(char)) & 0xFFFFFFFF
    return FUNCTION_PALETTE[total % len(FUNCTION_PALETTE)]
