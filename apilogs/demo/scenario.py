"""What the traffic generator makes a request do, and what it hands back: the records it wrote and
its ground truth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One CloudWatch Logs event to be: where it goes, when, and its message verbatim."""

    group: str
    stream: str
    timestamp: int  # epoch ms
    message: str


class Scenario(StrEnum):
    """What the demo makes a request do: decides its status and which failure lines it carries.

    Not `apilogs.model.Outcome`, which is what apilogs diagnoses from the lines afterwards."""

    OK = "ok"
    SLOW = "slow"  # 200, but the function ran 8-25x longer than usual
    NOT_FOUND = "not_found"  # 404 from the function (no such prime index)
    BAD_REQUEST = "bad_request"  # 400 from the function (order validation)
    STAGE_THROTTLED = "stage_throttled"  # 429 from the stage's throttle: nothing runs
    AUTH_UNAUTHORIZED = "auth_unauthorized"  # 401: the authorizer raised "Unauthorized"
    AUTH_DENIED = "auth_denied"  # 403: the authorizer returned a Deny policy
    LAMBDA_THROTTLED = "lambda_throttled"  # 500: Lambda refused the invocation with a 429
    UNHANDLED_EXCEPTION = "unhandled_exception"  # 502 (500 on the HTTP API)
    LAMBDA_TIMEOUT = "lambda_timeout"  # 502: "Task timed out after 3.00 seconds"
    OUT_OF_MEMORY = "out_of_memory"  # 502: "Runtime exited with error: signal: killed"
    MALFORMED_RESPONSE = "malformed_response"  # 502: not a proxy response
    INTEGRATION_TIMEOUT = "integration_timeout"  # 504: API Gateway gave up after 29 s


@dataclass(frozen=True, slots=True)
class FailureRates:
    """Probability of each scenario for a request on a route where it can happen.

    Routes draw only the scenarios that make sense for them (only `/primes` has an authorizer,
    only `/reports` outlives API Gateway's timeout, …); what is left is `Scenario.OK`."""

    stage_throttled: float = 0.01
    auth_unauthorized: float = 0.02
    auth_denied: float = 0.03
    lambda_throttled: float = 0.005
    unhandled_exception: float = 0.01
    lambda_timeout: float = 0.008
    out_of_memory: float = 0.005
    malformed_response: float = 0.04
    integration_timeout: float = 0.05
    not_found: float = 0.12
    bad_request: float = 0.06
    slow: float = 0.03

    def rate(self, scenario: Scenario) -> float:
        value: float = getattr(self, scenario.value)
        return value

    def scaled(self, factor: float) -> FailureRates:
        """Every rate multiplied by `factor`: for runs that must show every failure quickly."""
        return replace(self, **{f.name: getattr(self, f.name) * factor for f in fields(self)})


@dataclass(frozen=True, slots=True)
class Route:
    api: str  # "rest" or "http"
    method: str
    path: str  # resource path (REST) or route path (HTTP)
    function: str  # the SampleApp attribute naming the integration's function
    weight: float  # share of all requests
    failures: tuple[Scenario, ...]  # the scenarios it can have besides OK, drawn in this order
    authorized: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


