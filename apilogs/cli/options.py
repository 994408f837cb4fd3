"""Every option of every command, declared once (as httpie does): the commands pick the groups
they need. Options every AWS tool has also work before the command (`apilogs --profile prod get
…`), as the AWS CLI allows; given after it, they win."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from apilogs.cli import complete
from apilogs.cli.config import Config, config_path, load_config
from apilogs.cli.params import ENDPOINT_URL, NON_EMPTY, REGEX, STATUS, TIME, DurationParam
from apilogs.discover.urls import UrlTarget, looks_like_url
from apilogs.errors import InvalidInput
from apilogs.fetch.engines import ENGINES, EngineName
from apilogs.fetch.filter import DEFAULT_MAX_LAG_MS
from apilogs.spec import ReadSpec

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def apply_options(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """`options` on `func`, in the order given (as if written above it as decorators)."""
    for option in reversed(options):
        func = option(func)
    return func


def _gathered(
    func: F, name: str, options: Sequence[Callable[[Any], Any]], make: Callable[..., Any]
) -> F:
    """`options` on a command that takes their values as one: `name=make(**values)`. `make`'s
    parameters are the options' names; it may refuse a combination (a click.UsageError)."""
    func = apply_options(func, options)
    names = tuple(inspect.signature(make).parameters)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs[name] = make(**{option: kwargs.pop(option) for option in names})
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- the options every AWS tool has -------------------------------------------------------------


@dataclass
class CommonOptions:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    color: str = "auto"
    verbose: bool = False
    debug: bool = False
    # The names the command line gave (before or after the command): a target or the config's
    # defaults never override them.
    given: frozenset[str] = frozenset()
    # Discover the API again instead of using the cached topology.
    refresh: bool = False
    # What a URL given in place of the API stood for (`apilogs.discover.urls`).
    url_target: UrlTarget | None = None


COMMON_NAMES = ("profile", "region", "endpoint_url", "color", "no_color", "verbose", "debug")


ENDPOINT_URL_OPTION = click.option(
    "--endpoint-url",
    type=ENDPOINT_URL,
    help="Send every AWS call here (a local emulator, a VPC endpoint). boto3's own "
    "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> apply when this is not given.",
)


def _common_option_list() -> list[Callable[[Any], Any]]:
    return [
        click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: AWS_PROFILE)."),
        click.option("--region", help="AWS region (default: AWS_REGION or the profile's)."),
        ENDPOINT_URL_OPTION,
        *speaking_options(),
    ]


