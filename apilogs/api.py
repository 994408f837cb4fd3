"""The public Python API: every read a front end needs, on one object per API and stage.

    import apilogs
    api = apilogs.open_api("xyz123", "prod")
    for request in api.requests(start="1h"):
        print(request.request_id, request.status, request.cause)

The CLI, the TUI and users' scripts all stand on this. Times take what the CLI takes ("1h",
"1h ago", ISO 8601, epoch s/ms as text) or ints (epoch ms) or datetimes. `stop` is a
`threading.Event`: once set, iterators end and `find`/`stats` raise `Cancelled` within a second,
with every thread they started joined. Errors are the typed errors of `apilogs.errors`."""

from __future__ import annotations

import functools
import itertools
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

import boto3

from apilogs.aws import (
    CALL_POLICY,
    DEFAULT_LOGS_RPS,
    AwsContext,
    CallPolicy,
    CallTrouble,
    describe_aws_error,
    make_context,
)
from apilogs.cancel import StopSignal
from apilogs.correlate import Correlator, correlate
from apilogs.errors import (
    AmbiguousRequestId,
    ApilogsError,
    Cancelled,
    IncompleteRead,
    InvalidInput,
    RequestNotFound,
)
from apilogs.fetch import FOLLOW_POLICY, WINDOW_POLICY, FetchStats, HeadStart, RetryPolicy
from apilogs.fetch.auto import Engine, choose_engine
from apilogs.fetch.filter import DEFAULT_MAX_LAG_MS
from apilogs.label import DEFAULT_HOLD_MS, DEFAULT_MAX_HELD, LabeledEvent, Labeller
from apilogs.lookup import Lookup, find_requests
from apilogs.model import LogEvent, Request, RequestUpdate, Role, Source, Topology, UpdateKind
from apilogs.stream import (
    EventQuery,
    RequestFilter,
    Selection,
    follow_events,
    keep,
    read_events,
    select_sources,
)
from apilogs.summary import WindowStats

if TYPE_CHECKING:
    from apilogs.cache import Fingerprint
    from apilogs.fetch.insights import InsightsSummary
from apilogs.times import TimeArg, resolve_window
from apilogs.xray import TraceReport, fetch_traces

__all__ = [
    "Api",
    "FirstRead",
    "FollowBatch",
    "FollowedEvent",
    "LabeledEvent",
    "Lookup",
    "MatchingUpdates",
    "TraceReport",
    "lines_of",
    "open_api",
]

P = ParamSpec("P")
T = TypeVar("T")

# How a window is read: FilterLogEvents, Logs Insights, or the one that suits the window.
EngineName = Literal["filter", "insights", "auto"]
ENGINES: tuple[EngineName, ...] = ("filter", "insights", "auto")

# While following, a request whose last line is this far behind the wall clock is closed: its
# lines arrive within a second or two of each other, the access line last.
CLOSE_AFTER_MS = 3_000


