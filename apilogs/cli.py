"""Every command and option, declared once; each command only wires options into the core and a
renderer. Nothing here fetches, parses or formats by itself."""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from apilogs import __version__
from apilogs.aws import AwsContext, describe_aws_error, make_context
from apilogs.errors import ApilogsError
from apilogs.render.sanitize import sanitize
from apilogs.render.style import Painter, color_enabled

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class CommonOptions:
    profile: str | None
    region: str | None
    endpoint_url: str | None
    color: str
    verbose: bool
    debug: bool

    def context(self, max_rps: float = 5.0) -> AwsContext:
        return make_context(
            profile=self.profile,
            region=self.region,
            endpoint_url=self.endpoint_url,
            max_rps=max_rps,
        )

    def painter(self, stream: Any = None) -> Painter:
        return Painter(color_enabled(self.color, stream or sys.stdout))


def common_options(func: F) -> F:
    """The options every AWS tool has; they work after any command."""
    options = [
        click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: AWS_PROFILE)."),
        click.option("--region", help="AWS region (default: AWS_REGION or the profile's)."),
        click.option(
            "--endpoint-url",
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
        click.option("-v", "--verbose", is_flag=True, help="Say more on stderr."),
        click.option("--debug", is_flag=True, help="Show tracebacks and botocore's debug log."),
    ]
    for option in reversed(options):
        func = option(func)

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        profile: str | None,
        region: str | None,
        endpoint_url: str | None,
        color: str,
        verbose: bool,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        common = CommonOptions(profile, region, endpoint_url, color, verbose, debug)
        if debug:
            logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
        elif verbose:
            logging.basicConfig(
                level=logging.INFO, stream=sys.stderr, format="apilogs: %(message)s"
            )
        return _run_reporting_errors(common, lambda: func(*args, common=common, **kwargs))

    return wrapper  # type: ignore[return-value]


def _run_reporting_errors(common: CommonOptions, action: Callable[[], Any]) -> Any:
    """Turn every failure into one line on stderr and an exit code; tracebacks only with --debug."""
    try:
        return action()
    except KeyboardInterrupt:
        if common.debug:
            raise
        _exit_quietly(130)
    except BrokenPipeError:
        # `apilogs get | head`: the reader left; nothing to say.
        _exit_quietly(0)
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except Exception as exc:
        if common.debug:
            raise
        error = describe_aws_error(exc)
        if error is None:
            error = ApilogsError(
                f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)"
            )
        _fail(error)


def _fail(error: ApilogsError) -> None:
    paint = Painter(color_enabled("auto", sys.stderr))
    message = sanitize(str(error).replace("\n", " "), keep_newlines=False)
    click.echo(f"{paint('apilogs: error:', '31', '1')} {message}", err=True)
    sys.exit(error.exit_code)


def _exit_quietly(code: int) -> None:
    # Point stdout at devnull so the interpreter's final flush cannot raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(code)


api_id_option = click.option(
    "--api-id",
    "-a",
    "api_id",
    required=True,
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


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="apilogs")
def cli() -> None:
    """What happened to this API request?

    apilogs finds every CloudWatch log group behind an API Gateway API and stage (execution log,
    access log, each Lambda integration and authorizer), reads them, merges them into one
    time-ordered stream and joins each request's lines across services.

    \b
    Examples:
      apilogs groups --api-id xyz123 --stage prod
      apilogs get --api-id xyz123 --stage prod --watch
      apilogs get --api-id xyz123 --stage prod --start '1h ago' | grep 6605b081
    """


@cli.command(context_settings=CONTEXT_SETTINGS)
@api_id_option
@stage_option
@output_option(
    ["plain", "json"],
    "plain: a table for people; json: one JSON document.",
)
@common_options
def groups(api_id: str, stage: str | None, output: str, common: CommonOptions) -> None:
    """Show which log groups hold an API's evidence, and what is missing.

    One row per source: role (execution, access, lambda, authorizer), log group, function and
    qualifier, the routes that use it, whether the group exists, its retention and size. Then
    every problem found (logging off, no access log, a group that does not exist) with the
    command that fixes it. Exits 0 when at least one log group exists, 1 otherwise.

    \b
    Examples:
      apilogs groups --api-id xyz123 --stage prod
      apilogs groups --api-id my-api-name --stage prod -o json | jq '.sources[].log_group'
    """
    from apilogs.discover import discover_topology
    from apilogs.render.topology import topology_json, topology_lines

    topology = discover_topology(common.context(), api_id, stage)
    if output == "json":
        click.echo(topology_json(topology))
    else:
        for line in topology_lines(topology, common.painter()):
            click.echo(line)
    if not any(s.exists for s in topology.sources):
        sys.exit(1)


