"""Live Tail for follow mode: CloudWatch Logs pushes each group's new events once a second.

`follow_live` yields what `fetch.follow` yields — batches of `merge.Released` in time order, an
empty batch at least every second as a heartbeat — and keeps follow mode's promise: every event
once, none lost, whatever happens to the sessions.

- Log groups are named by ARN (`logGroupArn` from DescribeLogGroups, not `arn`, which ends in
  `:*`), at most 10 a session: more groups → several sessions, each in its own thread, merged by
  one `WatermarkMerge`. A session is one watermark source.
- Live Tail has no history and no event ID. The events from the start of the follow up to the
  session's start are read with FilterLogEvents (a *fill*), and so is every gap: after a
  reconnect the fill starts at the last timestamp seen (or the last update, if older) minus an
  overlap that grows with the ingestion lag seen. Events are de-duplicated by content —
  (group, stream, timestamp, message) — counted as a multiset, so two identical lines in one
  millisecond both come out.
- A session is replaced before the 3-hour limit: the new one is opened before the old one is
  closed, and a fill covers the switch. `EventStreamError`, a dropped or silent connection
  (updates come every second; a read times out after 15 s) → reconnect, with a fill.
- A `sampled` update (more than 500 events a second matched) is said in a notice (at the 1st,
  10th, 100th … sampled update, with the count) and its second is read again with FilterLogEvents,
  so the events Live Tail left out still come, once.
- Where Live Tail is refused (access denied, an endpoint without it, sessions that end as soon as
  they start, as moto's do), that session's groups are followed by polling FilterLogEvents
  instead (`fetch.filter.follow_group`), with a notice, through the same de-duplication.
- With an endpoint URL the client is made with `inject_host_prefix=False`: StartLiveTail would
  otherwise prefix the host (`streaming-127.0.0.1`).
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import botocore.exceptions
from botocore.config import Config

from apilogs.aws import AwsContext, error_code, is_throttle
from apilogs.cancel import CancelScope, StopSignal
from apilogs.fetch.filter import (
    DEFAULT_MAX_LAG_MS,
    MIN_LOOKBACK_MS,
    GroupQuery,
    follow_group,
)
from apilogs.fetch.filter import read_window as filter_read_window
from apilogs.fetch.merge import Released, WatermarkMerge, arrived
from apilogs.fetch.stats import FetchStats
from apilogs.model import RawEvent

__all__ = [
    "MAX_GROUPS_PER_SESSION",
    "MAX_SESSION_S",
    "ContentDedupe",
    "LiveTailUsage",
    "Opener",
    "TailStream",
    "client_opener",
    "follow_live",
    "group_name_of",
    "live_tail_client",
    "resolve_arns",
]

#: StartLiveTail takes at most 10 log groups.
MAX_GROUPS_PER_SESSION = 10
#: Sessions end after 3 hours; each is replaced 10 minutes before.
MAX_SESSION_S = 3 * 3600 - 600
#: An update that arrives at wall time W says the session's groups are read up to W minus this.
LIVE_DELAY_MS = 2_000
#: Updates come every second, even empty: a read silent this long is a dead connection.
READ_TIMEOUT_S = 15.0
#: A session that ends this soon after it started, this many times in a row: Live Tail is not
#: really served here (moto returns the history once and ends).
QUICK_END_S = 5.0
MAX_QUICK_ENDS = 3
#: How long a content key is remembered at least (a fill and a session race for the same event).
KEY_RETENTION_S = 60.0
MAX_BACKOFF_S = 30.0

_TRANSIENT_CODES = frozenset(
    {"ServiceUnavailableException", "InternalFailure", "ServiceUnavailable"}
)


class TailStream(Protocol):
    """A Live Tail event stream: botocore's `EventStream` (dicts with `sessionStart` or
    `sessionUpdate`; raises `EventStreamError` for the stream's exceptions)."""

    def __iter__(self) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


#: (region, log group ARNs) → an open Live Tail stream. The engine's boundary to AWS.
Opener = Callable[[str, Sequence[str]], TailStream]


