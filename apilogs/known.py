"""An API's topology over the life of an `Api`: found (discovered, or taken from the cache and
checked in one round trip while the first reads run), found again when the check says it
changed, and the read of the execution log begun while it was being found (`FirstRead`); and
the window reads of its sources, the first of which may take that read over."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import InitVar, dataclass, field, replace
from datetime import tzinfo
from typing import TYPE_CHECKING

from apilogs.aws import AwsContext
from apilogs.cancel import StopSignal
from apilogs.fetch import FetchStats, HeadStart
from apilogs.fetch.engines import WindowEngine, window_engine
from apilogs.model import LogEvent, Role, Source, Topology
from apilogs.spec import ReadSpec
from apilogs.stream import Selection, read_events, select_sources
from apilogs.times import TimeArg, resolve_window

if TYPE_CHECKING:
    from apilogs.discover.cache import Fingerprint

__all__ = ["FirstRead", "KnownTopology", "find_topology"]

# A REST API's ID: what API Gateway makes (anything else is a name, or another kind's ID).
_REST_API_ID = re.compile(r"[a-z0-9]{10}")


@dataclass(frozen=True, slots=True)
class FirstRead(ReadSpec):
    """The window read an Api will be asked for first, told to `open_api` so that the read of
    the execution log can begin while discovery runs: its name follows from the API ID and
    stage, the other groups take a few round trips to find.

    A window read of the same `start`, `end`, `filter_pattern`, `fail_after_s` and `stats`
    (the very object) that covers the execution log takes the pages read so far over; the
    window is then as resolved when the API was opened. Any other read stops it, and so does
    a minute without a read. Pages read ahead are counted in `stats` whether taken or not."""

    stats: FetchStats = field(default_factory=FetchStats)

    @classmethod
    def of(cls, spec: ReadSpec, stats: FetchStats) -> FirstRead:
        """The first read of `spec`, counted in `stats`."""
        return cls(
            **{name: getattr(spec, name) for name in ReadSpec.__dataclass_fields__}, stats=stats
        )


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
        policy=read.window_policy(),
    )
    return _Ahead(read, window, head)


def find_topology(
    context: AwsContext,
    api_id: str,
    stage: str | None,
    *,
    endpoint_url: str | None,
    profile: str | None,
    cache: bool,
    refresh: bool,
    first_read: FirstRead | None,
    tz: tzinfo | None,
) -> KnownTopology:
    """The topology from the cache (checked meanwhile), else discovered now, with the first
    read begun while it is (`open_api` says the rest)."""
    from apilogs.discover import cache as topology_cache
    from apilogs.discover import discover

    key = topology_cache.cache_key(
        profile or context.session.profile_name, context.region, endpoint_url, api_id, stage
    )
    if cache and not refresh:
        hit = topology_cache.load(key)
        if hit is not None:
            topology, fingerprint = hit
            check = _Validation(key, api_id, stage, fingerprint, context, topology)
            return KnownTopology(context, topology, tz, pending=check)
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
    return KnownTopology(context, topology, tz, ahead=ahead)


@dataclass(eq=False)
class _Validation:
    """A cached topology's check, running while the first reads go out."""

    key: str
    api_ref: str
    stage: str | None
    fingerprint: Fingerprint
    context: InitVar[AwsContext]
    topology: InitVar[Topology]
    _done: threading.Event = field(init=False, default_factory=threading.Event)
    _now: Fingerprint | None = field(init=False, default=None)
    _unanswered: bool = field(init=False, default=False)

    def __post_init__(self, context: AwsContext, topology: Topology) -> None:
        from apilogs.discover.cache import read_fingerprint

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


