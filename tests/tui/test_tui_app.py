"""The TUI driven by Textual's Pilot: keys pressed, what is on the screen asserted.

Reads go to moto's server through the core (a window, or following through a fault proxy), or
come from a scripted feed of seeded traffic at a fixed time where a test must control when each
batch arrives ("N new", pause, in-place updates)."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC

import pytest
from botocore.exceptions import EndpointConnectionError
from textual.pilot import Pilot

import apilogs
from apilogs.demo.scenario import Scenario
from apilogs.diagnosis.story import NO_TRACE_ID, NOT_SAMPLED
from apilogs.fetch.xray import TraceReport
from apilogs.model import LineKind, RequestUpdate, Role, UpdateKind
from apilogs.stream import RequestFilter
from apilogs.times import format_duration_ms
from apilogs.tui import ApiFeed, ReadPlan, TuiApp, TuiOptions
from apilogs.tui.feed import Batch
from apilogs.tui.help import HelpScreen
from apilogs.tui.traces import READING
from tests.support.demo_data import Traffic
from tests.support.faultproxy import SERVER_ERROR, THROTTLE, fault_proxy
from tests.support.tui_helpers import (
    FIXED_START_MS,
    SIZE,
    ScriptedFeed,
    TracingFeed,
    batches_of,
    parsed_events,
    recorded_window,
    screen_text,
    simulate,
    topology_of,
    wait_for,
    window_of,
)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def window_app(traffic: Traffic, **options: object) -> TuiApp:
    api = apilogs.open_api(
        traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=traffic.url, max_rps=0
    )
    start, end = traffic.start_ms - 60_000, traffic.end_ms + 60_000
    feed = ApiFeed(api, ReadPlan(start=start, end=end, follow=False))
    opts = TuiOptions(start_ms=start, end_ms=end, follow=False, tz=UTC, **options)  # type: ignore[arg-type]
    return TuiApp(feed, api.topology, api.select().sources, opts)


def replayed_window_app(traffic: Traffic, feed: ScriptedFeed | None = None) -> TuiApp:
    """The window read of `window_app`, recorded once and replayed."""
    topology = topology_of(traffic)
    feed = feed if feed is not None else ScriptedFeed()
    feed.push(*recorded_window(traffic))
    feed.finish()
    start, end = window_of(traffic)
    opts = TuiOptions(start_ms=start, end_ms=end, follow=False, tz=UTC)
    return TuiApp(feed, topology, topology.readable_sources, opts)


def scripted_app(
    traffic: Traffic, feed: ScriptedFeed | None = None, **options: object
) -> tuple[TuiApp, ScriptedFeed]:
    topology = topology_of(traffic)
    feed = feed if feed is not None else ScriptedFeed()
    opts = TuiOptions(
        start_ms=FIXED_START_MS,
        follow=True,
        tz=UTC,
        clock=lambda: FIXED_START_MS + 120_000,
        **options,  # type: ignore[arg-type]
    )
    return TuiApp(feed, topology, topology.readable_sources, opts), feed


def rows_on_screen(app: TuiApp) -> list[str]:
    """The request rows the pane shows, as text."""
    text = screen_text(app).splitlines()
    region = app.requests.scrollable_content_region
    return [
        line[region.x : region.right].rstrip()
        for line in text[region.y + 1 : region.bottom]
        if line[region.x : region.right].strip()
    ]


def test_a_window_read_shows_every_request_and_filters_hide_the_rest(traffic: Traffic) -> None:
    truth = traffic.rest()
    five_oh_two = [t for t in truth if t.status == 502]
    assert five_oh_two

    async def scenario() -> None:
        app = window_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state == "done", timeout=60)
            assert len(app.store) == len(truth) == len(app.requests.index)
            app.refresh_header()
            await pilot.pause()
            screen = screen_text(app)
            assert f"{len(truth):,} requests" in screen
            assert f"{sum(1 for t in truth if t.status >= 500):,} 5xx" in screen
            assert "■ done" in screen
            # The newest row is at the bottom.
            assert rows_on_screen(app)[-1].startswith(
                app.fmt.short(max(t.start_ms for t in truth))[:8]
            )

            await pilot.press("slash", *"status:502", "enter")
            await pilot.pause()
            assert app.query_text == "status:502"
            assert len(app.requests.index) == len(five_oh_two)
            rows = rows_on_screen(app)
            assert rows and all(" 502 " in row for row in rows[1:])
            assert "filter: status:502" in screen_text(app)

            # Esc with nothing to go back from says what a second one does; that clears it.
            await pilot.press("escape")
            await pilot.pause()
            assert len(app.requests.index) == len(five_oh_two)
            await pilot.press("escape")
            await pilot.pause()
            assert len(app.requests.index) == len(truth)

            await pilot.press("slash", *"path:/primes cold", "enter")
            await pilot.pause()
            # The same requests as `apilogs requests --path /primes --cold`.
            cold = list(
                app.feed.api.requests(  # type: ignore[attr-defined]
                    traffic.start_ms - 60_000,
                    traffic.end_ms + 60_000,
                    where=RequestFilter(cold_only=True, path_glob="/primes"),
                )
            )
            assert cold and set(app.requests.index.keys()) == {c.request_id for c in cold}

            # A typo is said, and the filter before it stays.
            await pilot.press("slash", "ctrl+u", *"staus:5xx")
            await pilot.pause()
            assert "did you mean status:" in screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert app.query_text == "path:/primes cold"

    run(scenario)


def test_the_detail_of_a_502_tells_its_story_with_its_lambda_lines(traffic: Traffic) -> None:
    failed = next(
        t
        for t in traffic.rest()
        if t.status == 502
        and t.outcome.value == "unhandled_exception"
        and t.route == "GET /primes"  # a function with text logs: START, tracebacks, REPORT
        and t.lambda_request_id
    )

    async def scenario() -> None:
        app = replayed_window_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state == "done", timeout=60)
            await pilot.press("slash", *failed.request_id, "enter")
            await pilot.pause()
            assert len(app.requests.index) == 1
            await pilot.press("g", "enter")
            await pilot.pause()
            assert app.focused is app.detail
            story = "\n".join(app.detail.plain_lines())
            assert "→  502" in story
            assert failed.request_id in story and (failed.lambda_request_id or "?") in story
            assert "raised an exception it did not handle" in story
            assert "Waterfall" in story and "lambda " in story
            # Lambda lines, from the function's own group, between API Gateway's.
            assert f"START RequestId: {failed.lambda_request_id}" in story
            assert f"REPORT RequestId: {failed.lambda_request_id}" in story
            assert "Traceback (most recent call last)" in story
            assert "Method completed with status: 502" in story
            # Zoomed, the story fills the screen.
            await pilot.press("z")
            await pilot.pause()
            screen = screen_text(app)
            assert "Waterfall" in screen and failed.request_id in screen
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert app.focused is app.requests

    run(scenario)


def test_e_jumps_to_the_next_5xx_and_c_copies_its_id(traffic: Traffic) -> None:
    async def scenario() -> None:
        app = replayed_window_app(traffic)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state == "done", timeout=60)
            await pilot.press("g", "e")
            await pilot.pause()
            first = app.store.requests[app.requests.selected or ""]
            assert first.status is not None and first.status >= 500
            await pilot.press("e")
            await pilot.pause()
            second = app.store.requests[app.requests.selected or ""]
            assert second.status is not None and second.status >= 500
            assert second.start_ms >= first.start_ms and second is not first
            await pilot.press("E")
            await pilot.pause()
            assert app.requests.selected == first.request_id
            await pilot.press("c")
            await pilot.pause()
            assert app.clipboard == first.request_id
            await wait_for(pilot, lambda: "copied" in screen_text(app), timeout=3)  # a toast

    run(scenario)


def test_help_lists_every_key(traffic: Traffic) -> None:
    async def scenario() -> None:
        app, _feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            screen = screen_text(app)
            for key in ("/", "e / E", "g / G", "PgDn", "s", "t", "c", "p", "q", "?", "v", "X"):
                assert f" {key} " in screen or f"│{key} " in screen, key
            for term in ("status:5xx", "path:/users/*", "cold", "slow:>1s", "error", "fn:NAME"):
                assert term in screen
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)
            assert "fn:NAME" not in screen_text(app)

    run(scenario)


def test_help_on_a_small_terminal_covers_the_pane_below_it(traffic: Traffic) -> None:
    async def scenario() -> None:
        app, _feed = scripted_app(traffic)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            rows = screen_text(app).splitlines()
            # The help's own bottom border, then the footer: not the requests pane's border
            # peeking out below it, a second line of ╰──╯.
            assert [r for r in rows if r.startswith("╰")] == [rows[-2]]
            assert "Quit" in rows[-1]
            # What does not fit is a key away.
            assert "Mouse:" not in screen_text(app)
            await pilot.press("end")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen) and "Mouse:" in screen_text(app)

    run(scenario)


def _updates(traffic: Traffic, seconds: int = 40) -> list[Batch]:
    topology = topology_of(traffic)
    return batches_of(parsed_events(topology, simulate(traffic, seconds=seconds)), 200)


def test_new_rows_while_scrolled_away_stay_put_and_are_counted(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=90)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            half = len(batches) // 2
            feed.push(*batches[:half])
            await wait_for(pilot, lambda: app.batches_applied >= half)
            assert app.requests.following
            await pilot.press("g")  # to the oldest: away from the bottom
            await pilot.pause()
            assert not app.requests.following
            top_before = rows_on_screen(app)[1]
            before = len(app.requests.index)
            feed.push(*batches[half:])
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            arrived = len(app.requests.index) - before
            assert arrived > 0
            assert rows_on_screen(app)[1] == top_before  # it stayed put
            assert f"{arrived:,} new ↓" in screen_text(app)
            await pilot.press("G")
            await pilot.pause()
            assert app.requests.following and "new ↓" not in screen_text(app)

    run(scenario)


def test_a_request_in_progress_shows_at_once_and_updates_in_place(traffic: Traffic) -> None:
    topology = topology_of(traffic)
    slow = simulate(traffic, seconds=0, forced=[(1_000, "GET /reports", Scenario.SLOW)])
    events = parsed_events(topology, slow)
    first_lines = [e for e in events if e.timestamp < events[0].timestamp + 50]

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            from apilogs.join.correlate import Correlator

            correlator = Correlator(track_updates=True)
            for e in first_lines:
                correlator.add(e)
            feed.push(Batch(tuple((e, False) for e in first_lines), tuple(correlator.updates())))
            await wait_for(pilot, lambda: app.batches_applied >= 1)
            [row] = rows_on_screen(app)
            assert "…" in row and "in progress" in row
            await pilot.press("G")
            await pilot.pause()
            assert "still receiving lines" in "\n".join(app.detail.plain_lines())
            rest = events[len(first_lines) :]
            for e in rest:
                correlator.add(e)
            correlator.flush()
            feed.push(Batch(tuple((e, False) for e in rest), tuple(correlator.updates())))
            await wait_for(pilot, lambda: app.batches_applied >= 2)
            [row] = rows_on_screen(app)
            assert " 200 " in row and "in progress" not in row
            assert len(app.store) == 1
            # The detail of the selected request followed, in place.
            story = "\n".join(app.detail.plain_lines())
            assert "→  200" in story and "still receiving" not in story
            assert "REPORT RequestId" in story

    run(scenario)


def test_the_mouse_selects_and_opens_a_row(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=20)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            # The pane's border, its header row, two rows: the third row is 4 lines down.
            await pilot.click("#requests", offset=(10, 4))
            await pilot.pause()
            third = app.requests.index.key_at(app.requests.scroll_offset.y + 2)
            # The row under the pointer is the one selected.
            assert rows_on_screen(app)[2].startswith(
                app.fmt.short(app.store.requests[third or ""].start_ms)
            )
            assert third is not None and app.requests.selected == third
            assert third in "\n".join(app.detail.plain_lines())
            await pilot.click("#requests", offset=(10, 4), times=2)
            await pilot.pause()
            assert app.focused is app.detail

    run(scenario)


def test_pause_holds_what_arrives_and_resume_shows_it(traffic: Traffic) -> None:
    batches = _updates(traffic)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(batches[0])
            await wait_for(pilot, lambda: app.batches_applied >= 1)
            await pilot.press("p")
            await pilot.pause()
            shown = rows_on_screen(app)
            feed.push(*batches[1:])
            await wait_for(pilot, lambda: len(app._held) == len(batches) - 1)
            app.refresh_header()
            await pilot.pause()
            assert rows_on_screen(app) == shown
            assert "paused" in screen_text(app) and "lines held" in screen_text(app)
            await pilot.press("p")
            await pilot.pause()
            assert app.batches_applied == len(batches)
            assert rows_on_screen(app) != shown and "● live" in screen_text(app)

    run(scenario)


def test_sort_by_latency_and_back(traffic: Traffic) -> None:
    batches = _updates(traffic)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await pilot.press("s")
            await pilot.pause()
            keys = app.requests.index.keys()
            latencies = [app.store.requests[k].response_latency_ms or 0 for k in keys]
            assert latencies == sorted(latencies, reverse=True)
            assert "by latency (slowest first)" in screen_text(app)
            await pilot.press("s")
            await pilot.pause()
            starts = [app.store.requests[k].start_ms for k in app.requests.index.keys()]  # noqa: SIM118
            assert starts == sorted(starts)

    run(scenario)


def test_the_stream_shows_every_line_and_enter_opens_its_request(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=20)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            total = sum(len(b.events) for b in batches)
            await pilot.press("v")
            await pilot.pause()
            assert app.stream_shown and len(app.log_store) == total
            assert f"Stream · {app.log_store.lines:,} lines" in screen_text(app)
            await pilot.press("g", "e")  # the first error line
            await pilot.pause()
            event = app.stream.current_event()
            assert event is not None
            await pilot.press("enter")
            await pilot.pause()
            assert not app.stream_shown
            selected = app.store.requests[app.requests.selected or ""]
            assert event in selected.events
            assert selected.request_id and selected.request_id in screen_text(app)

    run(scenario)


def test_the_streams_cursor_rides_on_the_newest_line_while_it_follows(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=60)
    third = len(batches) // 3

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(*batches[:third])
            await wait_for(pilot, lambda: app.batches_applied >= third)
            await pilot.press("v", "G")
            await pilot.pause()
            stream = app.stream
            assert stream.following
            feed.push(*batches[third : 2 * third])
            await wait_for(pilot, lambda: app.batches_applied >= 2 * third)
            await pilot.pause()
            # What c, X and Enter act on is the newest line, the one in sight.
            newest = stream.lines_log.events[-1]
            assert stream.current_event() is newest
            assert stream.selected_ids() == stream.ids_of(len(stream.lines_log) - 1)
            assert stream.following and "new ↓" not in screen_text(app)

            # A line chosen above the newest stays chosen, and in sight, as more arrive.
            await pilot.press("k", "k")
            await pilot.pause()
            chosen = stream.current_event()
            assert chosen is not None and chosen is not newest
            assert not stream.following
            top = stream.scroll_offset.y
            before = stream.lines_log.lines
            feed.push(*batches[2 * third :])
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await pilot.pause()
            assert stream.current_event() is chosen and stream.scroll_offset.y == top
            arrived = stream.lines_log.lines - before
            assert arrived > 0 and f"{arrived:,} new ↓" in screen_text(app)

            await pilot.press("G")
            await pilot.pause()
            assert stream.following and stream.current_event() is stream.lines_log.events[-1]

    run(scenario)


def _lambda_line_of_a_request(
    app: TuiApp, kind: LineKind, request_id: str | None = None
) -> tuple[int, str]:
    """The stream index of a Lambda line of this kind, of a request API Gateway named, and
    that request's API Gateway ID."""
    events_ = app.stream.lines_log.events
    for request in app.store.requests.values():
        if request.request_id is None or request_id not in (None, request.request_id):
            continue
        for event in request.events:
            if event.raw.source.role is Role.LAMBDA and event.line.kind is kind:
                return events_.index(event), request.request_id
    raise AssertionError(f"no {kind} line of a named request in the stream")


