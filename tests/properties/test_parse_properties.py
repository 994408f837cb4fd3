"""No input may crash a parser, and an ID a parser reports is always text of the line itself.

Plus the dispatch of `parse_event` by the source's role, and round trips through generated
access log formats."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apilogs.ids import (
    is_api_request_id,
    is_extended_request_id,
    is_lambda_request_id,
    is_trace_id,
)
from apilogs.model import Line, LineKind, LogEvent, RawEvent, Role, Source
from apilogs.parse import (
    compile_access_format,
    parse_event,
    parse_execution,
    parse_lambda,
    parse_line,
)

RID = "286364ab-3a83-11e9-8dc8-db3cf4c83204"
LAMBDA_ID = "71952965-d5cc-4974-ae08-6e2138b2275c"
TRACE = "1-5c7674f4-a3491d0a9c8012c191821b83"

JSON_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol",'
    '"latency":$context.integrationLatency,"lambda":"$context.integration.requestId",'
    '"ua":"$context.identity.userAgent","err":"$context.integrationErrorMessage",'
    '"xray":"$context.xrayTraceId"}'
)
CLF_FORMAT = (
    '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod '
    '$context.routeKey $context.protocol" $context.status $context.responseLength '
    '$context.requestId "$context.identity.userAgent"'
)
CSV_FORMAT = (
    "$context.identity.userAgent,$context.error.message,$context.integrationErrorMessage,"
    "$context.requestId,$context.status"
)
XML_FORMAT = (
    '<request id="$context.requestId"><status>$context.status</status>'
    "<ua>$context.identity.userAgent</ua><t>${context.requestTime}</t></request>"
)
FORMATS: list[str | None] = [None, JSON_FORMAT, CLF_FORMAT, CSV_FORMAT, XML_FORMAT]

# Real lines of every family, the seeds of the near-valid mutations below.
SAMPLES = [
    f"({RID}) Extended Request Id: Vwc2MGFUrPEFV_g=",
    f"({RID}) HTTP Method: GET, Resource Path: /pets/{{petId}}",
    f"({RID}) Endpoint request URI: https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:orders:live/invocations",
    f"({RID}) Received response. Status: 200, Integration latency: 426 ms",
    f"({RID}) Endpoint response headers: {{Date=Wed, 27 Feb 2019 11:31:11 GMT, "
    f"x-amzn-RequestId={LAMBDA_ID}, X-Amz-Function-Error=Unhandled, "
    f"X-Amzn-Trace-Id=root={TRACE};sampled=1}}",
    f"({RID}) Lambda execution failed with status 200 due to customer function error: "
    f"2019-02-27T11:31:11.456Z {LAMBDA_ID} Task timed out after 10.00 seconds. Lambda request "
    f"id: {LAMBDA_ID}",
    f"({RID}) Lambda invocation failed with status: 429. Lambda request id: {LAMBDA_ID}",
    f"({RID}) Execution failed due to configuration error: Malformed Lambda proxy response",
    f"({RID}) Method completed with status: 502",
    f"({RID}) AWS Integration Endpoint RequestId : {LAMBDA_ID}",
    f"({RID}) X-ray Tracing ID : Root={TRACE}",
    f"({RID}) Starting authorizer: 62mgrc for request: {RID}",
    "(Qx1bXHbVoAMFp8Q=) WebSocket Request Route: [$connect]",
    "(Qx1bXHbVoAMFp8Q=) Client [UserAgent: curl/8, SourceIp: 192.0.2.7] is connecting to "
    "WebSocket API [abc].",
    f"START RequestId: {LAMBDA_ID} Version: $LATEST\n",
    f"END RequestId: {LAMBDA_ID}\n",
    f"REPORT RequestId: {LAMBDA_ID}\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: "
    f"128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t\nXRAY TraceId: {TRACE}\t"
    "SegmentId: 6b8a1f0c2d3e4f5a\tSampled: true\t\n",
    f"REPORT RequestId: {LAMBDA_ID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory "
    "Size: 128 MB\tMax Memory Used: 40 MB\tStatus: error\tError Type: Runtime.OutOfMemory\n",
    "INIT_START Runtime Version: python:3.12.v18\tRuntime Version ARN: arn:aws:lambda:::runtime:1\n",
    "INIT_REPORT Init Duration: 0.79 ms\tPhase: init\tStatus: error\tError Type: Runtime.X\n",
    f"[INFO]\t2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\thello\n",
    f"2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\tERROR\tInvoke Error \t"
    '{"errorType":"Error","errorMessage":"boom","stack":["Error: boom"]}\n',
    f"2024-01-01T00:00:03.010Z {LAMBDA_ID} Task timed out after 3.00 seconds\n",
    f"RequestId: {LAMBDA_ID} Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n",
    "[ERROR] KeyError: 'x'\nTraceback (most recent call last):\n  File \"/var/task/a.py\"\n",
    '{"errorType":"TypeError","errorMessage":"x","stackTrace":["a"]}',
    json.dumps(
        {
            "time": "2024-07-01T08:54:54.127Z",
            "type": "platform.report",
            "record": {
                "requestId": LAMBDA_ID,
                "metrics": {"durationMs": 17.4, "billedDurationMs": 18, "memorySizeMB": 128},
                "status": "timeout",
                "tracing": {"value": f"Root={TRACE};Sampled=1"},
            },
        }
    ),
    json.dumps(
        {
            "timestamp": "2024-07-01T08:54:54.110Z",
            "level": "ERROR",
            "message": {"errorType": "KeyError", "errorMessage": "'x'", "requestId": LAMBDA_ID},
            "requestId": LAMBDA_ID,
        }
    ),
    json.dumps(
        {
            "requestId": RID,
            "ip": "192.0.2.1",
            "requestTime": "10/Jan/2024:10:00:00 +0000",
            "httpMethod": "GET",
            "routeKey": "GET /pets",
            "status": "200",
            "protocol": "HTTP/1.1",
            "latency": 12,
            "lambda": LAMBDA_ID,
            "ua": "curl/8",
            "err": "-",
            "xray": f"Root={TRACE};Parent=1;Sampled=1",
        },
        separators=(",", ":"),
    ),
    f'192.0.2.1 - - [10/Jan/2024:10:00:00 +0000] "GET GET /pets HTTP/1.1" 200 42 {RID} "curl/8"',
]

PARSERS: dict[str, Callable[[str], Line]] = {
    "execution": parse_execution,
    "lambda": parse_lambda,
    **{f"access[{i}]": compile_access_format(fmt).parse for i, fmt in enumerate(FORMATS)},
    **{f"line[{role}]": (lambda m, r=role: parse_line(m, r, JSON_FORMAT)) for role in Role},
}

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that includes control characters, surrogate-free unicode, and the characters the parsers
# key on, so that random text often reaches past the first check.
SPECIAL = "()[]{}\"':,;=\t\n\r\x00\x1b\\-$/. RequestIdSTARTENDREPORT[INFO]1-abcdef0123456789"
texts = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.sampled_from(SPECIAL), max_size=400),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
)


def check(line: object, message: str) -> None:
    assert isinstance(line, Line)
    assert isinstance(line.kind, LineKind)
    for value in (line.request_id, line.lambda_request_id, line.trace_id, line.extended_request_id):
        assert value is None or (isinstance(value, str) and value and value in message)
    # An ID is only ever trusted with its shape (apilogs.ids).
    assert line.request_id is None or is_api_request_id(line.request_id)
    assert line.lambda_request_id is None or is_lambda_request_id(line.lambda_request_id)
    assert line.trace_id is None or is_trace_id(line.trace_id)
    assert line.extended_request_id is None or is_extended_request_id(line.extended_request_id)
    authorizer = line.fields.get("authorizer_request_id")
    assert authorizer is None or is_lambda_request_id(authorizer)
    assert all(isinstance(key, str) for key in line.fields)
    for key in ("status", "integration_status", "integration_latency_ms", "billed_ms"):
        if key in line.fields:
            assert type(line.fields[key]) is int


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real line, damaged the way logs get damaged: truncated, spliced, sprinkled."""
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        size = len(text)
        at = draw(st.integers(0, size))
        op = draw(st.sampled_from(["truncate", "delete", "insert", "duplicate", "replace"]))
        if op == "truncate":
            text = text[:at]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif op == "insert":
            text = (
                text[:at] + draw(st.text(alphabet=st.sampled_from(SPECIAL), max_size=8)) + text[at:]
            )
        elif op == "duplicate":
            text = text[:at] + text[at : at + 30] + text[at:]
        else:
            text = text[:at] + draw(st.characters(codec="utf-8")) + text[at + 1 :]
    return text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.sampled_from(["platform.report", "platform.start", "platform.initReport", "INFO", "-",
                       f"Root={TRACE}", LAMBDA_ID, RID])
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["requestId", "type", "record", "status", "metrics", "level", "message", "errorType",
             "errorMessage", "durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
             "initDurationMs", "tracing", "value", "time", "version", "runtimeVersion",
             "xray_trace_id", "function_request_id", "x"]
        )
        | st.text(max_size=10),
        children,
        max_size=6,
    ),
    max_leaves=20,
)  # fmt: skip


