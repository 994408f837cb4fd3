"""Parse: raw CloudWatch event → `LogEvent`. Pure functions, no I/O, never raise.

The source's role picks the parser: the execution log (`parse_execution`), the access log (a
parser compiled from the stage's format string, `compile_access_format`), a Lambda function or
authorizer (`parse_lambda`). A group of unknown role is sniffed. The `Line.fields` keys each parser
fills are listed in its module: `execution`, `access`, `lambda_`. X-Ray's trace documents are
parsed by `apilogs.parse.xray` (into `Trace`s, not `Line`s).

Every parser ends with `vet` (`apilogs.parse.vet`): an ID that does not have its shape
(`apilogs.ids`) is never put in `Line.request_id`, `lambda_request_id`, `trace_id` or
`extended_request_id` (nor `fields["authorizer_request_id"]`); it is kept as
`fields["untrusted_request_id"]` (…`_lambda_request_id`, `_trace_id`, `_extended_request_id`,
`_authorizer_request_id`), so it never joins or labels a request and is never lost.
"""

from __future__ import annotations

from apilogs.model import Line, LineKind, LogEvent, RawEvent, Role
from apilogs.parse.access import AccessParser, compile_access_format
from apilogs.parse.execution import parse_execution
from apilogs.parse.lambda_ import parse_lambda, recognize_lambda

__all__ = [
    "AccessParser",
    "compile_access_format",
    "parse_event",
    "parse_execution",
    "parse_lambda",
    "parse_line",
]


# Enum members the per-event code uses, read from module names: on Python 3.11, reading
# `Role.LAMBDA` from its class takes EnumType.__getattr__'s slow path (several times a global).
_ACCESS_ROLE = Role.ACCESS
_AUTHORIZER = Role.AUTHORIZER
_EXECUTION = Role.EXECUTION
_LAMBDA = Role.LAMBDA


def parse_event(raw: RawEvent) -> LogEvent:
    """Attach to a raw event what its message says."""
    return LogEvent(raw, parse_line(raw.message, raw.source.role, raw.source.log_format))


def parse_line(message: str, role: Role, log_format: str | None = None) -> Line:
    """One message of a group with this role → its `Line`. `log_format` is the access log format
    string for `Role.ACCESS` (ignored otherwise)."""
    try:
        if role is _EXECUTION:
            return parse_execution(message)
        if role is _LAMBDA or role is _AUTHORIZER:
            return parse_lambda(message)
        if role is _ACCESS_ROLE:
            return compile_access_format(log_format).parse(message)
        return _sniff(message)
    except Exception:  # pragma: no cover - a parser bug must cost one line, not the stream
        return Line()


def _sniff(message: str) -> Line:
    """A group of unknown role. The execution-log prefix `({id}) ` is unambiguous and cheap, so it
    goes first. JSON access lines and Lambda's JSON records share `requestId`: a line with access
    keys (status, method, route) is an access line. Then what only Lambda writes; then whatever
    IDs a JSON/UUID read finds."""
    if message.startswith("("):
        line = parse_execution(message)
        if line.kind is not LineKind.UNKNOWN:
            return line
    access = compile_access_format(None).parse(message)
    fields = access.fields
    if access.request_id and ("status" in fields or "method" in fields or "route" in fields):
        return access
    lambda_line = recognize_lambda(message)
    if lambda_line is not None and lambda_line.kind is not LineKind.LAMBDA_PRINT:
        return lambda_line
    # Not recognisably anything: keep the IDs found, claim no kind.
    return access.rebuilt(LineKind.UNKNOWN, fields)
