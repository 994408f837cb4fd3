"""Failures moto cannot produce, each from one precise response through botocore's Stubber:
access denied, an expired token, a server that repeats its page token."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.stub import ANY, Stubber

from apilogs.aws import AwsContext, RateLimiter, describe_aws_error
from apilogs.cli.status import ExitStatus, exit_status
from apilogs.discover import discover_topology
from apilogs.fetch import FetchStats
from apilogs.fetch.filter import GroupQuery, read_window
from apilogs.model import Role, Source


@pytest.fixture
def ctx() -> AwsContext:
    # No endpoint is ever reached: every call below is answered by a Stubber.
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    return AwsContext(
        session=session, endpoint_url="http://127.0.0.1:9", logs_limiter=RateLimiter(0)
    )


def test_access_denied_names_the_missing_action(ctx: AwsContext) -> None:
    """With no stage to infer a topology from (tests/test_storm.py shows the inference), a
    denied API lookup is the error, naming the action."""
    with Stubber(ctx.client("apigateway")) as v1, Stubber(ctx.client("apigatewayv2")) as v2:
        for stub, operation in ((v1, "get_rest_api"), (v2, "get_api")):
            stub.add_client_error(
                operation,
                service_error_code="AccessDeniedException",
                service_message="User: arn:aws:iam::1:user/dev is not authorized",
                http_status_code=403,
            )
        with pytest.raises(Exception) as caught:
            discover_topology(ctx, "abc123", None)
    error = describe_aws_error(caught.value)
    assert error is not None and exit_status(error) is ExitStatus.AWS
    assert str(error).startswith(
        "access denied: your identity lacks apigateway:GET (calling GetRestApi)"
    )


def test_expired_token(ctx: AwsContext) -> None:
    with Stubber(ctx.client("apigateway")) as stub:
        stub.add_client_error(
            "get_rest_api", service_error_code="ExpiredTokenException", http_status_code=403
        )
        with pytest.raises(Exception) as caught:
            discover_topology(ctx, "abc123", "prod")
    error = describe_aws_error(caught.value)
    assert error is not None
    assert "session token has expired" in str(error) and "aws sso login" in str(error)


def _event(i: int) -> dict[str, object]:
    return {
        "logStreamName": "s",
        "timestamp": 1000 + i,
        "ingestionTime": 1001 + i,
        "message": f"m{i}",
        "eventId": str(i),
    }


def test_empty_pages_with_a_token_are_followed_and_a_repeated_token_stops(ctx: AwsContext) -> None:
    source = Source(Role.LAMBDA, "/aws/lambda/f", "us-east-1", function_name="f")
    query = GroupQuery("/aws/lambda/f", "us-east-1", (source,))
    stats = FetchStats()
    params = {"logGroupName": "/aws/lambda/f", "interleaved": True, "startTime": 0, "endTime": 5000}
    with Stubber(ctx.reader_client()) as stub:
        stub.add_response("filter_log_events", {"events": [_event(1)], "nextToken": "t1"}, params)
        # An empty page with a token: keep going.
        stub.add_response(
            "filter_log_events", {"events": [], "nextToken": "t2"}, {**params, "nextToken": "t1"}
        )
        stub.add_response(
            "filter_log_events",
            {"events": [_event(2)], "nextToken": "t2"},
            {**params, "nextToken": "t2"},
        )
        pages = list(read_window(ctx, query, 0, 5000, stats, stop=threading.Event()))
        stub.assert_no_pending_responses()
    assert [e.message for page in pages for e in page] == ["m1", "m2"]
    assert stats.pages == 3
    assert any("same page token twice" in n for n in stats.notices)


def test_group_deleted_while_reading_is_a_notice(ctx: AwsContext) -> None:
    source = Source(Role.ACCESS, "/gone", "us-east-1")
    stats = FetchStats()
    with Stubber(ctx.reader_client()) as stub:
        stub.add_client_error(
            "filter_log_events",
            service_error_code="ResourceNotFoundException",
            expected_params={"logGroupName": "/gone", "interleaved": True, "startTime": ANY},
        )
        pages = list(
            read_window(
                ctx,
                GroupQuery("/gone", "us-east-1", (source,)),
                0,
                None,
                stats,
                stop=threading.Event(),
            )
        )
    assert pages == []
    assert stats.notices == ["log group /gone does not exist: skipped"]