def _run_loaded(traffic: Traffic, body: Callable[[TuiApp, Pilot[None]], Awaitable[None]]) -> None:
    """`body` on an app that has taken 20 s of seeded traffic, notifications on."""
    batches = _updates(traffic, seconds=20)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await body(app, pilot)

    run(scenario)


def test_c_in_the_stream_copies_the_lines_request_id(traffic: Traffic) -> None:
    async def body(app: TuiApp, pilot: Pilot[None]) -> None:
        index, request_id = _lambda_line_of_a_request(app, LineKind.LAMBDA_PRINT)
        # Another request opened first: the stream must not act on it.
        other = next(k for k in app.store.requests if k != request_id)
        app.requests.select(other)
        await pilot.press("enter", "escape", "v")
        await pilot.pause()
        app.stream.move_to(index)
        await pilot.press("c")
        await pilot.pause()
        # A print names no request: the API Gateway ID its request is grepped with.
        assert app.clipboard == request_id
        assert app.stream_shown
        await wait_for(pilot, lambda: f"copied {request_id}" in screen_text(app), timeout=3)

    _run_loaded(traffic, body)


def test_enter_on_a_cold_starts_init_line_opens_the_request_it_served(traffic: Traffic) -> None:
    async def body(app: TuiApp, pilot: Pilot[None]) -> None:
        await pilot.press("v")
        await pilot.pause()
        # INIT_START comes before the START of the invocation it prepares: nothing before
        # it in its log stream names that invocation.
        index, request_id = _lambda_line_of_a_request(app, LineKind.LAMBDA_INIT)
        app.stream.move_to(index)
        await pilot.press("enter")
        await pilot.pause()
        assert not app.stream_shown
        assert app.requests.selected == request_id
        assert "not in view" not in screen_text(app)

    _run_loaded(traffic, body)