def speaking_options() -> list[Callable[[Any], Any]]:
    """How a command speaks: colour, --verbose, --debug (every command, `apis` included)."""
    return [
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
    return apply_options(func, _common_option_list())


def common_options(func: F) -> F:
    """On a command: `common=CommonOptions` merged with what was given before the command."""
    func = apply_options(func, _common_option_list())

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        given = {name: kwargs.pop(name) for name in COMMON_NAMES}
        before: dict[str, Any] = (
            ctx.parent.meta.get("apilogs.common") if ctx.parent else None
        ) or {}
        merged: dict[str, Any] = {}
        on_command_line: set[str] = set()
        for name, value in given.items():
            source = ctx.get_parameter_source(name)
            if source is not ParameterSource.COMMANDLINE and name in before:
                before_value, before_source = before[name]
                if before_source is ParameterSource.COMMANDLINE or source in (
                    None,
                    ParameterSource.DEFAULT,
                ):
                    value, source = before_value, before_source
            if source is ParameterSource.COMMANDLINE:
                on_command_line.add(name)
            merged[name] = value
        defaults = load_defaults()
        for name in ("profile", "region", "endpoint_url"):
            if merged[name] is None and name in defaults:
                merged[name] = str(defaults[name])
        color = "never" if merged.pop("no_color") else merged["color"]
        common = CommonOptions(**{**merged, "color": color}, given=frozenset(on_command_line))
        return func(*args, common=common, **kwargs)

    return wrapper  # type: ignore[return-value]


def remember_group_options(ctx: click.Context, values: dict[str, Any]) -> None:
    ctx.meta["apilogs.common"] = {
        name: (values[name], ctx.get_parameter_source(name)) for name in COMMON_NAMES
    }


# --- which API ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _config(path: str) -> Config:
    return load_config(Path(path))


def load_config_once() -> Config:
    return _config(str(config_path()))


class ConfigFileError(click.ClickException):
    """A config file that cannot be read: a usage error, like a bad option."""

    exit_code = 2


def load_defaults() -> Mapping[str, Any]:
    """The config file's [defaults]. A file that cannot be read is one usage error (exit 2)
    for every command: ignoring it would query another account than the one it names. This
    runs while click parses the options, before the command's own error handling, so the error
    is click's."""
    try:
        return load_config_once().defaults
    except InvalidInput as exc:
        raise ConfigFileError(str(exc)) from None


def _target_option_list(positional: bool) -> list[Callable[[Any], Any]]:
    options: list[Callable[[Any], Any]] = [
        click.option(
            "--api-id",
            "-a",
            "api_id",
            envvar="APILOGS_API_ID",
            type=NON_EMPTY,
            metavar="ID|NAME|@TARGET|URL",
            shell_complete=complete.api_ids,
            help="REST, HTTP or WebSocket API: its ID, its name when unambiguous, @TARGET "
            "from the config file, or a URL it serves (execute-api or custom domain; its path "
            "narrows `requests` and `stats`) (default: APILOGS_API_ID).",
        ),
        click.option(
            "--refresh",
            is_flag=True,
            help="Discover the API's log groups again instead of using the cached topology "
            "(which is checked on every run anyway).",
        ),
        click.option(
            "--stage",
            "-t",
            envvar="APILOGS_STAGE",
            metavar="STAGE",
            shell_complete=complete.stages,
            help="The stage (HTTP APIs: default $default; default: APILOGS_STAGE).",
        ),
    ]
    if positional:
        options.insert(
            0,
            click.argument(
                "target",
                required=False,
                metavar="[@TARGET|URL]",
                shell_complete=complete.targets,
            ),
        )
    return options


def target_options(func: F) -> F:
    """`-a/--api-id`, `-t/--stage`, and a `@TARGET` from the config file (as the argument or as
    `--api-id @TARGET`): gives the command `api_id` and `stage`, and fills the target's profile,
    region and endpoint into `common` where the command line gave none."""
    return _with_target(func, positional=True)


def target_options_no_argument(func: F) -> F:
    """The same, for a command whose arguments (`words`) are its own and may hold the
    @TARGET (`show [@TARGET] ID`)."""
    return _with_target(func, positional=False)


def _with_target(func: F, *, positional: bool) -> F:
    func = apply_options(func, _target_option_list(positional))

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        api_id: str | None,
        stage: str | None,
        common: CommonOptions,
        refresh: bool,
        target: str | None = None,
        **kwargs: Any,
    ) -> Any:
        common.refresh = refresh
        words = kwargs.get("words")
        if words is not None:
            # `show [@TARGET|URL] ID`: the target shares the arguments.
            chosen = [w for w in words if w.startswith("@") or looks_like_url(w)]
            if len(chosen) > 1:
                raise click.UsageError("give at most one @TARGET or URL")
            target = chosen[0] if chosen else None
            kwargs["words"] = tuple(w for w in words if w not in chosen)
        api_id, stage = resolve_target(target, api_id, stage, common)
        return func(*args, api_id=api_id, stage=stage, common=common, **kwargs)

    return wrapper  # type: ignore[return-value]


def resolve_target(
    target: str | None, api_id: str | None, stage: str | None, common: CommonOptions
) -> tuple[str, str | None]:
    ctx = click.get_current_context()
    url = next((u for u in (target, api_id) if u and looks_like_url(u)), None)
    if url is not None:
        if url == target and api_id and _from_command_line(ctx, "api_id"):
            raise click.UsageError(f"give the API once: {url} or --api-id {api_id}")
        return _resolved(url, stage, common)
    ref = target or (api_id if api_id and api_id.startswith("@") else None)
    if target and not target.startswith("@"):
        raise click.UsageError(
            f"unexpected argument {target!r}: a target from the config file starts with @, "
            "a URL with https:// (the API ID goes with --api-id)"
        )
    if ref:
        chosen = load_config_once().target(ref)
        if api_id and not api_id.startswith("@") and _from_command_line(ctx, "api_id"):
            raise click.UsageError(f"give the API once: {ref} or --api-id {api_id}")
        api_id = chosen.api_id
        if not (stage and _from_command_line(ctx, "stage")):
            stage = chosen.stage or stage
        for name in ("profile", "region", "endpoint_url"):
            value = getattr(chosen, name)
            if value and name not in common.given:
                setattr(common, name, value)
    if not api_id:
        raise click.UsageError(
            "Missing option '--api-id' / '-a' (or a @TARGET from the config file, or "
            "APILOGS_API_ID)"
        )
    return api_id, stage