@pytest.mark.parametrize("name", list(PARSERS))
@PROPERTY
@given(message=texts)
def test_arbitrary_text(name: str, message: str) -> None:
    check(PARSERS[name](message), message)


@pytest.mark.parametrize("name", list(PARSERS))
@PROPERTY
@given(message=mutated())
def test_near_valid_lines(name: str, message: str) -> None:
    check(PARSERS[name](message), message)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.text(max_size=20)
)
platform_records = st.fixed_dictionaries(
    {
        "time": st.text(max_size=30),
        "type": st.sampled_from(
            ["platform.start", "platform.report", "platform.runtimeDone", "platform.initStart",
             "platform.initReport", "platform.restoreReport", "platform.fault", "platform.x"]
        ),
        "record": st.one_of(
            scalars,
            st.fixed_dictionaries(
                {},
                optional={
                    "requestId": st.just(LAMBDA_ID) | scalars,
                    "status": scalars,
                    "errorType": scalars,
                    "version": scalars,
                    "phase": scalars,
                    "metrics": st.dictionaries(
                        st.sampled_from(["durationMs", "billedDurationMs", "memorySizeMB",
                                         "maxMemoryUsedMB", "initDurationMs"]),
                        scalars,
                    ) | scalars,
                    "tracing": st.fixed_dictionaries({"value": st.just(f"Root={TRACE}") | scalars})
                    | scalars,
                },
            ),
        ),
    }
)  # fmt: skip