def _typed(func: Callable[P, T]) -> Callable[P, T]:
    """AWS's exceptions leave the API as apilogs's typed errors."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except ApilogsError:
            raise
        except Exception as exc:
            typed = describe_aws_error(exc)
            if typed is None:
                raise
            raise typed from exc

    return wrapper


def _typed_stream(stream: Iterator[T]) -> Iterator[T]:
    try:
        yield from stream
    except ApilogsError:
        raise
    except Exception as exc:
        typed = describe_aws_error(exc)
        if typed is None:
            raise
        raise typed from exc


@dataclass(frozen=True, slots=True)
class FollowedEvent:
    event: LogEvent
    late: bool  # it arrived after later events were delivered
    # With `follow(label=True)`: its request's API Gateway request ID (see `LabeledEvent`).
    request_id: str | None = None
    probable: bool = False


@dataclass(frozen=True, slots=True)
class FollowBatch:
    """What one step of following brought: new events in time order (late ones flagged), and
    the request updates they caused. An empty batch is a heartbeat."""

    events: tuple[FollowedEvent, ...] = ()
    updates: tuple[RequestUpdate, ...] = ()
    now_ms: int = 0


# A REST API's ID: what API Gateway makes (anything else is a name, or another kind's ID).
_REST_API_ID = re.compile(r"[a-z0-9]{10}")


@dataclass(frozen=True)
class FirstRead:
    """The window read an Api will be asked for first, told to `open_api` so that the read of
    the execution log can begin while discovery runs: its name follows from the API ID and
    stage, the other groups take a few round trips to find.

    A window read of the same `start`, `end`, `filter_pattern`, `fail_after_s` and `stats`
    (the very object) that covers the execution log takes the pages read so far over; the
    window is then as resolved when the API was opened. Any other read stops it, and so does
    a minute without a read. Pages read ahead are counted in `stats` whether taken or not."""

    start: TimeArg = "5m"
    end: TimeArg | None = None
    filter_pattern: str | None = None
    fail_after_s: float = WINDOW_POLICY.give_up_after_s or 60.0
    stats: FetchStats = field(default_factory=FetchStats)


@dataclass
class _Ahead:
    """A FirstRead under way: its arguments, its window as resolved, its reader."""

    read: FirstRead
    window: tuple[int, int | None]
    head: HeadStart


def _head_start(
    context: AwsContext, api_id: str, stage: str | None, read: FirstRead, tz: tzinfo | None
) -> _Ahead | None:
    """The execution log's read, begun on a guess: `api_id` is a REST API's ID (an HTTP API
    has no execution log, and its group is then found missing, quietly)."""
    from apilogs.discover import execution_log_group
    from apilogs.fetch import GroupQuery

    # The window is checked before discovery: a bad time fails first, as it would anyway.
    window = resolve_window(read.start, read.end, tz=tz)
    if not stage or not _REST_API_ID.fullmatch(api_id):
        return None
    group = execution_log_group(api_id, stage)
    query = GroupQuery(group, context.region, (Source(Role.EXECUTION, group, context.region),))
    head = HeadStart(
        context,
        query,
        window[0],
        window[1],
        read.stats,
        filter_pattern=read.filter_pattern or None,
        policy=_window_policy(read.fail_after_s),
    )
    return _Ahead(read, window, head)


@_typed
def open_api(
    api_id: str,
    stage: str | None = None,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_rps: float = DEFAULT_LOGS_RPS,
    session: boto3.Session | None = None,
    tz: tzinfo | None = None,
    cache: bool | None = None,
    refresh: bool = False,
    first_read: FirstRead | None = None,
    call_policy: CallPolicy = CALL_POLICY,
    on_trouble: Callable[[CallTrouble], None] | None = None,
) -> Api:
    """Find every log group of an API (its ID, or its name when unambiguous) and stage.

    HTTP APIs default to the `$default` stage. `max_rps` is the CloudWatch Logs read rate
    shared by every read of this Api (the account quota is 5/s; 0: no limit, for local
    endpoints). `tz` is the zone of times given without one (default: local time).

    `cache`: use (and keep) the topology found last time (`apilogs.cache`): it is checked in
    one round trip while the first reads already run, and discovered again before anything is
    delivered if it changed; default: on, unless APILOGS_CACHE=off. `refresh`: discover now
    (and cache the result). `first_read`: the window the first read will be (`FirstRead`):
    when the API is discovered now, its execution log is read meanwhile. `call_policy`: how
    long every call but the readers' pages is retried; `on_trouble` is told of each call that
    keeps failing while it is retried (`CallTrouble`). A discovery that cannot read the API's
    configuration infers what it can (`Topology.inferred`, never cached)."""
    from apilogs import cache as topology_cache
    from apilogs.discover import discover

    if cache is None:
        cache = topology_cache.enabled()

    context = make_context(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        max_rps=max_rps,
        session=session,
        call_policy=call_policy,
        on_trouble=on_trouble,
    )
    key = topology_cache.cache_key(
        profile or context.session.profile_name, context.region, endpoint_url, api_id, stage
    )
    if cache and not refresh:
        hit = topology_cache.load(key)
        if hit is not None:
            topology, fingerprint = hit
            api = Api(context, topology, tz=tz)
            api._pending = _Validation(key, api_id, stage, fingerprint, context, topology)
            return api
    ahead = _head_start(context, api_id, stage, first_read, tz) if first_read else None
    scan_window = (
        resolve_window(first_read.start, first_read.end, tz=tz) if first_read is not None else None
    )
    try:
        topology, fingerprint = discover(context, api_id, stage, scan_window)
    except BaseException:
        if ahead is not None:
            ahead.head.close()
        raise
    if cache and not topology.inferred:
        topology_cache.store(key, topology, fingerprint)
    return Api(context, topology, tz=tz, _ahead=ahead)


class _Validation:
    """A cached topology's check, running while the first reads go out."""

    def __init__(
        self,
        key: str,
        api_ref: str,
        stage: str | None,
        fingerprint: Fingerprint,
        context: AwsContext,
        topology: Topology,
    ) -> None:
        from apilogs.cache import read_fingerprint

        self.key = key
        self.api_ref = api_ref
        self.stage = stage
        self.fingerprint = fingerprint
        self._done = threading.Event()
        self._now: Fingerprint | None = None
        self._unanswered = False

        def check() -> None:
            try:
                self._now = read_fingerprint(context, topology)
            except Exception:
                # AWS would not answer (denied, or still failing after the call policy's
                # retries): nothing says the cached topology is wrong, and discovering again
                # would meet the same trouble.
                self._unanswered = True
            finally:
                self._done.set()

        threading.Thread(target=check, name="topology check", daemon=True).start()

    def still_true(self) -> bool:
        self._done.wait()
        return self._unanswered or self._now == self.fingerprint


