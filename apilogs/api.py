"""The public Python API: every read a front end needs, on one object per API and stage.

    import apilogs
    api = apilogs.open_api("xyz123", "prod")
    for request in api.requests(start="1h"):
        print(request.request_id, request.status, request.cause)

The CLI, the TUI and users' scripts all stand on this. Every read takes what to read as one
value, a `ReadSpec` (`apilogs.spec`), or as its fields in keyword arguments (`ReadOptions`).
Times take what the CLI takes ("1h", "1h ago", ISO 8601, epoch s/ms as text) or ints (epoch ms)
or datetimes. `stop` is a `threading.Event`: once set, iterators end and `find`/`stats` raise
`Cancelled` within a second, with every thread they started joined. Errors are the typed errors
of `apilogs.errors`."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import tzinfo
from typing import TYPE_CHECKING, ParamSpec, TypeVar, Unpack

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
from apilogs.diagnosis.summary import WindowStats
from apilogs.errors import AmbiguousRequestId, ApilogsError, RequestNotFound
from apilogs.fetch import FetchStats, queries_for
from apilogs.fetch.engines import ENGINES, EngineName
from apilogs.fetch.xray import TraceReport, fetch_traces
from apilogs.following import CLOSE_AFTER_MS, FollowBatch, FollowedEvent, Following
from apilogs.join.correlate import Correlator, correlate
from apilogs.join.label import DEFAULT_HOLD_MS, DEFAULT_MAX_HELD, LabeledEvent, Labeller
from apilogs.known import FirstRead, KnownTopology, find_topology
from apilogs.labeling import label_window, shown_by
from apilogs.lookup import Lookup, find_requests
from apilogs.model import LogEvent, Request, RequestUpdate, Topology
from apilogs.spec import ReadOptions, ReadSpec
from apilogs.stream import RequestFilter, Selection, follow_events
from apilogs.times import TimeArg
from apilogs.updates import MatchingUpdates, WindowStep, read_in_steps, window_steps
from apilogs.window_sums import summed, summed_by

if TYPE_CHECKING:
    from apilogs.fetch.insights import InsightsSummary

__all__ = [
    "CLOSE_AFTER_MS",
    "ENGINES",
    "Api",
    "EngineName",
    "FirstRead",
    "FollowBatch",
    "FollowedEvent",
    "LabeledEvent",
    "Lookup",
    "MatchingUpdates",
    "ReadSpec",
    "TraceReport",
    "WindowStep",
    "lines_of",
    "open_api",
    "window_steps",
]

P = ParamSpec("P")
T = TypeVar("T")


@contextmanager
def _typed_errors() -> Iterator[None]:
    """AWS's exceptions leave the API as apilogs's typed errors."""
    try:
        yield
    except ApilogsError:
        raise
    except Exception as exc:
        typed = describe_aws_error(exc)
        if typed is None:
            raise
        raise typed from exc


def _typed(func: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with _typed_errors():
            return func(*args, **kwargs)

    return wrapper


def _typed_stream(stream: Iterator[T]) -> Iterator[T]:
    with _typed_errors():
        yield from stream


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

    `cache`: use (and keep) the topology found last time (`apilogs.discover.cache`): it is checked in
    one round trip while the first reads already run, and discovered again before anything is
    delivered if it changed; default: on, unless APILOGS_CACHE=off. `refresh`: discover now
    (and cache the result). `first_read`: the window the first read will be (`FirstRead`):
    when the API is discovered now, its execution log is read meanwhile. `call_policy`: how
    long every call but the readers' pages is retried; `on_trouble` is told of each call that
    keeps failing while it is retried (`CallTrouble`). A discovery that cannot read the API's
    configuration infers what it can (`Topology.inferred`, never cached)."""
    from apilogs.discover import cache as topology_cache

    context = make_context(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        max_rps=max_rps,
        session=session,
        call_policy=call_policy,
        on_trouble=on_trouble,
    )
    known = find_topology(
        context,
        api_id,
        stage,
        endpoint_url=endpoint_url,
        profile=profile,
        cache=topology_cache.enabled() if cache is None else cache,
        refresh=refresh,
        first_read=first_read,
        tz=tz,
    )
    return Api(context, known.topology, tz, known=known)


