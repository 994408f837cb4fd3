"""The model every stage shares: what an API's logs are (Topology, Source) and what one line says
(RawEvent → LogEvent). Plain frozen, slotted dataclasses: no I/O, no terminal, no Textual."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

EMPTY_FIELDS: Mapping[str, Any] = MappingProxyType({})

_T = TypeVar("_T")


class _Factory:
    """The default of a field with a default_factory: "no argument, make one"."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def per_event(cls: type[_T]) -> type[_T]:
    """For the frozen, slotted dataclasses made once or more per event: an `__init__` that fills
    each slot through its descriptor. The one `dataclass` writes calls `object.__setattr__`
    with the field's name, field by field (frozen classes cannot assign): twice the cost, paid
    millions of times. Same parameters, defaults and immutability; apply above `@dataclass`."""
    env: dict[str, Any] = {"_FACTORY": _FACTORY}
    params: list[str] = []
    body: list[str] = []
    for f in fields(cls):  # type: ignore[arg-type]
        name = f.name
        env[f"_set_{name}"] = cls.__dict__[name].__set__
        value = name
        if f.default is not MISSING:
            env[f"_default_{name}"] = f.default
            params.append(f"{name}=_default_{name}")
        elif f.default_factory is not MISSING:
            env[f"_factory_{name}"] = f.default_factory
            params.append(f"{name}=_FACTORY")
            value = f"_factory_{name}() if {name} is _FACTORY else {name}"
        else:
            params.append(name)
        body.append(f"    _set_{name}(self, {value})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), env)
    init: Callable[..., None] = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


class ApiKind(StrEnum):
    REST = "REST"
    HTTP = "HTTP"
    WEBSOCKET = "WEBSOCKET"


class Role(StrEnum):
    """Why a log group belongs to the API. The values are the `source` of the JSON output."""

    EXECUTION = "execution"
    ACCESS = "access"
    LAMBDA = "lambda"
    AUTHORIZER = "authorizer"
    OTHER = "other"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Source:
    """One log group of the API and the role it plays.

    A function used both as an integration and as an authorizer yields two Sources over one group;
    several functions may also share one group (Lambda's custom LoggingConfig.LogGroup).

    What a Source is: its role, group, region, function and format. Whether the group exists,
    its retention and size are what discovery saw of it: they are not compared, so a Source made
    before they were known (a read begun ahead of discovery) is the same Source."""

    role: Role
    log_group: str
    region: str
    function_name: str | None = None
    function_arn: str | None = None
    qualifier: str | None = None
    routes: tuple[str, ...] = ()
    # Lambda: "Text" or "JSON"; access log: the stage's `format` string.
    log_format: str | None = None
    # None: not known (not checked, or not allowed to check).
    exists: bool | None = field(default=None, compare=False)
    retention_days: int | None = field(default=None, compare=False)
    stored_bytes: int | None = field(default=None, compare=False)
    # `logGroupClass`: STANDARD, INFREQUENT_ACCESS or DELIVERY; it decides which engine can read
    # the group (apilogs.fetch.classes).
    log_class: str | None = field(default=None, compare=False)
    # The function's account when it is not the caller's: its logs cannot be read from here.
    foreign_account: str | None = None

    @property
    def label(self) -> str:
        """A short human name: the function name for Lambdas, the role otherwise."""
        if self.function_name:
            return self.function_name
        return str(self.role)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something missing or wrong in the API's logging setup, with the way to fix it."""

    severity: Severity
    message: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class Topology:
    api_id: str
    api_name: str
    kind: ApiKind
    stage: str
    region: str
    sources: tuple[Source, ...]
    findings: tuple[Finding, ...] = ()
    account_id: str | None = None
    # REST / WebSocket stage settings; None where the API kind has no such setting.
    logging_level: str | None = None
    data_trace: bool | None = None
    tracing_enabled: bool | None = None
    access_log_format: str | None = None
    stage_variables: tuple[tuple[str, str], ...] = ()
    deployment_id: str | None = None
    # Discovery could not read the API's configuration (denied, or AWS kept failing): the
    # sources were inferred (the execution log from the ID and stage, the functions it names),
    # and a finding says what was assumed. Never cached: the next run tries again.
    inferred: bool = False

    @property
    def readable_sources(self) -> tuple[Source, ...]:
        """Sources whose group can be read: known or assumed to exist, in the caller's account."""
        return tuple(s for s in self.sources if s.exists is not False and not s.foreign_account)

    def log_groups(self) -> tuple[str, ...]:
        """Each readable group once, in topology order."""
        return tuple(dict.fromkeys(s.log_group for s in self.readable_sources))


@per_event
@dataclass(frozen=True, slots=True)
class RawEvent:
    """One event as FilterLogEvents (or Live Tail / Insights) returned it, tagged with its Source."""

    timestamp: int  # epoch ms
    ingestion_time: int  # epoch ms
    group: str
    stream: str
    event_id: str
    message: str
    source: Source

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity for de-duplication; event IDs are only unique within a group."""
        return (self.group, self.stream, self.event_id)


class LineKind(StrEnum):
    """What a parsed line is. The values are the `kind` of the JSON output."""

    # API Gateway execution log
    APIGW_START = "apigw.start"  # Starting execution for request / Extended Request Id
    APIGW_METHOD = "apigw.method"  # HTTP Method: GET, Resource Path: /x
    APIGW_ENDPOINT_URI = "apigw.endpoint_uri"  # Endpoint request URI: …
    APIGW_RESPONSE = "apigw.response"  # Received response. Status: 200, Integration latency: 4 ms
    APIGW_RESPONSE_HEADERS = "apigw.response_headers"  # Endpoint response headers: {…}
    APIGW_INTEGRATION_ID = "apigw.integration_id"  # AWS Integration Endpoint RequestId : …
    APIGW_TRACE = "apigw.trace"  # X-ray Tracing ID : Root=…
    APIGW_AUTHORIZER_START = "apigw.authorizer_start"
    APIGW_AUTHORIZER_RESULT = "apigw.authorizer_result"
    APIGW_UNAUTHORIZED = "apigw.unauthorized"
    APIGW_LAMBDA_ERROR = "apigw.lambda_error"  # Lambda execution failed … customer function error
    APIGW_TIMEOUT = "apigw.timeout"
    APIGW_MALFORMED = "apigw.malformed"
    APIGW_PERMISSIONS = "apigw.permissions"
    APIGW_THROTTLED = "apigw.throttled"
    APIGW_FAILED = "apigw.failed"  # any other "Execution failed …"
    APIGW_COMPLETED = "apigw.completed"  # Method completed with status: 502
    APIGW_OTHER = "apigw.other"  # a request line we do not break down further
    # access log
    ACCESS = "access"
    # Lambda
    LAMBDA_START = "lambda.start"
    LAMBDA_END = "lambda.end"
    LAMBDA_REPORT = "lambda.report"
    LAMBDA_INIT = "lambda.init"  # INIT_START / platform.initStart
    LAMBDA_LOG = "lambda.log"  # runtime line with a request ID and level
    LAMBDA_TIMEOUT = "lambda.timeout"  # Task timed out after N seconds
    LAMBDA_RUNTIME_EXIT = "lambda.runtime_exit"  # Runtime exited with error: signal: killed
    LAMBDA_ERROR = "lambda.error"  # JSON error object / [ERROR] with errorType
    LAMBDA_TRACEBACK = "lambda.traceback"
    LAMBDA_PRINT = "lambda.print"  # no request ID: belongs to the open invocation of its stream
    # anything else
    UNKNOWN = "unknown"


@per_event
@dataclass(frozen=True, slots=True)
class Line:
    """What a parser found in one message. Pure data, built by apilogs.parse."""

    kind: LineKind = LineKind.UNKNOWN
    request_id: str | None = None  # API Gateway request ID
    lambda_request_id: str | None = None
    trace_id: str | None = None  # X-Ray Root=1-…
    extended_request_id: str | None = None
    # Structured facts; keys are documented in apilogs.parse (status, integration_latency_ms, …).
    fields: Mapping[str, Any] = field(default_factory=lambda: EMPTY_FIELDS)

    def rebuilt(self, kind: LineKind, fields: Mapping[str, Any]) -> Line:
        """This line's IDs with this kind and these fields: what `dataclasses.replace` would make,
        at half its cost (parsers call it per line)."""
        return Line(
            kind,
            request_id=self.request_id,
            lambda_request_id=self.lambda_request_id,
            trace_id=self.trace_id,
            extended_request_id=self.extended_request_id,
            fields=fields,
        )


UNPARSED = Line()


@per_event
@dataclass(frozen=True, slots=True)
class LogEvent:
    """A raw event and what its line says."""

    raw: RawEvent
    line: Line = UNPARSED

    @property
    def timestamp(self) -> int:
        return self.raw.timestamp

    @property
    def message(self) -> str:
        return self.raw.message

    @property
    def source(self) -> Source:
        return self.raw.source

    @property
    def kind(self) -> LineKind:
        return self.line.kind


class Outcome(StrEnum):
    """How a request ended, and why. The values are the `outcome` of the JSON output."""

    OK = "ok"
    CLIENT_ERROR = "client_error"
    AUTH_DENIED = "auth_denied"
    LAMBDA_TIMEOUT = "lambda_timeout"
    APIGW_TIMEOUT = "apigw_timeout"
    OUT_OF_MEMORY = "out_of_memory"
    UNHANDLED_EXCEPTION = "unhandled_exception"
    MALFORMED_RESPONSE = "malformed_proxy_response"
    BAD_PERMISSIONS = "bad_permissions"
    THROTTLED = "throttled"
    INTEGRATION_ERROR = "integration_error"
    SERVER_ERROR = "server_error"
    UNKNOWN = "unknown"  # not enough lines to tell (logging off, window cut it)

    @property
    def is_error(self) -> bool:
        return self not in (Outcome.OK, Outcome.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One Lambda invocation that served a request (its integration, or its authorizer)."""

    lambda_request_id: str
    role: Role
    function: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    duration_ms: float | None = None
    billed_ms: int | None = None
    memory_mb: int | None = None
    max_memory_mb: int | None = None
    init_ms: float | None = None
    status: str | None = None  # REPORT Status: timeout / error
    # Joined to its request by timing only (no ID links them): an invocation of the function
    # API Gateway called, starting right after it sent the request, that no other request claims.
    probable: bool = False

    @property
    def cold_start(self) -> bool:
        return self.init_ms is not None


@dataclass(frozen=True, slots=True)
class Request:
    """Everything known about one API request, joined across API Gateway, Lambda and X-Ray."""

    request_id: str | None  # API Gateway's; None when only Lambda lines were seen
    start_ms: int
    end_ms: int
    outcome: Outcome
    cause: str  # one line for people: "Lambda timeout after 3.00 s", "ValueError: bad n"
    extended_request_id: str | None = None
    trace_id: str | None = None
    lambda_request_ids: tuple[str, ...] = ()
    method: str | None = None
    path: str | None = None  # what the client asked for (`/prod/primes/4453`), when logged
    route: str | None = None  # the route's template (`/primes/{n}`)
    status: int | None = None
    response_latency_ms: int | None = None
    integration_latency_ms: int | None = None
    integration_status: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    invocations: tuple[Invocation, ...] = ()
    events: tuple[LogEvent, ...] = ()
    # True while more lines may still join it (a snapshot taken while following).
    in_progress: bool = False
    # When API Gateway answered the client (its access line or "Method completed"), if logged;
    # `end_ms` is the request's last line, which may be a Lambda's that ran on after a timeout.
    responded_ms: int | None = None
    # When API Gateway gave up on the integration ("Execution failed due to a timeout error").
    gave_up_ms: int | None = None
    # The lines of the invocations joined by timing (a subset of `events`): probable.
    probable_events: tuple[LogEvent, ...] = ()
    # X-Ray's sampling decision, when a logged trace header says it (None: not known).
    sampled: bool | None = None
    # API Gateway gave up on the integration and its Lambda ran on to its end: how long that
    # Lambda ran in all, in ms (the cause says it in seconds, for people; a summary groups such
    # timeouts by this number rather than by their words). None otherwise.
    ran_on_ms: float | None = None

    @property
    def integration(self) -> Invocation | None:
        """The integration's invocation (not the authorizer's), if seen."""
        for invocation in self.invocations:
            if invocation.role is not Role.AUTHORIZER:
                return invocation
        return None

    @property
    def cold_start(self) -> bool:
        return any(i.cold_start for i in self.invocations)

    @property
    def probable(self) -> bool:
        """Some invocation was joined by timing alone, not by an ID: show it as probable."""
        return any(i.probable for i in self.invocations)

    @property
    def seen_by_api_gateway(self) -> bool:
        """False for Lambda lines that no API Gateway line claimed (an orphan invocation)."""
        return self.request_id is not None or self.status is not None

    @property
    def ids(self) -> tuple[str, ...]:
        found = (self.request_id, self.extended_request_id, self.trace_id, *self.lambda_request_ids)
        return tuple(i for i in found if i)


class UpdateKind(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RequestUpdate:
    """A change to one request while following: it appeared, lines joined it, or it closed.

    `request` is the whole request as known at that moment; a front end keys it by
    `request.request_id` (an update of a closed request means a line arrived late)."""

    kind: UpdateKind
    request: Request


class SpanKind(StrEnum):
    """What an X-Ray span is. The values are the `kind` of a span in JSON output."""

    API_GATEWAY = "api_gateway"  # the stage's segment (origin AWS::ApiGateway::Stage)
    LAMBDA = "lambda"  # the Lambda service's segment (AWS::Lambda)
    FUNCTION = "function"  # the function's segment (AWS::Lambda::Function)
    SEGMENT = "segment"  # any other service's segment
    PHASE = "phase"  # a function's Initialization, Invocation, Overhead (and Restore)
    AWS_CALL = "aws_call"  # a call to an AWS service (subsegment in the `aws` namespace)
    HTTP_CALL = "http_call"  # a call to an HTTP endpoint (the `remote` namespace)
    SUBSEGMENT = "subsegment"  # any other subsegment (the function's own)


@dataclass(frozen=True, slots=True)
class TraceSpan:
    """One X-Ray segment or subsegment. A trace's spans are in tree order: every span after
    its parent (`parent_id`), `depth` levels below the trace's first segment."""

    span_id: str
    name: str
    kind: SpanKind
    start_ms: float  # epoch ms, as precise as X-Ray's seconds
    end_ms: float | None  # None while in progress
    depth: int = 0
    parent_id: str | None = None
    origin: str | None = None  # segments: AWS::ApiGateway::Stage, AWS::Lambda, …
    operation: str | None = None  # AWS calls: PutItem; HTTP calls: the method
    resource: str | None = None  # the table, bucket, queue, function or URL called
    status: int | None = None  # http.response.status
    fault: bool = False  # 5xx: the service failed
    error: bool = False  # 4xx: the caller's error
    throttle: bool = False  # 429: throttled
    cause: str | None = None  # the first exception: "Type: message"
    retries: int | None = None  # AWS calls: the SDK's retries

    @property
    def duration_ms(self) -> float | None:
        return None if self.end_ms is None else self.end_ms - self.start_ms

    @property
    def is_call(self) -> bool:
        """A downstream call: to an AWS service or over HTTP."""
        return self.kind is SpanKind.AWS_CALL or self.kind is SpanKind.HTTP_CALL


@dataclass(frozen=True, slots=True)
class Trace:
    """An X-Ray trace: every span of every segment of one request, in tree order."""

    trace_id: str
    spans: tuple[TraceSpan, ...] = ()
    duration_ms: float | None = None
    # X-Ray cut the trace: it exceeded the trace document size limit.
    limit_exceeded: bool = False
    # Where it was read: "xray" (BatchGetTraces) or "cloudwatch_logs" (aws/spans).
    source: str = "xray"

    @property
    def calls(self) -> tuple[TraceSpan, ...]:
        """The downstream calls (DynamoDB, S3, HTTP, …)."""
        return tuple(s for s in self.spans if s.is_call)