def _regexes(patterns: tuple[str, ...], option: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ApilogsError(f"bad {option} regex {pattern!r}: {exc}", exit_code=2) from None
    return tuple(compiled)


def _warn(message: str) -> None:
    message = sanitize(message, keep_newlines=False)
    paint = Painter(color_enabled("auto", sys.stderr))
    click.echo(f"{paint('apilogs: warning:', '33', '1')} {message}", err=True)


@dataclass
class Window:
    """The options every reading command shares: when, which sources, how fast."""

    start: str
    end: str | None
    utc: bool
    sources: tuple[str, ...]
    log_groups: tuple[str, ...]
    filter_pattern: str | None
    max_rps: float

    def times(self) -> tuple[int, int | None]:
        from datetime import UTC

        from apilogs.times import TimeParseError, parse_time

        tz = UTC if self.utc else None
        try:
            start_ms = parse_time(self.start, tz=tz)
            end_ms = parse_time(self.end, tz=tz) if self.end else None
        except TimeParseError as exc:
            raise ApilogsError(str(exc), exit_code=2) from None
        if end_ms is not None and end_ms < start_ms:
            raise ApilogsError(f"--end ({self.end}) is before --start ({self.start})", exit_code=2)
        return start_ms, end_ms

    @property
    def tz(self) -> Any:
        from datetime import UTC

        return UTC if self.utc else None


def window_options(func: F) -> F:
    options = [
        click.option(
            "-s",
            "--start",
            default="5m",
            show_default=True,
            metavar="TIME",
            help="Window start: 5m, 1h ago, 2 days ago, yesterday, ISO 8601, epoch s/ms.",
        ),
        click.option(
            "-e", "--end", metavar="TIME", help="Window end (default: now). Same forms as --start."
        ),
        click.option(
            "--utc/--local",
            default=False,
            help="Read and print times in UTC, or in local time with its offset (default).",
        ),
        click.option(
            "--source",
            "sources",
            multiple=True,
            metavar="SOURCE",
            help="Read only: execution, access, lambda, authorizer or a function name (repeatable).",
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
            help="CloudWatch Logs reads per second, shared by all groups (the account quota is "
            "5; 0 = unlimited, for local endpoints).",
        ),
    ]
    for option in reversed(options):
        func = option(func)

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        start: str,
        end: str | None,
        utc: bool,
        sources: tuple[str, ...],
        log_groups: tuple[str, ...],
        filter_pattern: str | None,
        max_rps: float,
        **kwargs: Any,
    ) -> Any:
        window = Window(start, end, utc, sources, log_groups, filter_pattern, max_rps)
        return func(*args, window=window, **kwargs)

    return wrapper  # type: ignore[return-value]


watch_options = [
    click.option("-w", "--watch", is_flag=True, help="Keep following new events (Ctrl-C to stop)."),
    click.option(
        "--watch-interval",
        type=click.FloatRange(0.1, 300),
        default=1.0,
        show_default=True,
        metavar="SECONDS",
        help="Seconds between polls of each group in --watch mode.",
    ),
]


def with_watch(func: F) -> F:
    for option in reversed(watch_options):
        func = option(func)
    return func


@dataclass
class Opened:
    """A command's AWS context, topology and sources, ready to read."""

    ctx: AwsContext
    topology: Any
    sources: Any
    start_ms: int
    end_ms: int | None


