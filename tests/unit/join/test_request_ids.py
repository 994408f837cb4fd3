"""Every line of a request, from any of its IDs, in both Lambda log formats, checked against the
traffic generator's ground truth: `get --request-id ID` prints exactly the request's lines for
each of its IDs, and `get | grep <API Gateway request ID>` finds the same lines — for every
outcome people chase, API Gateway integration timeouts with and without X-Ray included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.traffic import SimulatedRequest
from tests.support.demo_data import FORCED, Traffic

Line = tuple[str, str, int, str]
FORMATS = ["text", "json"]


def run(traffic: Traffic, *args: str) -> tuple[int, str, str]:
    app = traffic.app
    window = ["-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 90_000)]
    result = CliRunner().invoke(
        cli,
        [
            *args,
            *("-a", app.rest_api_id, "-t", app.rest_stage),
            *window,
            *("--endpoint-url", traffic.url, "--region", traffic.region, "--max-rps", "0"),
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def lines_of(traffic: Traffic, request: SimulatedRequest) -> set[Line]:
    """What the request wrote into the API's log groups (the HTTP API's access log is not)."""
    groups = {traffic.app.execution_log_group, traffic.app.access_log_group}
    groups |= {f.log_group for f in traffic.app.rest_functions}
    return {
        (r.group, r.stream, r.timestamp, r.message) for r in request.records if r.group in groups
    }


def key(doc: dict[str, Any]) -> Line:
    return (doc["group"], doc["stream"], doc["timestamp"], doc["message"])


def ids_of(request: SimulatedRequest) -> dict[str, str]:
    found = {
        "request_id": request.request_id,
        "extended_request_id": request.extended_request_id,
        "trace_id": request.trace_id,
        "lambda_request_id": request.lambda_request_id,
        "authorizer_request_id": request.authorizer_request_id,
    }
    return {k: v for k, v in found.items() if v}


@pytest.fixture(params=FORMATS)
def either(request: pytest.FixtureRequest) -> Traffic:
    """The traffic in the Text log format (one function in JSON), then all in JSON."""
    name = "traffic" if request.param == "text" else "traffic_json"
    found: Traffic = request.getfixturevalue(name)
    return found


@pytest.mark.parametrize("case", list(FORCED))
def test_every_id_gives_exactly_the_request_s_lines(either: Traffic, case: str) -> None:
    expected = either.forced[case]
    want = lines_of(either, expected)
    assert any("/lambda" in line[0] for line in want), "every case runs a Lambda"
    for which, asked in ids_of(expected).items():
        code, out, err = run(either, "get", "-o", "json", "--request-id", asked)
        assert code == 0, (which, err)
        docs = [json.loads(line) for line in out.splitlines()]
        got = {key(d) for d in docs}
        assert got == want, (case, which, sorted(want - got)[:3], sorted(got - want)[:3])
        # Every line names its request, Lambda lines included.
        assert {d["request_id"] for d in docs} == {expected.request_id}, (case, which)
        probable = {d.get("probable", False) for d in docs if "/lambda" in d["group"]}
        assert probable == {case == "apigw_timeout_no_xray"}, (case, which)


_window_reads: dict[tuple[str, str], list[str]] = {}


def window_read(traffic: Traffic, output: str) -> list[str]:
    """`get` over the whole window, once per traffic and output."""
    cache_key = (traffic.url + traffic.region + str(traffic.start_ms), output)
    if cache_key not in _window_reads:
        code, out, err = run(traffic, "get", "-o", output)
        assert code == 0, err
        _window_reads[cache_key] = out.splitlines()
    return _window_reads[cache_key]


@pytest.mark.parametrize("case", list(FORCED))
def test_grep_for_the_api_gateway_id_finds_the_same_lines(either: Traffic, case: str) -> None:
    expected = either.forced[case]
    want = lines_of(either, expected)
    grepped = [line for line in window_read(either, "json") if expected.request_id in line]
    assert {key(json.loads(line)) for line in grepped} == want
    # Plain lines: one per event (continuation lines of a traceback do not repeat the ID), each
    # with the full ID in its request column, right after the source.
    plain = [line for line in window_read(either, "plain") if expected.request_id in line]
    assert len(plain) == len(want)
    rid = expected.request_id
    for line in plain:
        # The label may be two words ("eratosthenes-authorizer (auth)"): the ID follows it.
        column = line.split()[1:3]
        is_lambda = line.startswith("eratosthenes-")  # the label: a function name
        if case == "apigw_timeout_no_xray" and is_lambda:
            assert "~" + rid in column, line  # joined by timing: probable
        elif case == "apigw_timeout_xray" and is_lambda:
            # Joined by timing when API Gateway gave up; the REPORT's trace ID confirms it, but
            # lines held longer than --hold-back (30 s) go out before the REPORT comes.
            assert rid in column or "~" + rid in column, line
        else:
            assert rid in column, line


def test_an_integration_timeout_joins_its_lambda_both_ways_and_shows_it_ran_on(
    traffic: Traffic,
) -> None:
    for case, probable in (("apigw_timeout_xray", False), ("apigw_timeout_no_xray", True)):
        expected = traffic.forced[case]
        for asked in (expected.request_id, expected.lambda_request_id or ""):
            code, out, err = run(traffic, "show", asked)
            assert code == 0, err
            lines = out.splitlines()
            assert lines[0].startswith("GET /reports") and "504" in lines[0]
            assert "API Gateway integration timeout; the Lambda ran on" in lines[0]
            at = lines.index("Timeline") + 1
            timeline = lines[at : lines.index("", at)]
            phases = [line.split()[2] for line in timeline]  # "+10004 ms  gave up  …"
            # API Gateway gave up and answered, then the Lambda ended.
            assert phases.index("gave") < phases.index("responded") < len(phases) - 1
            assert timeline[-1].split()[2:4] == ["lambda", "end"], timeline
            assert "after API Gateway gave up" in timeline[-1]
            lambda_line = next(line for line in timeline if line.split()[2] == "lambda")
            assert ("probable" in lambda_line) is probable, lambda_line
            assert any(line.strip().startswith("probable") for line in lines) is probable
        code, out, _ = run(traffic, "requests", "-o", "json", "--status", "504")
        row = next(json.loads(r) for r in out.splitlines() if expected.request_id in r)
        assert row["lambda_request_ids"] == [expected.lambda_request_id]
        assert row["probable"] is probable
        assert [i["probable"] for i in row["invocations"]] == [probable]


def test_lines_let_go_before_their_request_was_known_are_said(traffic: Traffic) -> None:
    # A hold-back too short for any Lambda line to wait for its request: every such line still
    # prints (nothing is dropped), and stderr says how many went out without their ID.
    code, out, err = run(traffic, "get", "-o", "json", "--hold-back", "1ms")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    unlabelled = [r for r in rows if r["source"] == "lambda" and r["request_id"] is None]
    assert unlabelled
    said = [line for line in err.splitlines() if "printed without a request" in line]
    assert len(said) == 1, err
    assert "no request named their invocation within 0.001 s" in said[0]
    assert "--hold-back" in said[0]
    count = int(said[0].split("apilogs: warning: ")[1].split()[0].replace(",", ""))
    # Counted: the lines printed without an ID that might have got one (not the lines no
    # request could claim).
    assert len(unlabelled) <= count <= sum(r["request_id"] is None for r in rows)
    assert len(rows) == len(window_read(traffic, "json"))  # every line still printed
    # With the default hold-back every line waits long enough: nothing to say.
    code, _, err = run(traffic, "get", "-o", "json")
    assert code == 0 and "printed without a request" not in err, err
