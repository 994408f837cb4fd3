"""Issue 27's ground truth: real CloudWatch lines (tests/corpus, each case citing its source)
written into the groups of a REST API on the moto server, read back with `apilogs get -o json`,
each line checked for the request it is labelled with and what the parser found in it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.server import EmbeddedServer
from tests.corpus import (
    ACCESS,
    ACCESS_FORMAT,
    API_ID,
    AUTHORIZER,
    EXECUTION,
    FUNCTIONS,
    REGION,
    STAGE,
    Case,
    apigateway,
    function_arn,
    function_name,
    lambda_json,
    lambda_text,
    lifecycle,
    log_group,
)
from tests.support.builders import lambda_uri, make_rest_api

CASES: tuple[Case, ...] = (
    *lambda_text.CASES,
    *lambda_json.CASES,
    *lifecycle.CASES,
    *apigateway.CASES,
)
EXECUTION_GROUP = f"API-Gateway-Execution-Logs_{API_ID}/{STAGE}"
ACCESS_GROUP = "/aws/apigateway/corpus-access"
_MARKER = "/apilogs-tests/corpus-api-is-deployed"
# Each case gets its own minute, two hours back: windows never overlap.
_BASE_MS = (int(time.time()) - 2 * 3600) * 1000 // 60_000 * 60_000
_SPACING_MS = 7  # between consecutive lines of a case


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


_ZIP = _zip_bytes()


def _deploy(url: str) -> None:
    def client(service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=url)

    role = client("iam").create_role(RoleName="corpus-role", AssumeRolePolicyDocument="{}")
    for key, (runtime, log_format, group) in FUNCTIONS.items():
        config = {"LogFormat": log_format, **({"LogGroup": group} if group else {})}
        client("lambda").create_function(
            FunctionName=function_name(key),
            Runtime=runtime,
            Role=role["Role"]["Arn"],
            Handler="app.handler",
            Code={"ZipFile": _ZIP},
            LoggingConfig=config,
        )
    routes = {
        f"GET /{key}": lambda_uri(function_arn(key)) for key in FUNCTIONS if key != AUTHORIZER
    }
    make_rest_api(
        client,
        name="corpus",
        api_id=API_ID,
        routes=routes,
        access_group=ACCESS_GROUP,
        access_format=ACCESS_FORMAT,
        authorizer_uri=lambda_uri(function_arn(AUTHORIZER)),
        authorized_routes=("GET /python",),
    )
    logs = client("logs")
    groups = {EXECUTION_GROUP, ACCESS_GROUP, *(log_group(k) for k in FUNCTIONS), _MARKER}
    for group in groups:
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)


@pytest.fixture
def corpus_api(moto_server: EmbeddedServer) -> str:
    """The corpus' API, deployed once per worker (again if another test reset the server)."""
    logs = boto3.client("logs", region_name=REGION, endpoint_url=moto_server.url)
    if not logs.describe_log_groups(logGroupNamePrefix=_MARKER)["logGroups"]:
        moto_server.reset()
        _deploy(moto_server.url)
    return moto_server.url


def _group(where: str) -> str:
    if where == EXECUTION:
        return EXECUTION_GROUP
    if where == ACCESS:
        return ACCESS_GROUP
    return log_group(where)


def _write(url: str, case: Case, start_ms: int) -> list[tuple[int, str, str, str]]:
    """The case's lines into their groups and streams; (timestamp, group, stream, message)."""
    logs = boto3.client("logs", region_name=REGION, endpoint_url=url)
    tag = hashlib.md5(case.name.encode()).hexdigest()  # a stable 32-hex environment ID
    written: list[tuple[int, str, str, str]] = []
    for index, line in enumerate(case.lines):
        group = _group(line.where)
        if line.stream:
            stream = line.stream
        elif line.where in (EXECUTION, ACCESS):
            stream = tag
        else:
            stream = f"2024/03/05/[$LATEST]{tag}"
        written.append((start_ms + index * _SPACING_MS, group, stream, line.message))
    by_stream: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ts, group, stream, message in written:
        by_stream.setdefault((group, stream), []).append({"timestamp": ts, "message": message})
    for (group, stream), events in by_stream.items():
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    return written


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.missing)] if case.missing else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def _get(url: str, start_ms: int, *extra: str) -> list[dict[str, Any]]:
    """`apilogs get -o json` over the case's minute, as a user runs it."""
    result = CliRunner().invoke(
        cli,
        [
            "get",
            "-a",
            API_ID,
            "-t",
            STAGE,
            "--region",
            REGION,
            "--endpoint-url",
            url,
            "--max-rps",
            "0",
            "--engine",
            "filter",
            "-s",
            str(start_ms - 1),
            "-e",
            str(start_ms + 50_000),
            "-o",
            "json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.stderr
    return [json.loads(row) for row in result.stdout.splitlines()]


@pytest.mark.parametrize("case", _params())
def test_each_real_line_is_labelled_with_its_request(corpus_api: str, case: Case) -> None:
    start_ms = _BASE_MS + CASES.index(case) * 60_000
    written = _write(corpus_api, case, start_ms)
    rows = _get(corpus_api, start_ms)
    # Every line once, in time order.
    assert [(r["timestamp"], r["message"]) for r in rows] == [(t, m) for t, _, _, m in written]
    got = [
        (
            r["message"][:60],
            r["request_id"],
            r["lambda_request_id"],
            r["kind"],
            r.get("probable", False),
            r["trace_id"],
        )
        for r in rows
    ]
    expected = [
        (
            line.message[:60],
            line.request,
            line.lambda_id if line.where not in (EXECUTION, ACCESS) else got[i][2],
            line.kind or got[i][3],
            line.probable,
            line.trace or got[i][5],
        )
        for i, line in enumerate(case.lines)
    ]
    assert got == expected


def _lookups() -> list[Any]:
    """Every ID a case's lines carry (API Gateway's, each Lambda's, X-Ray's), with the request
    it names."""
    params = []
    for case in CASES:
        owner: dict[str, str] = {}
        for line in case.lines:
            if line.request is None:
                continue
            owner.setdefault(line.request, line.request)
            if line.lambda_id:
                owner.setdefault(line.lambda_id, line.request)
            if line.trace:
                owner.setdefault(line.trace, line.request)
        for identifier, request in owner.items():
            reason = case.missing
            if case.lookups_missing and identifier not in case.lookups_missing:
                reason = None
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(
                pytest.param(case, identifier, request, id=f"{case.name}-{identifier}", marks=marks)
            )
    return params


LOOKUPS = _lookups()


@pytest.mark.parametrize(("case", "identifier", "owner"), LOOKUPS)
def test_any_id_of_a_request_finds_every_line_of_it(
    corpus_api: str, case: Case, identifier: str, owner: str
) -> None:
    # Each lookup writes its case again, in a minute of its own (an hour before the others').
    index = next(i for i, p in enumerate(LOOKUPS) if p.values == (case, identifier, owner))
    start_ms = _BASE_MS - 3600_000 + index * 60_000
    _write(corpus_api, case, start_ms)
    rows = _get(corpus_api, start_ms, "-r", identifier)
    assert [r["message"] for r in rows] == [
        line.message for line in case.lines if line.request == owner
    ]
