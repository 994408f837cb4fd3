"""The reading commands: groups, get, requests, stats, show. Each wires its options into the
core's API (`apilogs.api`) and a renderer; nothing here fetches, joins or sums by itself."""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from apilogs.api import Api, MatchingUpdates, lines_of
from apilogs.cli.app import (
    Reporter,
    cli,
    open_for,
    open_target,
    reads_execution,
    run_reporting_errors,
    terminal,
)
from apilogs.cli.options import (
    CONTEXT_SETTINGS,
    CommonOptions,
    HoldOptions,
    MatchOptions,
    WatchOptions,
    WindowOptions,
    common_options,
    hold_options,
    line_options,
    match_options,
    no_watch_with_end,
    output_option,
    request_filter_options,
    request_id_option,
    target_options,
    target_options_no_argument,
    traces_option,
    watch_options,
    window_options,
)
from apilogs.cli.outfile import check_output_file, write_output_file
from apilogs.cli.pager import show_lines
from apilogs.diagnosis.story import NO_TRACE_FOUND, NO_TRACE_ID, untraced_note
from apilogs.diagnosis.summary import WindowStats
from apilogs.errors import AmbiguousRequestId, IncompleteRead, InvalidInput, RequestNotFound
from apilogs.fetch.xray import TraceReport
from apilogs.join.label import LabeledEvent
from apilogs.join.streams import init_phases
from apilogs.looking_back import lookup_looking_back
from apilogs.lookup import Lookup, check_term
from apilogs.model import ApiKind, Request, Source, Trace, UpdateKind
from apilogs.render.env import Terminal
from apilogs.render.events import Clock, EventFormatter, RenderOptions
from apilogs.render.export import ExportFormat
from apilogs.render.progress import Progress
from apilogs.render.requests import (
    RequestRows,
    request_to_dict,
    stats_lines,
    story_lines,
    trace_call_lines,
)
from apilogs.render.style import Painter
from apilogs.spec import ReadSpec
from apilogs.stream import RequestFilter

if TYPE_CHECKING:
    from apilogs.fetch.insights import InsightsSummary
    from apilogs.fetch.stats import FetchStats

F = TypeVar("F", bound=Callable[..., Any])


def command(func: F) -> F:
    """A command of `apilogs`: the common options, and every failure as one line."""

    @functools.wraps(func)
    def wrapper(*args: Any, common: CommonOptions, **kwargs: Any) -> Any:
        return run_reporting_errors(common, lambda: func(*args, common=common, **kwargs))

    decorated = cli.command(context_settings=CONTEXT_SETTINGS)(common_options(wrapper))
    return decorated  # type: ignore[return-value]


def spans_days(window: WindowOptions) -> bool:
    """Whether the window covers more than a day: its times then need their date."""
    from apilogs.times import resolve_window

    start_ms, end_ms = resolve_window(window.start, window.end, tz=window.tz)
    return (end_ms if end_ms is not None else int(time.time() * 1000)) - start_ms > 86_400_000


def open_reading(
    common: CommonOptions,
    window: WindowOptions,
    spec: ReadSpec,
    api_id: str,
    stage: str | None,
    *,
    window_read: bool = False,
    by_path: bool = False,
) -> tuple[Reporter, Api]:
    """A reading command's start: its reporter on this terminal, and the API (`open_target`).
    `by_path`: the command keeps to the requests under a URL's path."""
    reporter = Reporter(terminal(common))
    api = open_target(
        common, window, spec, api_id, stage, reporter, window_read=window_read, by_path=by_path
    )
    return reporter, api


def url_filter(common: CommonOptions) -> RequestFilter | None:
    """The requests under the path of the URL given in place of the API, if it has one."""
    url = common.url_target
    return RequestFilter(path_under=url.under) if url is not None and url.narrows else None


def progress_line(reporter: Reporter, *, beside_output: bool = True) -> Progress:
    """The read's progress on stderr (`Reporter.progress`)."""
    return reporter.progress(beside_output=beside_output)


# --- groups -------------------------------------------------------------------------------------