_S = Scenario
ROUTES: tuple[Route, ...] = (
    Route(
        "rest",
        "GET",
        "/primes",
        "primes",
        0.40,
        (
            _S.STAGE_THROTTLED,
            _S.AUTH_UNAUTHORIZED,
            _S.AUTH_DENIED,
            _S.LAMBDA_THROTTLED,
            _S.UNHANDLED_EXCEPTION,
            _S.LAMBDA_TIMEOUT,
            _S.OUT_OF_MEMORY,
            _S.SLOW,
        ),
        authorized=True,
    ),
    Route(
        "rest",
        "GET",
        "/primes/{n}",
        "primes",
        0.18,
        (_S.STAGE_THROTTLED, _S.LAMBDA_THROTTLED, _S.NOT_FOUND, _S.SLOW),
    ),
    Route(
        "rest",
        "POST",
        "/orders",
        "orders",
        0.12,
        (_S.STAGE_THROTTLED, _S.LAMBDA_THROTTLED, _S.BAD_REQUEST, _S.UNHANDLED_EXCEPTION, _S.SLOW),
    ),
    Route("rest", "GET", "/health", "health", 0.12, (_S.STAGE_THROTTLED, _S.SLOW)),
    Route(
        "rest",
        "GET",
        "/reports",
        "reports",
        0.06,
        (
            _S.STAGE_THROTTLED,
            _S.LAMBDA_THROTTLED,
            _S.MALFORMED_RESPONSE,
            _S.INTEGRATION_TIMEOUT,
            _S.UNHANDLED_EXCEPTION,
            _S.SLOW,
        ),
    ),
    Route(
        "http",
        "GET",
        "/hello",
        "hello",
        0.12,
        (_S.STAGE_THROTTLED, _S.LAMBDA_THROTTLED, _S.UNHANDLED_EXCEPTION, _S.SLOW),
    ),
    # Drawn only in the showcase mix (`SHOWCASE_WEIGHTS`): seeded traffic stays what it was.
    Route("rest", "GET", "/export", "export", 0.0, (_S.STAGE_THROTTLED, _S.SLOW)),
)
ROUTES_BY_KEY: Mapping[str, Route] = {r.key: r for r in ROUTES}
# The live demo's mix (`TrafficGenerator(showcase=True)`): every route, /export included.
SHOWCASE_WEIGHTS: Mapping[str, float] = {"GET /export": 0.04}

# The live demo's first half minute: each failure README promises, once, in this order, at these
# offsets (ms) from the demo's start; then the random mix alone. (route, scenario)
SHOWCASE_OPENING: tuple[tuple[int, str, Scenario], ...] = (
    (1_500, "GET /primes", Scenario.LAMBDA_TIMEOUT),  # 502 after the function's 3 s
    (3_000, "GET /reports", Scenario.INTEGRATION_TIMEOUT),  # 504 at 10 s; the function runs on
    (5_000, "GET /export", Scenario.OK),  # cold Java: init output, extension, JSON, shared group
    (7_000, "GET /primes", Scenario.OUT_OF_MEMORY),  # 502
    (9_000, "GET /reports", Scenario.MALFORMED_RESPONSE),  # 502
    (11_000, "GET /primes", Scenario.AUTH_DENIED),  # 403 from the authorizer's Deny
    (13_000, "GET /primes/{n}", Scenario.LAMBDA_THROTTLED),  # 500: Lambda said 429
    (15_000, "GET /health", Scenario.STAGE_THROTTLED),  # 429 from the stage
    (17_000, "POST /orders", Scenario.UNHANDLED_EXCEPTION),  # 502
)

# A request's lines may trail its start by this much (a 504 whose function runs on to its 40 s
# timeout, after a cold start). Writers that keep streams in order hold records back this long.
MAX_REQUEST_SPAN_MS = 60_000


@dataclass(frozen=True, slots=True)
class SimulatedRequest:
    """One request: its ground truth (for tests of correlation) and the records it wrote."""

    api_id: str
    route: str  # a key of ROUTES_BY_KEY: "GET /primes", "GET /hello" (the HTTP API's)
    outcome: Scenario  # the scenario it played, not what apilogs diagnoses from its lines
    status: int
    request_id: str  # API Gateway's
    start_ms: int
    end_ms: int  # when API Gateway answered the client
    records: tuple[LogRecord, ...]
    extended_request_id: str | None = None  # REST only
    trace_id: str | None = None  # "1-…-…"; REST only (HTTP APIs have no X-Ray)
    lambda_request_id: str | None = None  # the integration's invocation (or Lambda's 429)
    authorizer_request_id: str | None = None
    cold_start: bool = False  # the integration's invocation opened a new environment
    sampled: bool = False  # X-Ray sampled it (REST only): its traced functions' REPORTs carry it
    # X-Ray segment documents (JSON) for PutTraceSegments: API Gateway's, and the Lambda service
    # and function segments of each traced function it ran. Empty when not sampled.
    segments: tuple[str, ...] = ()
