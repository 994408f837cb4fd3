"""The renderers at a fixed width, as an on-call person reads them at 80 columns and at 200:
what they need (time, method, path, status, latency, Lambda duration, cause, an ID to copy)
is there, nothing wraps, and a pipe gets every value whole."""

from __future__ import annotations

import io
import re
import threading
import time
from dataclasses import replace
from datetime import UTC

import pytest

from apilogs.cli.commands import status_ranges
from apilogs.diagnosis.summary import WindowStats
from apilogs.errors import InvalidInput
from apilogs.fetch import FetchStats
from apilogs.model import (
    ApiKind,
    Invocation,
    Line,
    LineKind,
    LogEvent,
    Outcome,
    RawEvent,
    Request,
    Role,
    Source,
    Topology,
)
from apilogs.render.events import Clock, EventFormatter, RenderOptions
from apilogs.render.progress import CLEAR, Announced, Progress
from apilogs.render.requests import RequestRows, stats_lines
from apilogs.render.style import Painter
from apilogs.render.topology import topology_lines

RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
SGR = re.compile(r"\x1b\[[0-9;]*m")
CAUSE = "ValueError: invalid literal for int() with base 10: '100k' in the parser of the form"


def request(**kw: object) -> Request:
    fields: dict[str, object] = {
        "request_id": RID,
        "start_ms": 1_764_590_400_123,  # 2025-12-01T12:00:00.123Z
        "end_ms": 1_764_590_400_523,
        "outcome": Outcome.UNHANDLED_EXCEPTION,
        "cause": CAUSE,
        "method": "GET",
        "path": "/prod/primes/389797700",
        "route": "/primes/{n}",
        "status": 502,
        "response_latency_ms": 400,
        "invocations": (
            Invocation("0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", Role.LAMBDA, "eratosthenes-primes",
                       0, 1, 380.5, 381, 128, 90),
        ),
    }  # fmt: skip
    fields.update(kw)
    return Request(**fields)  # type: ignore[arg-type]


def plain(line: str) -> str:
    return SGR.sub("", line)


@pytest.mark.parametrize("color", [False, True])
def test_a_row_at_80_columns_has_what_on_call_needs(color: bool) -> None:
    rows = RequestRows(Painter(color), Clock(UTC), width=80)
    header, row = plain(rows.header()), plain(rows.row(request()))
    assert header.split() == [
        "TIME",
        "METHOD",
        "PATH",
        "STATUS",
        "LATENCY",
        "LAMBDA",
        "CAUSE",
        "ID",
    ]
    assert len(header) <= 80 and len(row) <= 80, row
    fields = row.split()
    assert fields[0] == "12:00:00"  # the milliseconds go first, the time stays
    assert fields[1] == "GET"
    assert fields[2] == "…es/389797700"  # the path's end: what was asked for
    assert "502" in fields and "400 ms" in row and "380 ms" in row
    assert "ValueError: inva" in row  # an exception's cause starts with its type
    assert fields[-1] == RID[:8]  # the prefix every command takes for the ID


def test_a_narrow_cause_says_what_happened_in_a_few_words() -> None:
    rows = RequestRows(Painter(False), Clock(UTC), width=80)
    cases = {
        Outcome.LAMBDA_TIMEOUT: ("Lambda timed out after 3.00 s and more words", "Lambda timeout"),
        Outcome.APIGW_TIMEOUT: (
            "API Gateway integration timeout; the Lambda ran on, 35.91 s in all",
            "Gateway timeout",
        ),
        Outcome.OUT_OF_MEMORY: ("Lambda ran out of memory (128/128 MB)", "Out of memory"),
        Outcome.MALFORMED_RESPONSE: ("Malformed Lambda proxy response", "Malformed response"),
        Outcome.CLIENT_ERROR: ("Client error (404)", "Client error (404)"),  # fits: whole
    }
    for outcome, (cause, shown) in cases.items():
        row = rows.row(request(outcome=outcome, cause=cause))
        assert shown in row and len(row) <= 80, row


def test_wider_terminals_show_more_and_the_whole_id() -> None:
    wide = plain(RequestRows(Painter(False), Clock(UTC), width=200).row(request()))
    assert len(wide) <= 200
    assert wide.startswith("12:00:00.123  GET     /prod/primes/389797700")
    assert "/primes/{n}" in wide and "90/128" in wide and wide.endswith(RID)
    assert CAUSE[:40] in wide  # the cause takes the room left
    at_120 = plain(RequestRows(Painter(False), Clock(UTC), width=120).row(request()))
    assert at_120.startswith("12:00:00.123") and at_120.endswith(RID[:8]) and len(at_120) <= 120