def _resolved(url: str, stage: str | None, common: CommonOptions) -> tuple[str, str | None]:
    """The API and stage a URL stands for (a `--stage` given still wins); its region, from an
    execute-api host, where the command line gave none."""
    from apilogs.aws import make_context
    from apilogs.discover import cache as topology_cache
    from apilogs.discover.urls import parse_url, resolve_url_cached

    # An execute-api host names its region: no configured region is needed to look it up.
    host = parse_url(url).default_host
    ctx = make_context(
        profile=common.profile,
        region=common.region or (host["region"] if host else None),
        endpoint_url=common.endpoint_url,
    )
    target = resolve_url_cached(
        ctx,
        url,
        profile=common.profile,
        cache=topology_cache.enabled(),
        refresh=common.refresh,
    )
    if target.region and "region" not in common.given:
        common.region = target.region
    common.url_target = target
    return target.api_id, stage or target.stage


# The bare options, for a command that resolves no @TARGET (prefer `target_options`).
api_id_option = click.option(
    "--api-id", "-a", "api_id", required=True, type=NON_EMPTY, metavar="ID|NAME",
    help="REST, HTTP or WebSocket API: its ID, or its name when unambiguous.",
)  # fmt: skip
stage_option = click.option(
    "--stage", "-t", metavar="STAGE", help="The stage (HTTP APIs: default $default)."
)


def _from_command_line(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE


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
    engine: EngineName = "auto"
    # Whether the start was asked for (command line, environment, config), not the default: a
    # lookup in the default window may look further back by itself.
    start_given: bool = True

    @property
    def tz(self) -> tzinfo | None:
        return UTC if self.utc else None

    def spec(
        self, match: MatchOptions | None = None, watch: WatchOptions | None = None
    ) -> ReadSpec:
        """What the command reads: the one place the options become a `ReadSpec`. `match`:
        its lines' filters; `watch`: how it follows."""
        spec = ReadSpec(
            self.start,
            self.end,
            self.filter_pattern,
            self.fail_after_s,
            self.sources,
            self.log_groups,
            match.grep if match is not None else (),
            match.exclude if match is not None else (),
            self.engine,
        )
        if watch is None:
            return spec
        return replace(
            spec, interval_s=watch.interval_s, max_lag_ms=watch.max_lag_ms, live=watch.live
        )


def window_options(func: F) -> F:
    return _gathered(
        func,
        "window",
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
                help="Give up (exit 3) once AWS has failed every read of a group this long; "
                "every other call (discovery, Insights, X-Ray) is retried this long too, then "
                "marked unknown. Default: 60s; in --watch mode reads never give up (they keep "
                "trying and say so).",
            ),
            click.option(
                "--engine",
                type=click.Choice(list(ENGINES)),
                default="auto",
                show_default=True,
                help="How a window is read: FilterLogEvents (filter: exact, free, 5 calls/s), "
                "Logs Insights (insights: server-side, fast over hours or days, $0.005/GB "
                "scanned), or auto: Insights for large windows, said on stderr with the reason.",
            ),
        ],
        _window,
    )


def _window(
    start: str,
    end: str | None,
    utc: bool,
    local: bool,
    sources: tuple[str, ...],
    log_groups: tuple[str, ...],
    filter_pattern: str | None,
    max_rps: float,
    fail_after: float | None,
    engine: EngineName,
) -> WindowOptions:
    if utc and local:
        raise click.UsageError("--utc and --local contradict each other: give one")
    ctx = click.get_current_context()
    defaults = load_defaults()
    if ctx.get_parameter_source("engine") is ParameterSource.DEFAULT:
        engine = defaults.get("engine", engine)
        if engine == "insights" and filter_pattern:
            engine = "auto"  # a default gives way to the pattern the command line asks for
    elif engine == "insights" and filter_pattern:
        raise click.UsageError(
            "--filter-pattern is applied by FilterLogEvents; Logs Insights cannot: "
            "use --grep with --engine insights"
        )
    if "max_rps" in defaults and ctx.get_parameter_source("max_rps") is ParameterSource.DEFAULT:
        max_rps = float(defaults["max_rps"])
    start_given = ctx.get_parameter_source("start") is not ParameterSource.DEFAULT
    return WindowOptions(
        start,
        end,
        utc,
        sources,
        log_groups,
        filter_pattern,
        max_rps,
        fail_after,
        engine,
        start_given=start_given,
    )


