"""What the readers tell the front ends while they work: counters for a progress line, notices
the user must be told (cut off, skipped, late, failing, recovered), and failures.

Readers never print. A front end reads the counters whenever it likes, and takes the notices
that are new with `take_notices()`: `--watch` shows them while following, not at the end.

A condition that hits many groups at once (an endpoint that fails or does not answer) is said
once, naming how many groups, not once per group: the same reason is said again only when it
reaches more groups and a notice period has passed; its end ("recovered", "answered") is said
once, when the last of its groups is past it."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from apilogs.aws import RateLimiter
from apilogs.errors import GroupFailure


@dataclass
class _Condition:
    """Groups told as failing for one reason, until each has recovered or been given up on."""

    since: float  # the earliest a member began failing (the readers' clock, seconds)
    told_at: float
    members: set[str]
    recovered: list[str] = field(default_factory=list)


@dataclass
class _Slow:
    """Calls told as not answered, until each has ended."""

    told_at: float
    members: set[str]
    answered: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class FetchStats:
    """Plain ints bumped under the GIL; notices and failures under a lock."""

    groups: int = 0
    groups_done: int = 0
    pages: int = 0
    events: int = 0
    errors_retried: int = 0
    duplicates: int = 0
    # follow mode: events found only by a re-read with the longest look-back, and the largest
    # ingestion lag seen (ms); both shown to the user.
    late_beyond_lookback: int = 0
    max_lag_ms: int = 0
    notices: list[str] = field(default_factory=list)
    failures: list[GroupFailure] = field(default_factory=list)
    # groups a read found not to exist (deleted since discovery)
    gone_groups: set[str] = field(default_factory=set)
    # group → its class, learned from FilterLogEvents refusing it (apilogs.fetch.classes)
    log_classes: dict[str, str] = field(default_factory=dict)
    limiter: RateLimiter | None = None
    # group → (failing since, monotonic s; what the last attempt got)
    failing: dict[str, tuple[float, str]] = field(default_factory=dict)
    # group → when its call in flight was sent (monotonic s), and whether its slowness was told
    in_flight: dict[str, tuple[float, bool]] = field(default_factory=dict)
    # group → [pages, events, bytes] that were not UTF-8 (shown with U+FFFD)
    not_utf8: dict[str, list[int]] = field(default_factory=dict)
    # field name → values the parsers left out as no value AWS can write (apilogs.parse.vet):
    # said once, at the end of a read.
    left_out: Counter[str] = field(default_factory=Counter)
    _fresh: deque[str] = field(default_factory=deque, repr=False)
    _keys: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _listener: Callable[[str], None] | None = field(default=None, repr=False)
    # reason → the groups told as failing for it; group → the reason it was told under
    _conditions: dict[str, _Condition] = field(default_factory=dict, repr=False)
    _told_under: dict[str, str] = field(default_factory=dict, repr=False)
    _slow: _Slow | None = field(default=None, repr=False)
    # (thread, hook): called in that thread when the stream it consumes is about to wait
    _on_stall: tuple[int, Callable[[], None]] | None = field(default=None, repr=False)

    @property
    def throttles(self) -> int:
        """Throttled reads so far, each counted once (retried by the reader: never lost)."""
        return self.limiter.throttles if self.limiter else 0

    def notice(self, text: str, *, once: bool = True, key: str | None = None) -> None:
        """Something the user must be told. `once`: the same text is told only the first time;
        `key`: only the first text with this key is told (the text may differ, e.g. a count)."""
        with self._lock:
            if key is not None:
                if key in self._keys:
                    return
                self._keys.add(key)
            elif once and text in self.notices:
                return
            self.notices.append(text)
            listener = self._listener
            if listener is None:
                self._fresh.append(text)
        if listener is not None:
            listener(text)

    def listen(self, listener: Callable[[str], None] | None) -> None:
        """Tell each notice to `listener` as it is raised, from whichever thread raised it,
        instead of keeping it for `take_notices`: a front end that prints notices says them
        while they happen, even while its own thread waits on a read or a pipe."""
        with self._lock:
            self._listener = listener
            fresh = list(self._fresh)
            self._fresh.clear()
        if listener is not None:
            for text in fresh:
                listener(text)

    def on_stall(self, hook: Callable[[], None] | None) -> None:
        """Call `hook` whenever the stream this thread consumes is about to wait for a page:
        a consumer that batches its output (a pipe) sends what it holds, so the other end of
        the pipe is not kept waiting on the network with lines already made."""
        self._on_stall = None if hook is None else (threading.get_ident(), hook)

    def stalling(self) -> None:
        """The consuming thread is about to wait for a page (see `on_stall`)."""
        registered = self._on_stall
        if registered is not None and registered[0] == threading.get_ident():
            registered[1]()

    def take_notices(self) -> list[str]:
        """The notices not taken before, oldest first."""
        with self._lock:
            taken = list(self._fresh)
            self._fresh.clear()
            return taken

    # -- bytes that are not UTF-8 ------------------------------------------------------------

    def tell_not_utf8(self, group: str, count: int, replaced_bytes: int, noun: str) -> None:
        """A page (or query result) of `group` held `count` `noun`s with bytes that are not
        UTF-8, `replaced_bytes` of them shown as U+FFFD: said on the first such page, then as it
        goes on (every page of a broken endpoint may be so), not once a page."""
        totals = self.not_utf8.setdefault(group, [0, 0, 0])
        totals[0] += 1
        totals[1] += count
        totals[2] += replaced_bytes
        pages_told = totals[0]
        if pages_told == 1:
            self.notice(
                f"{group}: {plural(count, noun)} held bytes that are not UTF-8 "
                f"({plural(replaced_bytes, 'byte')} shown as U+FFFD); the rest of each is as sent",
                once=False,
            )
        elif pages_told in (10, 100, 1_000) or pages_told % 10_000 == 0:
            self.tell_not_utf8_totals(group, "so far")

    def tell_not_utf8_totals(self, group: str, when: str) -> None:
        pages_told, count, replaced_bytes = self.not_utf8.get(group, (0, 0, 0))
        if pages_told > 1:
            self.notice(
                f"{group}: {when} {pages_told} pages held bytes that are not UTF-8: "
                f"{plural(count, 'event')}, {plural(replaced_bytes, 'byte')} shown as U+FFFD",
                once=False,
            )

    def fail(self, failure: GroupFailure) -> None:
        with self._lock:
            self.failures.append(failure)

    def set_failing(self, group: str, since: float, reason: str) -> None:
        with self._lock:
            self.failing[group] = (since, reason)

    def tell_failing(self, group: str, reason: str, now: float, period_s: float) -> None:
        """`group`'s reads have failed (for `reason`) long enough to be said. Said once for
        every group failing for the same reason; said again only once `period_s` has passed
        and the reason has reached a group not counted before. `now`: the readers' clock."""
        with self._lock:
            condition = self._conditions.get(reason)
            if condition is not None and group in condition.members:
                return
            if condition is not None and now - condition.told_at < period_s:
                self._join(condition, {group}, reason)
                return
            joining = {g for g, (_, r) in self.failing.items() if r == reason} | {group}
            since = min((self.failing[g][0] for g in joining if g in self.failing), default=now)
            if condition is None:
                condition = self._conditions[reason] = _Condition(since, now, set())
            condition.since = min(condition.since, since)
            condition.told_at = now
            self._join(condition, joining, reason)
            count = len(condition.members)
            what = group if count == 1 else f"{count} groups"
            text = (
                f"CloudWatch Logs has failed every read of {what} for "
                f"{now - condition.since:.0f} s ({reason}); still trying"
            )
        self.notice(text, once=False)

    def _join(self, condition: _Condition, groups: set[str], reason: str) -> None:
        for group in groups:
            before = self._told_under.get(group)
            if before is not None and before != reason:
                self._leave(group, recovered=False)
            self._told_under[group] = reason
            condition.members.add(group)

    def _leave(self, group: str, *, recovered: bool) -> _Condition | None:
        """`group` is past its condition: the condition, when it was the last of it."""
        reason = self._told_under.pop(group, None)
        condition = self._conditions.get(reason) if reason is not None else None
        if condition is None:
            return None
        condition.members.discard(group)
        if recovered:
            condition.recovered.append(group)
        if condition.members:
            return None
        del self._conditions[reason]  # type: ignore[arg-type]
        return condition

    def set_ok(self, group: str, now: float | None = None, *, recovered: bool = True) -> None:
        """`group` is no longer failing: a read succeeded (`recovered`), or it was given up on.
        Recovery is said once its condition's last group is past it."""
        if group not in self.failing and group not in self._told_under:
            return
        with self._lock:
            self.failing.pop(group, None)
            condition = self._leave(group, recovered=recovered)
        if condition is None or not condition.recovered:
            return
        took = (time.monotonic() if now is None else now) - condition.since
        groups = condition.recovered
        self._tell_over(
            f"{groups[-1]}: reads recovered after {took:.0f} s",
            f"CloudWatch Logs reads recovered after {took:.0f} s ({len(groups)} groups)",
            len(groups),
        )

    # -- calls that take long ----------------------------------------------------------------

    def call_started(self, group: str) -> None:
        with self._lock:
            self.in_flight[group] = (time.monotonic(), False)

    def call_ended(self, group: str, *, answered: bool = True) -> None:
        """`group`'s call ended: `answered`, or not (a time-out, a dropped connection). That
        calls told as slow were answered is said once, when the last of them ends."""
        now = time.monotonic()
        with self._lock:
            started = self.in_flight.pop(group, None)
            slow = self._slow
            if started is None or not started[1] or slow is None:
                return
            slow.members.discard(group)
            if answered:
                slow.answered.append((group, now - started[0]))
            if slow.members:
                return
            self._slow = None
        if not slow.answered:
            return  # not answered at all: the failing reads are said by the readers
        last, waited = slow.answered[-1]
        count = len(slow.answered)
        self._tell_over(
            f"{last}: CloudWatch Logs answered after {waited:.0f} s",
            f"CloudWatch Logs answered reads of {count} groups after up to "
            f"{max(w for _, w in slow.answered):.0f} s",
            count,
        )

    def _tell_over(self, one: str, several: str, count: int) -> None:
        """A trouble over: said of its one group, or of all of them at once."""
        self.notice(one if count == 1 else several, once=False)

    def tell_slow_calls(self, after_s: float) -> None:
        """Calls in flight longer than `after_s`: an endpoint that stops answering is said, not
        waited on in silence, once for all the calls it holds (again only once `after_s` has
        passed and a call not counted before is slow). Called by the consumers as they wait."""
        if not self.in_flight:
            return
        now = time.monotonic()
        slow: list[str] = []
        with self._lock:
            for group, (since, told) in self.in_flight.items():
                if not told and now - since >= after_s:
                    self.in_flight[group] = (since, True)
                    slow.append(group)
            if not slow:
                return
            episode = self._slow
            if episode is None:
                episode = self._slow = _Slow(now - after_s - 1, set())
            episode.members.update(slow)
            if now - episode.told_at < after_s:
                return
            episode.told_at = now
            # Every call half as slow is counted now, not said again a moment later.
            for group, (since, told) in self.in_flight.items():
                if not told and now - since >= after_s / 2:
                    self.in_flight[group] = (since, True)
                    episode.members.add(group)
            waiting = [
                (g, now - self.in_flight[g][0]) for g in episode.members if g in self.in_flight
            ]
        waited = max(w for _, w in waiting)
        what = (
            f"a read of {waiting[0][0]}" if len(waiting) == 1 else f"reads of {len(waiting)} groups"
        )
        self.notice(
            f"CloudWatch Logs has not answered {what} for {waited:.0f} s; still waiting",
            once=False,
        )


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
