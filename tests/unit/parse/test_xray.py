"""X-Ray traces: `show --traces` and `requests --traces` on the demo's real segment documents
(moto stores what PutTraceSegments sent and BatchGetTraces returns it), and the limits moto does
not enforce — 5 IDs a call, pages, unprocessed IDs, Transaction Search — with botocore's
Stubber on the X-Ray client only (CloudWatch Logs stays moto's)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.aws import AwsContext, RateLimiter
from apilogs.cli import cli
from apilogs.fetch.xray import (
    MAX_IDS_PER_CALL,
    SPANS_LOG_GROUP,
    fetch_traces,
    parse_segments,
    parse_spans,
    w3c_trace_id,
)
from apilogs.model import SpanKind
from tests.support.demo_data import Traffic
from tests.support.faultproxy import fault_proxy

REGION = "us-east-1"


def run(traffic: Traffic, *args: str) -> tuple[int, str, str]:
    app = traffic.app
    result = CliRunner().invoke(
        cli,
        [
            *args,
            *("-a", app.rest_api_id, "-t", app.rest_stage),
            *("-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 90_000)),
            *("--endpoint-url", traffic.url, "--max-rps", "0"),
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_show_traces_puts_the_downstream_call_on_the_timeline(traffic: Traffic) -> None:
    expected = traffic.forced["orders_exception"]  # sampled; DynamoDB throttled its PutItem
    code, out, err = run(traffic, "show", expected.request_id, "--traces")
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("Timeline") + 1
    timeline = lines[at : lines.index("", at)]
    xray = [line for line in timeline if line.split()[2] == "x-ray"]
    text = "\n".join(xray)
    assert "API Gateway erat0s7hen/prod" in text and "Lambda service eratosthenes-orders" in text
    assert "function eratosthenes-orders" in text
    [call] = [line for line in xray if "DynamoDB PutItem orders" in line]
    assert "error, throttle, 400, 4 retries" in call and "ProvisionedThroughputExceeded" in call
    [invocation] = [line for line in xray if " Invocation " in line]
    assert "fault: ClientError" in invocation
    # Indented below its parents; on the same clock as the log lines (offsets from the start).
    depth = {line.split()[3]: line.index(line.split()[3]) for line in xray}
    assert depth["DynamoDB"] > depth["Invocation"] > depth["function"] > depth["API"]
    offsets = [int(line.split()[0].lstrip("+")) for line in timeline]
    assert offsets == sorted(offsets)
    lambda_start = next(int(x.split()[0][1:]) for x in timeline if x.split()[2] == "lambda")
    function = next(int(x.split()[0][1:]) for x in xray if "function eratosthenes" in x)
    assert abs(function - lambda_start) <= 10  # the segment starts with the invocation
    assert "Overhead" in text and ("Initialization" in text) is expected.cold_start


def test_show_traces_json_carries_the_spans_and_a_missing_trace_says_why(
    traffic: Traffic,
) -> None:
    expected = traffic.forced["orders_exception"]
    code, out, err = run(traffic, "show", expected.trace_id or "", "--traces", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    spans = doc["trace"]["spans"]
    assert doc["trace"]["trace_id"] == expected.trace_id and doc["trace"]["source"] == "xray"
    kinds = {s["kind"] for s in spans}
    assert {"api_gateway", "lambda", "function", "phase", "aws_call"} <= kinds
    [put] = [s for s in spans if s["operation"] == "PutItem"]
    assert put["throttle"] and put["status"] == 400 and put["duration_ms"] > 0
    by_id = {s["id"]: s for s in spans}
    assert by_id[put["parent_id"]]["name"] == "Invocation"
    unsampled = traffic.forced["apigw_timeout_no_xray"]
    code, out, err = run(traffic, "show", unsampled.request_id, "--traces")
    assert code == 0
    assert "no trace found" in out and "x-ray" not in out.split("Lines")[0].split("Timeline")[1]


def test_requests_traces_lists_each_request_s_calls(traffic: Traffic) -> None:
    code, out, err = run(traffic, "requests", "--traces", "-o", "json", "--path", "/orders")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    sampled = {t.request_id for t in traffic.rest() if t.sampled and t.route == "POST /orders"}
    assert sampled and all("trace" in row for row in rows)
    with_trace = {row["request_id"] for row in rows if row["trace"] is not None}
    # Every sampled request's trace, none for the others (a throttled one too: no Lambda ran,
    # but API Gateway's segment is there).
    assert with_trace == sampled
    code, out, err = run(traffic, "requests", "--traces", "--path", "/orders", "--errors")
    assert code == 0, err
    expected = traffic.forced["orders_exception"]
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if expected.request_id in line)
    assert "DynamoDB PutItem orders" in lines[row + 1] and "throttle" in lines[row + 1]
    assert "X-Ray returned no trace for" in err  # the unsampled ones, said once


# --- the limits moto does not enforce, with Stubber ---------------------------------------------


def _trace_id(n: int) -> str:
    return f"1-6b0eb93e-{n:024x}"


def _segment(trace_id: str, name: str = "erat0s7hen/prod") -> str:
    return json.dumps(
        {
            "id": f"{abs(hash((trace_id, name))) % 16**16:016x}",
            "trace_id": trace_id,
            "name": name,
            "origin": "AWS::ApiGateway::Stage",
            "start_time": 1796126800.0,
            "end_time": 1796126800.5,
        }
    )


def _stubbed(endpoint: str) -> tuple[Any, Stubber]:
    client = boto3.client("xray", region_name=REGION, endpoint_url=endpoint)
    return client, Stubber(client)


def _context(endpoint: str) -> AwsContext:
    session = boto3.Session(region_name=REGION)
    return AwsContext(session=session, endpoint_url=endpoint, logs_limiter=RateLimiter(0))


def test_batch_get_traces_asks_five_ids_a_call_and_follows_pages(endpoint: str) -> None:
    ids = [_trace_id(n) for n in range(12)]
    client, stub = _stubbed(endpoint)
    stub.add_response("get_trace_segment_destination", {"Destination": "XRay", "Status": "ACTIVE"})
    for at in range(0, 12, MAX_IDS_PER_CALL):
        chunk = ids[at : at + MAX_IDS_PER_CALL]
        first, rest = chunk[:2], chunk[2:]
        # The first page holds two traces and points to the next; a trace may span pages.
        stub.add_response(
            "batch_get_traces",
            {
                "Traces": [
                    {"Id": t, "Duration": 0.5, "Segments": [{"Id": "a", "Document": _segment(t)}]}
                    for t in first
                ],
                "NextToken": f"page2-{at}",
            },
            {"TraceIds": chunk},
        )
        unprocessed = rest[-1:] if at == 0 else []
        stub.add_response(
            "batch_get_traces",
            {
                "Traces": [
                    {"Id": t, "Segments": [{"Id": "b", "Document": _segment(t, "fn")}]}
                    for t in [*first[:1], *rest]
                    if t not in unprocessed
                ],
                "UnprocessedTraceIds": unprocessed,
            },
            {"TraceIds": chunk, "NextToken": f"page2-{at}"},
        )
    with stub:
        report = fetch_traces(_context(endpoint), ids, client=client)
        stub.assert_no_pending_responses()
    assert set(report.traces) == set(ids) - {ids[4]}
    assert report.unprocessed == (ids[4],)
    # Segments of one trace from two pages make one trace.
    assert [s.name for s in report.traces[ids[0]].spans] == ["erat0s7hen/prod", "fn"]
    assert report.traces[ids[0]].duration_ms == 500
    assert any("X-Ray returned no trace for 1 of 12" in n for n in report.notices)


def test_refusals_are_reported_not_raised(endpoint: str) -> None:
    client, stub = _stubbed(endpoint)
    stub.add_client_error("get_trace_segment_destination", "AccessDeniedException", "no")
    stub.add_client_error("batch_get_traces", "AccessDeniedException", "no", 400)
    with stub:
        report = fetch_traces(_context(endpoint), [_trace_id(1)], client=client)
    assert report.traces == {} and report.destination is None
    assert any("GetTraceSegmentDestination denied" in n for n in report.notices)
    assert any("refused BatchGetTraces (AccessDeniedException)" in n for n in report.notices)
    assert report.error == "X-Ray refused BatchGetTraces (AccessDeniedException): no traces read"


def _span(trace_id: str, span_id: str, parent: str | None, name: str, **attrs: Any) -> str:
    doc: dict[str, Any] = {
        "traceId": w3c_trace_id(trace_id),
        "spanId": span_id,
        "name": name,
        "kind": "SPAN_KIND_CLIENT" if attrs else "SPAN_KIND_SERVER",
        "startTimeUnixNano": 1796127056_000_000_000 + int(span_id, 16),
        "endTimeUnixNano": 1796127056_250_000_000,
        "attributes": attrs,
        "status": {"code": "STATUS_CODE_ERROR" if attrs.get("error") else "STATUS_CODE_UNSET"},
    }
    if parent:
        doc["parentSpanId"] = parent
    return json.dumps(doc)


def test_transaction_search_reads_the_spans_from_cloudwatch_logs(
    endpoint: str, client: Any
) -> None:
    trace_id = "1-6b0eb950-aaaaaaaaaaaaaaaaaaaaaaaa"
    epoch_ms = int(trace_id.split("-")[1], 16) * 1000
    logs = client("logs")
    logs.create_log_group(logGroupName=SPANS_LOG_GROUP)
    logs.create_log_stream(logGroupName=SPANS_LOG_GROUP, logStreamName="s")
    messages = [
        _span(trace_id, "0000000000000001", None, "eratosthenes-orders"),
        _span(
            trace_id,
            "0000000000000002",
            "0000000000000001",
            "DynamoDB.PutItem",
            **{"aws.remote.service": "AWS::DynamoDB", "aws.remote.operation": "PutItem"},
        ),
        _span("1-6b0eb950-bbbbbbbbbbbbbbbbbbbbbbbb", "0000000000000003", None, "another trace"),
    ]
    logs.put_log_events(
        logGroupName=SPANS_LOG_GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": epoch_ms + i, "message": m} for i, m in enumerate(messages)],
    )
    xray, stub = _stubbed(endpoint)
    stub.add_response(
        "get_trace_segment_destination", {"Destination": "CloudWatchLogs", "Status": "ACTIVE"}
    )
    stub.add_response("batch_get_traces", {"Traces": [], "UnprocessedTraceIds": [trace_id]})
    with stub:
        report = fetch_traces(_context(endpoint), [trace_id], client=xray)
    assert report.destination == "CloudWatchLogs"
    assert any("Transaction Search" in n and SPANS_LOG_GROUP in n for n in report.notices)
    trace = report.traces[trace_id]
    assert trace.source == "cloudwatch_logs"
    assert [(s.name, s.depth, s.kind) for s in trace.spans] == [
        ("eratosthenes-orders", 0, SpanKind.SEGMENT),
        ("DynamoDB", 1, SpanKind.AWS_CALL),
    ]
    assert trace.spans[1].operation == "PutItem"


def test_transaction_search_without_the_spans_group_says_what_is_missing(endpoint: str) -> None:
    xray, stub = _stubbed(endpoint)
    stub.add_response(
        "get_trace_segment_destination", {"Destination": "CloudWatchLogs", "Status": "ACTIVE"}
    )
    stub.add_response("batch_get_traces", {"Traces": []})
    with stub:
        report = fetch_traces(_context(endpoint), [_trace_id(7)], client=xray)
    assert any(f"{SPANS_LOG_GROUP} log group does not exist" in n for n in report.notices)
    assert report.missing == (_trace_id(7),)


# --- parsing ------------------------------------------------------------------------------------


def test_segments_whose_parents_loop_or_are_missing_still_make_one_tree() -> None:
    trace_id = _trace_id(3)
    a = {"id": "a", "trace_id": trace_id, "name": "A", "start_time": 1.0, "parent_id": "b"}
    b = {"id": "b", "trace_id": trace_id, "name": "B", "start_time": 2.0, "parent_id": "a"}
    orphan = {"id": "c", "trace_id": trace_id, "name": "C", "start_time": 0.5, "parent_id": "zz"}
    other = {"id": "d", "trace_id": _trace_id(4), "name": "D", "start_time": 0.1}
    docs = [json.dumps(d) for d in (a, b, orphan, other)] + ["not json", "[1]"]
    trace = parse_segments(trace_id, docs)
    assert sorted(s.name for s in trace.spans) == ["A", "B", "C"]
    assert {s.name: s.depth for s in trace.spans}["C"] == 0


def test_the_parsers_live_with_the_parsers_and_apilogs_xray_still_names_them() -> None:
    import apilogs.fetch.xray as reading
    import apilogs.parse.xray as parsing

    for name in ("parse_segments", "parse_spans", "w3c_trace_id"):
        assert getattr(reading, name) is getattr(parsing, name)
    assert parsing.seconds(1.5) == 1.5
    assert [parsing.seconds(v) for v in (True, -1, float("nan"), 10**11, "1")] == [None] * 5


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "id",
        "name",
        "start_time",
        "end_time",
        "parent_id",
        "subsegments",
        "aws",
        "http",
        "cause",
        "fault",
        "namespace",
        "origin",
        "traceId",
        "spanId",
        "parentSpanId",
        "attributes",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(_keys, _json, max_size=8), max_size=6))
def test_no_document_crashes_the_parsers(docs: list[dict[str, Any]]) -> None:
    texts = [json.dumps(d, allow_nan=True) for d in docs]
    trace = parse_segments(_trace_id(1), texts)
    assert all(isinstance(s.name, str) for s in trace.spans)
    parse_spans(_trace_id(1), texts)


@pytest.mark.parametrize("bad", ["x", "1-zz", "", "Root=1-6b0eb93e-abc"])
def test_only_trace_ids_are_asked(endpoint: str, bad: str) -> None:
    client, stub = _stubbed(endpoint)
    with stub:  # no response queued: any call would fail the test
        report = fetch_traces(_context(endpoint), [bad], client=client)
    assert report.traces == {}


def test_show_traces_export_writes_the_trace_into_the_report(
    traffic: Traffic, tmp_path: Path
) -> None:
    expected = traffic.forced["orders_exception"]
    report = tmp_path / "bug.md"
    code, _, err = run(traffic, "show", expected.request_id, "--traces", "--export", str(report))
    assert code == 0, err
    text = report.read_text()
    assert "## Traces" in text and expected.trace_id in text
    [call] = [line for line in text.splitlines() if "DynamoDB" in line and "PutItem" in line]
    assert "throttle" in call and "orders" in call
    as_json = tmp_path / "bug.json"
    code, _, err = run(traffic, "show", expected.request_id, "--traces", "--export", str(as_json))
    assert code == 0, err
    doc = json.loads(as_json.read_text())
    assert doc["trace"]["trace_id"] == expected.trace_id
    assert any(s["operation"] == "PutItem" for s in doc["trace"]["spans"])
    # Without --traces the report has no trace, as before.
    code, _, err = run(traffic, "show", expected.request_id, "--export", str(as_json), "--force")
    assert code == 0, err
    assert "trace" not in json.loads(as_json.read_text())


def test_where_traces_go_is_asked_once_and_never_waited_for(traffic: Traffic) -> None:
    """GetTraceSegmentDestination only shapes a notice: a service failing it (moto 5.2.6 answers
    it with a 500) must not hold `show --traces` for the call policy's minute of retries."""
    expected = traffic.forced["orders_exception"]
    with fault_proxy(traffic.url) as proxy:
        proxy.chaos(
            1,
            throttle=0,
            server_error=1.0,
            drop=0,
            slow=0,
            services={"xray:POST /GetTraceSegmentDestination"},
        )
        started = time.monotonic()
        result = CliRunner().invoke(
            cli,
            [
                *("show", expected.request_id, "--traces", "-o", "json"),
                *("-a", traffic.app.rest_api_id, "-t", traffic.app.rest_stage),
                *("-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 90_000)),
                *("--endpoint-url", proxy.url, "--max-rps", "0"),
            ],
        )
        took = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["trace"]["trace_id"] == expected.trace_id
    assert proxy.ops["xray:POST /GetTraceSegmentDestination"] == 1, proxy.ops
    assert took < 30, f"show --traces took {took:.0f} s"
