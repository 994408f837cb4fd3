"""Realistic log traffic for the sample application: the lines AWS writes for each API request.

Pure and seeded: no boto3, no clock. Given a `SampleApp` and a seed, the same calls yield the same
records, so the demo, the tests and the benchmark all read the same kind of data.

One simulated request writes what API Gateway and Lambda would write for it:
- REST API: execution log lines (`({requestId}) …`), one access log line in the stage's format,
  the authorizer's Lambda lines and the integration's Lambda lines;
- HTTP API: one access log line and the integration's Lambda lines (HTTP APIs have no execution
  log).

Lambda execution environments are simulated: an environment (one log stream) serves one invocation
at a time and is reused while traffic keeps it warm; a cold start opens a new stream with
`INIT_START` and an `Init Duration`. Cold starts come from first use, concurrency (bursts of calls),
idle reclaim, the end of an environment's life, and crashes or timeouts."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum

from apilogs.demo.sample import MAX_INTEGRATION_TIMEOUT_MS, SampleApp, SampleFunction

# ---------------------------------------------------------------------------------------------
# What the generator produces.


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One CloudWatch Logs event to be: where it goes, when, and its message verbatim."""

    group: str
    stream: str
    timestamp: int  # epoch ms
    message: str


class Outcome(StrEnum):
    """What happened to a request: decides its status and which failure lines it carries."""

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
    """Probability of each outcome for a request on a route where it can happen.

    Routes draw only the outcomes that make sense for them (only `/primes` has an authorizer,
    only `/reports` outlives API Gateway's timeout, …); what is left is `Outcome.OK`."""

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

    def rate(self, outcome: Outcome) -> float:
        value: float = getattr(self, outcome.value)
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
    failures: tuple[Outcome, ...]  # the outcomes it can have besides OK, drawn in this order
    authorized: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


_O = Outcome
ROUTES: tuple[Route, ...] = (
    Route(
        "rest",
        "GET",
        "/primes",
        "primes",
        0.40,
        (
            _O.STAGE_THROTTLED,
            _O.AUTH_UNAUTHORIZED,
            _O.AUTH_DENIED,
            _O.LAMBDA_THROTTLED,
            _O.UNHANDLED_EXCEPTION,
            _O.LAMBDA_TIMEOUT,
            _O.OUT_OF_MEMORY,
            _O.SLOW,
        ),
        authorized=True,
    ),
    Route(
        "rest",
        "GET",
        "/primes/{n}",
        "primes",
        0.18,
        (_O.STAGE_THROTTLED, _O.LAMBDA_THROTTLED, _O.NOT_FOUND, _O.SLOW),
    ),
    Route(
        "rest",
        "POST",
        "/orders",
        "orders",
        0.12,
        (_O.STAGE_THROTTLED, _O.LAMBDA_THROTTLED, _O.BAD_REQUEST, _O.UNHANDLED_EXCEPTION, _O.SLOW),
    ),
    Route("rest", "GET", "/health", "health", 0.12, (_O.STAGE_THROTTLED, _O.SLOW)),
    Route(
        "rest",
        "GET",
        "/reports",
        "reports",
        0.06,
        (
            _O.STAGE_THROTTLED,
            _O.LAMBDA_THROTTLED,
            _O.MALFORMED_RESPONSE,
            _O.INTEGRATION_TIMEOUT,
            _O.UNHANDLED_EXCEPTION,
            _O.SLOW,
        ),
    ),
    Route(
        "http",
        "GET",
        "/hello",
        "hello",
        0.12,
        (_O.STAGE_THROTTLED, _O.LAMBDA_THROTTLED, _O.UNHANDLED_EXCEPTION, _O.SLOW),
    ),
)
ROUTES_BY_KEY: Mapping[str, Route] = {r.key: r for r in ROUTES}

# A request's lines may trail its start by this much (a 504 whose function runs on to its 40 s
# timeout, after a cold start). Writers that keep streams in order hold records back this long.
MAX_REQUEST_SPAN_MS = 60_000
INTEGRATION_TIMEOUT_MS = MAX_INTEGRATION_TIMEOUT_MS


@dataclass(frozen=True, slots=True)
class SimulatedRequest:
    """One request: its ground truth (for tests of correlation) and the records it wrote."""

    api_id: str
    route: str  # a key of ROUTES_BY_KEY: "GET /primes", "GET /hello" (the HTTP API's)
    outcome: Outcome
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


# ---------------------------------------------------------------------------------------------
# Formats, as AWS prints them (English names whatever the locale).

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso_ms(ms: int) -> str:
    """2026-11-24T10:15:30.123Z: Lambda's timestamps."""
    return f"{_utc(ms):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _http_date(ms: int) -> str:
    d = _utc(ms)
    return f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d:%Y %H:%M:%S} GMT"


def _clf_time(ms: int) -> str:
    """$context.requestTime: 24/Nov/2026:10:15:30 +0000."""
    d = _utc(ms)
    return f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d:%Y:%H:%M:%S} +0000"


_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


def render_access_log(log_format: str, values: Mapping[str, object]) -> str:
    """Fill an access log format as API Gateway does: '-' for a variable without a value."""

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return "-" if value is None or value == "" else str(value)

    return _CONTEXT_VARIABLE.sub(substitute, log_format)


def _json_line(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _truncate(text: str, limit: int = 1000) -> str:
    """API Gateway cuts logged bodies and header lists at about 1 KB."""
    return text if len(text) <= limit else text[:limit] + " [TRUNCATED]"


def _mask(secret: str) -> str:
    return "*" * (len(secret) - 4) + secret[-4:]


def _proxy(status: int, body: object) -> str:
    """A Lambda proxy response as the Python runtime serialises it."""
    headers = {"Content-Type": "application/json"}
    return json.dumps({"statusCode": status, "headers": headers, "body": _json_line(body)})


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, digits: int) -> str:
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"

    def short(self) -> str:
        """An extended request ID (and an HTTP API's request ID): 'GqT38H-FFiAFhLQ='."""
        return base64.urlsafe_b64encode(self._rng.randbytes(11)).decode()

    def trace(self, t_ms: int) -> str:
        return f"1-{t_ms // 1000:08x}-{self.hex(24)}"


@dataclass(frozen=True, slots=True)
class _Trace:
    trace_id: str
    sampled: bool


def segment_id(trace_id: str, purpose: str) -> str:
    """A segment ID (16 hex digits) derived from the trace: no draw from the traffic's random
    stream, so sampled and unsampled runs of one seed stay the same traffic."""
    return hashlib.blake2b(f"{trace_id}:{purpose}".encode(), digest_size=8).hexdigest()


def _seconds(ms: float) -> float:
    return round(ms / 1000, 3)


# ---------------------------------------------------------------------------------------------
# Lambda: what a function did in one invocation, and the lines Lambda writes for it.


@dataclass(frozen=True, slots=True)
class _Error:
    type: str
    message: str
    # Python: (file, line, function, source line); Node.js: (file, line, function, column)
    frames: tuple[tuple[str, int, str, str], ...]