def test_a_pipe_gets_the_whole_cause_and_the_id_stays_last() -> None:
    rows = RequestRows(Painter(False), Clock(UTC), width=None)
    row = rows.row(request())
    assert CAUSE in row and row.split()[-1] == RID
    assert row.startswith("12:00:00.123  GET     /prod/primes/389797700")
    short = rows.row(request(cause="Client error (404)", outcome=Outcome.CLIENT_ERROR))
    # A short cause keeps the columns aligned.
    assert short.index(RID) == len(rows.header()) - len("REQUEST ID")


def test_an_id_prefix_shown_for_another_request_grows() -> None:
    rows = RequestRows(Painter(False), Clock(UTC), width=80)
    twin = RID[:8] + "-0000-4000-8000-000000000000"
    first, second = rows.row(request()), rows.row(request(request_id=twin))
    assert first.split()[-1] == RID[:8]
    assert second.split()[-1] == twin[:9] and len(second) <= 80
    assert rows.row(request()).split()[-1] == RID[:8]  # the same request: the same prefix


def test_dated_rows_keep_the_date_when_narrow() -> None:
    rows = RequestRows(Painter(False), Clock(UTC), width=80, with_date=True)
    row = rows.row(request())
    assert row.startswith("2025-12-01 12:00:00 ") and len(row) <= 80, row


def test_groups_never_cut_a_group_name() -> None:
    names = ["API-Gateway-Execution-Logs_erat0s7hen/prod", "/aws/lambda/eratosthenes-authorizer"]
    sources = (
        Source(Role.EXECUTION, names[0], "us-east-1", exists=True, retention_days=None,
               stored_bytes=15_000_000),
        Source(Role.AUTHORIZER, names[1], "us-east-1", function_name="eratosthenes-authorizer",
               qualifier="live", routes=("GET /primes", "GET /primes/{n}"), exists=True,
               retention_days=14, stored_bytes=700_000),
    )  # fmt: skip
    topology = Topology("erat0s7hen", "Eratosthenes", ApiKind.REST, "prod", "us-east-1", sources)
    for width in (60, 80, 100, 200):
        lines = [plain(x) for x in topology_lines(topology, Painter(True), width)]
        text = "\n".join(lines)
        assert all(name in text for name in names), (width, text)
        if width >= 80:
            assert "eratosthenes-authorizer:live" in text, text  # the function whole too
        table = [x for x in lines if not x.startswith("  ")]
        assert all(len(x) <= width for x in table), (width, text)
    at_80 = [plain(x) for x in topology_lines(topology, Painter(False), 80)]
    # At 80 columns each group is on a line of its own, under its row.
    row = next(i for i, x in enumerate(at_80) if x.startswith("authorizer"))
    assert at_80[row + 1].strip() == names[1]
    wide = [plain(x) for x in topology_lines(topology, Painter(False), 200)]
    assert any(x.startswith("execution") and names[0] in x for x in wide)


def test_stats_lines_fit_80_columns_and_keep_the_ids_to_copy() -> None:
    stats = WindowStats()
    long_cause = "API Gateway integration timeout; the Lambda ran on, 16.84–35.91 s in all"
    for i, (outcome, cause, status) in enumerate(
        [
            (Outcome.UNHANDLED_EXCEPTION, CAUSE, 502),
            (Outcome.APIGW_TIMEOUT, long_cause, 504),
            (Outcome.MALFORMED_RESPONSE, "Malformed Lambda proxy response", 502),
        ]
    ):
        invocation = Invocation(f"{i}e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", Role.LAMBDA,
                                "eratosthenes-authorizer-with-a-long-name", 0, 1, 380.5, 381,
                                128, 90, init_ms=129.0)  # fmt: skip
        stats.add(
            request(request_id=f"{i}{RID[1:]}", outcome=outcome, cause=cause, status=status,
                    invocations=(invocation,))
        )  # fmt: skip
    narrow = [plain(x) for x in stats_lines(stats, Painter(True), 80)]
    assert all(len(x) <= 80 for x in narrow), "\n".join(narrow)
    text = "\n".join(narrow)
    assert f"e.g. 0{RID[1:8]}" in text and "e.g. 1605b081" in text
    assert "cold 3×" in text and "p50" in text
    piped = "\n".join(stats_lines(stats, Painter(False)))
    assert f"e.g. 0{RID[1:]}" in piped and long_cause in piped  # a pipe: whole


