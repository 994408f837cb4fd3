"""The pipeline every front end shares: which sources, fetched and merged, parsed, filtered.

Topology + what the user asked for → a stream of LogEvents (a window) or of batches (follow)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from apilogs.aws import AwsContext
from apilogs.cancel import StopSignal
from apilogs.errors import InvalidInput, NothingToRead, UnknownSource
from apilogs.fetch import FetchStats, HeadStart, queries_for
from apilogs.fetch.classes import DELIVERY, INFREQUENT_ACCESS, delivery_notice, unfollowable_notice
from apilogs.fetch.engines import FILTER, WindowEngine, follower
from apilogs.join.streams import OverlapWatch, overlap_notice
from apilogs.model import LineKind, LogEvent, RawEvent, Request, Role, Source, Topology
from apilogs.parse import parse_event
from apilogs.parse.lambda_ import stream_function
from apilogs.parse.vet import LEFT_OUT
from apilogs.spec import ReadSpec

ROLE_NAMES = {str(r) for r in Role if r is not Role.OTHER}

_DEFAULT_GROUP = "/aws/lambda/"
_FUNCTION_ROLES = (Role.LAMBDA, Role.AUTHORIZER)
# Enum members the per-event code uses, read from module names: on Python 3.11, reading
# `Role.ACCESS` from its class takes EnumType.__getattr__'s slow path.
_ACCESS, _EXECUTION = Role.ACCESS, Role.EXECUTION
_MAX_STREAMS = 100_000
# The lines that tell invocations overlap in one stream (`OverlapWatch`).
_BOUNDS = frozenset({LineKind.LAMBDA_START, LineKind.LAMBDA_REPORT})


class StreamSources:
    """Each event's function, from its log stream's name: a shared group's streams name theirs.

    A read tags an event with its group's Source; a group several functions share, or one given
    by `--log-group` (role `other`), says whose line it is only in the stream's name. An event
    of such a stream gets the Source of the function it names: the one the API knows (its role,
    authorizer or integration, and qualifier), over this group; else a Lambda Source of that
    name. The joins then keep each function's invocations apart, and place its ID-less lines in
    the invocation open in their own stream only. One lookup per event (cached per stream)."""

    __slots__ = ("_cache", "_functions")

    def __init__(self, sources: Iterable[Source]) -> None:
        self._functions: dict[str, Source] = {}
        for source in sources:
            name = source.function_name
            if name and source.role in _FUNCTION_ROLES:
                # An integration's Source wins over the same function's as an authorizer.
                known = self._functions.get(name)
                if known is None or known.role is Role.AUTHORIZER:
                    self._functions[name] = source
        self._cache: dict[tuple[int, str], tuple[Source, Source]] = {}

    def __call__(self, raw: RawEvent) -> RawEvent:
        """The event, with the Source its stream names (the same object when it is its own)."""
        source = raw.source
        role = source.role
        if role is _EXECUTION or role is _ACCESS:
            return raw
        key = (id(source), raw.stream)
        cached = self._cache.get(key)
        if cached is None or cached[0] is not source:
            if len(self._cache) >= _MAX_STREAMS:
                self._cache.clear()
            cached = self._cache[key] = (source, self._attribute(source, raw.stream))
        found = cached[1]
        if found is source:
            return raw
        return RawEvent(
            raw.timestamp,
            raw.ingestion_time,
            raw.group,
            raw.stream,
            raw.event_id,
            raw.message,
            found,
        )

    def _attribute(self, source: Source, stream: str) -> Source:
        named = stream_function(stream)
        if named is None:
            return source
        function = named[0]
        if function is None and source.log_group.startswith(_DEFAULT_GROUP):
            function = source.log_group[len(_DEFAULT_GROUP) :] or None
        if source.role is not Role.OTHER and (function is None or function == source.function_name):
            return source
        known = self._functions.get(function) if function else None
        if known is not None:
            if known.log_group == source.log_group and known.region == source.region:
                return known
            return replace(known, log_group=source.log_group, region=source.region)
        if source.role is Role.OTHER and function is None:
            # A Lambda stream whose function nothing says: a Lambda's line all the same.
            return Source(Role.LAMBDA, source.log_group, source.region)
        return Source(Role.LAMBDA, source.log_group, source.region, function_name=function)


@dataclass
class Selection:
    """The sources a read shows, and what else it must read to tell their lines apart.

    Several functions may log to one group (Lambda's custom log groups): a chosen function's
    group is read with its `companions`, the other functions of that group, so that each event
    is attributed by its stream's name; only the chosen functions' lines are kept (`keeps`).
    A group given by `--log-group` (role `other`) may be such a group too: when `--source`
    chose functions by name (`functions`), only their lines of it are kept (and those of
    streams that name no function)."""

    sources: tuple[Source, ...]
    notices: list[str] = field(default_factory=list)
    companions: tuple[Source, ...] = ()
    functions: frozenset[str] = frozenset()

    @property
    def filters(self) -> bool:
        """Whether `keeps` may drop an event read for this selection."""
        return bool(self.companions) or bool(self.functions and self._other_groups)

    @property
    def read(self) -> tuple[Source, ...]:
        """What to read: the sources, then their companions."""
        return self.sources + self.companions

    def keeps(self, event: LogEvent) -> bool:
        """Whether an event read for this selection is one of its sources' (always true without
        companions)."""
        if not self.filters:
            return True
        source = event.raw.source
        if self.functions and source.log_group in self._other_groups:
            # Its function is the one its stream names (`StreamSources`).
            return source.function_name is None or source.function_name in self.functions
        if source.log_group not in self._shared:
            return True
        stream = event.raw.stream
        return any(
            f"/{s.function_name}[" in stream
            for s in self.sources
            if s.log_group == source.log_group and s.function_name
        )

    def narrowing(self, read: Iterable[Source]) -> Callable[[LogEvent], bool] | None:
        """For a read of the sources `read` (every group of the API, to tell which request a
        line belongs to) that shows only this selection's: whether an event is one shown.
        None when every event read is."""
        wanted = frozenset(self.sources)
        if set(read) == wanted and not self.filters:
            return None
        # An event of a Lambda group gets the Source its stream names (`StreamSources`): one
        # of a chosen group is shown when `keeps` keeps it.
        groups = frozenset(
            s.log_group for s in self.sources if s.role in _FUNCTION_ROLES or s.role is Role.OTHER
        )
        return lambda event: (
            (event.raw.source in wanted or event.raw.source.log_group in groups)
            and self.keeps(event)
        )

    @property
    def _shared(self) -> frozenset[str]:
        return frozenset(c.log_group for c in self.companions)

    @property
    def _other_groups(self) -> frozenset[str]:
        return frozenset(s.log_group for s in self.sources if s.role is Role.OTHER)


def select_sources(
    topology: Topology, selectors: Iterable[str] = (), extra_groups: Iterable[str] = ()
) -> Selection:
    """`--source execution|access|lambda|authorizer|FUNCTION` narrows; `--log-group` adds."""
    wanted = [s.strip() for s in selectors if s.strip()]
    readable = topology.readable_sources

    def chosen(source: Source) -> bool:
        return any(_selects(w, source) for w in wanted)

    if wanted:
        names = {n for s in topology.sources for n in _names(s)}
        unknown = [w for w in wanted if w not in ROLE_NAMES and w not in names]
        if unknown:
            raise UnknownSource(unknown[0], sorted(ROLE_NAMES | names))
        readable = tuple(s for s in readable if chosen(s))
    notices = [
        f"{s.label}: log group {s.log_group} does not exist, skipped"
        for s in topology.sources
        if s.exists is False and (not wanted or chosen(s))
    ]
    # Nothing can read a Delivery-class group: said, and the rest is read.
    undeliverable = [s for s in readable if s.log_class == DELIVERY]
    notices += list(dict.fromkeys(delivery_notice(s.log_group) for s in undeliverable))
    readable = tuple(s for s in readable if s.log_class != DELIVERY)
    extra = tuple(
        Source(Role.OTHER, group, topology.region)
        for group in dict.fromkeys(extra_groups)
        if group not in {s.log_group for s in readable}
    )
    sources = readable + extra
    if not sources:
        raise NothingToRead(topology.api_id, topology.stage, wanted)
    chosen_groups = {(s.region, s.log_group) for s in sources if s.function_name}
    companions = tuple(
        s
        for s in topology.readable_sources
        if s.function_name
        and s.log_class != DELIVERY
        and (s.region, s.log_group) in chosen_groups
        and s not in sources
        and not any(
            c.function_name == s.function_name and c.log_group == s.log_group for c in sources
        )
    )
    functions = frozenset(
        w for w in wanted if w not in ROLE_NAMES and any(w in _names(s) for s in topology.sources)
    )
    # `name:qualifier` chooses the function's lines too (a stream names no alias).
    functions |= {w.partition(":")[0] for w in functions}
    return Selection(sources, notices, companions, functions)


def _names(source: Source) -> tuple[str, ...]:
    """What `--source` may call a source: its function, and `function:qualifier` as `groups`
    prints it."""
    if not source.function_name:
        return ()
    if source.qualifier:
        return (source.function_name, f"{source.function_name}:{source.qualifier}")
    return (source.function_name,)


def _selects(selector: str, source: Source) -> bool:
    return selector == str(source.role) or selector in _names(source)


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Which requests `apilogs requests` shows: --status, --errors, --cold, --slow, --path."""

    statuses: tuple[tuple[int, int], ...] = ()  # inclusive ranges
    errors_only: bool = False
    cold_only: bool = False
    slower_than_ms: float | None = None
    path_glob: str | None = None
    # A URL's path inside the API (`apilogs.discover.urls.PathUnder`): (path sent, route) → kept.
    path_under: Callable[[str | None, str | None], bool] | None = None

    @staticmethod
    def status_ranges(values: Iterable[str]) -> tuple[tuple[int, int], ...]:
        """`5xx`, `502`, `4xx,429` → inclusive ranges."""
        ranges: list[tuple[int, int]] = []
        for value in ",".join(values).split(","):
            value = value.strip().lower()
            if not value:
                continue
            if re.fullmatch(r"[1-5]xx", value):
                low = int(value[0]) * 100
                ranges.append((low, low + 99))
            elif re.fullmatch(r"[1-5]\d\d", value):
                ranges.append((int(value), int(value)))
            else:
                raise InvalidInput(f"bad status {value!r}: use 5xx, 4xx, 502, …", name="status")
        return tuple(ranges)

    def __call__(self, request: Request) -> bool:
        if not request.seen_by_api_gateway:
            return False  # Lambda lines no API Gateway line claimed: an invocation, not a request
        status = request.status
        if self.statuses and not (
            status is not None and any(lo <= status <= hi for lo, hi in self.statuses)
        ):
            return False
        if self.errors_only and not request.outcome.is_error:
            return False
        if self.cold_only and not request.cold_start:
            return False
        if (
            self.slower_than_ms is not None
            and (request.response_latency_ms or 0) < self.slower_than_ms
        ):
            return False
        if self.path_under is not None and not self.path_under(request.path, request.route):
            return False
        if not self.path_glob:
            return True
        # The path the client sent or the route's template: either may be what people type.
        candidates = [p for p in (request.path, request.route) if p]
        return any(fnmatch.fnmatchcase(p, self.path_glob) for p in candidates)