@command
@target_options
@output_option(["plain", "json"], "plain: a table for people; json: one JSON document.")
def groups(api_id: str, stage: str | None, output: str, common: CommonOptions) -> None:
    """Show which log groups hold an API's evidence, and what is missing.

    One row per source: role (execution, access, lambda, authorizer), log group, function and
    qualifier, the routes that use it, whether the group exists, its retention and size. Then
    every problem found (logging off, no access log, a group that does not exist) with the
    command that fixes it. Exits 0 when at least one log group exists or may (unknown), 1 otherwise.

    \b
    Examples:
      apilogs groups --api-id xyz123 --stage prod
      apilogs groups --api-id my-api-name --stage prod -o json | jq '.sources[].log_group'
    """
    from apilogs.render.sanitize import sanitize
    from apilogs.render.topology import topology_json, topology_lines, topology_to_dict

    term = terminal(common)
    reporter = Reporter(term)
    api = open_for(common, api_id, stage, reporter.trouble)
    url = common.url_target
    if output == "json" and url is not None:
        doc = topology_to_dict(api.topology)
        doc["url"] = {"url": url.url, "api_id": url.api_id, "stage": url.stage}
        doc["url"] |= {"region": url.region, "path": url.path, "how": url.how}
        term.out.write(json.dumps(doc) + "\n")
    elif output == "json":
        term.out.write(topology_json(api.topology) + "\n")
    else:
        if url is not None:
            # How the URL was read, above the table that it led to.
            said = sanitize(f"URL  {url.url}\n     {url.how}", keep_newlines=True)
            term.out.write(said + "\n")
            if url.narrows:
                term.out.write(f"     requests under {url.path}\n")
            term.out.write("\n")
        for line in topology_lines(api.topology, Painter(term.color), term.width):
            term.out.write(line + "\n")
    term.out.flush()
    # Unknown (not allowed to look, or AWS would not say) is worth reading: not "nothing".
    if not api.topology.readable_sources:
        raise SystemExit(1)


# --- get ----------------------------------------------------------------------------------------


@command
@target_options
@window_options
@watch_options
@request_id_option
@match_options
@output_option(
    ["plain", "short", "json"],
    "plain: on a terminal time, source, the request ID's first 8 characters, message; piped "
    "label, request ID, group, stream, message; short: time, label, request ID, message; "
    "json: one object per line (schema in README).",
)
@line_options
@hold_options
def get(
    api_id: str,
    stage: str | None,
    window: WindowOptions,
    watch: WatchOptions,
    request_ids: tuple[str, ...],
    match: MatchOptions,
    output: str,
    no_group: bool,
    no_stream: bool,
    timestamp: bool,
    ingestion_time: bool,
    expand: bool,
    hold: HoldOptions,
    common: CommonOptions,
) -> None:
    """Print every line the API and its Lambdas logged, merged in time order.

    Reads the execution log, the access log and every integration and authorizer Lambda's log
    group concurrently, and prints each event exactly once, in time order. With --watch it
    keeps polling; events that arrive late are still printed, marked (late). With --request-id
    it prints one request's lines from every group, its Lambda's print lines included.

    Every line carries its request's API Gateway request ID (plain and short: a column after
    the source, ~ before an ID joined by timing; json: request_id), so grep for that ID finds
    the whole request. A Lambda's lines are held back until the execution or access log names
    their request (--hold-back, at most 30 s; --no-hold-back prints at once). With --watch,
    a held line holds back the lines after it for half a second at most; then the known ones
    print ahead of it, and it is marked (late) when it prints. A function still running prints
    its lines half a second after they are read, with ~ and the ID of the one request that can
    have called it.

    \b
    Examples:
      apilogs get --api-id xyz123 --stage prod --watch
      apilogs get --api-id xyz123 --stage prod --start '1h ago' | grep 6605b081
      apilogs get -a xyz123 -t prod -s 1h -r 6605b081-6f04-11e6-97ac-c34deb0b3dd9
      apilogs get -a xyz123 -t prod -s 2024-05-01T10:00Z -e 2024-05-01T10:05Z -o json
      apilogs get -a xyz123 -t prod --source authorizer -g 'deny|Unauthorized' -o short
    """
    no_watch_with_end(window, watch)
    if watch.watch and request_ids:
        raise InvalidInput("--request-id finds a past request: drop --watch")
    for asked in request_ids:
        check_term(asked)  # text that cannot be an ID fails before discovery, not after
    spec = window.spec(match, watch)
    read_now = not watch.watch and not request_ids
    # A labelled read reads every group, whatever --source shows.
    read_now = read_now and (hold.enabled or reads_execution(window.sources))
    reporter, api = open_reading(common, window, spec, api_id, stage, window_read=read_now)
    term = reporter.term
    options = RenderOptions(
        output=output,
        show_group=not no_group,
        show_stream=not no_stream,
        show_timestamp=timestamp,
        show_ingestion_time=ingestion_time,
        tz=window.tz,
        expand_json=expand,
        highlights=match.highlight,
        dated=spans_days(window),
        late_slot=watch.watch,
        request_ids=hold.enabled or bool(request_ids),
        request_id_width=36 if api.topology.kind is ApiKind.REST else 20,
        # A person at a terminal reads the compact line; a pipe gets the whole line, which
        # scripts parse and `| grep <ID>` searches.
        compact=output == "plain" and term.out_tty,
    )
    sources = api.select(window.sources, window.log_groups).sources
    paint = Painter(term.color)
    formatter = EventFormatter(options, paint, sources)
    fmt = formatter.format
    if request_ids:
        _get_requests(
            api,
            spec,
            request_ids,
            formatter.format_labeled,
            reporter,
            look_back=not window.start_given,
        )
        return
    if watch.watch:
        shown = _follow_lines(api, spec, hold, formatter, reporter)
        reporter.finish(shown, filter_pattern=window.filter_pattern)
        return
    lines: Iterator[str]
    if hold.enabled:
        labeled = api.labeled_events(spec, hold_ms=hold.hold_ms, stats=reporter.stats)
        lines = map(formatter.format_labeled, labeled)
    else:
        # Plain lines without colour print the message only: the parsers would be wasted work.
        parse = output == "json" or paint.enabled
        events = api.events(spec, parse=parse, stats=reporter.stats)
        lines = (fmt(e, False) for e in events)
    reporter.notices()
    try:
        with progress_line(reporter):
            shown = write_batched(term, lines, stats=reporter.stats)
    except BaseException:
        reporter.notices()  # what led to the failure; the failure itself is the last line
        raise
    reporter.finish(shown, filter_pattern=window.filter_pattern, exit_if_none=True)


