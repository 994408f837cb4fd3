"""Logs Insights: a window read and the `stats` aggregates, run server-side by CloudWatch Logs.

`read_window` gives the same stream as the FilterLogEvents engine (`fetch.fetch_window`): every
event of the window once, in `merge.event_key` order, as `RawEvent`s. Insights has no event ID:
`RawEvent.event_id` is the row's `@ptr` (opaque, unique per event). Only the events of a second
that alone holds more rows than one query returns are read with FilterLogEvents instead, and
carry its `eventId`; a notice says so.

How a window is read:

- One query per region and per 50 log groups (StartQuery's maximum); the queries' streams are
  merged like the filter engine's groups.
- `fields … | sort @timestamp asc | limit N`: the N earliest events of the query's range. The
  range is in whole epoch seconds, inclusive at both ends; the exact millisecond window is
  applied locally.
- When a query returns N rows (the cap), its earliest rows are complete up to the newest
  timestamp it returned: those are kept, and the rest of the range is queried again in pieces
  sized from the density just seen. The pieces overlap at their edges (whole seconds): each piece
  keeps only its own milliseconds, and rows are de-duplicated by `@ptr` across the edge.
- A second that alone fills a query is read with FilterLogEvents and counted in a notice.
- Queries are polled with GetQueryResults (no paginator) from 0.2 s, backing off to 2 s.
  `LimitExceededException` (too many concurrent queries) waits and retries; a query that times
  out is split in two. Setting `stop` ends the read within a second and stops (StopQuery) every
  query it started.
- Bytes scanned and an estimated cost are added to an `InsightsUsage`.

`stats_window` runs a few `stats` queries (requests by status, latency percentiles, Lambda
durations and cold starts per function, slowest routes) and returns an `InsightsSummary`.
"""

from __future__ import annotations

import calendar
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

import botocore.exceptions

from apilogs.aws import AwsContext, error_code, is_throttle
from apilogs.cancel import CancelScope, StopSignal
from apilogs.errors import AwsAccessError
from apilogs.fetch import pages
from apilogs.fetch.auto import PRICE_PER_GB_USD, format_bytes
from apilogs.fetch.filter import GroupQuery
from apilogs.fetch.filter import read_window as filter_read_window
from apilogs.fetch.merge import event_key, merge_sorted
from apilogs.fetch.stats import FetchStats
from apilogs.model import RawEvent, Role, Source

__all__ = [
    "DEFAULT_ROW_LIMIT",
    "MAX_GROUPS_PER_QUERY",
    "MAX_ROW_LIMIT",
    "PRICE_PER_GB_USD",
    "FunctionSummary",
    "InsightsError",
    "InsightsQuery",
    "InsightsSummary",
    "InsightsUnserved",
    "InsightsUsage",
    "Percentiles",
    "PollSchedule",
    "QueryRunning",
    "RouteSummary",
    "events_query",
    "log_group_of",
    "parse_insights_time",
    "read_window",
    "run_queries",
    "stats_window",
]

#: StartQuery takes at most 50 log groups.
MAX_GROUPS_PER_QUERY = 50
#: Rows one query returns by default: one GetQueryResults page, accepted by every region and
#: emulator. StartQuery accepts up to MAX_ROW_LIMIT (paged by GetQueryResults' nextToken).
DEFAULT_ROW_LIMIT = 10_000
MAX_ROW_LIMIT = 100_000
#: Queries in flight at once per read (the account allows more; they are shared with everyone).
DEFAULT_CONCURRENCY = 4
#: A window at least this long starts as `concurrency` queries, so they run at once.
INITIAL_SPLIT_MS = 15 * 60_000
#: A capped query's remainder is cut into at most this many pieces, each aimed at half the cap.
MAX_PIECES = 32
#: How long an over-cap wait (LimitExceeded) may back off between attempts.
MAX_LIMIT_WAIT_S = 10.0
MAX_BACKOFF_S = 20.0

QUERY_FIELDS = "@timestamp, @message, @logStream, @log, @ptr, @ingestionTime"
TERMINAL = frozenset({"Complete", "Failed", "Cancelled", "Timeout"})
_TRANSIENT_CODES = frozenset(
    {"ServiceUnavailableException", "InternalFailure", "ServiceUnavailable"}
)
_CONNECTION_ERRORS = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
)


class InsightsError(AwsAccessError):
    """A Logs Insights query failed in a way retrying cannot fix (Failed, malformed, cancelled
    by someone else): AWS failing, like the family's other errors (exit 3)."""


class InsightsUnserved(InsightsError):
    """The endpoint took a Logs Insights query but did not compute it (an emulator that answers
    `stats` with raw lines), or counted nothing where FilterLogEvents finds lines: its answer
    cannot be trusted, and is not shown as if it could."""


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """GetQueryResults polling: the first wait, the growth factor, the longest wait; and the
    first wait after StartQuery is refused for too many concurrent queries (doubling from there
    up to MAX_LIMIT_WAIT_S). Seconds."""

    first_s: float = 0.2
    factor: float = 1.5
    max_s: float = 2.0
    limit_wait_s: float = 1.0


