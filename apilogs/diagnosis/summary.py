"""A window's requests summed up: what `apilogs stats` prints, as data.

`WindowStats.add` takes requests one at a time (memory: one number per request for each
percentile, one counter per distinct cause); `to_dict` is the JSON document."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from apilogs.diagnosis import LAMBDA_RAN_ON, ran_on_cause
from apilogs.model import Outcome, Request, Role
from apilogs.parse.vet import plausible_ms, plausible_status
from apilogs.times import iso_utc_or_none

PERCENTILES = (50, 90, 99)


def percentile(values: Iterable[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class CauseKey:
    """One row of "errors by cause": the outcome and what tells its requests apart — the
    status for client errors and denies (400 apart from 404, 401 apart from 403), the
    exception type for function errors."""

    outcome: Outcome
    detail: str


def cause_key(request: Request) -> CauseKey:
    outcome = request.outcome
    if outcome in (Outcome.CLIENT_ERROR, Outcome.AUTH_DENIED, Outcome.THROTTLED):
        return CauseKey(outcome, str(request.status or "?"))
    if outcome is Outcome.UNHANDLED_EXCEPTION:
        return CauseKey(outcome, request.error_type or request.cause)
    if outcome is Outcome.APIGW_TIMEOUT and request.ran_on_ms is not None:
        # How long the Lambda ran on is one request's own measure: the timeouts that ran on
        # make one row, not one per duration.
        return CauseKey(outcome, LAMBDA_RAN_ON)
    return CauseKey(outcome, request.cause)


@dataclass
class CauseRow:
    key: CauseKey
    count: int = 0
    example_request_id: str | None = None
    causes: Counter[str] = field(default_factory=Counter)
    # The shortest and the longest run of the row's Lambdas that ran on after API Gateway gave
    # up (`Request.ran_on_ms`): every request of a row keyed on that has one.
    ran_on_ms: tuple[float, float] | None = None

    def add(self, request: Request) -> None:
        self.count += 1
        self.causes[request.cause] += 1
        if self.example_request_id is None:
            self.example_request_id = request.request_id or ",".join(request.lambda_request_ids)
        ran_on = request.ran_on_ms
        if ran_on is not None:
            low, high = self.ran_on_ms or (ran_on, ran_on)
            self.ran_on_ms = (min(low, ran_on), max(high, ran_on))

    @property
    def cause(self) -> str:
        """The row's cause for people: its most common one; for timeouts that ran on for
        different times, the range of those times."""
        if len(self.causes) > 1 and self.ran_on_ms is not None:
            return ran_on_cause(*self.ran_on_ms)
        return self.causes.most_common(1)[0][0] if self.causes else self.key.detail


@dataclass
class WindowStats:
    """Sums up a stream of requests."""

    requests: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    response: list[float] = field(default_factory=list)
    integration: list[float] = field(default_factory=list)
    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cold: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[CauseKey, CauseRow] = field(default_factory=dict)
    routes: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    first_ms: int | None = None
    last_ms: int | None = None

    def add(self, request: Request) -> None:
        self.requests += 1
        self.first_ms = (
            request.start_ms if self.first_ms is None else min(self.first_ms, request.start_ms)
        )
        self.last_ms = request.end_ms if self.last_ms is None else max(self.last_ms, request.end_ms)
        # A value AWS cannot write is never summed: the parsers leave such values out
        # (`apilogs.parse.vet`), and what reaches a request by another way is checked here too.
        status = request.status if plausible_status(request.status) else None
        self.by_class[f"{status // 100}xx" if status else "unknown"] += 1
        if status:
            self.by_status[status] += 1
        response = request.response_latency_ms
        if response is not None and plausible_ms(response):
            self.response.append(response)
            self.routes[self.route_of(request)].append(response)
        integration = request.integration_latency_ms
        if integration is not None and plausible_ms(integration):
            self.integration.append(integration)
        for invocation in request.invocations:
            name = invocation.function or "?"
            if invocation.role is Role.AUTHORIZER:
                name += " (auth)"
            duration = invocation.duration_ms
            if duration is not None and plausible_ms(duration):
                self.durations[name].append(duration)
            init = invocation.init_ms
            if init is not None and plausible_ms(init):
                self.cold[name].append(init)
        if request.outcome.is_error:
            key = cause_key(request)
            row = self.errors.get(key)
            if row is None:
                row = self.errors[key] = CauseRow(key)
            row.add(request)

    @staticmethod
    def route_of(request: Request) -> str:
        """Routes are templates (`GET /primes/{n}`) where known: one row per route, not per
        path a client sent."""
        return f"{request.method or '?'} {request.route or request.path or '?'}"

    @property
    def cold_starts(self) -> int:
        return sum(len(v) for v in self.cold.values())

    def error_rows(self) -> list[CauseRow]:
        return sorted(self.errors.values(), key=lambda r: (-r.count, r.key.outcome, r.key.detail))

    def slowest_routes(self, n: int = 5) -> list[tuple[str, list[float]]]:
        return sorted(self.routes.items(), key=lambda kv: -(percentile(kv[1], 90) or 0))[:n]

    def to_dict(self) -> dict[str, Any]:
        def pcts(values: list[float]) -> dict[str, float | None]:
            return {f"p{p}": percentile(values, p) for p in PERCENTILES} | {
                "max": max(values) if values else None,
                "count": len(values),
            }

        return {
            "requests": self.requests,
            "from": iso_utc_or_none(self.first_ms) if self.first_ms is not None else None,
            "to": iso_utc_or_none(self.last_ms) if self.last_ms is not None else None,
            "by_status_class": dict(sorted(self.by_class.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "response_latency_ms": pcts(self.response),
            "integration_latency_ms": pcts(self.integration),
            "lambda_duration_ms": {k: pcts(v) for k, v in sorted(self.durations.items())},
            "cold_starts": {
                k: {"count": len(v), "init_ms": pcts(v)} for k, v in sorted(self.cold.items())
            },
            "errors": [
                {
                    "outcome": str(row.key.outcome),
                    "detail": row.key.detail,
                    "count": row.count,
                    "cause": row.cause,
                    "example_request_id": row.example_request_id,
                }
                for row in self.error_rows()
            ],
            "slowest_routes": [
                {"route": route, "count": len(v), "p90_ms": percentile(v, 90), "max_ms": max(v)}
                for route, v in self.slowest_routes()
            ],
        }