@PROPERTY
@given(record=platform_records)
def test_arbitrary_platform_records(record: dict[str, Any]) -> None:
    message = json.dumps(record)
    check(parse_lambda(message), message)


@pytest.mark.parametrize("name", ["lambda", "access[0]", "access[1]", "line[other]"])
@PROPERTY
@given(
    value=json_values,
    prefix=st.sampled_from(["", f"2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\tERROR\tInvoke Error \t"]),
)
def test_arbitrary_json(name: str, value: Any, prefix: str) -> None:
    message = prefix + json.dumps(value)
    check(PARSERS[name](message), message)


@pytest.mark.parametrize("name", list(PARSERS))
def test_huge_and_deep_lines(name: str) -> None:
    parser = PARSERS[name]
    for message in [
        "x" * 1_000_000,
        f"({RID}) " + "Endpoint response headers: {" + "A=b, " * 50_000,
        "[" * 100_000,
        '{"a":' * 50_000,
        "{" + '"requestId":"x",' * 20_000,
        f"REPORT RequestId: {LAMBDA_ID}" + "\tDuration: 1 ms" * 20_000,
        "9" * 100_000,
        '{"status": ' + "9" * 5000 + "}",
        '{"type":"platform.report","record":{"metrics":{"billedDurationMs":Infinity,'
        '"durationMs":NaN,"memorySizeMB":1e999,"maxMemoryUsedMB":' + "9" * 400 + "}}}",
        f"({RID}) Received response. Status: 200, Integration latency: {'9' * 5000} ms",
        f"({RID}) Method completed with status: {'9' * 5000}",
        f"{LAMBDA_ID} Task timed out after {'9' * 5000}.{'9' * 5000} seconds",
    ]:
        started = time.perf_counter()
        check(parser(message), message)
        assert time.perf_counter() - started < 2.0


ADVERSARIAL = ["a,", '", "', "G ", " ", '"', ",]", "\t", "a-", "<a>", "[", "}"]


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f])
@pytest.mark.parametrize("unit", ADVERSARIAL)
def test_access_regex_never_backtracks_badly(fmt: str, unit: str) -> None:
    parser = compile_access_format(fmt)
    message = unit * 20_000 + "x"
    started = time.perf_counter()
    check(parser.parse(message), message)
    assert time.perf_counter() - started < 1.0


# --- generated formats: compile never fails, and what API Gateway writes is read back ----------

TOKEN_VARS = ["extendedRequestId", "httpMethod", "identity.sourceIp", "protocol", "domainName"]
TEXT_VARS = ["requestTime", "identity.userAgent", "error.message", "routeKey"]
SEPARATORS = [" ", ",", " | ", '" "', "\t", "><", ";", " - "]


# What API Gateway writes as a request ID: a UUID (REST) or the short base64 form (HTTP API).
request_ids = st.uuids().map(str) | st.from_regex(r"[A-Za-z0-9+/_-]{10,24}={0,2}", fullmatch=True)


