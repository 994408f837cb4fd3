"""Colouring as data: which parts of a (sanitised) message deserve a style, by name.

Spans are computed once, on plain text, and painted by whichever front end shows them: as ANSI
SGR codes for plain output (`paint_ansi`), as `rich.text.Text` styles for the TUI (`to_rich`).
Computing them on plain text means patterns never see escape codes, so highlights cannot
corrupt each other, and a message is never parsed as markup by anyone."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apilogs.model import LineKind
from apilogs.render.style import (
    BOLD,
    BRIGHT_RED,
    CYAN,
    GREEN,
    RED,
    RESET,
    YELLOW,
)

if TYPE_CHECKING:
    from rich.text import Text

ERROR_KINDS = frozenset(
    {
        LineKind.APIGW_LAMBDA_ERROR,
        LineKind.APIGW_TIMEOUT,
        LineKind.APIGW_MALFORMED,
        LineKind.APIGW_PERMISSIONS,
        LineKind.APIGW_THROTTLED,
        LineKind.APIGW_FAILED,
        LineKind.APIGW_UNAUTHORIZED,
        LineKind.LAMBDA_TIMEOUT,
        LineKind.LAMBDA_RUNTIME_EXIT,
        LineKind.LAMBDA_ERROR,
        LineKind.LAMBDA_TRACEBACK,
    }
)
# Words that should catch the eye in any line, whatever its kind.
_ALERT = re.compile(
    r"\b(ERROR|FATAL|CRITICAL|Exception|Traceback|Task timed out|Runtime exited|"
    r"Execution failed|Unauthorized|not authorized)\b|\bWARN(?:ING)?\b"
)
_STATUS = re.compile(r"\b(?:[Ss]tatus:? |\"status\":\"?)([1-5]\d\d)\b")


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    style: str


# Style names, in the order they are painted: later ones win where they overlap.
ERROR = "error"
ALERT_ERROR = "alert.error"
ALERT_WARNING = "alert.warning"
HIGHLIGHT = "highlight"


def status_style(status: int | str) -> str:
    return f"status.{str(status)[:1]}xx"


def message_spans(
    kind: LineKind, text: str, highlights: Sequence[re.Pattern[str]] = ()
) -> list[Span]:
    """The styled parts of one message: an error line as a whole, else its status codes and
    alert words; then every match of the user's highlights, on top."""
    spans: list[Span] = []
    if kind in ERROR_KINDS:
        spans.append(Span(0, len(text), ERROR))
    else:
        for m in _STATUS.finditer(text):
            spans.append(Span(m.start(1), m.end(1), status_style(m.group(1))))
        for m in _ALERT.finditer(text):
            spans.append(Span(m.start(), m.end(), ALERT_ERROR if m.group(1) else ALERT_WARNING))
    for pattern in highlights:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                spans.append(Span(m.start(), m.end(), HIGHLIGHT))
    return spans


# The SGR codes of each style in plain output.
ANSI_STYLES: Mapping[str, tuple[str, ...]] = {
    ERROR: (RED,),
    ALERT_ERROR: (BRIGHT_RED, BOLD),
    ALERT_WARNING: (YELLOW, BOLD),
    "status.1xx": ("2", BOLD),
    "status.2xx": (GREEN, BOLD),
    "status.3xx": (CYAN, BOLD),
    "status.4xx": (YELLOW, BOLD),
    "status.5xx": (BRIGHT_RED, BOLD),
    HIGHLIGHT: ("7", BOLD),
}

# The same styles for Rich (the TUI).
RICH_STYLES: Mapping[str, str] = {
    ERROR: "red",
    ALERT_ERROR: "bold bright_red",
    ALERT_WARNING: "bold yellow",
    "status.1xx": "bold dim",
    "status.2xx": "bold green",
    "status.3xx": "bold cyan",
    "status.4xx": "bold yellow",
    "status.5xx": "bold bright_red",
    HIGHLIGHT: "bold reverse",
}


def paint_ansi(
    text: str, spans: Iterable[Span], styles: Mapping[str, tuple[str, ...]] = ANSI_STYLES
) -> str:
    """`text` with each span's SGR codes; overlapping spans combine, later ones last."""
    spans = [s for s in spans if s.end > s.start and s.style in styles]
    if not spans:
        return text
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    out: list[str] = []
    for a, b in itertools.pairwise(cuts):
        codes = [c for s in spans if s.start <= a and s.end >= b for c in styles[s.style]]
        piece = text[a:b]
        out.append(f"\x1b[{';'.join(codes)}m{piece}{RESET}" if codes else piece)
    return "".join(out)


def to_rich(text: str, spans: Iterable[Span], styles: Mapping[str, str] = RICH_STYLES) -> Text:
    """A `rich.text.Text` of `text` (never parsed as markup) with each span's style."""
    from rich.text import Text

    rich_text = Text(text)
    for span in spans:
        style = styles.get(span.style)
        if style and span.end > span.start:
            rich_text.stylize(style, span.start, span.end)
    return rich_text
