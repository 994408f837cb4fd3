"""The sample's code: what each function does for a request, as durations, log lines, a response
and the downstream calls X-Ray would see. Lambda (`apilogs.demo.lambda_`) turns a `Run` into the
lines it writes."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from apilogs.demo.formats import Ids, json_line, proxy_response
from apilogs.demo.sample import SampleApp, SampleFunction
from apilogs.demo.scenario import Route, Scenario

# What each function does before its first invocation, on a cold start: how long, and what it
# prints.
INIT_DURATION_MS = {
    "eratosthenes-authorizer": (90, 180),
    "eratosthenes-primes": (110, 260),
    "eratosthenes-orders": (320, 640),  # imports boto3
    "eratosthenes-health": (80, 150),
    "eratosthenes-reports": (450, 900),
    "eratosthenes-hello": (120, 210),
    "eratosthenes-export": (1800, 3200),  # a JVM
}
INIT_PRINTS = {
    "eratosthenes-primes": "loading sieve module",
    # The JSON-format function prints during its init too: plain text, no request ID.
    "eratosthenes-orders": "connecting to table orders (boto3 1.35.36)",
}
# Several lines an environment prints while it initialises, at these fractions of its init: the
# JVM's own (https://github.com/fabric8io-images/run-java-sh/issues/117 shows it; on Lambda it
# comes right after INIT_START) and an extension's, as aws-samples/aws-lambda-extensions
# cache-extension-demo/README.md shows them. Plain text in either log format.
EXTENSION = "cache-extension-demo"
INIT_OUTPUT: dict[str, tuple[tuple[float, str], ...]] = {
    "eratosthenes-export": (
        (0.01, "Picked up JAVA_TOOL_OPTIONS: -XX:+TieredCompilation -XX:TieredStopAtLevel=1"),
        (0.3, f"[{EXTENSION}]  Cache successfully loaded"),
        (0.31, f"[{EXTENSION}]  Waiting for event..."),
        (0.32, f"[{EXTENSION}]  Starting Httpserver on port 4000"),
    ),
}
# Functions with that extension: it prints while each invocation runs, no request ID.
EXTENSIONS: dict[str, str] = {"eratosthenes-export": EXTENSION}


@dataclass(frozen=True, slots=True)
class Error:
    """An unhandled error, as the runtime reports it."""

    type: str
    message: str
    # Python: (file, line, function, source line); Node.js: (file, line, function, column)
    frames: tuple[tuple[str, int, str, str], ...]


@dataclass(slots=True)
class Run:
    """What a function did in one invocation."""

    duration_ms: float
    memory_mb: int
    # (fraction of the duration, level or None for a bare print, text)
    lines: list[tuple[float, str | None, str]] = field(default_factory=list)
    failure: str | None = None  # "exception", "timeout", "oom"
    error: Error | None = None
    response: str = ""  # what the function returned
    # Downstream calls, for X-Ray: (from, to) as fractions of the duration, and the subsegment
    # document's fields (name, namespace, aws, http, fault/error/throttle, cause).
    calls: list[tuple[float, float, dict[str, object]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Params:
    query: Mapping[str, str]
    n: str  # /primes/{n}
    ip: str
    api_request_id: str


class SampleCode:
    def __init__(self, app: SampleApp, rng: random.Random, ids: Ids) -> None:
        self._app = app
        self._rng = rng
        self._ids = ids

    def params(self, route: Route, scenario: Scenario, ip: str, api_request_id: str) -> Params:
        rng = self._rng
        query: dict[str, str] = {}
        n = ""
        if route.path == "/primes":
            limit, loops = int(10 ** rng.uniform(1, 6.3)), rng.choice((1, 1, 1, 2, 3))
            if scenario is Scenario.LAMBDA_TIMEOUT:
                limit, loops = rng.choice((20_000_000, 30_000_000)), 3
            elif scenario is Scenario.OUT_OF_MEMORY:
                limit, loops = rng.choice((50_000_000, 80_000_000)), 1
            query = {"max": str(limit), "loops": str(loops)}
            if scenario is Scenario.UNHANDLED_EXCEPTION:
                query["max"] = rng.choice(("ten", "1e6", "100k", "-"))
        elif route.path == "/primes/{n}":
            n = str(
                rng.randint(10**7, 10**9)
                if scenario is Scenario.NOT_FOUND
                else rng.randint(1, 5000)
            )
        return Params(query, n, ip, api_request_id)

    def run(self, route: Route, scenario: Scenario, params: Params) -> Run:
        run = {
            "/primes": self._primes,
            "/primes/{n}": self._nth_prime,
            "/orders": self._orders,
            "/health": self._health,
            "/reports": self._reports,
            "/hello": self._hello,
            "/export": self._export,
        }[route.path](scenario, params)
        if scenario is Scenario.SLOW:
            # Slow, but within both the function's timeout and API Gateway's.
            fn: SampleFunction = getattr(self._app, route.function)
            waits = self._app.integration_timeout_ms(route.key)
            ceiling = 0.85 * min(fn.timeout_s * 1000, waits)
            run.duration_ms = min(run.duration_ms * self._rng.uniform(8, 25), ceiling)
        return run

    def authorizer(self, scenario: Scenario, token: str, method_arn: str) -> Run:
        rng = self._rng
        run = Run(rng.uniform(1.1, 6.0), rng.randint(36, 42))
        run.lines = [(0.1, "INFO", f"authorizing {token[-4:]} for {method_arn}")]
        if scenario is Scenario.AUTH_UNAUTHORIZED:
            # The documented way for a TOKEN authorizer to answer 401.
            run.failure = "exception"
            run.error = Error(
                "Exception",
                "Unauthorized",
                (("/var/task/app.py", 10, "handler", 'raise Exception("Unauthorized")'),),
            )
            return run
        effect = "Deny" if scenario is Scenario.AUTH_DENIED else "Allow"
        run.lines.append((0.8, None, f"policy: {effect} user-{token[-4:]}"))
        run.response = json_line(
            {
                "principalId": f"user-{token[-4:]}",
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}
                    ],
                },
            }
        )
        return run

    def _primes(self, scenario: Scenario, params: Params) -> Run:
        rng = self._rng
        text = params.query["max"]
        if scenario is Scenario.UNHANDLED_EXCEPTION:
            run = Run(rng.uniform(1, 3), rng.randint(38, 42), failure="exception")
            run.error = Error(
                "ValueError",
                f"invalid literal for int() with base 10: '{text}'",
                (("/var/task/app.py", 21, "handler", 'limit = int(params.get("max", 100))'),),
            )
            return run
        limit, loops = int(text), int(params.query["loops"])
        # About 250 ms for a million numbers at 128 MB.
        run = Run(1.2 + limit * loops * 0.00025 * rng.uniform(0.85, 1.3), 38 + limit // 25_000)
        run.lines = [(0.02, "INFO", f"computing primes up to {limit}")]
        if scenario is Scenario.LAMBDA_TIMEOUT:
            run.failure = "timeout"
        elif scenario is Scenario.OUT_OF_MEMORY:
            run.failure = "oom"
            run.duration_ms = rng.uniform(700, 2400)
        else:
            if limit > 500_000:
                run.lines.append((0.03, "WARNING", f"large sieve requested: {limit}"))
            run.lines.append((0.97, None, f"sieve finished: {_prime_count(limit)} primes"))
            run.response = proxy_response(200, {"max": limit, "count": _prime_count(limit)})
        return run

    def _nth_prime(self, scenario: Scenario, params: Params) -> Run:
        rng = self._rng
        run = Run(rng.uniform(2, 25), rng.randint(40, 52))
        run.lines = [(0.05, "INFO", f"looking up prime #{params.n}")]
        if scenario is Scenario.NOT_FOUND:
            run.lines.append((0.9, "WARNING", f"no prime #{params.n}: index out of range"))
            run.response = proxy_response(404, {"message": f"no prime #{params.n}"})
        else:
            run.lines.append((0.9, None, f"prime #{params.n} found in cache"))
            run.response = proxy_response(200, {"n": int(params.n), "prime": 7919})
        return run

    def _orders(self, scenario: Scenario, params: Params) -> Run:
        rng = self._rng
        order_id = f"ord_{self._ids.hex(12)}"
        run = Run(rng.uniform(18, 90), rng.randint(72, 81))
        # Like many handlers, it logs API Gateway's request ID from the event's requestContext.
        received = f"order received: sieve-kit x2 (API request {params.api_request_id})"
        run.lines = [(0.05, "INFO", received)]
        if scenario is Scenario.BAD_REQUEST:
            run.duration_ms = rng.uniform(2, 6)
            run.lines.append((0.6, "WARNING", "rejecting order: quantity must be positive"))
            run.response = proxy_response(400, {"message": "quantity must be positive"})
        elif scenario is Scenario.UNHANDLED_EXCEPTION:
            run.failure = "exception"
            throttled = "The level of configured provisioned throughput for the table was exceeded."
            run.calls = [(0.04, 0.97, _dynamodb("PutItem", 400, retries=4, throttle=throttled))]
            run.error = Error(
                "ClientError",
                "An error occurred (ProvisionedThroughputExceededException) when calling the "
                "PutItem operation (reached max retries: 4): The level of configured provisioned "
                "throughput for the table was exceeded.",
                (
                    ("/var/task/app.py", 31, "handler", "table.put_item(Item=order)"),
                    (
                        "/var/lang/lib/python3.12/site-packages/botocore/client.py",
                        1023,
                        "_make_api_call",
                        "raise error_class(parsed_response, operation_name)",
                    ),
                ),
            )
        else:
            run.lines.append((0.3, None, f"debug: put_item {order_id} consumed 1.0 WCU"))
            run.lines.append((0.95, "INFO", f"order {order_id} stored"))
            run.calls = [(0.08, 0.28, _dynamodb("PutItem", 200))]
            run.response = proxy_response(201, {"orderId": order_id})
        return run

    def _health(self, scenario: Scenario, params: Params) -> Run:
        rng = self._rng
        run = Run(rng.uniform(0.9, 2.6), rng.randint(36, 40), [(0.5, None, "ok")])
        run.response = proxy_response(200, {"status": "ok"})
        return run

    def _export(self, scenario: Scenario, params: Params) -> Run:
        rng = self._rng
        rows = 1229
        run = Run(rng.uniform(140, 900), rng.randint(150, 210))
        # LambdaLogger (a level, the request ID) and System.out (a bare print).
        run.lines = [(0.05, "INFO", "exporting primes as CSV"), (0.9, None, "export written")]
        run.response = proxy_response(200, {"rows": rows})
        return run

    def _reports(self, scenario: Scenario, params: Params) -> Run:
        rng = self._rng
        run = Run(rng.uniform(400, 2500), rng.randint(95, 160))
        run.lines = [(0.02, "INFO", "building monthly report for 2026-10")]
        run.calls = [(0.03, 0.85, _dynamodb("Scan", 200))]
        if scenario is Scenario.INTEGRATION_TIMEOUT:
            # Longer than API Gateway waits; sometimes longer than the function may run.
            waits = self._app.integration_timeout_ms("GET /reports")
            run.duration_ms = rng.uniform(waits + 2_000, 46_000)
            run.lines.append((0.5, "WARNING", "scan is slow: 1843 pages so far"))
            if run.duration_ms >= self._app.reports.timeout_s * 1000:
                run.failure = "timeout"
                run.calls = [(0.03, 1.0, {**_dynamodb("Scan", 200), "fault": True})]
        elif scenario is Scenario.UNHANDLED_EXCEPTION:
            run.failure = "exception"
            run.error = Error(
                "KeyError",
                "'month'",
                (
                    (
                        "/var/task/app.py",
                        12,
                        "handler",
                        'month = event["queryStringParameters"]["month"]',
                    ),
                ),
            )
            return run
        run.lines.append((0.9, None, "report rows: 312"))
        if run.failure is None:
            run.calls.append((0.87, 0.96, _s3("PutObject", "eratosthenes-reports")))
        rows = {"month": "2026-10", "orders": 312}
        # The malformed case returns the rows themselves instead of a proxy response.
        malformed = scenario is Scenario.MALFORMED_RESPONSE
        run.response = json.dumps([rows]) if malformed else proxy_response(200, rows)
        return run

    def _hello(self, scenario: Scenario, params: Params) -> Run:
        rng = self._rng
        run = Run(rng.uniform(1.5, 6.0), rng.randint(62, 70))
        if scenario is Scenario.UNHANDLED_EXCEPTION:
            run.failure = "exception"
            run.error = Error(
                "TypeError",
                "Cannot read properties of undefined (reading 'sourceIp')",
                (
                    ("file:///var/task/index.mjs", 2, "Runtime.handler", "61"),
                    ("file:///var/runtime/index.mjs", 1173, "Runtime.handleOnceNonStreaming", "29"),
                ),
            )
            return run
        run.lines = [(0.4, "INFO", f"GET /hello from {params.ip}")]
        run.response = proxy_response(200, {"message": "hello"})
        return run


def _dynamodb(
    operation: str, status: int, *, retries: int = 0, throttle: str | None = None
) -> dict[str, object]:
    """A DynamoDB call as the X-Ray SDK records it (a subsegment in the `aws` namespace)."""
    doc: dict[str, object] = {
        "name": "DynamoDB",
        "namespace": "aws",
        "http": {"response": {"status": status}},
        "aws": {
            "operation": operation,
            "region": "us-east-1",
            "table_name": "orders",
            "retries": retries,
        },
    }
    if throttle:
        doc.update(
            error=True,
            throttle=True,
            cause={
                "exceptions": [
                    {"type": "ProvisionedThroughputExceededException", "message": throttle}
                ]
            },
        )
    return doc


def _s3(operation: str, bucket: str) -> dict[str, object]:
    return {
        "name": "S3",
        "namespace": "aws",
        "http": {"response": {"status": 200}},
        "aws": {"operation": operation, "region": "us-east-1", "bucket_name": bucket},
    }


def _prime_count(limit: int) -> int:
    """π(x) ≈ x / (ln x − 1): good enough for a log line."""
    if limit <= 10:
        return sum(1 for p in (2, 3, 5, 7) if p <= limit)
    return int(limit / (math.log(limit) - 1))