def test_a_terminal_get_line_is_time_source_id_message() -> None:
    execution = Source(Role.EXECUTION, "API-Gateway-Execution-Logs_erat0s7hen/prod", "us-east-1")
    primes = Source(
        Role.LAMBDA,
        "/aws/lambda/eratosthenes-primes",
        "us-east-1",
        function_name="eratosthenes-primes",
    )
    auth = Source(Role.AUTHORIZER, "/aws/lambda/eratosthenes-authorizer", "us-east-1",
                  function_name="eratosthenes-authorizer")  # fmt: skip
    ts = 1_764_590_400_123

    def event(source: Source, message: str, kind: LineKind, rid: str | None) -> LogEvent:
        raw = RawEvent(ts, ts + 5, source.log_group, "2025/12/01/[$LATEST]abc", "1", message,
                       source)  # fmt: skip
        return LogEvent(raw, Line(kind, request_id=rid))

    options = RenderOptions(tz=UTC, request_ids=True, compact=True)
    fmt = EventFormatter(options, Painter(False), [execution, primes, auth])
    line = fmt.format(event(execution, f"({RID}) Method completed with status: 502",
                            LineKind.APIGW_METHOD, RID), False)  # fmt: skip
    assert line == f"12:00:00.123  exec        {RID[:8]} Method completed with status: 502"
    from apilogs.join.label import LabeledEvent

    labeled = fmt.format_labeled(
        LabeledEvent(event(primes, "sieve finished", LineKind.LAMBDA_PRINT, None), RID, True)
    )
    assert labeled == f"12:00:00.123  primes     ~{RID[:8]} sieve finished"
    assert "authorizer" in fmt.format_labeled(
        LabeledEvent(event(auth, "policy: Allow", LineKind.LAMBDA_PRINT, None), RID, False)
    )
    # A pipe keeps the whole line: label, the whole ID, group, stream, message.
    piped = EventFormatter(replace(options, compact=False), Painter(False), [execution, primes])
    whole = piped.format_labeled(
        LabeledEvent(event(primes, "sieve finished", LineKind.LAMBDA_PRINT, None), RID, False)
    )
    assert whole.split() == ["eratosthenes-primes", RID, "/aws/lambda/eratosthenes-primes",
                             "2025/12/01/[$LATEST]abc", "sieve", "finished"]  # fmt: skip
    # --timestamp: the whole time.
    stamped = EventFormatter(replace(options, show_timestamp=True), Painter(False), [execution])
    assert stamped.format(event(execution, "x", LineKind.APIGW_METHOD, RID), False).startswith(
        "2025-12-01T12:00:00.123Z  exec"
    )


def test_errors_means_server_errors() -> None:
    assert status_ranges((), False) == ()
    assert status_ranges((), True) == ((500, 599),)
    assert status_ranges(((400, 499), (502, 502)), True) == ((502, 502),)
    with pytest.raises(InvalidInput, match="--status 4xx"):
        status_ranges(((400, 499),), True)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_is_wiped_before_output_and_not_drawn_while_it_flows() -> None:
    stats = FetchStats(groups=6, groups_done=0, pages=10, events=33_129)
    screen = _Tty()
    lock = threading.Lock()
    progress = Progress(stats, screen, enabled=True, lock=lock, quiet_s=0.6)
    stdout = io.StringIO()
    out = Announced(stdout, progress.hide)
    with progress:
        time.sleep(0.5)
        assert screen.getvalue().endswith("reading 0/6 groups · 10 pages · 33,129 events")
        out.write("16:39:31.832  GET  /prod/primes\n")
        # Wiped before the row went out: a `| head` on this terminal prints on a clean line.
        assert screen.getvalue().endswith(CLEAR)
        drawn = screen.getvalue()
        time.sleep(0.4)
        assert screen.getvalue() == drawn  # not drawn again while output flows
        time.sleep(0.6)
        assert screen.getvalue().endswith("events")  # drawn again after a pause
    assert screen.getvalue().endswith(CLEAR)  # never left behind
    ended = screen.getvalue()
    time.sleep(0.5)
    assert screen.getvalue() == ended  # nothing drawn after the end


def test_an_updated_row_still_fits_and_keeps_its_columns() -> None:
    for width in (60, 80, 120, 200):
        rows = RequestRows(Painter(True), Clock(UTC), width=width)
        line = plain(rows.row(request(), updated=True))
        assert len(line) <= width and line.endswith("(updated)"), (width, line)
        assert RID[:8] in line and "502" in line
    rows = RequestRows(Painter(False), Clock(UTC), width=200)
    before, after = rows.row(request()), rows.row(request(), updated=True)
    assert before.index("/primes/{n}") == after.index("/primes/{n}")  # aligned with the rest
