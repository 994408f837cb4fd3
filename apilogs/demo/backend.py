"""The demo's backend: moto's server in this process, the sample API deployed into it, and live
traffic written into its log groups. `with start_demo(...) as demo:` stops all of it on exit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3

from apilogs.aws import AwsContext, RateLimiter
from apilogs.demo.sample import SampleApp, deploy_sample
from apilogs.demo.server import EmbeddedServer, start_server
from apilogs.demo.writer import LiveTraffic, LogWriter, SegmentWriter

REGION = "us-east-1"


@dataclass
class Demo:
    server: EmbeddedServer
    app: SampleApp
    session: boto3.Session
    traffic: LiveTraffic
    backfilled_events: int = 0

    @property
    def url(self) -> str:
        return self.server.url

    def context(self) -> AwsContext:
        """What the commands use to read the demo: no quota on a local server."""
        return AwsContext(session=self.session, endpoint_url=self.url, logs_limiter=RateLimiter(0))


def _wait_for_first_write(traffic: LiveTraffic, timeout_s: float = 300.0) -> int:
    """Block until the history is written, so the commands have something to read."""
    deadline = time.monotonic() + timeout_s
    while traffic.events_written == 0 and traffic.running and time.monotonic() < deadline:
        time.sleep(0.05)
    if traffic.error is not None:
        raise traffic.error
    return traffic.events_written


@contextmanager
def start_demo(
    *,
    rps: float = 3.0,
    seed: int | None = None,
    backfill_ms: int = 0,
    port: int = 0,
    host: str = "127.0.0.1",
    showcase: bool = True,
) -> Iterator[Demo]:
    """Start everything; stop the traffic and free the port when the block ends (also on Ctrl-C).

    `showcase` (on: what `apilogs demo` and `demo serve` run) opens the live traffic with each
    failure README promises in its first half minute, then the random mix (SHOWCASE_OPENING)."""
    server = start_server(host=host, port=port)
    traffic: LiveTraffic | None = None
    try:
        # Fixed fake credentials: the demo never talks to AWS, and must not use the user's keys.
        session = boto3.Session(
            aws_access_key_id="demo", aws_secret_access_key="demo", region_name=REGION
        )
        app = deploy_sample(session, server.url, REGION)
        writer = LogWriter.connect(session, server.url, REGION)
        # The backfill is the live traffic's own past: one generator, so environments stay warm
        # across "now" and nothing is written ahead of its time.
        live_history = backfill_ms if backfill_ms > 0 else 5_000
        segments = SegmentWriter.connect(session, server.url, REGION)
        traffic = LiveTraffic(
            app,
            writer,
            rps,
            seed=seed,
            history_ms=live_history,
            segments=segments,
            showcase=showcase,
        )
        traffic.start()
        written = 0
        if backfill_ms > 0:
            written = _wait_for_first_write(traffic)
        yield Demo(server, app, session, traffic, written)
    finally:
        if traffic is not None:
            traffic.stop()
        server.stop()
