"""The renderers on their own: every cell, header and story line is sanitised, whatever a
`Request` or `Topology` holds, even values the parsers would never let through."""

from __future__ import annotations

from dataclasses import replace

import pytest

from apilogs.diagnosis.summary import WindowStats
from apilogs.model import (
    ApiKind,
    Finding,
    Invocation,
    Line,
    LineKind,
    LogEvent,
    Outcome,
    RawEvent,
    Request,
    Role,
    Severity,
    Source,
    Topology,
)
from apilogs.render.events import Clock, EventFormatter, RenderOptions
from apilogs.render.requests import RequestRows, stats_lines, story_lines
from apilogs.render.sanitize import sanitize
from apilogs.render.style import Painter
from apilogs.render.topology import topology_lines
from tests.support.hostile import FORGED_ID, HOSTILE, PAYLOAD, assert_terminal_safe

# Every trick, and a line break that would split a table row.
TEXT = PAYLOAD + "\nsecond line"
SOURCE = Source(Role.LAMBDA, f"/aws/lambda/{TEXT}", "us-east-1", function_name=f"fn{TEXT}")


def hostile_request() -> Request:
    event = LogEvent(
        RawEvent(1_700_000_000_000, 1_700_000_000_001, SOURCE.log_group, TEXT, "1", TEXT, SOURCE),
        Line(LineKind.LAMBDA_LOG, lambda_request_id=FORGED_ID),
    )
    invocations = tuple(
        Invocation(FORGED_ID + role, role, function=f"fn{TEXT}", start_ms=1_700_000_000_000,
                   end_ms=1_700_000_000_100, duration_ms=12.5, memory_mb=128, max_memory_mb=64,
                   init_ms=100.0, status=TEXT)
        for role in (Role.AUTHORIZER, Role.LAMBDA)
    )  # fmt: skip
    return Request(
        request_id=FORGED_ID,
        start_ms=1_700_000_000_000,
        end_ms=1_700_000_000_200,
        outcome=Outcome.UNHANDLED_EXCEPTION,
        cause=TEXT,
        extended_request_id=FORGED_ID,
        trace_id=FORGED_ID,
        lambda_request_ids=tuple(i.lambda_request_id for i in invocations),
        method=TEXT,
        path=TEXT,
        route=TEXT,
        status=502,
        response_latency_ms=31,
        integration_latency_ms=20,
        error_type=TEXT,
        error_message=TEXT,
        invocations=invocations,
        events=(event,),
    )


@pytest.mark.parametrize("color", [False, True])
def test_request_rows(color: bool) -> None:
    rows = RequestRows(Painter(color), Clock(None))
    request = hostile_request()
    for line in (rows.header(), rows.row(request), rows.row(replace(request, request_id=None))):
        assert_terminal_safe(line)
        assert "\n" not in line
    assert sanitize(FORGED_ID, keep_newlines=False) in rows.row(request)


@pytest.mark.parametrize("color", [False, True])
def test_window_stats(color: bool) -> None:
    stats = WindowStats()
    stats.add(hostile_request())
    lines = list(stats_lines(stats, Painter(color)))
    for line in lines:
        assert_terminal_safe(line)
        assert "\n" not in line
    text = "\n".join(lines)
    assert f"e.g. {sanitize(FORGED_ID, keep_newlines=False)}" in text


@pytest.mark.parametrize("color", [False, True])
def test_story(color: bool) -> None:
    paint = Painter(color)
    formatter = EventFormatter(RenderOptions(output="short"), paint, [SOURCE])
    lines = list(story_lines(hostile_request(), formatter, paint))
    for line in lines:
        assert_terminal_safe(line)
    # Every line of the story but the log lines themselves (multi-line messages stay so).
    head = lines[: lines.index(next(x for x in lines if "Lines (" in x))]
    assert all("\n" not in line for line in head)
    assert any(sanitize(FORGED_ID, keep_newlines=False) in line for line in head)


@pytest.mark.parametrize("color", [False, True])
def test_groups_table(color: bool) -> None:
    source = Source(Role.LAMBDA, f"/aws/lambda/{TEXT}", TEXT, function_name=TEXT,
                    qualifier=TEXT, routes=(TEXT, f"GET {TEXT}"), log_format="JSON", exists=True,
                    retention_days=7, stored_bytes=1234)  # fmt: skip
    topology = Topology(
        api_id=TEXT, api_name=TEXT, kind=ApiKind.REST, stage=TEXT, region=TEXT,
        sources=(source, Source(Role.ACCESS, TEXT, TEXT, exists=False)),
        findings=tuple(Finding(s, TEXT, TEXT) for s in Severity),
        logging_level=TEXT, data_trace=True, tracing_enabled=True, access_log_format=TEXT,
        stage_variables=((TEXT, TEXT),), deployment_id=TEXT,
    )  # fmt: skip
    lines = list(topology_lines(topology, Painter(color)))
    for line in lines:
        assert_terminal_safe(line)
        assert "\n" not in line
    assert lines[0].count(sanitize(TEXT, keep_newlines=False)) >= 3  # name, ID, stage


def test_the_markup_is_shown_as_written() -> None:
    rows = RequestRows(Painter(False), Clock(None))
    request = hostile_request()
    line = rows.row(replace(request, cause=HOSTILE["rich_markup"]))
    assert HOSTILE["rich_markup"][:30] in line
