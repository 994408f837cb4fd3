"""FilterLogEvents readers: one group per call, every page to the end, under the shared limiter.

`read_window` reads a fixed window; `follow_group` polls a group until stopped, looking back far
enough that late-ingested events are still found, and drops what it already returned by event
identity. Readers never print: they count into `FetchStats` and the front end decides what to
show.

This is the one retry layer for CloudWatch Logs reads (botocore's is off for the reader client):
every attempt takes a token from the shared limiter, a throttle is counted once, and every
back-off is a wait on `stop`, so a read stops within a fraction of a second even while it backs
off. A group whose reads keep failing is said to be failing after `RetryPolicy.notice_after_s`,
recovered when a read succeeds again, and given up on after `give_up_after_s` (never, when
following)."""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from apilogs.aws import (
    EXPIRED_CODES,
    EXPIRED_EXCEPTIONS,
    TRANSIENT_EXCEPTIONS,
    AwsContext,
    Place,
    error_code,
    is_throttle,
    is_transient,
)
from apilogs.cancel import StopSignal
from apilogs.errors import GroupFailure, InvalidResponse
from apilogs.fetch import pages
from apilogs.fetch.classes import (
    INFREQUENT_ACCESS,
    ClassRefused,
    delivery_notice,
    refused_class,
    unfollowable_notice,
)
from apilogs.fetch.stats import FetchStats, plural
from apilogs.model import RawEvent, Source
from apilogs.times import MAX_MS, MIN_MS

