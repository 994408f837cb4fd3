"""An ID that does not look like an ID is never trusted as one, and a caller's duplicated JSON key
never overrides what API Gateway wrote."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apilogs.demo.formats import Ids
from apilogs.ids import (
    is_api_request_id,
    is_extended_request_id,
    is_lambda_request_id,
    is_short_id,
    is_trace_id,
    is_uuid,
)
from apilogs.model import Line, LineKind, Role
from apilogs.parse import compile_access_format, parse_execution, parse_lambda, parse_line
from apilogs.parse.vet import vet

RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
LAMBDA_ID = "71952965-d5cc-4974-ae08-6e2138b2275c"
TRACE = "1-5c7674f4-a3491d0a9c8012c191821b83"
FORGED = "\u202e\u2066\x9b2J\x1b]8;;https://evil\x07"

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the shapes ------------------------------------------------------------------------------


def test_the_ids_the_demo_writes_have_their_shapes() -> None:
    for seed in range(200):
        ids = Ids(random.Random(seed))
        assert is_api_request_id(ids.uuid()) and is_lambda_request_id(ids.uuid())
        short = ids.short()
        assert is_api_request_id(short) and is_extended_request_id(short), short
        assert is_trace_id(ids.trace(1_700_000_000_000 + seed * 1000))


@pytest.mark.parametrize(
    "value",
    ["JjGvEiWsoAMEPaA=", "Vwc2MGFUrPEFV_g=", "GqT38H-FFiAFhLQ=", "Qx1bXHbVoAMFp8Q=",
     "6605b081EfGhIjKlM=", "a+b/c+d/e+f/g==", "test-invoke-request"],
)  # fmt: skip
def test_short_ids(value: str) -> None:
    assert is_short_id(value) and is_api_request_id(value) and is_extended_request_id(value)
    assert not is_lambda_request_id(value)


@pytest.mark.parametrize(
    "value",
    ["", "abc", "x" * 33, "JjGvEiWsoAMEPaA===", "JjGv EiWsoAMEPaA=", "JjGvEiWsoAMEPaA=\n",
     "JjGvEiWsoAMEPaA\u202e", "[bold]JjGvEiWsoA", "JjGvEiWs\x9boAMEPaA=", "JjGvEiWsoAMEPaA=\x00",
     "ＪjGvEiWsoAMEPaA=", "JjGvEiWsoAMEPa\u200bA=", RID + "x", FORGED],
)  # fmt: skip
def test_not_short_ids(value: str) -> None:
    assert not is_short_id(value)


def test_uuids_and_traces() -> None:
    assert is_uuid(RID) and is_uuid(str(uuid.uuid4())) and not is_uuid(RID.upper())
    for bad in (RID[:-1], RID + "0", RID.replace("-", ""), RID.replace("6", "g"), " " + RID[1:],
                RID[:-1] + "\u0660", RID.replace("-", "\u2010")):  # fmt: skip
        assert not is_uuid(bad), bad
    assert is_trace_id(TRACE) and not is_trace_id(TRACE + "0") and not is_trace_id("1-abc-def")
    assert not is_trace_id("2" + TRACE[1:]) and not is_trace_id(TRACE.replace("a", "\u0430"))


@PROPERTY
@given(st.text(max_size=40))
def test_every_accepted_id_is_plain_printable_ascii(text: str) -> None:
    for fits in (is_uuid, is_short_id, is_trace_id):
        if fits(text):
            assert text.isascii() and text.isprintable() and " " not in text
            assert not any(c in text for c in "[]<>\"'\\;{}")


# --- the parsers: an ID slot filled with anything --------------------------------------------

# Real IDs, IDs a character off, and hostile text.
candidates = st.one_of(
    st.sampled_from([RID, LAMBDA_ID, TRACE, "JjGvEiWsoAMEPaA=", FORGED, "[bold red]x[/]"]),
    st.uuids().map(str),
    st.builds(lambda u, c, i: u[:i] + c + u[i + 1 :], st.uuids().map(str),
              st.characters(), st.integers(0, 35)),
    st.text(alphabet=st.sampled_from("0123456789abcdefABC-=_+/\x1b\x9b\u202e\u2066\u200b"),
            min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
)  # fmt: skip


def _slot(line: Line, attr: str, value: str, fits: Callable[[str], bool]) -> None:
    """The value is the line's ID when it fits, else kept under fields['untrusted_' + attr]."""
    if fits(value):
        assert getattr(line, attr) == value
    else:
        assert getattr(line, attr) is None
        assert line.fields.get(f"untrusted_{attr}") == value


