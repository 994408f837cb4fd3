"""What the TUI tests share: a feed the test drives batch by batch, seeded demo traffic at a
fixed time turned into parsed events (through the real topology read from moto's server and the
real parsers), and ways to read what is on the screen."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from textual.app import App
from textual.pilot import Pilot

import apilogs
from apilogs.demo.traffic import FailureRates, Scenario, SimulatedRequest, TrafficGenerator
from apilogs.fetch import FetchStats
from apilogs.fetch.filter import queries_for
from apilogs.fetch.xray import TraceReport
from apilogs.model import LogEvent, RawEvent, Request, Topology
from apilogs.parse import parse_event
from apilogs.tui.feed import ApiFeed, Batch, ReadPlan, window_batches
from tests.support.demo_data import Traffic

# A fixed moment, so the screens do not depend on the wall clock.
FIXED_START_MS = int(datetime(2024, 5, 1, 10, 0, tzinfo=UTC).timestamp() * 1000)
SIZE = (160, 48)

_END = object()


class ScriptedFeed:
    """A feed whose batches the test hands over (`push`), ended by `finish`."""

    def __init__(self) -> None:
        self.stats = FetchStats()
        self._queue: queue.Queue[object] = queue.Queue()
        self.stopped = threading.Event()

    def push(self, *batches: Batch) -> None:
        for batch in batches:
            self._queue.put(batch)

    def finish(self, error: BaseException | None = None) -> None:
        self._queue.put(error if error is not None else _END)

    def run(self, stop: threading.Event, emit: Callable[[Batch], None]) -> None:
        try:
            while not stop.is_set():
                try:
                    item = self._queue.get(timeout=0.02)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, Batch)
                emit(item)
        finally:
            self.stopped.set()


class TracingFeed(ScriptedFeed):
    """A scripted feed that reads X-Ray traces too, with `read` (a real Api against moto's
    server, or a stand-in that blocks or fails); counts the reads."""

    def __init__(self, read: Callable[[Sequence[Request], threading.Event], TraceReport]) -> None:
        super().__init__()
        self._read = read
        self.trace_reads = 0

    def traces(self, requests: Sequence[Request], stop: threading.Event) -> TraceReport:
        self.trace_reads += 1
        return self._read(requests, stop)


_topologies: dict[str, Topology] = {}
_windows: dict[str, list[Batch]] = {}


def topology_of(traffic: Traffic) -> Topology:
    """The sample API's topology as discovered on moto's server (immutable: read once)."""
    found = _topologies.get(traffic.url)
    if found is None:
        api = apilogs.open_api(
            traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=traffic.url, max_rps=0
        )
        found = _topologies[traffic.url] = api.topology
    return found


def window_of(traffic: Traffic) -> tuple[int, int]:
    return traffic.start_ms - 60_000, traffic.end_ms + 60_000


def recorded_window(traffic: Traffic) -> list[Batch]:
    """The batches a window read of the `traffic` fixture brings, read once through the core
    from moto's server, for tests that replay them."""
    found = _windows.get(traffic.url)
    if found is None:
        api = apilogs.open_api(
            traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=traffic.url, max_rps=0
        )
        start, end = window_of(traffic)
        found = []
        ApiFeed(api, ReadPlan(start=start, end=end, follow=False)).run(
            threading.Event(), found.append
        )
        _windows[traffic.url] = found
    return found


def simulate(
    traffic: Traffic,
    *,
    seconds: int = 60,
    rps: float = 2.0,
    seed: int = 7,
    start_ms: int = FIXED_START_MS,
    forced: Iterable[tuple[int, str, Scenario]] = (),
) -> list[SimulatedRequest]:
    """Seeded REST traffic from `start_ms`, plus `forced` (offset ms, route, outcome) requests."""
    # The IDs moto makes up at each deployment are fixed here, so screens do not depend on them.
    app = replace(traffic.app, authorizer_id="auth0r1zer", http_api_id="http0ap1id")
    generator = TrafficGenerator(app, seed=seed, rates=FailureRates().scaled(3))
    made = [
        r
        for r in generator.simulate(start_ms, start_ms + seconds * 1000, rps)
        if r.api_id == traffic.app.rest_api_id
    ]
    for offset, route, outcome in forced:
        made.append(generator.simulate_one(start_ms + offset, route, outcome))
    return sorted(made, key=lambda r: r.start_ms)


def parsed_events(topology: Topology, requests: Iterable[SimulatedRequest]) -> list[LogEvent]:
    """The records these requests wrote, as the core would read them: in time order, each
    tagged with its Source and parsed."""
    queries = {q.group: q for q in queries_for(topology.readable_sources)}
    records = sorted(
        (r for request in requests for r in request.records if r.group in queries),
        key=lambda r: (r.timestamp, r.group, r.stream),
    )
    return [
        parse_event(
            RawEvent(
                r.timestamp,
                r.timestamp + 20,
                r.group,
                r.stream,
                f"{i:056d}",
                r.message,
                queries[r.group].source_for(r.stream),
            )
        )
        for i, r in enumerate(records)
    ]


def batches_of(events: Iterable[LogEvent], size: int = 500) -> list[Batch]:
    """Window batches of at most `size` events, the requests closed at the end."""
    return list(window_batches(events, every_s=1e9, max_events=size))


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the TUI")
        await pilot.pause(0.02)
    await pilot.pause()


def screen_text(app: App[None]) -> str:
    """What is on the screen, as the terminal would show it, without styles."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