def find_reporting(
    api: Api,
    spec: ReadSpec,
    request_ids: tuple[str, ...],
    reporter: Reporter,
    *,
    look_back: bool = False,
) -> list[Request]:
    """Look the IDs up; say on stderr which prefix stood for which ID and which IDs were not
    found. An ambiguous prefix is an error listing the candidates; nothing found at all, too.
    `look_back`: the window is the default one, and may be widened (`Api.lookup_looking_back`),
    each step said, and where the request was found and what that read."""
    first_spec = spec

    def widening(last: str, wider: str) -> None:
        reporter.warn_info(f"not in the last {last}: looking back {wider}")

    try:
        with progress_line(reporter):
            if look_back:
                found, spec = lookup_looking_back(
                    api, request_ids, spec, on_widen=widening, stats=reporter.stats
                )
            else:
                found = api.lookup(request_ids, spec, stats=reporter.stats)
    except IncompleteRead as exc:
        if not isinstance(exc.partial, Lookup) or not exc.partial.requests:
            raise
        # A group given up on: what the others hold is shown, then the error names the group.
        reporter.defer(exc)
        found = exc.partial
    if found.ambiguous:
        raise AmbiguousRequestId(*found.ambiguous[0])
    if not found.requests:
        start_ms, end_ms = api.window(spec.start, spec.end)
        raise RequestNotFound(found.not_found or request_ids, start_ms, end_ms)
    if spec is not first_spec:
        stats = reporter.stats
        reporter.warn_info(
            f"found looking back {spec.start} ({stats.pages:,} pages, {stats.events:,} events "
            f"read); next time: --start {spec.start}"
        )
    for prefix, full in found.resolved:
        reporter.warn_info(f"{prefix} is {full}")
    for missing in found.not_found:
        reporter.warn(f"no request with ID {missing} in this window")
    return list(found.requests)


def _get_requests(
    api: Api,
    spec: ReadSpec,
    request_ids: tuple[str, ...],
    fmt: Callable[[LabeledEvent], str],
    reporter: Reporter,
    *,
    look_back: bool = False,
) -> None:
    term = reporter.term
    found = find_reporting(api, spec, request_ids, reporter, look_back=look_back)
    owners: dict[int, tuple[str | None, bool]] = {}
    phases: dict[int, str] = {}
    for request in found:
        guessed = {id(e) for e in request.probable_events}
        for event in request.events:
            owners.setdefault(id(event), (request.request_id, id(event) in guessed))
        phases |= init_phases(request.events)
    shown = 0
    for event in lines_of(found):
        if not spec.keeps(event):
            continue
        owner, probable = owners.get(id(event), (None, False))
        labeled = LabeledEvent(event, owner, probable, phase=phases.get(id(event)))
        term.out.write(fmt(labeled) + "\n")
        shown += 1
    term.out.flush()
    reporter.raise_deferred()
    reporter.finish(max(shown, 1))


