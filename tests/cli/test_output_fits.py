"""Output that fits: tables cut to the terminal's width (the request ID whole), dates when the
window spans days, the (late) mark in a fixed place, -o short with --timestamp."""

from __future__ import annotations

import io
import re
from datetime import UTC

import pytest

from apilogs.model import (
    Invocation,
    Line,
    LineKind,
    LogEvent,
    Outcome,
    RawEvent,
    Request,
    Role,
    Source,
)
from apilogs.render.env import Terminal
from apilogs.render.events import Clock, EventFormatter, RenderOptions
from apilogs.render.requests import RequestRows
from apilogs.render.style import Painter
from apilogs.render.table import Column, Narrow, fit

RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
SGR = re.compile(r"\x1b\[[0-9;]*m")


def request(**kw: object) -> Request:
    fields: dict[str, object] = {
        "request_id": RID,
        "start_ms": 1_764_590_400_123,  # 2025-12-01T12:00:00.123Z
        "end_ms": 1_764_590_400_523,
        "outcome": Outcome.UNHANDLED_EXCEPTION,
        "cause": "ValueError: the number 4453 is not a prime, and that is a long story",
        "method": "GET",
        "path": "/prod/primes/4453/and/a/long/tail/of/path/segments",
        "route": "/primes/{n}/and/a/long/tail",
        "status": 502,
        "response_latency_ms": 400,
        "invocations": (
            Invocation(
                "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
                Role.LAMBDA,
                "primes",
                0,
                1,
                380.5,
                381,
                128,
                90,
            ),
        ),
    }
    fields.update(kw)
    return Request(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160, 220])
def test_request_rows_fit_the_terminal_and_keep_an_id_to_copy(width: int) -> None:
    for paint in (Painter(False), Painter(True)):
        rows = RequestRows(paint, Clock(UTC), width=width)
        for line in (rows.header(), rows.row(request()), rows.row(request(), updated=True)):
            assert len(SGR.sub("", line)) <= width, (width, line)
        row = SGR.sub("", rows.row(request()))
        # Whole from about 140 columns; below, its first 8 characters (every command takes them).
        assert row.split()[-1] == (RID if width >= 160 else RID[:8])
        assert row.split()[0] == ("12:00:00.123" if width >= 100 else "12:00:00")
    wide = SGR.sub("", RequestRows(Painter(False), Clock(UTC), width=220).row(request()))
    assert "/primes/{n}" in wide and "90/128" in wide


def test_a_pipe_gets_every_column() -> None:
    row = RequestRows(Painter(False), Clock(UTC), width=None).row(request())
    assert all(part in row for part in ("GET", "/prod/primes/4453", "502", "90/128", RID))


def test_times_carry_the_date_when_the_window_spans_days() -> None:
    row = RequestRows(Painter(False), Clock(UTC), width=None, with_date=True).row(request())
    assert row.startswith("2025-12-01 12:00:00.123  GET")


def test_fit_follows_the_plan_and_never_goes_below_a_step() -> None:
    columns = [Column("A", 10), Column("B", 10), Column("C", 10)]
    plan = [Narrow("B", 4), Narrow("A", 0)]
    assert fit(columns, plan, None) == [10, 10, 10]
    assert fit(columns, plan, 34) == [10, 10, 10]
    assert fit(columns, plan, 30) == [10, 6, 10]
    assert fit(columns, plan, 20) == [0, 4, 10]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_width_comes_from_the_terminal_and_never_from_a_pipe() -> None:
    term = Terminal.detect("auto", out=_Tty(), err=io.StringIO(), environ={"COLUMNS": "77"})
    assert term.width == 77 and term.out_tty and term.color
    assert term.err_width is None and not term.err_color
    pipe = Terminal.detect("auto", out=io.StringIO(), err=_Tty(), environ={"COLUMNS": "77"})
    assert pipe.width is None and not pipe.color and pipe.err_width == 77


SOURCE = Source(Role.LAMBDA, "/aws/lambda/primes", "us-east-1", function_name="primes")


