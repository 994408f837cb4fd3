"""`apilogs apis` as a table that fits the terminal, worst first, and as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from apilogs.render.sanitize import sanitize
from apilogs.render.style import BOLD, DIM, RED, YELLOW, Painter
from apilogs.render.table import GAP, Column, Narrow, cut, fit
from apilogs.survey import ApiHealth

__all__ = ["COLUMNS", "PLAN", "apis_json", "apis_lines", "cells"]

COLUMNS = (
    Column("API", 10),
    Column("STAGE", 10),
    Column("NAME", 24),
    Column("KIND", 9),
    Column("REQS", 7),
    Column("4XX", 6),
    Column("5XX", 6),
    Column("P50", 7),
    Column("P99", 7),
    Column("TOP CAUSE", 40),
)
# At 80 columns the ID to copy, the errors and the cause stay; the name and the kind give way.
PLAN = (
    Narrow("KIND", 0),
    Narrow("NAME", 12),
    Narrow("P50", 0),
    Narrow("NAME", 0),
    Narrow("TOP CAUSE", 24),
    Narrow("STAGE", 8),
    Narrow("TOP CAUSE", 12),
)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f}s" if value >= 10_000 else f"{value:.0f}ms"


def cells(row: ApiHealth) -> list[str]:
    stage = row.stage
    return [
        stage.api_id,
        sanitize(stage.stage, keep_newlines=False),
        sanitize(stage.name, keep_newlines=False),
        str(stage.kind),
        f"{row.requests:,}",
        f"{row.status_4xx:,}",
        f"{row.status_5xx:,}",
        _ms(row.p50_ms),
        _ms(row.p99_ms),
        sanitize(row.problem or row.top_cause or "", keep_newlines=False),
    ]


def _where(row: ApiHealth) -> str:
    return "/".join(p for p in (row.profile, row.region) if p)


def apis_lines(rows: Iterable[ApiHealth], paint: Painter, width: int | None) -> Iterator[str]:
    """The header, then one line per API stage; a cell is painted after it is cut and padded,
    so colour never shifts a column. Rows from several accounts or regions lead with where."""
    rows = list(rows)
    where = any(_where(row) for row in rows)
    columns = ((Column("WHERE", max(len(_where(r)) for r in rows)),) if where else ()) + COLUMNS
    widths = fit(columns, PLAN, width)
    if width is None:
        widths[-1] = 10_000  # a pipe gets the whole cause: it is the last column
    shift = 1 if where else 0
    yield paint(_join([c.title for c in columns], widths), BOLD)
    for row in rows:
        codes: list[tuple[str, ...]] = [()] * len(columns)
        if row.status_5xx:
            codes[6 + shift] = (RED, BOLD)
        if row.status_4xx:
            codes[5 + shift] = (YELLOW,)
        if row.problem:
            codes[9 + shift] = (DIM,)
        yield _join(([_where(row)] if where else []) + cells(row), widths, paint, codes)


def _join(
    cells: list[str],
    widths: list[int],
    paint: Painter | None = None,
    codes: list[tuple[str, ...]] | None = None,
) -> str:
    out = []
    for index, (cell, w) in enumerate(zip(cells, widths, strict=True)):
        if not w:
            continue
        text = cut(cell, w).ljust(w)
        out.append(paint(text, *codes[index]) if paint and codes and codes[index] else text)
    return (" " * GAP).join(out).rstrip()


def apis_json(rows: Iterable[ApiHealth]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row.to_dict(), ensure_ascii=False)
