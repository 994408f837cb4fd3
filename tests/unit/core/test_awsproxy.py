"""The AWS-shaped proxy (tests/support/awsproxy.py) in front of moto's server: the quota throttles a burst
and lets a paced client through, the delays show, pages stay within 1 MiB with working tokens,
calls are named and counted, and many callers share it over keep-alive connections."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.awsproxy import (
    EVENT_OVERHEAD_BYTES,
    PAGE_BYTES,
    AwsShape,
    TokenBucket,
    aws_proxy,
    cut_page,
    operation_of,
    proxy_reset,
    proxy_stats,
)
from tests.support.builders import lambda_uri, make_function, make_log_group, make_rest_api

REGION = "us-east-1"
GROUP = "/aws/lambda/big"
# No delay, no quota: each test turns on what it checks.
FLAT = AwsShape(rtt_ms=0, per_mb_ms=0, quota_rps=0)
BASE_MS = (int(time.time()) - 1800) * 1000


def no_retries(url: str, service: str = "logs", pool: int = 10) -> Any:
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=pool
    )
    return boto3.client(service, region_name=REGION, endpoint_url=url, config=config)


def fill(client: Any, group: str, count: int, size: int) -> None:
    """`count` events of `size`-character messages, in batches PutLogEvents accepts."""
    logs = client("logs")
    make_log_group(client, group)
    per_batch = max(1, 900_000 // (size + EVENT_OVERHEAD_BYTES))
    for stream in ("a", "b"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    for start in range(0, count, per_batch):
        for stream in ("a", "b"):
            events = [
                {"timestamp": BASE_MS + i, "message": f"{stream}{i:07d} ".ljust(size, "x")}
                for i in range(start, min(count, start + per_batch))
                if (i % 2 == 0) == (stream == "a")
            ]
            if events:
                logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def read_all(logs: Any, group: str) -> list[dict[str, Any]]:
    """Every page of the group, following nextToken."""
    pages, kwargs = [], {"logGroupName": group, "interleaved": True}
    while True:
        page = logs.filter_log_events(**kwargs)
        pages.append(page)
        if not page.get("nextToken"):
            return pages
        kwargs["nextToken"] = page["nextToken"]


def page_size(page: dict[str, Any]) -> int:
    return sum(len(e["message"].encode()) + EVENT_OVERHEAD_BYTES for e in page["events"])


# -- the quota --------------------------------------------------------------------------------


def test_token_bucket_refills_at_its_rate_and_saves_at_most_its_burst() -> None:
    now = [0.0]
    bucket = TokenBucket(5, 5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.2
    assert bucket.take() and not bucket.take()
    now[0] += 60  # idle for a minute: still only a burst's worth
    assert sum(bucket.take() for _ in range(10)) == 5


def test_a_burst_above_the_quota_is_throttled_as_aws_does(endpoint: str, client) -> None:
    make_log_group(client, GROUP)
    with aws_proxy(endpoint, AwsShape(rtt_ms=0, per_mb_ms=0)) as proxy:
        logs = no_retries(proxy.url, pool=20)
        errors: list[botocore.exceptions.ClientError] = []
        ok = []
        go = threading.Barrier(20)

        def call() -> None:
            go.wait()  # all at once
            try:
                ok.append(logs.filter_log_events(logGroupName=GROUP))
            except botocore.exceptions.ClientError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = proxy.stats(with_calls=True)

    # 5 saved tokens, and no more than were earned while the burst was on its way (however
    # slowly a loaded machine lets the threads run): the bucket's own arithmetic, at the server.
    arrived = [c["arrived"] for c in stats["log"]]
    span = max(arrived) - min(arrived)
    assert span < 2.5, "the 20 calls did not arrive as a burst"
    assert 5 <= len(ok) <= 5 + 5 * span + 1
    assert len(errors) == 20 - len(ok)
    for exc in errors:
        assert exc.response["Error"]["Code"] == "ThrottlingException"
        assert exc.response["Error"]["Message"] == "Rate exceeded"
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert stats["calls"]["logs:FilterLogEvents"] == 20
    assert stats["throttled"]["logs:FilterLogEvents"] == len(errors)
    assert stats["total_throttled"] == len(errors)
    throttled = [c for c in stats["log"] if c["throttled"]]
    assert len(throttled) == len(errors)
    assert all(c["status"] == 400 and c["request"]["group"] == GROUP for c in throttled)


def test_a_client_paced_under_the_quota_is_never_throttled(endpoint: str, client) -> None:
    make_log_group(client, GROUP)
    with aws_proxy(endpoint, AwsShape(rtt_ms=0, per_mb_ms=0, quota_rps=5)) as proxy:
        logs = no_retries(proxy.url)
        logs.describe_log_groups()  # connected
        proxy_reset(proxy.url)  # counters to zero, bucket full
        for _ in range(5):  # no saved burst to hide behind: only the rate is left
            assert proxy.bucket.take()
        started = time.monotonic() + 0.25
        for i in range(12):  # 4.5 calls/s
            time.sleep(max(0.0, started + i / 4.5 - time.monotonic()))
            logs.filter_log_events(logGroupName=GROUP)
        stats = proxy.stats()
    assert stats["calls"] == {"logs:FilterLogEvents": 12}
    assert stats["total_throttled"] == 0


def test_only_filter_log_events_counts_against_the_quota(endpoint: str, client) -> None:
    make_log_group(client, GROUP)
    with aws_proxy(endpoint, AwsShape(rtt_ms=0, per_mb_ms=0, quota_rps=1, quota_burst=1)) as proxy:
        logs = no_retries(proxy.url)
        for _ in range(5):
            logs.describe_log_groups()
        logs.filter_log_events(logGroupName=GROUP)
        with pytest.raises(botocore.exceptions.ClientError, match="Rate exceeded"):
            logs.filter_log_events(logGroupName=GROUP)
        stats = proxy.stats()
    assert stats["calls"] == {"logs:DescribeLogGroups": 5, "logs:FilterLogEvents": 2}
    assert stats["throttled"] == {"logs:FilterLogEvents": 1}


# -- the delays -------------------------------------------------------------------------------


def timed(call: Any, repeat: int = 3) -> float:
    """The fastest of a few calls: the delay is a floor, noise only adds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def test_every_call_of_every_service_takes_the_round_trip(endpoint: str, client) -> None:
    make_log_group(client, GROUP)
    with aws_proxy(endpoint, AwsShape(rtt_ms=150, per_mb_ms=0, quota_rps=0)) as proxy:
        logs, apigw = no_retries(proxy.url), no_retries(proxy.url, "apigateway")
        lam, sts = no_retries(proxy.url, "lambda"), no_retries(proxy.url, "sts")
        for call in (
            lambda: logs.filter_log_events(logGroupName=GROUP),
            lambda: logs.describe_log_groups(),
            lambda: apigw.get_rest_apis(),
            lambda: lam.list_functions(),
            lambda: sts.get_caller_identity(),
        ):
            assert 0.15 <= timed(call, 2) < 1.0
        stats = proxy.stats(with_calls=True)
    assert set(stats["calls"]) == {
        "logs:FilterLogEvents",
        "logs:DescribeLogGroups",
        "apigateway:GetRestApis",
        "lambda:ListFunctions",
        "sts:GetCallerIdentity",
    }
    for call in stats["log"]:  # half the round trip on the way in, half on the way back
        assert call["arrived"] - call["received"] >= 0.07
        assert call["answered"] - call["arrived"] >= 0.07


