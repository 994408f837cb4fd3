"""The demo's traffic as parsed `LogEvent`s, without any server: what `get` would read from the
demo's groups. For tests of what apilogs writes from realistic lines (lnav format, exports)."""

from __future__ import annotations

from collections.abc import Iterator

from apilogs.demo.sample import describe_sample
from apilogs.demo.traffic import FailureRates, SimulatedRequest, TrafficGenerator
from apilogs.model import LogEvent, RawEvent, Role, Source
from apilogs.parse import parse_event

T0 = 1_700_000_000_000
APP = describe_sample()


def demo_sources() -> dict[str, Source]:
    """Each of the demo's groups, with the role and format `discover` would give it."""
    app = APP
    sources = {
        app.execution_log_group: Source(Role.EXECUTION, app.execution_log_group, app.region),
        app.access_log_group: Source(
            Role.ACCESS, app.access_log_group, app.region, log_format=app.access_log_format
        ),
        app.http_access_log_group: Source(
            Role.ACCESS,
            app.http_access_log_group,
            app.region,
            log_format=app.http_access_log_format,
        ),
    }
    for fn in app.functions:
        role = Role.AUTHORIZER if fn is app.authorizer else Role.LAMBDA
        sources.setdefault(
            fn.log_group,
            Source(role, fn.log_group, app.region, function_name=fn.name, log_format=fn.log_format),
        )
    return sources


def demo_traffic(seconds: int = 120, seed: int = 7) -> list[SimulatedRequest]:
    """Seeded traffic from T0, every failure mode four times as often as by default."""
    generator = TrafficGenerator(APP, seed=seed, rates=FailureRates().scaled(4))
    return list(generator.simulate(T0, T0 + seconds * 1000, rps=3))


def demo_events(requests: list[SimulatedRequest] | None = None) -> Iterator[LogEvent]:
    """The requests' records (default: `demo_traffic()`), parsed, in time order."""
    sources = demo_sources()
    records = [r for q in (demo_traffic() if requests is None else requests) for r in q.records]
    records.sort(key=lambda r: r.timestamp)
    for i, r in enumerate(records):
        raw = RawEvent(r.timestamp, r.timestamp + 30, r.group, r.stream, f"d{i}", r.message,
                       sources[r.group])  # fmt: skip
        yield parse_event(raw)