# The shared limiter paces a throttled account (`slow_down`); this back-off only spaces one
# call's retries. Longer, it mostly waits after the service is back: at 20 s, a read through
# 55 % faults on every call took up to 60 s for 360 events (4 s: under 10 s).
MAX_BACKOFF_S = 4.0
FIRST_BACKOFF_S = 0.25


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a reader keeps trying a group whose every read fails (throttled, 5xx, dropped).

    `give_up_after_s=None`: never (follow mode keeps trying and says so). `notice_after_s`:
    when failing reads, and a call that has not been answered, are said."""

    give_up_after_s: float | None = 60.0
    notice_after_s: float = 10.0
    max_backoff_s: float = MAX_BACKOFF_S
    # Following: expired credentials are retried (said, every back-off) so that a refresh
    # (`aws sso login` in another terminal) resumes the follow; a window read fails at once.
    retry_expired_credentials: bool = False


WINDOW_POLICY = RetryPolicy()
FOLLOW_POLICY = RetryPolicy(give_up_after_s=None, retry_expired_credentials=True)


class GaveUp(Exception):
    """A reader stopped trying a group: its reads failed for longer than the policy allows."""

    def __init__(self, group: str, reason: str, failing_for_s: float) -> None:
        super().__init__(f"{group}: {reason} for {failing_for_s:.0f} s")
        self.group = group
        self.reason = reason
        self.failing_for_s = failing_for_s


@dataclass(frozen=True, slots=True)
class GroupQuery:
    """One log group to read and the Sources whose events it holds.

    Several functions may share one group (Lambda's custom log group): their log streams are
    named `YYYY/MM/DD/{function}[{version}]{id}`, which attributes each event."""

    group: str
    region: str
    sources: tuple[Source, ...]

    def source_for(self, stream: str) -> Source:
        if len(self.sources) > 1:
            for source in self.sources:
                if source.function_name and f"/{source.function_name}[" in stream:
                    return source
        return self.sources[0]


def queries_for(sources: tuple[Source, ...]) -> list[GroupQuery]:
    """Group sources by (region, log group): each group is read once."""
    by_group: dict[tuple[str, str], list[Source]] = {}
    for source in sources:
        by_group.setdefault((source.region, source.log_group), []).append(source)
    return [GroupQuery(group, region, tuple(s)) for (region, group), s in by_group.items()]


def _events(query: GroupQuery, page: dict[str, Any], stats: FetchStats) -> list[RawEvent]:
    """A page's events, in the order the service gave them (ascending by timestamp; ties
    across streams are put in a fixed order by the merge). Runs for every event: positional
    arguments and no per-event lookups of what is the same for the whole page."""
    group = query.group
    source = query.sources[0]
    source_for = query.source_for if len(query.sources) > 1 else None
    try:
        return [
            RawEvent(
                e["timestamp"],
                e.get("ingestionTime", 0),
                group,
                (stream := e.get("logStreamName", "")),
                e.get("eventId", ""),
                e["message"],
                source if source_for is None else source_for(stream),
            )
            for e in page.get("events", ())
        ]
    except KeyError:
        return _incomplete_events(query, page, stats)


def _incomplete_events(
    query: GroupQuery, page: dict[str, Any], stats: FetchStats
) -> list[RawEvent]:
    """The events of a page some of which lack a timestamp or a message (a broken or hostile
    endpoint): every one is kept. A missing timestamp is None (`_checked` makes it 0 and tells
    it); a missing message is empty, said once per group."""
    out = []
    no_message = 0
    for e in page.get("events", ()):
        stream = e.get("logStreamName", "")
        message = e.get("message")
        if message is None:
            no_message += 1
            message = ""
        out.append(
            RawEvent(
                e.get("timestamp"),
                e.get("ingestionTime", 0),
                query.group,
                stream,
                e.get("eventId", ""),
                message,
                query.source_for(stream),
            )
        )
    if no_message:
        stats.notice(
            f"{query.group}: CloudWatch Logs sent {plural(no_message, 'event')} without a "
            "message; shown empty",
            key=f"no-message:{query.group}",
        )
    return out


def _checked(query: GroupQuery, events: list[RawEvent], stats: FetchStats) -> list[RawEvent]:
    """`events`, with each timestamp or ingestion time that is not an int made one, and told.

    A broken or hostile endpoint may send a number no date holds (years 1 to 9999), or not a
    number: such an event is kept (the renderers show the number and JSON's `time` is null), and
    said once per group, so that a line with no time is never a mystery."""
    try:
        for event in events:
            stamp = event.timestamp
            ingested = event.ingestion_time
            if not (
                type(stamp) is int
                and type(ingested) is int
                and MIN_MS <= stamp <= MAX_MS
                and MIN_MS <= ingested <= MAX_MS
            ):
                break
        else:
            return events
    except TypeError:
        pass
    out = []
    odd = 0
    example: object = None
    for event in events:
        stamp, ingested = _as_int(event.timestamp), _as_int(event.ingestion_time)
        stamp_ok = type(event.timestamp) is int and MIN_MS <= stamp <= MAX_MS
        ingested_ok = type(event.ingestion_time) is int and MIN_MS <= ingested <= MAX_MS
        if not (stamp_ok and ingested_ok):
            odd += 1
            if example is None:
                example = event.ingestion_time if stamp_ok else event.timestamp
        if stamp is not event.timestamp or ingested is not event.ingestion_time:
            event = RawEvent(
                stamp,
                ingested,
                event.group,
                event.stream,
                event.event_id,
                event.message,
                event.source,
            )
        out.append(event)
    if odd:
        stats.notice(
            f"{query.group}: CloudWatch Logs sent events whose timestamp or ingestion time is "
            f"not a time (e.g. {str(example)[:40]}); they are shown with the number, and "
            "`time` is null in JSON",
            key=f"invalid-time:{query.group}",
        )
    return out


def _as_int(value: object) -> int:
    """An event's time as an int, whatever was sent: JSON's contract (`timestamp` is an int)
    holds, and the merge can order it."""
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:  # not a number, or more digits than int() reads
            return 0
    return 0


def _told_replaced(
    query: GroupQuery,
    events: list[RawEvent],
    replaced: dict[int, int] | None,
    stats: FetchStats,
    shown: list[RawEvent] | None = None,
) -> None:
    """Tell the events a page held with bytes that are not UTF-8 (replaced by U+FFFD when the
    page was decoded). `shown`: the events of the page that are new (following re-reads what
    it has shown): only those are told."""
    if not replaced:
        return
    touched = [(events[i], n) for i, n in replaced.items() if 0 <= i < len(events)]
    if shown is not None:
        fresh = {id(e) for e in shown}
        touched = [(e, n) for e, n in touched if id(e) in fresh]
    if touched:
        stats.tell_not_utf8(query.group, len(touched), sum(n for _, n in touched), "event")


def _reason(exc: BaseException) -> str:
    return error_code(exc) or type(exc).__name__


@dataclass
class _Pager:
    """Calls FilterLogEvents for one group: the limiter, the retries, the failing/recovered
    notices."""

    ctx: AwsContext
    query: GroupQuery
    stats: FetchStats
    stop: StopSignal
    policy: RetryPolicy
    clock: Callable[[], float] = time.monotonic
    missing: threading.Event | None = None
    gone: bool = field(default=False, init=False)
    client: Any = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.ctx.reader_client(self.query.region)
        pages.install(self.client)
        self.stats.limiter = self.ctx.logs_limiter

    def _enter_flight(self, place: Place | None) -> bool:
        while not self.stop.is_set():
            if self.ctx.logs_in_flight.acquire(timeout=0.1, place=place):
                return True
        return False

    def _tell_failing(self, reason: str) -> bool:
        """Said once for all the groups failing alike (FetchStats.tell_failing)."""
        self.stats.tell_failing(self.query.group, reason, self.clock(), self.policy.notice_after_s)
        return True

    def call(self, *, place: Place | None = None, **kwargs: Any) -> dict[str, Any] | None:
        """One page; None when the group does not exist or `stop` was set. Raises GaveUp when
        every attempt failed for longer than the policy allows. `place`: where it stands in
        the limiter's order (see RateLimiter)."""
        group = self.query.group
        failing_since: float | None = None
        reason = ""
        told = False
        delay = FIRST_BACKOFF_S
        while True:
            limit = self.policy.give_up_after_s
            wait_s = None
            if failing_since is not None:
                # A limiter slowed down by throttles must not put off telling the user, nor
                # stretch the time to give up.
                due = [] if told else [failing_since + self.policy.notice_after_s]
                if limit is not None:
                    due.append(failing_since + limit)
                if due:
                    wait_s = max(0.0, min(due) - self.clock())
            # A place in flight first, then the token: a token taken while waiting for a place
            # would send calls back to back when places free up, past the quota.
            if not self._enter_flight(place):
                return None
            if not self.ctx.logs_limiter.acquire(self.stop, wait_s, place=place):
                self.ctx.logs_in_flight.release()
                if self.stop.is_set():
                    return None
                assert failing_since is not None
                failing_for = self.clock() - failing_since
                if limit is not None and failing_for >= limit:
                    self.stats.set_ok(group, recovered=False)
                    raise GaveUp(group, reason, failing_for)
                told = told or self._tell_failing(reason)
                continue
            self.stats.call_started(group)
            answered = False
            try:
                # `interleaved` is deprecated and always on in CloudWatch Logs, but emulators
                # (moto) return stream after stream without it: ask for time order explicitly.
                page: dict[str, Any] = self.client.filter_log_events(
                    logGroupName=group, interleaved=True, **kwargs
                )
                answered = True
            except botocore.exceptions.ClientError as exc:
                answered = True
                if error_code(exc) == "ResourceNotFoundException":
                    self.gone = True
                    if self.missing is not None:
                        self.missing.set()
                        return None
                    self.stats.gone_groups.add(group)
                    self.stats.notice(f"log group {group} does not exist: skipped")
                    return None
                refused = refused_class(exc)
                if refused is not None:
                    # The class is fixed: no retry can change the answer.
                    raise ClassRefused(group, refused) from None
                if error_code(exc) in EXPIRED_CODES and self.policy.retry_expired_credentials:
                    reason = "your AWS credentials expired: refresh them (e.g. aws sso login)"
                elif not is_transient(exc):
                    raise
                elif is_throttle(exc):
                    self.ctx.logs_limiter.slow_down()
                else:
                    self.stats.errors_retried += 1
                reason = reason if error_code(exc) in EXPIRED_CODES else _reason(exc)
            except EXPIRED_EXCEPTIONS as exc:
                if not self.policy.retry_expired_credentials:
                    raise
                reason = f"AWS login needed ({type(exc).__name__}): refresh it (e.g. aws sso login)"
            except TRANSIENT_EXCEPTIONS as exc:
                self.stats.errors_retried += 1
                reason = _reason(exc)
            except UnicodeDecodeError as exc:
                raise InvalidResponse(group, f"not UTF-8 ({exc.reason})") from None
            else:
                self.gone = False
                if failing_since is not None:
                    # "recovered", once for the groups that were said failing alike
                    self.stats.set_ok(group, self.clock())
                self.stats.pages += 1
                return page
            finally:
                self.stats.call_ended(group, answered=answered)
                self.ctx.logs_in_flight.release()
            now = self.clock()
            if failing_since is None:
                failing_since = now
            failing_for = now - failing_since
            self.stats.set_failing(group, failing_since, reason)
            if not told and failing_for >= self.policy.notice_after_s:
                told = self._tell_failing(reason)
            if limit is not None and failing_for >= limit:
                self.stats.set_ok(group, recovered=False)
                raise GaveUp(group, reason, failing_for)
            # Full jitter: readers throttled together must not come back together.
            if self.stop.wait(delay * (0.5 + random.random() / 2)):
                return None
            delay = min(self.policy.max_backoff_s, delay * 2)


# Places in the limiter's order (see RateLimiter): a group's first page, a time slice's first
# page, every other page.
GROUP_FIRST_RANK = 0
SLICE_FIRST_RANK = 1
NEXT_PAGE_RANK = 2


def read_window(
    ctx: AwsContext,
    query: GroupQuery,
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    *,
    stop: StopSignal,
    filter_pattern: str | None = None,
    stream_names: list[str] | None = None,
    policy: RetryPolicy = WINDOW_POLICY,
    missing: threading.Event | None = None,
    first_rank: int | None = None,
) -> Generator[list[RawEvent], None, None]:
    """Every event of the group in [start_ms, end_ms], page by page, ascending.

    A group given up on (GaveUp) is recorded in `stats.failures` with how far it was read, and
    its stream ends there; the caller decides what that means for the whole read. A group that
    does not exist is told in `stats` (skipped), or, with `missing` (a read on a guess), only
    set there. A group refused for its log class raises ClassRefused (before any page).
    `first_rank`: each call gets a place in the limiter's order (see RateLimiter): the first
    page `(first_rank, start_ms)`, every next one `(NEXT_PAGE_RANK, where it reads from)`."""
    pager = _Pager(ctx, query, stats, stop, policy, missing=missing)
    kwargs: dict[str, Any] = {"startTime": start_ms}
    if end_ms is not None:
        kwargs["endTime"] = end_ms
    if filter_pattern:
        kwargs["filterPattern"] = filter_pattern
    if stream_names:
        kwargs["logStreamNames"] = stream_names[:100]
    seen_tokens: set[str] = set()
    read_until: int | None = None
    try:
        while True:
            try:
                place: Place | None = None
                if first_rank is not None:
                    place = (
                        (first_rank, start_ms)
                        if "nextToken" not in kwargs
                        else (NEXT_PAGE_RANK, start_ms if read_until is None else read_until)
                    )
                page = pager.call(place=place, **kwargs)
            except GaveUp as exc:
                stats.fail(GroupFailure(query.group, exc.reason, exc.failing_for_s, read_until))
                return
            if page is None:
                return
            events = _checked(query, _events(query, page, stats), stats)
            _told_replaced(query, events, page.get(pages.REPLACED_KEY), stats)
            token = page.get("nextToken")
            # The parsed response is as large as the events again: let it go before waiting.
            del page
            if events:
                read_until = events[-1].timestamp
                stats.events += len(events)
                yield events
                del events
            if not token:
                return
            if token in seen_tokens:
                stats.notice(
                    f"{query.group}: the server returned the same page token twice; "
                    "stopped reading this group here, later events of the window may be missing"
                )
                return
            seen_tokens.add(token)
            kwargs["nextToken"] = token
    finally:
        # The first page was told as it came; a group with more says the whole of it.
        stats.tell_not_utf8_totals(query.group, "in all,")


# --- follow mode ------------------------------------------------------------------------------

# The shortest look-back of a poll before the newest event seen: CloudWatch Logs can ingest an
# event seconds after its timestamp, in a stream that did not exist a moment ago.
MIN_LOOKBACK_MS = 5_000
# The longest: every `sweep_every_s` a poll looks back this far, to find events later than the
# short look-back covered. Keys are remembered this long, so no poll can return an event twice.
DEFAULT_MAX_LAG_MS = 120_000
SWEEP_EVERY_S = 30.0
# How long a lag seen keeps the look-back wide after lags fall again.
LAG_MEMORY_MS = 300_000
# A group's watermark trails a poll's start by the lag most of its recent events had: the
# `SETTLE_QUANTILE` of the last `SETTLE_SAMPLES` lags, at most `MAX_SETTLE_MS`. API Gateway
# writes its execution lines in batches, a second or more after the Lambda lines of the same
# moment; a watermark at the poll's start let 629 of 2,952 demo lines out of order (`late`).
SETTLE_SAMPLES = 200
SETTLE_QUANTILE = 0.99
MAX_SETTLE_MS = 5_000
# Until a group has shown `SETTLE_MIN_SAMPLES` lags, it is assumed to lag this much: the first
# lines of a follow were the late ones (115 of 115 in one demo run) while nothing was known.
# Measured on the demo and the bench's follow: 2 s held every group's first lines long enough to
# put the largest ingestion-to-screen delay at 3 s; 1 s keeps (late) at 0.5 % and it near 2 s.
PRIOR_SETTLE_MS = 1_000
SETTLE_MIN_SAMPLES = 5


@dataclass
class FollowState:
    """What a follower remembers between polls: the newest timestamp, the lags seen, and the
    keys of the events it returned, for as long as any poll can return them again.

    Consistent by construction: every poll starts at or after `horizon_ms()`, and every key
    with a timestamp at or after the horizon is remembered.

    Only the lag of events ingested from `live_from_ms` on (the wall clock when following
    began) counts: what was stored before, the first poll finds whatever its lag, so it must
    neither widen the look-back nor be told (a backfill, minutes old, is not a slow service)."""

    since_ms: int
    max_lag_ms: int = DEFAULT_MAX_LAG_MS
    live_from_ms: int = 0
    newest_ms: int = 0
    # (when seen, wall ms; lag ms): the largest lag of the recent past sizes the look-back.
    lags: deque[tuple[int, int]] = field(default_factory=deque)
    seen: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _expiry: list[tuple[int, tuple[str, str, str]]] = field(default_factory=list)
    # The lags of the last live events, for the watermark (`settle_ms`).
    recent_lags: deque[int] = field(default_factory=lambda: deque(maxlen=SETTLE_SAMPLES))

    def settle_ms(self) -> int:
        """How far behind a poll's start this group's events are all in, as far as its recent
        lags tell: the watermark the merge is given."""
        if len(self.recent_lags) < SETTLE_MIN_SAMPLES:
            return max(PRIOR_SETTLE_MS, *self.recent_lags, 0)
        ordered = sorted(self.recent_lags)
        return min(MAX_SETTLE_MS, ordered[int(SETTLE_QUANTILE * (len(ordered) - 1))])

    def lag_ms(self, now_ms: int) -> int:
        lags = self.lags
        while lags and lags[0][0] < now_ms - LAG_MEMORY_MS:
            lags.popleft()
        return max((lag for _, lag in lags), default=0)

    def lookback_ms(self, now_ms: int) -> int:
        return max(MIN_LOOKBACK_MS, min(self.max_lag_ms, 2 * self.lag_ms(now_ms) + 2_000))

    def _anchor(self, now_ms: int) -> int:
        # A timestamp from a skewed clock far ahead must not move every poll past real events.
        return min(self.newest_ms, now_ms)

    def poll_start(self, now_ms: int, *, sweep: bool = False) -> int:
        if not self.newest_ms:
            return self.since_ms
        back = self.max_lag_ms if sweep else self.lookback_ms(now_ms)
        return max(self.since_ms, self._anchor(now_ms) - back)

    def horizon_ms(self, now_ms: int) -> int:
        """No poll from now on starts before this."""
        if not self.newest_ms:
            return self.since_ms
        return max(self.since_ms, self._anchor(now_ms) - self.max_lag_ms)

    def admit(
        self, events: list[RawEvent], stats: FetchStats, now_ms: int, *, short_start: int | None
    ) -> list[RawEvent]:
        """The events not returned before; remembers them. `short_start`: where a short poll
        would have started (set on sweeps): fresh events before it were missed by the short
        polls, and are counted as late beyond the look-back."""
        fresh = []
        seen = self.seen
        for event in events:
            key = event.key
            if key in seen:
                stats.duplicates += 1
                continue
            seen[key] = event.timestamp
            heapq.heappush(self._expiry, (event.timestamp, key))
            fresh.append(event)
            if event.timestamp > self.newest_ms:
                self.newest_ms = event.timestamp
            lag = event.ingestion_time - event.timestamp
            if lag > 0 and event.ingestion_time >= self.live_from_ms:
                self.recent_lags.append(lag)
                if lag > stats.max_lag_ms:
                    stats.max_lag_ms = lag
                if not self.lags or lag > self.lags[-1][1] or now_ms - self.lags[-1][0] > 1_000:
                    self.lags.append((now_ms, lag))
            if short_start is not None and event.timestamp < short_start:
                stats.late_beyond_lookback += 1
        return fresh

    def forget_old(self, now_ms: int) -> None:
        """Keys older than any future poll can return are dropped: memory stays bounded by the
        events of `max_lag_ms`."""
        horizon = self.horizon_ms(now_ms)
        expiry = self._expiry
        while expiry and expiry[0][0] < horizon:
            _, key = heapq.heappop(expiry)
            self.seen.pop(key, None)


def follow_group(
    ctx: AwsContext,
    query: GroupQuery,
    since_ms: int,
    stats: FetchStats,
    emit: Callable[[GroupQuery, list[RawEvent], int], None],
    *,
    stop: StopSignal,
    interval_s: float = 1.0,
    filter_pattern: str | None = None,
    clock: Callable[[], float] = time.time,
    policy: RetryPolicy = FOLLOW_POLICY,
    max_lag_ms: int = DEFAULT_MAX_LAG_MS,
    sweep_every_s: float = SWEEP_EVERY_S,
) -> None:
    """Poll the group until `stop`; `emit(query, new_events, read_until_ms)` after every poll.

    `read_until_ms` is the time the poll started: the group has been read up to it, and anything
    older that shows up later is a late event (ingestion lag), which is still emitted. A group
    refused for its log class is said once, then reported read up to every poll's start, with
    no call: it must not hold the other groups back."""
    state = FollowState(since_ms=since_ms, max_lag_ms=max_lag_ms, live_from_ms=int(clock() * 1000))
    pager = _Pager(ctx, query, stats, stop, policy)
    next_sweep = clock() + sweep_every_s
    warned_lag = False
    while not stop.is_set():
        started = clock()
        started_ms = int(started * 1000)
        sweep = started >= next_sweep and state.newest_ms > 0
        short_start = state.poll_start(started_ms) if sweep else None
        kwargs: dict[str, Any] = {"startTime": state.poll_start(started_ms, sweep=sweep)}
        if filter_pattern:
            kwargs["filterPattern"] = filter_pattern
        seen_tokens: set[str] = set()
        read_until = -1
        late_before = stats.late_beyond_lookback
        while not stop.is_set():
            try:
                page = pager.call(**kwargs)
            except ClassRefused as refused:
                stats.log_classes[query.group] = refused.log_class
                stats.notice(
                    unfollowable_notice(query.group)
                    if refused.log_class == INFREQUENT_ACCESS
                    else delivery_notice(query.group)
                )
                _caught_up(query, emit, stop, interval_s, clock)
                return
            if page is None:
                break
            events = _checked(query, _events(query, page, stats), stats)
            token = page.get("nextToken")
            if token and events:
                # More pages follow, ascending: only what is older than this page's newest event
                # has certainly been read.
                read_until = max(read_until, events[-1].timestamp - 1)
            fresh = state.admit(events, stats, started_ms, short_start=short_start)
            _told_replaced(query, events, page.get(pages.REPLACED_KEY), stats, fresh)
            if fresh:
                stats.events += len(fresh)
                emit(query, fresh, read_until)
            if not token or token in seen_tokens:
                break
            seen_tokens.add(token)
            kwargs["nextToken"] = token
        if stop.is_set():
            return
        # The group has been read up to the poll's start, less the lag its events arrive with:
        # tell the merge even when nothing came.
        emit(query, [], started_ms - 1 - state.settle_ms())
        if sweep:
            found = stats.late_beyond_lookback - late_before
            if found:
                stats.notice(
                    f"{query.group}: {found} events were ingested later than the "
                    f"{(started_ms - (short_start or started_ms)) / 1000:.0f} s look-back "
                    f"(lag up to {state.lag_ms(started_ms) / 1000:.0f} s); found by the "
                    "periodic re-read and printed late. The look-back now grows to cover them",
                    once=False,
                )
            # A sweep of a busy group costs pages: never spend more than a tenth of the time.
            next_sweep = started + max(sweep_every_s, 10 * (clock() - started))
        lag = state.lag_ms(started_ms)
        if not warned_lag and lag > max_lag_ms // 2:
            warned_lag = True
            stats.notice(
                f"{query.group}: CloudWatch Logs is ingesting events up to {lag / 1000:.0f} s "
                f"late; follow mode finds events up to {max_lag_ms / 1000:.0f} s late "
                "(raise it with --max-lag)"
            )
        state.forget_old(started_ms)
        # Polls start every `interval_s` (a poll's own time is part of it, not added to it). A
        # group that does not exist yet may appear (first invocation): keep polling, slower.
        period = interval_s * (5 if pager.gone else 1)
        stop.wait(max(0.0, started + period - clock()))


def _caught_up(
    query: GroupQuery,
    emit: Callable[[GroupQuery, list[RawEvent], int], None],
    stop: StopSignal,
    interval_s: float,
    clock: Callable[[], float],
) -> None:
    """A group that cannot be read: said read up to now at every poll, so that the merge never
    holds the other groups' events back waiting for it."""
    while True:
        emit(query, [], int(clock() * 1000) - 1)
        if stop.wait(interval_s):
            return