def test_filter_log_events_takes_its_per_mb_delay(endpoint: str, client) -> None:
    fill(client, GROUP, 2000, 1000)  # about 2 MB: the first page is a full 1 MiB
    slow = AwsShape(rtt_ms=0, per_mb_ms=600, quota_rps=0)
    with aws_proxy(endpoint, slow) as proxy:
        sized = no_retries(proxy.url)
        t_page = timed(lambda: sized.filter_log_events(logGroupName=GROUP, interleaved=True))
        t_small = timed(lambda: sized.describe_log_groups())  # not a sized operation
        stats = proxy.stats(with_calls=True)
    pages = [c for c in stats["log"] if c["operation"] == "logs:FilterLogEvents"]
    expected = 0.6 * pages[0]["response_bytes"] / 1_048_576
    assert expected > 0.5  # a page of about 1 MiB of JSON
    for call in pages:  # the proxy held each answer that long after the server's reply
        assert call["answered"] - call["arrived"] - call["upstream_s"] >= expected * 0.99
    assert expected <= t_page < expected + 1.0  # and the client cannot have it sooner
    assert t_small < 0.2


# -- pages ------------------------------------------------------------------------------------


def test_pages_stay_within_1_mib_and_their_tokens_read_every_event_once(
    endpoint: str, client
) -> None:
    fill(client, GROUP, 3500, 1000)
    with aws_proxy(endpoint, FLAT) as proxy:
        pages = read_all(no_retries(proxy.url), GROUP)
        stats = proxy.stats(with_calls=True)
    events = [e for p in pages for e in p["events"]]
    assert [c["request"]["token"] for c in stats["log"]] == [False] + [True] * (len(pages) - 1)
    assert [c["events"] for c in stats["log"]] == [len(p["events"]) for p in pages]
    assert len(pages) >= 4
    assert all(page_size(p) <= PAGE_BYTES for p in pages)
    assert page_size(pages[0]) > PAGE_BYTES - 1100  # full pages, not a smaller cut
    assert len(events) == 3500
    assert len({(e["logStreamName"], e["eventId"]) for e in events}) == 3500
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert stats["largest_page_bytes"] <= PAGE_BYTES
    assert stats["pages_cut"] == 0  # the embedded server cut them already


