"""`apilogs tui` with no API, on moto's server: every API and stage of the account, worst first;
Enter opens the chosen one in the TUI (its header names it), `b` comes back to the list, which
is not summed again; names and causes are shown as text, never as markup or escapes."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC
from typing import Any

from click.testing import CliRunner
from textual.app import App

from apilogs.aws import make_context
from apilogs.cli import cli
from apilogs.cli.options import (
    CommonOptions,
    MatchOptions,
    TuiCommandOptions,
    WatchOptions,
    WindowOptions,
)
from apilogs.cli.tui import _browse
from apilogs.model import ApiKind
from apilogs.spec import ReadSpec
from apilogs.tui import TuiApp
from apilogs.tui.picker import AccountSurvey, PickerApp, SurveyState, window_label
from tests.support.builders import make_log_group, make_rest_api, put_event
from tests.support.faultproxy import SLOW, fault_proxy
from tests.support.tui_helpers import screen_text, wait_for

SMALL = (80, 24)
FIXED_S = 1_700_000_000.0  # the picker's clock in snapshots: 22:13:20 UTC
ACCESS = (
    '{"requestId":"$context.requestId","status":"$context.status",'
    '"integrationErrorMessage":"$context.integrationErrorMessage"}'
)


def _api_with_traffic(
    client: Any, name: str, statuses: list[int], *, api_id: str, cause: str = ""
) -> str:
    """A REST API whose access log holds one line per status, two minutes ago."""
    group = f"/access/{api_id}"
    make_log_group(client, group)
    api = make_rest_api(
        client,
        name=name,
        api_id=api_id,
        access_group=group,
        access_format=ACCESS,
        logging_level=None,
    )
    now = int(time.time() * 1000) - 120_000
    tag = sum(map(ord, api_id))  # request IDs unique across the APIs
    for i, status in enumerate(statuses):
        line = {
            "requestId": f"{tag:04x}{i:04x}-0000-4000-8000-000000000000",
            "status": str(status),
            "integrationErrorMessage": cause if status >= 500 else "-",
        }
        put_event(client, group, "s", now + i * 100, json.dumps(line))
    return api


def _account(client: Any) -> tuple[str, str, str]:
    calm = _api_with_traffic(client, "calm", [200] * 6 + [404], api_id="calm000001")
    burning = _api_with_traffic(
        client,
        "burning",
        [200, 502, 503, 500, 429],
        api_id="burn000001",
        cause="Lambda timed out",
    )
    v2 = client("apigatewayv2")
    silent = v2.create_api(Name="silent", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=silent, StageName="$default")
    return burning, calm, silent


def _picker(endpoint: str, state: SurveyState | None = None) -> PickerApp:
    ctx = make_context(region="us-east-1", endpoint_url=endpoint, max_rps=0)
    return PickerApp(
        AccountSurvey(ctx, ReadSpec.build("15m"), tz=UTC),
        state or SurveyState(),
        where="the default profile, us-east-1",
        window_label=window_label("15m", None, UTC),
        clock=lambda: FIXED_S,
    )


def _table_order(app: PickerApp) -> list[tuple[str, str]]:
    table = app.table
    keys = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]
    return [(app._keys[k].api_id, app._keys[k].stage) for k in keys if k is not None]


def test_the_apis_are_listed_worst_first_and_enter_opens_the_chosen_one(
    endpoint: str, client: Any
) -> None:
    burning, calm, silent = _account(client)
    app = _picker(endpoint)

    async def scenario() -> None:
        async with app.run_test(size=SMALL) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state.complete and not app.running, timeout=30)
            assert _table_order(app) == [(burning, "prod"), (calm, "prod"), (silent, "$default")]
            text = screen_text(app)
            assert "3 stages summed at 22:13:20; 1 with 5xx" in text
            # The row as `apilogs apis` prints it at 80 columns: ID, stage, counts, cause.
            rows = text.splitlines()
            head = next(r for r in rows if "API" in r and "5XX" in r)
            assert "NAME" not in head and "TOP CAUSE" in head
            worst = next(r for r in rows if r.strip().startswith(burning))
            assert worst.split()[1:5] == ["prod", "5", "1", "3"]
            assert "Lambda timed out" in worst
            # The HTTP API logs nothing: its row says so, last.
            assert "no log group" in next(r for r in rows if r.strip().startswith(silent))
            # What the reads told is said, not dropped: here, the execution logs that are not.
            assert "2 notices, newest: execution: log group API-Gateway-Execution-Logs_" in text
            assert "⏎ Open API" in rows[-1]
            # The highlighted row whole, under the table: its name and kind, cut from the row.
            assert "burning  REST burn000001 · stage prod" in rows[-2]
            assert rows[-2].rstrip().endswith("Lambda timed out")
            await pilot.press("down", "enter")
            await pilot.pause()

    asyncio.run(scenario())
    chosen = app.return_value
    assert chosen is not None
    assert (chosen.api_id, chosen.name, chosen.kind, chosen.stage) == (
        calm,
        "calm",
        ApiKind.REST,
        "prod",
    )


def test_rows_show_up_as_each_stage_is_summed(endpoint: str, client: Any) -> None:
    """Summing is in a worker: the screen says how far it is, and a summed row shows at once,
    in its worst-first place, while a slow stage is still being summed."""
    burning, calm, silent = _account(client)
    with fault_proxy(endpoint) as proxy:
        proxy.failing_groups = {f"/access/{calm}"}
        proxy.group_fault = SLOW
        proxy.slow_seconds = 1.0
        app = _picker(proxy.url)

        async def scenario() -> None:
            async with app.run_test(size=SMALL) as pilot:
                app.animation_level = "none"
                await wait_for(pilot, lambda: "summing 2 of 3" in screen_text(app), timeout=20)
                assert _table_order(app) == [(burning, "prod"), (silent, "$default")]
                lines = screen_text(app).splitlines()
                assert not any(line.strip().startswith(calm) for line in lines)
                assert any(line.strip().startswith(burning) for line in lines)
                await wait_for(pilot, lambda: app.state.complete and not app.running, timeout=30)
                assert _table_order(app) == [
                    (burning, "prod"),
                    (calm, "prod"),
                    (silent, "$default"),
                ]
                assert "summing" not in screen_text(app)

        asyncio.run(scenario())


def test_the_list_shows_untrusted_names_as_text(endpoint: str, client: Any) -> None:
    hostile = "[bold red]pwn[/] \x1b[31mred\x1b]0;title\x07"
    api = _api_with_traffic(
        client, hostile, [502], api_id="evil000001", cause="[link=x]boom[/link] \x1b[2J"
    )
    app = _picker(endpoint)

    async def scenario() -> None:
        async with app.run_test(size=(160, 24)) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state.complete and not app.running, timeout=30)
            row = next(r for r in screen_text(app).splitlines() if r.strip().startswith(api))
            assert "[bold red]pwn[/]" in row
            assert "[link=x]boom[/link]" in row
            assert "\x1b" not in screen_text(app) and "\x07" not in screen_text(app)
            assert "\\x1b" in row  # the escape, shown as text

    asyncio.run(scenario())


def test_back_from_the_api_to_the_list_which_is_not_summed_again(
    endpoint: str, client: Any
) -> None:
    """The whole loop of `apilogs tui` with no API, each screen run headless: the list, Enter
    on the worst, the TUI on it (its header names it), `b` back to the list, q."""
    burning, _, _ = _account(client)
    seen: list[tuple[str, str]] = []
    summed: list[float | None] = []

    async def drive(app: App[Any]) -> None:
        async with app.run_test(size=SMALL, notifications=True) as pilot:
            app.animation_level = "none"
            if isinstance(app, PickerApp):
                await wait_for(pilot, lambda: app.state.complete and not app.running, timeout=30)
                summed.append(app.state.finished_at)
                seen.append(("list", screen_text(app)))
                await pilot.press("q" if len(summed) > 1 else "enter")
            else:
                assert isinstance(app, TuiApp)
                await wait_for(pilot, lambda: app.store.counts.requests >= 5, timeout=30)
                seen.append(("api", screen_text(app)))
                await pilot.press("escape")  # nothing to go back from: it says where b goes
                await wait_for(pilot, lambda: "b: back to" in screen_text(app), timeout=3)
                seen.append(("hint", screen_text(app)))
                await pilot.press("b")
            await pilot.pause()

    def run(app: App[Any], stop: threading.Event, done: threading.Event | None) -> int:
        asyncio.run(drive(app))
        stop.set()
        if done is not None:
            done.wait(5)
        return app.return_code or 0

    _browse(
        CommonOptions(region="us-east-1", endpoint_url=endpoint),
        _window(),
        WatchOptions(watch=False, interval_s=0.2, max_lag_ms=30_000),
        MatchOptions((), (), ()),
        TuiCommandOptions(no_watch=False, max_requests=10_000, filter_text=""),
        follow=True,
        run=run,
    )
    assert [what for what, _ in seen] == ["list", "api", "hint", "list"]
    api_screen = seen[1][1]
    assert "apilogs burning · stage prod" in api_screen.splitlines()[0]
    assert "b APIs" in api_screen.splitlines()[-1]
    assert "b: back to the list of APIs" in seen[2][1]
    # Back on the list: the rows summed before, not summed again (the listing says when).
    assert len(summed) == 2 and summed[0] is not None and summed[1] == summed[0]
    assert burning in seen[3][1] and "3 stages summed" in seen[3][1]


def _window() -> WindowOptions:
    return WindowOptions(
        start="5m",
        end=None,
        utc=True,
        sources=(),
        log_groups=(),
        filter_pattern=None,
        max_rps=0,
        start_given=False,
    )


def test_the_list_at_80x24(snap_compare: Any, endpoint: str, client: Any) -> None:
    _api_with_traffic(client, "calm", [200] * 6 + [404], api_id="calm000001")
    _api_with_traffic(
        client, "burning", [200, 502, 503, 500, 429], api_id="burn000001", cause="Lambda timed out"
    )
    # A REST API without logs (not an HTTP API: moto draws their IDs, a snapshot needs them fixed).
    make_rest_api(client, name="quiet", api_id="quiet00001", logging_level=None)
    # No notice of a missing execution log: which of them is the newest depends on the threads.
    for api in ("calm000001", "burn000001"):
        make_log_group(client, f"API-Gateway-Execution-Logs_{api}/prod")

    async def summed(pilot: Any) -> None:
        app = pilot.app
        app.animation_level = "none"
        await wait_for(pilot, lambda: app.state.complete and not app.running, timeout=30)
        # Once summed, `r` is offered again.
        await wait_for(pilot, lambda: "r Sum again" in screen_text(app), timeout=5)

    app = _picker(endpoint)
    assert snap_compare(app, terminal_size=SMALL, run_before=summed)


def test_a_stage_without_an_api_is_refused() -> None:
    result = CliRunner().invoke(cli, ["tui", "-t", "prod"])
    assert result.exit_code == 2
    assert "--stage names a stage of an API: give --api-id too" in result.output


def test_the_window_is_said_as_a_person_reads_it() -> None:
    assert window_label("15m", None, UTC) == "last 15m"
    assert window_label("2 hours ago", None, UTC) == "last 2 hours"
    # An epoch or an ISO time as typed says little at a glance: the times, in the zone shown.
    assert window_label("1796419300000", "1796419600000", UTC) == "21:21:40 → 21:26:40 UTC"
    assert window_label("2026-12-03T10:00Z", "2026-12-04T10:00Z", UTC) == (
        "2026-12-03 10:00:00 → 2026-12-04 10:00:00 UTC"
    )


def test_an_api_that_cannot_be_opened_leaves_the_list_with_the_reason(
    endpoint: str, client: Any
) -> None:
    """Deleted between the sums and Enter: the list comes back and says why, nothing else."""
    burning, calm, _ = _account(client)
    seen: list[str] = []

    async def drive(app: App[Any]) -> None:
        assert isinstance(app, PickerApp), "no TUI opens on a deleted API"
        async with app.run_test(size=SMALL) as pilot:
            app.animation_level = "none"
            await wait_for(pilot, lambda: app.state.complete and not app.running, timeout=30)
            seen.append(screen_text(app))
            if len(seen) == 1:
                client("apigateway").delete_rest_api(restApiId=calm)
                await pilot.press("j", "enter")
            else:
                await pilot.press("q")
            await pilot.pause()

    def run(app: App[Any], stop: threading.Event, done: threading.Event | None) -> int:
        asyncio.run(drive(app))
        stop.set()
        return app.return_code or 0

    _browse(
        CommonOptions(region="us-east-1", endpoint_url=endpoint),
        _window(),
        WatchOptions(watch=False, interval_s=0.2, max_lag_ms=30_000),
        MatchOptions((), (), ()),
        TuiCommandOptions(no_watch=False, max_requests=10_000, filter_text=""),
        follow=True,
        run=run,
    )
    assert len(seen) == 2
    [notice] = [line for line in seen[1].splitlines() if "could not be opened" in line]
    assert notice.strip().startswith(f"{calm} prod could not be opened: ")
    assert burning in seen[1]


def test_enter_while_summing_opens_at_once_and_the_rest_is_summed_on_return(
    endpoint: str, client: Any
) -> None:
    """A row is opened without waiting for the slow stages; back on the list, only the stages
    left are summed (the sum cut short is not shown: it would count too few requests)."""
    burning, calm, silent = _account(client)
    with fault_proxy(endpoint) as proxy:
        proxy.failing_groups = {f"/access/{calm}"}
        proxy.group_fault = SLOW
        proxy.slow_seconds = 2.0
        state = SurveyState()
        first = _picker(proxy.url, state)
        left_after_s: list[float] = []

        async def pick() -> None:
            async with first.run_test(size=SMALL) as pilot:
                first.animation_level = "none"
                await wait_for(pilot, lambda: "summing 2 of 3" in screen_text(first), timeout=20)
                await pilot.press("enter")
                pressed = time.monotonic()
            left_after_s.append(time.monotonic() - pressed)

        asyncio.run(pick())
        assert first.return_value is not None and first.return_value.api_id == burning
        assert left_after_s[0] < 1.5, left_after_s
        assert {s.api_id for s in state.summed} == {burning, silent}

        proxy.failing_groups = set()
        again = _picker(proxy.url, state)

        async def back() -> None:
            async with again.run_test(size=SMALL) as pilot:
                again.animation_level = "none"
                await wait_for(pilot, lambda: state.complete and not again.running, timeout=30)
                assert _table_order(again) == [
                    (burning, "prod"),
                    (calm, "prod"),
                    (silent, "$default"),
                ]
                assert state.summed[next(s for s in state.summed if s.api_id == calm)].requests == 7

        asyncio.run(back())
