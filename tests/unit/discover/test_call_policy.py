"""The retry policy every AWS call but the readers' pages goes through (`PersistentCalls`):
which answers are tried again, for how long, and what is said while it waits."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import botocore.exceptions
import pytest
from click.testing import CliRunner

from apilogs.aws import CallPolicy, CallTrouble, PersistentCalls
from apilogs.cli import cli
from tests.cli.test_storm import _expected, _messages, shop  # noqa: F401  (fixture)
from tests.support.faultproxy import fault_proxy

OPERATION = SimpleNamespace(
    name="GetStage", service_model=SimpleNamespace(service_name="apigateway")
)


def _answer(code: str, status: int) -> tuple[Any, dict[str, Any]]:
    return (None, {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}})


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _hook(policy: CallPolicy) -> tuple[PersistentCalls, _Clock, list[CallTrouble]]:
    told: list[CallTrouble] = []
    clock = _Clock()
    return PersistentCalls(policy, told.append, clock=clock, jitter=lambda: 1.0), clock, told


def test_a_throttled_call_is_tried_again_until_the_give_up_time_and_said_once() -> None:
    hook, clock, told = _hook(CallPolicy(give_up_after_s=10, say_after_s=3, max_delay_s=4))
    request: dict[str, Any] = {"context": {}}
    delays = []
    for attempt in range(1, 50):
        delay = hook(attempt, _answer("TooManyRequestsException", 429), None, OPERATION, request)
        if delay is None:
            break
        delays.append(delay)
        clock.now += delay
    assert sum(delays) <= 10 < sum(delays) + 4.01
    assert delays == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2])  # the next, 4 s, would pass 10 s
    [trouble] = told
    assert (trouble.service, trouble.operation, trouble.reason) == (
        "apigateway",
        "GetStage",
        "throttled",
    )
    assert "AWS keeps failing apigateway GetStage (throttled;" in trouble.describe()


def test_5xx_and_dropped_connections_are_tried_again_denied_and_bad_input_are_not() -> None:
    hook, _, _ = _hook(CallPolicy())
    assert hook(1, _answer("ServiceUnavailableException", 503), None, OPERATION, {}) is not None
    assert hook(1, _answer("InternalServerError", 500), None, OPERATION, {}) is not None
    dropped = botocore.exceptions.ConnectionClosedError(endpoint_url="http://x")
    assert hook(1, None, dropped, OPERATION, {}) is not None
    assert hook(1, _answer("AccessDeniedException", 403), None, OPERATION, {}) is None
    assert hook(1, _answer("NotFoundException", 404), None, OPERATION, {}) is None
    assert (
        hook(1, (None, {"ResponseMetadata": {"HTTPStatusCode": 200}}), None, OPERATION, {}) is None
    )


def test_no_answer_is_said_at_once_and_a_refused_connection_fails_fast() -> None:
    hook, _, told = _hook(CallPolicy(read_timeout_s=10))
    silent = botocore.exceptions.ReadTimeoutError(endpoint_url="http://x")
    assert hook(1, None, silent, OPERATION, {"context": {}}) is not None
    assert told[0].reason == "no answer within 10 s"
    assert told[0].describe().startswith("apigateway GetStage: no answer within 10 s: trying again")
    refused = botocore.exceptions.EndpointConnectionError(endpoint_url="http://x")
    assert hook(1, None, refused, OPERATION, {}) is not None
    assert hook(2, None, refused, OPERATION, {}) is None


def test_api_gateway_throttled_past_fail_after_is_inferred_and_said(endpoint, shop) -> None:  # noqa: F811
    with fault_proxy(endpoint) as proxy:
        proxy.chaos(1, throttle=1.0, server_error=0, drop=0, slow=0, services={"apigateway"})
        result = CliRunner().invoke(
            cli,
            [
                *("get", "-a", str(shop["api"]), "-t", "prod", "-s", "10m", "-o", "json"),
                *("--fail-after", "2s", "--log-group", "/acc", "--endpoint-url", proxy.url),
            ],
        )
    assert result.exit_code == 0, result.stderr
    assert sorted(_messages(result.stdout)) == _expected(shop)
    # Discovery asks for the API, its stage and its resources at once; any may be said first.
    assert re.search(r"AWS keeps failing apigateway \w+ \(throttled;", result.stderr)
    assert "could not read the configuration of API" in result.stderr
    assert "(throttled): assumed read its execution log" in result.stderr