def _open(common: CommonOptions, window: Window, api_id: str, stage: str | None) -> Opened:
    from apilogs.discover import discover_topology
    from apilogs.model import Severity
    from apilogs.stream import select_sources

    start_ms, end_ms = window.times()
    ctx = common.context(max_rps=window.max_rps)
    topology = discover_topology(ctx, api_id, stage)
    selection = select_sources(topology, window.sources, window.log_groups)
    for finding in topology.findings:
        if finding.severity is not Severity.INFO or common.verbose:
            _warn(finding.message)
    for notice in selection.notices:
        _warn(notice)
    return Opened(ctx, topology, selection.sources, start_ms, end_ms)


def _prepare_stdout() -> Any:
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        # A terminal that cannot show a character gets an escape, never a crash.
        out.reconfigure(errors="backslashreplace")
    return out


def _report_fetch(stats: Any, shown: int, what: str = "events") -> None:
    for notice in stats.notices:
        _warn(notice)
    if stats.throttles:
        _warn(
            f"CloudWatch Logs throttled {stats.throttles} reads; apilogs slowed down and read "
            "every event"
        )
    if shown == 0:
        _warn(f"no {what} in this window (widen it with --start, e.g. --start 1h)")


@cli.command(context_settings=CONTEXT_SETTINGS)
@api_id_option
@stage_option
@window_options
@with_watch
@click.option(
    "-r",
    "--request-id",
    "request_ids",
    multiple=True,
    metavar="ID",
    help="Only this request's lines, from every group: its API Gateway, Lambda, X-Ray or "
    "extended request ID (repeatable).",
)
@click.option(
    "-g", "--grep", multiple=True, metavar="REGEX", help="Keep only matching lines (repeatable)."
)
@click.option(
    "-x", "--exclude", multiple=True, metavar="REGEX", help="Drop matching lines (repeatable)."
)
@click.option(
    "-H", "--highlight", multiple=True, metavar="REGEX", help="Highlight matches (repeatable)."
)
@output_option(
    ["plain", "short", "json"],
    "plain: label, group, stream, message; short: time, label, message; json: one object "
    "per line (schema in README).",
)
@click.option("-G", "--no-group", is_flag=True, help="Do not print the log group.")
@click.option("-S", "--no-stream", is_flag=True, help="Do not print the log stream.")
@click.option("--timestamp", is_flag=True, help="Print each event's timestamp.")
@click.option("--ingestion-time", is_flag=True, help="Print each event's ingestion time.")
@click.option("--expand", is_flag=True, help="Pretty-print JSON messages.")
@common_options
def get(
    api_id: str,
    stage: str | None,
    window: Window,
    watch: bool,
    watch_interval: float,
    request_ids: tuple[str, ...],
    grep: tuple[str, ...],
    exclude: tuple[str, ...],
    highlight: tuple[str, ...],
    output: str,
    no_group: bool,
    no_stream: bool,
    timestamp: bool,
    ingestion_time: bool,
    expand: bool,
    common: CommonOptions,
) -> None:
    """Print every line the API and its Lambdas logged, merged in time order.

    Reads the execution log, the access log and every integration and authorizer Lambda's log
    group concurrently, and prints each event exactly once, in time order. With --watch it
    keeps polling; events that arrive late are still printed, marked (late). With --request-id
    it prints one request's lines from every group, its Lambda's print lines included.

    \b
    Examples:
      apilogs get --api-id xyz123 --stage prod --watch
      apilogs get --api-id xyz123 --stage prod --start '1h ago' | grep 6605b081
      apilogs get -a xyz123 -t prod -s 1h -r 6605b081-6f04-11e6-97ac-c34deb0b3dd9
      apilogs get -a xyz123 -t prod -s 2024-05-01T10:00Z -e 2024-05-01T10:05Z -o json
      apilogs get -a xyz123 -t prod --source authorizer -g 'deny|Unauthorized' -o short
    """
    from apilogs.fetch import FetchStats
    from apilogs.render.events import EventFormatter, RenderOptions
    from apilogs.render.progress import Progress
    from apilogs.stream import EventQuery, keep, read_events

    if watch and window.end:
        raise ApilogsError("--watch follows new events: it cannot be used with --end", exit_code=2)
    if watch and request_ids:
        raise ApilogsError("--request-id finds a past request: drop --watch", exit_code=2)
    query_grep = _regexes(grep, "--grep")
    query_exclude = _regexes(exclude, "--exclude")
    options = RenderOptions(
        output=output,
        show_group=not no_group,
        show_stream=not no_stream,
        show_timestamp=timestamp,
        show_ingestion_time=ingestion_time,
        tz=window.tz,
        expand_json=expand,
        highlights=_regexes(highlight, "--highlight"),
    )
    opened = _open(common, window, api_id, stage)
    query = EventQuery(
        start_ms=opened.start_ms,
        end_ms=opened.end_ms,
        filter_pattern=window.filter_pattern,
        grep=query_grep,
        exclude=query_exclude,
    )
    paint = common.painter()
    fmt = EventFormatter(options, paint, opened.sources).format
    # Plain lines without colour print the message only: the parsers would be wasted work.
    needs_parse = output == "json" or paint.enabled
    out = _prepare_stdout()
    stats = FetchStats()
    shown = 0
    progress = Progress(stats, enabled=sys.stderr.isatty() and not out.isatty() and not watch)
    if request_ids:
        from apilogs.lookup import find_requests

        with progress:
            requests = find_requests(
                opened.ctx, opened.sources, request_ids, opened.start_ms, opened.end_ms, stats
            )
        lines = sorted(
            {id(e): e for r in requests for e in r.events}.values(),
            key=lambda e: (e.raw.timestamp, e.raw.group, e.raw.stream, e.raw.event_id),
        )
        for event in lines:
            if keep(event, query):
                out.write(fmt(event, False) + "\n")
                shown += 1
        out.flush()
        _report_fetch(stats, 1)
        if not requests:
            raise ApilogsError(
                f"no request with ID {', '.join(request_ids)} in this window "
                "(widen it with --start, e.g. --start 1h)",
                exit_code=1,
            )
        return
    if watch:
        shown = _follow_and_print(opened.ctx, opened.sources, query, stats, fmt, watch_interval)
    else:
        with progress:
            events = read_events(opened.ctx, opened.sources, query, stats, parse=needs_parse)
            shown = _write_batched(out, (fmt(e, False) for e in events))
    _report_fetch(stats, shown or stats.events)


