"""One boto3 session for the run, its clients, and the rate limiter every CloudWatch Logs read shares.

Also the translation of botocore's exceptions into one-line messages a user can act on."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from apilogs.errors import ApilogsError

# FilterLogEvents is limited to 5 requests/s per account and region, shared with everyone else.
DEFAULT_LOGS_RPS = 5.0

# The IAM action behind each API call we make, so "access denied" can name what is missing.
IAM_ACTIONS: dict[str, str] = {
    "GetRestApi": "apigateway:GET",
    "GetRestApis": "apigateway:GET",
    "GetStage": "apigateway:GET",
    "GetStages": "apigateway:GET",
    "GetResources": "apigateway:GET",
    "GetAuthorizers": "apigateway:GET",
    "GetAccount": "apigateway:GET",
    "GetApi": "apigateway:GET",
    "GetApis": "apigateway:GET",
    "GetIntegrations": "apigateway:GET",
    "GetRoutes": "apigateway:GET",
    "GetFunctionConfiguration": "lambda:GetFunctionConfiguration",
    "DescribeLogGroups": "logs:DescribeLogGroups",
    "FilterLogEvents": "logs:FilterLogEvents",
    "StartQuery": "logs:StartQuery",
    "GetQueryResults": "logs:GetQueryResults",
    "StartLiveTail": "logs:StartLiveTail",
    "GetCallerIdentity": "sts:GetCallerIdentity",
}

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)


class RateLimiter:
    """A token bucket shared by every thread that reads CloudWatch Logs.

    `rate` requests per second with a burst of `rate` tokens; 0 means no limit (local endpoints).
    `slow_down()` halves the rate after a throttle, and it recovers slowly, like adaptive retries."""

    def __init__(
        self,
        rate: float = DEFAULT_LOGS_RPS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._configured = max(0.0, rate)
        self._rate = self._configured
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._configured
        self._updated = clock()
        self._lock = threading.Lock()
        self.throttles = 0
        self.requests = 0

    @property
    def rate(self) -> float:
        return self._rate

    def acquire(self) -> None:
        """Block until a request may be sent."""
        while True:
            with self._lock:
                if self._rate == 0:
                    self.requests += 1
                    return
                now = self._clock()
                elapsed = max(0.0, now - self._updated)
                self._updated = now
                if self._rate < self._configured:
                    # Recover 5 % of the configured rate per second without throttles.
                    self._rate = min(
                        self._configured, self._rate + 0.05 * self._configured * elapsed
                    )
                self._tokens = min(max(self._rate, 1.0), self._tokens + elapsed * self._rate)
                # A hair of tolerance: float sums of sleeps must not leave 0.9999999 forever.
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens -= 1.0
                    self.requests += 1
                    return
                wait = (1.0 - self._tokens) / self._rate
            self._sleep(max(wait, 1e-4))

    def slow_down(self) -> None:
        with self._lock:
            self.throttles += 1
            if self._configured:
                self._rate = max(0.2, self._rate / 2)
                self._tokens = min(self._tokens, 0.0)


@dataclass
class AwsContext:
    """What every stage needs to reach AWS: one session, cached clients, the shared limiter."""

    session: boto3.Session
    endpoint_url: str | None = None
    logs_limiter: RateLimiter = field(default_factory=RateLimiter)
    # Reads in flight at once. A page being received and parsed costs several times its 1 MB;
    # four in flight keep 5 requests/s busy at AWS's latencies, and bound that transient memory.
    logs_in_flight: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(4), repr=False
    )
    max_attempts: int = 10
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise ApilogsError(
                "no AWS region: pass --region, set AWS_REGION, or set a region in your profile",
                exit_code=2,
            )
        return str(region)

    def client(self, service: str, region: str | None = None) -> Any:
        """A client for `service` in `region` (default: the session's), made once, shared."""
        region = region or self.region
        key = (service, region)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                config = Config(
                    retries={"mode": "adaptive", "max_attempts": self.max_attempts},
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                    max_pool_connections=32,
                    user_agent_extra="apilogs",
                )
                found = self.session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=config
                )
                if service == "logs":
                    # botocore retries throttles by itself; we still want to slow every reader
                    # down and to tell the user.
                    found.meta.events.register("needs-retry.logs", self._on_logs_retry)
                self._clients[key] = found
            return found

    def _on_logs_retry(self, response: Any = None, **_: Any) -> None:
        if not response:
            return
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
        code = str((parsed or {}).get("Error", {}).get("Code", ""))
        if code in THROTTLING_CODES:
            self.logs_limiter.slow_down()


def make_context(
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_rps: float = DEFAULT_LOGS_RPS,
) -> AwsContext:
    """Build the run's session. boto3 itself honours AWS_ENDPOINT_URL(_<SERVICE>) when
    `endpoint_url` is None, and the standard credential chain."""
    # botocore reads AWS_DEFAULT_REGION; the newer AWS_REGION (what the CLI v2 and SDKs use) too.
    region = region or os.environ.get("AWS_REGION") or None
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise ApilogsError(f"AWS profile '{profile}' not found in your AWS config") from None
    attempts = os.environ.get("AWS_MAX_ATTEMPTS", "")
    return AwsContext(
        session=session,
        endpoint_url=endpoint_url,
        logs_limiter=RateLimiter(max_rps),
        max_attempts=int(attempts) if attempts.isdigit() and int(attempts) > 0 else 10,
    )


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_throttle(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES


def describe_aws_error(exc: BaseException) -> ApilogsError | None:
    """One actionable line for the AWS failures every command can meet, or None if not ours."""
    if isinstance(exc, ApilogsError):
        return exc
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return ApilogsError(
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or run 'aws configure' / 'aws sso login'",
            exit_code=2,
        )
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return ApilogsError(
            "no AWS region: pass --region, set AWS_REGION, or set a region in your profile",
            exit_code=2,
        )
    if isinstance(exc, botocore.exceptions.TokenRetrievalError | botocore.exceptions.SSOError):
        return ApilogsError(f"AWS SSO login needed: run 'aws sso login' ({exc})", exit_code=2)
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return ApilogsError(f"cannot reach the AWS endpoint: {exc}", exit_code=3)
    if isinstance(
        exc, botocore.exceptions.ConnectionClosedError | botocore.exceptions.ReadTimeoutError
    ):
        return ApilogsError(f"connection to AWS failed: {exc}", exit_code=3)
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        operation = getattr(exc, "operation_name", "") or ""
        message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        if code in {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}:
            return ApilogsError(
                "your AWS session token has expired: refresh your credentials "
                "(e.g. 'aws sso login') and try again",
                exit_code=2,
            )
        if code in {
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
        }:
            return ApilogsError(f"AWS rejected your credentials ({code}): {message}", exit_code=2)
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            action = IAM_ACTIONS.get(operation, operation or "the needed action")
            return ApilogsError(
                f"access denied: your identity lacks {action} (calling {operation}). {message}".strip(),
                exit_code=4,
            )
        if code in THROTTLING_CODES:
            return ApilogsError(
                f"AWS kept throttling {operation} after retries; try again or lower --max-rps",
                exit_code=5,
            )
        return ApilogsError(f"AWS error in {operation}: {code}: {message}", exit_code=1)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return ApilogsError(f"AWS client error: {exc}", exit_code=1)
    return None
