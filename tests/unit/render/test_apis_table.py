"""`apilogs apis` on a terminal of 80 columns and into a pipe: the ID to copy, the errors and the
cause stay on screen; API names are untrusted text."""

from __future__ import annotations

import json

from apilogs.discover.catalog import ApiStage
from apilogs.model import ApiKind
from apilogs.render.apis import apis_json, apis_lines
from apilogs.render.style import Painter
from apilogs.survey import ApiHealth

CAUSE = "Lambda timed out after 3.0 s (eratosthenes-primes)"
ROWS = [
    ApiHealth(
        ApiStage("erat0s7hen", "Eratosthenes sample shop", ApiKind.REST, "prod"),
        1234,
        40,
        12,
        85.0,
        2900.0,
        CAUSE,
    ),
    ApiHealth(
        ApiStage("ppvadnpi", "evil\x1b[2J[bold]name", ApiKind.HTTP, "$default"),
        problem="no log group (logging off)",
    ),
]


def test_at_80_columns_the_id_the_errors_and_the_cause_fit() -> None:
    lines = list(apis_lines(ROWS, Painter(False), 80))
    assert all(len(line) <= 80 for line in lines)
    header, first, second = lines
    assert header.split() == ["API", "STAGE", "REQS", "4XX", "5XX", "P99", "TOP", "CAUSE"]
    assert first.split()[:6] == ["erat0s7hen", "prod", "1,234", "40", "12", "2900ms"]
    assert "Lambda timed out" in first
    assert second.startswith("ppvadnpi") and "no log group" in second


def test_a_pipe_gets_every_column_and_the_whole_cause_and_names_are_made_safe() -> None:
    lines = list(apis_lines(ROWS, Painter(False), None))
    assert lines[1].endswith(CAUSE)
    assert "\x1b" not in lines[2] and "evil\\x1b[2J[bold]name" in lines[2]
    docs = [json.loads(line) for line in apis_json(ROWS)]
    assert docs[0] | {"p50_ms": 0} == {
        "api_id": "erat0s7hen",
        "name": "Eratosthenes sample shop",
        "kind": "REST",
        "stage": "prod",
        "requests": 1234,
        "status_4xx": 40,
        "status_5xx": 12,
        "p50_ms": 0,
        "p99_ms": 2900.0,
        "top_cause": CAUSE,
        "problem": None,
        "profile": None,
        "region": None,
    }


def test_colour_never_shifts_a_column() -> None:
    plain = list(apis_lines(ROWS, Painter(False), 80))
    painted = list(apis_lines(ROWS, Painter(True), 80))
    strip = __import__("re").compile(r"\x1b\[[0-9;]*m")
    assert [strip.sub("", line) for line in painted] == plain
    assert "\x1b[31;1m12" in painted[1]