def _write_batched(out: Any, lines: Iterable[str], batch: int = 512, delay_s: float = 0.1) -> int:
    """Write lines in chunks: one write call per line costs more than formatting it. A chunk
    goes out when full or when its first line has waited `delay_s`. A person at a terminal gets
    every line at once: the stream may stall on the network with lines still pending."""
    if out.isatty():
        batch = 1
    pending: list[str] = []
    first_at = 0.0
    count = 0
    clock = time.monotonic
    for line in lines:
        if not pending:
            first_at = clock()
        pending.append(line)
        count += 1
        if len(pending) >= batch or clock() - first_at >= delay_s:
            pending.append("")
            out.write("\n".join(pending))
            out.flush()
            pending = []
    if pending:
        pending.append("")
        out.write("\n".join(pending))
    out.flush()
    return count


def _follow_and_print(
    ctx: AwsContext,
    sources: Any,
    query: Any,
    stats: Any,
    fmt: Callable[[Any, bool], str],
    interval_s: float,
) -> int:
    from apilogs.stream import follow_events

    out = sys.stdout
    shown = 0
    for batch in follow_events(ctx, sources, query, stats, interval_s=interval_s):
        if batch:
            out.write("".join(fmt(event, late) + "\n" for event, late in batch))
            out.flush()
            shown += len(batch)
    return shown