@dataclass(slots=True)
class _Run:
    duration_ms: float
    memory_mb: int
    # (fraction of the duration, level or None for a bare print, text)
    lines: list[tuple[float, str | None, str]] = field(default_factory=list)
    failure: str | None = None  # "exception", "timeout", "oom"
    error: _Error | None = None
    response: str = ""  # what the function returned
    # Downstream calls, for X-Ray: (from, to) as fractions of the duration, and the subsegment
    # document's fields (name, namespace, aws, http, fault/error/throttle, cause).
    calls: list[tuple[float, float, dict[str, object]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Invocation:
    request_id: str
    end_ms: int  # REPORT written; the caller has its answer right after
    cold: bool
    failure: str | None
    error_message: str | None  # as API Gateway quotes it: "customer function error: …"
    response: str  # what the caller receives
    segment_id: str
    segments: tuple[str, ...] = ()  # the Lambda service and function segments, when traced


@dataclass(slots=True)
class _Environment:
    stream: str
    created_ms: int
    free_at_ms: int  # end of its last invocation: it cannot start another one before
    idle_limit_ms: int
    lifetime_ms: int
    max_memory_mb: int = 0  # REPORT's Max Memory Used is the environment's high-water mark


class _EnvironmentPool:
    """The execution environments of one function: one log stream each."""

    def __init__(self, function: SampleFunction, rng: random.Random, ids: _Ids) -> None:
        self._function = function
        self._rng = rng
        self._ids = ids
        self._environments: list[_Environment] = []

    def acquire(self, t_ms: int) -> tuple[_Environment, bool]:
        """An idle warm environment, or a new one (a cold start); never one busy at t_ms."""
        self._environments = [
            e
            for e in self._environments
            if t_ms - e.created_ms < e.lifetime_ms and t_ms - e.free_at_ms < e.idle_limit_ms
        ]
        idle = [e for e in self._environments if e.free_at_ms <= t_ms]
        if idle:
            return max(idle, key=lambda e: e.free_at_ms), False
        fn = self._function
        # Custom log groups may be shared, so their streams carry the function's name.
        prefix = fn.name if fn.shares_log_group else ""
        environment = _Environment(
            stream=f"{_utc(t_ms):%Y/%m/%d}/{prefix}[{fn.version}]{self._ids.hex(32)}",
            created_ms=t_ms,
            free_at_ms=t_ms,
            # Lambda reclaims idle environments after minutes and recycles all within hours.
            idle_limit_ms=self._rng.randint(5, 15) * 60_000,
            lifetime_ms=self._rng.randint(40, 130) * 60_000,
        )
        self._environments.append(environment)
        return environment, True

    def retire(self, environment: _Environment) -> None:
        """After a crash or a timeout Lambda does not reuse the environment."""
        if environment in self._environments:
            self._environments.remove(environment)


_RUNTIME_VERSIONS = {"python3.12": "python:3.12.v38", "nodejs20.x": "nodejs:20.v33"}
_INIT_DURATION_MS = {
    "eratosthenes-authorizer": (90, 180),
    "eratosthenes-primes": (110, 260),
    "eratosthenes-orders": (320, 640),  # imports boto3
    "eratosthenes-health": (80, 150),
    "eratosthenes-reports": (450, 900),
    "eratosthenes-hello": (120, 210),
}
_INIT_PRINTS = {
    "eratosthenes-primes": "loading sieve module",
    # The JSON-format function prints during its init too: plain text, no request ID.
    "eratosthenes-orders": "connecting to table orders (boto3 1.35.36)",
}
_LAMBDA_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. For "
    "functions using managed runtimes, runtime updates can be triggered by a function change, or "
    "can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime "
    "version, you may be able to mitigate this error by temporarily rolling back to the previous "
    "runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\n"
)


class _Lambda:
    """Runs `_Run`s in execution environments and writes Lambda's lines for them, in the
    function's runtime (Python, Node.js) and log format (Text, JSON)."""

    def __init__(self, app: SampleApp, rng: random.Random, ids: _Ids) -> None:
        self._region = app.region
        self._rng = rng
        self._ids = ids
        self._pools = {f.name: _EnvironmentPool(f, rng, ids) for f in app.functions}

    def invoke(
        self,
        fn: SampleFunction,
        t_ms: int,
        run: _Run,
        trace: _Trace | None,
        out: list[LogRecord],
        parent_id: str | None = None,
    ) -> _Invocation:
        rng = self._rng
        request_id = self._ids.uuid()
        segment_id = self._ids.hex(16)
        pool = self._pools[fn.name]
        environment, cold = pool.acquire(t_ms)
        as_json = fn.log_format == "JSON"

        def emit(ts: float, message: str) -> None:
            out.append(LogRecord(fn.log_group, environment.stream, int(ts), message))

        init_ms = 0.0
        start = float(t_ms)
        if cold:
            low, high = _INIT_DURATION_MS.get(fn.name, (100, 250))
            init_ms = rng.uniform(low, high)
            emit(start, self._init_start(fn, as_json, t_ms))
            if fn.name in _INIT_PRINTS:
                emit(start + init_ms * 0.6, _INIT_PRINTS[fn.name] + "\n")
            start += init_ms + rng.uniform(0.2, 1.5)

        timeout_ms = fn.timeout_s * 1000.0
        duration = timeout_ms if run.failure == "timeout" else min(run.duration_ms, timeout_ms)
        end = start + duration
        # Functions in PassThrough mode add nothing to the trace.
        tracing = None
        if fn.tracing and trace and trace.sampled:
            tracing = {
                "spanId": segment_id,
                "type": "X-Amzn-Trace-Id",
                "value": f"Root={trace.trace_id};Parent={segment_id};Sampled=1",
            }
        if as_json:
            record: dict[str, object] = {"requestId": request_id, "version": fn.version}
            if tracing:
                record["tracing"] = tracing
            emit(
                start,
                _json_line(
                    {"time": iso_ms(int(start)), "type": "platform.start", "record": record}
                ),
            )
        else:
            emit(start, f"START RequestId: {request_id} Version: {fn.version}\n")

        for fraction, level, text in run.lines:
            ts = start + duration * fraction
            emit(ts, self._app_line(fn, as_json, request_id, int(ts), level, text))

        error_message: str | None = None
        response = run.response
        memory = min(run.memory_mb, fn.memory_mb - 1)
        if run.failure == "exception" and run.error:
            error_message = run.error.message
            response = _error_response(fn, request_id, run.error)
            for message in self._error_lines(fn, as_json, request_id, int(end), run.error):
                emit(end, message)
        elif run.failure == "timeout":
            error_message = (
                f"{iso_ms(int(end))} {request_id} Task timed out after {fn.timeout_s:.2f} seconds"
            )
            response = json.dumps({"errorMessage": error_message})
            if not as_json:
                emit(end, error_message + "\n")
        elif run.failure == "oom":
            memory = fn.memory_mb
            error_message = (
                f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
            )
            response = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": error_message})
            emit(end, error_message + "\nRuntime.ExitError\n")

        environment.max_memory_mb = max(environment.max_memory_mb, memory)
        report = _Report(
            request_id=request_id,
            duration_ms=duration,
            # Since August 2025 on-demand functions are billed for their INIT phase too.
            billed_ms=math.ceil(duration + init_ms),
            memory_size_mb=fn.memory_mb,
            max_memory_mb=environment.max_memory_mb,
            init_ms=init_ms,
            failure=run.failure,
        )
        report_ms = end + rng.uniform(0.0, 1.2)
        if as_json:
            emit(report_ms, report.as_json(int(report_ms), tracing))
        else:
            emit(end, f"END RequestId: {request_id}\n")
            xray = f"{trace.trace_id}\tSegmentId: {segment_id}" if trace and tracing else None
            emit(report_ms, report.as_text(xray))

        if run.failure in ("timeout", "oom"):
            pool.retire(environment)
        environment.free_at_ms = int(report_ms) + 1
        segments: tuple[str, ...] = ()
        if tracing and trace is not None:
            segments = self._segments(
                fn,
                trace.trace_id,
                request_id,
                segment_id,
                parent_id,
                (t_ms, t_ms + init_ms if cold else None, start, end, report_ms),
                run,
            )
        return _Invocation(
            request_id=request_id,
            end_ms=int(report_ms),
            cold=cold,
            failure=run.failure,
            error_message=error_message,
            response=response,
            segment_id=segment_id,
            segments=segments,
        )

    def _segments(
        self,
        fn: SampleFunction,
        trace_id: str,
        request_id: str,
        function_segment: str,
        parent_id: str | None,
        times: tuple[float, float | None, float, float, float],
        run: _Run,
    ) -> tuple[str, ...]:
        """The Lambda service segment and the function segment (Initialization, Invocation with
        the downstream calls, Overhead), as Lambda sends them to X-Ray."""
        invoked, init_end, start, end, report = times
        service_id = segment_id(trace_id, f"lambda:{request_id}")
        service: dict[str, object] = {
            "id": service_id,
            "trace_id": trace_id,
            "name": fn.name,
            "origin": "AWS::Lambda",
            "start_time": _seconds(invoked),
            "end_time": _seconds(report),
            "http": {"response": {"status": 200}},
            "aws": {"request_id": request_id},
        }
        if parent_id:
            service["parent_id"] = parent_id
        duration = end - start
        calls = []
        for index, (low, high, doc) in enumerate(run.calls):
            call = {
                "id": segment_id(trace_id, f"call:{request_id}:{index}"),
                "start_time": _seconds(start + duration * low),
                "end_time": _seconds(start + duration * high),
                **doc,
            }
            calls.append(call)
        invocation: dict[str, object] = {
            "id": segment_id(trace_id, f"invocation:{request_id}"),
            "name": "Invocation",
            "start_time": _seconds(start),
            "end_time": _seconds(end),
            "aws": {"function_arn": fn.invoked_arn},
        }
        if calls:
            invocation["subsegments"] = calls
        if run.failure:
            invocation["fault"] = True
            if run.error is not None:
                invocation["cause"] = {
                    "working_directory": "/var/task",
                    "exceptions": [{"type": run.error.type, "message": run.error.message}],
                }
        subsegments: list[dict[str, object]] = []
        if init_end is not None:
            subsegments.append(
                {
                    "id": segment_id(trace_id, f"init:{request_id}"),
                    "name": "Initialization",
                    "start_time": _seconds(invoked),
                    "end_time": _seconds(init_end),
                    "aws": {"function_arn": fn.invoked_arn},
                }
            )
        subsegments.append(invocation)
        subsegments.append(
            {
                "id": segment_id(trace_id, f"overhead:{request_id}"),
                "name": "Overhead",
                "start_time": _seconds(end),
                "end_time": _seconds(report),
                "aws": {"function_arn": fn.invoked_arn},
            }
        )
        function: dict[str, object] = {
            "id": function_segment,
            "trace_id": trace_id,
            "parent_id": service_id,
            "name": fn.name,
            "origin": "AWS::Lambda::Function",
            "start_time": _seconds(invoked),
            "end_time": _seconds(report),
            "aws": {
                "function_arn": fn.invoked_arn,
                "resource_names": [fn.name],
                "account_id": fn.arn.split(":")[4],
            },
            "subsegments": subsegments,
        }
        if run.failure:
            function["fault"] = True
        return (_json_line(service), _json_line(function))

    def _init_start(self, fn: SampleFunction, as_json: bool, t_ms: int) -> str:
        version = _RUNTIME_VERSIONS.get(fn.runtime, fn.runtime)
        version_arn = (
            f"arn:aws:lambda:{self._region}::runtime:{hashlib.sha256(version.encode()).hexdigest()}"
        )
        if as_json:
            record = {
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": version,
                "runtimeVersionArn": version_arn,
                "functionName": fn.name,
                "functionVersion": fn.version,
            }
            return _json_line(
                {"time": iso_ms(t_ms), "type": "platform.initStart", "record": record}
            )
        return f"INIT_START Runtime Version: {version}\tRuntime Version ARN: {version_arn}\n"

    @staticmethod
    def _app_line(
        fn: SampleFunction, as_json: bool, request_id: str, ts: int, level: str | None, text: str
    ) -> str:
        if fn.runtime.startswith("nodejs"):
            # console.log and friends always carry the request ID in Node.js.
            if as_json:
                return _json_line(
                    {
                        "timestamp": iso_ms(ts),
                        "level": level or "INFO",
                        "requestId": request_id,
                        "message": text,
                    }
                )
            return f"{iso_ms(ts)}\t{request_id}\t{level or 'INFO'}\t{text}\n"
        if level is None:
            return text + "\n"  # print(): no timestamp, no request ID, in either format
        if as_json:
            return _json_line(
                {
                    "timestamp": iso_ms(ts),
                    "level": "WARN" if level == "WARNING" else level,
                    "message": text,
                    "logger": "root",
                    "requestId": request_id,
                }
            )
        return f"[{level}]\t{iso_ms(ts)}\t{request_id}\t{text}\n"

    @staticmethod
    def _error_lines(
        fn: SampleFunction, as_json: bool, request_id: str, ts: int, error: _Error
    ) -> list[str]:
        if fn.runtime.startswith("nodejs"):
            body = {"errorType": error.type, "errorMessage": error.message, "stack": _stack(error)}
            if as_json:
                node = {"timestamp": iso_ms(ts), "level": "ERROR", "requestId": request_id}
                return [_json_line({**node, "message": body})]
            return [f"{iso_ms(ts)}\t{request_id}\tERROR\tInvoke Error \t{_json_line(body)}\n"]
        frames = _python_frames(error)
        if as_json:
            message = {
                "errorMessage": error.message,
                "errorType": error.type,
                "requestId": request_id,
                "stackTrace": frames,
            }
            record = {"timestamp": iso_ms(ts), "level": "ERROR", "message": message}
            return [_json_line({**record, "requestId": request_id})]
        # Both without a request ID: only START…END ties them to their invocation.
        return [
            _LAMBDA_WARNING,
            f"[ERROR] {error.type}: {error.message}\n"
            f"Traceback (most recent call last):\n{''.join(frames)}",
        ]


@dataclass(frozen=True, slots=True)
class _Report:
    request_id: str
    duration_ms: float
    billed_ms: int
    memory_size_mb: int
    max_memory_mb: int
    init_ms: float
    failure: str | None

    def as_text(self, xray: str | None) -> str:
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_mb} MB",
        ]
        if self.init_ms:
            parts.append(f"Init Duration: {self.init_ms:.2f} ms")
        if self.failure == "timeout":
            parts.append("Status: timeout")
        elif self.failure == "oom":
            parts += ["Status: error", "Error Type: Runtime.OutOfMemory"]
        message = "\t".join(parts) + "\t\n"
        if xray:
            message += f"XRAY TraceId: {xray}\tSampled: true\t\n"
        return message

    def as_json(self, ts: int, tracing: Mapping[str, str] | None) -> str:
        metrics: dict[str, float] = {
            "durationMs": round(self.duration_ms, 2),
            "billedDurationMs": self.billed_ms,
            "memorySizeMB": self.memory_size_mb,
            "maxMemoryUsedMB": self.max_memory_mb,
        }
        if self.init_ms:
            metrics["initDurationMs"] = round(self.init_ms, 2)
        record: dict[str, object] = {"requestId": self.request_id, "metrics": metrics}
        if tracing:
            record["tracing"] = dict(tracing)
        record["status"] = {"timeout": "timeout", "oom": "error", "exception": "error"}.get(
            self.failure or "", "success"
        )
        if self.failure == "oom":
            record["errorType"] = "Runtime.OutOfMemory"
        return _json_line({"time": iso_ms(ts), "type": "platform.report", "record": record})


