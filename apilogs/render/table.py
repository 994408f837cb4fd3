"""Tables that fit the terminal: columns are cut (with …) or left out, least useful first, so a
row never wraps. A pipe has no width: every column is kept at its full width, and the whole
values are always in `-o json`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

GAP = 2


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int  # at full width; a cell longer than this is cut


@dataclass(frozen=True, slots=True)
class Narrow:
    """One step of making a table narrower: `title`'s column down to `width` (0: left out)."""

    title: str
    width: int


def fit(columns: Sequence[Column], plan: Sequence[Narrow], width: int | None) -> list[int]:
    """Each column's width (0: left out) so that a row fits `width` columns. The steps of
    `plan` are taken in order, each only as far as needed; None: no limit."""
    widths = [c.width for c in columns]
    if width is None:
        return widths
    index = {c.title: i for i, c in enumerate(columns)}

    def total() -> int:
        kept = [w for w in widths if w]
        return sum(kept) + GAP * max(0, len(kept) - 1)

    for step in plan:
        over = total() - width
        if over <= 0:
            break
        i = index[step.title]
        if not widths[i] or widths[i] <= step.width:
            continue
        if step.width == 0:
            widths[i] = 0
        else:
            widths[i] = max(step.width, widths[i] - over)
    return widths


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, a cut shown with …"""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…" if width > 0 else ""


def join(cells: Sequence[str], widths: Sequence[int]) -> str:
    """The cells of a row, each cut and padded to its width; left-out columns skipped."""
    return (
        (" " * GAP)
        .join(cut(c, w).ljust(w) for c, w in zip(cells, widths, strict=True) if w)
        .rstrip()
    )