def test_the_cap_drops_the_oldest_and_says_so(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=120)

    async def scenario() -> None:
        app, feed = scripted_app(traffic, max_requests=100)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            app.refresh_header()
            await pilot.pause()
            assert len(app.store) <= 100 and app.store.dropped > 0
            screen = screen_text(app)
            assert f"{app.store.dropped:,} older requests dropped from view" in screen
            assert "--max-requests" in screen
            assert f"{app.store.counts.requests:,} requests" in screen

    run(scenario)


def test_quit_stops_the_read_within_a_second(traffic: Traffic) -> None:
    async def scenario() -> None:
        api = apilogs.open_api(
            traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=traffic.url, max_rps=0
        )
        feed = ApiFeed(api, ReadPlan(start=traffic.end_ms - 30_000, follow=True, interval_s=0.2))
        app = TuiApp(feed, api.topology, api.select().sources, TuiOptions(traffic.end_ms - 30_000))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(app.store) > 0, timeout=30)
            assert any(t.name.startswith("follow ") for t in threading.enumerate())
            started = time.monotonic()
            await pilot.press("q")
        assert app.reader_done.wait(1.5), "the read did not end"
        assert time.monotonic() - started < 1.5
        deadline = time.monotonic() + 1.5
        while any(t.name.startswith("follow ") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "reader threads outlived the TUI"
            time.sleep(0.05)

    run(scenario)


def test_throttling_and_a_failing_endpoint_show_in_the_header(traffic: Traffic) -> None:
    async def scenario() -> None:
        with fault_proxy(traffic.url) as proxy:
            api = apilogs.open_api(
                traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=proxy.url, max_rps=0
            )
            proxy.script = [THROTTLE] * 4
            start = traffic.end_ms - 20_000
            feed = ApiFeed(
                api, ReadPlan(start=start, follow=True, interval_s=0.2, fail_after_s=3.0)
            )
            app = TuiApp(feed, api.topology, api.select().sources, TuiOptions(start))
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: feed.stats.throttles >= 1, timeout=30)

                def throttles_said() -> bool:
                    # A group failing for a while is said first and may fill the line: the
                    # throttles show once its reads get through (under load, later).
                    app.refresh_header()
                    return "CloudWatch Logs throttled" in screen_text(app)

                await wait_for(pilot, throttles_said, timeout=30)
                proxy.every = SERVER_ERROR  # the endpoint stops answering
                await wait_for(pilot, lambda: bool(feed.stats.failing), timeout=30)
                app.refresh_header()
                await pilot.pause()
                assert "not answering" in screen_text(app)
                await wait_for(pilot, lambda: app.state == "stopped", timeout=30)
                await pilot.pause()
                screen = screen_text(app)
                assert "✖ stopped" in screen and "✖" in screen

    run(scenario)


