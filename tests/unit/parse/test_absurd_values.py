"""Values no AWS service writes (issue 28, item 11): flagged by the parsers and left out of every
request and sum, while their lines are kept as written."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from apilogs.diagnosis.story import tell, timeline
from apilogs.diagnosis.summary import WindowStats
from apilogs.model import Invocation, LineKind, Outcome, Request, Role
from apilogs.parse import parse_line
from apilogs.parse.vet import LEFT_OUT, left_out_counts, left_out_notice
from apilogs.times import format_duration_ms

RID = "286364ab-3a83-11e9-8dc8-db3cf4c83204"
LAMBDA_ID = "71952965-d5cc-4974-ae08-6e2138b2275c"
JSON_FORMAT = (
    '{"requestId":"$context.requestId","httpMethod":"$context.httpMethod",'
    '"path":"$context.path","status":"$context.status",'
    '"integrationLatency":"$context.integrationLatency",'
    '"responseLatency":"$context.responseLatency"}'
)
GOOD = {
    "requestId": RID,
    "httpMethod": "GET",
    "path": "/prod/primes/7",
    "status": "200",
    "integrationLatency": "40",
    "responseLatency": "45",
}
GOOD_FIELDS = {
    "method": "GET",
    "path": "/prod/primes/7",
    "status": 200,
    "integration_latency_ms": 40,
    "response_latency_ms": 45,
}


def access(fmt: str | None, **changes: object) -> dict[str, object]:
    line = parse_line(json.dumps(GOOD | changes), Role.ACCESS, fmt)
    assert line.kind is LineKind.ACCESS and line.request_id == RID
    return dict(line.fields)


@pytest.mark.parametrize("fmt", [JSON_FORMAT, None], ids=["format", "no-format"])
@pytest.mark.parametrize(
    ("key", "value", "name"),
    [
        ("responseLatency", 1e30, "response_latency_ms"),
        ("responseLatency", 99_999_999_999_999, "response_latency_ms"),
        ("responseLatency", -5, "response_latency_ms"),
        ("responseLatency", "-5", "response_latency_ms"),
        ("responseLatency", "NaN", "response_latency_ms"),
        ("responseLatency", "Infinity", "response_latency_ms"),
        ("integrationLatency", 3_600_000, "integration_latency_ms"),
        ("status", 42, "status"),
        ("status", "9999", "status"),
        ("status", 9999, "status"),
        ("httpMethod", {"o": 1}, "method"),
        ("httpMethod", ["GET"], "method"),
        ("httpMethod", "GET /x", "method"),
        ("path", ["list"], "path"),
        ("path", {"o": 1}, "path"),
        ("path", "primes", "path"),
    ],
)
def test_access_absurd_value_is_left_out(
    fmt: str | None, key: str, value: object, name: str
) -> None:
    fields = access(fmt, **{key: value})
    assert name not in fields
    # Kept as read: a number written as text is kept as the number.
    kept = fields["untrusted_" + name]
    assert kept == value or (kept == int(str(value)) and isinstance(value, str))
    assert fields[LEFT_OUT] == (name,)
    # Every other field is kept as it was.
    assert {k: v for k, v in fields.items() if k in GOOD_FIELDS} == {
        k: v for k, v in GOOD_FIELDS.items() if k != name
    }


@pytest.mark.parametrize("fmt", [JSON_FORMAT, None], ids=["format", "no-format"])
def test_access_sane_values_are_not_flagged(fmt: str | None) -> None:
    fields = access(fmt)
    assert LEFT_OUT not in fields
    assert {k: v for k, v in fields.items() if k in GOOD_FIELDS} == GOOD_FIELDS
    # The edges AWS can write: 0 ms, just under an hour, 100 and 599, any word for a method.
    fields = access(fmt, responseLatency=0, integrationLatency="3599999", status=599)
    assert LEFT_OUT not in fields and fields["response_latency_ms"] == 0
    assert access(fmt, httpMethod="PROPFIND", status="100")["method"] == "PROPFIND"


def test_access_clf_line_with_an_absurd_status() -> None:
    fmt = '$context.identity.sourceIp "$context.httpMethod $context.path" $context.status $context.requestId'
    line = parse_line(f'1.2.3.4 "GET /x" 42 {RID}', Role.ACCESS, fmt)
    assert line.request_id == RID and line.fields["method"] == "GET"
    assert "status" not in line.fields and line.fields["untrusted_status"] == 42


REPORT = (
    f"REPORT RequestId: {LAMBDA_ID}\tDuration: 12.50 ms\tBilled Duration: 13 ms\t"
    "Memory Size: {size} MB\tMax Memory Used: {used} MB\t"
)


@pytest.mark.parametrize(
    ("size", "used", "name", "value"),
    [
        ("128", "-5", "max_memory_mb", -5),
        ("128", "20000", "max_memory_mb", 20000),
        ("0", "56", "memory_mb", 0),
        ("64", "56", "memory_mb", 64),
        ("99999", "56", "memory_mb", 99999),
    ],
)
def test_report_absurd_memory_is_left_out(size: str, used: str, name: str, value: int) -> None:
    line = parse_line(REPORT.format(size=size, used=used), Role.LAMBDA)
    assert line.kind is LineKind.LAMBDA_REPORT and line.lambda_request_id == LAMBDA_ID
    fields = line.fields
    assert name not in fields and fields["untrusted_" + name] == value
    assert fields[LEFT_OUT] == (name,)
    assert fields["duration_ms"] == 12.5 and fields["billed_ms"] == 13
    other = "memory_mb" if name == "max_memory_mb" else "max_memory_mb"
    assert fields[other] == int(size if other == "memory_mb" else used)


@pytest.mark.parametrize("duration", ["NaN", "-3.5", "inf", "86400000.00", "fast"])
def test_report_absurd_duration_is_left_out(duration: str) -> None:
    message = (
        f"REPORT RequestId: {LAMBDA_ID}\tDuration: {duration} ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 56 MB\t"
    )
    fields = parse_line(message, Role.LAMBDA).fields
    assert "duration_ms" not in fields and LEFT_OUT in fields
    assert fields["memory_mb"] == 128 and fields["max_memory_mb"] == 56


def test_json_platform_report_absurd_metrics_are_left_out() -> None:
    message = json.dumps(
        {
            "type": "platform.report",
            "record": {
                "requestId": LAMBDA_ID,
                "metrics": {
                    "durationMs": float("nan"),
                    "billedDurationMs": 13,
                    "memorySizeMB": 0,
                    "maxMemoryUsedMB": 56,
                },
            },
        }
    )
    fields = parse_line(message, Role.LAMBDA).fields
    assert set(fields[LEFT_OUT]) == {"duration_ms", "memory_mb"}
    assert "duration_ms" not in fields and "memory_mb" not in fields
    assert fields["billed_ms"] == 13 and fields["max_memory_mb"] == 56


def test_execution_absurd_latency_and_status_are_left_out() -> None:
    received = parse_line(
        f"({RID}) Received response. Status: 9999, Integration latency: 999999999999 ms",
        Role.EXECUTION,
    )
    assert received.request_id == RID
    assert set(received.fields[LEFT_OUT]) == {"integration_status", "integration_latency_ms"}
    assert "integration_status" not in received.fields


def test_the_notice_counts_each_value_left_out_once() -> None:
    lines = [
        parse_line(json.dumps(GOOD | {"responseLatency": 1e30}), Role.ACCESS, JSON_FORMAT),
        parse_line(json.dumps(GOOD | {"status": 42, "path": ["x"]}), Role.ACCESS, JSON_FORMAT),
        parse_line(REPORT.format(size="128", used="-5"), Role.LAMBDA),
        parse_line(json.dumps(GOOD), Role.ACCESS, JSON_FORMAT),
    ]
    counts = left_out_counts(lines)
    assert counts == Counter({"response_latency_ms": 1, "status": 1, "path": 1, "max_memory_mb": 1})
    notice = left_out_notice(counts)
    assert notice is not None and notice.startswith("4 values AWS cannot write were left out")
    assert "1× a latency or duration outside 0–1 h" in notice
    assert "1× a status outside 100–599" in notice
    assert left_out_notice(Counter()) is None


def _request(n: int, latency: float | None, duration: float | None = 20.0) -> Request:
    invocation = Invocation(
        f"00000000-0000-4000-8000-{n:012d}", Role.LAMBDA, function="f", duration_ms=duration
    )
    return Request(
        f"11111111-1111-4111-8111-{n:012d}",
        1_000 + n,
        1_100 + n,
        Outcome.OK,
        "ok",
        method="GET",
        path="/p",
        status=200,
        response_latency_ms=latency,  # type: ignore[arg-type]
        integration_latency_ms=latency,  # type: ignore[arg-type]
        invocations=(invocation,),
    )


@pytest.mark.parametrize("absurd", [1e30, -5, float("nan"), float("inf"), 10**20])
def test_window_stats_leave_an_absurd_latency_out(absurd: float) -> None:
    sane = [_request(n, float(10 + n)) for n in range(100)]
    without, with_it = WindowStats(), WindowStats()
    for request in sane:
        without.add(request)
        with_it.add(request)
    with_it.add(_request(100, absurd, duration=absurd))
    with_it.add(_request(101, None, duration=None))
    before, after = without.to_dict(), with_it.to_dict()
    for key in ("response_latency_ms", "integration_latency_ms"):
        assert {p: after[key][p] for p in ("p50", "p99", "max", "count")} == {
            p: before[key][p] for p in ("p50", "p99", "max", "count")
        }
    assert after["lambda_duration_ms"]["f"] == before["lambda_duration_ms"]["f"]
    assert after["requests"] == before["requests"] + 2
    assert after["slowest_routes"] == before["slowest_routes"]


def test_window_stats_leave_an_absurd_status_out() -> None:
    stats = WindowStats()
    stats.add(_request(1, 10.0))
    stats.add(Request("r", 0, 1, Outcome.UNKNOWN, "?", status=9999))
    assert stats.to_dict()["by_status_class"] == {"2xx": 1, "unknown": 1}
    assert stats.to_dict()["by_status"] == {"200": 1}


def test_report_without_a_size_reads_question_mark_everywhere() -> None:
    # The REPORT's fields as the joiner makes an Invocation of them: no `memory_mb`.
    fields = parse_line(REPORT.format(size="0", used="56"), Role.LAMBDA).fields
    invocation = Invocation(
        LAMBDA_ID,
        Role.LAMBDA,
        function="primes",
        start_ms=1_010,
        end_ms=1_030,
        duration_ms=fields["duration_ms"],
        memory_mb=fields.get("memory_mb"),
        max_memory_mb=fields["max_memory_mb"],
    )
    request = Request(RID, 1_000, 1_100, Outcome.OK, "ok", invocations=(invocation,))
    story = tell(request)
    assert story.invocations[0].memory == "56/? MB"
    (moment,) = [m for m in timeline(request) if m.name == "lambda"]
    assert "56/? MB" in moment.text and "None" not in moment.text
    with_size = Invocation(LAMBDA_ID, Role.LAMBDA, memory_mb=128, max_memory_mb=56)
    request = Request(RID, 1_000, 1_100, Outcome.OK, "ok", invocations=(with_size,))
    assert tell(request).invocations[0].memory == "56/128 MB"


@pytest.mark.parametrize("ms", [1e30, -1e30, 10**40, 100_000 * 86_400_000])
def test_absurd_durations_are_never_worded_wide(ms: float) -> None:
    assert format_duration_ms(ms) == "?"