@dataclass
class LiveTailUsage:
    """What the Live Tail sessions of a follow did (for a summary, the TUI, tests)."""

    sessions: int = 0  # sessions opened
    reconnects: int = 0  # sessions lost (error, dropped) and opened again
    rollovers: int = 0  # sessions replaced before the 3-hour limit (or ended by it)
    updates: int = 0
    sampled_updates: int = 0
    fills: int = 0  # FilterLogEvents reads of a gap or of a sampled second, started
    fills_done: int = 0
    polling_groups: int = 0  # groups followed by polling because Live Tail was refused
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bump(self, name: str, n: int = 1) -> int:
        with self._lock:
            value: int = getattr(self, name) + n
            setattr(self, name, value)
            return value

    def summary(self) -> str:
        text = f"Live Tail: {self.sessions} session{'s' if self.sessions != 1 else ''}"
        if self.reconnects:
            text += f", {self.reconnects} reconnect{'s' if self.reconnects != 1 else ''}"
        if self.sampled_updates:
            text += (
                f", {self.sampled_updates} of {self.updates} updates sampled "
                "(their events read with FilterLogEvents)"
            )
        if self.polling_groups:
            text += f", {self.polling_groups} group(s) followed by polling instead"
        return text


def group_name_of(identifier: str) -> str:
    """`arn:aws:logs:region:account:log-group:NAME[:*]` or a bare name → NAME."""
    if identifier.startswith("arn:"):
        name = identifier.split(":log-group:", 1)[-1]
        return name[:-2] if name.endswith(":*") else name
    return identifier


def live_tail_client(ctx: AwsContext, region: str) -> Any:
    """A logs client for StartLiveTail: its own read timeout (updates come every second), and no
    host prefix when an endpoint URL is given (emulators, proxies)."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=ctx.connect_timeout,
        read_timeout=READ_TIMEOUT_S,
        user_agent_extra="apilogs",
        inject_host_prefix=not ctx.endpoint_url,
    )
    return ctx.session.client(
        "logs", region_name=region, endpoint_url=ctx.endpoint_url, config=config
    )


def client_opener(ctx: AwsContext, *, filter_pattern: str | None = None) -> Opener:
    """The real opener: StartLiveTail through `live_tail_client`, one client per region."""
    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def open_stream(region: str, arns: Sequence[str]) -> TailStream:
        with lock:
            client = clients.get(region)
            if client is None:
                client = clients[region] = live_tail_client(ctx, region)
        kwargs: dict[str, Any] = {"logGroupIdentifiers": list(arns)}
        if filter_pattern:
            kwargs["logEventFilterPattern"] = filter_pattern
        ctx.logs_limiter.acquire()
        response = client.start_live_tail(**kwargs)
        stream: TailStream = response["responseStream"]
        return stream

    return open_stream


def resolve_arns(ctx: AwsContext, queries: Sequence[GroupQuery]) -> dict[str, str]:
    """Log group name → `logGroupArn`, for the groups that exist."""
    arns: dict[str, str] = {}
    for query in queries:
        client = ctx.client("logs", query.region)
        kwargs: dict[str, Any] = {"logGroupNamePrefix": query.group, "limit": 50}
        while query.group not in arns:
            ctx.logs_limiter.acquire()
            page = client.describe_log_groups(**kwargs)
            for group in page.get("logGroups", ()):
                if group.get("logGroupName") == query.group:
                    arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
                    if arn:
                        arns[query.group] = arn
            token = page.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
    return arns


ContentKey = tuple[str, str, int, int, int]


class ContentDedupe:
    """Which events were returned already, by content: Live Tail events carry no event ID.

    Each read pass (a session, a fill, a poller) is an origin; an event is new when its origin
    has now delivered it more often than it was returned — so identical lines in one millisecond
    are all kept, and the same line from a session and from a fill comes out once. The key holds
    the message's length and hash, not the message."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # key → [times returned, {origin: times delivered}, first seen (clock), timestamp]
        self._seen: dict[ContentKey, list[Any]] = {}
        self._lock = threading.Lock()
        self.duplicates = 0

    @staticmethod
    def key(event: RawEvent) -> ContentKey:
        message = event.message
        return (event.group, event.stream, event.timestamp, len(message), hash(message))

    def admit(self, events: Sequence[RawEvent], origin: int) -> list[RawEvent]:
        fresh = []
        now = self._clock()
        with self._lock:
            for event in events:
                key = self.key(event)
                entry = self._seen.get(key)
                if entry is None:
                    self._seen[key] = [1, {origin: 1}, now, event.timestamp]
                    fresh.append(event)
                    continue
                counts: dict[int, int] = entry[1]
                delivered = counts.get(origin, 0) + 1
                counts[origin] = delivered
                if delivered > entry[0]:
                    entry[0] = delivered
                    fresh.append(event)
                else:
                    self.duplicates += 1
        return fresh

    def forget_before(self, floor_ms: int) -> None:
        """Drop keys older than any future read can return (and seen long enough ago)."""
        horizon = self._clock() - KEY_RETENTION_S
        with self._lock:
            if len(self._seen) > 4096:
                self._seen = {
                    k: v for k, v in self._seen.items() if v[3] >= floor_ms or v[2] > horizon
                }

    def __len__(self) -> int:
        return len(self._seen)