@cli.command(context_settings=CONTEXT_SETTINGS)
@api_id_option
@stage_option
@window_options
@with_watch
@click.option(
    "--status", "statuses", multiple=True, metavar="CODE", help="5xx, 4xx, 502, … (repeatable)."
)
@click.option("--errors", is_flag=True, help="Only requests that failed (any cause).")
@click.option("--slow", metavar="DURATION", help="Only requests slower than this, e.g. 500ms, 2s.")
@click.option(
    "--path", "path_glob", metavar="GLOB", help="Only paths/routes matching, e.g. '/users/*'."
)
@click.option("--cold", is_flag=True, help="Only requests served by a cold start.")
@output_option(
    ["plain", "json"],
    "plain: one aligned row per request; json: one object per request.",
)
@common_options
def requests(
    api_id: str,
    stage: str | None,
    window: Window,
    watch: bool,
    watch_interval: float,
    statuses: tuple[str, ...],
    errors: bool,
    slow: str | None,
    path_glob: str | None,
    cold: bool,
    output: str,
    common: CommonOptions,
) -> None:
    """One row per request: time, method, path, status, latency, Lambda duration, memory, cause.

    Every line of every group is joined by request: the row says how the request ended and why
    (Lambda timeout, out of memory, unhandled exception, authorizer deny, throttling, …).
    A * after the Lambda duration marks a cold start.

    \b
    Examples:
      apilogs requests -a xyz123 -t prod -s 1h --errors
      apilogs requests -a xyz123 -t prod --status 5xx --watch
      apilogs requests -a xyz123 -t prod --slow 500ms --path '/users/*' -o json
    """
    import json
    import time

    from apilogs.correlate import Correlator, correlate
    from apilogs.fetch import FetchStats
    from apilogs.render.events import _Clock
    from apilogs.render.progress import Progress
    from apilogs.render.requests import RequestRows, request_to_dict
    from apilogs.stream import EventQuery, RequestFilter, follow_events, read_events
    from apilogs.times import TimeParseError, parse_duration

    if watch and window.end:
        raise ApilogsError("--watch follows new events: it cannot be used with --end", exit_code=2)
    slow_ms = None
    if slow:
        try:
            slow_ms = parse_duration(slow) * 1000
        except TimeParseError as exc:
            raise ApilogsError(str(exc), exit_code=2) from None
    wanted = RequestFilter(
        statuses=RequestFilter.status_ranges(statuses),
        errors_only=errors,
        cold_only=cold,
        slower_than_ms=slow_ms,
        path_glob=path_glob,
    )

    opened = _open(common, window, api_id, stage)
    query = EventQuery(opened.start_ms, opened.end_ms, window.filter_pattern)
    out = _prepare_stdout()
    rows = RequestRows(common.painter(), _Clock(window.tz))
    stats = FetchStats()
    correlator = Correlator()
    shown = 0

    def emit(done: list[Any]) -> None:
        nonlocal shown
        for request in done:
            if wanted(request):
                if output == "json":
                    out.write(json.dumps(request_to_dict(request)) + "\n")
                else:
                    out.write(rows.row(request) + "\n")
                shown += 1

    if output == "plain":
        out.write(rows.header() + "\n")
    if watch:
        for batch in follow_events(
            opened.ctx, opened.sources, query, stats, interval_s=watch_interval
        ):
            for event, _late in batch:
                emit(correlator.add(event))
            # Requests whose last line is a while behind the wall clock are done.
            emit(correlator.advance(int(time.time() * 1000) - 3_000))
            out.flush()
    else:
        progress = Progress(stats, enabled=sys.stderr.isatty() and not out.isatty())
        with progress:
            for request in correlate(read_events(opened.ctx, opened.sources, query, stats)):
                emit([request])
        out.flush()
    _report_fetch(stats, shown or stats.events, "requests")


@cli.command(context_settings=CONTEXT_SETTINGS)
@api_id_option
@stage_option
@window_options
@output_option(
    ["plain", "json"],
    "plain: a summary for people; json: one JSON document.",
)
@common_options
def stats(
    api_id: str, stage: str | None, window: Window, output: str, common: CommonOptions
) -> None:
    """Sum up the window: requests by status, latency percentiles, Lambda durations per function,
    cold starts, errors by cause with an example request ID each, the slowest routes.

    \b
    Examples:
      apilogs stats -a xyz123 -t prod -s 1h
      apilogs stats -a xyz123 -t prod -s yesterday -e today -o json
    """
    import json

    from apilogs.correlate import correlate
    from apilogs.fetch import FetchStats
    from apilogs.render.progress import Progress
    from apilogs.render.requests import WindowStats
    from apilogs.stream import EventQuery, read_events

    opened = _open(common, window, api_id, stage)
    query = EventQuery(opened.start_ms, opened.end_ms, window.filter_pattern)
    out = _prepare_stdout()
    fetch_stats = FetchStats()
    summary = WindowStats()
    with Progress(fetch_stats, enabled=sys.stderr.isatty()):
        for request in correlate(read_events(opened.ctx, opened.sources, query, fetch_stats)):
            if request.seen_by_api_gateway:
                summary.add(request)
    if output == "json":
        out.write(json.dumps(summary.to_dict(), indent=2) + "\n")
    else:
        for line in summary.lines(common.painter()):
            out.write(line + "\n")
    out.flush()
    _report_fetch(fetch_stats, summary.requests or fetch_stats.events, "requests")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("request_id", metavar="REQUEST_ID")