def test_times_switch_between_utc_and_local(
    traffic: Traffic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    batches = _updates(traffic, seconds=10)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            assert rows_on_screen(app)[1].startswith("10:00:")
            await pilot.press("t")
            await pilot.pause()
            assert rows_on_screen(app)[1].startswith("15:30:")  # UTC+5:30
            assert "IST" in screen_text(app)

    try:
        run(scenario)
    finally:
        monkeypatch.undo()
        time.tzset()


# -- X-Ray traces, read on X ----------------------------------------------------------------------


def _tracing_app(traffic: Traffic) -> tuple[TuiApp, TracingFeed]:
    """The window replayed, with X-Ray traces read from moto's server through the API."""
    api = apilogs.open_api(
        traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=traffic.url, max_rps=0
    )
    feed = TracingFeed(lambda requests, stop: api.traces(requests, stop=stop))
    return replayed_window_app(traffic, feed), feed


def test_x_reads_the_trace_and_shows_its_downstream_call(traffic: Traffic) -> None:
    expected = traffic.forced["orders_exception"]  # sampled; DynamoDB throttled its PutItem
    app, feed = _tracing_app(traffic)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state == "done", timeout=60)
            await pilot.press("slash", *expected.request_id, "enter")
            await pilot.press("g", "enter")
            await pilot.pause()
            assert "X-Ray" not in app.detail.plain_lines()  # not read until asked
            await pilot.press("X")
            trace_id = expected.trace_id or ""
            await wait_for(pilot, lambda: trace_id in app.trace_cache.traces)
            [call] = [c for c in app.trace_cache.traces[trace_id].calls if c.name == "DynamoDB"]
            took = format_duration_ms(call.duration_ms or 0)
            story = app.detail.plain_lines()
            section = story[story.index("X-Ray") : story.index("Waterfall")]
            [listed] = [line for line in section if "DynamoDB PutItem orders" in line]
            assert f"  {took}  " in listed and "throttle" in listed
            waterfall = story[story.index("Waterfall") : story.index("", story.index("Waterfall"))]
            [bar] = [line for line in waterfall if "DynamoDB PutItem orders" in line]
            assert "█" in bar and took in bar and "error throttle 400" in bar
            assert any("Invocation" in line for line in waterfall)
            await pilot.press("z")  # the detail zoomed: the whole story in view
            await pilot.pause()
            assert "DynamoDB PutItem" in screen_text(app)
            await pilot.press("escape")
            # Cached: X again reads nothing.
            await pilot.press("X")
            await pilot.pause()
            assert feed.trace_reads == 1

    run(scenario)