def _close(stream: TailStream | None) -> None:
    """Closing a broken stream may fail: it is closed all the same."""
    if stream is not None:
        with contextlib.suppress(Exception):
            stream.close()


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _SessionFailed:
    """A Live Tail session's error, carried to the consumer through the inbox."""

    error: BaseException


_Push = tuple[str, list[RawEvent], int]
_Inbox = queue.Queue[_Push | _SessionFailed]


class _Ledger:
    """A chunk's bookkeeping, shared by its session reader, its filler and its pollers (one lock):
    what the reads have seen (newest timestamp, ingestion lag, last update), the fills wanted and
    running, and from these the watermark its events are pushed with."""

    def __init__(self, key: str, since_ms: int, inbox: _Inbox, dedupe: ContentDedupe) -> None:
        self.key = key
        self.since_ms = since_ms
        self.inbox = inbox
        self.dedupe = dedupe
        self._lock = threading.Lock()
        self._fill_wanted = threading.Condition(self._lock)
        # What the watermark may say: the session's mark, held back by fills not yet done.
        self._live_mark = since_ms - 1
        self._pending_fill: int | None = None  # start of the fill waiting to run
        self._running_fill: int | None = None  # start of the fill running now
        self._poll_marks: dict[str, int] | None = None  # once polling: per group
        self._newest_ms: int | None = None
        self._last_update_ms: int | None = None
        self._lag_ms = 0

    # --- the watermark ---

    def _mark(self) -> int:
        """Under the lock: every event up to here has been pushed, as far as we can tell."""
        mark = self._live_mark if self._poll_marks is None else min(self._poll_marks.values())
        for fill in (self._pending_fill, self._running_fill):
            if fill is not None:
                mark = min(mark, fill - 1)
        return mark

    def push(self, events: list[RawEvent]) -> None:
        with self._lock:
            mark = self._mark()
        self.inbox.put((self.key, events, mark))

    def updated(self, now_ms: int) -> None:
        """A Live Tail update came at `now_ms`: the groups are read up to it, less the delay."""
        with self._lock:
            self._last_update_ms = now_ms
            self._live_mark = max(self._live_mark, now_ms - LIVE_DELAY_MS)

    def poll_from(self, groups: Sequence[str], since_ms: int) -> None:
        """From now on the mark is the polled groups' (each read up to `since_ms` - 1 so far)."""
        with self._lock:
            self._poll_marks = {group: since_ms - 1 for group in groups}

    def polled(self, group: str, read_until: int) -> None:
        with self._lock:
            assert self._poll_marks is not None
            self._poll_marks[group] = max(self._poll_marks[group], read_until)

    # --- what the reads have seen ---

    def admit(self, events: Sequence[RawEvent], origin: int) -> list[RawEvent]:
        """Note what `events` say of the groups, and return those not returned before."""
        self._note(events)
        return self.dedupe.admit(events, origin)

    def _note(self, events: Sequence[RawEvent]) -> None:
        with self._lock:
            for event in events:
                if self._newest_ms is None or event.timestamp > self._newest_ms:
                    self._newest_ms = event.timestamp
                if event.ingestion_time:
                    lag = event.ingestion_time - event.timestamp
                    if lag > self._lag_ms:
                        self._lag_ms = min(lag, DEFAULT_MAX_LAG_MS)

    @property
    def overlap_ms(self) -> int:
        return max(MIN_LOOKBACK_MS, min(DEFAULT_MAX_LAG_MS, 2 * self._lag_ms + 2_000))

    def resume_ms(self) -> int:
        """Where a fill after a gap starts: the last timestamp seen, or the last update if older,
        minus the overlap."""
        with self._lock:
            seen = [m for m in (self._newest_ms, self._last_update_ms) if m is not None]
            if not seen:
                return self.since_ms
            return max(self.since_ms, min(seen) - self.overlap_ms)

    # --- fills ---

    def request_fill(self, start_ms: int) -> None:
        with self._fill_wanted:
            start_ms = max(self.since_ms, start_ms)
            if self._pending_fill is None or start_ms < self._pending_fill:
                self._pending_fill = start_ms
            self._fill_wanted.notify()

    def next_fill(self) -> int | None:
        """The start of the fill to run now (it holds the mark back until `fill_done`), or None
        after a short wait for one to be requested."""
        with self._fill_wanted:
            if self._pending_fill is None:
                self._fill_wanted.wait(0.2)
                return None
            start = self._running_fill = self._pending_fill
            self._pending_fill = None
            return start

    def fill_done(self) -> None:
        with self._lock:
            self._running_fill = None