@st.composite
def format_and_line(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    sep = draw(st.sampled_from(SEPARATORS))
    others = draw(st.lists(st.sampled_from(TOKEN_VARS + TEXT_VARS), max_size=5, unique=True))
    names = draw(st.permutations(["requestId", "status", *others]))
    # Values never hold the separator (any whitespace, if it has some): a format whose values may
    # contain its separator is ambiguous for any reader.
    banned = set(sep) | ({" ", "\t"} if any(c.isspace() for c in sep) else set())
    token_chars = st.sampled_from("abcdefABCDEF0123456789=+/._:")
    text_chars = st.characters(codec="ascii", exclude_characters="".join(banned), min_codepoint=32)
    values = {"requestId": draw(request_ids), "status": str(draw(st.integers(100, 599)))}
    for name in others:
        chars = token_chars if name in TOKEN_VARS else text_chars
        values[name] = draw(st.text(chars, min_size=1, max_size=30).map(str.strip).filter(bool))
    use_braces = draw(st.booleans())
    fmt = sep.join(f"${{context.{n}}}" if use_braces else f"$context.{n}" for n in names)
    line = sep.join(values[n] for n in names)
    return fmt, line, values


@PROPERTY
@given(case=format_and_line())
def test_generated_formats_round_trip(case: tuple[str, str, dict[str, str]]) -> None:
    fmt, line, values = case
    got = compile_access_format(fmt).parse(line)
    check(got, line)
    # Only one text value may run free: with no delimiter in the format to bound the others,
    # they cannot hold spaces (a documented limit of the format regex).
    literals = re.sub(r"\$\{?context\.[A-Za-z.]+\}?", "", fmt)
    no_delimiter = not any(c in "\"'<>,|]})\t" for c in literals)
    if no_delimiter and sum(n in TEXT_VARS for n in values) > 1:
        return
    assert got.request_id == values["requestId"]
    assert got.fields["status"] == int(values["status"])


@PROPERTY
@given(fmt=st.text(alphabet=st.sampled_from(SPECIAL + "$context.requestIdstatus{}"), max_size=200))
def test_arbitrary_formats_compile(fmt: str) -> None:
    parser = compile_access_format(fmt)
    for message in ["", fmt, fmt.replace("$context.", ""), f"{RID} 200"]:
        check(parser.parse(message), message)


# --- dispatch by role ------------------------------------------------------------------------


def raw(message: str, role: Role, log_format: str | None = None) -> RawEvent:
    source = Source(role=role, log_group="g", region="us-east-1", log_format=log_format)
    return RawEvent(
        timestamp=1, ingestion_time=2, group="g", stream="s", event_id="e", message=message,
        source=source,
    )  # fmt: skip


def test_parse_event_dispatches_by_role() -> None:
    execution = parse_event(raw(f"({RID}) Method completed with status: 502", Role.EXECUTION))
    assert isinstance(execution, LogEvent)
    assert execution.kind is LineKind.APIGW_COMPLETED
    assert execution.line.request_id == RID

    lambda_event = parse_event(raw(f"START RequestId: {LAMBDA_ID} Version: $LATEST", Role.LAMBDA))
    assert lambda_event.kind is LineKind.LAMBDA_START

    authorizer = parse_event(raw(f"END RequestId: {LAMBDA_ID}", Role.AUTHORIZER))
    assert authorizer.kind is LineKind.LAMBDA_END
    assert authorizer.line.lambda_request_id == LAMBDA_ID

    access = parse_event(raw(f'{{"id":"{RID}","code":"404"}}', Role.ACCESS,
                             '{"id":"$context.requestId","code":"$context.status"}'))  # fmt: skip
    assert access.kind is LineKind.ACCESS
    assert access.line.request_id == RID
    assert access.line.fields["status"] == 404


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (f"({RID}) Method completed with status: 200", LineKind.APIGW_COMPLETED),
        (f"REPORT RequestId: {LAMBDA_ID}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: "
         "128 MB\tMax Memory Used: 9 MB\t", LineKind.LAMBDA_REPORT),
        (f"[INFO]\t2024-01-01T00:00:00.000Z\t{LAMBDA_ID}\thello", LineKind.LAMBDA_LOG),
        (f'{{"requestId":"{RID}","status":"200","httpMethod":"GET"}}', LineKind.ACCESS),
        (f"something about {RID}", LineKind.UNKNOWN),
        ("hello", LineKind.UNKNOWN),
    ],
)  # fmt: skip
def test_sniffing_a_group_of_unknown_role(message: str, kind: LineKind) -> None:
    got = parse_line(message, Role.OTHER)
    assert got.kind is kind
    check(got, message)


def test_sniffing_keeps_a_stray_uuid_as_a_request_id() -> None:
    got = parse_line(f"order failed for request {RID}", Role.OTHER)
    assert got.kind is LineKind.UNKNOWN
    assert got.request_id == RID