@dataclass
class InsightsUsage:
    """What the Insights queries of a run cost: counted from GetQueryResults' `statistics`."""

    queries: int = 0
    bytes_scanned: float = 0.0
    records_scanned: float = 0.0
    records_matched: float = 0.0
    limit_waits: int = 0  # StartQuery refused for too many concurrent queries, then retried
    splits: int = 0  # capped or timed-out queries whose range was queried again in pieces
    over_cap_seconds: int = 0  # seconds read with FilterLogEvents because one query could not
    stopped: int = 0  # queries ended with StopQuery (the read was stopped or failed)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, statistics: Mapping[str, Any] | None) -> None:
        if not statistics:
            return
        with self._lock:
            self.bytes_scanned += float(statistics.get("bytesScanned", 0) or 0)
            self.records_scanned += float(statistics.get("recordsScanned", 0) or 0)
            self.records_matched += float(statistics.get("recordsMatched", 0) or 0)

    @property
    def estimated_cost_usd(self) -> float:
        """Bytes scanned at the us-east-1 list price ($0.005 per GB): an estimate."""
        return self.bytes_scanned / 2**30 * PRICE_PER_GB_USD

    def summary(self) -> str:
        """One line for stderr."""
        return (
            f"Logs Insights: {self.queries} quer{'y' if self.queries == 1 else 'ies'} scanned "
            f"{format_bytes(self.bytes_scanned)} (estimated cost ${self.estimated_cost_usd:.4f} "
            f"at the us-east-1 list price of ${PRICE_PER_GB_USD}/GB; your bill may differ)"
        )


# --- pure helpers ---


def parse_insights_time(value: str) -> int:
    """An Insights time field → epoch ms. AWS writes `YYYY-MM-DD HH:MM:SS.mmm` (UTC); moto and
    some fields give epoch milliseconds."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text.endswith("Z"):
        text = text[:-1]
    day, sep, clock = text.replace("T", " ").partition(" ")
    try:
        year, month, dom = (int(p) for p in day.split("-"))
        hours, minutes, rest = clock.split(":") if sep else ("0", "0", "0")
        seconds, _, fraction = rest.partition(".")
        ms = int((fraction + "000")[:3]) if fraction else 0
        stamp = calendar.timegm((year, month, dom, int(hours), int(minutes), int(seconds)))
    except ValueError:
        raise ValueError(f"not an Insights timestamp: {value!r}") from None
    return stamp * 1000 + ms


def log_group_of(log_field: str) -> str:
    """`@log` is `accountId:logGroupName` (moto gives the bare name); group names hold no `:`."""
    return log_field.rsplit(":", 1)[-1]


def _quote(term: str) -> str:
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


def events_query(row_limit: int = DEFAULT_ROW_LIMIT, terms: Sequence[str] = ()) -> str:
    """The query a window read runs. `terms` are literal strings OR-ed together."""
    parts = [f"fields {QUERY_FIELDS}"]
    if terms:
        parts.append("filter " + " or ".join(f"@message like {_quote(t)}" for t in terms))
    parts.append("sort @timestamp asc")
    parts.append(f"limit {row_limit}")
    return " | ".join(parts)


def _seconds(lo_ms: int, hi_ms: int) -> tuple[int, int]:
    """The whole-second query range that holds [lo_ms, hi_ms]."""
    return lo_ms // 1000, -(-hi_ms // 1000)


def _iso(ms: int) -> str:
    """2024-01-01T00:00:00.000Z, as the JSON output writes times."""
    second, milli = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)) + f"{milli:03d}Z"


# --- one query ---


@dataclass(slots=True)
class _Result:
    status: str  # Complete | Timeout
    rows: list[dict[str, str]]
    # row index → bytes that were not UTF-8 (shown as U+FFFD), see `fetch.pages`
    replaced: dict[int, int] = field(default_factory=dict)

    def add(self, page: Mapping[str, Any]) -> None:
        """A GetQueryResults page's rows."""
        offset = len(self.rows)
        for index, count in (page.get(pages.REPLACED_KEY) or {}).items():
            self.replaced[offset + index] = count
        self.rows.extend(_fields(row) for row in page.get("results", ()))

    def tell_replaced(self, stats: FetchStats, groups: Sequence[str], noun: str) -> None:
        """Say the rows that held bytes that are not UTF-8, by log group (`@log`) where the
        row names one of `groups`, else under all of them."""
        if not self.replaced:
            return
        by_group: dict[str, list[int]] = {}
        for index, count in self.replaced.items():
            if not 0 <= index < len(self.rows):
                continue
            group = log_group_of(self.rows[index].get("@log", ""))
            if group not in groups:
                group = ", ".join(groups)
            totals = by_group.setdefault(group, [0, 0])
            totals[0] += 1
            totals[1] += count
        for group, (rows, replaced_bytes) in by_group.items():
            stats.tell_not_utf8(group, rows, replaced_bytes, noun)


class _Stopped(Exception):
    """`stop` was set while a query ran (it has been stopped)."""


class _MissingGroups(Exception):
    """StartQuery named a log group that does not exist."""


