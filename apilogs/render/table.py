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
    """One step of making a table narrower: `title`'s column down to `width` (0: left out).
    The title `SPACING` instead narrows the space between columns to `width`. `whole`: the
    column goes to `width` at once or not at all (a time without its milliseconds, an ID's
    prefix: a width in between would show a cut value)."""

    title: str
    width: int
    whole: bool = False


SPACING = "\0spacing"


def fit(columns: Sequence[Column], plan: Sequence[Narrow], width: int | None) -> list[int]:
    """Each column's width (0: left out) so that a row fits `width` columns. The steps of
    `plan` are taken in order, each only as far as needed; None: no limit."""
    return fit_spaced(columns, plan, width)[0]


def fit_spaced(
    columns: Sequence[Column], plan: Sequence[Narrow], width: int | None
) -> tuple[list[int], int]:
    """`fit`, and the space between columns (`GAP`, or less when a `SPACING` step was taken)."""
    widths = [c.width for c in columns]
    gap = GAP
    if width is None:
        return widths, gap
    index = {c.title: i for i, c in enumerate(columns)}

    def total() -> int:
        return row_width(widths, gap)

    for step in plan:
        over = total() - width
        if over <= 0:
            break
        if step.title == SPACING:
            gap = min(gap, step.width)
            continue
        i = index[step.title]
        if not widths[i] or widths[i] <= step.width:
            continue
        if step.width == 0 or step.whole:
            widths[i] = step.width
        else:
            widths[i] = max(step.width, widths[i] - over)
    return widths, gap


def row_width(widths: Sequence[int], gap: int = GAP) -> int:
    """The columns a row of these widths takes."""
    kept = [w for w in widths if w]
    return sum(kept) + gap * max(0, len(kept) - 1)


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, a cut shown with …"""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…" if width > 0 else ""


def cut_left(text: str, width: int) -> str:
    """`text` in at most `width` characters, its start cut (…): for a path, whose end says
    what was asked for while its start (the stage, a base path) is the same on every row."""
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :] if width > 1 else cut(text, width)


def join(cells: Sequence[str], widths: Sequence[int], gap: int = GAP) -> str:
    """The cells of a row, each cut and padded to its width; left-out columns skipped."""
    return (
        (" " * gap)
        .join(cut(c, w).ljust(w) for c, w in zip(cells, widths, strict=True) if w)
        .rstrip()
    )
