"""API Gateway access log lines → `Line`, shaped by the stage's access log format.

The format string (`accessLogSettings.format`) says which `$context` variable sits where.
`compile_access_format(fmt)` reads it once and returns an `AccessParser`:

- a JSON format (`{"requestId":"$context.requestId", "status":$context.status, …}`) maps each
  key path of the parsed message to the variable named in the format's value;
- every format (CLF, CSV, XML, free text, and JSON lines that fail to parse) is also compiled to
  one regex: each `$context.x` (or `${context.x}`) becomes a capture group, the literal text between
  is matched as written (runs of whitespace loosely);
- with no format, or a line that does not fit it: a JSON line is read by its usual keys
  (`requestId`, `status`, `httpMethod`, …), any other line gives its first UUID as `request_id`.

The kind is always `LineKind.ACCESS`. `-` (API Gateway's "no value") counts as absent.

Caller text. API Gateway writes some variables (the user agent, the path, error messages) as the
caller sent them, quotes included, so a caller can close a JSON string and write keys of its own:
`…"userAgent":"x","requestId":"forged"}`. A JSON line is therefore read with the FIRST value of a
repeated key (json.loads keeps the last), and such a line is flagged with
`fields["duplicate_keys"]` (each repeated key once, e.g. `("requestId",)`). What a caller writes
comes after the caller's value, so the first value is API Gateway's when its key precedes every
value that may hold caller text (in the format, or, read without one, in the line); otherwise,
and for a key repeated in a nested object, neither value is trusted: it is kept as
`fields["untrusted_" + name]` (`untrusted_request_id`, `untrusted_status`, …). Formats read by
regex (CLF, CSV, XML) are anchored at both ends and only the user agent's group is unbounded, so
a delimiter in a caller value shifts no other group unless two free-text values meet; what is
then read as an ID still has to have its shape (below). Without a format, a line that is not
JSON gives its first UUID as `request_id`: a guess, and only a well-formed UUID.

Every ID is checked for its shape last (`apilogs.parse.vet`): a value that does not look like
its ID goes to `fields["untrusted_" + name]`, as does an ID value that is not the line's own text
(decoded from a JSON escape, or a JSON number). So does a measure AWS cannot write (a status
outside 100–599, a latency outside 0–1 h or not a number at all, a method or path that is not
text of its shape): it is left out, and named in `fields["left_out"]`.

IDs: `requestId` → `request_id`, `extendedRequestId` → `extended_request_id`,
`integration.requestId` / `awsEndpointRequestId` / `integration.awsEndpointRequestId` →
`lambda_request_id` (when it is a UUID, else `fields["integration_request_id"]`), `xrayTraceId` →
`trace_id` (the `Root=` value).

`Line.fields` keys: `status`, `integration_status`, `integration_latency_ms`,
`response_latency_ms` (ints), `method` (`httpMethod`), `path` (`path`: what the client sent,
stage prefix included), `resource_path` (`resourcePath`: the route's template), `route` (`routeKey`), `ip` (`identity.sourceIp`), `user_agent` (`identity.userAgent`),
`protocol`, `error_message` (`integration.error` / `integrationErrorMessage`),
`authorizer_request_id` (`authorizer.requestId`), `integration_request_id`, `error_cause`
(from `error.responseType`: `timeout`, `throttled`, `unauthorized`, `authorizer_failure`), and every
other variable under its own name, e.g. `fields["context.domainName"]` (as written; JSON numbers
stay numbers).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from apilogs.model import Line, LineKind
from apilogs.parse.vet import LIMITS, leave_out, vet

__all__ = ["AccessParser", "compile_access_format"]

_NAME = r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*"  # a trailing dot is prose, not part of the name
_VAR = re.compile(rf"\$(?:\{{context\.({_NAME})\}}|context\.({_NAME}))")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_WHITESPACE = re.compile(r"(\s+)")
_PLACEHOLDER = re.compile(r"@@apilogs(\d+)@@")

# How a variable's value is stored: into a Line ID, an int field, a str field, or as written.
_ID, _INT, _STR, _RAW = "id", "int", "str", "raw"
_VARIABLES: dict[str, tuple[str, str]] = {
    "requestId": (_ID, "request_id"),
    "extendedRequestId": (_ID, "extended_request_id"),
    "integration.requestId": (_ID, "lambda_request_id"),
    "awsEndpointRequestId": (_ID, "lambda_request_id"),
    "integration.awsEndpointRequestId": (_ID, "lambda_request_id"),
    "xrayTraceId": (_ID, "trace_id"),
    "status": (_INT, "status"),
    "integrationStatus": (_INT, "integration_status"),
    "integration.status": (_INT, "integration_status"),
    "integrationLatency": (_INT, "integration_latency_ms"),
    "integration.latency": (_INT, "integration_latency_ms"),
    "responseLatency": (_INT, "response_latency_ms"),
    "httpMethod": (_STR, "method"),
    "resourcePath": (_STR, "resource_path"),
    "path": (_STR, "path"),
    "routeKey": (_STR, "route"),
    "identity.sourceIp": (_STR, "ip"),
    "identity.userAgent": (_STR, "user_agent"),
    "protocol": (_STR, "protocol"),
    "integration.error": (_STR, "error_message"),
    "integrationErrorMessage": (_STR, "error_message"),
    "authorizer.requestId": (_STR, "authorizer_request_id"),
}
# Values that never hold whitespace: their capture groups can be tight (and fast to reject).
# Those API Gateway computes itself (IDs, numbers, names from the API's own definition, fixed
# vocabularies)…
_APIGW_TOKENS: frozenset[str] = frozenset(
    {
        "requestId", "extendedRequestId", "integration.requestId", "awsEndpointRequestId",
        "integration.awsEndpointRequestId", "xrayTraceId", "status", "integrationStatus",
        "integration.status", "integration.integrationStatus", "integrationLatency",
        "integration.latency", "responseLatency", "responseLength", "httpMethod", "protocol",
        "identity.sourceIp", "authorizer.requestId", "apiId", "stage", "requestTimeEpoch",
        "connectionId", "eventType", "messageId", "resourceId", "accountId", "domainName",
        "domainPrefix", "resourcePath", "wafResponseCode", "error.responseType",
        "authorizer.status", "authorizer.latency", "authorizer.integrationLatency",
        "authorizer.integrationStatus", "authorize.status", "authorize.latency",
        "authenticate.status", "authenticate.latency", "responseOverride.status",
    }
)  # fmt: skip
# …and those it does not: the path the caller asked for, who the caller is, the WAF's ACL.
_TOKENS: frozenset[str] = _APIGW_TOKENS | frozenset(
    {
        "path", "webaclArn", "identity.caller", "identity.user", "identity.userArn",
        "identity.accountId", "identity.apiKey", "identity.apiKeyId", "identity.principalOrgId",
        "identity.vpceId", "identity.vpcId",
    }
)  # fmt: skip
# Values with spaces but none of the delimiters below. Anything else (a user agent, an error
# message) may hold quotes or commas, which API Gateway writes unescaped.
_PLAIN_TEXT: frozenset[str] = frozenset({"requestTime", "routeKey"})
# Characters that formats use as separators; token values never contain them, except paths
# (`/pets/{petId}`) hold braces and parentheses.
_DELIMITERS = frozenset("\"'<>,|]})\t")
_TOKEN = r"[^\s\"'<>,|\]]"
_RESPONSE_TYPE_CAUSES = {
    "INTEGRATION_TIMEOUT": "timeout",
    "THROTTLED": "throttled",
    "QUOTA_EXCEEDED": "throttled",
    "UNAUTHORIZED": "unauthorized",
    "ACCESS_DENIED": "unauthorized",
    "EXPIRED_TOKEN": "unauthorized",
    "INVALID_SIGNATURE": "unauthorized",
    "MISSING_AUTHENTICATION_TOKEN": "unauthorized",
    "INVALID_API_KEY": "unauthorized",
    "AUTHORIZER_FAILURE": "authorizer_failure",
    "AUTHORIZER_CONFIGURATION_ERROR": "authorizer_failure",
}
# Variables whose value API Gateway computes itself: its tokens above, the plain text (a time, a
# route key) and a WebSocket's `connectedAt`. A caller cannot put a quote in them, so they cannot
# end a JSON string early. Every other variable (user agent, path, error messages, authorizer
# claims, …) may hold caller text.
_APIGW_WRITTEN: frozenset[str] = _APIGW_TOKENS | _PLAIN_TEXT | {"connectedAt"}
# The keys people usually give variables in JSON formats, for lines read without their format.
_FALLBACK_KEYS = {
    "requestId": "requestId",
    "extendedRequestId": "extendedRequestId",
    "status": "status",
    "httpMethod": "httpMethod",
    "routeKey": "routeKey",
    "resourcePath": "resourcePath",
    "path": "path",
    "protocol": "protocol",
    "ip": "identity.sourceIp",
    "sourceIp": "identity.sourceIp",
    "userAgent": "identity.userAgent",
    "responseLatency": "responseLatency",
    "integrationLatency": "integrationLatency",
    "integrationStatus": "integrationStatus",
    "integrationRequestId": "integration.requestId",
    "awsEndpointRequestId": "awsEndpointRequestId",
    "xrayTraceId": "xrayTraceId",
    "authorizerRequestId": "authorizer.requestId",
    "integrationErrorMessage": "integrationErrorMessage",
    "integrationError": "integration.error",
}
_FALLBACK_SAFE = frozenset(key for key, var in _FALLBACK_KEYS.items() if var in _APIGW_WRITTEN)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where each variable's value goes, grouped by how it is stored so that `line` runs one
    tight loop per group. Entries are (index into the values, target name)."""

    ids: tuple[tuple[int, str], ...]
    ints: tuple[tuple[int, str], ...]
    strs: tuple[tuple[int, str], ...]
    raws: tuple[tuple[int, str], ...]
    # The target name of each value, in plan order (raw variables as `context.x`).
    names: tuple[str, ...]

    @classmethod
    def of(cls, variables: Iterable[str]) -> _Plan:
        groups: dict[str, list[tuple[int, str]]] = {_ID: [], _INT: [], _STR: [], _RAW: []}
        names: list[str] = []
        for index, var in enumerate(variables):
            how, name = _VARIABLES.get(var, (_RAW, var))
            groups[how].append((index, name))
            names.append("context." + name if how == _RAW else name)
        ids, ints, strs, raws = (tuple(groups[how]) for how in (_ID, _INT, _STR, _RAW))
        return cls(ids, ints, strs, raws, tuple(names))

    def line(
        self, values: Sequence[object], message: str, doubtful: frozenset[int] = frozenset()
    ) -> Line:
        """The `Line` of one message whose variable values (None or `-` when absent) are given in
        plan order. An ID that is not the message's own text (decoded from JSON escapes, a
        number) goes to `fields["untrusted_" + name]`. Values at `doubtful` indices (a duplicated key that the caller may have written) go to
        `fields["untrusted_" + name]` instead of where they belong."""
        ids: dict[str, str] = {}
        fields: dict[str, Any] = {}
        if doubtful:
            values = list(values)
            for index in doubtful:
                value = values[index]
                values[index] = None
                if value is not None and value != "-" and value != "":
                    fields.setdefault("untrusted_" + self.names[index], value)
        for index, name in self.ids:
            value = values[index]
            if value is None or value == "-" or value == "":
                continue
            if not isinstance(value, str) or value not in message:
                # Not the ID's own text (a number, a value decoded from JSON escapes): kept, and
                # never matched against IDs elsewhere.
                fields.setdefault("untrusted_" + name, value)
            elif name == "trace_id":
                root = _trace_root(value)
                if root is not None:
                    ids.setdefault(name, root)
                else:
                    fields.setdefault("untrusted_trace_id", value)
            elif name == "lambda_request_id" and not _UUID.fullmatch(value):
                fields.setdefault("integration_request_id", value)
            else:
                ids.setdefault(name, value)
        for index, name in self.ints:
            value = values[index]
            number = _to_int(value)
            if number is not None:
                if name not in fields:
                    fields[name] = number
            elif value is not None and value != "-" and value != "" and name not in fields:
                # Not a number API Gateway writes ("NaN", 1e30, an object): left out, kept.
                leave_out(fields, name, value)
        for index, name in self.strs:
            value = values[index]
            if value is not None and value != "-" and value != "" and name not in fields:
                if isinstance(value, str):
                    fields[name] = value
                elif name in LIMITS:
                    leave_out(fields, name, value)  # a method or path that is not text
                else:
                    fields[name] = str(value)
        for index, var in self.raws:
            value = values[index]
            if value is not None and value != "-" and value != "":
                fields.setdefault("context." + var, value)
                if var == "error.responseType" and isinstance(value, str):
                    cause = _RESPONSE_TYPE_CAUSES.get(value)
                    if cause is not None:
                        fields.setdefault("error_cause", cause)
        return Line(
            LineKind.ACCESS,
            request_id=ids.get("request_id"),
            lambda_request_id=ids.get("lambda_request_id"),
            trace_id=ids.get("trace_id"),
            extended_request_id=ids.get("extended_request_id"),
            fields=fields,
        )