def test_x_in_the_stream_reads_the_trace_of_the_lines_request(traffic: Traffic) -> None:
    expected = traffic.forced["orders_exception"]  # sampled
    app, feed = _tracing_app(traffic)

    async def scenario() -> None:
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state == "done", timeout=60)
            # Another request opened first: X in the stream is about the selected line.
            other = next(k for k in app.store.requests if k != expected.request_id)
            app.requests.select(other)
            await pilot.press("enter", "escape", "v")
            await pilot.pause()
            index, _ = _lambda_line_of_a_request(app, LineKind.LAMBDA_START, expected.request_id)
            app.stream.move_to(index)
            await pilot.press("X")
            trace_id = expected.trace_id or ""
            await wait_for(pilot, lambda: trace_id in app.trace_cache.traces)
            await pilot.pause()
            # Its request is opened, where the trace is told.
            assert not app.stream_shown
            assert app.requests.selected == expected.request_id
            shown = app.detail.request
            assert shown is not None and shown.request_id == expected.request_id
            assert "X-Ray" in app.detail.plain_lines()
            assert feed.trace_reads == 1

    run(scenario)


TRACE_ID = "1-66321e60-0123456789abcdef01234567"


def _traced_request(traffic: Traffic, **changes: object) -> Batch:
    """One whole request of seeded traffic (its last update), with `changes`."""
    updates = [u.request for b in _updates(traffic, seconds=2) for u in b.updates]
    request = [r for r in updates if r.request_id == updates[0].request_id][-1]
    changed = replace(request, **{"trace_id": TRACE_ID, **changes})  # type: ignore[arg-type]
    return Batch(updates=(RequestUpdate(UpdateKind.NEW, changed),), now_ms=FIXED_START_MS)


