"""The TUI's first screen as an on-call person meets it (issue 28, item 5): a row is selected
from the start, so Enter opens it; Esc goes back before it ever clears a filter; a late line is
marked beside its time, not inside its message; values no AWS service writes are said."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from textual.widgets import Footer

from apilogs.parse import parse_event
from apilogs.parse.vet import left_out_counts
from apilogs.tui.feed import Batch
from apilogs.tui.text import LATE_MARK, TimeFormat, event_lines
from tests.support.demo_data import Traffic
from tests.support.tui_helpers import SIZE, screen_text, wait_for
from tests.tui.test_tui_app import _updates, rows_on_screen, scripted_app


def footer_text(app: object) -> str:
    rows = screen_text(app).splitlines()  # type: ignore[arg-type]
    return rows[-1]


def test_a_row_is_selected_from_the_start_and_enter_opens_it(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=60)
    third = len(batches) // 3

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            requests = app.requests
            feed.push(*batches[:third])
            await wait_for(pilot, lambda: app.batches_applied >= third)
            # The newest row, selected: its story in the detail pane, its ID in the title.
            newest = requests.index.key_at(len(requests.index) - 1)
            assert newest is not None and requests.selected == newest
            assert f"Detail · {newest}" in screen_text(app)
            assert "⏎ Open" in footer_text(app)

            # While nobody moved it, the cursor rides on the newest row as rows arrive.
            feed.push(*batches[third : 2 * third])
            await wait_for(pilot, lambda: app.batches_applied >= 2 * third)
            newer = requests.index.key_at(len(requests.index) - 1)
            assert newer != newest and requests.selected == newer
            assert requests.following

            # Enter opens it: the detail pane has the keys, Esc is offered as the way back.
            await pilot.press("enter")
            await pilot.pause()
            assert app.focused is app.detail and app.detail.request is not None
            assert app.detail.request.request_id == newer
            assert "esc Back" in footer_text(app)
            # Being read, it stays: what arrives is counted below, the detail does not change.
            feed.push(*batches[2 * third :])
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await pilot.pause()
            assert requests.selected == newer and app.detail.request.request_id == newer
            assert not requests.following and "new ↓" in screen_text(app)

            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is requests and requests.selected == newer
            # G: the newest again, and the cursor rides on it.
            await pilot.press("G")
            await pilot.pause()
            assert requests.following and requests.auto_cursor
            assert requests.selected == requests.index.key_at(len(requests.index) - 1)

    asyncio.run(scenario())


def test_a_moved_cursor_stays_on_its_request(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=40)
    half = len(batches) // 2

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            requests = app.requests
            feed.push(*batches[:half])
            await wait_for(pilot, lambda: app.batches_applied >= half)
            await pilot.press("k")
            await pilot.pause()
            chosen = requests.selected
            assert chosen == requests.index.key_at(len(requests.index) - 2)
            assert not requests.auto_cursor and not requests.following
            top = requests.scroll_offset.y
            first_row = rows_on_screen(app)[1]
            feed.push(*batches[half:])
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await pilot.pause()
            # Rows may change in place (lines join them); none moves, none scrolls away.
            assert requests.selected == chosen and requests.scroll_offset.y == top
            assert rows_on_screen(app)[1][:12] == first_row[:12]
            assert "new ↓" in screen_text(app)

    asyncio.run(scenario())


def test_e_from_the_first_screen_goes_to_the_newest_5xx(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=60)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            errors = [
                k
                for k in app.requests.index.keys()  # noqa: SIM118
                if (app.store.requests[k].status or 0) >= 500
            ]
            assert errors
            await pilot.press("e")
            await pilot.pause()
            # Not the oldest one, as a search wrapping around from the bottom would find.
            assert app.requests.selected == errors[-1]

    asyncio.run(scenario())


def test_esc_goes_back_a_step_at_a_time_and_clears_the_filter_last(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=60)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            total = len(app.requests.index)
            # In the filter bar, Esc undoes the edit and leaves it (the filter before stays).
            await pilot.press("slash", *"status:5xx", "enter")
            await pilot.pause()
            filtered = len(app.requests.index)
            assert 0 < filtered < total
            await pilot.press("slash", *" cold", "escape")
            await pilot.pause()
            assert app.query_text == "status:5xx" and app.focused is app.requests
            assert "esc Clear filter" in footer_text(app)

            # A row opened, zoomed: Esc unzooms, then leaves the detail pane; the filter stays.
            await pilot.press("enter", "z")
            await pilot.pause()
            assert app.screen.maximized is app.detail
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen.maximized is None and app.focused is app.detail
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is app.requests and len(app.requests.index) == filtered

            # The stream: Esc is back to the requests view, the filter still there.
            await pilot.press("v")
            await pilot.pause()
            assert app.stream_shown and "esc Back" in footer_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert not app.stream_shown and len(app.requests.index) == filtered

            # Nothing to go back from: the first Esc says what a second does, which clears.
            await pilot.press("escape")
            await pilot.pause()
            assert len(app.requests.index) == filtered
            assert "Esc again clears it" in screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert len(app.requests.index) == total and app.query_text == ""
            # No filter, nowhere to go back to: Esc is not offered.
            assert "esc" not in footer_text(app)

    asyncio.run(scenario())


def test_the_footer_at_80_columns_keeps_open_back_filter_and_5xx(traffic: Traffic) -> None:
    batches = _updates(traffic, seconds=20)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=(80, 24)) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            assert app.query_one(Footer)
            footer = footer_text(app)
            for key in ("⏎ Open", "/ Filter", "e Next 5xx", "c Copy ID", "? Help", "q Quit"):
                assert key in footer, key
            await pilot.press("enter")
            await pilot.pause()
            assert footer_text(app).lstrip().startswith("esc Back")

    asyncio.run(scenario())


def test_a_late_line_is_marked_beside_its_time_and_its_message_does_not_move(
    traffic: Traffic,
) -> None:
    batches = _updates(traffic, seconds=20)
    events = [e for b in batches for e, _late in b.events]
    late = events[len(events) // 2]
    fmt = TimeFormat(None)
    on_time_line = event_lines(late, fmt, 12)[0].plain
    late_line = event_lines(late, fmt, 12, late=True)[0].plain
    assert "(late)" not in late_line and len(late_line) == len(on_time_line)
    time_text = fmt.short(late.raw.timestamp)
    assert late_line.startswith(time_text + LATE_MARK + " ")
    assert late_line[len(time_text) + 1 :] == on_time_line[len(time_text) + 1 :]

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            marked = [
                replace(b, events=tuple((e, e is late) for e, _ in b.events)) for b in batches
            ]
            feed.push(*marked)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await pilot.press("v")
            await pilot.pause()
            index = app.stream.lines_log.events.index(late)
            app.stream.move_to(index)
            await pilot.pause()
            rows = [r for r in screen_text(app).splitlines() if LATE_MARK + " " in r]
            [row] = [r for r in rows if app.stream.fmt.short(late.raw.timestamp) in r]
            assert "(late)" not in screen_text(app)
            neighbour = app.stream.lines_log.events[index - 1]
            assert neighbour is not late
            # The label starts in the same column as every other line's.
            label_at = row.index(app.stream.fmt.short(late.raw.timestamp)) + 14
            assert row[label_at - 1] == " " and row[label_at] != " "

    asyncio.run(scenario())


def test_values_aws_cannot_write_are_said_in_the_header_with_their_count(
    traffic: Traffic,
) -> None:
    batches = _updates(traffic, seconds=20)
    # An access log line as API Gateway writes it, but with latencies no request can take
    # (issue 28, item 11: `"responseLatency": 1e30` broke the TUI's columns).
    access = next(e for b in batches for e, _ in b.events if e.raw.source.role.value == "access")
    message = access.raw.message.replace('"responseLatency":', '"responseLatency":1e30,"x":')
    absurd = parse_event(replace(access.raw, message=message))
    assert "response_latency_ms" in absurd.line.fields.get("left_out", ())

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            app.animation_level = "none"
            feed.push(*batches)
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            app.refresh_header()
            await pilot.pause()
            assert "left out" not in screen_text(app)
            # What the core's reader counts as it parses each line (apilogs.stream).
            left_out_counts([absurd.line, absurd.line], feed.stats.left_out)
            feed.push(Batch(((absurd, False),)))
            await wait_for(pilot, lambda: app.batches_applied >= len(batches) + 1)
            app.refresh_header()
            await pilot.pause()
            header = screen_text(app).splitlines()[2]
            assert "⚠ 2 values AWS cannot write were left out of requests and sums" in header
            latencies = [
                r.response_latency_ms for r in app.store.requests.values() if r.response_latency_ms
            ]
            assert latencies and max(latencies) < 3_600_000

    asyncio.run(scenario())
