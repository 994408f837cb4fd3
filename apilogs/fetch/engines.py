"""The engines that read CloudWatch Logs, each behind one small interface, chosen once.

A window is read by FilterLogEvents (`FILTER`) or Logs Insights (`INSIGHTS`), named by the user
(`filter`, `insights`) or chosen by the window (`auto`, `apilogs.fetch.auto`): `window_engine`
is the one place that name is looked at. Following polls FilterLogEvents (`POLLING`) or holds
Live Tail sessions (`LIVE_TAIL`): `follower` picks one."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import botocore.exceptions

from apilogs.aws import AwsContext
from apilogs.cancel import StopSignal
from apilogs.errors import InvalidInput
from apilogs.fetch import (
    WINDOW_POLICY,
    FetchStats,
    HeadStart,
    RetryPolicy,
    fetch_window,
    follow,
)
from apilogs.fetch.auto import choose_engine
from apilogs.fetch.filter import GroupQuery
from apilogs.fetch.merge import Released
from apilogs.model import RawEvent, Source

if TYPE_CHECKING:
    from apilogs.fetch.insights import InsightsSummary

__all__ = [
    "ENGINES",
    "FILTER",
    "INSIGHTS",
    "LIVE_TAIL",
    "MAX_PATTERN_CHARS",
    "POLLING",
    "EngineName",
    "Follower",
    "Reading",
    "WindowEngine",
    "filter_patterns",
    "follower",
    "quoted",
    "window_engine",
]

# What the user may ask for: FilterLogEvents, Logs Insights, or the one that suits the window.
EngineName = Literal["filter", "insights", "auto"]
ENGINES: tuple[EngineName, ...] = ("filter", "insights", "auto")

# CloudWatch Logs refuses longer filter patterns.
MAX_PATTERN_CHARS = 1024


@dataclass(frozen=True, slots=True)
class Reading:
    """What every engine is handed, whichever it is: the groups, the window (`end_ms` None:
    until now; from `start_ms` on, when following), where counts and notices go, how to stop,
    how long to retry, and CloudWatch's filter pattern (for what reads every line)."""

    ctx: AwsContext
    queries: list[GroupQuery]
    start_ms: int
    end_ms: int | None
    stats: FetchStats
    stop: StopSignal | None = None
    policy: RetryPolicy = WINDOW_POLICY
    filter_pattern: str | None = None


class WindowEngine(Protocol):
    """What reads a window of some groups."""

    # Whether it sums a window itself (`summarize`), instead of every line being read.
    summarizes: bool

    def read(self, reading: Reading, head: HeadStart | None = None) -> Iterator[RawEvent]:
        """Every event of the window, merged in time order. `head`: a read begun earlier,
        taken over when it fits, else stopped."""
        ...

    def search(self, reading: Reading, terms: list[str]) -> Iterator[Iterable[RawEvent]]:
        """The reads that find the events holding any of `terms` (each a stream in time
        order; what comes back may hold more, and is checked by the caller)."""
        ...

    def summarize(self, reading: Reading, sources: Sequence[Source]) -> InsightsSummary | None:
        """The window's sums of `sources`, when `summarizes`; None once `stop` is set."""
        ...


class _Filter:
    """FilterLogEvents: exact and free, paged at the account's read rate."""

    summarizes = False

    def read(self, reading: Reading, head: HeadStart | None = None) -> Iterator[RawEvent]:
        return _fetch(reading, reading.filter_pattern, head=head)

    def search(self, reading: Reading, terms: list[str]) -> Iterator[Iterable[RawEvent]]:
        # `?"a" ?"b"` patterns, as many as the pattern length limit needs.
        for pattern in filter_patterns(terms):
            # `terms`: what Logs Insights looks for in a group only it can read.
            yield _fetch(reading, pattern, terms=[t for t in terms if quoted(t) in pattern])

    def summarize(self, reading: Reading, sources: Sequence[Source]) -> InsightsSummary | None:
        raise NotImplementedError("FilterLogEvents reads the lines: they are summed by the caller")