@PROPERTY
@given(value=candidates)
def test_execution_request_id(value: str) -> None:
    message = f"({value}) Method completed with status: 502"
    line = parse_execution(message)
    if line.kind is LineKind.UNKNOWN:  # the prefix itself refuses spaces, parentheses, controls
        assert line.request_id is None
        return
    assert line.fields["status"] == 502
    _slot(line, "request_id", value, is_api_request_id)


@PROPERTY
@given(value=candidates)
def test_execution_extended_and_trace(value: str) -> None:
    if value.strip() != value or not value.strip():
        return  # the parser strips the value: covered by exact values only
    extended = parse_execution(f"({RID}) Extended Request Id: {value}")
    assert extended.request_id == RID
    _slot(extended, "extended_request_id", value, is_extended_request_id)


@PROPERTY
@given(value=candidates)
def test_lambda_request_ids(value: str) -> None:
    if any(c.isspace() for c in value):
        return  # the ID is one word of the line
    for message in (
        f"START RequestId: {value} Version: $LATEST\n",
        f"END RequestId: {value}\n",
        f"REPORT RequestId: {value}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 "
        "MB\tMax Memory Used: 9 MB\t\n",
    ):
        line = parse_lambda(message)
        assert line.kind in (LineKind.LAMBDA_START, LineKind.LAMBDA_END, LineKind.LAMBDA_REPORT)
        _slot(line, "lambda_request_id", value, is_lambda_request_id)


@PROPERTY
@given(value=candidates)
def test_lambda_json_request_id(value: str) -> None:
    message = json.dumps({"type": "platform.start", "record": {"requestId": value}})
    line = parse_lambda(message)
    assert line.kind is LineKind.LAMBDA_START
    if value in message and len(value) <= 128:  # what json.dumps kept as written
        _slot(line, "lambda_request_id", value, is_lambda_request_id)
    else:
        assert line.lambda_request_id is None


JSON_FORMAT = (
    '{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
    '"xrayTraceId":"$context.xrayTraceId","integrationRequestId":"$context.integration.requestId",'
    '"authorizerRequestId":"$context.authorizer.requestId","status":"$context.status"}'
)


@PROPERTY
@given(value=candidates, which=st.sampled_from(["requestId", "extendedRequestId",
                                               "integrationRequestId", "authorizerRequestId"]))  # fmt: skip
def test_access_json_ids(value: str, which: str) -> None:
    doc = {"requestId": RID, "extendedRequestId": "JjGvEiWsoAMEPaA=", "xrayTraceId": TRACE,
           "integrationRequestId": LAMBDA_ID, "authorizerRequestId": LAMBDA_ID, "status": "200"}  # fmt: skip
    doc[which] = value
    # API Gateway writes values unescaped; ensure_ascii=False keeps the value literally in the line.
    message = json.dumps(doc, ensure_ascii=False)
    if value not in message or value == "-":
        return
    line = compile_access_format(JSON_FORMAT).parse(message)
    assert line.fields["status"] == 200
    if which == "requestId":
        _slot(line, "request_id", value, is_api_request_id)
    elif which == "extendedRequestId":
        _slot(line, "extended_request_id", value, is_extended_request_id)
    elif which == "authorizerRequestId":
        if is_lambda_request_id(value):
            assert line.fields["authorizer_request_id"] == value
        else:
            assert "authorizer_request_id" not in line.fields
            assert line.fields["untrusted_authorizer_request_id"] == value
    elif is_lambda_request_id(value):
        assert line.lambda_request_id == value
    else:  # a non-UUID integration ID is an AWS service's, kept as such
        assert line.lambda_request_id is None
        assert value in (line.fields.get("integration_request_id"),
                         line.fields.get("untrusted_lambda_request_id"))  # fmt: skip


CLF = (
    '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod '
    '$context.routeKey $context.protocol" $context.status $context.responseLength '
    '$context.requestId "$context.identity.userAgent"'
)


@PROPERTY
@given(value=candidates, agent=st.text(max_size=60))
def test_access_clf_request_id(value: str, agent: str) -> None:
    message = (
        f'192.0.2.1 - - [10/Jan/2024:10:00:00 +0000] "GET GET /pets HTTP/1.1" 200 42 {value} '
        f'"{agent}"'
    )
    line = compile_access_format(CLF).parse(message)
    # Whatever the caller's user agent holds, and however the line then reads, what is trusted as
    # the request ID has its shape.
    assert line.request_id is None or is_api_request_id(line.request_id)
    if is_api_request_id(value) and line.fields.get("status") == 200:
        assert line.request_id == value


