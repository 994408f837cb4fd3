"""Finding requests by ID, fast and bounded: one server-side pass per round for every pending ID,
checked locally too; prefixes, junk, several IDs; and --source narrowing what is shown (not what
is searched), also on a log group two functions share."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from click.testing import CliRunner

import apilogs
import apilogs.demo.server as emulator
from apilogs.cli import cli
from apilogs.errors import InvalidInput
from apilogs.lookup import MAX_PATTERN_CHARS, check_term, filter_patterns
from tests.support.demo_data import Traffic
from tests.support.faultproxy import fault_proxy
from tests.unit.join.test_request_ids import key, lines_of

UUID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"


def run(traffic: Traffic, *args: str, endpoint: str | None = None) -> tuple[int, str, str]:
    app = traffic.app
    result = CliRunner().invoke(
        cli,
        [
            *args,
            *("-a", app.rest_api_id, "-t", app.rest_stage),
            *("-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 90_000)),
            *("--endpoint-url", endpoint or traffic.url, "--max-rps", "0"),
        ],
    )
    return result.exit_code, result.stdout, result.stderr


# --- pure pieces --------------------------------------------------------------------------------


def test_filter_patterns_ask_for_any_of_the_ids_within_cloudwatch_s_limit() -> None:
    assert filter_patterns([UUID]) == [f'"{UUID}"']
    assert filter_patterns(["abcdefgh1", "abcdefgh2"]) == ['?"abcdefgh1" ?"abcdefgh2"']
    ids = [f"{n:08x}-6f04-11e6-97ac-c34deb0b3dd9" for n in range(60)]
    patterns = filter_patterns(ids)
    assert len(patterns) > 1 and all(len(p) <= MAX_PATTERN_CHARS for p in patterns)
    assert sorted(i for i in ids if any(i in p for p in patterns)) == ids
    assert filter_patterns(['say "hi"\\x']) == ['"say \\"hi\\"\\\\x"']


@pytest.mark.parametrize(
    ("given", "looked_up"),
    [
        (UUID, UUID),
        (UUID.upper(), UUID),
        ("  6605b081 ", "6605b081"),
        (
            "Root=1-5c7674f4-a3491d0a9c8012c191821b83;Parent=53995c3f42cd8ad8;Sampled=1",
            "1-5c7674f4-a3491d0a9c8012c191821b83",
        ),
        ("JjGvEiWsoAMEPaA=", "JjGvEiWsoAMEPaA="),
    ],
)
def test_ids_and_prefixes_are_looked_up(given: str, looked_up: str) -> None:
    assert check_term(given) == looked_up


@pytest.mark.parametrize("junk", ["x", "6605b08", "hello world", "'; drop", "a" * 8 + "\x1b[31m"])
def test_what_cannot_be_an_id_is_refused(junk: str) -> None:
    with pytest.raises(InvalidInput, match="is not a request ID"):
        check_term(junk)


# --- through the CLI, on the demo's traffic -----------------------------------------------------


def test_junk_is_refused_at_once_and_reads_nothing(traffic: Traffic) -> None:
    with fault_proxy(traffic.url) as proxy:
        started = time.monotonic()
        code, out, err = run(traffic, "show", "x", endpoint=proxy.url)
        took = time.monotonic() - started
    assert code == 2 and out == ""
    assert "'x' is not a request ID" in err and "first 8 characters" in err
    assert proxy.counts["matched"] == 0 and took < 5


def test_a_unique_prefix_resolves_and_says_so(traffic: Traffic) -> None:
    expected = traffic.forced["out_of_memory"]
    prefix = expected.request_id[:13]
    assert sum(1 for t in traffic.truth for i in (t.request_id,) if i.startswith(prefix)) == 1
    code, out, err = run(traffic, "show", prefix)
    assert code == 0, err
    assert f"{prefix} is {expected.request_id}" in err
    assert "Lambda ran out of memory" in out.splitlines()[0]


def test_an_ambiguous_prefix_lists_the_candidates(traffic: Traffic) -> None:
    # Trace IDs start with their epoch second: requests of one second share that prefix.
    seconds = Counter((t.trace_id or "")[:10] for t in traffic.rest() if t.trace_id)
    prefix = next(p for p, n in seconds.most_common() if n >= 2)
    code, out, err = run(traffic, "get", "-r", prefix)
    assert code == 2 and out == ""
    assert f"{prefix} is the start of the IDs of" in err and "give more of it" in err
    shared = [t for t in traffic.rest() if (t.trace_id or "").startswith(prefix)]
    assert any(t.trace_id in err for t in shared)


def test_several_ids_say_which_were_not_found(traffic: Traffic) -> None:
    expected = traffic.forced["not_found"]
    code, out, err = run(traffic, "get", "-o", "json", "-r", expected.request_id, "-r", UUID)
    assert code == 0, err
    assert {key(json.loads(line)) for line in out.splitlines()} == lines_of(traffic, expected)
    assert f"no request with ID {UUID} in this window" in err
    code, out, err = run(traffic, "get", "-r", UUID, "-r", UUID.replace("6605", "7777"))
    assert code == 1 and out == ""
    assert UUID in err


def test_one_server_side_pass_per_round_for_every_pending_id(traffic: Traffic) -> None:
    asked = [traffic.forced[name] for name in ("ok", "bad_request", "lambda_timeout")]
    with fault_proxy(traffic.url) as proxy:
        api = apilogs.open_api(
            traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=proxy.url, max_rps=0
        )
        found = api.lookup(
            [r.request_id for r in asked], traffic.start_ms - 60_000, traffic.end_ms + 90_000
        )
    assert {r.request_id for r in found.requests} == {r.request_id for r in asked}
    patterns = [json.loads(body).get("filterPattern") for body in proxy.bodies]
    first = patterns[0]
    assert first and all(r.request_id in first for r in asked)
    # Every group got the same pattern in the first round; no ID was asked on its own.
    groups = len(api.topology.log_groups())
    assert patterns[:groups] == [first] * groups
    assert not any(p == f'"{r.request_id}"' for p in patterns for r in asked)


def test_an_emulator_that_ignores_the_pattern_changes_nothing(traffic: Traffic) -> None:
    asked = [traffic.forced["auth_denied"], traffic.forced["orders_exception"]]
    emulator.OR_PATTERNS = False  # moto then matches every event for `?"a" ?"b"`
    try:
        code, out, err = run(
            traffic, "get", "-o", "json", *(x for r in asked for x in ("-r", r.request_id))
        )
    finally:
        emulator.OR_PATTERNS = True
    assert code == 0, err
    want = lines_of(traffic, asked[0]) | lines_of(traffic, asked[1])
    assert {key(json.loads(line)) for line in out.splitlines()} == want


def test_request_id_with_source_lambda_gives_the_request_s_lambda_lines(traffic: Traffic) -> None:
    expected = traffic.forced["unhandled_exception"]
    code, out, err = run(
        traffic, "get", "-o", "json", "-r", expected.request_id, "--source", "lambda"
    )
    assert code == 0, err
    integration = traffic.app.primes.log_group
    want = {line for line in lines_of(traffic, expected) if line[0] == integration}
    assert want and {key(json.loads(line)) for line in out.splitlines()} == want


def test_source_function_on_a_shared_group_prints_only_its_lines(traffic: Traffic) -> None:
    health, reports = traffic.app.health, traffic.app.reports
    assert health.log_group == reports.log_group
    for hold in ([], ["--no-hold-back"]):
        code, out, err = run(traffic, "get", "-o", "json", "--source", health.name, *hold)
        assert code == 0, err
        docs = [json.loads(line) for line in out.splitlines()]
        want = {
            (r.group, r.stream, r.timestamp, r.message)
            for t in traffic.truth
            for r in t.records
            if r.group == health.log_group and f"/{health.name}[" in r.stream
        }
        assert want and {key(d) for d in docs} == want
        assert {d["function"] for d in docs} == {health.name}
    code, out, _ = run(traffic, "get", "--source", reports.name, "-S", "-G")
    assert out and all(
        line.startswith(reports.name) for line in out.splitlines() if line[:1] != " "
    )