def _follow_lines(
    api: Api,
    spec: ReadSpec,
    hold: HoldOptions,
    formatter: EventFormatter,
    reporter: Reporter,
) -> int:
    out = reporter.term.out
    shown = 0
    try:
        for batch in api.follow(
            spec, correlate=False, label=hold.enabled, hold_ms=hold.hold_ms, stats=reporter.stats
        ):
            if batch.events:
                if hold.enabled:
                    labeled = formatter.format_labeled
                    out.write(
                        "".join(
                            labeled(
                                LabeledEvent(f.event, f.request_id, f.probable, f.late, f.phase)
                            )
                            + "\n"
                            for f in batch.events
                        )
                    )
                else:
                    fmt = formatter.format
                    out.write("".join(fmt(f.event, f.late) + "\n" for f in batch.events))
                out.flush()
                shown += len(batch.events)
            reporter.notices()
    except BaseException:
        reporter.notices()
        raise
    return shown


def write_batched(
    term: Terminal,
    lines: Iterable[str],
    batch: int = 512,
    delay_s: float = 0.1,
    *,
    stats: FetchStats | None = None,
) -> int:
    """Write lines in chunks: one write call per line costs more than formatting it. A chunk
    goes out when full, when its first line has waited `delay_s`, or when the read behind
    `lines` is about to wait on the network (`stats`: its stall hook). A person at a terminal
    gets every line at once."""
    out = term.out
    if term.out_tty:
        batch = 1
    pending: list[str] = []
    first_at = 0.0
    count = 0
    clock = time.monotonic

    def drain() -> None:
        nonlocal pending
        if pending:
            pending.append("")
            out.write("\n".join(pending))
            pending = []
        out.flush()

    if stats is not None and not term.out_tty:
        stats.on_stall(drain)
    try:
        for line in lines:
            if not pending:
                first_at = clock()
            pending.append(line)
            count += 1
            if len(pending) >= batch or clock() - first_at >= delay_s:
                drain()
    except BaseException:
        # A group given up on, an error, Ctrl-C: the lines read before it are output too, and
        # before the error line. A write that fails now (a closed pipe) must not hide why the
        # run ended.
        with contextlib.suppress(OSError, ValueError):
            drain()
        raise
    finally:
        if stats is not None:
            stats.on_stall(None)
    drain()
    return count


# --- requests -----------------------------------------------------------------------------------