def test_x_on_a_request_without_a_trace_says_why_at_once(traffic: Traffic) -> None:
    feed = TracingFeed(lambda requests, stop: TraceReport())

    async def scenario() -> None:
        app, _ = scripted_app(traffic, feed)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(_traced_request(traffic, trace_id=None, sampled=None))
            await wait_for(pilot, lambda: len(app.requests.index) == 1)
            await pilot.press("g", "X")
            await pilot.pause()
            assert f"  {NO_TRACE_ID}" in app.detail.plain_lines()
            assert feed.trace_reads == 0

    run(scenario)


def test_x_on_a_request_sampled_0_says_so_without_a_read(traffic: Traffic) -> None:
    feed = TracingFeed(lambda requests, stop: TraceReport())

    async def scenario() -> None:
        app, _ = scripted_app(traffic, feed)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(_traced_request(traffic, sampled=False))
            await wait_for(pilot, lambda: len(app.requests.index) == 1)
            await pilot.press("g", "X")
            await pilot.pause()
            assert f"  {NOT_SAMPLED}" in app.detail.plain_lines()
            assert feed.trace_reads == 0

    run(scenario)


def test_a_failed_trace_read_is_one_line_and_the_app_lives_on(traffic: Traffic) -> None:
    gate = threading.Event()

    def unreachable(requests: object, stop: threading.Event) -> TraceReport:
        gate.wait(5)
        raise EndpointConnectionError(endpoint_url="https://xray.us-east-1.amazonaws.com/")

    feed = TracingFeed(unreachable)

    async def scenario() -> None:
        app, _ = scripted_app(traffic, feed)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(_traced_request(traffic, sampled=True))
            await wait_for(pilot, lambda: len(app.requests.index) == 1)
            await pilot.press("g", "X")
            await wait_for(pilot, lambda: READING in screen_text(app), timeout=3)
            gate.set()
            await wait_for(pilot, lambda: not app.trace_cache.reading, timeout=5)
            story = app.detail.plain_lines()
            [said] = [line for line in story if "could not read the X-Ray trace" in line]
            assert said.startswith("  could not read the X-Ray trace: ")
            assert "Traceback" not in "\n".join(story)
            assert "could not read the X-Ray trace" in screen_text(app)  # the header too
            assert app.is_running
            # Not cached: X reads again.
            await pilot.press("X")
            await wait_for(pilot, lambda: feed.trace_reads == 2, timeout=3)

    run(scenario)