class _Runner:
    """StartQuery → GetQueryResults until done → (StopQuery if it was not), under the limiter."""

    def __init__(
        self,
        ctx: AwsContext,
        region: str,
        stats: FetchStats,
        usage: InsightsUsage,
        stop: StopSignal,
        poll: PollSchedule,
    ) -> None:
        self.ctx = ctx
        # The runner retries itself (LimitExceeded, throttles): botocore's retries would sleep
        # where `stop` cannot reach them.
        self.client = ctx.reader_client(region)
        pages.install(self.client)  # answers that are not UTF-8 are read, not raised
        self.stats = stats
        self.usage = usage
        self.stop = stop
        self.poll = poll
        stats.limiter = ctx.logs_limiter

    def run(self, groups: Sequence[str], start_s: int, end_s: int, query: str) -> _Result:
        query_id = self._start(groups, start_s, end_s, query)
        finished = False
        try:
            result = self._wait(query_id)
            finished = True
            return result
        finally:
            if not finished:
                self._stop_query(query_id)

    def _retry_wait(self, delay: float) -> float:
        if self.stop.wait(delay):
            raise _Stopped
        return min(MAX_BACKOFF_S, delay * 2)

    def _start(self, groups: Sequence[str], start_s: int, end_s: int, query: str) -> str:
        delay = 0.5
        limit_delay = self.poll.limit_wait_s
        while True:
            if self.stop.is_set():
                raise _Stopped
            self.ctx.logs_limiter.acquire()
            try:
                response = self.client.start_query(
                    logGroupNames=list(groups),
                    startTime=start_s,
                    endTime=end_s,
                    queryString=query,
                )
            except botocore.exceptions.ClientError as exc:
                code = error_code(exc)
                if code == "LimitExceededException":
                    # Too many concurrent queries in the account: wait for a slot.
                    self.usage.limit_waits += 1
                    self.stats.notice(
                        "Logs Insights: the account's concurrent query limit is reached; "
                        "waiting for a free slot"
                    )
                    if self.stop.wait(limit_delay):
                        raise _Stopped from None
                    limit_delay = min(MAX_LIMIT_WAIT_S, limit_delay * 2)
                    continue
                if code == "ResourceNotFoundException":
                    raise _MissingGroups from exc
                if code == "MalformedQueryException":
                    raise InsightsError(f"Logs Insights refused the query: {exc}") from exc
                if is_throttle(exc):
                    self.ctx.logs_limiter.slow_down()
                elif code in _TRANSIENT_CODES:
                    self.stats.errors_retried += 1
                else:
                    raise
                delay = self._retry_wait(delay)
                continue
            except _CONNECTION_ERRORS:
                self.stats.errors_retried += 1
                delay = self._retry_wait(delay)
                continue
            self.usage.queries += 1
            return str(response["queryId"])

    def _get(self, **kwargs: Any) -> dict[str, Any]:
        delay = 0.5
        while True:
            if self.stop.is_set():
                raise _Stopped
            self.ctx.logs_limiter.acquire()
            try:
                response: dict[str, Any] = self.client.get_query_results(**kwargs)
                self.stats.pages += 1
                return response
            except botocore.exceptions.ClientError as exc:
                if is_throttle(exc):
                    self.ctx.logs_limiter.slow_down()
                elif error_code(exc) in _TRANSIENT_CODES:
                    self.stats.errors_retried += 1
                else:
                    raise
            except _CONNECTION_ERRORS:
                self.stats.errors_retried += 1
            delay = self._retry_wait(delay)

    def _wait(self, query_id: str) -> _Result:
        delay = self.poll.first_s
        while True:
            if self.stop.wait(delay):
                raise _Stopped
            delay = min(self.poll.max_s, delay * self.poll.factor)
            response = self._get(queryId=query_id)
            status = str(response.get("status", "Unknown"))
            if status not in TERMINAL:
                continue  # Scheduled, Running (partial results: not final), Unknown
            if status == "Complete":
                result = _Result("Complete", [])
                page = response
                while True:
                    result.add(page)
                    token = page.get("nextToken")
                    if not token:
                        break
                    page = self._get(queryId=query_id, nextToken=token)
                self.usage.add(response.get("statistics"))
                return result
            self.usage.add(response.get("statistics"))
            if status == "Timeout":
                return _Result("Timeout", [])
            if status == "Cancelled" and self.stop.is_set():
                raise _Stopped
            raise InsightsError(
                f"Logs Insights query {query_id} ended {status}"
                + (" (stopped by someone else)" if status == "Cancelled" else "")
            )

    def _stop_query(self, query_id: str) -> None:
        """Best effort: the query may have finished meanwhile. Not rate-limited: it must not
        wait behind reads, and it is rare."""
        try:
            self.client.stop_query(queryId=query_id)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
            return
        self.usage.stopped += 1