@dataclass(eq=False)
class KnownTopology:
    """The topology an Api reads, kept true, and what depends on it: the selections of its
    sources, the window reads of them (their engine chosen from the sources' sizes), and the
    first read begun while it was found."""

    context: AwsContext
    topology: Topology
    tz: tzinfo | None = None
    pending: InitVar[_Validation | None] = field(default=None, kw_only=True)
    ahead: InitVar[_Ahead | None] = field(default=None, kw_only=True)
    _pending: _Validation | None = field(init=False, default=None)
    _ahead: _Ahead | None = field(init=False, default=None)
    _selections: dict[tuple[tuple[str, ...], tuple[str, ...]], Selection] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self, pending: _Validation | None, ahead: _Ahead | None) -> None:
        self._pending = pending
        self._ahead = ahead

    @property
    def from_cache(self) -> bool:
        return self._pending is not None

    def close(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.head.close()

    def settle(self) -> bool:
        """Wait for a cached topology's check; discover again if it is stale. True when the
        topology changed (then `topology` is the new one)."""
        pending = self._pending
        if pending is None:
            return False
        self._pending = None
        if pending.still_true():
            return False
        from apilogs.discover import cache as topology_cache
        from apilogs.discover import discover

        topology, fingerprint = discover(self.context, pending.api_ref, pending.stage)
        if not topology.inferred:
            topology_cache.store(pending.key, topology, fingerprint)
        else:
            topology_cache.forget(pending.key)
        self.topology = topology
        self._selections.clear()
        return True

    def select(self, sources: Iterable[str] = (), log_groups: Iterable[str] = ()) -> Selection:
        key = (tuple(sources), tuple(log_groups))
        found = self._selections.get(key)
        if found is None:
            found = self._selections[key] = select_sources(self.topology, *key)
        return found

    def expects_calls(self, sources: Iterable[Source]) -> bool:
        """Whether API Gateway's `Sending request to` lines are read: REST and WebSocket
        execution logs at INFO write one before every Lambda call."""
        level = (self.topology.logging_level or "").upper()
        return level == "INFO" and any(s.role is Role.EXECUTION for s in sources)

    def shown(self, spec: ReadSpec, stats: FetchStats) -> Selection:
        """The sources a read shows; their notices go to `stats`."""
        selection = self.select(spec.sources, spec.log_groups)
        for notice in selection.notices:
            stats.notice(notice)
        return selection

    def engine(
        self, spec: ReadSpec, sources: tuple[Source, ...], stats: FetchStats
    ) -> WindowEngine:
        """What reads the (resolved) spec's window of `sources`."""
        return window_engine(
            spec.engine,
            sources,
            spec.start_ms,
            spec.end_ms,
            spec.filter_pattern,
            stats,
            rps=self.context.logs_limiter.configured,
            endpoint_url=self.context.endpoint_url,
        )

    def read(
        self,
        spec: ReadSpec,
        selection: Selection,
        stats: FetchStats,
        stop: StopSignal | None,
        *,
        parse: bool = True,
    ) -> Iterator[LogEvent]:
        """A window read of `selection` (`read_events`): the first one may take the read begun
        at open over (`head_for`)."""
        return read_events(
            self.context,
            selection.sources,
            spec,
            stats,
            # A shared log group: its other functions' lines are told apart by the parser (the
            # stream name is enough, but a line must be parsed to be dropped cheaply).
            parse=parse or bool(selection.companions),
            stop=stop,
            engine=self.engine(spec, selection.read, stats),
            selection=selection,
            head=self.head_for(stats),
        )

    def window(self, start: TimeArg, end: TimeArg | None = None) -> tuple[int, int | None]:
        ahead = self._ahead
        if ahead is not None and (start, end) == (ahead.read.start, ahead.read.end):
            return ahead.window  # the first read's window, as it was resolved when it began
        return resolve_window(start, end, tz=self.tz)

    def resolve(self, spec: ReadSpec) -> ReadSpec:
        """The spec with its window resolved as `window` resolves it."""
        start_ms, end_ms = self.window(spec.start, spec.end)
        return replace(spec, start=start_ms, end=end_ms)

    def head_for(self, stats: FetchStats) -> HeadStart | None:
        """The read begun at open (`FirstRead`), offered to the first read only; the fetch
        takes it over if it fits and stops it if not."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if ahead.read.stats is not stats:
            ahead.head.close()
            return None
        return ahead.head

    def checked(
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
        if pending is not None and stats.gone_groups:
            # A group the cached topology named is gone: the next run discovers again.
            from apilogs.discover import cache as topology_cache

            topology_cache.forget(pending.key)