def read_events(
    ctx: AwsContext,
    sources: tuple[Source, ...],
    spec: ReadSpec,
    stats: FetchStats,
    *,
    parse: bool = True,
    stop: StopSignal | None = None,
    engine: WindowEngine = FILTER,
    selection: Selection | None = None,
    head: HeadStart | None = None,
) -> Iterator[LogEvent]:
    """Every event of the (resolved) spec's window, merged, parsed and filtered, as a stream.

    `engine`: what reads it (`apilogs.fetch.engines`). `parse=False` skips the parsers for
    consumers that only print the message (plain lines into a pipe): the events carry the
    UNPARSED line. `selection`: read its sources with their companions, keep what it keeps
    (`sources` is then ignored). `head`: a read of one group begun earlier
    (`fetch.HeadStart`), taken over when it fits."""
    filtering = spec.filters_lines
    narrowing = selection is not None and selection.filters
    if selection is not None:
        sources = selection.read
    reading = spec.reading(ctx, queries_for(sources), stats, stop)
    raws = engine.read(reading, head)
    attribute = StreamSources(sources)
    overlaps = OverlapWatch()
    for raw in raws:
        role = raw.source.role
        if role is not _EXECUTION and role is not _ACCESS:
            # API Gateway's lines are their group's own (`StreamSources` returns them as they
            # are): most lines of a window skip the call.
            raw = attribute(raw)
        event = parse_event(raw) if parse else LogEvent(raw)
        line = event.line
        if line.kind in _BOUNDS:
            _watch(overlaps, event, stats)
        if LEFT_OUT in line.fields:
            stats.left_out.update(line.fields[LEFT_OUT])
        if narrowing and not selection.keeps(event):  # type: ignore[union-attr]
            continue
        if not filtering or spec.keeps(event):
            yield event