@command
@target_options
@window_options
@watch_options
@request_filter_options
@output_option(
    ["plain", "json"], "plain: one aligned row per request; json: one object per request."
)
@traces_option
def requests(
    api_id: str,
    stage: str | None,
    window: WindowOptions,
    watch: WatchOptions,
    statuses: tuple[tuple[tuple[int, int], ...], ...],
    errors: bool,
    slow: float | None,
    path_glob: str | None,
    cold: bool,
    output: str,
    traces: bool,
    common: CommonOptions,
) -> None:
    """One row per request: time, method, path, status, latency, Lambda duration, memory, cause.

    The row fits the terminal: on a narrow one the route and memory go first, then the ID
    shrinks to its first 8 characters (every command takes them for the ID), the path keeps its
    end. Piped, every column is there and the cause and the ID are whole.

    Every line of every group is joined by request: the row says how the request ended and why
    (Lambda timeout, out of memory, unhandled exception, authorizer deny, throttling, …).
    A * after the Lambda duration marks a cold start. With --watch, a row is printed when its
    request is complete; a line that arrives later and changes the row prints it again, marked
    (updated). With --traces, each request's X-Ray trace is read too: its downstream calls
    (DynamoDB, S3, HTTP) follow its row, and -o json carries the whole trace.

    \b
    Examples:
      apilogs requests -a xyz123 -t prod -s 1h --errors
      apilogs requests -a xyz123 -t prod -s 1h --status 4xx
      apilogs requests -a xyz123 -t prod -s 1h --errors --traces
      apilogs requests -a xyz123 -t prod --status 5xx --watch
      apilogs requests -a xyz123 -t prod --slow 500ms --path '/users/*' -o json
    """
    no_watch_with_end(window, watch)
    url = common.url_target
    wanted = RequestFilter(
        statuses=status_ranges(tuple(r for ranges in statuses for r in ranges), errors),
        cold_only=cold,
        slower_than_ms=slow * 1000 if slow is not None else None,
        path_glob=path_glob,
        path_under=url.under if url is not None and url.narrows else None,
    )
    spec = window.spec(watch=watch)
    read_now = not watch.watch and reads_execution(window.sources)
    reporter, api = open_reading(
        common, window, spec, api_id, stage, window_read=read_now, by_path=True
    )
    term = reporter.term
    rows = RequestRows(
        Painter(term.color), Clock(window.tz), width=term.width, with_date=spans_days(window)
    )
    out = term.out
    shown = 0
    if output == "plain":
        out.write(rows.header() + "\n")
    if watch.watch:
        try:
            shown = _follow_rows(api, spec, wanted, rows, output, reporter)
        except BaseException:
            reporter.notices()
            raise
        reporter.finish(shown, "requests", filter_pattern=window.filter_pattern)
        return
    requests_found = api.requests(spec, where=wanted, stats=reporter.stats)
    reporter.notices()
    paint = Painter(term.color)
    try:
        with progress_line(reporter):
            for batch in _with_traces(api, requests_found, traces, reporter):
                for request, trace in batch:
                    if output == "json":
                        doc = request_to_dict(request, trace=trace, with_trace=traces)
                        out.write(json.dumps(doc) + "\n")
                    else:
                        out.write(rows.row(request) + "\n")
                        if trace is not None:
                            calls = trace_call_lines(trace, paint, term.width)
                            out.writelines(line + "\n" for line in calls)
                    shown += 1
                out.flush()
        out.flush()
    except BaseException:
        with contextlib.suppress(OSError, ValueError):
            out.flush()  # the rows read before the error, ahead of its line
        reporter.notices()
        raise
    reporter.finish(shown, "requests", filter_pattern=window.filter_pattern, exit_if_none=True)


SERVER_ERRORS = (500, 599)


def status_ranges(asked: tuple[tuple[int, int], ...], errors: bool) -> tuple[tuple[int, int], ...]:
    """The statuses `requests` keeps. --errors means the server's errors, 5xx: a 4xx is the
    client's (a deny, a throttle, a bad request) and would bury them; alone it is --status 5xx,
    with --status it keeps the 5xx codes among them."""
    if not errors:
        return asked
    if not asked:
        return (SERVER_ERRORS,)
    low, high = SERVER_ERRORS
    kept = tuple((max(lo, low), min(hi, high)) for lo, hi in asked if hi >= low and lo <= high)
    if not kept:
        raise InvalidInput(
            "--errors keeps server errors (5xx) only, and --status names none: drop --errors "
            "(client errors: --status 4xx)",
            name="errors",
        )
    return kept


# Requests whose traces are read together: BatchGetTraces takes 5 IDs a call, and rows must
# not wait long for the ones after them.
TRACE_BATCH = 25


def _with_traces(
    api: Api, requests_found: Iterable[Request], traces: bool, reporter: Reporter
) -> Iterable[list[tuple[Request, Trace | None]]]:
    """Requests in batches, each with its X-Ray trace when `traces` (else None). What X-Ray
    did not have is said once, at the end."""
    batch: list[Request] = []
    asked = lacking = 0
    said: set[str] = set()

    def done(*, read_traces: bool = traces) -> list[tuple[Request, Trace | None]]:
        nonlocal asked, lacking
        if not read_traces:
            return [(r, None) for r in batch]
        report = api.traces(batch)
        asked += sum(1 for r in batch if r.trace_id)
        lacking += len(report.missing) + len(report.unprocessed)
        for notice in report.notices:
            if not notice.startswith("X-Ray returned no trace") and notice not in said:
                said.add(notice)
                reporter.warn(notice)
        return [(r, report.get(r.trace_id)) for r in batch]

    size = TRACE_BATCH if traces else 1
    try:
        for request in requests_found:
            batch.append(request)
            if len(batch) >= size:
                yield done()
                batch = []
    except KeyboardInterrupt:
        # The user wants out now: the rows read are printed, without waiting for X-Ray.
        if batch:
            yield done(read_traces=False)
        raise
    except Exception:
        # A group given up on (or another error): the rows read so far are printed before
        # the error line, with their traces where X-Ray answers.
        if batch:
            try:
                rows = done()
            except Exception:
                rows = done(read_traces=False)
            yield rows
        raise
    if batch:
        yield done()
    if lacking:
        reporter.warn(
            f"X-Ray returned no trace for {lacking} of the {asked} requests with a trace ID: "
            "not sampled, not yet ingested, older than 30 days, or not processed this time"
        )