def test_sniffed_lines_are_vetted_too() -> None:
    line = parse_line(json.dumps({"requestId": FORGED, "status": 200}, ensure_ascii=False),
                      Role.OTHER)  # fmt: skip
    assert line.request_id is None and line.lambda_request_id is None
    assert line.fields["untrusted_request_id"] == FORGED


def test_vet_keeps_a_clean_line_as_is() -> None:
    line = Line(LineKind.ACCESS, request_id=RID, trace_id=TRACE, fields={"status": 200})
    assert vet(line) is line
    bad = vet(Line(LineKind.ACCESS, request_id=FORGED, trace_id="1-x-y", fields={"status": 200}))
    assert (bad.request_id, bad.trace_id) == (None, None)
    assert dict(bad.fields) == {"status": 200, "untrusted_request_id": FORGED,
                                "untrusted_trace_id": "1-x-y"}  # fmt: skip


# --- duplicate keys ----------------------------------------------------------------------------

SMUGGLED = f'x","requestId":"{FORGED}'
HOSTILE_LINE = (
    f'{{"requestId":"{RID}","status":"502","userAgent":"{SMUGGLED}"}}'  # what API Gateway wrote
)
FIRST = '{"requestId":"$context.requestId","status":"$context.status","userAgent":"$context.identity.userAgent"}'
AGENT_FIRST = '{"userAgent":"$context.identity.userAgent","requestId":"$context.requestId","status":"$context.status"}'


@pytest.mark.parametrize("fmt", [FIRST, None])
def test_a_later_duplicate_never_overrides_api_gateway(fmt: str | None) -> None:
    line = compile_access_format(fmt).parse(HOSTILE_LINE)
    assert line.request_id == RID
    assert line.fields["status"] == 502
    assert line.fields["duplicate_keys"] == ("requestId",)
    assert line.fields["user_agent"] == "x"  # cut where the caller closed the string


def test_when_the_caller_wrote_before_the_id_neither_copy_is_trusted() -> None:
    forged = str(uuid.UUID(int=1))
    message = f'{{"userAgent":"x","requestId":"{forged}","status":"200","requestId":"{RID}","status":"502"}}'
    line = compile_access_format(AGENT_FIRST).parse(message)
    assert line.request_id is None
    assert line.fields["untrusted_request_id"] == forged
    assert "status" not in line.fields and line.fields["untrusted_status"] == "200"
    assert line.fields["duplicate_keys"] == ("requestId", "status")


def test_duplicates_in_a_nested_object_are_not_trusted() -> None:
    fmt = '{"integration":{"requestId":"$context.integration.requestId","error":"$context.integration.error"}}'
    message = f'{{"integration":{{"requestId":"{LAMBDA_ID}","error":"x","requestId":"{RID}"}}}}'
    line = compile_access_format(fmt).parse(message)
    assert line.lambda_request_id is None
    assert line.fields["untrusted_lambda_request_id"] == LAMBDA_ID


# Pieces a caller puts in a value that API Gateway writes unescaped.
injections = st.lists(
    st.one_of(
        st.sampled_from([f'","requestId":"{FORGED}', f'","requestId":"{uuid.UUID(int=7)!s}',
                         '","status":"200', '","userAgent":"y', '"', '\\"', "}", ',"a":{"b":1}']),
        st.text(max_size=10),
    ),
    max_size=6,
).map("".join)  # fmt: skip


@PROPERTY
@given(agent=injections, agent_first=st.booleans(), fallback=st.booleans())
def test_a_forged_request_id_is_never_trusted(
    agent: str, agent_first: bool, fallback: bool
) -> None:
    parts = [f'"requestId":"{RID}"', '"status":"502"', f'"userAgent":"{agent}"']
    if agent_first:
        parts.insert(0, parts.pop())
    message = "{" + ",".join(parts) + "}"
    fmt = None if fallback else (AGENT_FIRST if agent_first else FIRST)
    line = compile_access_format(fmt).parse(message)
    try:
        json.loads(message)
    except ValueError:
        if fallback:
            return  # no format, no JSON: the line's first UUID is a guess, and says so (doc)
        # The format's regex is anchored at both ends and API Gateway wrote the end.
        assert line.request_id in (RID, None)
        return
    assert line.request_id in (RID, None)
    if not agent_first:
        # API Gateway's requestId precedes anything the caller wrote: it is always the one read.
        assert line.request_id == RID