class _TailReader:
    """The Live Tail side of a chunk: opening a session (retried where that may help; `_Refused`
    where Live Tail is not to be had) and reading its event stream into the ledger."""

    def __init__(
        self,
        session: _Session,
        arns: Mapping[str, str],
        *,
        opener: Opener,
        max_session_s: float,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
    ) -> None:
        queries = session.queries
        self.region = session.region
        self.since_ms = session.since_ms
        self.stats = session.stats
        self.usage = session.usage
        self.halt = session.halt
        self.ledger = session.ledger
        self.by_name = {q.group: q for q in queries}
        self.arns = [arns[q.group] for q in queries if q.group in arns]
        self.by_arn = {arns[q.group]: q for q in queries if q.group in arns}
        self.opener = opener
        self.max_session_s = max_session_s
        self.monotonic = monotonic
        self.wall = wall

    def open(self) -> tuple[TailStream, Iterator[dict[str, Any]]]:
        """Start a session; raises _Refused where Live Tail is not to be had."""
        attempts = 0
        delay = 0.5
        while True:
            attempts += 1
            try:
                stream = self.opener(self.region, self.arns)
                return stream, iter(stream)
            except botocore.exceptions.ClientError as exc:
                code = error_code(exc)
                message = str(exc.response.get("Error", {}).get("Message", "")).strip()
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                transient = (is_throttle(exc) and code != "LimitExceededException") or (
                    code in _TRANSIENT_CODES
                )
                if not transient or attempts >= 3:
                    what = code or f"HTTP {status}"
                    raise _Refused(f"{what}: {message}" if message else what) from exc
            except (
                botocore.exceptions.ConnectionError,
                botocore.exceptions.ReadTimeoutError,
                botocore.exceptions.ConnectionClosedError,
            ) as exc:
                if attempts >= 3:
                    raise _Refused(str(exc)) from exc
            except (botocore.exceptions.BotoCoreError, AttributeError, NotImplementedError) as exc:
                raise _Refused(str(exc) or type(exc).__name__) from exc
            self.stats.errors_retried += 1
            if self.halt.wait(delay):
                raise _Refused("stopped")
            delay = min(MAX_BACKOFF_S, delay * 2)

    def consume(self, events: Iterator[dict[str, Any]], origin: int, opened: float) -> str:
        """Read a session until it ends: 'rollover', 'timeout', 'ended', 'stopped' or the error."""
        try:
            for event in events:
                if self.halt.is_set():
                    return "stopped"
                update = event.get("sessionUpdate")
                if update is not None:
                    self._update(update, origin)
                if self.monotonic() - opened >= self.max_session_s:
                    return "rollover"
            return "ended"
        except botocore.exceptions.EventStreamError as exc:
            if self.halt.is_set():
                return "stopped"
            code = error_code(exc)
            return "timeout" if code == "SessionTimeoutException" else f"{code}: {exc}"
        except Exception as exc:
            if self.halt.is_set():
                return "stopped"
            return f"{type(exc).__name__}: {exc}"

    def _update(self, update: Mapping[str, Any], origin: int) -> None:
        ledger = self.ledger
        now_ms = int(self.wall() * 1000)
        self.usage.bump("updates")
        raw = []
        for result in update.get("sessionResults") or ():
            timestamp = int(result.get("timestamp", 0))
            if timestamp < self.since_ms:
                continue
            identifier = str(result.get("logGroupIdentifier", ""))
            query = self.by_arn.get(identifier) or self.by_name.get(group_name_of(identifier))
            if query is None:
                continue
            stream = str(result.get("logStreamName", ""))
            raw.append(
                RawEvent(
                    timestamp,
                    int(result.get("ingestionTime", 0) or 0),
                    query.group,
                    stream,
                    "",
                    str(result.get("message", "")),
                    query.source_for(stream),
                )
            )
        fresh = ledger.admit(raw, origin)
        self.stats.events += len(fresh)
        if (update.get("sessionMetadata") or {}).get("sampled"):
            sampled = self.usage.bump("sampled_updates")
            if sampled in (1, 10, 100, 1_000, 10_000) or sampled % 100_000 == 0:
                self.stats.notice(
                    f"Live Tail sampled {sampled} update{'s' if sampled != 1 else ''} so far "
                    "(more than 500 events a second matched): the events it left out are read "
                    "with FilterLogEvents"
                )
            ledger.request_fill(now_ms - 1_000 - ledger.overlap_ms)
        ledger.updated(now_ms)
        ledger.dedupe.forget_before(ledger.resume_ms() - ledger.overlap_ms)
        ledger.push(fresh)


