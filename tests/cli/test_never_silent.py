"""When AWS keeps failing, apilogs says so — while following too — and never waits in silence:
a window read ends non-zero naming what it could not read, a follow keeps trying and says when
it recovers, and a broken answer (not UTF-8) is printed and said in one line naming the group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

import boto3
import pytest
from click.testing import CliRunner

from apilogs.aws import AwsContext, RateLimiter
from apilogs.cli import cli
from apilogs.fetch import FetchStats, RetryPolicy, follow, queries_for
from apilogs.model import Role, Source
from tests.support.builders import lambda_uri, make_function, make_log_group, make_rest_api
from tests.support.faultproxy import BAD_UTF8, PASS, THROTTLE, fault_proxy


@pytest.fixture
def api_id(client) -> str:
    fn = make_function(client, "primes")
    api = make_rest_api(client, routes={"GET /primes": lambda_uri(fn)}, access_group="/acc")
    for group in (f"API-Gateway-Execution-Logs_{api}/prod", "/acc", "/aws/lambda/primes"):
        make_log_group(client, group)
    logs = client("logs")
    logs.create_log_stream(logGroupName="/aws/lambda/primes", logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/aws/lambda/primes",
        logStreamName="s",
        logEvents=[{"timestamp": now - 1000, "message": "hello"}],
    )
    return api


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_EC2_METADATA_DISABLED": "true"}


def test_a_window_read_that_keeps_failing_ends_non_zero_naming_the_groups(endpoint, api_id) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.every = THROTTLE
        started = time.monotonic()
        result = CliRunner().invoke(
            cli,
            [
                "get",
                "-a",
                api_id,
                "-t",
                "prod",
                "-s",
                "5m",
                "--fail-after",
                "1.5s",
                "--endpoint-url",
                proxy.url,
            ],
        )
        took = time.monotonic() - started
    assert result.exit_code == 3, result.stderr
    assert took < 20
    [error] = [line for line in result.stderr.splitlines() if "error:" in line]
    assert "gave up reading 3 log group(s)" in error
    assert "/aws/lambda/primes (ThrottlingException for" in error and "nothing read" in error
    assert "Traceback" not in result.stderr


def test_watch_says_while_following_that_reads_fail_and_can_give_up(endpoint, api_id) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.every = THROTTLE
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "apilogs",
                "get",
                "-a",
                api_id,
                "-t",
                "prod",
                "-w",
                "--fail-after",
                "3s",
                "--watch-interval",
                "0.2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(proxy.url),
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")))  # type: ignore[union-attr]
        reader.start()
        try:
            deadline = time.time() + 20
            while time.time() < deadline and not any("still trying" in line for line in lines):
                time.sleep(0.1)
            # Said while following: the process has not ended yet.
            warned_at = time.time()
            assert any("still trying" in line for line in lines), lines
            proc.wait(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            reader.join(5)
    assert warned_at - (deadline - 20) < 15
    assert proc.returncode == 3
    assert any("has failed every read of" in line for line in lines)
    assert any("gave up reading" in line and "ThrottlingException" in line for line in lines)


def test_following_says_when_reads_fail_and_when_they_recover(endpoint, client) -> None:
    client("logs").create_log_group(logGroupName="/flaky")
    with fault_proxy(endpoint) as proxy:
        proxy.every = THROTTLE
        ctx = AwsContext(
            session=boto3.Session(region_name="us-east-1"),
            endpoint_url=proxy.url,
            logs_limiter=RateLimiter(0),
        )
        stats = FetchStats()
        stop = threading.Event()
        notices: list[str] = []
        policy = RetryPolicy(give_up_after_s=None, notice_after_s=0.5, max_backoff_s=0.2)
        sources = (Source(Role.OTHER, "/flaky", "us-east-1"),)

        def run() -> None:
            for _ in follow(
                ctx, queries_for(sources), 0, stats, interval_s=0.1, stop=stop, policy=policy
            ):
                notices.extend(stats.take_notices())

        thread = threading.Thread(target=run)
        thread.start()
        try:
            deadline = time.time() + 10
            while time.time() < deadline and not any("still trying" in n for n in notices):
                time.sleep(0.05)
            assert stats.failing and "/flaky" in stats.failing
            proxy.every = PASS
            while time.time() < deadline and not any("recovered" in n for n in notices):
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(5)
    assert any(
        "failed every read of /flaky" in n and "(ThrottlingException); still trying" in n
        for n in notices
    ), notices
    assert any(n.startswith("/flaky: reads recovered after") for n in notices), notices
    assert not stats.failing


def test_an_answer_that_is_not_utf8_is_printed_and_said_naming_the_group(endpoint, api_id) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.every = BAD_UTF8
        result = CliRunner().invoke(
            cli,
            [
                "get",
                "-a",
                api_id,
                "-t",
                "prod",
                "-s",
                "5m",
                "--source",
                "lambda",
                "--endpoint-url",
                proxy.url,
                "--max-rps",
                "0",
            ],
        )
    # The window is printed, the byte that is not UTF-8 as U+FFFD, and said on one line.
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("/aws/lambda/primes s \ufffdhello\n"), result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert (
        "/aws/lambda/primes: 1 event held bytes that are not UTF-8 (1 byte shown as U+FFFD)"
        in result.stderr
    )


def test_two_quick_ctrl_c_leave_no_traceback(endpoint, api_id) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apilogs",
            "get",
            "-a",
            api_id,
            "-t",
            "prod",
            "-w",
            "--max-rps",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(endpoint),
    )
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert "hello" in first
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_following_through_expired_credentials_says_so_and_resumes(endpoint, client) -> None:
    """Expired credentials while following: said, retried, and the follow goes on once they
    are refreshed (here: the service accepts them again)."""
    from botocore.stub import Stubber

    from apilogs.fetch.filter import RetryPolicy as Policy
    from apilogs.fetch.filter import follow_group
    from apilogs.fetch.filter import queries_for as grouped

    ctx = AwsContext(
        session=boto3.Session(region_name="us-east-1"),
        endpoint_url=endpoint,
        logs_limiter=RateLimiter(0),
    )
    [query] = grouped((Source(Role.OTHER, "/g", "us-east-1"),))
    stats = FetchStats()
    stop = threading.Event()
    got: list[str] = []
    policy = Policy(
        give_up_after_s=None, notice_after_s=0.0, max_backoff_s=0.05, retry_expired_credentials=True
    )
    with Stubber(ctx.reader_client()) as stub:
        for _ in range(3):
            stub.add_client_error("filter_log_events", service_error_code="ExpiredTokenException")
        stub.add_response(
            "filter_log_events",
            {
                "events": [
                    {
                        "timestamp": 5,
                        "ingestionTime": 6,
                        "logStreamName": "s",
                        "eventId": "1",
                        "message": "back",
                    }
                ]
            },
        )

        def emit(_: object, events: list, __: int) -> None:
            got.extend(e.message for e in events)
            if got:
                stop.set()

        follow_group(ctx, query, 0, stats, emit, stop=stop, interval_s=0.01, policy=policy)
    assert got == ["back"]
    assert any("your AWS credentials expired: refresh them" in n for n in stats.notices)
    assert any("reads recovered" in n for n in stats.notices)


def test_a_window_read_with_expired_credentials_fails_at_once(endpoint, api_id) -> None:
    from botocore.stub import Stubber

    from apilogs.fetch.filter import queries_for as grouped
    from apilogs.fetch.filter import read_window

    ctx = AwsContext(
        session=boto3.Session(region_name="us-east-1"),
        endpoint_url=endpoint,
        logs_limiter=RateLimiter(0),
    )
    [query] = grouped((Source(Role.OTHER, "/g", "us-east-1"),))
    with Stubber(ctx.reader_client()) as stub:
        stub.add_client_error("filter_log_events", service_error_code="ExpiredTokenException")
        with pytest.raises(Exception) as caught:
            list(read_window(ctx, query, 0, None, FetchStats(), stop=threading.Event()))
    assert "ExpiredToken" in str(caught.value)


def test_a_call_that_is_not_answered_is_said_while_waiting(endpoint, client) -> None:
    from tests.support.faultproxy import SLOW

    client("logs").create_log_group(logGroupName="/slow")
    with fault_proxy(endpoint) as proxy:
        proxy.script = [SLOW]
        proxy.slow_seconds = 2.0
        ctx = AwsContext(
            session=boto3.Session(region_name="us-east-1"),
            endpoint_url=proxy.url,
            logs_limiter=RateLimiter(0),
        )
        stats = FetchStats()
        from apilogs.fetch import fetch_window

        list(
            fetch_window(
                ctx,
                queries_for((Source(Role.OTHER, "/slow", "us-east-1"),)),
                0,
                None,
                stats,
                policy=RetryPolicy(notice_after_s=0.5),
            )
        )
    assert any(
        "has not answered a read of /slow for" in n and "still waiting" in n for n in stats.notices
    ), stats.notices
    assert any("/slow: CloudWatch Logs answered after 2 s" in n for n in stats.notices)
