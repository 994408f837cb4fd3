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
idle reclaim, the end of an environment's life, and crashes or timeouts.

This module draws the arrivals, routes, scenarios and clients; the rest lives by what it writes:
`rest_api` (a REST request, phase by phase: the execution log) with `rest_request` (what its data
trace prints), `http_api`, `apigateway` (the access log line, log streams, clients), `lambda_`,
`lambda_lines` and `environments` (Lambda), `xray` (segments), `handlers` (what each of the
sample's functions does) and `scenario` (what a request is made to do, and what it returns)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator

from apilogs.demo.apigateway import StreamRotation, make_clients, render_access_log
from apilogs.demo.formats import Ids
from apilogs.demo.handlers import SampleCode
from apilogs.demo.http_api import http_call
from apilogs.demo.lambda_ import Lambda
from apilogs.demo.rest_api import RestCall
from apilogs.demo.sample import SampleApp
from apilogs.demo.scenario import (
    MAX_REQUEST_SPAN_MS,
    ROUTES,
    ROUTES_BY_KEY,
    SHOWCASE_OPENING,
    SHOWCASE_WEIGHTS,
    FailureRates,
    LogRecord,
    Route,
    Scenario,
    SimulatedRequest,
)

__all__ = [
    "MAX_REQUEST_SPAN_MS",
    "ROUTES",
    "ROUTES_BY_KEY",
    "SHOWCASE_OPENING",
    "FailureRates",
    "LogRecord",
    "Route",
    "Scenario",
    "SimulatedRequest",
    "TrafficGenerator",
    "render_access_log",
]


class TrafficGenerator:
    """Seeded traffic for a `SampleApp`.

    Stateful: environments, streams and the X-Ray sampler carry over between calls, so
    consecutive windows (`requests(a, b)`, then `requests(b, c)`) continue one history."""

    def __init__(
        self,
        app: SampleApp,
        seed: int | None = None,
        rates: FailureRates | None = None,
        *,
        showcase: bool = False,
    ) -> None:
        """`showcase`: the live demo's mix (every route, `/export` included); then
        `open_showcase(t)` plays SHOWCASE_OPENING from t. Off, a seed's traffic is what it has
        always been."""
        self.app = app
        self.rates = rates or FailureRates()
        self.rng = random.Random(seed)
        self.ids = Ids(self.rng)
        self.lambdas = Lambda(app, self.rng, self.ids)
        self.code = SampleCode(app, self.rng, self.ids)
        self.execution_streams = StreamRotation(self.rng, self.ids, 3)
        self.access_streams = StreamRotation(self.rng, self.ids, 2)
        self.http_access_streams = StreamRotation(self.rng, self.ids, 2)
        self._clients = make_clients(self.rng)
        # A few clients make most of the calls.
        self._client_weights = [1.0 / (rank + 1) for rank in range(len(self._clients))]
        weights = SHOWCASE_WEIGHTS if showcase else {}
        self._route_weights = [weights.get(r.key, r.weight) for r in ROUTES]
        self._xray_second = -1
        # Requests placed on purpose, (t_ms, order, route, scenario), played by `simulate` among
        # the drawn ones when their time comes.
        self._scheduled: list[tuple[int, int, str, Scenario]] = []

    def schedule(self, t_ms: int, route: str, outcome: Scenario) -> None:
        """Play `outcome` on `route` at t_ms, among the drawn requests of the window it falls in
        (at the start of the next window if that one has passed)."""
        if outcome is not Scenario.OK and outcome not in ROUTES_BY_KEY[route].failures:
            raise ValueError(f"{outcome} cannot happen on {route}")
        heapq.heappush(self._scheduled, (t_ms, len(self._scheduled), route, outcome))

    def open_showcase(self, t_ms: int) -> None:
        """The live demo's first half minute from t_ms: each failure README promises, once
        (SHOWCASE_OPENING), then the random mix. The Java function's first cold start is seen
        without its INIT_START (see `Lambda.hide_next_init_start`)."""
        self.lambdas.hide_next_init_start(self.app.export.name)
        for offset, route, outcome in SHOWCASE_OPENING:
            self.schedule(t_ms + offset, route, outcome)

    def requests(self, start_ms: int, end_ms: int, rps: float) -> Iterator[list[LogRecord]]:
        """The records of each request that starts in [start_ms, end_ms), in start order."""
        for request in self.simulate(start_ms, end_ms, rps):
            yield list(request.records)

    def simulate(self, start_ms: int, end_ms: int, rps: float) -> Iterator[SimulatedRequest]:
        """Like `requests`, with each request's ground truth."""
        for t_ms in self._arrivals(start_ms, end_ms, rps):
            while self._scheduled and self._scheduled[0][0] <= t_ms:
                yield self._play_scheduled(start_ms)
            yield self.simulate_one(t_ms)
        while self._scheduled and self._scheduled[0][0] < end_ms:
            yield self._play_scheduled(start_ms)

    def _play_scheduled(self, start_ms: int) -> SimulatedRequest:
        t_ms, _, route, outcome = heapq.heappop(self._scheduled)
        return self.simulate_one(max(t_ms, start_ms), route=route, outcome=outcome)

    def simulate_one(
        self,
        t_ms: int,
        route: str | None = None,
        outcome: Scenario | None = None,
        *,
        sampled: bool | None = None,
    ) -> SimulatedRequest:
        """One request at t_ms. `route` (a key of ROUTES_BY_KEY), `outcome` (the scenario it
        plays) and `sampled` (by X-Ray; REST only) force what would otherwise be drawn."""
        chosen = ROUTES_BY_KEY[route] if route else self.rng.choices(ROUTES, self._route_weights)[0]
        if outcome is None:
            scenario = self._draw_scenario(chosen)
        elif outcome is not Scenario.OK and outcome not in chosen.failures:
            raise ValueError(f"{outcome} cannot happen on {chosen.key}")
        else:
            scenario = outcome
        client = self.rng.choices(self._clients, self._client_weights)[0]
        if chosen.api == "http":
            return http_call(self, t_ms, chosen, scenario, client)
        return RestCall(self, t_ms, chosen, scenario, client, sampled).simulate()

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

    def _draw_scenario(self, route: Route) -> Scenario:
        draw = self.rng.random()
        for scenario in route.failures:
            draw -= self.rates.rate(scenario)
            if draw < 0:
                return scenario
        return Scenario.OK