def _fields(row: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {f["field"]: f.get("value", "") for f in row if "field" in f}


# --- a window read ---


@dataclass(eq=False, slots=True)
class _Bucket:
    lo: int  # ms, inclusive
    hi: int  # ms, inclusive


@dataclass(slots=True)
class _Outcome:
    events: list[RawEvent]  # in the bucket's ms range, not yet de-duplicated
    capped: bool
    newest_ms: int | None  # newest timestamp among all rows returned
    timed_out: bool = False


class _Chunk:
    """The log groups (one region, ≤ 50) one query covers, read bucket by bucket in time order."""

    def __init__(
        self,
        ctx: AwsContext,
        region: str,
        queries: Sequence[GroupQuery],
        stats: FetchStats,
        usage: InsightsUsage,
        stop: StopSignal,
        *,
        terms: Sequence[str],
        row_limit: int,
        pool: ThreadPoolExecutor,
        lookahead: int,
        poll: PollSchedule,
    ) -> None:
        self.ctx = ctx
        self.region = region
        self.by_group = {q.group: q for q in queries}
        self.groups = list(self.by_group)
        self.stats = stats
        self.usage = usage
        self.stop = stop
        self.terms = tuple(terms)
        self.row_limit = row_limit
        self.pool = pool
        self.lookahead = max(1, lookahead)
        self.query = events_query(row_limit, self.terms)
        self.runner = _Runner(ctx, region, stats, usage, stop, poll)
        self._lock = threading.Lock()

    # runs in the pool
    def _query(self, bucket: _Bucket) -> _Outcome:
        start_s, end_s = _seconds(bucket.lo, bucket.hi)
        while True:
            with self._lock:
                groups = list(self.groups)
            if not groups:
                return _Outcome([], False, None)
            try:
                result = self.runner.run(groups, start_s, end_s, self.query)
                break
            except _MissingGroups:
                self._drop_missing(groups)
        if result.status == "Timeout":
            return _Outcome([], False, None, timed_out=True)
        result.tell_replaced(self.stats, groups, "event")
        events = self._events(result.rows)
        newest = max((e.timestamp for e in events), default=None)
        kept = [e for e in events if bucket.lo <= e.timestamp <= bucket.hi]
        if self.terms:
            kept = [e for e in kept if any(t in e.message for t in self.terms)]
        return _Outcome(kept, len(result.rows) >= self.row_limit, newest)

    def _drop_missing(self, asked: list[str]) -> None:
        """StartQuery fails as a whole when one group is missing: find which, go on without."""
        missing = _missing_groups(self.ctx, self.region, asked, self.stats)
        with self._lock:
            self.groups = [g for g in self.groups if g not in missing]

    def _events(self, rows: list[dict[str, str]]) -> list[RawEvent]:
        only = next(iter(self.by_group.values())) if len(self.by_group) == 1 else None
        events = []
        for row in rows:
            stamp = row.get("@timestamp")
            if stamp is None:
                continue
            stream = row.get("@logStream", "")
            group = log_group_of(row.get("@log", "")) if "@log" in row else ""
            query = self.by_group.get(group) or only
            if query is None:
                raise InsightsError(
                    f"Logs Insights returned a row of an unknown log group {group!r}"
                )
            ingested = row.get("@ingestionTime")
            events.append(
                RawEvent(
                    parse_insights_time(stamp),
                    parse_insights_time(ingested) if ingested else 0,
                    query.group,
                    stream,
                    row.get("@ptr", ""),
                    row.get("@message", ""),
                    query.source_for(stream),
                )
            )
        return events

    def _wait(self, future: Future[_Outcome]) -> _Outcome | None:
        while True:
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                if self.stop.is_set():
                    return None
            except _Stopped:
                return None

    def read(self, lo: int, hi: int) -> Iterator[RawEvent]:
        pending: deque[_Bucket] = deque(_initial_buckets(lo, hi, self.lookahead))
        futures: dict[_Bucket, Future[_Outcome]] = {}
        # Rows of the last second emitted, by @ptr: pieces overlap at whole seconds.
        edge_second = -1
        edge_ptrs: set[str] = set()
        try:
            while pending:
                for bucket in list(pending)[: self.lookahead]:
                    if bucket not in futures:
                        futures[bucket] = self.pool.submit(self._query, bucket)
                bucket = pending.popleft()
                outcome = self._wait(futures.pop(bucket))
                if outcome is None:
                    return
                if outcome.timed_out:
                    if bucket.hi - bucket.lo < 2000:
                        raise InsightsError(
                            f"Logs Insights timed out on one second ({_iso(bucket.lo)}) "
                            f"of {', '.join(self.groups)}"
                        )
                    mid = ((bucket.lo + bucket.hi + 1000) // 2000) * 1000
                    self.usage.splits += 1
                    self.stats.notice(
                        "Logs Insights: a query timed out; its range is read again in halves"
                    )
                    pending.extendleft([_Bucket(mid, bucket.hi), _Bucket(bucket.lo, mid - 1)])
                    continue
                emit: list[RawEvent]
                if not outcome.capped or outcome.newest_ms is None or outcome.newest_ms > bucket.hi:
                    emit = outcome.events
                elif outcome.newest_ms // 1000 <= bucket.lo // 1000:
                    # The query's first second alone fills the cap: no narrower query helps.
                    second_end = (bucket.lo // 1000) * 1000 + 999
                    emit = self._over_cap_second(bucket.lo, min(bucket.hi, second_end))
                    if second_end < bucket.hi:
                        pending.appendleft(_Bucket(second_end + 1, bucket.hi))
                else:
                    newest = outcome.newest_ms
                    # Everything before the newest timestamp returned is complete.
                    emit = [e for e in outcome.events if e.timestamp < newest]
                    pieces = _pieces(bucket, newest, len(outcome.events), self.row_limit)
                    self.usage.splits += 1
                    pending.extendleft(reversed(pieces))
                emit.sort(key=event_key)
                fresh = []
                for event in emit:
                    second = event.timestamp // 1000
                    if second > edge_second:
                        edge_second, edge_ptrs = second, set()
                    if second == edge_second and event.event_id:
                        if event.event_id in edge_ptrs:
                            self.stats.duplicates += 1
                            continue
                        edge_ptrs.add(event.event_id)
                    fresh.append(event)
                self.stats.events += len(fresh)
                yield from fresh
        finally:
            for future in futures.values():
                future.cancel()
            for group in self.by_group:
                # The first page was told as it came; a group with more says the whole of it.
                self.stats.tell_not_utf8_totals(group, "in all,")

    def _over_cap_second(self, lo: int, hi: int) -> list[RawEvent]:
        """One second holds more events than a query returns: read it with FilterLogEvents."""
        pattern = " ".join(f"?{_quote(t)}" for t in self.terms) or None
        with self._lock:
            groups = list(self.groups)
        pages: list[list[RawEvent]] = []
        for group in groups:
            events: list[RawEvent] = []
            for page in filter_read_window(
                self.ctx,
                self.by_group[group],
                lo,
                hi,
                self.stats,
                filter_pattern=pattern,
                stop=self.stop,
            ):
                events.extend(page)
            # read_window counted these; the window read counts what it yields.
            self.stats.events -= len(events)
            pages.append(events)
        found = list(merge_sorted(pages))
        if self.terms:
            found = [e for e in found if any(t in e.message for t in self.terms)]
        self.usage.over_cap_seconds += 1
        second = _iso(lo - lo % 1000)[:-5] + "Z"
        self.stats.notice(
            f"Logs Insights: {len(found):,} events in the second {second} of "
            f"{', '.join(groups)} are more than one query returns ({self.row_limit:,}); "
            "that second was read with FilterLogEvents instead, nothing is left out"
        )
        return found


def _missing_groups(
    ctx: AwsContext, region: str, asked: Sequence[str], stats: FetchStats
) -> list[str]:
    """Which of `asked` do not exist (each said in a notice); raises if all do."""
    client = ctx.client("logs", region)
    missing = []
    for group in asked:
        ctx.logs_limiter.acquire()
        found = client.describe_log_groups(logGroupNamePrefix=group, limit=50)
        if not any(g.get("logGroupName") == group for g in found.get("logGroups", ())):
            missing.append(group)
    if not missing:
        raise InsightsError(
            "Logs Insights: StartQuery says a log group does not exist, "
            "but every group is there: " + ", ".join(asked)
        )
    for group in missing:
        stats.notice(f"log group {group} does not exist: skipped")
    return missing


def _initial_buckets(lo: int, hi: int, n: int) -> list[_Bucket]:
    if hi - lo < INITIAL_SPLIT_MS or n <= 1:
        return [_Bucket(lo, hi)]
    first_s, last_s = lo // 1000, hi // 1000
    edges = sorted({first_s + (last_s - first_s) * i // n for i in range(1, n)} - {first_s})
    starts = [lo, *(s * 1000 for s in edges)]
    ends = [s - 1 for s in starts[1:]] + [hi]
    return [_Bucket(a, b) for a, b in zip(starts, ends, strict=True)]


def _pieces(bucket: _Bucket, newest_ms: int, rows: int, row_limit: int) -> list[_Bucket]:
    """The rest of a capped bucket, [newest_ms, hi], cut on whole seconds into pieces that should
    each hold about half the cap at the density the capped query showed."""
    covered = max(1, newest_ms - (bucket.lo // 1000) * 1000 + 1)
    remaining = bucket.hi - newest_ms + 1
    expected = max(rows, row_limit) * remaining / covered
    first_s, last_s = newest_ms // 1000, bucket.hi // 1000
    n = max(1, min(MAX_PIECES, math.ceil(expected / (row_limit / 2)), last_s - first_s + 1))
    edges = sorted({first_s + (last_s - first_s + 1) * i // n for i in range(1, n)} - {first_s})
    starts = [newest_ms, *(s * 1000 for s in edges)]
    ends = [s - 1 for s in starts[1:]] + [bucket.hi]
    return [_Bucket(a, b) for a, b in zip(starts, ends, strict=True)]


def _chunks(queries: Sequence[GroupQuery]) -> list[tuple[str, list[GroupQuery]]]:
    by_region: dict[str, list[GroupQuery]] = {}
    for query in queries:
        by_region.setdefault(query.region, []).append(query)
    return [
        (region, group_queries[i : i + MAX_GROUPS_PER_QUERY])
        for region, group_queries in by_region.items()
        for i in range(0, len(group_queries), MAX_GROUPS_PER_QUERY)
    ]


def read_window(
    ctx: AwsContext,
    queries: Sequence[GroupQuery],
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    *,
    stop: StopSignal | None = None,
    terms: Sequence[str] = (),
    usage: InsightsUsage | None = None,
    row_limit: int = DEFAULT_ROW_LIMIT,
    concurrency: int = DEFAULT_CONCURRENCY,
    poll: PollSchedule = PollSchedule(),
    clock: Callable[[], float] | None = None,
) -> Iterator[RawEvent]:
    """Every event of every group in [start_ms, end_ms] (end None: now), once, in
    `merge.event_key` order — the same stream as `fetch.fetch_window`, read by Logs Insights.

    `terms`: literal strings, any of which a message must contain (request-ID lookups).
    `usage` receives the queries' bytes scanned; with none given, its summary becomes a notice.
    Setting `stop` ends the read within a second and stops (StopQuery) every query it started;
    the iterator then just ends. Closing the iterator does the same. `stop` itself is never set.
    Raises InsightsError when a query fails, and botocore's errors other than throttling."""
    if not 1 <= row_limit <= MAX_ROW_LIMIT:
        raise ValueError(f"row_limit must be within 1..{MAX_ROW_LIMIT}")
    if end_ms is None:
        end_ms = int((clock or time.time)() * 1000)
    own_usage = usage is None
    usage = usage or InsightsUsage()
    stats.groups += len(queries)
    stats.limiter = ctx.logs_limiter
    if end_ms < start_ms or not queries:
        return
    workers = max(1, concurrency)
    halt = CancelScope(stop)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="insights")
    try:
        streams = []
        for region, group_queries in _chunks(queries):
            chunk = _Chunk(
                ctx,
                region,
                group_queries,
                stats,
                usage,
                halt,
                terms=terms,
                row_limit=row_limit,
                pool=pool,
                lookahead=workers,
                poll=poll,
            )
            streams.append(_counted(chunk.read(start_ms, end_ms), stats, len(group_queries)))
        yield from merge_sorted(streams)
        if own_usage and usage.queries and not halt.is_set():
            stats.notice(usage.summary())
    finally:
        # Running queries see the halt within one poll interval slice and are stopped.
        halt.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _counted(events: Iterator[RawEvent], stats: FetchStats, groups: int) -> Iterator[RawEvent]:
    yield from events
    stats.groups_done += groups


# --- stats, server-side ---


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Insights' `pct()` over a field, plus `max()` and `count()`: None where nothing was seen."""

    count: int = 0
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max} | {
            "count": self.count
        }


@dataclass(frozen=True, slots=True)
class FunctionSummary:
    """One Lambda log group's REPORT lines: invocations, duration, cold starts (Init Duration)."""

    name: str  # the function (several names joined when functions share the group)
    group: str
    invocations: int
    duration_ms: Percentiles
    cold_starts: int
    init_ms: Percentiles


@dataclass(frozen=True, slots=True)
class RouteSummary:
    route: str
    count: int
    p90_ms: float | None
    max_ms: float | None


@dataclass(frozen=True, slots=True)
class InsightsSummary:
    """`apilogs stats` computed by Logs Insights. Requests are access log lines; errors by cause
    need correlation and are not computed server-side (`errors` is None in `to_dict`)."""

    requests: int
    first_ms: int | None
    last_ms: int | None
    by_status: Mapping[int, int]
    response_latency_ms: Percentiles
    integration_latency_ms: Percentiles
    functions: tuple[FunctionSummary, ...]
    slowest_routes: tuple[RouteSummary, ...]
    notices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The shape of `render.requests.WindowStats.to_dict()`, key for key."""
        classes: dict[str, int] = {}
        for status, n in self.by_status.items():
            key = f"{status // 100}xx" if status else "unknown"
            classes[key] = classes.get(key, 0) + n
        unclassified = self.requests - sum(self.by_status.values())
        if unclassified > 0:
            classes["unknown"] = classes.get("unknown", 0) + unclassified
        return {
            "requests": self.requests,
            "from": _iso(self.first_ms) if self.first_ms is not None else None,
            "to": _iso(self.last_ms) if self.last_ms is not None else None,
            "by_status_class": dict(sorted(classes.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items()) if k},
            "response_latency_ms": self.response_latency_ms.to_dict(),
            "integration_latency_ms": self.integration_latency_ms.to_dict(),
            "lambda_duration_ms": {
                f.name: f.duration_ms.to_dict() for f in sorted(self.functions, key=_by_name)
            },
            "cold_starts": {
                f.name: {"count": f.cold_starts, "init_ms": f.init_ms.to_dict()}
                for f in sorted(self.functions, key=_by_name)
                if f.cold_starts
            },
            "errors": None,
            "slowest_routes": [
                {"route": r.route, "count": r.count, "p90_ms": r.p90_ms, "max_ms": r.max_ms}
                for r in self.slowest_routes
            ],
            "engine": "insights",
        }


def _by_name(f: FunctionSummary) -> str:
    return f.name


_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _field(path: Sequence[str]) -> str:
    """A JSON key path as an Insights field (nested keys are flattened with dots)."""
    name = ".".join(path)
    if all(_PLAIN_FIELD.fullmatch(p) for p in path):
        return name
    return "`" + name.replace("`", "``") + "`"


def _pct_stats(field_name: str, prefix: str) -> str:
    return ", ".join(
        [f"pct({field_name}, {p}) as {prefix}{p}" for p in (50, 90, 99)]
        + [f"max({field_name}) as {prefix}max", f"count({field_name}) as {prefix}n"]
    )


def number_field(value: str | None) -> float | None:
    if value is None or value.strip() in ("", "-"):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def count_field(value: str | None) -> int:
    number = number_field(value)
    return int(number) if number is not None else 0


def _percentiles(row: Mapping[str, str], prefix: str) -> Percentiles:
    count = count_field(row.get(f"{prefix}n"))
    if not count:
        return Percentiles()
    return Percentiles(
        count,
        number_field(row.get(f"{prefix}50")),
        number_field(row.get(f"{prefix}90")),
        number_field(row.get(f"{prefix}99")),
        number_field(row.get(f"{prefix}max")),
    )


@dataclass(frozen=True, slots=True)
class AccessFields:
    """Which Insights fields of a JSON access log hold what (from the stage's format)."""

    status: str | None = None
    response_latency: str | None = None
    integration_latency: str | None = None
    method: str | None = None
    path: str | None = None
    route: str | None = None

    @classmethod
    def from_format(cls, fmt: str | None) -> AccessFields | None:
        """None when the format is not JSON (CLF, CSV, XML): Insights has no fields to use."""
        from apilogs.parse.access import json_format_paths

        if not fmt:
            return None
        paths = {variable: _field(path) for path, variable in json_format_paths(fmt)}
        if not paths:
            return None

        def first(*names: str) -> str | None:
            return next((paths[n] for n in names if n in paths), None)

        return cls(
            status=first("status"),
            response_latency=first("responseLatency"),
            integration_latency=first("integrationLatency", "integration.latency"),
            method=first("httpMethod"),
            path=first("resourcePath", "path"),
            route=first("routeKey"),
        )


@dataclass(frozen=True, slots=True)
class InsightsQuery:
    name: str
    region: str
    groups: tuple[str, ...]
    query: str


def stats_queries(sources: Sequence[Source]) -> tuple[list[InsightsQuery], list[str]]:
    """The aggregate queries for these sources, and notices for what cannot be done server-side."""
    notices: list[str] = []
    out: list[InsightsQuery] = []
    for source in dict.fromkeys(s for s in sources if s.role is Role.ACCESS):
        fields = AccessFields.from_format(source.log_format)
        if fields is None:
            notices.append(
                f"Logs Insights: the access log format of {source.log_group} is not JSON; "
                "request counts and latencies need --engine filter"
            )
            continue
        group = (source.log_group,)
        totals = ["count(*) as requests", "min(@timestamp) as first", "max(@timestamp) as last"]
        if fields.response_latency:
            totals.append(_pct_stats(fields.response_latency, "r"))
        if fields.integration_latency:
            totals.append(_pct_stats(fields.integration_latency, "i"))
        out.append(InsightsQuery("totals", source.region, group, "stats " + ", ".join(totals)))
        if fields.status:
            out.append(
                InsightsQuery(
                    "status",
                    source.region,
                    group,
                    f"stats count(*) as n by {fields.status} as status",
                )
            )
        route_by = [f for f in (fields.method, fields.path) if f] or (
            [fields.route] if fields.route else []
        )
        if fields.response_latency and route_by:
            by = ", ".join(f"{f} as k{i}" for i, f in enumerate(route_by))
            out.append(
                InsightsQuery(
                    "routes",
                    source.region,
                    group,
                    f"stats count(*) as n, pct({fields.response_latency}, 90) as p90, "
                    f"max({fields.response_latency}) as max by {by} | sort p90 desc | limit 5",
                )
            )
    text_groups: dict[str, list[str]] = {}
    json_groups: dict[str, list[str]] = {}
    for source in sources:
        if source.role not in (Role.LAMBDA, Role.AUTHORIZER):
            continue
        target = json_groups if (source.log_format or "").upper() == "JSON" else text_groups
        target.setdefault(source.region, [])
        if source.log_group not in target[source.region]:
            target[source.region].append(source.log_group)
    lambda_stats = {
        "lambda_text": (
            'filter @type = "REPORT" | stats count(*) as invocations, '
            + _pct_stats("@duration", "d")
            + ", count(@initDuration) as cold, "
            + _pct_stats("@initDuration", "c")
            + " by @log"
        ),
        "lambda_json": (
            'filter type = "platform.report" | stats count(*) as invocations, '
            + _pct_stats("record.metrics.durationMs", "d")
            + ", count(record.metrics.initDurationMs) as cold, "
            + _pct_stats("record.metrics.initDurationMs", "c")
            + " by @log"
        ),
    }
    for name, by_region in (("lambda_text", text_groups), ("lambda_json", json_groups)):
        for region, groups in by_region.items():
            for i in range(0, len(groups), MAX_GROUPS_PER_QUERY):
                chunk = tuple(groups[i : i + MAX_GROUPS_PER_QUERY])
                out.append(InsightsQuery(name, region, chunk, lambda_stats[name]))
    return out, notices


class QueryRunning(TypedDict, total=False):
    """How aggregate queries run (`run_queries`): `stop` ends them (StopQuery), `usage` counts
    what they scanned, `concurrency` queries at once, `poll` the GetQueryResults waits."""

    stop: StopSignal | None
    usage: InsightsUsage | None
    concurrency: int
    poll: PollSchedule


def stats_window(
    ctx: AwsContext,
    sources: Sequence[Source],
    start_ms: int,
    end_ms: int,
    stats: FetchStats,
    **running: Unpack[QueryRunning],
) -> InsightsSummary | None:
    """The `stats` aggregates of the window, computed by Logs Insights; None if `stop` was set.

    Insights works in whole seconds: the range is widened to them (at most a second at each end).
    Percentiles are Insights' own `pct()`, which may differ slightly from the filter engine's
    nearest-rank percentiles on the same events."""
    usage = running.get("usage")
    own_usage = usage is None
    usage = usage or InsightsUsage()
    plan, notices = stats_queries(sources)
    start_s, end_s = _seconds(start_ms, end_ms)
    labels: dict[str, list[str]] = {}
    for s in sources:
        if s.role in (Role.LAMBDA, Role.AUTHORIZER):
            label = s.label + (" (auth)" if s.role is Role.AUTHORIZER else "")
            labels.setdefault(s.log_group, [])
            if label not in labels[s.log_group]:
                labels[s.log_group].append(label)
    results = run_queries(ctx, plan, start_s, end_s, stats, **(running | {"usage": usage}))
    if results is None:
        return None

    requests = 0
    first_ms = last_ms = None
    response = integration = Percentiles()
    by_status: dict[int, int] = {}
    routes: list[RouteSummary] = []
    functions: list[FunctionSummary] = []
    for q, rows in results:
        if q.name == "totals" and rows:
            row = rows[0]
            requests += count_field(row.get("requests"))
            if row.get("first"):
                first_ms = parse_insights_time(row["first"])
            if row.get("last"):
                last_ms = parse_insights_time(row["last"])
            response = _percentiles(row, "r")
            integration = _percentiles(row, "i")
        elif q.name == "status":
            for row in rows:
                status = number_field(row.get("status"))
                key = int(status) if status is not None else 0
                by_status[key] = by_status.get(key, 0) + count_field(row.get("n"))
        elif q.name == "routes":
            for row in rows:
                keys = [row.get(k, "") for k in ("k0", "k1") if k in row]
                routes.append(
                    RouteSummary(
                        " ".join(k or "?" for k in keys) or "?",
                        count_field(row.get("n")),
                        number_field(row.get("p90")),
                        number_field(row.get("max")),
                    )
                )
        elif q.name.startswith("lambda"):
            for row in rows:
                group = log_group_of(row.get("@log", ""))
                if group not in q.groups and len(q.groups) == 1:
                    group = q.groups[0]
                functions.append(
                    FunctionSummary(
                        ", ".join(labels.get(group, [group])),
                        group,
                        count_field(row.get("invocations")),
                        _percentiles(row, "d"),
                        count_field(row.get("cold")),
                        _percentiles(row, "c"),
                    )
                )
    for text in notices:
        stats.notice(text)
    if own_usage and usage.queries:
        stats.notice(usage.summary())
    return InsightsSummary(
        requests=requests,
        first_ms=first_ms,
        last_ms=last_ms,
        by_status=by_status,
        response_latency_ms=response,
        integration_latency_ms=integration,
        functions=tuple(functions),
        slowest_routes=tuple(routes),
        notices=tuple(notices),
    )


def run_queries(
    ctx: AwsContext,
    plan: Sequence[InsightsQuery],
    start_s: int,
    end_s: int,
    stats: FetchStats,
    **running: Unpack[QueryRunning],
) -> list[tuple[InsightsQuery, list[dict[str, str]]]] | None:
    """Each query's result rows, `concurrency` queries at a time (the account's concurrent
    Insights queries are few); groups that do not exist are left out of a query and it runs
    again. None once `stop` is set; InsightsError when a query times out or fails for good."""
    usage = running.get("usage") or InsightsUsage()
    poll = running.get("poll", PollSchedule())
    concurrency = running.get("concurrency", DEFAULT_CONCURRENCY)
    halt = CancelScope(running.get("stop"))
    runners: dict[str, _Runner] = {}
    for q in plan:
        if q.region not in runners:
            runners[q.region] = _Runner(ctx, q.region, stats, usage, halt, poll)

    def run(q: InsightsQuery) -> list[dict[str, str]]:
        groups = list(q.groups)
        while groups:
            try:
                result = runners[q.region].run(groups, start_s, end_s, q.query)
            except _MissingGroups:
                missing = _missing_groups(ctx, q.region, groups, stats)
                groups = [g for g in groups if g not in missing]
                continue
            if result.status == "Timeout":
                raise InsightsError(
                    f"Logs Insights: the {q.name.replace('_', ' ')} query timed out; "
                    "try a shorter window"
                )
            result.tell_replaced(stats, groups, "result row")
            if q.name == "totals" and result.rows and "requests" not in result.rows[0]:
                raise InsightsUnserved(
                    "Logs Insights at this endpoint answered the stats query with lines, not "
                    "sums: it does not compute `stats`"
                )
            return result.rows
        return []

    results: list[tuple[InsightsQuery, list[dict[str, str]]]] = []
    pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="insights-stats")
    try:
        futures = [(q, pool.submit(run, q)) for q in plan]
        for q, future in futures:
            while True:
                try:
                    results.append((q, future.result(timeout=0.1)))
                    break
                except TimeoutError:
                    if halt.is_set():
                        return None
                except _Stopped:
                    return None
    finally:
        halt.set()  # whatever still runs (an error ended the read) is stopped
        pool.shutdown(wait=True, cancel_futures=True)
    return results
