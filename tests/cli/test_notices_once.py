"""A condition that hits every group at once (an endpoint failing or not answering) is said once,
naming how many groups, not once per group; its end is said once too. A prefix that resolves to
a request ID is information, not a warning."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time

import pytest

from apilogs.fetch import FetchStats
from tests.support.builders import (
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
    put_event,
)
from tests.support.faultproxy import PASS, SERVER_ERROR, fault_proxy

GROUPS = ("/a", "/b", "/c", "/d")


def test_failing_groups_are_said_once_per_reason_and_period_and_recovered_once() -> None:
    stats = FetchStats()
    for group in GROUPS:
        stats.set_failing(group, 100.0, "ServiceUnavailableException")
    for group in GROUPS:
        stats.tell_failing(group, "ServiceUnavailableException", 110.0, 10.0)
    assert stats.take_notices() == [
        "CloudWatch Logs has failed every read of 4 groups for 10 s "
        "(ServiceUnavailableException); still trying"
    ]
    # A group not counted before, within the period: counted, not said.
    stats.set_failing("/e", 105.0, "ServiceUnavailableException")
    stats.tell_failing("/e", "ServiceUnavailableException", 115.0, 10.0)
    assert stats.take_notices() == []
    # Another reason is another condition.
    stats.set_failing("/t", 105.0, "ThrottlingException")
    stats.tell_failing("/t", "ThrottlingException", 115.0, 10.0)
    assert stats.take_notices() == [
        "CloudWatch Logs has failed every read of /t for 10 s (ThrottlingException); still trying"
    ]
    # Recovered: said once, when the last of the groups recovers; one given up on is not.
    for group in ("/a", "/b", "/c", "/e"):
        stats.set_ok(group, 120.0)
        assert stats.take_notices() == []
    stats.set_ok("/d", 121.0, recovered=False)
    assert stats.take_notices() == ["CloudWatch Logs reads recovered after 21 s (4 groups)"]
    stats.set_ok("/t", 125.0)
    assert stats.take_notices() == ["/t: reads recovered after 20 s"]
    assert not stats.failing


def test_calls_not_answered_are_said_once_and_answered_once() -> None:
    stats = FetchStats()
    for group in GROUPS:
        stats.call_started(group)
    time.sleep(0.3)
    stats.tell_slow_calls(0.2)
    stats.tell_slow_calls(0.2)
    [said] = stats.take_notices()
    assert said.startswith("CloudWatch Logs has not answered reads of 4 groups for 0 s"), said
    for group in GROUPS[:-1]:
        stats.call_ended(group)
    assert stats.take_notices() == []
    stats.call_ended(GROUPS[-1])
    assert stats.take_notices() == ["CloudWatch Logs answered reads of 4 groups after up to 0 s"]
    # Calls that ended without an answer (timed out): the failing reads say it, not this.
    stats.call_started("/x")
    time.sleep(0.3)
    stats.tell_slow_calls(0.2)
    assert len(stats.take_notices()) == 1
    stats.call_ended("/x", answered=False)
    assert stats.take_notices() == []


@pytest.fixture
def api_id(client) -> str:
    fn = make_function(client, "primes")
    other = make_function(client, "other")
    api = make_rest_api(
        client,
        routes={"GET /primes": lambda_uri(fn), "GET /other": lambda_uri(other)},
        access_group="/acc",
    )
    groups = (f"API-Gateway-Execution-Logs_{api}/prod", "/acc", "/aws/lambda/primes")
    for group in (*groups, "/aws/lambda/other"):
        make_log_group(client, group)
    put_event(client, "/aws/lambda/primes", "s", int(time.time() * 1000) - 1000, "hello")
    return api


def test_following_through_a_failing_endpoint_says_it_once_then_recovery_once(
    endpoint, api_id
) -> None:
    with fault_proxy(endpoint) as proxy:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apilogs", "get", "-a", api_id, "-t", "prod", "-w"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "AWS_ENDPOINT_URL": proxy.url,
                "AWS_EC2_METADATA_DISABLED": "true",
            },
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")))  # type: ignore[union-attr]
        reader.start()
        try:
            assert "hello" in proc.stdout.readline()  # type: ignore[union-attr]
            proxy.every = SERVER_ERROR
            deadline = time.time() + 40
            while time.time() < deadline and not any("still trying" in line for line in lines):
                time.sleep(0.1)
            # A while longer failing: more polls, nothing more said.
            time.sleep(3)
            proxy.every = PASS
            while time.time() < deadline and not any("recovered" in line for line in lines):
                time.sleep(0.1)
            time.sleep(2)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(10)
            reader.join(5)
    failing = [line for line in lines if "has failed every read of" in line]
    assert len(failing) == 1, lines
    assert "has failed every read of 4 groups for" in failing[0], lines
    assert "(ServiceUnavailableException); still trying" in failing[0]
    assert failing[0].startswith("apilogs: warning: CloudWatch Logs"), failing
    recovered = [line for line in lines if "recovered" in line]
    assert len(recovered) == 1, lines
    assert "CloudWatch Logs reads recovered after" in recovered[0] and "(4 groups)" in recovered[0]


def test_a_prefix_that_resolves_is_said_as_information(traffic) -> None:
    from tests.unit.core.test_lookup import run

    expected = traffic.forced["out_of_memory"]
    prefix = expected.request_id[:13]
    code, _, err = run(traffic, "show", prefix)
    assert code == 0, err
    assert f"apilogs: {prefix} is {expected.request_id}\n" in err, err
    assert "warning" not in err, err