def _fetch(
    reading: Reading,
    filter_pattern: str | None,
    *,
    head: HeadStart | None = None,
    terms: list[str] | None = None,
) -> Iterator[RawEvent]:
    return fetch_window(
        reading.ctx,
        reading.queries,
        reading.start_ms,
        reading.end_ms,
        reading.stats,
        filter_pattern=filter_pattern,
        stop=reading.stop,
        policy=reading.policy,
        head=head,
        terms=terms,
    )


class _Insights:
    """Logs Insights: scans the window server-side, for long windows; no filter pattern."""

    summarizes = True
    chosen = False  # by `--engine auto`, which gives way where the endpoint does not serve it

    def read(self, reading: Reading, head: HeadStart | None = None) -> Iterator[RawEvent]:
        if head is not None:
            head.close()  # a FilterLogEvents read begun for nothing
        return self._checked(reading)

    def _checked(self, reading: Reading) -> Iterator[RawEvent]:
        from apilogs.fetch.insights import InsightsUnserved

        found = False
        for event in self._scan(reading, ()):
            found = True
            yield event
        if found:
            return
        try:
            self._nothing_found(reading, "found no lines")
        except InsightsUnserved as exc:  # the engine auto chose gives way
            reading.stats.notice(f"{exc}: read with FilterLogEvents instead")
            yield from FILTER.read(reading)

    def search(self, reading: Reading, terms: list[str]) -> Iterator[Iterable[RawEvent]]:
        # One scan, `filter @message like …`.
        yield self._scan(reading, terms)

    @staticmethod
    def _scan(reading: Reading, terms: Sequence[str]) -> Iterator[RawEvent]:
        from apilogs.fetch import insights

        return insights.read_window(
            reading.ctx,
            reading.queries,
            reading.start_ms,
            reading.end_ms,
            reading.stats,
            stop=reading.stop,
            terms=terms,
        )

    def summarize(self, reading: Reading, sources: Sequence[Source]) -> InsightsSummary | None:
        from apilogs.fetch.insights import InsightsUnserved, stats_window

        end_ms = reading.end_ms if reading.end_ms is not None else int(time.time() * 1000)
        try:
            found = stats_window(
                reading.ctx, sources, reading.start_ms, end_ms, reading.stats, stop=reading.stop
            )
        except InsightsUnserved as exc:
            if self.chosen:
                raise
            raise InsightsUnserved(f"{exc} (use --engine filter)") from None
        if found is not None and found.requests == 0:
            self._nothing_found(reading, "counted no requests")
        return found

    def _nothing_found(self, reading: Reading, what: str) -> None:
        """Insights found nothing: if FilterLogEvents finds a line in the window, Insights is not
        serving these groups (an emulator, a group it cannot scan) and that is said; the engine
        auto chose gives way (`InsightsUnserved`), one asked for by name is only doubted."""
        from apilogs.fetch.insights import InsightsUnserved

        if reading.stop is not None and reading.stop.is_set():
            return
        group = group_with_events(reading)
        if group is None:
            return  # truly nothing in the window
        said = f"Logs Insights {what}, but FilterLogEvents finds lines in {group} in the window"
        if self.chosen:
            raise InsightsUnserved(said)
        reading.stats.notice(f"{said}: the result may be wrong (try --engine filter)")


