"""The line views' scrolling as a person sees it: a view at the bottom follows what arrives, one
scrolled up stays where it is, and the scrollbar's thumb always stands where the view is."""

from __future__ import annotations

import asyncio

from textual.widget import Widget

from tests.support.demo_data import Traffic
from tests.support.tui_helpers import (
    SIZE,
    batches_of,
    parsed_events,
    simulate,
    topology_of,
    wait_for,
)
from tests.tui.test_tui_app import rows_on_screen, scripted_app


def thumb_rows(widget: Widget) -> list[int]:
    """The rows (0 at the top of the scrollbar) the vertical scrollbar's thumb covers on the
    screen: the cells of the scrollbar's column whose background is not the track's."""
    bar = widget.vertical_scrollbar
    region = bar.region
    assert region.height > 2, "no scrollbar on the screen"
    strips = widget.app.screen._compositor.render_strips()
    colours = []
    for y in range(region.y, region.bottom):
        x = 0
        for segment in strips[y]:
            if x <= region.x < x + segment.cell_length:
                style = segment.style
                colours.append(style.bgcolor if style else None)
                break
            x += segment.cell_length
    track = max(set(colours), key=colours.count)
    return [i for i, colour in enumerate(colours) if colour != track]


def test_the_thumb_stands_where_the_view_is_following_or_scrolled_up(traffic: Traffic) -> None:
    # The first batch alone fills more than the pane: the scrollbar appears with it.
    topology = topology_of(traffic)
    events = parsed_events(topology, simulate(traffic, seconds=90))
    first = batches_of(events[: len(events) // 2], 1_000_000)
    batches = first + batches_of(events[len(events) // 2 :], 200)

    async def scenario() -> None:
        app, feed = scripted_app(traffic)
        async with app.run_test(size=SIZE) as pilot:
            app.animation_level = "none"
            requests = app.requests
            half = len(first)
            feed.push(*batches[:half])
            await wait_for(pilot, lambda: app.batches_applied >= half)
            await pilot.pause()
            # Following: the newest row at the bottom, and the thumb at the bottom with it
            # (it stood at the top once the scrollbar first appeared: the view's virtual size is
            # set before the layout that shows the scrollbar).
            assert requests.following and requests.scroll_offset.y == requests.max_scroll_y > 0
            newest = max(app.store.requests.values(), key=lambda r: r.start_ms)
            assert rows_on_screen(app)[-1].startswith(app.fmt.short(newest.start_ms))
            height = requests.vertical_scrollbar.region.height
            assert thumb_rows(requests)[-1] == height - 1

            await pilot.press("g")
            await pilot.pause()
            assert thumb_rows(requests)[0] == 0
            top = rows_on_screen(app)[1]
            feed.push(*batches[half:])
            await wait_for(pilot, lambda: app.batches_applied >= len(batches))
            await pilot.pause()
            # Scrolled up: the rows in view stay, the thumb too (at the top, shorter).
            assert rows_on_screen(app)[1] == top and not requests.following
            assert thumb_rows(requests)[0] == 0

            await pilot.press("G")
            await pilot.pause()
            assert requests.following and thumb_rows(requests)[-1] == height - 1
            newest = max(app.store.requests.values(), key=lambda r: r.start_ms)
            assert rows_on_screen(app)[-1].startswith(app.fmt.short(newest.start_ms))

    asyncio.run(scenario())