class Api:
    """An API and stage whose logs can be read. Made by `open_api`.

    Every read takes a `ReadSpec` first, or `start`, `end` and `ReadSpec`'s other fields as
    keyword arguments (`ReadOptions`)."""

    def __init__(
        self,
        context: AwsContext,
        topology: Topology,
        tz: tzinfo | None = None,
        *,
        known: KnownTopology | None = None,
    ) -> None:
        self.context = context
        self.tz = tz
        self._known = known if known is not None else KnownTopology(context, topology, tz)

    @property
    def topology(self) -> Topology:
        return self._known.topology

    def close(self) -> None:
        """Stop the read begun at open for the first read (`FirstRead`) if no read took it
        over: for a caller that will not read after all. (It stops by itself a minute later.)
        The Api stays usable."""
        self._known.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def from_cache(self) -> bool:
        """The topology came from the cache and has not been checked yet."""
        return self._known.from_cache

    def settle(self) -> bool:
        """Wait for a cached topology's check; discover again if it is stale. True when the
        topology changed (then `topology` is the new one)."""
        return self._known.settle()

    # -- what to read ------------------------------------------------------------------------

    def select(self, sources: Iterable[str] = (), log_groups: Iterable[str] = ()) -> Selection:
        """The sources a read covers: `sources` narrows (execution, access, lambda, authorizer,
        a function name), `log_groups` adds. Groups that do not exist are in `notices`."""
        return self._known.select(sources, log_groups)

    def window(self, start: TimeArg, end: TimeArg | None = None) -> tuple[int, int | None]:
        return self._known.window(start, end)

    def spec(
        self,
        start: TimeArg | ReadSpec = "5m",
        end: TimeArg | None = None,
        **options: Unpack[ReadOptions],
    ) -> ReadSpec:
        """The read asked for, its window resolved (a bad time or regex raises InvalidInput
        here, before any read)."""
        if isinstance(start, ReadSpec):
            if end is not None or options:
                raise TypeError("give a ReadSpec or its fields as arguments, not both")
            return self._known.resolve(start)
        return self._known.resolve(ReadSpec.build(start, end, **options))

    # -- window reads --------------------------------------------------------------------------

    def events(
        self,
        start: TimeArg | ReadSpec = "5m",
        end: TimeArg | None = None,
        *,
        parse: bool = True,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> Iterator[LogEvent]:
        """Every event of the window, from every group, merged in time order, each once.

        `filter_pattern` is CloudWatch's (applied by the service); `grep`/`exclude` are regexes
        applied here. `parse=False` skips the line parsers (events carry no IDs or kind).
        `engine`: "filter" (FilterLogEvents), "insights" (Logs Insights, server-side: for long
        windows; no filter pattern) or "auto" (Insights for large windows, said in a notice).
        A group whose reads all fail for `fail_after_s` is given up on: IncompleteRead, raised
        after every other event was delivered, says which and how far it was read."""
        stats = stats if stats is not None else FetchStats()
        spec = self.spec(start, end, **options)
        read_stats = stats

        def read() -> Iterator[LogEvent]:
            return self._known.read(
                spec, self._known.shown(spec, read_stats), read_stats, stop, parse=parse
            )

        return _typed_stream(self._known.checked(read, stats))

    def labeled_events(
        self,
        start: TimeArg | ReadSpec = "5m",
        end: TimeArg | None = None,
        *,
        hold_ms: int = DEFAULT_HOLD_MS,
        max_held: int = DEFAULT_MAX_HELD,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> Iterator[LabeledEvent]:
        """`events`, each with its request's API Gateway request ID (`LabeledEvent`): a Lambda
        line is held back until the execution or access log names its invocation, at most
        `hold_ms` and `max_held` lines (`apilogs.join.label`). The order is the same as `events`.

        `sources` narrows the lines returned; every group of the API is still read, since
        only the execution and access logs tell which request a Lambda line belongs to.
        `grep`/`exclude` apply to the lines returned; a server-side `filter_pattern` to every
        read (a line the pattern drops cannot lend its ID to the others)."""
        stats = stats if stats is not None else FetchStats()
        spec = self.spec(start, end, **options)
        every_line = spec.without_line_filters()
        # Checked now, so a wrong --source fails before any read.
        self._known.shown(spec, stats)

        def read() -> Iterator[LogEvent]:
            return self._known.read(every_line, self.select((), spec.log_groups), stats, stop)

        def labeled() -> Iterator[LabeledEvent]:
            events = self._known.checked(read, stats)
            first = next(events, None)
            # After the first event the topology is settled (a cached one checked): what is
            # shown is chosen from the topology that holds.
            everything = self.select((), spec.log_groups).sources
            narrowing = self.select(spec.sources, spec.log_groups).narrowing(everything)
            expect_calls = self._known.expects_calls(everything)
            if first is None:
                return
            yield from label_window(
                itertools.chain((first,), events),
                Labeller(hold_ms, max_held, expect_calls=expect_calls),
                shown_by(narrowing, spec),
                stats,
            )

        return _typed_stream(labeled())

    def requests(
        self,
        start: TimeArg | ReadSpec = "5m",
        end: TimeArg | None = None,
        *,
        where: RequestFilter | None = None,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> Iterator[Request]:
        """The window's requests, each with every line it left, in the order they started.

        `where` keeps only matching requests (default: every request API Gateway saw; Lambda
        invocations no API Gateway line claimed are left out). `grep`/`exclude` narrow lines,
        not requests: every line is read."""
        wanted = where if where is not None else RequestFilter()
        spec = self.spec(start, end, **options).without_line_filters()
        events = self.events(spec, stop=stop, stats=stats)
        return (request for request in correlate(events) if wanted(request))

    def window_updates(
        self,
        start: TimeArg | ReadSpec = "5m",
        end: TimeArg | None = None,
        *,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> Iterator[WindowStep]:
        """The window's events with the request updates they cause as they stream, the shape
        `follow` gives (NEW at a request's first line, UPDATED, CLOSED; the last step closes
        every one): for a view that shows a request before the window is read. `grep` and
        `exclude` narrow the events, not what is joined (`window_steps`)."""
        spec = self.spec(start, end, **options)
        events = self.events(spec.without_line_filters(), stop=stop, stats=stats)
        return read_in_steps(events, keep=spec.keeps if spec.filters_lines else None)

    @_typed
    def stats(
        self,
        start: TimeArg | ReadSpec = "5m",
        end: TimeArg | None = None,
        *,
        where: RequestFilter | None = None,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> WindowStats | InsightsSummary:
        """The numbers `apilogs stats` prints, as data (`to_dict()` is the JSON document).

        With the insights engine Logs Insights computes them server-side (`InsightsSummary`):
        requests are access log lines, and errors by cause, which need every request's lines
        joined, are left out."""
        stats = stats if stats is not None else FetchStats()
        spec = self.spec(start, end, **options)
        if spec.engine != "filter":
            self.settle()  # the choice weighs the groups' sizes: the topology that holds
        chosen = self._known.shown(spec, stats).sources
        engine = self._known.engine(spec, chosen, stats)
        narrowed = where is not None and where != RequestFilter()
        if engine.summarizes and narrowed and spec.engine == "auto":
            # Insights sums the whole API; the requests under a path are known from their lines.
            stats.notice(
                "the requests under the path are summed from their lines (FilterLogEvents)"
            )
        elif engine.summarizes:
            head = self._known.head_for(stats)  # a FilterLogEvents read begun for nothing
            if head is not None:
                head.close()
            from apilogs.fetch.insights import InsightsUnserved

            reading = spec.reading(self.context, queries_for(chosen), stats, stop)
            try:
                return summed_by(engine, reading, chosen, where)
            except InsightsUnserved as exc:
                if spec.engine != "auto":
                    raise
                stats.notice(f"{exc}: summed with FilterLogEvents instead")
        by_filter = replace(spec, engine="filter")
        return summed(self.requests(by_filter, where=where, stop=stop, stats=stats), stop)

    @_typed
    def lookup(
        self,
        ids: str | Iterable[str],
        start: TimeArg | ReadSpec = "1h",
        end: TimeArg | None = None,
        *,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> Lookup:
        """The requests carrying any of `ids` (API Gateway, Lambda, X-Ray or extended request
        IDs, or a unique prefix of at least 8 characters of one), each with every line of every
        group, its Lambda's `print` lines included; and, per ID, whether it was found, which
        full ID a prefix stood for, or which requests an ambiguous prefix matches.

        IDs are looked up in every group of the API (plus `log_groups`); `sources` narrows the
        lines each request carries (its outcome and cause still come from all of them). Text
        that cannot be an ID raises InvalidInput at once. `engine` scans the window for the IDs
        (as for `events`: Logs Insights suits windows of hours or days); the other filters do
        not apply."""
        self.settle()
        wanted = [ids] if isinstance(ids, str) else list(ids)
        stats = stats if stats is not None else FetchStats()
        spec = replace(self.spec(start, end, **options), filter_pattern=None)
        shown = self._known.shown(spec, stats)
        everywhere = self.select((), spec.log_groups).sources
        engine = self._known.engine(spec, everywhere, stats)
        reading = spec.reading(self.context, queries_for(everywhere), stats, stop)
        found = find_requests(reading, wanted, engine)
        shows = shown.narrowing(everywhere)
        return found if shows is None else found.narrowed(shows)

    @_typed
    def find(
        self,
        ids: str | Iterable[str],
        start: TimeArg | ReadSpec = "1h",
        end: TimeArg | None = None,
        *,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        must_exist: bool = False,
        **options: Unpack[ReadOptions],
    ) -> list[Request]:
        """`lookup`'s requests. An ID prefix that matches several requests raises
        AmbiguousRequestId; `must_exist`: raise RequestNotFound instead of returning an empty
        list."""
        wanted = [ids] if isinstance(ids, str) else list(ids)
        spec = self.spec(start, end, **options)
        found = self.lookup(wanted, spec, stop=stop, stats=stats)
        if found.ambiguous:
            raise AmbiguousRequestId(*found.ambiguous[0])
        if not found.requests and must_exist:
            raise RequestNotFound(wanted, spec.start_ms, spec.end_ms)
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
        start: TimeArg | ReadSpec = "5m",
        *,
        correlate: bool = True,
        label: bool = False,
        hold_ms: int = DEFAULT_HOLD_MS,
        max_held: int = DEFAULT_MAX_HELD,
        interval: float | None = None,
        close_after_ms: int = CLOSE_AFTER_MS,
        clock: Callable[[], float] = time.time,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> Iterator[FollowBatch]:
        """Follow every group from `start` until `stop`: new events in time order, and (with
        `correlate`) the request updates they cause. A batch comes at least every quarter
        second (empty when nothing happened). `live`: through Live Tail sessions instead of
        polling (groups it is refused for are polled, with a notice; sampled updates are said
        and their gaps read). `fail_after_s`: end with IncompleteRead once a group's reads
        have all failed this long (default: keep trying, and say so). `interval`: the
        spec's `interval_s`, seconds between polls of each group.

        `label`: each event carries its request's API Gateway request ID, as `labeled_events`
        gives it: an event is held back (at most `hold_ms` past its time on `clock`, and
        `max_held` events) until its request is known; every group is read for that, and
        `sources` narrows what is delivered. An event not yet known holds back the ones after
        it for `DEFAULT_BLOCK_MS` at most (`Labeller(in_order=False)`); then the known ones are
        delivered ahead of it, and it is `late` when it comes."""
        self.settle()
        stats = stats if stats is not None else FetchStats()
        if interval is not None:
            options["interval_s"] = interval
        spec = replace(self.spec(start, **options), end=None)
        shown = self._known.shown(spec, stats)
        selection = self.select((), spec.log_groups) if label else shown
        chosen = selection.sources
        expect_calls = self._known.expects_calls(chosen)
        following = Following(
            Correlator(track_updates=True) if correlate else None,
            Labeller(hold_ms, max_held, expect_calls=expect_calls, in_order=False)
            if label
            else None,
            shown_by(shown.narrowing(chosen) if label else None, spec),
            clock,
            close_after_ms,
        )
        read = follow_events(
            self.context,
            chosen,
            spec.without_line_filters(),
            stats,
            stop=stop,
            selection=None if label else selection,
        )
        return _typed_stream(following.batches(read, stats))

    def follow_requests(
        self,
        start: TimeArg | ReadSpec = "5m",
        *,
        where: RequestFilter | None = None,
        interval: float | None = None,
        close_after_ms: int = CLOSE_AFTER_MS,
        clock: Callable[[], float] = time.time,
        stop: StopSignal | None = None,
        stats: FetchStats | None = None,
        **options: Unpack[ReadOptions],
    ) -> Iterator[RequestUpdate]:
        """Requests as they happen: NEW when one first matches `where`, UPDATED as lines join
        it (also after it closed, when a line arrives late), CLOSED when it is complete."""
        matching = MatchingUpdates(where)

        def updates() -> Iterator[RequestUpdate]:
            for batch in self.follow(
                start,
                interval=interval,
                close_after_ms=close_after_ms,
                clock=clock,
                stop=stop,
                stats=stats,
                **options,
            ):
                yield from matching(batch.updates)

        return updates()


def lines_of(requests: Iterable[Request]) -> list[LogEvent]:
    """Every line of these requests once, in time order (a line two requests share, once)."""
    unique = {id(e): e for r in requests for e in r.events}
    return sorted(
        unique.values(),
        key=lambda e: (e.raw.timestamp, e.raw.group, e.raw.stream, e.raw.event_id),
    )
