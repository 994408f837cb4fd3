"""`apilogs tui`: the interactive front end, wired from the same options as `get`."""

from __future__ import annotations

import sys

import click

from apilogs.cli.app import Reporter, fail_line, open_for, terminal
from apilogs.cli.commands import command
from apilogs.cli.options import (
    CommonOptions,
    MatchOptions,
    TuiCommandOptions,
    WatchOptions,
    WindowOptions,
    match_options,
    no_watch_with_end,
    target_options,
    tui_options,
    watch_options_following,
    window_options,
)
from apilogs.cli.status import ExitStatus
from apilogs.errors import InvalidInput
from apilogs.model import Severity


@command
@target_options
@window_options
@watch_options_following
@match_options
@tui_options
def tui(
    api_id: str,
    stage: str | None,
    window: WindowOptions,
    watch: WatchOptions,
    match: MatchOptions,
    tui: TuiCommandOptions,
    common: CommonOptions,
) -> None:
    """Browse requests as they arrive: filter to the failing ones, open one, read its story.

    One row per request (time, method, path, status, latency, Lambda duration, cold start,
    cause), newest at the bottom while following; the detail pane shows the selected request's
    IDs, cause, a waterfall of its phases and every line it left in every group. `v` switches to
    the stream of every line, `/` filters (status:5xx, path:/users/*, cold, slow:>1s, error,
    fn:NAME, text), `?` lists every key. Follows live unless --no-watch or --end is given.

    \b
    Examples:
      apilogs tui --api-id xyz123 --stage prod
      apilogs tui @orders --live
      apilogs tui -a xyz123 -t prod -s 1h --no-watch --filter status:5xx
      apilogs tui -a xyz123 -t prod -s 2024-05-01T10:00Z -e 2024-05-01T10:30Z
    """
    from apilogs.tui import ApiFeed, ReadPlan, run_tui
    from apilogs.tui import TuiOptions as AppOptions
    from apilogs.tui.query import QueryError, parse_query

    no_watch_with_end(window, watch)
    if watch.watch and tui.no_watch:
        raise click.UsageError("--watch and --no-watch contradict each other: give one")
    follow = not (tui.no_watch or window.end)
    if watch.live and not follow:
        raise click.UsageError("--live follows new events: not with --no-watch or --end")
    try:
        parse_query(tui.filter_text)
    except QueryError as exc:
        raise InvalidInput(f"--filter: {exc}", name="filter") from None
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise InvalidInput(
            "apilogs tui needs a terminal; for a pipe use `apilogs requests` or `apilogs get`"
        )
    spec = window.spec(match, watch)
    api = open_for(common, api_id, stage, Reporter(terminal(common)).trouble, window, spec)
    # Once the screen is the TUI's, stderr is not: its reads say their troubles in the header.
    api.context.on_trouble = None
    notices = [
        f.message
        for f in api.topology.findings
        if f.severity is not Severity.INFO or common.verbose
    ]
    resolved = api.spec(spec)
    start_ms, end_ms = resolved.start_ms, resolved.end_ms
    selection = api.select(spec.sources, spec.log_groups)
    plan = ReadPlan(**resolved.as_fields(), follow=follow)
    code = run_tui(
        ApiFeed(api, plan),
        api.topology,
        selection.sources,
        AppOptions(
            start_ms=start_ms,
            end_ms=None if follow else (end_ms if end_ms is not None else _now_ms()),
            follow=follow,
            tz=window.tz,
            max_requests=tui.max_requests,
            initial_filter=tui.filter_text,
            highlights=match.highlight,
            notices=tuple(notices),
        ),
    )
    _crashed_if(code)


def _crashed_if(code: int) -> None:
    """A TUI that stopped on its own exception is a bug, whatever Textual's code for it."""
    if code:
        fail_line(
            "the TUI stopped on an unexpected error (a bug in apilogs: the traceback is above; "
            "please report it)",
            ExitStatus.INTERNAL,
        )


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def run_demo_tui(api: object, start_ms: int) -> None:
    """`apilogs demo` on a terminal: the TUI, following the demo API from `start_ms`."""
    from apilogs.api import Api
    from apilogs.tui import ApiFeed, ReadPlan, run_tui
    from apilogs.tui import TuiOptions as AppOptions

    assert isinstance(api, Api)
    feed = ApiFeed(api, ReadPlan(start=start_ms, follow=True, interval_s=0.5))
    _crashed_if(run_tui(feed, api.topology, api.select().sources, AppOptions(start_ms=start_ms)))
