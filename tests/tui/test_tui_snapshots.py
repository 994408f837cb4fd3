"""Snapshots of the TUI's main screens at a fixed size, on seeded demo traffic at a fixed time
and zone (the topology is the sample API as discovered on moto's server). Update them with
`pytest tests/test_tui_snapshots.py --snapshot-update`, after looking at the new ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from textual.pilot import Pilot

from apilogs.demo.scenario import Scenario
from apilogs.tui import TuiApp, TuiOptions
from tests.support.demo_data import Traffic
from tests.support.tui_helpers import (
    FIXED_START_MS,
    ScriptedFeed,
    batches_of,
    parsed_events,
    simulate,
    topology_of,
    wait_for,
)

SIZE = (140, 44)


def seeded_app(traffic: Traffic) -> TuiApp:
    topology = topology_of(traffic)
    requests = simulate(
        traffic,
        seconds=90,
        rps=1.5,
        seed=11,
        forced=[(30_000, "GET /primes", Scenario.LAMBDA_TIMEOUT)],
    )
    feed = ScriptedFeed()
    feed.push(*batches_of(parsed_events(topology, requests), 400))
    feed.finish()
    end = FIXED_START_MS + 120_000
    options = TuiOptions(
        start_ms=FIXED_START_MS, end_ms=end, follow=False, tz=UTC, clock=lambda: end
    )
    return TuiApp(feed, topology, topology.readable_sources, options)


def loaded(*keys: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, TuiApp)
        app.animation_level = "none"
        await wait_for(pilot, lambda: app.state == "done")
        app.refresh_header()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return run_before


def test_requests_and_the_detail_of_a_lambda_timeout(snap_compare: Any, traffic: Traffic) -> None:
    # e: the newest 5xx; E: the one before it (the forced Lambda timeout sits mid-window).
    assert snap_compare(seeded_app(traffic), terminal_size=SIZE, run_before=loaded("e", "E", "E"))


def test_filtered_to_5xx(snap_compare: Any, traffic: Traffic) -> None:
    assert snap_compare(
        seeded_app(traffic),
        terminal_size=SIZE,
        run_before=loaded("slash", *"status:5xx", "enter"),
    )


def test_the_detail_zoomed(snap_compare: Any, traffic: Traffic) -> None:
    keys = ("slash", *"fn:primes status:502", "enter", "g", "enter", "z")
    assert snap_compare(seeded_app(traffic), terminal_size=SIZE, run_before=loaded(*keys))


def test_the_stream_view(snap_compare: Any, traffic: Traffic) -> None:
    assert snap_compare(seeded_app(traffic), terminal_size=SIZE, run_before=loaded("v", "g", "e"))


def test_the_help_screen(snap_compare: Any, traffic: Traffic) -> None:
    assert snap_compare(seeded_app(traffic), terminal_size=SIZE, run_before=loaded("question_mark"))


# An on-call laptop's terminal: every column a person needs (time, method, path, status,
# latency, cause) and a row selected from the first screen; Enter opens the newest 5xx's story.
SMALL = (80, 24)


def test_the_first_screen_at_80x24(snap_compare: Any, traffic: Traffic) -> None:
    assert snap_compare(seeded_app(traffic), terminal_size=SMALL, run_before=loaded())


def test_a_5xx_opened_at_80x24(snap_compare: Any, traffic: Traffic) -> None:
    assert snap_compare(seeded_app(traffic), terminal_size=SMALL, run_before=loaded("e", "enter"))