def _python_frames(error: _Error) -> list[str]:
    return [f'  File "{f}", line {n}, in {func}\n    {src}\n' for f, n, func, src in error.frames]


def _stack(error: _Error) -> list[str]:
    return [f"{error.type}: {error.message}"] + [
        f"    at {function} ({file}:{line}:{column})"
        for file, line, function, column in error.frames
    ]


def _error_response(fn: SampleFunction, request_id: str, error: _Error) -> str:
    """What Lambda returns for an unhandled error (alongside X-Amz-Function-Error: Unhandled)."""
    if fn.runtime.startswith("nodejs"):
        return json.dumps(
            {"errorType": error.type, "errorMessage": error.message, "trace": _stack(error)}
        )
    return json.dumps(
        {
            "errorMessage": error.message,
            "errorType": error.type,
            "requestId": request_id,
            "stackTrace": _python_frames(error),
        }
    )


# ---------------------------------------------------------------------------------------------
# The sample's code: what each function does for a request, as durations and log lines.


@dataclass(frozen=True, slots=True)
class _Params:
    query: Mapping[str, str]
    n: str  # /primes/{n}
    ip: str
    api_request_id: str


class _SampleCode:
    def __init__(self, app: SampleApp, rng: random.Random, ids: _Ids) -> None:
        self._app = app
        self._rng = rng
        self._ids = ids

    def params(self, route: Route, outcome: Outcome, ip: str, api_request_id: str) -> _Params:
        rng = self._rng
        query: dict[str, str] = {}
        n = ""
        if route.path == "/primes":
            limit, loops = int(10 ** rng.uniform(1, 6.3)), rng.choice((1, 1, 1, 2, 3))
            if outcome is Outcome.LAMBDA_TIMEOUT:
                limit, loops = rng.choice((20_000_000, 30_000_000)), 3
            elif outcome is Outcome.OUT_OF_MEMORY:
                limit, loops = rng.choice((50_000_000, 80_000_000)), 1
            query = {"max": str(limit), "loops": str(loops)}
            if outcome is Outcome.UNHANDLED_EXCEPTION:
                query["max"] = rng.choice(("ten", "1e6", "100k", "-"))
        elif route.path == "/primes/{n}":
            n = str(
                rng.randint(10**7, 10**9) if outcome is Outcome.NOT_FOUND else rng.randint(1, 5000)
            )
        return _Params(query, n, ip, api_request_id)

    def run(self, route: Route, outcome: Outcome, params: _Params) -> _Run:
        run = {
            "/primes": self._primes,
            "/primes/{n}": self._nth_prime,
            "/orders": self._orders,
            "/health": self._health,
            "/reports": self._reports,
            "/hello": self._hello,
        }[route.path](outcome, params)
        if outcome is Outcome.SLOW:
            # Slow, but within both the function's timeout and API Gateway's.
            fn: SampleFunction = getattr(self._app, route.function)
            waits = self._app.integration_timeout_ms(route.key)
            ceiling = 0.85 * min(fn.timeout_s * 1000, waits)
            run.duration_ms = min(run.duration_ms * self._rng.uniform(8, 25), ceiling)
        return run

    def authorizer(self, outcome: Outcome, token: str, method_arn: str) -> _Run:
        rng = self._rng
        run = _Run(rng.uniform(1.1, 6.0), rng.randint(36, 42))
        run.lines = [(0.1, "INFO", f"authorizing {token[-4:]} for {method_arn}")]
        if outcome is Outcome.AUTH_UNAUTHORIZED:
            # The documented way for a TOKEN authorizer to answer 401.
            run.failure = "exception"
            run.error = _Error(
                "Exception",
                "Unauthorized",
                (("/var/task/app.py", 10, "handler", 'raise Exception("Unauthorized")'),),
            )
            return run
        effect = "Deny" if outcome is Outcome.AUTH_DENIED else "Allow"
        run.lines.append((0.8, None, f"policy: {effect} user-{token[-4:]}"))
        run.response = _json_line(
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

    def _primes(self, outcome: Outcome, params: _Params) -> _Run:
        rng = self._rng
        text = params.query["max"]
        if outcome is Outcome.UNHANDLED_EXCEPTION:
            run = _Run(rng.uniform(1, 3), rng.randint(38, 42), failure="exception")
            run.error = _Error(
                "ValueError",
                f"invalid literal for int() with base 10: '{text}'",
                (("/var/task/app.py", 21, "handler", 'limit = int(params.get("max", 100))'),),
            )
            return run
        limit, loops = int(text), int(params.query["loops"])
        # About 250 ms for a million numbers at 128 MB.
        run = _Run(1.2 + limit * loops * 0.00025 * rng.uniform(0.85, 1.3), 38 + limit // 25_000)
        run.lines = [(0.02, "INFO", f"computing primes up to {limit}")]
        if outcome is Outcome.LAMBDA_TIMEOUT:
            run.failure = "timeout"
        elif outcome is Outcome.OUT_OF_MEMORY:
            run.failure = "oom"
            run.duration_ms = rng.uniform(700, 2400)
        else:
            if limit > 500_000:
                run.lines.append((0.03, "WARNING", f"large sieve requested: {limit}"))
            run.lines.append((0.97, None, f"sieve finished: {_prime_count(limit)} primes"))
            run.response = _proxy(200, {"max": limit, "count": _prime_count(limit)})
        return run

    def _nth_prime(self, outcome: Outcome, params: _Params) -> _Run:
        rng = self._rng
        run = _Run(rng.uniform(2, 25), rng.randint(40, 52))
        run.lines = [(0.05, "INFO", f"looking up prime #{params.n}")]
        if outcome is Outcome.NOT_FOUND:
            run.lines.append((0.9, "WARNING", f"no prime #{params.n}: index out of range"))
            run.response = _proxy(404, {"message": f"no prime #{params.n}"})
        else:
            run.lines.append((0.9, None, f"prime #{params.n} found in cache"))
            run.response = _proxy(200, {"n": int(params.n), "prime": 7919})
        return run

    def _orders(self, outcome: Outcome, params: _Params) -> _Run:
        rng = self._rng
        order_id = f"ord_{self._ids.hex(12)}"
        run = _Run(rng.uniform(18, 90), rng.randint(72, 81))
        # Like many handlers, it logs API Gateway's request ID from the event's requestContext.
        received = f"order received: sieve-kit x2 (API request {params.api_request_id})"
        run.lines = [(0.05, "INFO", received)]
        if outcome is Outcome.BAD_REQUEST:
            run.duration_ms = rng.uniform(2, 6)
            run.lines.append((0.6, "WARNING", "rejecting order: quantity must be positive"))
            run.response = _proxy(400, {"message": "quantity must be positive"})
        elif outcome is Outcome.UNHANDLED_EXCEPTION:
            run.failure = "exception"
            throttled = "The level of configured provisioned throughput for the table was exceeded."
            run.calls = [(0.04, 0.97, _dynamodb("PutItem", 400, retries=4, throttle=throttled))]
            run.error = _Error(
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
            run.response = _proxy(201, {"orderId": order_id})
        return run

    def _health(self, outcome: Outcome, params: _Params) -> _Run:
        rng = self._rng
        run = _Run(rng.uniform(0.9, 2.6), rng.randint(36, 40), [(0.5, None, "ok")])
        run.response = _proxy(200, {"status": "ok"})
        return run

    def _reports(self, outcome: Outcome, params: _Params) -> _Run:
        rng = self._rng
        run = _Run(rng.uniform(400, 2500), rng.randint(95, 160))
        run.lines = [(0.02, "INFO", "building monthly report for 2026-10")]
        run.calls = [(0.03, 0.85, _dynamodb("Scan", 200))]
        if outcome is Outcome.INTEGRATION_TIMEOUT:
            # Longer than API Gateway waits; sometimes longer than the function may run.
            waits = self._app.integration_timeout_ms("GET /reports")
            run.duration_ms = rng.uniform(waits + 2_000, 46_000)
            run.lines.append((0.5, "WARNING", "scan is slow: 1843 pages so far"))
            if run.duration_ms >= self._app.reports.timeout_s * 1000:
                run.failure = "timeout"
                run.calls = [(0.03, 1.0, {**_dynamodb("Scan", 200), "fault": True})]
        elif outcome is Outcome.UNHANDLED_EXCEPTION:
            run.failure = "exception"
            run.error = _Error(
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
        malformed = outcome is Outcome.MALFORMED_RESPONSE
        run.response = json.dumps([rows]) if malformed else _proxy(200, rows)
        return run

    def _hello(self, outcome: Outcome, params: _Params) -> _Run:
        rng = self._rng
        run = _Run(rng.uniform(1.5, 6.0), rng.randint(62, 70))
        if outcome is Outcome.UNHANDLED_EXCEPTION:
            run.failure = "exception"
            run.error = _Error(
                "TypeError",
                "Cannot read properties of undefined (reading 'sourceIp')",
                (
                    ("file:///var/task/index.mjs", 2, "Runtime.handler", "61"),
                    ("file:///var/runtime/index.mjs", 1173, "Runtime.handleOnceNonStreaming", "29"),
                ),
            )
            return run
        run.lines = [(0.4, "INFO", f"GET /hello from {params.ip}")]
        run.response = _proxy(200, {"message": "hello"})
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


# ---------------------------------------------------------------------------------------------
# API Gateway.


class _StreamRotation:
    """API Gateway's own log streams: a few at a time, 32 hex digits each, replaced as they age."""

    def __init__(self, rng: random.Random, ids: _Ids, width: int) -> None:
        self._rng = rng
        self._ids = ids
        self._slots: list[tuple[str, int]] = [("", -1)] * width

    def pick(self, t_ms: int) -> str:
        index = self._rng.randrange(len(self._slots))
        name, until = self._slots[index]
        if t_ms >= until:
            name = self._ids.hex(32)
            self._slots[index] = (name, t_ms + self._rng.randint(15, 60) * 60_000)
        return name


@dataclass(frozen=True, slots=True)
class _Client:
    ip: str
    user_agent: str
    token: str


_USER_AGENTS = (
    "curl/8.5.0",
    "python-requests/2.32.3",
    "okhttp/4.12.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "axios/1.7.7",
    "Go-http-client/2.0",
)
_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_INTERNAL_ERROR = '{"message": "Internal server error"}'


def _make_clients(rng: random.Random, count: int = 24) -> list[_Client]:
    clients = []
    for index in range(count):
        network = ("203.0.113", "198.51.100", "192.0.2")[index % 3]  # documentation ranges
        token = "Bearer " + "".join(rng.choice(_TOKEN_ALPHABET) for _ in range(32))
        ip = f"{network}.{rng.randint(2, 254)}"
        clients.append(_Client(ip, rng.choice(_USER_AGENTS), token))
    return clients


class _RestCall:
    """One REST API request, written out step by step as API Gateway logs it."""

    def __init__(
        self,
        gen: TrafficGenerator,
        start: int,
        route: Route,
        outcome: Outcome,
        client: _Client,
        sampled: bool | None = None,
    ) -> None:
        self.gen = gen
        self.app = gen.app
        self.rng = gen.rng
        self.start = start
        self.route = route
        self.outcome = outcome
        self.client = client
        self.function: SampleFunction = getattr(self.app, route.function)
        ids = gen.ids
        self.request_id = ids.uuid()
        self.extended_id = ids.short()
        trace_id = ids.trace(start)
        self.trace = _Trace(trace_id, gen.xray_sampled(start) if sampled is None else sampled)
        # X-Ray: API Gateway's subsegments (its calls to Lambda) and the Lambda segments.
        self.xray_calls: list[dict[str, object]] = []
        self.xray_segments: list[str] = []
        self.params = gen.code.params(route, outcome, client.ip, self.request_id)
        self.path = route.path.replace("{n}", self.params.n)
        self.stream = gen.execution_streams.pick(start)
        self.records: list[LogRecord] = []
        self.t = float(start)
        self.lambda_request_id: str | None = None
        self.authorizer_request_id: str | None = None
        self.cold = False
        self.access: dict[str, object] = {
            "requestId": self.request_id,
            "extendedRequestId": self.extended_id,
            "identity.sourceIp": client.ip,
            "identity.userAgent": client.user_agent,
            "requestTime": _clf_time(start),
            "requestTimeEpoch": start,
            "httpMethod": route.method,
            "resourcePath": route.path,
            "path": f"/{self.app.rest_stage}{self.path}",
            "protocol": "HTTP/1.1",
            "xrayTraceId": self.trace.trace_id,
        }

    def log(self, message: str) -> None:
        self.records.append(
            LogRecord(
                self.app.execution_log_group,
                self.stream,
                int(self.t),
                f"({self.request_id}) {message}",
            )
        )

    def elapse(self, low: float, high: float) -> None:
        self.t += self.rng.uniform(low, high)

    def simulate(self) -> SimulatedRequest:
        if self.outcome is Outcome.STAGE_THROTTLED:
            # Rejected before execution starts: an access log line and nothing else.
            return self._finish(429, '{"message":"Too Many Requests"}', "Too Many Requests")
        self.log(f"Extended Request Id: {self.extended_id}")
        if self.route.authorized:
            denied = self._authorize()
            if denied:
                return denied
        self._start_execution()
        if self.outcome is Outcome.LAMBDA_THROTTLED:
            status, body = self._lambda_refused()
        else:
            status, body = self._invoke()
        self.log(f"X-ray Tracing ID : Root={self.trace.trace_id}")
        return self._finish(status, body)

    def _lambda_url(self, function_arn: str) -> str:
        return (
            f"https://lambda.{self.app.region}.amazonaws.com/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )

    def _authorize(self) -> SimulatedRequest | None:
        """The TOKEN authorizer's lines and invocation; the final result if it stops the request."""
        app, fn = self.app, self.app.authorizer
        method_arn = app.method_arn(self.route.method, self.route.path)
        token = _mask(self.client.token)
        url = self._lambda_url(fn.arn)
        self.elapse(0.1, 1.0)
        self.log(f"Starting authorizer: {app.authorizer_id} for request: {self.request_id}")
        self.log(f"Incoming identity: {token}")
        self.log(f"Endpoint request URI: {url}")
        if app.data_trace:
            self.log(f"Endpoint request headers: {self._endpoint_request_headers()}")
            body = {"type": "TOKEN", "methodArn": method_arn, "authorizationToken": token}
            self.log(f"Endpoint request body after transformations: {_json_line(body)}")
        self.elapse(0.1, 0.8)
        self.log(f"Sending request to {url}")
        sent = self.t
        run = self.gen.code.authorizer(self.outcome, self.client.token, method_arn)
        call = segment_id(self.trace.trace_id, "apigw:authorizer")
        invocation = self.gen.lambdas.invoke(
            fn, int(sent + self.rng.uniform(1, 5)), run, self.trace, self.records, call
        )
        self.t = invocation.end_ms + self.rng.uniform(1, 5)
        self._xray_call(call, fn, sent, invocation)
        self.authorizer_request_id = invocation.request_id
        self.access["authorizer.requestId"] = invocation.request_id
        self.access["authorizer.integrationLatency"] = int(self.t - sent)
        if self.outcome is Outcome.AUTH_UNAUTHORIZED:
            self.log(f"Unauthorized request: {self.request_id}")
            return self._finish(401, '{"message":"Unauthorized"}', "Unauthorized")
        self.log(f"Authorizer result body before parsing: {invocation.response}")
        self.log(f"Using valid authorizer policy for methodArn: {method_arn}")
        self.log("Successfully completed authorizer execution")
        if self.outcome is Outcome.AUTH_DENIED:
            self.log("The client is not authorized to perform this operation.")
            self.log("Method completed with status: 403")
            message = "User is not authorized to access this resource with an explicit deny"
            return self._finish(403, _json_line({"Message": message}), message)
        return None

    def _start_execution(self) -> None:
        app, route, rid = self.app, self.route, self.request_id
        self.elapse(0.2, 1.5)
        stage = f"{app.rest_api_id}/{app.rest_stage}"
        self.log(f"Verifying Usage Plan for request: {rid}. API Key:  API Stage: {stage}")
        self.log(
            f"API Key  authorized because method '{route.key}' does not require API Key. "
            "Request will not contribute to throttle or quota limits"
        )
        self.log(f"Usage Plan check succeeded for API Key  and API Stage {stage}")
        self.elapse(0.1, 1.0)
        self.log(f"Starting execution for request: {rid}")
        self.log(f"HTTP Method: {route.method}, Resource Path: {self.path}")
        body = '{"item":"sieve-kit","quantity":2}' if route.method == "POST" else ""
        if app.data_trace:
            n = self.params.n
            query = ", ".join(f"{k}={v}" for k, v in self.params.query.items())
            self.log(f"Method request path: {{n={n}}}" if n else "Method request path: {}")
            self.log(f"Method request query string: {{{query}}}")
            self.log(f"Method request headers: {self._method_request_headers()}")
            self.log(f"Method request body before transformations: {body}")
        # The URI as API Gateway logs it: stage variables substituted, alias kept.
        url = self._lambda_url(self.function.invoked_arn)
        self.log(f"Endpoint request URI: {url}")
        if app.data_trace:
            self.log(f"Endpoint request headers: {self._endpoint_request_headers()}")
            event = _truncate(self._proxy_event(body))
            self.log(f"Endpoint request body after transformations: {event}")
        self.elapse(0.2, 1.0)
        self.log(f"Sending request to {url}")

    def _lambda_refused(self) -> tuple[int, str]:
        """Lambda answered 429: its request ID appears in no Lambda log."""
        sent = self.t
        self.lambda_request_id = self.gen.ids.uuid()
        self.elapse(3, 12)
        latency = int(self.t - sent)
        body = _json_line(
            {
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
            }
        )
        self.log(f"Received response. Status: 429, Integration latency: {latency} ms")
        if self.app.data_trace:
            headers = [
                f"Date={_http_date(int(self.t))}",
                "Content-Type=application/json",
                f"Content-Length={len(body)}",
                "Connection=keep-alive",
                f"x-amzn-RequestId={self.lambda_request_id}",
                "x-amzn-ErrorType=TooManyRequestsException",
            ]
            self.log("Endpoint response headers: {" + ", ".join(headers) + "}")
            self.log(f"Endpoint response body before transformations: {body}")
        refused = self.lambda_request_id
        self.log(f"Lambda invocation failed with status: 429. Lambda request id: {refused}")
        self.log("Execution failed due to configuration error: Rate Exceeded.")
        self.log("Method completed with status: 500")
        self.log(f"AWS Integration Endpoint RequestId : {self.lambda_request_id}")
        self.access.update(integrationLatency=latency, integrationStatus=429)
        self.access["integration.requestId"] = self.lambda_request_id
        self.access["error.message"] = "Internal server error"
        return 500, _INTERNAL_ERROR

    def _invoke(self) -> tuple[int, str]:
        sent = self.t
        run = self.gen.code.run(self.route, self.outcome, self.params)
        call = segment_id(self.trace.trace_id, "apigw:integration")
        invocation = self.gen.lambdas.invoke(
            self.function, int(sent + self.rng.uniform(1, 6)), run, self.trace, self.records, call
        )
        self.lambda_request_id = invocation.request_id
        self.cold = invocation.cold
        if self.outcome is Outcome.INTEGRATION_TIMEOUT:
            # API Gateway never heard back, so it never learnt the Lambda request ID; the
            # function runs on and logs after the client got its 504.
            waits = self.app.integration_timeout_ms(self.route.key)
            self.t = sent + waits + self.rng.uniform(0, 6)
            self._xray_call(call, self.function, sent, invocation, timed_out=True)
            self.log("Execution failed due to a timeout error")
            self.log("Method completed with status: 504")
            self.access["integrationLatency"] = int(self.t - sent)
            self.access["error.message"] = "Endpoint request timed out"
            return 504, '{"message": "Endpoint request timed out"}'

        self.t = invocation.end_ms + self.rng.uniform(1.5, 7)
        self._xray_call(call, self.function, sent, invocation)
        latency = int(self.t - sent)
        self.log(f"Received response. Status: 200, Integration latency: {latency} ms")
        if self.app.data_trace:
            self.log(f"Endpoint response headers: {self._endpoint_response_headers(invocation)}")
            response = _truncate(invocation.response)
            self.log(f"Endpoint response body before transformations: {response}")
        self.access["integrationLatency"] = latency
        self.access["integrationStatus"] = 200
        self.access["integration.requestId"] = invocation.request_id
        if invocation.failure:
            self.log(
                "Lambda execution failed with status 200 due to customer function error: "
                f"{invocation.error_message}. Lambda request id: {invocation.request_id}"
            )
            status, body = 502, _INTERNAL_ERROR
        elif self.outcome is Outcome.MALFORMED_RESPONSE:
            self.log("Execution failed due to configuration error: Malformed Lambda proxy response")
            status, body = 502, _INTERNAL_ERROR
        else:
            proxy = json.loads(invocation.response)
            status, body = int(proxy["statusCode"]), proxy["body"]
            if self.app.data_trace:
                self.log(f"Method response body after transformations: {_truncate(body)}")
                self.log(
                    "Method response headers: {Content-Type=application/json, X-Amzn-Trace-Id="
                    f"Root={self.trace.trace_id};Sampled={int(self.trace.sampled)}}}"
                )
            self.log("Successfully completed execution")
        if status >= 500:
            self.access["error.message"] = "Internal server error"
        self.log(f"Method completed with status: {status}")
        self.log(f"AWS Integration Endpoint RequestId : {invocation.request_id}")
        return status, body

    def _xray_call(
        self,
        call_id: str,
        fn: SampleFunction,
        sent: float,
        invocation: _Invocation,
        *,
        timed_out: bool = False,
    ) -> None:
        """API Gateway's subsegment for its call to Lambda, and the Lambda's own segments."""
        if not self.trace.sampled:
            return
        call: dict[str, object] = {
            "id": call_id,
            "name": "Lambda",
            "namespace": "aws",
            "start_time": _seconds(sent),
            "end_time": _seconds(self.t),
            "http": {"response": {"status": 504 if timed_out else 200}},
            "aws": {
                "function_name": fn.name,
                "region": self.app.region,
                "operation": "Invoke",
                "resource_names": [fn.name],
            },
        }
        if timed_out:
            call["fault"] = True
            call["cause"] = {"exceptions": [{"message": "Endpoint request timed out"}]}
        self.xray_calls.append(call)
        self.xray_segments.extend(invocation.segments)

    def _api_gateway_segment(self, status: int, end: int) -> str:
        app = self.app
        doc: dict[str, object] = {
            "id": segment_id(self.trace.trace_id, "apigw"),
            "trace_id": self.trace.trace_id,
            "name": f"{app.rest_api_id}/{app.rest_stage}",
            "origin": "AWS::ApiGateway::Stage",
            "start_time": _seconds(self.start),
            "end_time": _seconds(end),
            "http": {
                "request": {
                    "method": self.route.method,
                    "url": f"https://{app.rest_api_id}.execute-api.{app.region}.amazonaws.com/"
                    f"{app.rest_stage}{self.path}",
                    "client_ip": self.client.ip,
                    "user_agent": self.client.user_agent,
                },
                "response": {"status": status},
            },
            "aws": {
                "api_id": app.rest_api_id,
                "stage": app.rest_stage,
                "request_id": self.request_id,
            },
            "annotations": {"aws:api_id": app.rest_api_id, "aws:api_stage": app.rest_stage},
        }
        if status == 429:
            doc.update(error=True, throttle=True)
        elif status >= 500:
            doc["fault"] = True
        elif status >= 400:
            doc["error"] = True
        if self.xray_calls:
            doc["subsegments"] = self.xray_calls
        return _json_line(doc)

    def _finish(self, status: int, body: str, error: str | None = None) -> SimulatedRequest:
        end = int(self.t) + self.rng.randint(0, 2)
        self.access.update(
            status=status, responseLength=len(body), responseLatency=end - self.start
        )
        if error:
            self.access["error.message"] = error
        app = self.app
        line = render_access_log(app.access_log_format, self.access)
        stream = self.gen.access_streams.pick(self.start)
        self.records.append(LogRecord(app.access_log_group, stream, end, line))
        self.records.sort(key=lambda r: r.timestamp)
        return SimulatedRequest(
            api_id=app.rest_api_id,
            route=self.route.key,
            outcome=self.outcome,
            status=status,
            request_id=self.request_id,
            start_ms=self.start,
            end_ms=end,
            records=tuple(self.records),
            extended_request_id=self.extended_id,
            trace_id=self.trace.trace_id,
            lambda_request_id=self.lambda_request_id,
            authorizer_request_id=self.authorizer_request_id,
            cold_start=self.cold,
            sampled=self.trace.sampled,
            segments=(
                (self._api_gateway_segment(status, end), *self.xray_segments)
                if self.trace.sampled
                else ()
            ),
        )

    def _method_request_headers(self) -> str:
        app, client = self.app, self.client
        headers = ["Accept=*/*"]
        if self.route.authorized:
            headers.append(f"Authorization={_mask(client.token)}")
        if self.route.method == "POST":
            headers.append("Content-Type=application/json")
        headers += [
            f"Host={app.rest_api_id}.execute-api.{app.region}.amazonaws.com",
            f"User-Agent={client.user_agent}",
            f"X-Amzn-Trace-Id=Root={self.trace.trace_id}",
            f"X-Forwarded-For={client.ip}",
            "X-Forwarded-Port=443",
            "X-Forwarded-Proto=https",
        ]
        return "{" + ", ".join(headers) + "}"

    def _endpoint_request_headers(self) -> str:
        app, ids = self.app, self.gen.ids
        headers = [
            f"x-amzn-lambda-integration-tag={self.request_id}",
            f"Authorization={'*' * 100}{ids.hex(6)}",
            f"X-Amz-Date={_utc(int(self.t)):%Y%m%dT%H%M%SZ}",
            f"x-amzn-apigateway-api-id={app.rest_api_id}",
            f"X-Amz-Source-Arn={app.method_arn(self.route.method, self.route.path)}",
            "Accept=application/json",
            f"User-Agent=AmazonAPIGateway_{app.rest_api_id}",
            f"X-Amz-Security-Token=IQoJb3JpZ2luX2VjE{ids.hex(40)}",
        ]
        return _truncate("{" + ", ".join(headers), 400)

    def _endpoint_response_headers(self, invocation: _Invocation) -> str:
        headers = [
            f"Date={_http_date(int(self.t))}",
            "Content-Type=application/json",
            f"Content-Length={len(invocation.response)}",
            "Connection=keep-alive",
            f"x-amzn-RequestId={invocation.request_id}",
        ]
        if invocation.failure:
            headers.append("X-Amz-Function-Error=Unhandled")
        sampled = int(self.trace.sampled)
        headers += [
            "x-amzn-Remapped-Content-Length=0",
            f"X-Amz-Executed-Version={self.function.version}",
            f"X-Amzn-Trace-Id=root={self.trace.trace_id};parent={invocation.segment_id};"
            f"sampled={sampled}",
        ]
        return "{" + ", ".join(headers) + "}"

    def _proxy_event(self, body: str) -> str:
        app, route, client = self.app, self.route, self.client
        event = {
            "resource": route.path,
            "path": self.path,
            "httpMethod": route.method,
            "headers": {
                "Accept": "*/*",
                "User-Agent": client.user_agent,
                "X-Forwarded-For": client.ip,
            },
            "queryStringParameters": dict(self.params.query) or None,
            "pathParameters": {"n": self.params.n} if self.params.n else None,
            "stageVariables": dict(app.stage_variables),
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": route.method,
                "extendedRequestId": self.extended_id,
                "requestTime": _clf_time(self.start),
                "path": f"/{app.rest_stage}{self.path}",
                "accountId": app.account_id,
                "protocol": "HTTP/1.1",
                "stage": app.rest_stage,
                "requestTimeEpoch": self.start,
                "requestId": self.request_id,
                "identity": {"sourceIp": client.ip, "userAgent": client.user_agent},
                "apiId": app.rest_api_id,
            },
            "body": body or None,
            "isBase64Encoded": False,
        }
        return _json_line(event)


def _http_call(
    gen: TrafficGenerator, start: int, route: Route, outcome: Outcome, client: _Client
) -> SimulatedRequest:
    """One HTTP API request: the function's lines and one access log line."""
    app, rng = gen.app, gen.rng
    request_id = gen.ids.short()  # HTTP APIs use the short form as their request ID
    records: list[LogRecord] = []
    access: dict[str, object] = {
        "requestId": request_id,
        "identity.sourceIp": client.ip,
        "requestTime": _clf_time(start),
        "httpMethod": route.method,
        "path": route.path,
        "routeKey": route.key,
        "protocol": "HTTP/1.1",
    }
    lambda_request_id: str | None = None
    cold = False
    if outcome is Outcome.STAGE_THROTTLED:
        end = start + rng.randint(0, 2)
        status, body = 429, '{"message":"Too Many Requests"}'
        access["routeKey"] = None
    elif outcome is Outcome.LAMBDA_THROTTLED:
        lambda_request_id = gen.ids.uuid()
        latency = rng.randint(3, 12)
        end = start + latency + rng.randint(1, 3)
        status, body = 500, '{"message":"Internal Server Error"}'
        access["integrationLatency"] = latency
        access["integration.requestId"] = lambda_request_id
    else:
        sent = start + rng.uniform(1, 4)
        params = gen.code.params(route, outcome, client.ip, request_id)
        run = gen.code.run(route, outcome, params)
        fn: SampleFunction = getattr(app, route.function)
        invocation = gen.lambdas.invoke(fn, int(sent + rng.uniform(1, 5)), run, None, records)
        lambda_request_id = invocation.request_id
        cold = invocation.cold
        received = invocation.end_ms + rng.uniform(1, 5)
        end = int(received) + rng.randint(0, 2)
        access["integrationLatency"] = int(received - sent)
        access["integration.requestId"] = lambda_request_id
        if invocation.failure:
            status, body = 500, '{"message":"Internal Server Error"}'
        else:
            status, body = 200, json.loads(invocation.response)["body"]
    access.update(status=status, responseLength=len(body), responseLatency=end - start)
    line = render_access_log(app.http_access_log_format, access)
    records.append(
        LogRecord(app.http_access_log_group, gen.http_access_streams.pick(start), end, line)
    )
    records.sort(key=lambda r: r.timestamp)
    return SimulatedRequest(
        api_id=app.http_api_id,
        route=route.key,
        outcome=outcome,
        status=status,
        request_id=request_id,
        start_ms=start,
        end_ms=end,
        records=tuple(records),
        lambda_request_id=lambda_request_id,
        cold_start=cold,
    )


# ---------------------------------------------------------------------------------------------


class TrafficGenerator:
    """Seeded traffic for a `SampleApp`.

    Stateful: environments, streams and the X-Ray sampler carry over between calls, so
    consecutive windows (`requests(a, b)`, then `requests(b, c)`) continue one history."""

    def __init__(
        self, app: SampleApp, seed: int | None = None, rates: FailureRates | None = None
    ) -> None:
        self.app = app
        self.rates = rates or FailureRates()
        self.rng = random.Random(seed)
        self.ids = _Ids(self.rng)
        self.lambdas = _Lambda(app, self.rng, self.ids)
        self.code = _SampleCode(app, self.rng, self.ids)
        self.execution_streams = _StreamRotation(self.rng, self.ids, 3)
        self.access_streams = _StreamRotation(self.rng, self.ids, 2)
        self.http_access_streams = _StreamRotation(self.rng, self.ids, 2)
        self._clients = _make_clients(self.rng)
        # A few clients make most of the calls.
        self._client_weights = [1.0 / (rank + 1) for rank in range(len(self._clients))]
        self._route_weights = [r.weight for r in ROUTES]
        self._xray_second = -1

    def requests(self, start_ms: int, end_ms: int, rps: float) -> Iterator[list[LogRecord]]:
        """The records of each request that starts in [start_ms, end_ms), in start order."""
        for request in self.simulate(start_ms, end_ms, rps):
            yield list(request.records)

    def simulate(self, start_ms: int, end_ms: int, rps: float) -> Iterator[SimulatedRequest]:
        """Like `requests`, with each request's ground truth."""
        for t_ms in self._arrivals(start_ms, end_ms, rps):
            yield self.simulate_one(t_ms)

    def one_request(self, t_ms: int) -> list[LogRecord]:
        return list(self.simulate_one(t_ms).records)

    def simulate_one(
        self,
        t_ms: int,
        route: str | None = None,
        outcome: Outcome | None = None,
        *,
        sampled: bool | None = None,
    ) -> SimulatedRequest:
        """One request at t_ms. `route` (a key of ROUTES_BY_KEY), `outcome` and `sampled` (by
        X-Ray; REST only) force what would otherwise be drawn."""
        chosen = ROUTES_BY_KEY[route] if route else self.rng.choices(ROUTES, self._route_weights)[0]
        if outcome is None:
            outcome = self._draw_outcome(chosen)
        elif outcome is not Outcome.OK and outcome not in chosen.failures:
            raise ValueError(f"{outcome} cannot happen on {chosen.key}")
        client = self.rng.choices(self._clients, self._client_weights)[0]
        if chosen.api == "http":
            return _http_call(self, t_ms, chosen, outcome, client)
        return _RestCall(self, t_ms, chosen, outcome, client, sampled).simulate()

    def xray_sampled(self, t_ms: int) -> bool:
        """X-Ray's default rule: the first request each second, then 5 % of the rest."""
        second = t_ms // 1000
        if second != self._xray_second:
            self._xray_second = second
            return True
        return self.rng.random() < 0.05

    def _arrivals(self, start_ms: int, end_ms: int, rps: float) -> Iterator[int]:
        """Poisson visits; one in ten is a burst of 2-6 calls within 60 ms (a page load, a batch
        job), which is what makes Lambda open concurrent environments."""
        if rps <= 0:
            return
        calls_per_visit = 0.9 * 1 + 0.1 * 4
        visit_rate = rps / calls_per_visit / 1000.0  # per ms
        t = float(start_ms)
        pending: list[int] = []
        while True:
            t += self.rng.expovariate(visit_rate)
            while pending and pending[0] <= t:
                call = pending.pop(0)
                if call < end_ms:
                    yield call
            if t >= end_ms:
                yield from (call for call in pending if call < end_ms)
                return
            calls = 1 if self.rng.random() < 0.9 else self.rng.randint(2, 6)
            burst = [int(t) + self.rng.randint(0, 60) for _ in range(calls - 1)]
            pending = sorted([*pending, int(t), *burst])

    def _draw_outcome(self, route: Route) -> Outcome:
        draw = self.rng.random()
        for outcome in route.failures:
            draw -= self.rates.rate(outcome)
            if draw < 0:
                return outcome
        return Outcome.OK
