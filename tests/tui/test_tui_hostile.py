"""The hostile-text corpus (tests/support/hostile.py) through the TUI: an API whose name, paths, errors,
user agents and Lambda lines carry escape sequences, bidi controls and markup, read from moto's
server and shown in every pane. What reaches the screen must be terminal-safe, and markup must
show as typed."""

from __future__ import annotations

import asyncio

from rich.console import Console
from textual.strip import Strip

import apilogs
from apilogs.render.sanitize import sanitize
from apilogs.tui import ApiFeed, ReadPlan, TuiApp, TuiOptions
from tests.cli.test_hostile_output import BASE_MS, World, world  # noqa: F401  (a fixture)
from tests.support.hostile import FORGED_ID, HOSTILE, PAYLOAD, RID, assert_terminal_safe
from tests.support.tui_helpers import screen_text, wait_for


def rendered(texts: list[object], console: Console) -> str:
    """The characters the Line API would hand the terminal for these lines."""
    out = []
    for text in texts:
        strip = Strip(text.render(console))  # type: ignore[attr-defined]
        out.append("".join(segment.text for segment in strip))
    return "\n".join(out)


def test_hostile_text_reaches_the_screen_inert(world: World) -> None:  # noqa: F811
    async def scenario() -> None:
        api = apilogs.open_api(world.api_id, "prod", endpoint_url=world.url, max_rps=0)
        start, end = BASE_MS - 1, BASE_MS + 600_000
        feed = ApiFeed(api, ReadPlan(start=start, end=end, follow=False))
        feed.stats.notice(f"group {PAYLOAD} is failing")  # a notice quoting a log's text
        app = TuiApp(
            feed,
            api.topology,
            api.select().sources,
            TuiOptions(start_ms=start, end_ms=end, follow=False, notices=(PAYLOAD,)),
        )
        async with app.run_test(size=(220, 60), notifications=True) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state == "done", timeout=60)
            app.refresh_header()
            await pilot.pause()
            screen = screen_text(app)
            assert_terminal_safe(screen, "the requests screen")
            assert sanitize(api.topology.api_name, keep_newlines=False)[:20] in screen

            # The hostile request, opened, zoomed, wrapped: every line of its story.
            assert RID in app.store.requests
            app.requests.select(RID)
            await pilot.press("enter", "z", "w")
            await pilot.pause()
            story = app.detail.plain_lines()
            assert_terminal_safe("\n".join(story), "the story")
            assert_terminal_safe(rendered(app.detail.lines, app.console), "the story, rendered")
            assert any("[bold red]FAKE[/bold red]" in line for line in story)
            screen = screen_text(app)
            assert_terminal_safe(screen, "the detail screen")
            assert "red]FAKE[/bold" in screen and "[@click=app.quit]q[/]" in screen
            assert sanitize(HOSTILE["osc52_clipboard"]) in screen
            # The forged ID is never trusted, never shown raw.
            assert FORGED_ID not in screen
            await pilot.press("c")
            assert app.clipboard == RID

            # JSON pretty-printing off, then every line of the stream.
            await pilot.press("x", "escape", "escape", "v", "g")
            await pilot.pause()
            assert_terminal_safe(screen_text(app), "the stream screen")
            stream = app.stream
            every = [strip for i in range(len(app.log_store)) for strip in stream._strips(i)]
            text = "\n".join("".join(s.text for s in strip) for strip in every)
            assert_terminal_safe(text, "every stream line")
            assert "[bold red]FAKE[/bold red]" in text

            # Typed into the filter bar, markup is text too.
            await pilot.press("v", "slash", *"[bold]x[/bold]", "enter")
            await pilot.pause()
            assert "filter: [bold]x[/bold]" in screen_text(app)
            assert_terminal_safe(screen_text(app), "the filtered screen")

    asyncio.run(scenario())