@api_id_option
@stage_option
@window_options
@output_option(
    ["plain", "json"],
    "plain: the story; json: the request with every line.",
)
@common_options
def show(
    request_id: str,
    api_id: str,
    stage: str | None,
    window: Window,
    output: str,
    common: CommonOptions,
) -> None:
    """Tell one request's story: route, status, latency and cause; a timeline of its phases
    (authorizer, integration, Lambda); then every line it left, from every group.

    REQUEST_ID may be the API Gateway, Lambda, X-Ray or extended request ID.

    \b
    Examples:
      apilogs show 6605b081-6f04-11e6-97ac-c34deb0b3dd9 -a xyz123 -t prod -s 1h
    """
    import json

    from apilogs.fetch import FetchStats
    from apilogs.lookup import find_requests
    from apilogs.render.events import EventFormatter, RenderOptions, event_to_dict
    from apilogs.render.progress import Progress
    from apilogs.render.requests import request_to_dict, story_lines

    opened = _open(common, window, api_id, stage)
    out = _prepare_stdout()
    fetch_stats = FetchStats()
    with Progress(fetch_stats, enabled=sys.stderr.isatty()):
        found = find_requests(
            opened.ctx, opened.sources, [request_id], opened.start_ms, opened.end_ms, fetch_stats
        )
    _report_fetch(fetch_stats, 1)
    if not found:
        raise ApilogsError(
            f"no request with ID {request_id} in this window (widen it with --start, e.g. --start 1h)",
            exit_code=1,
        )
    paint = common.painter()
    formatter = EventFormatter(RenderOptions(output="short", tz=window.tz), paint, opened.sources)
    for index, request in enumerate(found):
        if output == "json":
            doc = request_to_dict(request)
            doc["events"] = [event_to_dict(e) for e in request.events]
            out.write(json.dumps(doc) + "\n")
            continue
        if index:
            out.write("\n")
        for line in story_lines(request, formatter, paint):
            out.write(line + "\n")
    out.flush()