def _follow_rows(
    api: Api,
    spec: ReadSpec,
    wanted: RequestFilter,
    rows: RequestRows,
    output: str,
    reporter: Reporter,
) -> int:
    """`requests --watch`: a row when a request is complete; again, marked, if a late line
    changes it."""
    out = reporter.term.out
    shown = 0
    printed: dict[str, str] = {}
    matching = MatchingUpdates(wanted)
    for batch in api.follow(spec, stats=reporter.stats):
        for update in matching(batch.updates):
            request = update.request
            if update.kind is UpdateKind.NEW:
                continue
            key = request.request_id or ",".join(request.ids)
            if update.kind is UpdateKind.UPDATED and key not in printed:
                continue  # still in progress: printed when it closes
            as_json = output == "json"
            text = json.dumps(request_to_dict(request)) if as_json else rows.row(request)
            if printed.get(key) == text:
                continue
            shown_text = text
            if key in printed:
                shown_text = (
                    json.dumps({**request_to_dict(request), "updated": True})
                    if as_json
                    else rows.row(request, updated=True)
                )
            printed[key] = text
            if len(printed) > 50_000:
                printed.pop(next(iter(printed)))
            out.write(shown_text + "\n")
            out.flush()
            shown += 1
        reporter.notices()
    return shown


# --- stats --------------------------------------------------------------------------------------


@command
@target_options
@window_options
@output_option(["plain", "json"], "plain: a summary for people; json: one JSON document.")
def stats(
    api_id: str, stage: str | None, window: WindowOptions, output: str, common: CommonOptions
) -> None:
    """Sum up the window: requests by status, latency percentiles, Lambda durations per function,
    cold starts, errors by cause (by status, by exception type) with an example request ID each,
    the slowest routes.

    \b
    Examples:
      apilogs stats -a xyz123 -t prod -s 1h
      apilogs stats -a xyz123 -t prod -s yesterday -e today -o json
    """
    spec = window.spec()
    reporter, api = open_reading(
        common,
        window,
        spec,
        api_id,
        stage,
        window_read=reads_execution(spec.sources),
        by_path=True,
    )
    term = reporter.term
    try:
        with progress_line(reporter, beside_output=False):
            summary = api.stats(spec, where=url_filter(common), stats=reporter.stats)
    except IncompleteRead as exc:
        # The groups that were read still sum up: printed, then the error names what is missing.
        if isinstance(exc.partial, WindowStats):
            _print_stats(term, exc.partial, output)
        reporter.notices()
        raise
    _print_stats(term, summary, output)
    reporter.finish(
        summary.requests, "requests", filter_pattern=window.filter_pattern, exit_if_none=True
    )


def _print_stats(term: Terminal, summary: WindowStats | InsightsSummary, output: str) -> None:
    if output == "json":
        term.out.write(json.dumps(summary.to_dict(), indent=2) + "\n")
    else:
        for line in stats_lines(summary, Painter(term.color), term.width):
            term.out.write(line + "\n")
    term.out.flush()


# --- show ---------------------------------------------------------------------------------------