def _watch(overlaps: OverlapWatch, event: LogEvent, stats: FetchStats) -> None:
    """Said once per group: its invocations overlap (Lambda Managed Instances), so its lines
    join by request ID only (`apilogs.join.streams`)."""
    group = overlaps.see(event)
    if group is not None:
        stats.notice(overlap_notice(group))


def _followable(sources: tuple[Source, ...], stats: FetchStats) -> tuple[Source, ...]:
    """The sources that can be followed: not those of Infrequent Access groups (neither
    FilterLogEvents nor Live Tail reads them), each said once."""
    infrequent = [s.log_group for s in sources if s.log_class == INFREQUENT_ACCESS]
    for group in dict.fromkeys(infrequent):
        stats.notice(unfollowable_notice(group))
    followable = tuple(s for s in sources if s.log_class != INFREQUENT_ACCESS)
    if infrequent and not followable:
        raise InvalidInput(
            "nothing to follow: every log group chosen is Infrequent Access, which neither "
            "FilterLogEvents nor Live Tail reads; drop --watch to read a window (Logs Insights)",
            name="watch",
        )
    return followable


def follow_events(
    ctx: AwsContext,
    sources: tuple[Source, ...],
    spec: ReadSpec,
    stats: FetchStats,
    *,
    stop: StopSignal | None = None,
    selection: Selection | None = None,
) -> Iterator[list[tuple[LogEvent, bool]]]:
    """Batches of (event, late) in time order from the (resolved) spec's start until `stop`,
    polling or, with `spec.live`, through Live Tail sessions (`apilogs.fetch.engines`).
    `selection`: as for `read_events`."""
    if selection is not None:
        sources = selection.read
    sources = _followable(sources, stats)
    reading = spec.reading(ctx, queries_for(sources), stats, stop, following=True)
    batches = follower(spec.live).batches(reading, spec.interval_s, spec.max_lag_ms)
    attribute = StreamSources(sources)
    overlaps = OverlapWatch()
    for batch in batches:
        kept = []
        for released in batch:
            event = parse_event(attribute(released.event))
            if event.line.kind in _BOUNDS:
                _watch(overlaps, event, stats)
            if LEFT_OUT in event.line.fields:
                stats.left_out.update(event.line.fields[LEFT_OUT])
            if selection is not None and not selection.keeps(event):
                continue
            if spec.keeps(event):
                kept.append((event, released.late))
        # Empty batches too: they are the heartbeat consumers use to close idle requests.
        yield kept