def event(message: str, ts: int = 1_764_590_400_123) -> LogEvent:
    raw = RawEvent(ts, ts + 2_500, SOURCE.log_group, "s", "1", message, SOURCE)
    return LogEvent(raw, Line(LineKind.LAMBDA_PRINT))


def test_the_late_mark_never_shifts_the_message() -> None:
    for output in ("plain", "short"):
        fmt = EventFormatter(
            RenderOptions(output=output, tz=UTC, late_slot=True), Painter(False), [SOURCE]
        ).format
        on_time, late = fmt(event("hello"), False), fmt(event("hello"), True)
        assert on_time.index("hello") == late.index("hello"), output
        assert "(late)" in late and "(late)" not in on_time


def test_short_output_honours_timestamp_and_ingestion_time() -> None:
    fmt = EventFormatter(
        RenderOptions(output="short", tz=UTC, show_timestamp=True, show_ingestion_time=True),
        Painter(False),
        [SOURCE],
    ).format
    line = fmt(event("first\nsecond"), False)
    head, cont = line.split("\n")
    assert head.startswith("2025-12-01T12:00:00.123Z  ingested 2025-12-01T12:00:02.623Z  primes")
    # The continuation lines sit under the message.
    assert cont.index("second") == head.index("first")
    dated = EventFormatter(
        RenderOptions(output="short", tz=UTC, dated=True), Painter(False), [SOURCE]
    )
    assert dated.format(event("x"), False).startswith("2025-12-01 12:00:00.123  primes")


def test_the_groups_table_fits_and_leaves_out_the_least_useful_first() -> None:
    from apilogs.model import ApiKind, Topology
    from apilogs.render.topology import topology_lines

    sources = tuple(
        Source(
            Role.LAMBDA,
            f"/aws/lambda/a-function-with-a-long-name-{i}",
            "us-east-1",
            function_name=f"a-function-with-a-long-name-{i}",
            routes=tuple(f"GET /route/number/{j}" for j in range(6)),
            exists=True,
            retention_days=30,
            stored_bytes=123_456_789,
        )
        for i in range(3)
    )
    topology = Topology("abc123", "shop", ApiKind.REST, "prod", "us-east-1", sources)
    full = list(topology_lines(topology, Painter(False)))
    header = next(i for i, line in enumerate(full) if line.startswith("ROLE"))
    assert "RETENTION" in full[header] and "STORED" in full[header]
    narrow = list(topology_lines(topology, Painter(False), width=90))
    table = narrow[header : header + 4]
    assert all(len(line) <= 90 for line in table), table
    assert "STORED" not in table[0] and "LOG GROUP" in table[0] and "EXISTS" in table[0]
    assert all("yes" in line for line in table[1:])


def test_a_long_story_goes_through_the_pager_on_a_terminal(tmp_path, monkeypatch) -> None:
    from apilogs.cli.pager import show_lines

    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("LINES", "10")
    monkeypatch.setenv("PAGER", f"sh -c 'cat > {paged}'")
    lines = [f"line {i}" for i in range(30)]
    tty = Terminal.detect("never", out=_Tty(), err=io.StringIO())
    show_lines(tty, lines)
    assert paged.read_text().splitlines() == lines and tty.out.getvalue() == ""  # type: ignore[attr-defined]
    # Short, --no-pager, or not a terminal: printed as it is.
    for term, these, pager in (
        (Terminal.detect("never", out=_Tty(), err=io.StringIO()), lines[:3], True),
        (Terminal.detect("never", out=_Tty(), err=io.StringIO()), lines, False),
        (Terminal.detect("never", out=io.StringIO(), err=io.StringIO()), lines, True),
    ):
        paged.unlink(missing_ok=True)
        show_lines(term, these, pager=pager)
        assert term.out.getvalue().splitlines() == these and not paged.exists()  # type: ignore[attr-defined]
    monkeypatch.setenv("PAGER", "")
    term = Terminal.detect("never", out=_Tty(), err=io.StringIO())
    show_lines(term, lines)
    assert term.out.getvalue().splitlines() == lines  # type: ignore[attr-defined]