@command
@click.argument("words", nargs=-1, required=True, metavar="[@TARGET] REQUEST_ID")
@target_options_no_argument
@window_options
@output_option(["plain", "json"], "plain: the story; json: the request with every line.")
@click.option(
    "--no-pager",
    is_flag=True,
    help="Print the story directly (default: through $PAGER or less -R on a terminal when it "
    "is longer than the screen).",
)
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the story to FILE for a bug report instead: Markdown (.md) or JSON (.json). "
    "FILE must not exist yet (see --force); a symbolic link or a special file is refused.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --export: replace FILE if it exists (a regular file only, never a link's target).",
)
@click.option(
    "--export-format",
    type=click.Choice(["markdown", "json"]),
    help="The format of --export when FILE's extension does not say.",
)
@click.option(
    "--link",
    is_flag=True,
    help="Print CloudWatch console links instead: a Logs Insights query for the request's IDs "
    "over its window, and each log group's events filtered by them.",
)
@traces_option
def show(
    words: tuple[str, ...],
    api_id: str,
    stage: str | None,
    window: WindowOptions,
    output: str,
    no_pager: bool,
    export_path: str | None,
    export_format: str | None,
    force: bool,
    link: bool,
    traces: bool,
    common: CommonOptions,
) -> None:
    """Tell one request's story: route, status, latency and cause; a timeline of its phases
    (authorizer, integration, Lambda); then every line it left, from every group.

    REQUEST_ID may be the API Gateway, Lambda, X-Ray or extended request ID, or its first 8
    characters or more. With --traces the request's X-Ray trace joins the timeline: API
    Gateway's, the Lambda service's and the function's segments (Initialization, Invocation,
    Overhead) and every downstream call, with its duration and fault, error or throttle.

    \b
    Examples:
      apilogs show 6605b081-6f04-11e6-97ac-c34deb0b3dd9 -a xyz123 -t prod -s 1h
      apilogs show @orders 6605b081 -s 1h --traces
    """
    if len(words) != 1:
        raise click.UsageError("give one REQUEST_ID (and at most one @TARGET before it)")
    request_id = words[0]
    check_term(request_id)  # before discovery: junk is refused at once, offline too
    from apilogs.render.export import export_format_for

    # A file name that says no format, or a file that must not be written, fails before any
    # read.
    chosen_format = export_format_for(export_path, export_format) if export_path else None
    if force and not export_path:
        raise click.UsageError("--force replaces the file of --export: give --export FILE")
    if export_path:
        check_output_file(export_path, force=force)
    spec = window.spec()
    reporter, api = open_reading(common, window, spec, api_id, stage)
    term = reporter.term
    found = find_reporting(api, spec, (request_id,), reporter, look_back=not window.start_given)
    report = api.traces(found) if traces else None
    for notice in report.notices if report is not None else ():
        reporter.warn(notice)
    reporter.finish(1)
    paint = Painter(term.color)
    sources = api.select(window.sources, window.log_groups).sources
    if export_path or link:
        _export_or_link(
            found, sources, export_path, chosen_format, force, link, window, reporter, report
        )
        reporter.raise_deferred()
        return
    formatter = EventFormatter(RenderOptions(output="short", tz=window.tz), paint, sources)
    if output == "json":
        for request in found:
            trace = report.get(request.trace_id) if report is not None else None
            doc = request_to_dict(request, with_events=True, trace=trace, with_trace=traces)
            term.out.write(json.dumps(doc) + "\n")
        term.out.flush()
        reporter.raise_deferred()
        return
    lines: list[str] = []
    for index, request in enumerate(found):
        trace = report.get(request.trace_id) if report is not None else None
        if index:
            lines.append("")
        notes = _trace_notes(request, report)
        lines.extend(story_lines(request, formatter, paint, trace=trace, trace_notes=notes))
    show_lines(term, lines, pager=not no_pager)
    reporter.raise_deferred()


def _export_or_link(
    found: list[Request],
    sources: tuple[Source, ...],
    export_path: str | None,
    fmt: ExportFormat | None,
    force: bool,
    link: bool,
    window: WindowOptions,
    reporter: Reporter,
    report: TraceReport | None,
) -> None:
    from apilogs.render.console import request_links
    from apilogs.render.export import export_request

    if len(found) > 1:
        reporter.warn(
            f"{len(found)} requests carry that ID: the first one ({found[0].request_id}) is "
            "exported or linked; give one of the others' IDs for them"
        )
    request = found[0]
    if export_path and fmt:
        trace = report.get(request.trace_id) if report is not None else None
        text = export_request(request, fmt, tz=window.tz, traces=(trace,) if trace else ())
        write_output_file(export_path, text, force=force)
        reporter.warn_info(f"wrote {export_path} ({fmt})")
    if link:
        out = reporter.term.out
        for console_link in request_links(request, sources):
            out.write(f"{console_link.label}\n  {console_link.url}\n")
        out.flush()


def _trace_notes(request: Request, report: TraceReport | None) -> list[str]:
    """What the story says about the request's trace when there is none to show."""
    if report is None:
        return []
    if request.trace_id is None:
        return [NO_TRACE_ID]
    if report.get(request.trace_id) is not None:
        return []
    return [untraced_note(request) or NO_TRACE_FOUND]