def test_quit_stops_a_trace_read(traffic: Traffic) -> None:
    seen: list[bool] = []

    def slow(requests: object, stop: threading.Event) -> TraceReport:
        seen.append(stop.wait(5))
        return TraceReport()

    feed = TracingFeed(slow)

    async def scenario() -> None:
        app, _ = scripted_app(traffic, feed)
        async with app.run_test(size=SIZE) as pilot:
            feed.push(_traced_request(traffic, sampled=True))
            await wait_for(pilot, lambda: len(app.requests.index) == 1)
            await pilot.press("g", "X")
            await wait_for(pilot, lambda: feed.trace_reads == 1, timeout=3)
            started = time.monotonic()
            await pilot.press("q")
        assert time.monotonic() - started < 2
        deadline = time.monotonic() + 2
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen == [True]  # the read saw the stop, not its own timeout

    run(scenario)


def test_a_narrow_stream_shows_execution_lines_with_a_short_id(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=20)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=(80, 24)) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await pilot.press("v", "g")
            await pilot.pause()
            shown = screen_text(app).splitlines()
            execution = [line for line in shown if "  execution  " in line]
            assert execution
            # At 80 columns the full `(id) ` prefix left 9 columns of message; now what API
            # Gateway said is on screen, after the ID's first 8 characters.
            assert all(re.search(r"  \([0-9a-f]{8}…\) \S", line) for line in execution)
            assert any("Sending request to https:" in line for line in execution)
            await pilot.resize_terminal(200, 24)
            await pilot.pause()
            wide = [line for line in screen_text(app).splitlines() if "  execution  " in line]
            assert wide and all(re.search(r"\([0-9a-f-]{36}\) ", line) for line in wide)

    run(scenario)