def test_the_proxy_cuts_a_page_itself_with_a_token_that_resumes_after_it(
    endpoint: str, client
) -> None:
    """A smaller limit than the server's makes the proxy cut: its own tokens must work too."""
    fill(client, GROUP, 1200, 500)
    with aws_proxy(endpoint, AwsShape(rtt_ms=0, per_mb_ms=0, quota_rps=0, page_bytes=100_000)) as p:
        pages = read_all(no_retries(p.url), GROUP)
        stats = p.stats()
    events = [e for page in pages for e in page["events"]]
    assert stats["pages_cut"] >= 6
    assert all(page_size(page) <= 100_000 for page in pages)
    assert sorted(int(e["message"][1:8]) for e in events) == list(range(1200))


def test_cut_page_keeps_at_least_one_event() -> None:
    page = {"events": [{"message": "x" * 2000, "logStreamName": "s", "eventId": "1"}]}
    cut, size, was_cut = cut_page(page, "g", limit=1000)
    assert cut is page and not was_cut and size == 2026


# -- naming, counting, concurrency ------------------------------------------------------------


def test_discovery_calls_are_named_and_counted(endpoint: str, client) -> None:
    primes = make_function(client, "primes")
    api_id = make_rest_api(
        client, routes={"GET /primes": lambda_uri(primes)}, access_group="/access/shop"
    )
    for group in (f"API-Gateway-Execution-Logs_{api_id}/prod", "/access/shop"):
        make_log_group(client, group)
    with aws_proxy(endpoint, FLAT) as proxy:
        result = CliRunner().invoke(
            cli, ["groups", "-a", api_id, "-t", "prod", "--endpoint-url", proxy.url]
        )
        stats = proxy.stats()
    assert result.exit_code == 0, result.output
    calls = stats["calls"]
    assert calls["apigateway:GetStage"] >= 1
    assert calls["apigateway:GetResources"] >= 1
    assert calls["lambda:GetFunctionConfiguration"] >= 1
    assert calls["logs:DescribeLogGroups"] >= 1
    assert not [op for op in calls if " /" in op or op.startswith("?")]  # every one named


def test_operation_of_reads_the_protocols() -> None:
    auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/{}/aws4_request"}

    def signed(service: str, **extra: str) -> dict[str, str]:
        return {"Authorization": auth["Authorization"].format(service), **extra}

    target = signed("logs", **{"X-Amz-Target": "Logs_20140328.FilterLogEvents"})
    assert operation_of("POST", "/", target, b"{}") == "logs:FilterLogEvents"
    assert (
        operation_of("POST", "/", signed("sts"), b"Action=GetCallerIdentity&Version=2011-06-15")
        == "sts:GetCallerIdentity"
    )
    assert operation_of("GET", "/restapis/a1/stages/prod", signed("apigateway"), b"") == (
        "apigateway:GetStage"
    )
    path = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/configuration"
    assert operation_of("GET", path, signed("lambda"), b"") == "lambda:GetFunctionConfiguration"
    assert operation_of("GET", "/x/y", signed("lambda"), b"") == "lambda:GET /x/y"


def test_many_callers_at_once_over_kept_alive_connections(endpoint: str, client) -> None:
    make_log_group(client, GROUP)
    with aws_proxy(endpoint, AwsShape(rtt_ms=100, per_mb_ms=0, quota_rps=0)) as proxy:
        logs = no_retries(proxy.url, pool=10)
        logs.describe_log_groups()  # the client is made and connected once
        proxy_reset(proxy.url)

        def five() -> None:
            for _ in range(5):
                logs.filter_log_events(logGroupName=GROUP)

        started = time.perf_counter()
        threads = [threading.Thread(target=five) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        stats = proxy.stats()
    assert stats["calls"] == {"logs:FilterLogEvents": 50}
    # Ten at a time, not one after the other (5 s); client, proxy and moto share one GIL here.
    assert elapsed < 2.5
    assert stats["connections"] <= 10  # kept alive: not one connection per call


def test_as_a_process_it_prints_its_url_and_serves_its_counters(endpoint: str) -> None:
    script = Path(__file__).resolve().parents[2] / "support" / "awsproxy.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--upstream", endpoint, "--rtt-ms", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        no_retries(url).describe_log_groups()
        stats = proxy_stats(url, with_calls=True)
        assert stats["calls"] == {"logs:DescribeLogGroups": 1}
        assert stats["shape"]["rtt_ms"] == 0 and stats["shape"]["quota_rps"] == 5
        assert json.dumps(stats["log"][0]["operation"]) == '"logs:DescribeLogGroups"'
        proxy_reset(url)
        assert proxy_stats(url)["total_calls"] == 0
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()