@cli.group(context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.option(
    "--rps",
    type=click.FloatRange(0.1, 500),
    default=3.0,
    show_default=True,
    help="Requests per second of generated traffic.",
)
@click.option("--seed", type=int, help="Make the traffic reproducible.")
@click.option(
    "--backfill",
    metavar="DURATION",
    help="First write this much past traffic, e.g. 1h, so requests and stats have data.",
)
@click.option("--plain", is_flag=True, help="Line output (the default until the TUI lands).")
@output_option(["plain", "short", "json"], "How to print the followed lines.", default="short")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour output (NO_COLOR and FORCE_COLOR are honoured).",
)
@click.pass_context
def demo(
    ctx: click.Context,
    rps: float,
    seed: int | None,
    backfill: str | None,
    plain: bool,
    output: str,
    color: str,
) -> None:
    """Try apilogs without AWS: an embedded serverless API with live, realistic traffic.

    Starts moto's AWS emulator in this process on 127.0.0.1, deploys the sample API
    "Eratosthenes" (REST API erat0s7hen, stage prod: execution and access logs, a Lambda
    authorizer, five functions, one in the JSON log format, two sharing a log group) and an HTTP
    API beside it, writes live traffic with the failures people chase (Lambda timeouts, out of
    memory, unhandled exceptions, authorizer denies, throttling), and follows it like
    `apilogs get --watch`. Ctrl-C stops everything.

    \b
    Examples:
      apilogs demo
      apilogs demo --rps 10 --seed 42 -o plain
      apilogs demo serve --backfill 1h      # then query it from another terminal
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"rps": rps, "seed": seed, "backfill": backfill}
        return
    common = CommonOptions(None, None, None, color, False, False)
    _run_reporting_errors(common, lambda: _run_demo(rps, seed, backfill, output, common))


def _backfill_ms(backfill: str | None) -> int:
    if not backfill:
        return 0
    from apilogs.times import TimeParseError, parse_duration

    try:
        return int(parse_duration(backfill) * 1000)
    except TimeParseError as exc:
        raise ApilogsError(str(exc), exit_code=2) from None


def _run_demo(
    rps: float, seed: int | None, backfill: str | None, output: str, common: CommonOptions
) -> None:
    import time

    from apilogs.demo.backend import start_demo
    from apilogs.discover import discover_topology
    from apilogs.fetch import FetchStats
    from apilogs.render.events import EventFormatter, RenderOptions
    from apilogs.stream import EventQuery, select_sources

    backfill_ms = _backfill_ms(backfill)
    paint = Painter(color_enabled(common.color, sys.stderr))
    click.echo(
        paint("apilogs demo: starting the embedded AWS emulator and the sample API…", "2"), err=True
    )
    with start_demo(rps=rps, seed=seed, backfill_ms=backfill_ms) as running:
        app = running.app
        click.echo(
            paint(
                f"apilogs demo: {running.url} · REST API {app.rest_api_id} (stage {app.rest_stage}) · "
                f"HTTP API {app.http_api_id} · {rps:g} requests/s · Ctrl-C to stop",
                "2",
            ),
            err=True,
        )
        aws = running.context()
        topology = discover_topology(aws, app.rest_api_id, app.rest_stage)
        selection = select_sources(topology)
        since = int(time.time() * 1000) - 10_000
        query = EventQuery(start_ms=since)
        fmt = EventFormatter(
            RenderOptions(output=output, show_group=False), common.painter(), selection.sources
        ).format
        _prepare_stdout()
        _follow_and_print(aws, selection.sources, query, FetchStats(), fmt, 0.5)


@demo.command("serve", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one)."
)
@click.pass_context
def demo_serve(ctx: click.Context, port: int) -> None:
    """Run only the demo backend and print how to query it from another terminal."""
    import threading

    from apilogs.demo.backend import start_demo

    options = ctx.obj or {}
    common = CommonOptions(None, None, None, "auto", False, False)

    def serve() -> None:
        backfill_ms = _backfill_ms(options.get("backfill"))
        with start_demo(
            rps=options.get("rps", 3.0),
            seed=options.get("seed"),
            backfill_ms=backfill_ms,
            port=port,
        ) as running:
            app = running.app
            env = "AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1"
            base = (
                f"--endpoint-url {running.url} --api-id {app.rest_api_id} --stage {app.rest_stage}"
            )
            click.echo(f"endpoint     {running.url}")
            click.echo(
                f"REST API     {app.rest_api_id} ({app.rest_api_name}), stage {app.rest_stage}"
            )
            click.echo(
                f"HTTP API     {app.http_api_id} ({app.http_api_name}), stage {app.http_stage}"
            )
            if running.backfilled_events:
                click.echo(f"backfilled   {running.backfilled_events:,} events")
            click.echo("")
            click.echo("Try, in another terminal:")
            click.echo(f"  export {env}")
            for command in (
                f"apilogs groups {base}",
                f"apilogs get {base} --watch",
                f"apilogs requests {base} -s 1h --errors",
                f"apilogs stats {base} -s 1h",
            ):
                click.echo(f"  {command}")
            click.echo("")
            click.echo("Ctrl-C stops the backend.")
            sys.stdout.flush()
            threading.Event().wait()

    _run_reporting_errors(common, serve)


def main() -> None:
    """Entry point: usage errors are one line too, not click's three."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = cli.main(prog_name="apilogs", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        # `apilogs` alone: the help, as a newcomer expects, not an error.
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click.UsageError as exc:
        _usage_error(exc)
    except click.exceptions.Abort:
        _exit_quietly(130)
    except click.ClickException as exc:
        _fail(ApilogsError(exc.format_message(), exit_code=exc.exit_code))
    except BrokenPipeError:
        _exit_quietly(0)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: click.UsageError) -> None:
    command = exc.ctx.command_path if exc.ctx else "apilogs"
    _fail(ApilogsError(f"{exc.format_message()} (see '{command} --help')", exit_code=2))
