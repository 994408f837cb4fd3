"""One boto3 session for the run, its clients, and the rate limiter every CloudWatch Logs read shares.

Also the translation of botocore's exceptions into apilogs's typed errors."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from apilogs.cancel import StopSignal
from apilogs.errors import (
    AccessDenied,
    ApilogsError,
    AwsServiceError,
    AwsThrottled,
    CredentialsExpired,
    CredentialsRejected,
    EndpointUnreachable,
    LoginRequired,
    NoCredentials,
    NoRegion,
    ProfileNotFound,
)

# FilterLogEvents is limited to 5 requests/s per account and region, shared with everyone else.
DEFAULT_LOGS_RPS = 5.0
MAX_IN_FLIGHT = 10

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
    "GetBasePathMappings": "apigateway:GET",
    "GetApiMappings": "apigateway:GET",
    "GetDomainName": "apigateway:GET",
    "ListRoutingRules": "apigateway:GET",
    "GetFunctionConfiguration": "lambda:GetFunctionConfiguration",
    "DescribeLogGroups": "logs:DescribeLogGroups",
    "FilterLogEvents": "logs:FilterLogEvents",
    "StartQuery": "logs:StartQuery",
    "GetQueryResults": "logs:GetQueryResults",
    "StartLiveTail": "logs:StartLiveTail",
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "BatchGetTraces": "xray:BatchGetTraces",
    "GetTraceSegmentDestination": "xray:GetTraceSegmentDestination",
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


# How soon a request that let an earlier-placed one go first looks again.
_STAND_ASIDE_S = 0.005

# Where a waiting request stands: lower goes first (see RateLimiter).
Place = tuple[int, int]


class WaitingOrder:
    """The places of the callers waiting for a token or a slot (not thread-safe: the owner's
    lock guards it). The lowest goes first; a caller with no place is not ordered."""

    def __init__(self) -> None:
        self._places: list[Place] = []

    def enter(self, place: Place) -> None:
        self._places.append(place)

    def leave(self, place: Place) -> None:
        self._places.remove(place)

    def first(self, place: Place | None) -> bool:
        return place is None or not self._places or place <= min(self._places)


class RateLimiter:
    """A token bucket shared by every thread that reads CloudWatch Logs.

    At most `rate` requests per second, kept a little under it (`MARGIN`), with a burst one
    token short of the quota's: CloudWatch's own bucket must still have a token when a call
    that left on time arrives early (threads, the GIL and the network bunch calls up), since a
    throttle costs a round trip and a slower rate after it. 0 means no limit (local
    endpoints). `slow_down()` takes the rate to 70 % after a throttle (as botocore's adaptive
    mode does), and it recovers slowly. Every attempt, retries included, takes a token: the
    budget is the account's, not a call's.

    A request may say where it stands (`place`: lower first), and of those waiting the lowest
    takes the next token. A merged read prints nothing until every group has answered, then
    in time order: it places every group's first page first, then the first page of each time
    slice of a big group (each begins a chain of pages that can only be read one after
    another: begun early, the chains run side by side, not one after the other at the end),
    then every other page by the time it reads from."""

    MARGIN = 0.95

    def __init__(
        self,
        rate: float = DEFAULT_LOGS_RPS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._configured = max(0.0, rate)
        self._ceiling = self._configured * self.MARGIN
        self._burst = max(1.0, self._configured - 1.0)
        self._rate = self._ceiling
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._burst if self._configured else 0.0
        self._updated = clock()
        self._lock = threading.Lock()
        self.throttles = 0
        self.requests = 0
        self._waiting = WaitingOrder()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def configured(self) -> float:
        """The rate asked for (0: no limit), whatever throttles did to `rate`."""
        return self._configured

    def acquire(
        self,
        stop: StopSignal | None = None,
        timeout_s: float | None = None,
        *,
        place: Place | None = None,
    ) -> bool:
        """Block until a request may be sent; False (and no token taken) once `stop` is set or
        `timeout_s` has passed."""
        if place is None:
            return self._acquire(stop, timeout_s, None)
        with self._lock:
            self._waiting.enter(place)
        try:
            return self._acquire(stop, timeout_s, place)
        finally:
            with self._lock:
                self._waiting.leave(place)

    def _acquire(
        self, stop: StopSignal | None, timeout_s: float | None, place: Place | None
    ) -> bool:
        deadline = None if timeout_s is None else self._clock() + timeout_s
        while True:
            if stop is not None and stop.is_set():
                return False
            if deadline is not None and self._clock() >= deadline:
                return False
            with self._lock:
                if self._rate == 0:
                    self.requests += 1
                    return True
                now = self._clock()
                elapsed = max(0.0, now - self._updated)
                self._updated = now
                if self._rate < self._ceiling:
                    # Recover 5 % of the configured rate per second without throttles.
                    self._rate = min(self._ceiling, self._rate + 0.05 * self._configured * elapsed)
                self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
                first = self._waiting.first(place)
                # A hair of tolerance: float sums of sleeps must not leave 0.9999999 forever.
                if self._tokens >= 1.0 - 1e-9 and first:
                    self._tokens -= 1.0
                    self.requests += 1
                    return True
                wait = max((1.0 - self._tokens) / self._rate, 0.0)
                # Not first: look again just after an earlier request has taken the token.
                wait = max(wait, 1e-4) if first else wait + _STAND_ASIDE_S
                if deadline is not None:
                    wait = min(wait, max(1e-4, deadline - now))
            if stop is not None:
                if stop.wait(wait):
                    return False
            else:
                self._sleep(wait)

    def slow_down(self) -> None:
        """One throttled response: counted once, and every reader slows down."""
        with self._lock:
            self.throttles += 1
            if self._configured:
                self._rate = max(0.2, self._rate * 0.7)
                self._tokens = min(self._tokens, 0.0)


class Slots:
    """At most `capacity` holders at once; the capacity can grow while in use (a read of many
    groups sends every group's first page at once). Of those waiting with a `place`, the lowest
    gets the next free slot (see RateLimiter)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._held = 0
        self._waiting = WaitingOrder()
        self._cond = threading.Condition()

    @property
    def capacity(self) -> int:
        return self._capacity

    def at_least(self, capacity: int) -> None:
        with self._cond:
            if capacity > self._capacity:
                self._capacity = capacity
                self._cond.notify_all()

    def acquire(self, timeout: float | None = None, *, place: Place | None = None) -> bool:
        with self._cond:
            if place is not None:
                self._waiting.enter(place)
            try:
                if not self._cond.wait_for(
                    lambda: self._held < self._capacity and self._waiting.first(place),
                    timeout,
                ):
                    return False
            finally:
                if place is not None:
                    self._waiting.leave(place)
                    # Those that stood aside for it may go now.
                    self._cond.notify_all()
            self._held += 1
            return True

    def release(self) -> None:
        with self._cond:
            self._held -= 1
            self._cond.notify()


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """How every AWS call but the readers' pages (which retry in `apilogs.fetch`, through the
    shared limiter) survives a busy account: discovery, Lambda configurations, log group
    descriptions, Insights, Live Tail's set-up, X-Ray. Throttling, 5xx, dropped connections and
    calls with no answer are tried again with jittered back-off until `give_up_after_s` (the
    run's `--fail-after`); a call failing longer than `say_after_s` is said while it waits."""

    give_up_after_s: float = 60.0
    first_delay_s: float = 0.2
    max_delay_s: float = 4.0
    say_after_s: float = 3.0
    # A call with no answer for this long is sent again (and said): a hung endpoint is noticed
    # in seconds, not after botocore's 60. API Gateway, Lambda and describe calls answer in
    # well under a second even when AWS is busy.
    read_timeout_s: float = 10.0
    # A connection refused is tried this often: a wrong --endpoint-url must fail fast.
    refused_attempts: int = 2


CALL_POLICY = CallPolicy()


@dataclass(frozen=True, slots=True)
class CallTrouble:
    """A call that keeps failing and is being tried again: what a front end says while it waits."""

    service: str
    operation: str
    reason: str
    failing_for_s: float
    attempts: int
    give_up_after_s: float

    def describe(self) -> str:
        call = f"{self.service} {self.operation}"
        if self.reason.startswith("no answer"):
            what = f"{call}: {self.reason}"
        else:
            what = (
                f"AWS keeps failing {call} ({self.reason}; {self.attempts} attempts in "
                f"{self.failing_for_s:.{0 if self.failing_for_s >= 10 else 1}f} s)"
            )
        return f"{what}: trying again, for up to {self.give_up_after_s:.0f} s"


def call_trouble_reason(response: Any, caught: BaseException | None) -> str | None:
    """Why an attempt is worth another (a throttle, a 5xx, a broken or silent connection), or
    None when it succeeded or failed for good (denied, not found, bad input)."""
    if caught is not None:
        if isinstance(caught, botocore.exceptions.ReadTimeoutError):
            return "no answer"
        if isinstance(caught, botocore.exceptions.EndpointConnectionError):
            return "connection refused"
        if isinstance(caught, TRANSIENT_EXCEPTIONS):
            return "connection dropped"
        return None
    if not response:
        return None
    parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
    if not isinstance(parsed, dict):
        return None
    code = str((parsed.get("Error") or {}).get("Code") or "")
    status = (parsed.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code in THROTTLING_CODES:
        return "throttled"
    if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
        return code or f"HTTP {status}"
    return None


class PersistentCalls:
    """botocore's `needs-retry` hook for one client: it decides every retry (the client's own
    retries are off), so one policy holds for every service and every call, paginators too."""

    def __init__(
        self,
        policy: CallPolicy,
        report: Callable[[CallTrouble], None] | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.report = report
        self._clock = clock
        self._jitter = jitter

    def __call__(
        self,
        attempts: int,
        response: Any = None,
        caught_exception: BaseException | None = None,
        operation: Any = None,
        request_dict: dict[str, Any] | None = None,
        **_: Any,
    ) -> float | None:
        reason = call_trouble_reason(response, caught_exception)
        if reason is None:
            return None
        policy = self.policy
        if reason == "connection refused" and attempts >= policy.refused_attempts:
            return None
        now = self._clock()
        context = (request_dict or {}).setdefault("context", {})
        if "apilogs_first_failure" not in context:
            # The first attempt began a read timeout before it failed, when it timed out.
            context["apilogs_first_failure"] = now - (
                policy.read_timeout_s if reason == "no answer" else 0.0
            )
        failing_for = now - float(context["apilogs_first_failure"])
        # Full jitter: callers throttled together must not come back together.
        ceiling = min(policy.max_delay_s, policy.first_delay_s * 2 ** (attempts - 1))
        delay = ceiling / 2 + self._jitter() * ceiling / 2
        if failing_for + delay > policy.give_up_after_s:
            return None
        # A short --fail-after is still said before the call is given up on.
        say_after = min(policy.say_after_s, policy.give_up_after_s / 2)
        if reason == "no answer" or failing_for + delay >= say_after:
            self._say(context, operation, reason, failing_for, attempts)
        return float(delay)

    def _say(
        self,
        context: dict[str, Any],
        operation: Any,
        reason: str,
        failing_for: float,
        attempts: int,
    ) -> None:
        """Once a call: a call that keeps failing is told while it waits, not at the end."""
        if self.report is None or context.get("apilogs_said"):
            return
        context["apilogs_said"] = True
        service_model = getattr(operation, "service_model", None)
        if reason == "no answer":
            reason = f"no answer within {self.policy.read_timeout_s:.0f} s"
        self.report(
            CallTrouble(
                str(getattr(service_model, "service_name", "") or "aws"),
                str(getattr(operation, "name", "") or "?"),
                reason,
                failing_for,
                attempts,
                self.policy.give_up_after_s,
            )
        )


@dataclass
class AwsContext:
    """What every stage needs to reach AWS: one session, cached clients, the shared limiter."""

    session: boto3.Session
    endpoint_url: str | None = None
    logs_limiter: RateLimiter = field(default_factory=RateLimiter)
    # Reads in flight at once. A page being received and parsed costs several times its 1 MB;
    # four in flight keep 5 requests/s busy at AWS's latencies, and bound that transient memory.
    # A read of more groups raises it (to at most MAX_IN_FLIGHT) so every group's first page
    # goes out at once.
    logs_in_flight: Slots = field(default_factory=lambda: Slots(4), repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    # Every call but the readers' pages: retried under this policy, troubles told to `on_trouble`.
    call_policy: CallPolicy = CALL_POLICY
    on_trouble: Callable[[CallTrouble], None] | None = field(default=None, repr=False)
    _clients: dict[tuple[str, str, bool], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise NoRegion()
        return str(region)

    def client(self, service: str, region: str | None = None) -> Any:
        """A client for `service` in `region` (default: the session's), made once, shared.

        Its retries are `call_policy`'s (`PersistentCalls`), not botocore's: a busy account must
        not end a run because one discovery call was throttled three times."""
        return self._client(service, region, reader=False)

    def reader_client(self, region: str | None = None) -> Any:
        """The CloudWatch Logs client the readers use: botocore does not retry here, because
        the reader does (one retry layer): every attempt then goes through the shared limiter,
        is counted once, and a back-off can be cut short by `stop`."""
        return self._client("logs", region, reader=True)

    def one_try_client(self, service: str, region: str | None = None) -> Any:
        """A client whose calls are tried once: for a call whose answer is only a hint, where
        waiting out a failing service (the call policy waits up to a minute) would cost the
        user more than the hint is worth."""
        return self._client(service, region, reader=True)

    def _client(self, service: str, region: str | None, *, reader: bool) -> Any:
        region = region or self.region
        key = (service, region, reader)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                options: dict[str, Any] = {
                    "connect_timeout": self.connect_timeout,
                    "read_timeout": self.read_timeout,
                    "max_pool_connections": 32,
                    "user_agent_extra": "apilogs",
                    "retries": {"mode": "standard", "total_max_attempts": 1},
                }
                if not reader:
                    options["read_timeout"] = min(
                        self.read_timeout, self.call_policy.read_timeout_s
                    )
                found = self.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=Config(**options),
                )
                if not reader:
                    found.meta.events.register_first(
                        "needs-retry", PersistentCalls(self.call_policy, self._tell_trouble)
                    )
                self._clients[key] = found
            return found

    def _tell_trouble(self, trouble: CallTrouble) -> None:
        # Read when told: a front end may set `on_trouble` after the clients were made.
        if self.on_trouble is not None:
            self.on_trouble(trouble)


def make_context(
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_rps: float = DEFAULT_LOGS_RPS,
    session: boto3.Session | None = None,
    call_policy: CallPolicy = CALL_POLICY,
    on_trouble: Callable[[CallTrouble], None] | None = None,
) -> AwsContext:
    """Build the run's session. boto3 itself honours AWS_ENDPOINT_URL(_<SERVICE>) when
    `endpoint_url` is None, and the standard credential chain."""
    if session is None:
        # botocore reads AWS_DEFAULT_REGION; the newer AWS_REGION (what the CLI v2 and SDKs
        # use) too.
        region = region or os.environ.get("AWS_REGION") or None
        try:
            session = boto3.Session(profile_name=profile, region_name=region)
        except botocore.exceptions.ProfileNotFound:
            raise ProfileNotFound(profile or "") from None
    return AwsContext(
        session=session,
        endpoint_url=endpoint_url,
        logs_limiter=RateLimiter(max_rps),
        call_policy=call_policy,
        on_trouble=on_trouble,
    )


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_throttle(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES


# Answers worth another attempt: the service is busy or a connection broke on the way.
TRANSIENT_CODES = frozenset(
    {
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ResponseStreamingError,
)


# The caller's credentials ran out: a refresh (e.g. `aws sso login`) mends it.
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
EXPIRED_EXCEPTIONS: tuple[type[BaseException], ...] = (
    botocore.exceptions.TokenRetrievalError,
    botocore.exceptions.SSOTokenLoadError,
    botocore.exceptions.UnauthorizedSSOTokenError,
)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: throttled, the service busy, or the connection broken on the way."""
    if isinstance(exc, TRANSIENT_EXCEPTIONS):
        return True
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        if code in THROTTLING_CODES or code in TRANSIENT_CODES:
            return True
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return isinstance(status, int) and status >= 500
    return False


def describe_aws_error(exc: BaseException) -> ApilogsError | None:
    """The typed error for the AWS failures every command can meet, or None if not ours."""
    if isinstance(exc, ApilogsError):
        return exc
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return NoCredentials()
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return NoRegion()
    if isinstance(exc, botocore.exceptions.TokenRetrievalError | botocore.exceptions.SSOError):
        return LoginRequired(str(exc))
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return EndpointUnreachable(str(exc))
    if isinstance(exc, TRANSIENT_EXCEPTIONS):
        return EndpointUnreachable(f"the connection failed: {exc}")
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc)
        operation = getattr(exc, "operation_name", "") or ""
        message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        if code in EXPIRED_CODES:
            return CredentialsExpired()
        if code in {
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "InvalidSignatureException",
            "SignatureDoesNotMatch",
        }:
            return CredentialsRejected(code, message)
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            return AccessDenied(
                IAM_ACTIONS.get(operation, operation or "the needed action"), operation, message
            )
        if code in THROTTLING_CODES:
            return AwsThrottled(operation)
        return AwsServiceError(operation, code, message)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsServiceError("", type(exc).__name__, str(exc))
    return None
