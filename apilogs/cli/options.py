"""Every option of every command, declared once (as httpie does): the commands pick the groups
they need. Options every AWS tool has also work before the command (`apilogs --profile prod get
…`), as the AWS CLI allows; given after it, they win."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from apilogs.cli.params import ENDPOINT_URL, NON_EMPTY, REGEX, STATUS, TIME, DurationParam
from apilogs.errors import InvalidInput
from apilogs.fetch.filter import DEFAULT_MAX_LAG_MS

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _apply(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


# --- the options every AWS tool has -------------------------------------------------------------


@dataclass
class CommonOptions:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    color: str = "auto"
    verbose: bool = False
    debug: bool = False


COMMON_NAMES = ("profile", "region", "endpoint_url", "color", "no_color", "verbose", "debug")


def _common_option_list() -> list[Callable[[Any], Any]]:
    return [
        click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: AWS_PROFILE)."),
        click.option("--region", help="AWS region (default: AWS_REGION or the profile's)."),
        click.option(
            "--endpoint-url",
            type=ENDPOINT_URL,
            help="Send every AWS call here (a local emulator, a VPC endpoint). boto3's own "
            "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> apply when this is not given.",
        ),
        click.option(
            "--color",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour output. auto: only on a terminal; NO_COLOR and FORCE_COLOR are honoured.",
        ),
        click.option("--no-color", is_flag=True, help="The same as --color never."),
        click.option("-v", "--verbose", is_flag=True, help="Say more on stderr."),
        click.option("--debug", is_flag=True, help="Show tracebacks and botocore's debug log."),
    ]


def group_common_options(func: F) -> F:
    """On the `apilogs` group itself: the values are kept for the command to merge."""
    return _apply(func, _common_option_list())


def common_options(func: F) -> F:
    """On a command: `common=CommonOptions` merged with what was given before the command."""
    func = _apply(func, _common_option_list())

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        given = {name: kwargs.pop(name) for name in COMMON_NAMES}
        before: dict[str, Any] = (
            ctx.parent.meta.get("apilogs.common") if ctx.parent else None
        ) or {}
        merged: dict[str, Any] = {}
        for name, value in given.items():
            source = ctx.get_parameter_source(name)
            if source is not ParameterSource.COMMANDLINE and name in before:
                before_value, before_source = before[name]
                if before_source is ParameterSource.COMMANDLINE or source in (
                    None,
                    ParameterSource.DEFAULT,
                ):
                    value = before_value
            merged[name] = value
        color = "never" if merged.pop("no_color") else merged["color"]
        common = CommonOptions(**{**merged, "color": color})
        return func(*args, common=common, **kwargs)

    return wrapper  # type: ignore[return-value]


def remember_group_options(ctx: click.Context, values: dict[str, Any]) -> None:
    ctx.meta["apilogs.common"] = {
        name: (values[name], ctx.get_parameter_source(name)) for name in COMMON_NAMES
    }


# --- which API ------------------------------------------------------------------------------------

api_id_option = click.option(
    "--api-id",
    "-a",
    "api_id",
    required=True,
    type=NON_EMPTY,
    metavar="ID|NAME",
    help="REST, HTTP or WebSocket API: its ID, or its name when unambiguous.",
)
stage_option = click.option(
    "--stage",
    "-t",
    metavar="STAGE",
    help="The stage (HTTP APIs: default $default).",
)


def output_option(choices: list[str], help_text: str, default: str = "plain") -> Callable[[F], F]:
    """The -o/--output option, declared the same way by every command."""
    decorator: Callable[[F], F] = click.option(
        "-o",
        "--output",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help=help_text,
    )
    return decorator


# --- the window -----------------------------------------------------------------------------------


@dataclass
class WindowOptions:
    """When, which sources, how fast: every reading command shares these."""

    start: str
    end: str | None
    utc: bool
    sources: tuple[str, ...]
    log_groups: tuple[str, ...]
    filter_pattern: str | None
    max_rps: float
    # None: 60 s for a window; never when following.
    fail_after_s: float | None = None

    @property
    def tz(self) -> tzinfo | None:
        return UTC if self.utc else None

    @property
    def window_fail_after_s(self) -> float:
        return self.fail_after_s if self.fail_after_s is not None else 60.0


def window_options(func: F) -> F:
    func = _apply(
        func,
        [
            click.option(
                "-s",
                "--start",
                "--since",
                "start",
                type=TIME,
                default="5m",
                show_default=True,
                metavar="TIME",
                help="Window start: 5m, 1h ago, 2 days ago, yesterday, ISO 8601, epoch s/ms.",
            ),
            click.option(
                "-e",
                "--end",
                "--until",
                "end",
                type=TIME,
                metavar="TIME",
                help="Window end (default: now). Same forms as --start.",
            ),
            click.option("--utc", is_flag=True, help="Read and print times in UTC."),
            click.option(
                "--local",
                is_flag=True,
                help="Read and print times in local time with its offset (the default).",
            ),
            click.option(
                "--source",
                "sources",
                multiple=True,
                metavar="SOURCE",
                help="Read only: execution, access, lambda, authorizer or a function name "
                "(repeatable).",
            ),
            click.option(
                "--log-group",
                "log_groups",
                multiple=True,
                metavar="NAME",
                help="Also read this log group (repeatable).",
            ),
            click.option(
                "-f",
                "--filter-pattern",
                metavar="PATTERN",
                help="CloudWatch Logs filter pattern, applied by the service (saves reads).",
            ),
            click.option(
                "--max-rps",
                type=click.FloatRange(0),
                default=5.0,
                show_default=True,
                help="CloudWatch Logs reads per second, shared by all groups (the account quota "
                "is 5; 0 = unlimited, for local endpoints).",
            ),
            click.option(
                "--fail-after",
                type=DurationParam(minimum_s=1),
                metavar="DURATION",
                help="Give up (exit 3) once AWS has failed every read of a group this long. "
                "Default: 60s for a window; in --watch mode, never (it keeps trying and says so).",
            ),
        ],
    )

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        start: str,
        end: str | None,
        utc: bool,
        local: bool,
        sources: tuple[str, ...],
        log_groups: tuple[str, ...],
        filter_pattern: str | None,
        max_rps: float,
        fail_after: float | None,
        **kwargs: Any,
    ) -> Any:
        if utc and local:
            raise click.UsageError("--utc and --local contradict each other: give one")
        window = WindowOptions(
            start, end, utc, sources, log_groups, filter_pattern, max_rps, fail_after
        )
        return func(*args, window=window, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- following ------------------------------------------------------------------------------------


@dataclass
class WatchOptions:
    watch: bool
    interval_s: float
    max_lag_ms: int


def watch_options(func: F) -> F:
    func = _apply(
        func,
        [
            click.option(
                "-w",
                "--watch",
                "--follow",
                "watch",
                is_flag=True,
                help="Keep following new events (Ctrl-C to stop).",
            ),
            click.option(
                "--watch-interval",
                type=click.FloatRange(0.1, 300),
                default=1.0,
                show_default=True,
                metavar="SECONDS",
                help="Seconds between polls of each group in --watch mode.",
            ),
            click.option(
                "--max-lag",
                type=DurationParam(minimum_s=5),
                default=f"{DEFAULT_MAX_LAG_MS // 1000}s",
                show_default=True,
                metavar="DURATION",
                help="In --watch mode, find events CloudWatch Logs ingests up to this late "
                "(a periodic re-read looks back this far).",
            ),
        ],
    )

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        watch: bool,
        watch_interval: float,
        max_lag: float,
        **kwargs: Any,
    ) -> Any:
        options = WatchOptions(watch, watch_interval, int(max_lag * 1000))
        return func(*args, watch=options, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- get's lines ----------------------------------------------------------------------------------


@dataclass
class MatchOptions:
    grep: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    highlight: tuple[re.Pattern[str], ...]


def match_options(func: F) -> F:
    func = _apply(
        func,
        [
            click.option(
                "-g",
                "--grep",
                multiple=True,
                type=REGEX,
                metavar="REGEX",
                help="Keep only matching lines (repeatable).",
            ),
            click.option(
                "-x",
                "--exclude",
                multiple=True,
                type=REGEX,
                metavar="REGEX",
                help="Drop matching lines (repeatable).",
            ),
            click.option(
                "-H",
                "--highlight",
                multiple=True,
                type=REGEX,
                metavar="REGEX",
                help="Highlight matches (repeatable).",
            ),
            click.option(
                "-i",
                "--ignore-case",
                is_flag=True,
                help="--grep, --exclude and --highlight ignore case.",
            ),
        ],
    )

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        grep: tuple[re.Pattern[str], ...],
        exclude: tuple[re.Pattern[str], ...],
        highlight: tuple[re.Pattern[str], ...],
        ignore_case: bool,
        **kwargs: Any,
    ) -> Any:
        def fold(patterns: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], ...]:
            if not ignore_case:
                return patterns
            return tuple(re.compile(p.pattern, p.flags | re.IGNORECASE) for p in patterns)

        match = MatchOptions(fold(grep), fold(exclude), fold(highlight))
        return func(*args, match=match, **kwargs)

    return wrapper  # type: ignore[return-value]


request_id_option = click.option(
    "-r",
    "--request-id",
    "request_ids",
    multiple=True,
    metavar="ID",
    help="Only this request's lines, from every group: its API Gateway, Lambda, X-Ray or "
    "extended request ID (repeatable).",
)


def line_options(func: F) -> F:
    return _apply(
        func,
        [
            click.option("-G", "--no-group", is_flag=True, help="Do not print the log group."),
            click.option("-S", "--no-stream", is_flag=True, help="Do not print the log stream."),
            click.option("--timestamp", is_flag=True, help="Print each event's timestamp."),
            click.option(
                "--ingestion-time", is_flag=True, help="Print each event's ingestion time."
            ),
            click.option("--expand", is_flag=True, help="Pretty-print JSON messages."),
        ],
    )


# --- which requests -------------------------------------------------------------------------------


def request_filter_options(func: F) -> F:
    return _apply(
        func,
        [
            click.option(
                "--status",
                "statuses",
                multiple=True,
                type=STATUS,
                metavar="CODE",
                help="5xx, 4xx, 502, … (repeatable).",
            ),
            click.option("--errors", is_flag=True, help="Only requests that failed (any cause)."),
            click.option(
                "--slow",
                type=DurationParam(),
                metavar="DURATION",
                help="Only requests slower than this, e.g. 500ms, 2s.",
            ),
            click.option(
                "--path",
                "path_glob",
                metavar="GLOB",
                help="Only paths/routes matching, e.g. '/users/*'.",
            ),
            click.option("--cold", is_flag=True, help="Only requests served by a cold start."),
        ],
    )


def no_watch_with_end(window: WindowOptions, watch: WatchOptions) -> None:
    if watch.watch and window.end:
        raise InvalidInput("--watch follows new events: it cannot be used with --end")


# --- the TUI --------------------------------------------------------------------------------------


@dataclass
class TuiOptions:
    no_watch: bool
    max_requests: int
    filter_text: str


def tui_options(func: F) -> F:
    """`apilogs tui`: a fixed window instead of following, the memory cap, a starting filter."""
    func = _apply(
        func,
        [
            click.option(
                "--no-watch",
                is_flag=True,
                help="Read the window once instead of following (also implied by --end).",
            ),
            click.option(
                "--max-requests",
                type=click.IntRange(100),
                default=10_000,
                show_default=True,
                metavar="N",
                help="Keep the newest N requests (and 40 lines per request in the stream view); "
                "older ones are dropped from view, and the header says so.",
            ),
            click.option(
                "--filter",
                "filter_text",
                default="",
                metavar="FILTER",
                help="Start with this filter, e.g. 'status:5xx path:/users/*' (see ? in the TUI).",
            ),
        ],
    )

    @functools.wraps(func)
    def wrapper(
        *args: Any, no_watch: bool, max_requests: int, filter_text: str, **kwargs: Any
    ) -> Any:
        return func(*args, tui=TuiOptions(no_watch, max_requests, filter_text), **kwargs)

    return wrapper  # type: ignore[return-value]
