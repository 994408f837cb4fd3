"""The last step of every parser: what AWS cannot have written is not trusted.

A parser finds values by position (`({id}) …`, `START RequestId: {id}`, a JSON key); the text in
that position is written by whoever controls the line, so it may be anything. `vet` keeps each
value of a `Line` only when it is something AWS writes there, and moves any other value into the
line's fields under ``untrusted_`` + its name, so it is kept visibly and never joins, names,
labels or is summed into a request.

IDs keep their shape (`apilogs.ids`):

- `request_id` → `fields["untrusted_request_id"]` unless a UUID or API Gateway's short form,
- `extended_request_id` → `fields["untrusted_extended_request_id"]` unless the short form,
- `lambda_request_id` → `fields["untrusted_lambda_request_id"]` unless a UUID,
- `trace_id` → `fields["untrusted_trace_id"]` unless `1-{8 hex}-{24 hex}`,
- `fields["authorizer_request_id"]` (a Lambda request ID too) →
  `fields["untrusted_authorizer_request_id"]` unless a UUID.

Measures stay within what AWS can write (`LIMITS`); a value outside them is *left out*: it goes
to `fields["untrusted_" + name]` and its name to `fields["left_out"]` (a tuple), so requests,
stats and the TUI never show or sum it, while the line itself is kept and printed as written:

- latencies and durations (`*_latency_ms`, `duration_ms`, `billed_ms`, `init_ms`, …): finite
  numbers from 0 to below an hour (API Gateway gives up after 29 s, or minutes with a raised
  quota; a Lambda runs 900 s at most); `timeout_s` likewise, in seconds,
- `status`, `integration_status`: whole numbers 100–599,
- `memory_mb`: 128–10240; `max_memory_mb`: 0–10240,
- `method`: a word of letters (`GET`, `POST`, …); `path`, `request_path`: text starting with `/`.

A parser that cannot read a measure at all (`"NaN"`, `"fast"`, a JSON object) leaves it out the
same way (`leave_out`). `left_out_counts` and `left_out_notice` turn the lines' `left_out` into
the one notice a run tells the user.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from apilogs.ids import (
    is_api_request_id,
    is_extended_request_id,
    is_lambda_request_id,
    is_trace_id,
)
from apilogs.model import Line, LineKind

__all__ = [
    "LEFT_OUT",
    "LIMITS",
    "leave_out",
    "left_out_counts",
    "left_out_notice",
    "plausible_ms",
    "plausible_status",
    "vet",
]

LEFT_OUT = "left_out"  # the field naming a line's values left out

_CHECKS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("request_id", is_api_request_id),
    ("lambda_request_id", is_lambda_request_id),
    ("trace_id", is_trace_id),
    ("extended_request_id", is_extended_request_id),
)

_MAX_MS = 3_600_000  # an hour: no API Gateway latency nor Lambda duration comes near
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY"})


def plausible_ms(value: object) -> bool:
    """A latency or duration AWS can write: a finite number of ms, from 0 to below an hour."""
    # NaN fails both comparisons; bool is not a measure.
    return (type(value) is int or type(value) is float) and 0 <= value < _MAX_MS


def _seconds(value: object) -> bool:
    return (type(value) is int or type(value) is float) and 0 <= value < _MAX_MS / 1000


def plausible_status(value: object) -> bool:
    """An HTTP status: a whole number 100–599."""
    return type(value) is int and 100 <= value <= 599


def _memory_size(value: object) -> bool:
    return type(value) is int and 128 <= value <= 10240


def _memory_used(value: object) -> bool:
    return type(value) is int and 0 <= value <= 10240


def _method(value: object) -> bool:
    return isinstance(value, str) and (
        value in _METHODS or (len(value) <= 20 and value.isascii() and value.isalpha())
    )


def _path(value: object) -> bool:
    return isinstance(value, str) and value.startswith("/")


# Each checked field: its test, and why a value that fails it is left out (for people).
LIMITS: dict[str, tuple[Callable[[object], bool], str]] = {
    "integration_latency_ms": (plausible_ms, "a latency or duration outside 0–1 h"),
    "response_latency_ms": (plausible_ms, "a latency or duration outside 0–1 h"),
    "duration_ms": (plausible_ms, "a latency or duration outside 0–1 h"),
    "billed_ms": (plausible_ms, "a latency or duration outside 0–1 h"),
    "init_ms": (plausible_ms, "a latency or duration outside 0–1 h"),
    "restore_ms": (plausible_ms, "a latency or duration outside 0–1 h"),
    "billed_restore_ms": (plausible_ms, "a latency or duration outside 0–1 h"),
    "timeout_s": (_seconds, "a latency or duration outside 0–1 h"),
    "status": (plausible_status, "a status outside 100–599"),
    "integration_status": (plausible_status, "a status outside 100–599"),
    "memory_mb": (_memory_size, "a memory size outside 128–10240 MB"),
    "max_memory_mb": (_memory_used, "a used memory outside 0–10240 MB"),
    "method": (_method, "an HTTP method that is not a word"),
    "path": (_path, "a path that does not start with /"),
    "request_path": (_path, "a path that does not start with /"),
}


_Checks = tuple[tuple[str, Callable[[object], bool]], ...]


def _checks(*names: str) -> _Checks:
    return tuple((name, LIMITS[name][0]) for name in names)


_LAMBDA = _checks(
    "duration_ms", "billed_ms", "memory_mb", "max_memory_mb", "init_ms", "restore_ms",
    "billed_restore_ms",
)  # fmt: skip
_EXECUTION_FAILURE = _checks(
    "status", "integration_status", "integration_latency_ms", "timeout_s"
)  # fmt: skip
# The kinds of line whose fields have limits, and those fields. A table by kind: this runs for
# every line, and most kinds carry none of them.
_VALUE_CHECKS: dict[LineKind, _Checks] = {
    LineKind.ACCESS: _checks(
        "status", "integration_status", "integration_latency_ms", "response_latency_ms",
        "method", "path",
    ),
    LineKind.LAMBDA_REPORT: _LAMBDA,
    LineKind.LAMBDA_INIT: _LAMBDA,
    LineKind.LAMBDA_TIMEOUT: _checks("timeout_s"),
    LineKind.APIGW_METHOD: _checks("method", "request_path"),
    LineKind.APIGW_RESPONSE: _checks("integration_status", "integration_latency_ms"),
    LineKind.APIGW_COMPLETED: _checks("status"),
    LineKind.APIGW_LAMBDA_ERROR: _EXECUTION_FAILURE,
    LineKind.APIGW_THROTTLED: _EXECUTION_FAILURE,
    LineKind.APIGW_FAILED: _EXECUTION_FAILURE,
    LineKind.APIGW_TIMEOUT: _EXECUTION_FAILURE,
}  # fmt: skip


def leave_out(fields: dict[str, Any], name: str, value: object) -> None:
    """Record in `fields` (being built) that the value of `name` was left out: kept as
    `untrusted_{name}`, named in `fields["left_out"]`. `name` itself is not set."""
    fields.setdefault("untrusted_" + name, value)
    fields[LEFT_OUT] = (*fields.get(LEFT_OUT, ()), name)


def vet(line: Line) -> Line:
    """`line` itself when every ID it holds has its shape and every measure is within what AWS
    writes, else a copy with the misfits moved into its fields (see the module doc)."""
    # The common case first, in as few steps as possible: this runs for every line.
    fields = line.fields
    if fields:
        checks = _VALUE_CHECKS.get(line.kind)
        if checks is not None:
            for name, fits in checks:
                value = fields.get(name)
                if value is not None and not fits(value):
                    line = _without_absurd(line, checks)
                    fields = line.fields
                    break
    rid, lid, trace = line.request_id, line.lambda_request_id, line.trace_id
    ext = line.extended_request_id
    authorizer = fields.get("authorizer_request_id") if fields else None
    if (
        (rid is None or is_api_request_id(rid))
        and (lid is None or is_lambda_request_id(lid))
        and (trace is None or is_trace_id(trace))
        and (ext is None or is_extended_request_id(ext))
        and (
            authorizer is None or (isinstance(authorizer, str) and is_lambda_request_id(authorizer))
        )
    ):
        return line
    return _without_misfit_ids(line, authorizer)


def _without_absurd(line: Line, checks: _Checks) -> Line:
    fields: dict[str, Any] = dict(line.fields)
    for name, fits in checks:
        value = fields.get(name)
        if value is not None and not fits(value):
            del fields[name]
            leave_out(fields, name, value)
    return line.rebuilt(line.kind, fields)


def _without_misfit_ids(line: Line, authorizer: object) -> Line:
    fields: dict[str, Any] = dict(line.fields)
    kept: dict[str, str | None] = {
        "request_id": line.request_id,
        "lambda_request_id": line.lambda_request_id,
        "trace_id": line.trace_id,
        "extended_request_id": line.extended_request_id,
    }
    for name, fits in _CHECKS:
        value = kept[name]
        if value is not None and not fits(value):
            fields.setdefault(f"untrusted_{name}", value)
            kept[name] = None
    if authorizer is not None and not (
        isinstance(authorizer, str) and is_lambda_request_id(authorizer)
    ):
        fields.setdefault("untrusted_authorizer_request_id", fields.pop("authorizer_request_id"))
    return Line(
        line.kind,
        request_id=kept["request_id"],
        lambda_request_id=kept["lambda_request_id"],
        trace_id=kept["trace_id"],
        extended_request_id=kept["extended_request_id"],
        fields=fields,
    )


def left_out_counts(lines: Iterable[Line], counts: Counter[str] | None = None) -> Counter[str]:
    """How many values of `lines` were left out, by field name (added to `counts` if given)."""
    counts = Counter() if counts is None else counts
    for line in lines:
        names = line.fields.get(LEFT_OUT) if line.fields else None
        if names:
            counts.update(names)
    return counts


def left_out_notice(counts: Mapping[str, int]) -> str | None:
    """The one line a run tells the user about the values it left out, or None if none:
    `3 values AWS cannot write were left out of requests and sums: 2× a latency or duration
    outside 0–1 h, 1× a status outside 100–599 (their lines are shown as written)`."""
    reasons: Counter[str] = Counter()
    for name, count in counts.items():
        if count > 0:
            reasons[_reason(name)] += count
    total = sum(reasons.values())
    if not total:
        return None
    said = ", ".join(f"{n}× {reason}" for reason, n in reasons.most_common())
    values = "value AWS cannot write was" if total == 1 else "values AWS cannot write were"
    return (
        f"{total} {values} left out of requests and sums: {said} (their lines are shown as written)"
    )


def _reason(name: str) -> str:
    limit = LIMITS.get(name)
    return limit[1] if limit is not None else f"an unreadable {name}"