def group_with_events(reading: Reading) -> str | None:
    """The first of the reading's groups in which one small FilterLogEvents call finds a line of
    the window; None when none does (or none answers)."""
    end_ms = reading.end_ms if reading.end_ms is not None else int(time.time() * 1000)
    for query in reading.queries:
        if not reading.ctx.logs_limiter.acquire(reading.stop):
            return None
        try:
            page = reading.ctx.client("logs", query.region).filter_log_events(
                logGroupName=query.group, startTime=reading.start_ms, endTime=end_ms, limit=1
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            continue  # the probe is a second opinion: a group that fails it gives none
        if page.get("events"):
            return query.group
    return None


class _AutoInsights(_Insights):
    """Logs Insights as `--engine auto` chose it: where the endpoint does not serve it, the window
    is read, or summed, with FilterLogEvents instead, and that is said."""

    chosen = True


FILTER: WindowEngine = _Filter()
INSIGHTS: WindowEngine = _Insights()
AUTO_INSIGHTS: WindowEngine = _AutoInsights()


def window_engine(
    name: EngineName,
    sources: Sequence[Source],
    start_ms: int,
    end_ms: int | None,
    filter_pattern: str | None,
    stats: FetchStats,
    *,
    rps: float,
    endpoint_url: str | None = None,
) -> WindowEngine:
    """The engine `name` stands for, for this window of these sources. "auto" decides here and
    says why (a notice) when it picks Logs Insights; a filter pattern keeps FilterLogEvents."""
    if name == "filter":
        return FILTER
    if name == "insights":
        if filter_pattern:
            raise InvalidInput(
                "a filter pattern is applied by FilterLogEvents: Logs Insights cannot; "
                "use a regex (grep) with the insights engine",
                name="engine",
            )
        return INSIGHTS
    if name != "auto":
        raise InvalidInput(f"unknown engine {name!r}: filter, insights or auto", name="engine")
    if filter_pattern:
        return FILTER
    end = end_ms if end_ms is not None else int(time.time() * 1000)
    choice = choose_engine(sources, start_ms, end, rps=rps, endpoint_url=endpoint_url)
    if choice.engine == "insights":
        stats.notice(choice.reason)
        return AUTO_INSIGHTS
    return FILTER


class Follower(Protocol):
    """What follows some groups from `reading.start_ms` until `stop`: batches in time order,
    and an empty one at least every quarter second (the heartbeat consumers close requests
    by). `interval_s`: between polls of a group; `max_lag_ms`: how far behind a polled group
    may fall before it is said."""

    def batches(
        self, reading: Reading, interval_s: float, max_lag_ms: int
    ) -> Iterator[list[Released]]: ...


class _Polling:
    """FilterLogEvents, polled with overlap and deduplicated."""

    def batches(
        self, reading: Reading, interval_s: float, max_lag_ms: int
    ) -> Iterator[list[Released]]:
        return follow(
            reading.ctx,
            reading.queries,
            reading.start_ms,
            reading.stats,
            interval_s=interval_s,
            filter_pattern=reading.filter_pattern,
            stop=reading.stop,
            policy=reading.policy,
            max_lag_ms=max_lag_ms,
        )


class _LiveTail:
    """Live Tail sessions (no read quota); groups it is refused for are polled, with a notice.
    It keeps its own sessions going: `policy` and `max_lag_ms` are the polling's."""

    def batches(
        self, reading: Reading, interval_s: float, max_lag_ms: int
    ) -> Iterator[list[Released]]:
        from apilogs.fetch.livetail import follow_live

        return follow_live(
            reading.ctx,
            reading.queries,
            reading.start_ms,
            reading.stats,
            stop=reading.stop,
            filter_pattern=reading.filter_pattern,
            interval_s=interval_s,
        )


POLLING: Follower = _Polling()
LIVE_TAIL: Follower = _LiveTail()


def follower(live: bool) -> Follower:
    return LIVE_TAIL if live else POLLING


def filter_patterns(terms: Iterable[str]) -> list[str]:
    """CloudWatch filter patterns that match a message holding any of the terms, each within
    CloudWatch's length limit: `"a"` for one term, `?"a" ?"b"` for several."""
    quoted_terms = [quoted(t) for t in dict.fromkeys(terms)]
    if len(quoted_terms) == 1:
        return quoted_terms
    patterns: list[str] = []
    current: list[str] = []
    size = 0
    for q in quoted_terms:
        piece = len(q) + 2  # "?" and a space
        if current and size + piece > MAX_PATTERN_CHARS:
            patterns.append(" ".join(current))
            current, size = [], 0
        current.append("?" + q)
        size += piece
    if current:
        patterns.append(" ".join(current) if len(current) > 1 else current[0][1:])
    return patterns


def quoted(term: str) -> str:
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'
