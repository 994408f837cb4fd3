"""`apilogs tui`: the interactive front end, wired from the same options as `get`."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

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
from apilogs.errors import ApilogsError, InvalidInput
from apilogs.model import Severity

if TYPE_CHECKING:
    from textual.app import App

F = TypeVar("F", bound=Callable[..., Any])

# The window the list of APIs sums when no --start is given: the one `apilogs apis` sums, and
# the one an API opened from it starts with (its 5xx are then in view).
PICKER_START = "15m"


def _api_optional(func: F) -> F:
    """`target_options`, except that no API at all (no --api-id, @TARGET, URL or
    APILOGS_API_ID) is not an error: `api_id` is None, and the command lists the APIs."""
    targeted = target_options(func)

    @functools.wraps(targeted)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("target") is None and not kwargs.get("api_id"):
            kwargs["common"].refresh = kwargs.pop("refresh")
            kwargs.pop("target", None)
            return func(*args, **kwargs)
        return targeted(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@command
@_api_optional
@window_options
@watch_options_following
@match_options
@tui_options
def tui(
    api_id: str | None,
    stage: str | None,
    window: WindowOptions,
    watch: WatchOptions,
    match: MatchOptions,
    tui: TuiCommandOptions,
    common: CommonOptions,
) -> None:
    """Browse requests as they arrive: filter to the failing ones, open one, read its story.
    Without an API: every API and stage of the account and region, worst first; Enter opens one.

    One row per request (time, method, path, status, latency, Lambda duration, cold start,
    cause), newest at the bottom while following; the detail pane shows the selected request's
    IDs, cause, a waterfall of its phases and every line it left in every group. `v` switches to
    the stream of every line, `/` filters (status:5xx, path:/users/*, cold, slow:>1s, error,
    fn:NAME, text), `?` lists every key. Follows live unless --no-watch or --end is given.

    \b
    Examples:
      apilogs tui
      apilogs tui --api-id xyz123 --stage prod
      apilogs tui @orders --live
      apilogs tui -a xyz123 -t prod -s 1h --no-watch --filter status:5xx
      apilogs tui -a xyz123 -t prod -s 2024-05-01T10:00Z -e 2024-05-01T10:30Z
    """
    from apilogs.tui.query import QueryError, parse_query

    no_watch_with_end(window, watch)
    stage_source = click.get_current_context().get_parameter_source("stage")
    if api_id is None and stage_source is ParameterSource.COMMANDLINE:
        raise click.UsageError(
            "--stage names a stage of an API: give --api-id too (without an API, the TUI lists "
            "every API and stage to pick from)"
        )
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
    if api_id is None:
        _browse(common, window, watch, match, tui, follow)
        return
    _open_and_run(common, api_id, stage, window, watch, match, tui, follow)


def _open_and_run(
    common: CommonOptions,
    api_id: str,
    stage: str | None,
    window: WindowOptions,
    watch: WatchOptions,
    match: MatchOptions,
    tui: TuiCommandOptions,
    follow: bool,
    *,
    back_to: str | None = None,
    run: Callable[[App[Any], threading.Event, threading.Event | None], int] | None = None,
) -> bool:
    """The TUI on one API until the user quits (False) or goes back to `back_to` (True)."""
    from apilogs.tui import ApiFeed, ReadPlan, TuiApp
    from apilogs.tui import TuiOptions as AppOptions

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
    app = TuiApp(
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
            back_to=back_to,
        ),
    )
    _crashed_if((run or run_app)(app, app.stop_event, app.reader_done))
    return app.went_back


def _browse(
    common: CommonOptions,
    window: WindowOptions,
    watch: WatchOptions,
    match: MatchOptions,
    tui: TuiCommandOptions,
    follow: bool,
    *,
    run: Callable[[App[Any], threading.Event, threading.Event | None], int] | None = None,
) -> None:
    """The list of APIs; Enter opens one in the TUI, whose `b` comes back to the list (summed
    once: `r` sums it again)."""
    from apilogs.aws import describe_aws_error, make_context
    from apilogs.spec import ReadSpec
    from apilogs.tui.picker import AccountSurvey, PickerApp, SurveyState, window_label

    start = window.start if window.start_given else PICKER_START
    context = make_context(
        profile=common.profile,
        region=common.region,
        endpoint_url=common.endpoint_url,
        max_rps=window.max_rps,
    )
    source = AccountSurvey(
        context,
        ReadSpec.build(start, window.end, engine=window.engine),
        profile=common.profile,
        tz=window.tz,
    )
    where = f"{common.profile or 'the default profile'}, {context.region}"
    label = window_label(start, window.end, window.tz)
    opened = replace(window, start=start)
    state = SurveyState()
    notice: str | None = None
    run = run or run_app
    reporter = Reporter(terminal(common))
    while True:
        picker = PickerApp(source, state, where=where, window_label=label, notice=notice)
        _crashed_if(run(picker, picker.stop, None))
        chosen = picker.return_value
        if chosen is None:
            return
        # Discovery may take a few seconds: the screen between the two says what happens.
        reporter.warn_info(f"opening {chosen.api_id} {chosen.stage}…")
        try:
            went_back = _open_and_run(
                common, chosen.api_id, chosen.stage, opened, watch, match, tui, follow,
                back_to="the list of APIs", run=run,
            )  # fmt: skip
        except Exception as exc:
            # Deleted since it was summed, denied, …: said on the list, which stays.
            error = exc if isinstance(exc, ApilogsError) else describe_aws_error(exc)
            if error is None:
                raise
            notice = f"{chosen.api_id} {chosen.stage} could not be opened: {error}".splitlines()[0]
            continue
        if not went_back:
            return
        notice = None


def run_app(
    app: App[Any], stop: threading.Event, reader_done: threading.Event | None = None
) -> int:
    """Run a Textual app until it exits, then stop its reads (and wait for its reader thread).
    Textual's return code: non-zero when the app stopped on an exception of its own."""
    try:
        app.run()
    finally:
        stop.set()
        if reader_done is not None:
            reader_done.wait(2.0)
    return app.return_code or 0


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
