"""Seeded demo traffic with ground truth, written once per test worker into the moto server:
shared by every test that checks what apilogs makes of realistic logs.

Besides the seeded traffic, one request of each outcome a user chases is placed in it on purpose
(`Traffic.forced`), among them API Gateway integration timeouts with and without X-Ray sampling.
`traffic` is the sample as deployed (one function in the JSON log format, the rest Text);
`traffic_json` is the same sample with every function in the JSON log format, deployed in another
region of the same server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest

from apilogs.demo.sample import SampleApp, deploy_sample
from apilogs.demo.server import EmbeddedServer
from apilogs.demo.traffic import FailureRates, Scenario, SimulatedRequest, TrafficGenerator
from apilogs.demo.writer import LogWriter, SegmentWriter

# name → (route, outcome, X-Ray sampled): the requests placed in the traffic on purpose.
FORCED: dict[str, tuple[str, Scenario, bool | None]] = {
    "ok": ("GET /primes", Scenario.OK, True),
    "not_found": ("GET /primes/{n}", Scenario.NOT_FOUND, None),
    "bad_request": ("POST /orders", Scenario.BAD_REQUEST, None),
    "auth_denied": ("GET /primes", Scenario.AUTH_DENIED, None),
    "auth_unauthorized": ("GET /primes", Scenario.AUTH_UNAUTHORIZED, None),
    "unhandled_exception": ("GET /primes", Scenario.UNHANDLED_EXCEPTION, None),
    "orders_exception": ("POST /orders", Scenario.UNHANDLED_EXCEPTION, True),
    "out_of_memory": ("GET /primes", Scenario.OUT_OF_MEMORY, None),
    "lambda_timeout": ("GET /primes", Scenario.LAMBDA_TIMEOUT, None),
    "apigw_timeout_xray": ("GET /reports", Scenario.INTEGRATION_TIMEOUT, True),
    "apigw_timeout_no_xray": ("GET /reports", Scenario.INTEGRATION_TIMEOUT, False),
}


@dataclass
class Traffic:
    url: str
    app: SampleApp
    truth: list[SimulatedRequest]
    start_ms: int
    end_ms: int
    forced: dict[str, SimulatedRequest] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.app.region

    def rest(self) -> list[SimulatedRequest]:
        return [r for r in self.truth if r.api_id == self.app.rest_api_id]


def simulate(
    generator: TrafficGenerator, start_ms: int, end_ms: int, rps: float
) -> tuple[list[SimulatedRequest], dict[str, SimulatedRequest]]:
    """Seeded traffic over the window, with each FORCED request placed at its own moment."""
    truth: list[SimulatedRequest] = []
    forced: dict[str, SimulatedRequest] = {}
    step = (end_ms - start_ms) // (len(FORCED) + 1)
    at = start_ms
    for index, (name, (route, outcome, sampled)) in enumerate(FORCED.items()):
        moment = start_ms + step * (index + 1)
        truth += generator.simulate(at, moment, rps)
        request = generator.simulate_one(moment, route=route, outcome=outcome, sampled=sampled)
        truth.append(request)
        forced[name] = request
        at = moment + 1
    truth += generator.simulate(at, end_ms, rps)
    return truth, forced


_cache: dict[tuple[str, str], Traffic] = {}
_MARKER = "/apilogs-tests/demo-traffic-is-loaded"


def _load(
    server: EmbeddedServer, region: str, log_format: str | None, seconds: int, *, reset: bool
) -> Traffic:
    session = boto3.Session(region_name=region)
    if reset:
        server.reset()
    app = deploy_sample(session, server.url, region, log_format=log_format)
    end_ms = (int(time.time()) - 120) * 1000
    start_ms = end_ms - seconds * 1000
    generator = TrafficGenerator(app, seed=20261124, rates=FailureRates().scaled(4))
    truth, forced = simulate(generator, start_ms, end_ms, rps=3)
    logs = session.client("logs", endpoint_url=server.url)
    LogWriter(logs).write(record for request in truth for record in request.records)
    segments = SegmentWriter(session.client("xray", endpoint_url=server.url))
    segments.write(doc for request in truth for doc in request.segments)
    logs.create_log_group(logGroupName=_MARKER)
    return Traffic(server.url, app, truth, start_ms, end_ms, forced)


def _cached(server: EmbeddedServer, region: str) -> Traffic | None:
    """The traffic loaded before, if the server still holds it: the sample app has fixed IDs,
    so other tests may deploy it again with other traffic (or reset the server); a marker group
    only these fixtures make says the data is still this traffic."""
    cached = _cache.get((server.url, region))
    if cached is None:
        return None
    logs = boto3.client("logs", region_name=region, endpoint_url=server.url)
    if logs.describe_log_groups(logGroupNamePrefix=_MARKER)["logGroups"]:
        return cached
    return None


@pytest.fixture
def traffic(moto_server: EmbeddedServer) -> Traffic:
    """Three minutes of seeded traffic with every failure mode. Built once per worker; built
    again if another test reset the server meanwhile."""
    found = _cached(moto_server, "us-east-1")
    if found is None:
        found = _cache[(moto_server.url, "us-east-1")] = _load(
            moto_server, "us-east-1", None, 180, reset=True
        )
    return found


@pytest.fixture
def traffic_json(moto_server: EmbeddedServer) -> Iterator[Traffic]:
    """A minute of the same kind of traffic, every function in the JSON log format, in
    us-west-2 (the server keeps what `traffic` loaded in us-east-1)."""
    found = _cached(moto_server, "us-west-2")
    if found is None:
        found = _cache[(moto_server.url, "us-west-2")] = _load(
            moto_server, "us-west-2", "JSON", 60, reset=False
        )
    yield found