# --- following ------------------------------------------------------------------------------------


@dataclass
class WatchOptions:
    watch: bool
    interval_s: float
    max_lag_ms: int
    live: bool = False


def watch_options(func: F) -> F:
    """--watch and how to follow; --live needs --watch."""
    return _watch_options(func, follows_by_default=False)


def watch_options_following(func: F) -> F:
    """The same for a command that follows unless told not to (`tui`): --live alone is fine."""
    return _watch_options(func, follows_by_default=True)


def _watch_options(func: F, *, follows_by_default: bool) -> F:
    def watching(watch: bool, watch_interval: float, max_lag: float, live: bool) -> WatchOptions:
        if live and not watch and not follows_by_default:
            raise click.UsageError("--live follows new events: it needs --watch")
        return WatchOptions(watch, watch_interval, int(max_lag * 1000), live)

    return _gathered(
        func,
        "watch",
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
            click.option(
                "--live",
                is_flag=True,
                help="With --watch: follow through CloudWatch Logs Live Tail instead of polling "
                "(no read quota; falls back to polling, with a notice, where it is refused).",
            ),
        ],
        watching,
    )


# --- get's lines ----------------------------------------------------------------------------------


@dataclass
class MatchOptions:
    grep: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    highlight: tuple[re.Pattern[str], ...]


def match_options(func: F) -> F:
    return _gathered(
        func,
        "match",
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
        _match,
    )


def _match(
    grep: tuple[re.Pattern[str], ...],
    exclude: tuple[re.Pattern[str], ...],
    highlight: tuple[re.Pattern[str], ...],
    ignore_case: bool,
) -> MatchOptions:
    def fold(patterns: tuple[re.Pattern[str], ...]) -> tuple[re.Pattern[str], ...]:
        if not ignore_case:
            return patterns
        return tuple(re.compile(p.pattern, p.flags | re.IGNORECASE) for p in patterns)

    return MatchOptions(fold(grep), fold(exclude), fold(highlight))


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
    return apply_options(
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
    return apply_options(
        func,
        [
            click.option(
                "--status",
                "statuses",
                multiple=True,
                type=STATUS,
                metavar="CODE",
                help="5xx, 4xx, 502, 4xx,429, … (repeatable).",
            ),
            click.option(
                "--errors",
                is_flag=True,
                help="Only server errors (5xx): the requests the API failed. The same as "
                "--status 5xx; with --status, only its 5xx codes. Client errors: --status 4xx.",
            ),
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


# --- get: every line with its request's ID ------------------------------------------------------


@dataclass
class HoldOptions:
    """How long `get` may hold a line back until its request's API Gateway ID is known."""

    enabled: bool
    hold_ms: int


def hold_options(func: F) -> F:
    return _gathered(
        func,
        "hold",
        [
            click.option(
                "--hold-back",
                "hold_back",
                type=DurationParam(),
                default="30s",
                show_default=True,
                metavar="DURATION",
                help="Hold a Lambda line back at most this long until the execution or access "
                "log names its request, so every line carries its request's API Gateway ID "
                "(plain: a column, ~ before a probable one; json: request_id).",
            ),
            click.option(
                "--no-hold-back",
                is_flag=True,
                help="Print every line at once, without its request's ID unless the line names "
                "it (raw speed).",
            ),
        ],
        _hold,
    )


def _hold(hold_back: float, no_hold_back: bool) -> HoldOptions:
    return HoldOptions(not no_hold_back and hold_back > 0, int(hold_back * 1000))


traces_option = click.option(
    "--traces",
    is_flag=True,
    help="Also read each request's X-Ray trace (API Gateway, Lambda and function segments, "
    "downstream calls) and put it on the timeline.",
)


# --- the TUI --------------------------------------------------------------------------------------


@dataclass
class TuiCommandOptions:
    """`apilogs tui`'s own flags (the app's options are `apilogs.tui.TuiOptions`)."""

    no_watch: bool
    max_requests: int
    filter_text: str


def tui_options(func: F) -> F:
    """`apilogs tui`: a fixed window instead of following, the memory cap, a starting filter."""
    return _gathered(
        func,
        "tui",
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
        TuiCommandOptions,
    )