@dataclass
class Api:
    """An API and stage whose logs can be read. Made by `open_api`."""

    context: AwsContext
    topology: Topology
    tz: tzinfo | None = None
    _selections: dict[tuple[tuple[str, ...], tuple[str, ...]], Selection] = field(
        default_factory=dict, repr=False
    )
    _pending: _Validation | None = field(default=None, repr=False)
    _ahead: _Ahead | None = field(default=None, repr=False)

    def close(self) -> None:
        """Stop the read begun at open for the first read (`FirstRead`) if no read took it
        over: for a caller that will not read after all. (It stops by itself a minute later.)
        The Api stays usable."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.head.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def from_cache(self) -> bool:
        """The topology came from the cache and has not been checked yet."""
        return self._pending is not None

    def settle(self) -> bool:
        """Wait for a cached topology's check; discover again if it is stale. True when the
        topology changed (then `topology` is the new one)."""
        pending = self._pending
        if pending is None:
            return False
        self._pending = None
        if pending.still_true():
            return False
        from apilogs import cache as topology_cache
        from apilogs.discover import discover

        topology, fingerprint = discover(self.context, pending.api_ref, pending.stage)
        if not topology.inferred:
            topology_cache.store(pending.key, topology, fingerprint)
        else:
            topology_cache.forget(pending.key)
        self.topology = topology
        self._selections.clear()
        return True

    def _forget_if_gone(self, stats: FetchStats, key: str | None) -> None:
        """A group the cached topology named is gone: the next run discovers again."""
        if key and stats.gone_groups:
            from apilogs import cache as topology_cache

            topology_cache.forget(key)

    # -- what to read ------------------------------------------------------------------------

    def select(self, sources: Iterable[str] = (), log_groups: Iterable[str] = ()) -> Selection:
        """The sources a read covers: `sources` narrows (execution, access, lambda, authorizer,
        a function name), `log_groups` adds. Groups that do not exist are in `notices`."""
        key = (tuple(sources), tuple(log_groups))
        found = self._selections.get(key)
        if found is None:
            found = self._selections[key] = select_sources(self.topology, *key)
        return found

    def window(self, start: TimeArg, end: TimeArg | None = None) -> tuple[int, int | None]:
        ahead = self._ahead
        if ahead is not None and (start, end) == (ahead.read.start, ahead.read.end):
            return ahead.window  # the first read's window, as it was resolved when it began
        return resolve_window(start, end, tz=self.tz)

    def _head_for(self, stats: FetchStats) -> HeadStart | None:
        """The read begun at open (`FirstRead`), offered to the first read only; the fetch
        takes it over if it fits and stops it if not."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if ahead.read.stats is not stats:
            ahead.head.close()
            return None
        return ahead.head

    def _query(
        self,
        start: TimeArg,
        end: TimeArg | None,
        filter_pattern: str | None,
        grep: Iterable[str | re.Pattern[str]],
        exclude: Iterable[str | re.Pattern[str]],
    ) -> EventQuery:
        start_ms, end_ms = self.window(start, end)
        return EventQuery(
            start_ms,
            end_ms,
            filter_pattern or None,
            grep=_patterns(grep),
            exclude=_patterns(exclude),
        )

    def _sources(
        self, sources: Iterable[str], log_groups: Iterable[str], stats: FetchStats
    ) -> tuple[Source, ...]:
        selection = self.select(sources, log_groups)
        for notice in selection.notices:
            stats.notice(notice)
        return selection.sources

    # -- window reads --------------------------------------------------------------------------

    def events(
        self,
        start: TimeArg = "5m",
        end: TimeArg | None = None,
        *,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        filter_pattern: str | None = None,
        grep: Iterable[str | re.Pattern[str]] = (),
        exclude: Iterable[str | re.Pattern[str]] = (),
        parse: bool = True,
        engine: EngineName = "filter",
        fail_after_s: float = WINDOW_POLICY.give_up_after_s or 60.0,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[LogEvent]:
        """Every event of the window, from every group, merged in time order, each once.

        `filter_pattern` is CloudWatch's (applied by the service); `grep`/`exclude` are regexes
        applied here. `parse=False` skips the line parsers (events carry no IDs or kind).
        `engine`: "filter" (FilterLogEvents), "insights" (Logs Insights, server-side: for long
        windows; no filter pattern) or "auto" (Insights for large windows, said in a notice).
        A group whose reads all fail for `fail_after_s` is given up on: IncompleteRead, raised
        after every other event was delivered, says which and how far it was read."""
        stats = stats if stats is not None else FetchStats()
        query = self._query(start, end, filter_pattern, grep, exclude)
        read_stats = stats

        def read() -> Iterator[LogEvent]:
            selection = self.select(sources, log_groups)
            for notice in selection.notices:
                read_stats.notice(notice)
            return read_events(
                self.context,
                selection.sources,
                query,
                read_stats,
                # A shared log group: its other functions' lines are told apart by the parser
                # (the stream name is enough, but a line must be parsed to be dropped cheaply).
                parse=parse or bool(selection.companions),
                stop=stop,
                policy=_window_policy(fail_after_s),
                engine=self.engine_for(engine, selection.read, query, read_stats),
                selection=selection,
                head=self._head_for(read_stats),
            )

        return _typed_stream(self._checked(read, stats))

    def labeled_events(
        self,
        start: TimeArg = "5m",
        end: TimeArg | None = None,
        *,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        filter_pattern: str | None = None,
        grep: Iterable[str | re.Pattern[str]] = (),
        exclude: Iterable[str | re.Pattern[str]] = (),
        hold_ms: int = DEFAULT_HOLD_MS,
        max_held: int = DEFAULT_MAX_HELD,
        engine: EngineName = "filter",
        fail_after_s: float = WINDOW_POLICY.give_up_after_s or 60.0,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[LabeledEvent]:
        """`events`, each with its request's API Gateway request ID (`LabeledEvent`): a Lambda
        line is held back until the execution or access log names its invocation, at most
        `hold_ms` and `max_held` lines (`apilogs.label`). The order is the same as `events`.

        `sources` narrows the lines returned; every group of the API is still read, since
        only the execution and access logs tell which request a Lambda line belongs to.
        `grep`/`exclude` apply to the lines returned; a server-side `filter_pattern` to every
        read (a line the pattern drops cannot lend its ID to the others)."""
        stats = stats if stats is not None else FetchStats()
        query = self._query(start, end, filter_pattern, (), ())
        # Checked now, so a wrong --source fails before any read.
        for notice in self.select(sources, log_groups).notices:
            stats.notice(notice)
        patterns = _patterns(grep)
        excluded = _patterns(exclude)

        def read() -> Iterator[LogEvent]:
            everything = self.select((), log_groups)
            return read_events(
                self.context,
                everything.sources,
                query,
                stats,
                stop=stop,
                policy=_window_policy(fail_after_s),
                engine=self.engine_for(engine, everything.sources, query, stats),
                head=self._head_for(stats),
            )

        def labeled() -> Iterator[LabeledEvent]:
            events = self._checked(read, stats)
            first = next(events, None)
            # After the first event the topology is settled (a cached one checked): what is
            # shown is chosen from the topology that holds.
            shown = self.select(sources, log_groups)
            everything = self.select((), log_groups)
            wanted = frozenset(shown.sources)
            narrowed = set(everything.sources) != wanted or bool(shown.companions)
            labeller = Labeller(
                hold_ms, max_held, expect_calls=self._expect_calls(everything.sources)
            )

            def out(batch: list[LabeledEvent]) -> Iterator[LabeledEvent]:
                for item in batch:
                    event = item.event
                    if narrowed and (event.raw.source not in wanted or not shown.keeps(event)):
                        continue
                    message = event.raw.message
                    if patterns and not any(p.search(message) for p in patterns):
                        continue
                    if excluded and any(p.search(message) for p in excluded):
                        continue
                    yield item

            if first is None:
                return
            filtering = narrowed or bool(patterns) or bool(excluded)
            try:
                for event in itertools.chain((first,), events):
                    ready = labeller.add(event)
                    if ready:
                        # Runs for every line: no generator made for it when nothing is filtered.
                        yield from out(ready) if filtering else ready
            except (Exception, KeyboardInterrupt):
                # A group given up on (IncompleteRead), another error, Ctrl-C: the lines read
                # and held for their label are delivered all the same, before the error.
                yield from out(labeller.flush())
                raise
            yield from out(labeller.flush())
            _say_unlabelled(labeller, stats, 0)

        return _typed_stream(labeled())

    def _checked(
        self, read: Callable[[], Iterator[LogEvent]], stats: FetchStats
    ) -> Iterator[LogEvent]:
        """A read of a cached topology: the reads start at once, and nothing is delivered
        before the topology's check says it still holds (else: read again, rediscovered)."""
        pending = self._pending
        stream = read()
        if pending is not None:
            first = next(stream, None)
            if self.settle():
                if hasattr(stream, "close"):
                    stream.close()
                stats.notice("the cached topology was out of date: discovered the API again")
                stream = read()
            elif first is not None:
                yield first
        yield from stream
        self._forget_if_gone(stats, pending.key if pending else None)

    def engine_for(
        self, engine: EngineName, sources: tuple[Source, ...], query: EventQuery, stats: FetchStats
    ) -> Engine:
        """The engine that reads this window; "auto" decides here and says why (a notice)
        when it picks Logs Insights."""
        if engine == "filter":
            return "filter"
        if engine == "insights":
            if query.filter_pattern:
                raise InvalidInput(
                    "a filter pattern is applied by FilterLogEvents: Logs Insights cannot; "
                    "use a regex (grep) with the insights engine",
                    name="engine",
                )
            return "insights"
        if engine != "auto":
            raise InvalidInput(
                f"unknown engine {engine!r}: filter, insights or auto", name="engine"
            )
        if query.filter_pattern:
            return "filter"
        end_ms = query.end_ms if query.end_ms is not None else int(time.time() * 1000)
        choice = choose_engine(
            sources, query.start_ms, end_ms, rps=self.context.logs_limiter.configured
        )
        if choice.engine == "insights":
            stats.notice(choice.reason)
        return choice.engine

    def _expect_calls(self, sources: Iterable[Source]) -> bool:
        """Whether API Gateway's `Sending request to` lines are read: REST and WebSocket
        execution logs at INFO write one before every Lambda call."""
        level = (self.topology.logging_level or "").upper()
        return level == "INFO" and any(s.role is Role.EXECUTION for s in sources)

    def requests(
        self,
        start: TimeArg = "5m",
        end: TimeArg | None = None,
        *,
        where: RequestFilter | None = None,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        filter_pattern: str | None = None,
        engine: EngineName = "filter",
        fail_after_s: float = WINDOW_POLICY.give_up_after_s or 60.0,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[Request]:
        """The window's requests, each with every line it left, in the order they started.

        `where` keeps only matching requests (default: every request API Gateway saw; Lambda
        invocations no API Gateway line claimed are left out)."""
        wanted = where if where is not None else RequestFilter()
        events = self.events(
            start,
            end,
            sources=sources,
            log_groups=log_groups,
            filter_pattern=filter_pattern,
            engine=engine,
            fail_after_s=fail_after_s,
            stop=stop,
            stats=stats,
        )
        return (request for request in correlate(events) if wanted(request))

    @_typed
    def stats(
        self,
        start: TimeArg = "5m",
        end: TimeArg | None = None,
        *,
        where: RequestFilter | None = None,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        filter_pattern: str | None = None,
        engine: EngineName = "filter",
        fail_after_s: float = WINDOW_POLICY.give_up_after_s or 60.0,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> WindowStats | InsightsSummary:
        """The numbers `apilogs stats` prints, as data (`to_dict()` is the JSON document).

        With the insights engine Logs Insights computes them server-side (`InsightsSummary`):
        requests are access log lines, and errors by cause, which need every request's lines
        joined, are left out."""
        stats = stats if stats is not None else FetchStats()
        query = self._query(start, end, filter_pattern, (), ())
        if engine != "filter":
            self.settle()
        chosen = self._sources(sources, log_groups, stats)
        if self.engine_for(engine, chosen, query, stats) == "insights":
            head = self._head_for(stats)  # a FilterLogEvents read begun for nothing
            if head is not None:
                head.close()
            if where is not None and where != RequestFilter():
                raise InvalidInput(
                    "Logs Insights sums the whole window: a request filter needs the filter engine",
                    name="engine",
                )
            from apilogs.fetch.insights import stats_window

            end_ms = query.end_ms if query.end_ms is not None else int(time.time() * 1000)
            found = stats_window(self.context, chosen, query.start_ms, end_ms, stats, stop=stop)
            if found is None:
                raise Cancelled()
            for notice in found.notices:
                stats.notice(notice)
            return found
        summary = WindowStats()
        try:
            for request in self.requests(
                start,
                end,
                where=where,
                sources=sources,
                log_groups=log_groups,
                filter_pattern=filter_pattern,
                fail_after_s=fail_after_s,
                stop=stop,
                stats=stats,
            ):
                summary.add(request)
        except IncompleteRead as exc:
            # The other groups were read to the end: their sums still hold, and go with the error.
            exc.partial = summary
            raise
        if stop is not None and stop.is_set():
            raise Cancelled()
        return summary

    @_typed
    def lookup(
        self,
        ids: str | Iterable[str],
        start: TimeArg = "1h",
        end: TimeArg | None = None,
        *,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        engine: EngineName = "filter",
        fail_after_s: float = WINDOW_POLICY.give_up_after_s or 60.0,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> Lookup:
        """The requests carrying any of `ids` (API Gateway, Lambda, X-Ray or extended request
        IDs, or a unique prefix of at least 8 characters of one), each with every line of every
        group, its Lambda's `print` lines included; and, per ID, whether it was found, which
        full ID a prefix stood for, or which requests an ambiguous prefix matches.

        IDs are looked up in every group of the API (plus `log_groups`); `sources` narrows the
        lines each request carries (its outcome and cause still come from all of them). Text
        that cannot be an ID raises InvalidInput at once. `engine` scans the window for the IDs
        (as for `events`: Logs Insights suits windows of hours or days)."""
        self.settle()
        wanted = [ids] if isinstance(ids, str) else list(ids)
        stats = stats if stats is not None else FetchStats()
        start_ms, end_ms = self.window(start, end)
        shown = self.select(sources, log_groups)
        for notice in shown.notices:
            stats.notice(notice)
        everywhere = self.select((), log_groups).sources
        found = find_requests(
            self.context,
            everywhere,
            wanted,
            start_ms,
            end_ms,
            stats,
            stop=stop,
            policy=_window_policy(fail_after_s),
            engine=self.engine_for(engine, everywhere, EventQuery(start_ms, end_ms, None), stats),
        )
        wanted_sources = frozenset(shown.sources)
        if set(everywhere) == wanted_sources and not shown.companions:
            return found

        def narrowed(request: Request) -> Request:
            kept = tuple(
                e for e in request.events if e.raw.source in wanted_sources and shown.keeps(e)
            )
            return replace(request, events=kept)

        return replace(
            found,
            requests=tuple(narrowed(r) for r in found.requests),
            ambiguous=tuple((t, tuple(map(narrowed, rs))) for t, rs in found.ambiguous),
        )

    @_typed
    def find(
        self,
        ids: str | Iterable[str],
        start: TimeArg = "1h",
        end: TimeArg | None = None,
        *,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        fail_after_s: float = WINDOW_POLICY.give_up_after_s or 60.0,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        must_exist: bool = False,
        engine: EngineName = "filter",
    ) -> list[Request]:
        """`lookup`'s requests. An ID prefix that matches several requests raises
        AmbiguousRequestId; `must_exist`: raise RequestNotFound instead of returning an empty
        list."""
        wanted = [ids] if isinstance(ids, str) else list(ids)
        found = self.lookup(
            wanted,
            start,
            end,
            sources=sources,
            log_groups=log_groups,
            engine=engine,
            fail_after_s=fail_after_s,
            stop=stop,
            stats=stats,
        )
        if found.ambiguous:
            raise AmbiguousRequestId(*found.ambiguous[0])
        if not found.requests and must_exist:
            start_ms, end_ms = self.window(start, end)
            raise RequestNotFound(wanted, start_ms, end_ms)
        return list(found.requests)

    # -- X-Ray ---------------------------------------------------------------------------------

    @_typed
    def traces(
        self,
        requests: Iterable[Request | str],
        *,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> TraceReport:
        """The X-Ray traces of these requests (or of these trace IDs): API Gateway's, the
        Lambda service's and each function's segments with their Initialization, Invocation
        and Overhead, and every subsegment inside (the downstream calls), as `Trace`s in tree
        order, on the same clock as the lines. Read with BatchGetTraces (5 IDs a call), or from
        CloudWatch Logs' `aws/spans` when the account uses Transaction Search. Never raises for
        what X-Ray refuses or lacks: `TraceReport` says it (`unprocessed`, `missing`,
        `notices`)."""
        # A request whose logged trace header says Sampled=0 has no trace to ask for.
        ids = [
            r if isinstance(r, str) else r.trace_id
            for r in requests
            if isinstance(r, str) or r.sampled is not False
        ]
        return fetch_traces(
            self.context,
            [i for i in ids if i],
            region=self.topology.region,
            stop=stop,
            stats=stats,
        )

    # -- following -----------------------------------------------------------------------------

    def follow(
        self,
        start: TimeArg = "5m",
        *,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        filter_pattern: str | None = None,
        grep: Iterable[str | re.Pattern[str]] = (),
        exclude: Iterable[str | re.Pattern[str]] = (),
        correlate: bool = True,
        live: bool = False,
        label: bool = False,
        hold_ms: int = DEFAULT_HOLD_MS,
        max_held: int = DEFAULT_MAX_HELD,
        interval: float = 1.0,
        max_lag_ms: int = DEFAULT_MAX_LAG_MS,
        fail_after_s: float | None = None,
        close_after_ms: int = CLOSE_AFTER_MS,
        clock: Callable[[], float] = time.time,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[FollowBatch]:
        """Follow every group from `start` until `stop`: new events in time order, and (with
        `correlate`) the request updates they cause. A batch comes at least every quarter
        second (empty when nothing happened). `live`: through Live Tail sessions instead of
        polling (groups it is refused for are polled, with a notice; sampled updates are said
        and their gaps read). `fail_after_s`: end with IncompleteRead once a group's reads
        have all failed this long (default: keep trying, and say so).

        `label`: each event carries its request's API Gateway request ID, as `labeled_events`
        gives it: an event is held back (at most `hold_ms` past its time on `clock`, and
        `max_held` events) until its request is known; every group is read for that, and
        `sources` narrows what is delivered. An event not yet known holds back the ones after
        it for `DEFAULT_BLOCK_MS` at most (`Labeller(in_order=False)`); then the known ones are
        delivered ahead of it, and it is `late` when it comes."""
        self.settle()
        stats = stats if stats is not None else FetchStats()
        query = self._query(start, None, filter_pattern, grep, exclude)
        shown = self.select(sources, log_groups)
        for notice in shown.notices:
            stats.notice(notice)
        selection = self.select((), log_groups) if label else shown
        chosen = selection.sources
        wanted = frozenset(shown.sources)
        narrowed = label and (set(chosen) != wanted or bool(shown.companions))
        labeller = (
            Labeller(hold_ms, max_held, expect_calls=self._expect_calls(chosen), in_order=False)
            if label
            else None
        )
        policy = (
            FOLLOW_POLICY
            if fail_after_s is None
            else RetryPolicy(
                give_up_after_s=fail_after_s,
                notice_after_s=min(FOLLOW_POLICY.notice_after_s, fail_after_s / 2),
            )
        )
        correlator = Correlator(track_updates=True) if correlate else None
        filtering = bool(query.grep or query.exclude)
        unfiltered = EventQuery(query.start_ms, None, query.filter_pattern)

        def batches() -> Iterator[FollowBatch]:
            told = 0
            for batch in follow_events(
                self.context,
                chosen,
                unfiltered,
                stats,
                interval_s=interval,
                stop=stop,
                policy=policy,
                max_lag_ms=max_lag_ms,
                live=live,
                selection=None if label else selection,
            ):
                now_ms = int(clock() * 1000)
                updates: tuple[RequestUpdate, ...] = ()
                if correlator is not None:
                    for event, _late in batch:
                        correlator.add(event)
                    correlator.advance(now_ms - close_after_ms)
                    updates = tuple(correlator.updates())
                if labeller is None:
                    events = tuple(
                        FollowedEvent(event, late)
                        for event, late in batch
                        if not filtering or keep(event, query)
                    )
                    yield FollowBatch(events, updates, now_ms)
                    continue
                ready: list[LabeledEvent] = []
                for event, late in batch:
                    ready += labeller.add(event, late=late)
                ready += labeller.advance(now_ms)
                told = _say_unlabelled(labeller, stats, told)
                events = tuple(
                    FollowedEvent(item.event, item.late, item.request_id, item.probable)
                    for item in ready
                    if (
                        not narrowed
                        or (item.event.raw.source in wanted and shown.keeps(item.event))
                    )
                    and (not filtering or keep(item.event, query))
                )
                yield FollowBatch(events, updates, now_ms)

        return _typed_stream(batches())

    def follow_requests(
        self,
        start: TimeArg = "5m",
        *,
        where: RequestFilter | None = None,
        sources: Iterable[str] = (),
        log_groups: Iterable[str] = (),
        filter_pattern: str | None = None,
        live: bool = False,
        interval: float = 1.0,
        fail_after_s: float | None = None,
        close_after_ms: int = CLOSE_AFTER_MS,
        clock: Callable[[], float] = time.time,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
    ) -> Iterator[RequestUpdate]:
        """Requests as they happen: NEW when one first matches `where`, UPDATED as lines join
        it (also after it closed, when a line arrives late), CLOSED when it is complete."""
        matching = MatchingUpdates(where)

        def updates() -> Iterator[RequestUpdate]:
            for batch in self.follow(
                start,
                sources=sources,
                log_groups=log_groups,
                filter_pattern=filter_pattern,
                live=live,
                interval=interval,
                fail_after_s=fail_after_s,
                close_after_ms=close_after_ms,
                clock=clock,
                stop=stop,
                stats=stats,
            ):
                yield from matching(batch.updates)

        return updates()


class MatchingUpdates:
    """Request updates narrowed to the requests `where` keeps. A request is NEW to the consumer
    when it first matches (a 5xx filter sees a request once its status is known), then its
    UPDATED and CLOSED updates follow."""

    def __init__(self, where: RequestFilter | None = None, memory: int = 100_000) -> None:
        self.where = where if where is not None else RequestFilter()
        self.memory = memory
        self._reported: OrderedDict[str, None] = OrderedDict()

    def __call__(self, updates: Iterable[RequestUpdate]) -> list[RequestUpdate]:
        out: list[RequestUpdate] = []
        for update in updates:
            request = update.request
            if not self.where(request):
                continue
            key = request.request_id or ",".join(request.ids)
            if key not in self._reported:
                self._reported[key] = None
                if len(self._reported) > self.memory:
                    self._reported.popitem(last=False)
                if update.kind is not UpdateKind.NEW:
                    out.append(RequestUpdate(UpdateKind.NEW, request))
                    if update.kind is UpdateKind.UPDATED:
                        continue
            out.append(update)
        return out


def _say_unlabelled(labeller: Labeller, stats: FetchStats, told: int) -> int:
    """Lines let go without their request's ID, though one might have come, are said: first
    when it happens, then each time their count doubles (following), or once (a window)."""
    count = labeller.released_unknown
    if count and count >= 2 * told:
        stats.notice(
            f"{count:,} {'line was' if count == 1 else 'lines were'} printed before "
            f"{'its' if count == 1 else 'their'} request was known: the hold-back "
            f"({labeller.hold_ms / 1000:g} s, {labeller.max_held:,} lines) ran out first "
            "(raise --hold-back)"
        )
        return count
    return told


def _window_policy(fail_after_s: float) -> RetryPolicy:
    # Said before it is given up on.
    return RetryPolicy(
        give_up_after_s=fail_after_s,
        notice_after_s=min(WINDOW_POLICY.notice_after_s, fail_after_s / 2),
    )


def _patterns(values: Iterable[str | re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for value in values:
        if isinstance(value, re.Pattern):
            compiled.append(value)
            continue
        try:
            compiled.append(re.compile(value))
        except re.error as exc:
            raise InvalidInput(f"bad regex {value!r}: {exc}", name="grep") from None
    return tuple(compiled)


def lines_of(requests: Iterable[Request]) -> list[LogEvent]:
    """Every line of these requests once, in time order (a line two requests share, once)."""
    unique = {id(e): e for r in requests for e in r.events}
    return sorted(
        unique.values(),
        key=lambda e: (e.raw.timestamp, e.raw.group, e.raw.stream, e.raw.event_id),
    )
