"""A joined request's facts → the model's `Request`, with its outcome and its cause.

Diagnosis, not joining: `apilogs.join.correlate` gathers what each line of a request says (its IDs,
kinds, fields, invocations); this module turns that into a `Request` and tells how it ended and
why, in one line for people. Pure, but that `build_request` marks the authorizer's invocations
on the joiner's facts it is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from apilogs.model import Invocation, LineKind, LogEvent, Outcome, Request, Role

__all__ = [
    "APIGW_TIMEOUT_CAUSE",
    "LAMBDA_RAN_ON",
    "Diagnosis",
    "JoinedInvocation",
    "JoinedRequest",
    "build_request",
    "diagnose",
    "ran_on_cause",
]


class JoinedInvocation(Protocol):
    """One invocation as the joiner gathered it."""

    lambda_request_id: str
    role: Role

    def freeze(self, *, probable: bool = False) -> Invocation: ...


class JoinedRequest(Protocol):
    """What the joiner knows of one request (`apilogs.join.correlate`'s builder): read, never kept.
    A protocol, so that diagnosis does not import the joiner that imports it."""

    request_id: str | None
    extended_request_id: str | None
    trace_id: str | None
    facts: dict[str, Any]
    kinds: set[LineKind]
    events: list[LogEvent]
    authorizer_ids: set[str]
    # API Gateway's calls to a Lambda function: (when, function name).
    sends: list[tuple[int, str]]
    received_ms: int | None
    responded_ms: int | None
    gave_up_ms: int | None

    # Read-only, so that the joiner's own, narrower types fit.
    @property
    def invocations(self) -> Mapping[str, JoinedInvocation]: ...
    @property
    def probable(self) -> JoinedRequest | None: ...

    def root(self) -> JoinedRequest: ...


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """How a request ended (`outcome`), why in one line for people (`cause`), and the one
    number of that line a summary groups by: how long a Lambda that API Gateway gave up on ran
    in all, when it ran on to its end (`Request.ran_on_ms`)."""

    outcome: Outcome
    cause: str
    ran_on_ms: float | None = None


APIGW_TIMEOUT_CAUSE = "API Gateway integration timeout"
# The cause of a timeout whose Lambda ran on to its end, before its run's length.
LAMBDA_RAN_ON = f"{APIGW_TIMEOUT_CAUSE}; the Lambda ran on"


def ran_on_cause(shortest_ms: float, longest_ms: float | None = None) -> str:
    """The cause of such a timeout: `…, 17.69 s in all`; of several, the range of their runs
    (`…, 17.69–27.73 s in all`)."""
    seconds = f"{shortest_ms / 1000:.2f}"
    if longest_ms is not None:
        seconds += f"–{longest_ms / 1000:.2f}"
    return f"{LAMBDA_RAN_ON}, {seconds} s in all"


def build_request(b: JoinedRequest, *, in_progress: bool = False) -> Request:
    """The request the joiner's facts make, diagnosed. `in_progress`: more lines may join it."""
    f = b.facts
    kinds = b.kinds
    events_list = b.events
    guessed: JoinedRequest | None = b.probable.root() if b.probable is not None else None
    if guessed is not None:
        # The invocation joined by timing: its lines, its facts and its failure are the
        # request's, marked probable.
        events_list = sorted(b.events + guessed.events, key=lambda e: e.raw.timestamp)
        kinds = kinds | guessed.kinds
        f = dict(f)
        for key, value in guessed.facts.items():
            if key.startswith(("lambda_", "authorizer_")):
                f.setdefault(key, value)
    # Marked on the joiner's own facts: a later line of the function's group sets its role back,
    # and every build marks it again.
    for lid in b.authorizer_ids:
        if lid in b.invocations:
            b.invocations[lid].role = Role.AUTHORIZER
    frozen = [i.freeze() for i in b.invocations.values()]
    if guessed is not None:
        frozen += [
            i.freeze(probable=True)
            for lid, i in guessed.invocations.items()
            if lid not in b.invocations
        ]
    invocations = _named(tuple(sorted(frozen, key=lambda i: i.start_ms or 0)), b.sends)
    events = tuple(events_list)
    diagnosis = diagnose(kinds, f, invocations)
    return Request(
        request_id=b.request_id,
        start_ms=events[0].raw.timestamp if events else 0,
        end_ms=events[-1].raw.timestamp if events else 0,
        outcome=diagnosis.outcome,
        cause=diagnosis.cause,
        extended_request_id=b.extended_request_id,
        trace_id=b.trace_id,
        lambda_request_ids=tuple(i.lambda_request_id for i in invocations),
        method=f.get("method"),
        path=f.get("path") or f.get("request_path"),
        route=(
            f.get("resource_path")
            or _route_path(f.get("route"))
            or _route_template(f.get("request_path"), f.get("path_params"))
        ),
        status=_status(f),
        response_latency_ms=_response_latency(f, b),
        integration_latency_ms=_int(f.get("integration_latency_ms")),
        integration_status=_int(f.get("integration_status")),
        error_type=f.get("lambda_error_type") or f.get("error_type"),
        error_message=f.get("lambda_error_message") or f.get("error_message"),
        invocations=invocations,
        events=events,
        in_progress=in_progress,
        responded_ms=b.responded_ms,
        gave_up_ms=b.gave_up_ms,
        probable_events=tuple(guessed.events) if guessed is not None else (),
        sampled=f.get("sampled") if isinstance(f.get("sampled"), bool) else None,
        ran_on_ms=diagnosis.ran_on_ms,
    )


def _named(
    invocations: tuple[Invocation, ...], sends: list[tuple[int, str]]
) -> tuple[Invocation, ...]:
    """An invocation no line of the function's own names (Lambda refused it with a 429: it
    never ran) takes the function API Gateway called, when that call is the only one no other
    invocation of the request answers."""
    unnamed = [i for i in invocations if i.function is None]
    if len(unnamed) != 1:
        return invocations
    left = {name for _, name in sends} - {i.function for i in invocations}
    if len(left) != 1:
        return invocations
    [name] = left
    return tuple(replace(i, function=name) if i is unnamed[0] else i for i in invocations)


def _route_path(route_key: Any) -> str | None:
    """An HTTP API's route key (`GET /hello/{name}`, `$default`) → its path template."""
    if not isinstance(route_key, str) or not route_key:
        return None
    _method, sep, path = route_key.partition(" ")
    return path if sep and path.startswith("/") else route_key


def _response_latency(f: dict[str, Any], b: JoinedRequest) -> int | None:
    """The access log's `responseLatency`; without one, the execution log's time from the
    request's first line to "Method completed" (the same to a millisecond or two)."""
    logged = _int(f.get("response_latency_ms"))
    if logged is not None:
        return logged
    if b.received_ms is None or b.responded_ms is None or LineKind.APIGW_COMPLETED not in b.kinds:
        return None
    return max(0, b.responded_ms - b.received_ms)


def _route_template(path: Any, params: Any) -> str | None:
    """A REST API route's template from its execution log, for when no access line gives it:
    the path the client asked for (`/primes/107`) with each path parameter's value put back
    as its name (`{n=107}` → `/primes/{n}`); one whose value spans segments is greedy
    (`/api/v1`, `{proxy=api/v1}` → `/{proxy+}`). None when the parameters were not logged."""
    if not isinstance(path, str) or not isinstance(params, dict):
        return None
    segments = path.split("/")
    # Segment index → what stands there instead: a parameter's name, or None for the rest of
    # the segments a greedy one spans.
    put_back: dict[int, str | None] = {}
    for name, value in params.items():
        if not isinstance(value, str) or not value:
            continue
        parts = value.split("/")
        n = len(parts)
        # From the right: a parameter follows the literal segments that lead to it.
        for at in range(len(segments) - n, -1, -1):
            span = range(at, at + n)
            if segments[at : at + n] == parts and not any(i in put_back for i in span):
                put_back[at] = f"{{{name}+}}" if n > 1 else f"{{{name}}}"
                put_back.update(dict.fromkeys(span[1:]))
                break
    shown = (put_back.get(i, s) for i, s in enumerate(segments))
    return "/".join(s for s in shown if s is not None)


def _status(f: dict[str, Any]) -> int | None:
    """What API Gateway answered: as logged, or what an authorizer's deny answers (a 401 logs
    no status of its own)."""
    return _int(f.get("status")) or _int(f.get("denied_status"))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def diagnose(
    kinds: set[LineKind], f: dict[str, Any], invocations: tuple[Invocation, ...]
) -> Diagnosis:
    """How the request ended and why, from what its lines said (their kinds, their fields
    gathered in `f`) and its invocations. Pure."""
    status = _status(f)
    causes = {f.get("error_cause"), f.get("lambda_error_cause")}
    lambda_status = {i.status for i in invocations}
    error = _error_text(f)
    lambda_timed_out = LineKind.LAMBDA_TIMEOUT in kinds or (
        "timeout" in lambda_status and LineKind.LAMBDA_REPORT in kinds
    )
    seconds = f.get("lambda_timeout_s") or f.get("timeout_s")
    after = f" after {seconds:.2f} s" if isinstance(seconds, float | int) else ""
    if LineKind.APIGW_TIMEOUT in kinds:
        # API Gateway gave up first (at the integration's timeout, 29 s at most); the client saw
        # that, whatever the Lambda did next.
        integration = next((i for i in invocations if i.role is not Role.AUTHORIZER), None)
        if lambda_timed_out:
            cause = f"{LAMBDA_RAN_ON} and timed out{after}"
            return Diagnosis(Outcome.APIGW_TIMEOUT, cause)
        if integration is not None and integration.duration_ms is not None:
            ran_on = integration.duration_ms
            return Diagnosis(Outcome.APIGW_TIMEOUT, ran_on_cause(ran_on), ran_on_ms=ran_on)
        return Diagnosis(Outcome.APIGW_TIMEOUT, APIGW_TIMEOUT_CAUSE)
    if lambda_timed_out:
        return Diagnosis(Outcome.LAMBDA_TIMEOUT, f"Lambda timed out{after}")

    def exhausted(i: Invocation) -> bool:
        return bool(i.status and i.max_memory_mb and i.memory_mb and i.max_memory_mb >= i.memory_mb)

    if "oom" in causes or any(exhausted(i) for i in invocations):
        used = next((i for i in invocations if exhausted(i)), None) or next(
            (i for i in invocations if i.role is not Role.AUTHORIZER and i.memory_mb), None
        )
        detail = (
            f" ({used.max_memory_mb}/{used.memory_mb or '?'} MB)"
            if used and used.max_memory_mb
            else ""
        )
        return Diagnosis(Outcome.OUT_OF_MEMORY, f"Lambda ran out of memory{detail}")
    if "timeout" in causes:
        return Diagnosis(Outcome.APIGW_TIMEOUT, APIGW_TIMEOUT_CAUSE)
    if (
        LineKind.APIGW_UNAUTHORIZED in kinds
        or "unauthorized" in causes
        or (
            status in (401, 403)
            and (
                f.get("authorized") is False
                or LineKind.APIGW_AUTHORIZER_START in kinds
                or "authorizer_error_type" in f
            )
        )
    ):
        return Diagnosis(Outcome.AUTH_DENIED, f"Authorizer denied ({status or 403})")
    if (
        "lambda_error_type" in f
        or "lambda_error_message" in f
        or "customer_function_error" in causes
        or (f.get("error_type") in ("Unhandled", "Handled"))
    ):
        return Diagnosis(Outcome.UNHANDLED_EXCEPTION, error or "Lambda function error")
    if LineKind.APIGW_MALFORMED in kinds or "malformed_proxy_response" in causes:
        return Diagnosis(Outcome.MALFORMED_RESPONSE, "Malformed Lambda proxy response")
    if LineKind.APIGW_PERMISSIONS in kinds or "permissions" in causes:
        return Diagnosis(Outcome.BAD_PERMISSIONS, "Invalid permissions on Lambda function")
    if LineKind.APIGW_THROTTLED in kinds or "throttled" in causes or status == 429:
        if status == 429:
            return Diagnosis(Outcome.THROTTLED, "Throttled (429)")
        return Diagnosis(Outcome.THROTTLED, f"Lambda throttled the invocation ({status or '?'})")
    integration_status = _int(f.get("integration_status"))
    if integration_status is not None and integration_status >= 500:
        return Diagnosis(Outcome.INTEGRATION_ERROR, f"Integration returned {integration_status}")
    if status is None:
        return Diagnosis(Outcome.UNKNOWN, "no status logged")
    if 400 <= status < 500:
        return Diagnosis(Outcome.CLIENT_ERROR, f"Client error ({status})")
    if status >= 500:
        return Diagnosis(Outcome.SERVER_ERROR, error or f"Server error ({status})")
    return Diagnosis(Outcome.OK, "ok")


def _error_text(f: dict[str, Any]) -> str:
    kind = f.get("lambda_error_type") or (
        f.get("error_type") if f.get("error_type") not in ("Unhandled", "Handled") else None
    )
    message = f.get("lambda_error_message") or f.get("error_message")
    if kind and message:
        return f"{kind}: {message}"
    return str(kind or message or "")