def _trace_root(value: str) -> str | None:
    """`Root=1-…;Parent=…;Sampled=1` or a bare `1-…` → the root."""
    at = value.find("Root=")
    start = at + 5 if at >= 0 else 0
    if not value.startswith("1-", start):
        return None
    end = value.find(";", start)
    return value[start:end] if end >= 0 else value[start:]


def _to_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 1e15 else None
    if isinstance(value, str) and 0 < len(value) < 16:
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
            return int(number) if number == number and abs(number) < 1e15 else None
    return None


def _walk(obj: Any, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


class AccessParser:
    """Parses access log lines written with one format string. Build it with
    `compile_access_format`; `parse` never raises."""

    __slots__ = (
        "_caller_keys",
        "_json_paths",
        "_json_plan",
        "_regex",
        "_regex_plan",
        "format",
    )

    def __init__(self, fmt: str | None) -> None:
        self.format = fmt
        self._json_paths: tuple[tuple[str, ...], ...] = ()
        self._json_plan: _Plan | None = None
        self._caller_keys: frozenset[str] = frozenset()
        self._regex: re.Pattern[str] | None = None
        self._regex_plan: _Plan | None = None
        if not fmt:
            return
        if fmt.lstrip().startswith("{"):
            template = _json_template(fmt)
            if template is not None:
                paths: list[tuple[tuple[str, ...], str]] = []
                _collect_paths(template[0], (), template[1], paths)
                if paths:
                    self._json_paths = tuple(path for path, _ in paths)
                    self._json_plan = _Plan.of(var for _, var in paths)
                    self._caller_keys = _caller_keys(*template)
        compiled = _compile_regex(fmt)
        if compiled is not None:
            self._regex, names = compiled
            self._regex_plan = _Plan.of(names)

    def parse(self, message: str) -> Line:
        """One access-log message → its `Line` (kind `ACCESS`)."""
        return vet(self._parse(message))

    def _parse(self, message: str) -> Line:
        if self._json_plan is not None and message.lstrip().startswith("{"):
            obj, duplicates = _loads_first_wins(message)
            if isinstance(obj, dict):
                paths = self._json_paths
                values = [
                    obj.get(path[0]) if len(path) == 1 else _walk(obj, path) for path in paths
                ]
                if not duplicates:
                    return self._json_plan.line(values, message)
                doubtful = _doubtful(obj, duplicates, paths, self._caller_keys.__contains__)
                return _flagged(self._json_plan.line(values, message, doubtful), duplicates)
        if self._regex is not None and self._regex_plan is not None:
            m = self._regex.match(message)
            if m is not None:
                return self._regex_plan.line(m.groups(), message)
        return _fallback(message)


@functools.lru_cache(maxsize=64)
def compile_access_format(fmt: str | None) -> AccessParser:
    """The parser for one access log format string (None: no format known). Cached: every event
    of a stage shares one parser."""
    return AccessParser(fmt)


def _fallback(message: str) -> Line:
    if message.lstrip().startswith("{"):
        obj, duplicates = _loads_first_wins(message)
        if isinstance(obj, dict):
            keys = [key for key in _FALLBACK_KEYS if key in obj]
            plan = _Plan.of(_FALLBACK_KEYS[key] for key in keys)
            values = [obj[key] for key in keys]
            if not duplicates:
                return plan.line(values, message)
            # No format to say which keys hold caller text: every key not known to hold a value
            # API Gateway computes itself might.
            paths = [(key,) for key in keys]
            doubtful = _doubtful(obj, duplicates, paths, lambda key: key not in _FALLBACK_SAFE)
            return _flagged(plan.line(values, message, doubtful), duplicates)
    m = _UUID.search(message)
    return Line(LineKind.ACCESS, request_id=m.group(0) if m else None)


_Duplicates = list[tuple[dict[str, Any], str]]
# Each thread's repeated keys of the message it is parsing (readers may parse in threads).
_repeats = threading.local()


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        obj = {}
        found: _Duplicates = _repeats.found
        for key, value in pairs:
            if key in obj:
                found.append((obj, key))
            else:
                obj[key] = value
    return obj


# strict=False: API Gateway writes control characters in caller values as they came.
_DECODER = json.JSONDecoder(object_pairs_hook=_first_wins, strict=False)


def _loads_first_wins(message: str) -> tuple[object, _Duplicates]:
    """The JSON value of `message`, where a key repeated within one object keeps its FIRST
    value (json.loads keeps the last), and each (object, key) that was repeated."""
    found: _Duplicates = []
    _repeats.found = found
    try:
        return _DECODER.decode(message), found
    except (ValueError, RecursionError):
        return None, []


def _doubtful(
    obj: dict[str, Any],
    duplicates: _Duplicates,
    paths: Sequence[tuple[str, ...]],
    holds_caller_text: Callable[[str], bool],
) -> frozenset[int]:
    """Indices of the paths whose value API Gateway may not have written.

    A repeated key means a caller's value closed its string and wrote keys of its own (API
    Gateway does not escape quotes in every variable). Those come after the caller's value, so
    the first occurrence of a key is API Gateway's when it precedes every value that may hold
    caller text; otherwise either occurrence may be the caller's, and neither is trusted. A
    repeated key inside a nested object is not trusted either."""
    repeated_top = {key for where, key in duplicates if where is obj}
    repeated_nested = {(id(where), key) for where, key in duplicates if where is not obj}
    first_caller = next((i for i, key in enumerate(obj) if holds_caller_text(key)), len(obj))
    position = {key: i for i, key in enumerate(obj)}
    doubtful: list[int] = []
    for index, path in enumerate(paths):
        head = path[0]
        if head in repeated_top and position[head] >= first_caller:
            doubtful.append(index)
            continue
        node: object = obj
        for key in path:
            if not isinstance(node, dict):
                break
            if node is not obj and (id(node), key) in repeated_nested:
                doubtful.append(index)
                break
            node = node.get(key)
    return frozenset(doubtful)


def _flagged(line: Line, duplicates: _Duplicates) -> Line:
    """`line` with `fields["duplicate_keys"]`: each repeated key once, in order."""
    fields = dict(line.fields)
    fields["duplicate_keys"] = tuple(dict.fromkeys(key for _, key in duplicates))
    return line.rebuilt(line.kind, fields)


def _json_template(fmt: str) -> tuple[object, list[str]] | None:
    """The format parsed as JSON, each variable swapped for a placeholder string
    (`@@apilogs{n}@@`), and the variable of each placeholder.

    The format need not be valid JSON (`"status": $context.status` is common), so each variable
    is swapped for a quoted placeholder before parsing it."""
    out: list[str] = []
    names: list[str] = []
    pos = 0
    in_string = False
    for m in _VAR.finditer(fmt):
        in_string = _scan_quotes(fmt, pos, m.start(), in_string)
        out.append(fmt[pos : m.start()])
        placeholder = f"@@apilogs{len(names)}@@"
        out.append(placeholder if in_string else f'"{placeholder}"')
        names.append(m.group(1) or m.group(2))
        pos = m.end()
    out.append(fmt[pos:])
    try:
        return json.loads("".join(out), strict=False), names
    except (ValueError, RecursionError):
        return None


def _caller_keys(template: object, names: list[str]) -> frozenset[str]:
    """The top-level keys of a JSON format whose value holds a variable API Gateway may fill
    with caller text (a user agent, a path, an error message), as the whole value or in part."""
    if not isinstance(template, dict):
        return frozenset()
    return frozenset(key for key, value in template.items() if _holds_caller_text(value, names))


def _holds_caller_text(node: object, names: list[str]) -> bool:
    if isinstance(node, dict):
        return any(_holds_caller_text(value, names) for value in node.values())
    if isinstance(node, list):
        return any(_holds_caller_text(value, names) for value in node)
    if isinstance(node, str):
        return any(
            names[int(m.group(1))] not in _APIGW_WRITTEN for m in _PLACEHOLDER.finditer(node)
        )
    return False


def _scan_quotes(text: str, start: int, end: int, in_string: bool) -> bool:
    """Whether position `end` is inside a JSON string, given the state at `start`."""
    i = start
    while i < end:
        c = text[i]
        if in_string and c == "\\":
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        i += 1
    return in_string


def json_format_paths(fmt: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """Key path → variable for each value of a JSON format that is exactly one variable
    (`{"status": "$context.status"}` → `(("status",), "status")`); () if not JSON."""
    template = _json_template(fmt)
    if template is None:
        return ()
    paths: list[tuple[tuple[str, ...], str]] = []
    _collect_paths(template[0], (), template[1], paths)
    return tuple(paths)


def _collect_paths(
    node: object, path: tuple[str, ...], names: list[str], out: list[tuple[tuple[str, ...], str]]
) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _collect_paths(value, (*path, key), names, out)
    elif isinstance(node, str):
        m = _PLACEHOLDER.fullmatch(node)
        if m is not None:
            out.append((path, names[int(m.group(1))]))


def _compile_regex(fmt: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """The format as one anchored regex: a group per variable, literals matched as written.

    Free text (a user agent, an error message) may hold anything, so its group is lazy. Two
    unbounded lazy groups make a mismatching line cost O(n²) or worse (a CSV line of 400 commas
    took 30 s with three), so only one group is unbounded: the user agent's if there is one, else
    the first free-text variable's. Every other group stops at the next delimiter of the format."""
    matches = list(_VAR.finditer(fmt))
    if not matches:
        return None
    names = [m.group(1) or m.group(2) for m in matches]
    # literals[i] precedes variable i; the last one ends the format.
    bounds = [0] + [edge for m in matches for edge in (m.start(), m.end())] + [len(fmt)]
    literals = [fmt[bounds[j] : bounds[j + 1]] for j in range(0, len(bounds), 2)]
    groups = [
        _group(var, literals[i + 1], "".join(literals[i + 1 :]), "".join(literals[: i + 1]))
        for i, var in enumerate(names)
    ]
    # Who gets the one unbounded group: the user agent, else text with no delimiter to stop at,
    # else the first free text.
    candidates = [i for i, var in enumerate(names) if var == "identity.userAgent"]
    candidates += [i for i, group in enumerate(groups) if group is None]
    candidates += [
        i for i, var in enumerate(names) if var not in _TOKENS and var not in _PLAIN_TEXT
    ]
    if candidates:
        groups[candidates[0]] = "(.*?)"
    parts = []
    for literal, group in zip(literals, groups, strict=False):
        parts.append(_literal(literal))
        parts.append(group or r"(\S*)")
    parts.append(_literal(literals[-1]))
    parts.append(r"\s*\Z")
    try:
        return re.compile("".join(parts), re.DOTALL), tuple(names)
    except (re.error, RecursionError, OverflowError):
        return None


def _literal(text: str) -> str:
    """Literal text of the format. API Gateway writes it verbatim, but a run of whitespace may
    come out as other whitespace (a pretty-printed format on one line)."""
    return "".join(
        r"\s+" if piece.isspace() else re.escape(piece)
        for piece in _WHITESPACE.split(text)
        if piece
    )


def _group(var: str, following: str, after: str, before: str) -> str | None:
    """A bounded capture group. A token stops at whitespace and at the delimiter after it. Text
    stops at the next delimiter in the literal text after it (the quote closing `"GET /pets
    HTTP/1.1"`, the next comma of a CSV line), or, last in its line, cannot hold the delimiter
    before it (the comma of a CSV line). None: text with no delimiter around it."""
    nxt = following[:1]
    if var in _TOKENS:
        # Greedy when what follows cannot be part of the token, so it never backtracks far.
        if not nxt or nxt.isspace() or nxt in _DELIMITERS:
            return f"({_TOKEN}*)"
        return f"({_TOKEN}*?)"
    for char in after:
        if char in _DELIMITERS:
            return f"([^{re.escape(char)}]*?)"
    for char in reversed(before):
        if char in _DELIMITERS:
            return f"([^{re.escape(char)}]*)"
    return None
