"""What the readers tell the front ends while they work: counters for a progress line, notices
the user must be told (cut off, skipped, late, failing, recovered), and failures.

Readers never print. A front end reads the counters whenever it likes, and takes the notices
that are new with `take_notices()`: `--watch` shows them while following, not at the end."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from apilogs.aws import RateLimiter
from apilogs.errors import GroupFailure


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
    _fresh: deque[str] = field(default_factory=deque, repr=False)
    _keys: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _listener: Callable[[str], None] | None = field(default=None, repr=False)

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

    def set_ok(self, group: str) -> None:
        if group in self.failing:
            with self._lock:
                self.failing.pop(group, None)

    # -- calls that take long ----------------------------------------------------------------

    def call_started(self, group: str) -> None:
        with self._lock:
            self.in_flight[group] = (time.monotonic(), False)

    def call_ended(self, group: str) -> None:
        with self._lock:
            started = self.in_flight.pop(group, None)
        if started is not None and started[1]:
            self.notice(
                f"{group}: CloudWatch Logs answered after {time.monotonic() - started[0]:.0f} s",
                once=False,
            )

    def tell_slow_calls(self, after_s: float) -> None:
        """A notice for each call in flight longer than `after_s`: an endpoint that stops
        answering is said, not waited on in silence. Called by the consumers as they wait."""
        if not self.in_flight:
            return
        now = time.monotonic()
        slow = []
        with self._lock:
            for group, (since, told) in self.in_flight.items():
                if not told and now - since >= after_s:
                    self.in_flight[group] = (since, True)
                    slow.append((group, now - since))
        for group, waited in slow:
            self.notice(
                f"CloudWatch Logs has not answered a read of {group} for {waited:.0f} s; "
                "still waiting",
                once=False,
            )


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
