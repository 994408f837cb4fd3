"""Seeded demo traffic with ground truth, written once per test worker into the moto server:
shared by every test that checks what apilogs makes of realistic logs."""

from __future__ import annotations

import time
from dataclasses import dataclass

import boto3
import pytest

from apilogs.demo.sample import SampleApp, deploy_sample
from apilogs.demo.server import EmbeddedServer
from apilogs.demo.traffic import FailureRates, SimulatedRequest, TrafficGenerator
from apilogs.demo.writer import LogWriter


@dataclass
class Traffic:
    url: str
    app: SampleApp
    truth: list[SimulatedRequest]
    start_ms: int
    end_ms: int

    def rest(self) -> list[SimulatedRequest]:
        return [r for r in self.truth if r.api_id == self.app.rest_api_id]


_cache: dict[str, Traffic] = {}
_MARKER = "/apilogs-tests/demo-traffic-is-loaded"


@pytest.fixture
def traffic(moto_server: EmbeddedServer) -> Traffic:
    """Three minutes of seeded traffic with every failure mode. Built once per worker; built
    again if another test reset the server meanwhile."""
    session = boto3.Session(region_name="us-east-1")
    logs = session.client("logs", endpoint_url=moto_server.url)
    cached = _cache.get(moto_server.url)
    # The sample app has fixed IDs, so other tests may deploy it again with other traffic: a
    # marker group only this fixture makes says the data is still this traffic.
    if cached and logs.describe_log_groups(logGroupNamePrefix=_MARKER)["logGroups"]:
        return cached
    moto_server.reset()
    app = deploy_sample(session, moto_server.url)
    end_ms = (int(time.time()) - 120) * 1000
    start_ms = end_ms - 180_000
    generator = TrafficGenerator(app, seed=20261124, rates=FailureRates().scaled(4))
    truth = list(generator.simulate(start_ms, end_ms, rps=3))
    writer = LogWriter(session.client("logs", endpoint_url=moto_server.url))
    writer.write(record for request in truth for record in request.records)
    logs.create_log_group(logGroupName=_MARKER)
    _cache[moto_server.url] = Traffic(moto_server.url, app, truth, start_ms, end_ms)
    return _cache[moto_server.url]