class _Session:
    """One chunk of ≤ 10 groups, followed by Live Tail sessions one after the other (or, once
    refused, by polling), with the fills that make it exact. Reports as one watermark source.

    Its threads: the reader (`_run`: when to reconnect, roll over or give up on Live Tail, and
    then the pollers) and the filler (`_fill_loop`); what they share is in its `_Ledger`."""

    def __init__(
        self,
        index: int,
        ctx: AwsContext,
        region: str,
        queries: Sequence[GroupQuery],
        arns: Mapping[str, str],
        since_ms: int,
        stats: FetchStats,
        usage: LiveTailUsage,
        inbox: _Inbox,
        halt: CancelScope,
        *,
        opener: Opener,
        filter_pattern: str | None,
        interval_s: float,
        max_session_s: float,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
        origins: Iterator[int],
        live: bool,
    ) -> None:
        self.key = f"live:{index}"
        self.ctx = ctx
        self.region = region
        self.queries = list(queries)
        self.since_ms = since_ms
        self.stats = stats
        self.usage = usage
        self.inbox = inbox
        self.halt = halt
        self.filter_pattern = filter_pattern
        self.interval_s = interval_s
        self.monotonic = monotonic
        self.wall = wall
        self.origins = origins
        self.live = live
        self.dedupe = ContentDedupe(monotonic)
        self.ledger = _Ledger(self.key, since_ms, inbox, self.dedupe)
        self.tail = _TailReader(
            self,
            arns,
            opener=opener,
            max_session_s=max_session_s,
            monotonic=monotonic,
            wall=wall,
        )
        self._current: TailStream | None = None
        self.threads: list[threading.Thread] = []

    # --- threads ---

    def start(self) -> None:
        reader = threading.Thread(
            target=self._guarded, args=(self._run,), name=f"livetail read {self.key}", daemon=True
        )
        filler = threading.Thread(
            target=self._guarded,
            args=(self._fill_loop,),
            name=f"livetail fill {self.key}",
            daemon=True,
        )
        self.threads += [reader, filler]
        filler.start()
        reader.start()

    def _guarded(self, target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            if not self.halt.is_set():
                self.inbox.put(_SessionFailed(exc))
            self.halt.set()

    def close_stream(self) -> None:
        _close(self._current)

    # --- fills ---

    def _fill_loop(self) -> None:
        ledger = self.ledger
        while not self.halt.is_set():
            start = ledger.next_fill()
            if start is None:
                continue
            self.usage.bump("fills")
            origin = next(self.origins)
            pattern = self.filter_pattern
            for query in self.queries:
                for page in filter_read_window(
                    self.ctx, query, start, None, self.stats, filter_pattern=pattern, stop=self.halt
                ):
                    fresh = ledger.admit(page, origin)
                    if fresh:
                        ledger.push(fresh)
                if self.halt.is_set():
                    return
            ledger.fill_done()
            self.usage.bump("fills_done")
            ledger.push([])

    # --- sessions ---

    def _run(self) -> None:
        if not self.live:
            self._poll(self.since_ms, None)
            return
        quick_ends = 0
        resume = self.since_ms
        previous: TailStream | None = None
        while not self.halt.is_set():
            try:
                stream, events = self.tail.open()
            except _Refused as refused:
                _close(previous)
                if self.halt.is_set():
                    return
                self._poll(resume, f"Live Tail refused ({refused.reason})")
                return
            # Make before break: the old session (a rollover) is closed once the new one is open.
            _close(previous)
            self._current = stream
            self.usage.bump("sessions")
            opened = self.monotonic()
            self.ledger.request_fill(resume)
            ended = self.tail.consume(events, next(self.origins), opened)
            if self.halt.is_set():
                return
            resume = self.ledger.resume_ms()
            if ended == "rollover":
                self.usage.bump("rollovers")
                previous = stream
                continue
            previous = None
            self.close_stream()
            if ended == "timeout":  # the 3-hour limit, if the rollover did not come first
                self.usage.bump("rollovers")
                quick_ends = 0
                continue
            quick_ends = quick_ends + 1 if self.monotonic() - opened < QUICK_END_S else 0
            if quick_ends >= MAX_QUICK_ENDS:
                self._poll(
                    resume,
                    f"Live Tail: the endpoint ended {quick_ends} sessions right after they started",
                )
                return
            self.usage.bump("reconnects")
            if ended != "ended":
                self.stats.notice(
                    f"Live Tail: a session was lost ({ended}); reconnecting, "
                    "the gap is read with FilterLogEvents"
                )
            if quick_ends and self.halt.wait(min(MAX_BACKOFF_S, 0.5 * 2 ** (quick_ends - 1))):
                return

    # --- polling instead ---

    def _poll(self, since_ms: int, why: str | None) -> None:
        """Follow the groups with FilterLogEvents until halted, through the same dedupe."""
        groups = ", ".join(q.group for q in self.queries)
        if why:
            self.stats.notice(f"{why}: following {groups} by polling FilterLogEvents instead")
        self.usage.bump("polling_groups", len(self.queries))
        ledger = self.ledger
        ledger.poll_from([q.group for q in self.queries], since_ms)
        origin_of = {q.group: next(self.origins) for q in self.queries}

        def emit(query: GroupQuery, events: list[RawEvent], read_until: int) -> None:
            fresh = ledger.admit(events, origin_of[query.group])
            ledger.polled(query.group, read_until)
            ledger.push(fresh)

        pollers = [
            threading.Thread(
                target=self._guarded,
                args=(
                    lambda q=query: follow_group(
                        self.ctx,
                        q,
                        since_ms,
                        self.stats,
                        emit,
                        interval_s=self.interval_s,
                        filter_pattern=self.filter_pattern,
                        stop=self.halt,
                        clock=self.wall,
                    ),
                ),
                name=f"livetail poll {query.group}",
                daemon=True,
            )
            for query in self.queries
        ]
        if self.halt.is_set():
            return
        self.threads += pollers
        for poller in pollers:
            poller.start()
        for poller in pollers:
            while poller.is_alive():
                poller.join(0.2)


def _chunks(
    queries: Sequence[GroupQuery], arns: Mapping[str, str]
) -> list[tuple[str, list[GroupQuery], bool]]:
    """(region, ≤ 10 groups, live?) — groups without an ARN (missing) are polled."""
    live: dict[str, list[GroupQuery]] = {}
    polled: dict[str, list[GroupQuery]] = {}
    for query in queries:
        (live if query.group in arns else polled).setdefault(query.region, []).append(query)
    out = [
        (region, group_queries[i : i + MAX_GROUPS_PER_SESSION], True)
        for region, group_queries in live.items()
        for i in range(0, len(group_queries), MAX_GROUPS_PER_SESSION)
    ]
    out += [(region, group_queries, False) for region, group_queries in polled.items()]
    return out


def follow_live(
    ctx: AwsContext,
    queries: Sequence[GroupQuery],
    since_ms: int,
    stats: FetchStats,
    *,
    stop: StopSignal | None = None,
    filter_pattern: str | None = None,
    interval_s: float = 1.0,
    max_hold_ms: int = 30_000,
    usage: LiveTailUsage | None = None,
    opener: Opener | None = None,
    max_session_s: float = MAX_SESSION_S,
    monotonic: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Iterator[list[Released]]:
    """Follow the groups with Live Tail from `since_ms` until `stop`; yield batches in time order
    (the shape of `fetch.follow`: an empty batch is a heartbeat, at least every second).

    `opener` replaces StartLiveTail (tests); `interval_s` is the polling interval of groups that
    Live Tail is refused for. Setting `stop` (or closing the iterator) ends the follow within a
    second and joins every thread it started; `stop` itself is never set. Errors other than the
    ones it recovers from (a failing FilterLogEvents fill, say) are raised here."""
    usage = usage or LiveTailUsage()
    stats.groups += len(queries)
    stats.limiter = ctx.logs_limiter
    halt = CancelScope(stop)
    inbox: _Inbox = queue.Queue()
    merge = WatermarkMerge(max_hold_ms=max_hold_ms)
    sessions: list[_Session] = []
    try:
        looked_up = True
        try:
            arns = resolve_arns(ctx, queries)
        except botocore.exceptions.ClientError as exc:
            stats.notice(
                f"Live Tail: cannot look the log groups up ({error_code(exc)}): "
                "following them by polling FilterLogEvents instead"
            )
            arns, looked_up = {}, False
        missing = [q.group for q in queries if q.group not in arns]
        if missing and looked_up:
            one = len(missing) == 1
            stats.notice(
                f"Live Tail: {', '.join(missing)} do{'es' if one else ''} not exist yet: "
                f"polled with FilterLogEvents until {'it appears' if one else 'they appear'}"
            )
        origins = itertools.count()
        for index, (region, group_queries, live) in enumerate(_chunks(queries, arns)):
            session = _Session(
                index,
                ctx,
                region,
                group_queries,
                arns,
                since_ms,
                stats,
                usage,
                inbox,
                halt,
                opener=opener or client_opener(ctx, filter_pattern=filter_pattern),
                filter_pattern=filter_pattern,
                interval_s=interval_s,
                max_session_s=max_session_s,
                monotonic=monotonic,
                wall=wall,
                origins=origins,
                live=live,
            )
            merge.register(session.key)
            sessions.append(session)
        for session in sessions:
            session.start()
        while not halt.is_set():
            for item in arrived(inbox, 0.25):
                if isinstance(item, _SessionFailed):
                    raise item.error
                key, events, mark = item
                merge.push(key, events, mark)
            yield merge.pop_ready()
    finally:
        halt.set()
        for session in sessions:
            session.close_stream()
        deadline = time.monotonic() + 1.0
        for session in sessions:
            # The reader first: once polling, it waits for its pollers before it ends.
            for thread in list(session.threads):
                thread.join(max(0.0, deadline - time.monotonic()))
        stats.duplicates += sum(s.dedupe.duplicates for s in sessions)
