"""Topology → what `apilogs groups` prints: a table for people, one JSON document for programs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from apilogs.model import Finding, Severity, Source, Topology
from apilogs.render.sanitize import sanitize
from apilogs.render.style import BOLD, CYAN, DIM, GREEN, RED, YELLOW, Painter
from apilogs.render.table import Column, Narrow, cut, fit, row_width


def topology_to_dict(topology: Topology) -> dict[str, Any]:
    return {
        "api_id": topology.api_id,
        "api_name": topology.api_name,
        "kind": str(topology.kind),
        "stage": topology.stage,
        "region": topology.region,
        "account_id": topology.account_id,
        "logging_level": topology.logging_level,
        "data_trace": topology.data_trace,
        "tracing_enabled": topology.tracing_enabled,
        "access_log_format": topology.access_log_format,
        "stage_variables": dict(topology.stage_variables),
        "deployment_id": topology.deployment_id,
        "inferred": topology.inferred,
        "sources": [_source_to_dict(s) for s in topology.sources],
        "findings": [
            {"severity": str(f.severity), "message": f.message, "fix": f.fix}
            for f in topology.findings
        ],
    }


def _source_to_dict(source: Source) -> dict[str, Any]:
    return {
        "role": str(source.role),
        "log_group": source.log_group,
        "region": source.region,
        "function": source.function_name,
        "function_arn": source.function_arn,
        "qualifier": source.qualifier,
        "routes": list(source.routes),
        "log_format": source.log_format,
        "exists": source.exists,
        "retention_days": source.retention_days,
        "stored_bytes": source.stored_bytes,
        "foreign_account": source.foreign_account,
    }


def topology_json(topology: Topology) -> str:
    return json.dumps(topology_to_dict(topology), indent=2)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _exists(source: Source, paint: Painter) -> str:
    if source.foreign_account:
        return paint("other account", YELLOW)
    if source.exists is None:
        return paint("unknown", YELLOW)
    return paint("yes", GREEN) if source.exists else paint("no", RED)


# The log group is never cut: it is what people copy into other tools. When it does not fit
# beside the rest, it goes on a line of its own under its row (`_STACKED`).
TOPOLOGY_PLAN = (
    Narrow("STORED", 0),
    Narrow("RETENTION", 0),
    Narrow("ROUTES", 24),
    # A function's name is copied too (its qualifier says which version ran): the routes go
    # before it is cut.
    Narrow("ROUTES", 0),
    Narrow("FUNCTION", 20),
    Narrow("FUNCTION", 12),
)
_GROUP, _FUNCTION = 1, 2


def topology_lines(topology: Topology, paint: Painter, width: int | None = None) -> Iterator[str]:
    """The human table, fit to `width` columns (the terminal's; None for a pipe). Every
    AWS-supplied string is sanitised to one line: names, routes, stage variables and formats
    are user-controlled."""
    s = _one_line
    yield (
        f"{paint(s(topology.api_name), BOLD)} ({s(topology.api_id)}, {s(topology.kind)}) "
        f"stage {paint(s(topology.stage), BOLD)} in {s(topology.region)}"
    )
    facts = []
    if topology.logging_level is not None:
        facts.append(f"execution logging {s(topology.logging_level)}")
    if topology.data_trace:
        facts.append("data trace on")
    if topology.tracing_enabled is not None:
        facts.append(f"X-Ray {'on' if topology.tracing_enabled else 'off'}")
    if topology.access_log_format:
        facts.append("access log on")
    if facts:
        yield paint(", ".join(facts), DIM)
    if topology.inferred:
        yield paint(
            "inferred: the API's configuration could not be read (see the first warning below)",
            YELLOW,
        )
    yield ""
    rows = [("ROLE", "LOG GROUP", "FUNCTION", "ROUTES", "EXISTS", "RETENTION", "STORED")]
    for src in topology.sources:
        function = s(src.function_name or "-")
        if src.qualifier:
            function += f":{s(src.qualifier)}"
        if src.log_format == "JSON" and src.function_name:
            function += " (JSON)"
        routes = ", ".join(s(r) for r in src.routes) or "-"
        if len(routes) > 60:
            routes = f"{routes[:57]}..."
        retention = f"{src.retention_days} d" if src.retention_days else "never expires"
        if src.exists is not True:
            retention = "-"
        rows.append(
            (
                s(src.role),
                s(src.log_group),
                function,
                routes,
                "\0exists",  # placeholder: coloured cell, padded separately
                retention,
                _size(src.stored_bytes) if src.exists else "-",
            )
        )
    natural = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    natural[4] = max(len(_exists(src, Painter(False))) for src in topology.sources or ())
    natural[4] = max(natural[4], len("EXISTS"))
    columns = [Column(t, w) for t, w in zip(rows[0], natural, strict=True)]
    widths = fit(columns, TOPOLOGY_PLAN, width)
    # Too narrow for the whole group and function names beside the role and whether the group
    # exists: each group goes on a line of its own, whole, under its row.
    stacked = width is not None and (
        row_width(widths) > width or widths[_FUNCTION] < natural[_FUNCTION]
    )
    if stacked:
        widths = fit([*columns[:_GROUP], Column("LOG GROUP", 0), *columns[_GROUP + 1 :]],
                     TOPOLOGY_PLAN, width)  # fmt: skip
    for index, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            if not widths[i]:
                continue
            if index and i == 4:
                src = topology.sources[index - 1]
                plain = _exists(src, Painter(False))
                cells.append(_exists(src, paint) + " " * (widths[i] - len(plain)))
            else:
                cells.append(cut(cell, widths[i]).ljust(widths[i]))
        line = "  ".join(cells).rstrip()
        yield paint(line, BOLD) if index == 0 else line
        if stacked:
            under = "  LOG GROUP" if index == 0 else f"  {row[_GROUP]}"
            yield paint(under, BOLD) if index == 0 else under
    if topology.findings:
        yield ""
        for finding in topology.findings:
            yield from finding_lines(finding, paint)


def finding_lines(finding: Finding, paint: Painter) -> Iterator[str]:
    color = {Severity.ERROR: RED, Severity.WARNING: YELLOW, Severity.INFO: CYAN}[finding.severity]
    yield f"{paint(str(finding.severity), color, BOLD)}: {_one_line(finding.message)}"
    if finding.fix:
        yield f"  {paint('fix:', DIM)} {_one_line(finding.fix)}"


def _one_line(value: object) -> str:
    return sanitize(str(value), keep_newlines=False)
