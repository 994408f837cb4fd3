"""API Gateway execution log lines (REST and WebSocket) → `Line`.

Every line API Gateway writes to `API-Gateway-Execution-Logs_{apiId}/{stage}` starts with
`({apiRequestId}) `: a UUID for REST APIs, a base64-like ID (`Qx1bXHbVoAMFp8Q=`) for WebSocket
APIs. A line with that prefix yields `request_id` (when the ID has its shape, see
`apilogs.parse.vet`: else `fields["untrusted_request_id"]`); a line without it is `UNKNOWN`.

`Line.fields` keys:

- `method`, `request_path`: `HTTP Method: GET, Resource Path: /primes/107`. Despite its
  label, this is the path the client asked for, without the stage (a `/{proxy+}` resource
  logs `/api/v1`), not the route's template
- `resource_path` (the route's template, as the access log's `resourcePath`): the usage-plan
  check, `API Key  authorized because method 'ANY /{resource+}' does not require API Key. …`
- `path_params` (dict of str): `Method request path: {n=107}` (`{}`: none); with
  `request_path` they give the route's template when neither the access log nor the
  usage-plan check does
- `route`: `WebSocket Request Route: [$connect]`
- `function_arn`: the Lambda behind `Endpoint request URI: …` / `Sending request to …`
  (integration or authorizer); `uri` when the endpoint is not a Lambda function
- `sending` (True): the line is `Sending request to …`, the moment API Gateway called the
  endpoint (what a join by timing measures from)
- `integration_status` (int), `integration_latency_ms` (int): `Received response. …`, and the
  status of a failed Lambda invocation
- `status` (int): `Method completed with status: …`
- `error_type`: `X-Amz-Function-Error` (`Unhandled`/`Handled`) of the endpoint response headers,
  or the `errorType` of an error body (endpoint response, authorizer result)
- `error_message`: the detail of a failure line
- `error_cause`: `timeout`, `malformed_proxy_response`, `permissions`, `throttled`,
  `customer_function_error`, `oom`, `unauthorized`, `configuration`, `invocation_failed`,
  `execution_failed`
- `timeout_s` (float): a Lambda `Task timed out after N seconds` relayed in a failure line
- `sampled` (bool): the X-Ray decision in a logged `X-Amzn-Trace-Id` header (`Sampled=1` / `0`)
  of the endpoint's or the method's response headers
- `integration_request_id`: an `AWS Integration Endpoint RequestId` / `x-amzn-RequestId` that is
  not a Lambda request ID (AWS service integrations); Lambda's go to `Line.lambda_request_id`
- `authorizer_id`: `Starting authorizer: {id} for request: …`
- `denied_status` (int): what an authorizer's deny answers, 401 (`Unauthorized request: …`) or
  403 (`The client is not authorized …`)
- `authorized` (bool): the authorizer's policy let the call through
- `ip`, `user_agent`: WebSocket `$connect` (`Client [UserAgent: …, SourceIp: …] is connecting …`)
- `connection_id`: WebSocket `… received message from client [Connection Id: …]`
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apilogs.model import UNPARSED, Line, LineKind
from apilogs.parse.lambda_ import TIMED_OUT
from apilogs.parse.vet import vet

__all__ = ["parse_execution"]

# REST request IDs are UUIDs, WebSocket ones base64 (with `=`, `+`, `/`); test-invoke uses words.
_PREFIX = re.compile(r"\(([0-9A-Za-z+/=_-]{6,64})\) ")
_LAMBDA_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TRACE = re.compile(r"1-[0-9A-Fa-f]+-[0-9A-Fa-f]+")
_HEADER_ANY_CASE = re.compile(r"(?i)(?<![\w-])(x-amzn-requestid|x-amz-function-error)=([^,}\s]+)")
_HEADER_VALUE = re.compile(r"[^,}\s]+")
_RECEIVED = re.compile(
    r"Received response\. (?:Status: (\d{1,4}), )?Integration latency: (\d{1,12}) ms"
)
_HTTP_METHOD = re.compile(r"HTTP Method: ([^,\s]+), Resource Path: (\S*)")
_ERROR_TYPE = re.compile(r'"errorType"\s*:\s*"([^"\\]{1,200})"')
_WS_CLIENT = re.compile(r"Client \[UserAgent: (.*), SourceIp: ([^\]\s]*)\] is connecting")
_WS_CONNECTION = re.compile(r"\[Connection Id: ([^\]\s]+)\]")

# Enum members the per-event code uses, read from module names: on Python 3.11, reading
# `Role.LAMBDA` from its class takes EnumType.__getattr__'s slow path (several times a global).
_APIGW_OTHER = LineKind.APIGW_OTHER

_Handler = Callable[[str, str], Line]

_EXTENDED = "Extended Request Id: "
_AUTHORIZER_START = "Starting authorizer: "
_WS_ROUTE = "WebSocket Request Route: ["
_ENDPOINT_URI = "Endpoint request URI: "
_ENDPOINT_BODY = "Endpoint response body before transformations: "
_SENDING = "Sending request to "
_CUSTOMER_ERROR = " due to customer function error: "
_EXECUTION_FAILED_STATUS = "Lambda execution failed with status "
_INVOCATION_FAILED = "Lambda invocation failed with status: "
_LAMBDA_ID_TAIL = ". Lambda request id: "
_CONFIGURATION_ERROR = "Execution failed due to configuration error: "
_COMPLETED = "Method completed with status: "
_INTEGRATION_ID = "AWS Integration Endpoint RequestId :"
_XRAY = "X-ray Tracing ID :"
_AUTHORIZER_RESULT = "Authorizer result body before parsing: "
_PATH_PARAMS = "Method request path: "
# The usage-plan check names the method as it is configured: its route's template, whether the
# key was needed, given or refused (`… method 'GET /pets/{id}' requires API Key …`).
_METHOD_CHECKED = re.compile(r"API Key\b.*? authorized because method '[A-Z]+ (/[^'\s]*)'")
# A map's entries are `name=value`, joined by ", ": split only where a name follows.
_PARAM_SPLIT = re.compile(r", (?=[A-Za-z0-9_.\-]+=)")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def parse_execution(message: str) -> Line:
    """One execution-log message → its `Line`. Never raises."""
    return vet(_parse(message))


def _parse(message: str) -> Line:
    m = _PREFIX.match(message)
    if m is None:
        return UNPARSED
    rid = m.group(1)
    rest = message[m.end() :]
    # The first word picks the family, so a line costs one dict lookup plus a few startswith.
    space = rest.find(" ")
    handler = _BY_FIRST_WORD.get(rest[:space] if space > 0 else rest)
    if handler is None:
        return Line(_APIGW_OTHER, request_id=rid)
    return handler(rid, rest)


def _other(rid: str, **fields: Any) -> Line:
    return Line(_APIGW_OTHER, request_id=rid, fields=fields) if fields else _plain(rid)


def _plain(rid: str) -> Line:
    return Line(_APIGW_OTHER, request_id=rid)


def _extended(rid: str, rest: str) -> Line:
    if rest.startswith(_EXTENDED):
        ext = rest[len(_EXTENDED) :].strip()
        if ext:
            return Line(LineKind.APIGW_START, request_id=rid, extended_request_id=ext)
    return _plain(rid)


def _starting(rid: str, rest: str) -> Line:
    if rest.startswith("Starting execution for request"):
        return Line(LineKind.APIGW_START, request_id=rid)
    if rest.startswith(_AUTHORIZER_START):
        start = len(_AUTHORIZER_START)
        end = rest.find(" ", start)
        authorizer = rest[start:end] if end > 0 else rest[start:].strip()
        fields = {"authorizer_id": authorizer} if authorizer else {}
        return Line(LineKind.APIGW_AUTHORIZER_START, request_id=rid, fields=fields)
    return _plain(rid)


def _http(rid: str, rest: str) -> Line:
    m = _HTTP_METHOD.match(rest)
    if m is None:
        return _plain(rid)
    fields = {"method": m.group(1), "request_path": m.group(2)}
    return Line(LineKind.APIGW_METHOD, request_id=rid, fields=fields)


def _websocket(rid: str, rest: str) -> Line:
    if rest.startswith(_WS_ROUTE):
        start = len(_WS_ROUTE)
        end = rest.find("]", start)
        if end > start:
            return Line(LineKind.APIGW_METHOD, request_id=rid, fields={"route": rest[start:end]})
    m = _WS_CONNECTION.search(rest)
    return _other(rid, connection_id=m.group(1)) if m else _plain(rid)


def _client(rid: str, rest: str) -> Line:
    m = _WS_CLIENT.match(rest)
    if m is None:
        return _plain(rid)
    fields: dict[str, Any] = {}
    if m.group(1) and m.group(1) != "null":
        fields["user_agent"] = m.group(1)
    if m.group(2):
        fields["ip"] = m.group(2)
    return _other(rid, **fields)


def _endpoint_uri(rid: str, uri: str, *, sending: bool = False) -> Line:
    uri = uri.strip()
    at = uri.find("/functions/")
    start = at + len("/functions/")
    end = uri.find("/invocations", start) if at >= 0 else -1
    fields: dict[str, Any]
    if end > start and uri.startswith("arn:", start):
        fields = {"function_arn": uri[start:end]}
    else:
        fields = {"uri": uri}
    if sending:
        fields["sending"] = True
    return Line(LineKind.APIGW_ENDPOINT_URI, request_id=rid, fields=fields)


def _endpoint(rid: str, rest: str) -> Line:
    if rest.startswith(_ENDPOINT_URI):
        return _endpoint_uri(rid, rest[len(_ENDPOINT_URI) :])
    if rest.startswith("Endpoint response headers: "):
        return _response_headers(rid, rest)
    if rest.startswith(_ENDPOINT_BODY):
        # The body of a failed Lambda call is its error object: worth surfacing its type.
        m = _ERROR_TYPE.search(rest, len(_ENDPOINT_BODY))
        if m is not None:
            return _other(rid, error_type=m.group(1))
    return _plain(rid)


def _sending(rid: str, rest: str) -> Line:
    if rest.startswith(_SENDING):
        return _endpoint_uri(rid, rest[len(_SENDING) :], sending=True)
    return _plain(rid)


def _response_headers(rid: str, rest: str) -> Line:
    lambda_id: str | None = None
    fields: dict[str, Any] = {}
    headers = _headers(rest)
    request_id = headers.get("x-amzn-requestid")
    if request_id is not None:
        if _LAMBDA_ID.fullmatch(request_id):
            lambda_id = request_id
        else:
            fields["integration_request_id"] = request_id
    function_error = headers.get("x-amz-function-error")
    if function_error is not None:
        fields["error_type"] = function_error
    sampled = _sampled(rest)
    if sampled is not None:
        fields["sampled"] = sampled
    return Line(
        LineKind.APIGW_RESPONSE_HEADERS,
        request_id=rid,
        lambda_request_id=lambda_id,
        trace_id=_trace_root(rest),
        fields=fields,
    )


def _headers(text: str) -> dict[str, str]:
    """x-amzn-RequestId and X-Amz-Function-Error from API Gateway's `{A=1, B=2}` header dump,
    by lower-cased name (header names are case-insensitive; Lambda's spelling has varied)."""
    found: dict[str, str] = {}
    # Lower-casing keeps offsets only for ASCII; other text takes the slower regex.
    if not text.isascii():
        for m in _HEADER_ANY_CASE.finditer(text):
            found.setdefault(m.group(1).lower(), m.group(2))
        return found
    folded = text.lower()
    for name in ("x-amzn-requestid", "x-amz-function-error"):
        at = folded.find(name + "=")
        while at > 0 and folded[at - 1] not in "{ ,":
            at = folded.find(name + "=", at + 1)
        if at >= 0:
            value = _HEADER_VALUE.match(text, at + len(name) + 1)
            if value is not None:
                found[name] = value.group(0)
    return found


def _sampled(text: str) -> bool | None:
    """The `Sampled=1` / `sampled=0` of a trace header in the text."""
    at = text.find("ampled=")
    if at > 0 and text[at - 1] in "Ss":
        flag = text[at + 7 : at + 8]
        if flag in ("0", "1"):
            return flag == "1"
    return None


def _trace_root(text: str, start: int = 0) -> str | None:
    """The X-Ray root in `Root=1-…` (or `root=1-…`) within text."""
    at = text.find("oot=1-", start)
    while at >= 0:
        if at > 0 and text[at - 1] in "Rr" and (at < 2 or not text[at - 2].isalpha()):
            m = _TRACE.match(text, at + 4)
            if m is not None:
                return m.group(0)
        at = text.find("oot=1-", at + 6)
    return None


def _received(rid: str, rest: str) -> Line:
    m = _RECEIVED.match(rest)
    if m is None:
        return _plain(rid)
    fields: dict[str, Any] = {"integration_latency_ms": int(m.group(2))}
    if m.group(1):
        fields["integration_status"] = int(m.group(1))
    return Line(LineKind.APIGW_RESPONSE, request_id=rid, fields=fields)


def _split_lambda_id(text: str) -> tuple[str, str | None]:
    """`…. Lambda request id: {id}` → (the text before, the ID when it is a Lambda one)."""
    at = text.rfind(_LAMBDA_ID_TAIL)
    if at < 0:
        return text.rstrip(), None
    candidate = text[at + len(_LAMBDA_ID_TAIL) :].strip()
    return text[:at], candidate if _LAMBDA_ID.fullmatch(candidate) else None


def _lambda(rid: str, rest: str) -> Line:
    if rest.startswith("Lambda execution failed"):
        due = rest.find(_CUSTOMER_ERROR)
        if due < 0:
            return _failed(rid, rest)
        detail, lambda_id = _split_lambda_id(rest[due + len(_CUSTOMER_ERROR) :])
        fields: dict[str, Any] = {"error_message": detail}
        if rest.startswith(_EXECUTION_FAILED_STATUS):
            status = _to_int(rest[len(_EXECUTION_FAILED_STATUS) : due])
            if status is not None:
                fields["integration_status"] = status
        # API Gateway relays the function's own failure text: say which kind it was.
        timed_out = TIMED_OUT.search(detail)
        if timed_out is not None:
            fields["error_cause"] = "timeout"
            fields["timeout_s"] = float(timed_out.group(1))
        elif "signal: killed" in detail:
            fields["error_cause"] = "oom"
        else:
            fields["error_cause"] = "customer_function_error"
        return Line(
            LineKind.APIGW_LAMBDA_ERROR, request_id=rid, lambda_request_id=lambda_id, fields=fields
        )
    if rest.startswith(_INVOCATION_FAILED):
        head, lambda_id = _split_lambda_id(rest)
        status = _to_int(head[len(_INVOCATION_FAILED) :].rstrip("."))
        fields = {"error_message": head}
        if status is not None:
            fields["integration_status"] = status
        if status == 429:
            fields["error_cause"] = "throttled"
            kind = LineKind.APIGW_THROTTLED
        else:
            fields["error_cause"] = "invocation_failed"
            kind = LineKind.APIGW_FAILED
        return Line(kind, request_id=rid, lambda_request_id=lambda_id, fields=fields)
    return _plain(rid)


def _execution(rid: str, rest: str) -> Line:
    if rest.startswith("Execution failed"):
        return _failed(rid, rest)
    return _plain(rid)


def _failed(rid: str, rest: str) -> Line:
    text = rest.rstrip()
    if text.startswith("Execution failed due to a timeout error"):
        return Line(
            LineKind.APIGW_TIMEOUT,
            request_id=rid,
            fields={"error_cause": "timeout", "error_message": text},
        )
    if text.startswith(_CONFIGURATION_ERROR):
        detail = text[len(_CONFIGURATION_ERROR) :]
        if detail.startswith("Malformed Lambda proxy response"):
            kind, cause = LineKind.APIGW_MALFORMED, "malformed_proxy_response"
        elif detail.startswith("Invalid permissions on Lambda function"):
            kind, cause = LineKind.APIGW_PERMISSIONS, "permissions"
        elif detail.startswith("Rate Exceeded"):
            kind, cause = LineKind.APIGW_THROTTLED, "throttled"
        else:
            kind, cause = LineKind.APIGW_FAILED, "configuration"
        return Line(kind, request_id=rid, fields={"error_cause": cause, "error_message": detail})
    fields = {"error_cause": "execution_failed", "error_message": text}
    return Line(LineKind.APIGW_FAILED, request_id=rid, fields=fields)


def _method(rid: str, rest: str) -> Line:
    if rest.startswith(_COMPLETED):
        status = _to_int(rest[len(_COMPLETED) :])
        fields = {"status": status} if status is not None else {}
        return Line(LineKind.APIGW_COMPLETED, request_id=rid, fields=fields)
    if rest.startswith(_PATH_PARAMS):
        params = _path_params(rest[len(_PATH_PARAMS) :])
        return _other(rid, path_params=params) if params is not None else _plain(rid)
    if rest.startswith(("Method request headers: ", "Method response headers: ")):
        # The caller's (or the response's) X-Amzn-Trace-Id: the request's X-Ray root.
        trace = _trace_root(rest)
        if trace is not None:
            sampled = _sampled(rest)
            fields = {"sampled": sampled} if sampled is not None else {}
            return Line(LineKind.APIGW_OTHER, request_id=rid, trace_id=trace, fields=fields)
    return _plain(rid)


def _path_params(text: str) -> dict[str, str] | None:
    """`{n=107}`, `{proxy=api/v1}`, `{a=1, b=2}`, `{}` (how API Gateway writes a Java map) →
    the parameters; None when the text is not such a map."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    body = text[1:-1]
    if not body:
        return {}
    params: dict[str, str] = {}
    for part in _PARAM_SPLIT.split(body):
        name, equals, value = part.partition("=")
        if not equals or not _PARAM_NAME.fullmatch(name):
            return None
        params[name] = value
    return params


def _aws(rid: str, rest: str) -> Line:
    if rest.startswith(_INTEGRATION_ID):
        value = rest[len(_INTEGRATION_ID) :].strip()
        if _LAMBDA_ID.fullmatch(value):
            return Line(LineKind.APIGW_INTEGRATION_ID, request_id=rid, lambda_request_id=value)
        fields = {"integration_request_id": value} if value else {}
        return Line(LineKind.APIGW_INTEGRATION_ID, request_id=rid, fields=fields)
    return _plain(rid)


def _xray(rid: str, rest: str) -> Line:
    if not rest.startswith(_XRAY):
        return _plain(rid)
    # Written `Root=1-…` by current API Gateway, bare `1-…` by older deployments.
    trace = _trace_root(rest, len(_XRAY))
    if trace is None:
        bare = _TRACE.search(rest, len(_XRAY))
        trace = bare.group(0) if bare else None
    return Line(LineKind.APIGW_TRACE, request_id=rid, trace_id=trace)


def _authorizer(rid: str, rest: str) -> Line:
    if rest.startswith(_AUTHORIZER_RESULT):
        m = _ERROR_TYPE.search(rest, len(_AUTHORIZER_RESULT))
        fields = {"error_type": m.group(1)} if m else {}
        return Line(LineKind.APIGW_AUTHORIZER_RESULT, request_id=rid, fields=fields)
    return _plain(rid)


def _authorized(rid: str, rest: str) -> Line:
    if rest.startswith(("Using valid authorizer policy", "Successfully completed authorizer")):
        return Line(LineKind.APIGW_AUTHORIZER_RESULT, request_id=rid, fields={"authorized": True})
    return _plain(rid)


def _unauthorized(rid: str, rest: str) -> Line:
    # What API Gateway answers: 401 when the authorizer said "Unauthorized" (or the identity
    # source was missing), 403 for a policy that denies. A 401 logs no "Method completed".
    if rest.startswith("Unauthorized request"):
        status = 401
    elif rest.startswith("The client is not authorized"):
        status = 403
    else:
        return _plain(rid)
    fields = {
        "error_cause": "unauthorized",
        "error_message": rest.rstrip(),
        "denied_status": status,
    }
    return Line(LineKind.APIGW_UNAUTHORIZED, request_id=rid, fields=fields)


def _throttle(rid: str, rest: str) -> Line:
    # `Key throttle limit exceeded for RestApi …`: a usage plan's throttle, before any Lambda.
    if "throttle limit exceeded" in rest:
        fields = {"error_cause": "throttled", "error_message": rest.rstrip()}
        return Line(LineKind.APIGW_THROTTLED, request_id=rid, fields=fields)
    return _plain(rid)


def _api_key(rid: str, rest: str) -> Line:
    m = _METHOD_CHECKED.match(rest)
    return _other(rid, resource_path=m.group(1)) if m else _plain(rid)


def _to_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


_BY_FIRST_WORD: dict[str, _Handler] = {
    "Extended": _extended,
    "Starting": _starting,
    "HTTP": _http,
    "WebSocket": _websocket,
    "Client": _client,
    "Endpoint": _endpoint,
    "Sending": _sending,
    "Received": _received,
    "Lambda": _lambda,
    "Execution": _execution,
    "Method": _method,
    "AWS": _aws,
    "X-ray": _xray,
    "Authorizer": _authorizer,
    "Using": _authorized,
    "Successfully": _authorized,
    "Unauthorized": _unauthorized,
    "The": _unauthorized,
    "Key": _throttle,
    "API": _api_key,
}
