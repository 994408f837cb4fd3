"""In the storm: every AWS call of every service faulted (throttled, 5xx, dropped, slow), a role
that may read logs and nothing else, an endpoint that never answers. apilogs prints what it
can read, says what it could not and what it assumed, and never stops because one call failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from click.testing import CliRunner, Result

from apilogs.cli import cli
from tests.support.builders import (
    ACCOUNT,
    REGION,
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
)
from tests.support.faultproxy import fault_proxy

EXECUTION = "API-Gateway-Execution-Logs_{api}/prod"
PER_GROUP = 40


def _lambda_url(name: str) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"https://lambda.{REGION}.amazonaws.com/2015-03-31/functions/{arn}/invocations"


@pytest.fixture
def shop(client) -> dict[str, object]:
    """A REST API with an integration and an access log; its execution log names the function
    (as API Gateway writes it), each group holds PER_GROUP events of the last minutes."""
    fn = make_function(client, "primes")
    api = make_rest_api(client, routes={"GET /primes": lambda_uri(fn)}, access_group="/acc")
    execution = EXECUTION.format(api=api)
    groups = {execution: [], "/acc": [], "/aws/lambda/primes": []}
    for group in groups:
        make_log_group(client, group)
        client("logs").create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000) - 60_000
    for i in range(PER_GROUP):
        rid = f"{i:08d}-0000-4000-8000-000000000000"
        lid = f"{i:08d}-1111-4000-8000-000000000000"
        at = now - (PER_GROUP - i) * 1000
        lines = {
            execution: [
                f"({rid}) Starting execution for request: {rid}",
                f"({rid}) Endpoint request URI: {_lambda_url('primes')}",
                f"({rid}) Method completed with status: 200",
            ],
            "/aws/lambda/primes": [
                f"START RequestId: {lid} Version: $LATEST",
                f"END RequestId: {lid}",
            ],
            "/acc": [json.dumps({"requestId": rid, "status": "200"})],
        }
        for group, messages in lines.items():
            for n, message in enumerate(messages):
                groups[group].append((at + n, message))
    for group, events in groups.items():
        client("logs").put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": t, "message": m} for t, m in events],
        )
    return {"api": api, "groups": groups}


def _run(shop: dict[str, object], url: str, command: str, *args: str, **kwargs: Any) -> Result:
    """`apilogs COMMAND -a API -t prod ARGS --endpoint-url URL`, in-process."""
    argv = [command, "-a", str(shop["api"]), "-t", "prod", *args, "--endpoint-url", url]
    return CliRunner().invoke(cli, argv, **kwargs)


def _messages(output: str) -> list[str]:
    return [json.loads(line)["message"] for line in output.splitlines() if line.strip()]


def _expected(shop: dict[str, object], *groups: str) -> list[str]:
    every = shop["groups"]
    assert isinstance(every, dict)
    chosen = groups or tuple(every)
    return sorted(m for g in chosen for _, m in every[g])


# Five seeds run before every commit; CI runs all twenty (the slow marker).
SEEDS = [pytest.param(seed, marks=pytest.mark.slow) if seed >= 5 else seed for seed in range(20)]


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true", **extra}


@pytest.mark.parametrize("seed", SEEDS)
def test_faults_on_every_call_lose_nothing_and_stop_nothing(endpoint, shop, seed) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.slow_seconds = 0.2
        proxy.chaos(seed)
        result = _run(shop, proxy.url, "get", "-s", "10m", "-o", "json", "--max-rps", "0")
    assert result.exit_code == 0, result.stderr
    assert sorted(_messages(result.stdout)) == _expected(shop)
    faulted = {op.split(":")[0] for op in proxy.ops}
    assert {"apigateway", "lambda", "logs"} <= faulted
    assert proxy.faults["throttle"] > 0


def test_a_role_that_may_only_read_logs_still_gets_them(endpoint, shop) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.deny = {"apigateway", "lambda"}
        result = _run(shop, proxy.url, "get", "-s", "10m", "-o", "json", "--log-group", "/acc")
    assert result.exit_code == 0, result.stderr
    assert sorted(_messages(result.stdout)) == _expected(shop)
    assert "assumed read its execution log" in result.stderr
    assert "primes" in result.stderr and "grant apigateway:GET" in result.stderr


def test_requests_and_groups_through_faults_on_every_call(endpoint, shop) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.slow_seconds = 0.2
        proxy.chaos(7)
        rows = _run(shop, proxy.url, "requests", "-s", "10m", "-o", "json", "--max-rps", "0")
        groups = _run(shop, proxy.url, "groups", "-o", "json")
    assert rows.exit_code == 0, rows.stderr
    found = [json.loads(line) for line in rows.stdout.splitlines()]
    assert len(found) == PER_GROUP
    assert {r["status"] for r in found} == {200}
    assert groups.exit_code == 0, groups.stderr
    topology = json.loads(groups.stdout)
    assert not topology["inferred"]
    assert {s["log_group"] for s in topology["sources"]} == set(shop["groups"])  # type: ignore[arg-type]


def test_groups_shows_an_inferred_topology_as_inferred(endpoint, shop) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.deny = {"apigateway", "lambda"}
        table = _run(shop, proxy.url, "groups")
        doc = _run(shop, proxy.url, "groups", "-o", "json")
    assert table.exit_code == 0, table.stderr
    assert "inferred: the API's configuration could not be read" in table.stdout
    assert "could not read the configuration of API" in table.stdout
    assert "grant apigateway:GET" in table.stdout
    topology = json.loads(doc.stdout)
    assert topology["inferred"] is True
    by_group = {s["log_group"]: s for s in topology["sources"]}
    assert set(by_group) == {EXECUTION.format(api=shop["api"]), "/aws/lambda/primes"}
    assert by_group["/aws/lambda/primes"]["function"] == "primes"
    assert by_group["/aws/lambda/primes"]["exists"] is True


def test_a_denied_role_with_nothing_in_the_window_still_finds_the_functions_named(
    endpoint, shop
) -> None:
    """The functions are found in the execution log's window read; with API Gateway and
    Lambda denied, `show` finds a request from its ID."""
    rid = f"{3:08d}-0000-4000-8000-000000000000"
    with fault_proxy(endpoint) as proxy:
        proxy.deny = {"apigateway", "lambda"}
        result = _run(shop, proxy.url, "show", rid, "-s", "10m")
    assert result.exit_code == 0, result.stderr
    assert rid in result.stdout
    assert "could not read the configuration of API" in result.stderr


def test_a_warm_cache_survives_a_storm(endpoint, shop, tmp_path) -> None:
    env = {"APILOGS_CACHE": "on", "APILOGS_CACHE_DIR": str(tmp_path)}
    args = ["get", "-a", str(shop["api"]), "-t", "prod", "-s", "10m", "-o", "json"]
    with fault_proxy(endpoint) as proxy:
        first = CliRunner().invoke(cli, [*args, "--endpoint-url", proxy.url], env=env)
        assert first.exit_code == 0, first.stderr
        proxy.deny = {"apigateway", "lambda", "sts"}
        second = CliRunner().invoke(cli, [*args, "--endpoint-url", proxy.url], env=env)
    assert second.exit_code == 0, second.stderr
    # The cached topology stands (the access log among its groups): nothing inferred.
    assert sorted(_messages(second.stdout)) == _expected(shop)
    assert "could not read the configuration" not in second.stderr


def test_an_endpoint_that_never_answers_is_said_within_30_s(endpoint, shop) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.hang = True
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "apilogs", "get", "-a", str(shop["api"]), "-t", "prod"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(proxy.url),
        )
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            said_after = time.monotonic() - started
        finally:
            proc.kill()
            proc.wait()
    assert said_after < 30, said_after
    assert "no answer within 10 s" in line and "trying again" in line


def test_watch_follows_through_faults_on_every_call(endpoint, shop) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.slow_seconds = 0.2
        proxy.chaos(3)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "apilogs",
                "get",
                "-a",
                str(shop["api"]),
                "-t",
                "prod",
                "-s",
                "10m",
                "--watch",
                "-o",
                "json",
                "--max-rps",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(proxy.url),
        )
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        want = len(_expected(shop))
        try:
            while len(lines) < want and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
    assert sorted(_messages("".join(lines))) == _expected(shop), err
