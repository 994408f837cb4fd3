"""The TUI's pure parts: window batches from the core's Correlator, the waterfall and its hook
for X-Ray subsegments, rows and times, and the `apilogs tui` command's checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.scenario import Scenario
from apilogs.diagnosis.story import DEFAULT_PHASE_SOURCES, NO_TRACE_FOUND, Phase, phases_of
from apilogs.fetch.xray import TraceReport
from apilogs.model import Outcome, Request, SpanKind, Trace, TraceSpan, UpdateKind
from apilogs.times import format_duration_ms
from apilogs.tui.detail import story
from apilogs.tui.feed import window_batches
from apilogs.tui.text import Columns, TimeFormat, request_row, spans_days
from apilogs.tui.traces import READING, TraceCache, report_note, trace_phases
from apilogs.tui.waterfall import waterfall_lines
from tests.support.demo_data import Traffic
from tests.support.tui_helpers import parsed_events, simulate, topology_of


def test_window_batches_show_a_request_at_its_first_line_and_close_every_one(
    traffic: Traffic,
) -> None:
    topology = topology_of(traffic)
    requests = simulate(traffic, seconds=20)
    events = parsed_events(topology, requests)
    ticks = iter(range(10**6))
    batches = list(window_batches(events, every_s=5, max_events=10**6, clock=lambda: next(ticks)))
    # The first event goes out at once, alone: the first row does not wait for the window.
    assert len(batches[0].events) == 1
    assert sum(len(b.events) for b in batches) == len(events)
    updates = [u for b in batches for u in b.updates]
    first_new = next(u for u in updates if u.kind is UpdateKind.NEW)
    assert first_new.request.request_id == requests[0].request_id
    closed = {u.request.request_id for u in updates if u.kind is UpdateKind.CLOSED}
    assert closed == {r.request_id for r in requests}
    # Every request was NEW before anything else happened to it.
    seen: set[str | None] = set()
    for update in updates:
        if update.kind is UpdateKind.NEW:
            seen.add(update.request.request_id)
        else:
            assert update.request.request_id in seen


def _request(traffic: Traffic, outcome: Scenario, route: str = "GET /primes") -> Request:
    topology = topology_of(traffic)
    [made] = simulate(traffic, seconds=0, forced=[(0, route, outcome)])
    batches = list(window_batches(parsed_events(topology, [made])))
    return [u.request for b in batches for u in b.updates][-1]


def test_the_waterfall_shows_each_phase_on_one_axis(traffic: Traffic) -> None:
    request = _request(traffic, Scenario.LAMBDA_TIMEOUT)
    phases = phases_of(request)
    names = [p.name for p in phases]
    assert {"authorizer", "lambda", "integration"} <= set(names)
    lam = next(p for p in phases if p.name == "lambda")
    assert lam.note == "timeout" and 2_900 <= lam.duration_ms <= 3_100
    lines = [t.plain for t in waterfall_lines(request, phases, 100)]
    assert all(len(line) <= 100 for line in lines)
    assert "0 ms" in lines[0] and lines[0].rstrip().endswith(
        (" 3.0 s", " 3.1 s", " 3.2 s", " 3.3 s")
    )
    bar = next(line for line in lines if line.lstrip().startswith("lambda"))
    assert bar.count("█") > 40 and "timeout" in bar


def test_xray_subsegments_plug_in_as_a_phase_source(traffic: Traffic) -> None:
    request = _request(traffic, Scenario.OK, "GET /primes/{n}")
    lam = next(p for p in phases_of(request) if p.name == "lambda")

    def subsegments(r: Request) -> list[Phase]:
        return [Phase("DynamoDB", lam.start_ms + 1, lam.end_ms - 1, "GetItem", "yellow", depth=1)]

    phases = phases_of(request, (*DEFAULT_PHASE_SOURCES, subsegments))
    at = [p.name for p in phases].index("DynamoDB")
    assert phases[at - 1].name == "lambda"  # after its parent, indented under it
    lines = [t.plain for t in waterfall_lines(request, phases, 100)]
    assert any(line.startswith("    DynamoDB GetItem") for line in lines)


def _trace_of(request: Request, start_ms: float, end_ms: float) -> Trace:
    """A trace shaped as the demo's: API Gateway → its call to Lambda → the Lambda service →
    the function → Invocation (a DynamoDB call, an HTTP call that failed) and Overhead."""
    t0 = start_ms
    return Trace(
        request.trace_id or "1-66321e60-0123456789abcdef01234567",
        (
            TraceSpan("a", "erat0s7hen/prod", SpanKind.API_GATEWAY, t0 - 5, end_ms + 5, 0),
            TraceSpan("b", "Lambda", SpanKind.AWS_CALL, t0 - 4, end_ms + 4, 1, "a",
                      operation="Invoke"),
            TraceSpan("c", "fn", SpanKind.LAMBDA, t0 - 3, end_ms + 3, 2, "b"),
            TraceSpan("d", "fn", SpanKind.FUNCTION, t0, end_ms, 3, "c"),
            TraceSpan("e", "Invocation", SpanKind.PHASE, t0, end_ms - 1, 4, "d"),
            TraceSpan("f", "DynamoDB", SpanKind.AWS_CALL, t0 + 1, t0 + 13, 5, "e",
                      operation="GetItem", resource="primes", status=200),
            TraceSpan("g", "api[bold]\x1b]0;x\x07", SpanKind.HTTP_CALL, t0 + 14, t0 + 15, 5,
                      "e", operation="GET", resource="https://api.example/\x1b[31mred",
                      status=502, fault=True, cause="Bad\nGateway"),
            TraceSpan("h", "Overhead", SpanKind.PHASE, end_ms - 1, end_ms, 4, "d"),
        ),
        duration_ms=end_ms - t0 + 10,
    )  # fmt: skip


def test_a_trace_s_spans_are_a_phase_source_under_the_log_phases(traffic: Traffic) -> None:
    request = _request(traffic, Scenario.OK, "GET /primes/{n}")
    lam = next(p for p in phases_of(request) if p.name == "lambda")
    trace = _trace_of(request, lam.start_ms, lam.end_ms)
    phases = trace_phases(trace)
    # The function's phases and the calls; not the segments, nor API Gateway's call to Lambda.
    assert [p.name for p in phases][:2] == ["Invocation", "DynamoDB"]
    assert [p.name for p in phases][3] == "Overhead"
    assert [p.depth for p in phases] == [1, 2, 2, 1]
    dynamo, http = phases[1], phases[2]
    assert dynamo.label == "GetItem primes" and dynamo.note == "" and dynamo.duration_ms == 12
    assert dynamo.start_ms == lam.start_ms + 1  # the same clock as the lines
    # Untrusted: escapes shown, never interpreted; the fault is red.
    assert "\x1b" not in http.name + http.label and "\\x1b" in http.label
    assert http.note == "fault 502" and http.style == "bright_red"

    cache = TraceCache()
    assert cache.phases(request) == []  # nothing read: the waterfall is the logs' alone
    assert request.trace_id is not None
    cache.traces[request.trace_id] = trace
    merged = phases_of(request, (*DEFAULT_PHASE_SOURCES, cache.phases))
    at = [p.name for p in merged].index("Invocation")
    assert merged[at - 1].name == "lambda" and merged[at + 1].name == "DynamoDB"
    lines = [t.plain for t in waterfall_lines(request, merged, 120)]
    assert all(len(line) <= 120 for line in lines)
    assert any(line.startswith("      DynamoDB GetItem primes") for line in lines)
    bar = next(line for line in lines if "DynamoDB" in line)
    assert bar.count("█") >= 1 and "12 ms" in bar


def test_the_detail_lists_the_trace_s_calls_or_says_why_there_is_none(traffic: Traffic) -> None:
    request = _request(traffic, Scenario.OK, "GET /primes/{n}")
    lam = next(p for p in phases_of(request) if p.name == "lambda")
    trace = _trace_of(request, lam.start_ms, lam.end_ms)
    fmt = TimeFormat(UTC)
    plain = [t.plain for t in story(request, fmt, 120)]
    assert "X-Ray" not in plain  # not asked: no section
    with_trace = [t.plain for t in story(request, fmt, 120, trace=trace)]
    section = with_trace[with_trace.index("X-Ray") : with_trace.index("Waterfall")]
    assert any("DynamoDB GetItem primes  12 ms  ok" in line for line in section)
    [failed] = [line for line in section if "502" in line]
    assert "fault, 502: Bad⏎Gateway" in failed and "\x1b" not in failed
    assert not any("Lambda Invoke" in line for line in section)
    # The summary: what the spans cover (X-Ray's own Duration may still be 0).
    covered = max(s.end_ms or 0 for s in trace.spans) - min(s.start_ms for s in trace.spans)
    summary = f"{len(trace.spans)} spans · 2 calls · {format_duration_ms(covered)}"
    assert any(summary in line for line in section), section
    reading = [t.plain for t in story(request, fmt, 120, trace_note=READING)]
    assert f"  {READING}" in reading

    assert report_note(TraceReport(error="X-Ray refused (AccessDenied)"), "1-a-b") == (
        "X-Ray refused (AccessDenied)"
    )
    assert report_note(TraceReport(missing=("1-a-b",)), "1-a-b") == NO_TRACE_FOUND
    assert "ask again" in (report_note(TraceReport(unprocessed=("1-a-b",)), "1-a-b") or "")
    assert report_note(TraceReport({"1-a-b": trace}), "1-a-b") is None


def test_rows_show_the_date_when_the_window_spans_days() -> None:
    before = int(datetime(2024, 5, 1, 23, 59, 30, tzinfo=UTC).timestamp() * 1000)
    after = before + 60_000
    assert spans_days(before, after, UTC)
    assert not spans_days(before, before + 10_000, UTC)
    # The same minute is one day in UTC+2 (01:59 → 02:00 on May 2).
    assert not spans_days(before, after, timezone(timedelta(hours=2)))
    request = Request(
        "r", before, before + 5, Outcome.OK, "ok", method="GET", path="/x", status=200
    )
    with_date = request_row(request, TimeFormat(UTC, with_date=True), Columns(18, 20, True)).plain
    without = request_row(request, TimeFormat(UTC), Columns(12, 20, True)).plain
    assert with_date.startswith("05-01 23:59:30.000") and without.startswith("23:59:30.000")
    later = replace(request, status=None, in_progress=True)
    assert "in progress" in request_row(later, TimeFormat(UTC), Columns(12, 20, True)).plain
    # A narrow pane gives the LAMBDA column's room to the cause.
    assert Columns.fit(80, 12).show_lambda is False and Columns.fit(140, 12).show_lambda


def test_the_tui_command_checks_its_options_before_taking_the_screen() -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["tui", "-a", "x", "-t", "prod", "--filter", "staus:5xx"])
    assert bad.exit_code == 2 and "did you mean status:" in bad.output
    both = runner.invoke(cli, ["tui", "-a", "x", "-t", "prod", "--watch", "--no-watch"])
    assert both.exit_code == 2 and "contradict" in both.output
    ended = runner.invoke(cli, ["tui", "-a", "x", "-t", "prod", "--watch", "-e", "now"])
    assert ended.exit_code == 2
    piped = runner.invoke(cli, ["tui", "-a", "x", "-t", "prod"])
    assert piped.exit_code == 2 and "needs a terminal" in piped.output
    assert "--max-requests" in runner.invoke(cli, ["tui", "--help"]).output


def test_the_story_leaves_out_the_request_id_execution_lines_repeat(traffic: Traffic) -> None:
    request = _request(traffic, Scenario.LAMBDA_TIMEOUT)
    rid = request.request_id
    assert rid is not None
    texts = [t.plain for t in story(request, TimeFormat(UTC), 80)]
    lines = texts[next(i for i, t in enumerate(texts) if t.startswith("Lines (")) + 1 :]
    execution = [t for t in lines if "  execution  " in t]
    assert execution and not any(f"({rid})" in t for t in execution)
    # What API Gateway said starts right after the label, where a narrow screen still shows it.
    assert any("Starting execution for request" in t[:80] for t in execution), execution[:3]
    # The ID itself is not lost: the header names it, and lines that quote it keep it.
    assert any(rid in t for t in texts[: texts.index("Waterfall")])


def test_a_narrow_pane_gives_the_source_column_s_room_to_the_message() -> None:
    from apilogs.tui.text import fit_label_width

    assert fit_label_width(24, 200) == 24 and fit_label_width(24, 140) == 24
    assert fit_label_width(24, 78) == 15  # 80 columns: the message starts 9 columns sooner
    assert fit_label_width(24, 20) == 9 and fit_label_width(9, 78) == 9


def test_a_short_id_keeps_what_the_line_says_and_a_highlight_of_the_id() -> None:
    import re

    from apilogs.render.spans import HIGHLIGHT, RICH_STYLES
    from apilogs.tui.text import event_lines, shorten_ids
    from tests.unit.join.test_correlate import EXECUTION, PRIMES, RID1, ev

    fmt = TimeFormat(UTC)
    assert shorten_ids(fmt, 15, 78) and not shorten_ids(fmt, 24, 158)
    line = ev(EXECUTION, 0, f"({RID1}) Method completed with status: 502")
    highlight = re.compile(re.escape(RID1))
    [short] = event_lines(line, fmt, 9, highlights=[highlight], short_id=True)
    assert short.plain.endswith(f"({RID1[:8]}…) Method completed with status: 502")
    style = RICH_STYLES[HIGHLIGHT]
    spans = [s for s in short.spans if str(s.style) == style]
    marked = "".join(
        c for i, c in enumerate(short.plain) if any(s.start <= i < s.end for s in spans)
    )
    assert marked == f"{RID1[:8]}…"
    [full] = event_lines(line, fmt, 9, highlights=[highlight])
    assert full.plain.endswith(f"({RID1}) Method completed with status: 502")
    # Only the execution log's own prefix: a Lambda line that starts with an ID in brackets is
    # shown as written.
    [lambda_line] = event_lines(ev(PRIMES, 0, f"({RID1}) printed"), fmt, 9, short_id=True)
    assert lambda_line.plain.endswith(f"({RID1}) printed")
