"""The joins by timing: when no ID links a request to its invocation (API Gateway gave up on the
integration before the Lambda answered, and the request was not sampled by X-Ray, so the REPORT
carries no trace ID), an invocation of the function API Gateway called that starts within the
window after `Sending request to`, that no ID gives to another request, and that no other
request still waiting for its invocation could equally have started. Such a join is probable:
a soft link (`Builder.probable`), never a merge, and never one invocation for two requests."""

from __future__ import annotations

import itertools
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Iterator
from typing import Any

from apilogs.join.builder import Builder
from apilogs.join.ids import IdIndex
from apilogs.join.updates import UpdateLog

__all__ = ["TimingJoin", "wait_for_partners"]


class TimingJoin:
    """API Gateway's calls to each function and the invocations of each, in time order, for
    the last two graces (`forget`); `join` gives a request the invocation its unanswered call
    started; `waiting_callers` and `likely_caller` tell a reader what such a join may still do."""

    __slots__ = ("_ids", "_log", "_sends", "_starts", "joins", "window_ms")

    def __init__(self, window_ms: int, ids: IdIndex, log: UpdateLog) -> None:
        self.window_ms = window_ms
        self.joins = 0
        self._ids = ids
        self._log = log
        # By function: invocations (START ms, INIT ms, Lambda ID) and API Gateway's calls
        # (Sending ms, the request's builder).
        self._starts: dict[str, deque[tuple[int, int | None, str]]] = {}
        self._sends: dict[str, deque[tuple[int, Builder]]] = {}

    def called(self, request: Builder, at_ms: int, name: str) -> None:
        """API Gateway called the function `name` for the request."""
        request.sends.append((at_ms, name))
        sends = self._sends.setdefault(name, deque())
        if sends and at_ms < sends[-1][0]:
            # Following, a line read late: the calls stay in time order (searched).
            insort(sends, (at_ms, request), key=_send_ms)
        else:
            sends.append((at_ms, request))

    def started(self, name: str, start_ms: int, init_at: int | None, lambda_id: str) -> None:
        """An invocation of `name` started (`init_at`: its cold start's INIT_START)."""
        self._starts.setdefault(name, deque()).append((start_ms, init_at, lambda_id))

    def forget(self, horizon_ms: int) -> None:
        """Calls and starts before the horizon: no join by timing needs them any more."""
        for index in (self._starts, self._sends):
            for name in list(index):
                entries = index[name]
                while entries and entries[0][0] < horizon_ms:
                    entries.popleft()
                if not entries:
                    del index[name]

    def clear(self) -> None:
        self._starts.clear()
        self._sends.clear()

    def join(self, request: Builder) -> None:
        """Give the request the one invocation its unanswered call could have started."""
        if request.probable is not None or request.request_id is None or request.closed:
            return
        window = self.window_ms
        by_id = self._ids.by_id
        # The last call first: API Gateway made it only once every call before it (the
        # authorizer's) had answered, so it is the one a timeout left unanswered. Tried in the
        # order made, the authorizer's invocation (which only the access log names, and the
        # access line comes last) would take the one probable join a request has.
        for send_ms, name in reversed(request.sends):
            if _has_invocation_of(request, name):
                continue
            found: list[tuple[Builder, int, int | None]] = []
            # A cold start's START may come up to the init's length after the call.
            for start_ms, init_at, lid in reversed(self._starts.get(name, ())):
                if start_ms < send_ms:
                    break
                if not _starts_within(send_ms, start_ms, init_at, window):
                    continue
                candidate = by_id.get(lid)
                if candidate is None:
                    continue
                candidate = candidate.root()
                if (
                    candidate is request
                    or candidate.request_id is not None
                    or candidate.probable_owner is not None
                    or candidate.closed
                    or any(c is candidate for c, _, _ in found)
                ):
                    continue
                found.append((candidate, start_ms, init_at))
            if len(found) != 1:
                continue  # none, or several: a guess would be a coin toss
            invocation, start_ms, init_at = found[0]
            if self._contested(request, name, start_ms, init_at):
                continue  # another request waiting for an answer could have started it
            request.probable = invocation
            invocation.probable_owner = request
            self.joins += 1
            self._log.version += 1
            self._log.touch(request)
            return

    def likely_caller(self, builder: Builder) -> Builder | None:
        """The only request still waiting for an answer that called the function of this
        invocation-only builder just before it began; None when there is none, or more than
        one. A guess for a label: nothing is joined."""
        found: Builder | None = None
        for caller in self.waiting_callers(builder):
            if found is None:
                found = caller
            elif caller is not found:
                return None
        return found

    def waiting_callers(self, builder: Builder) -> Iterator[Builder]:
        """The requests still waiting for an answer that called one of the builder's functions
        just before its invocation began, newest call first (a request may come twice)."""
        window = self.window_ms
        for inv in builder.invocations.values():
            name = inv.function
            if name is None or inv.start_ms is None:
                continue
            sends = self._sends.get(name)
            if not sends:
                continue
            began = inv.start_ms if inv.init_at is None else min(inv.start_ms, inv.init_at)
            last = inv.start_ms if inv.init_at is None else max(inv.start_ms, inv.init_at)
            # Newest first, from the last call made before it started (a held line is looked at
            # again while the stream runs on: the calls made since are many, and never its
            # caller); stop at the calls made too long before it began.
            after = len(sends) - bisect_right(sends, last, key=_send_ms)
            for send_ms, sender in itertools.islice(reversed(sends), after, None):
                if send_ms < began - window:
                    break
                if not _starts_within(send_ms, inv.start_ms, inv.init_at, window):
                    continue
                rival = sender.root()
                if not rival.closed and not _has_invocation_of(rival, name):
                    yield rival

    def _contested(self, request: Builder, name: str, start_ms: int, init_at: int | None) -> bool:
        """Another request, still waiting for its own invocation of this function, called it
        just before this invocation began."""
        window = self.window_ms
        began = start_ms if init_at is None else min(start_ms, init_at)
        for rival_send, sender in reversed(self._sends.get(name, ())):
            if rival_send < began - window:
                return False
            rival = sender.root()
            if (
                rival is not request
                and not rival.closed
                and not _has_invocation_of(rival, name)
                and _starts_within(rival_send, start_ms, init_at, window)
            ):
                return True
        return False


def wait_for_partners(done: dict[int, Builder]) -> None:
    """A request and its invocation joined by timing close together: either one whose partner
    is still open and not closing now leaves `done` (it closes with it later)."""
    waiting = True
    while waiting:
        waiting = False
        for serial, builder in list(done.items()):
            partner = builder.probable or builder.probable_owner
            if partner is not None and not partner.closed and id(partner) not in done:
                del done[serial]
                waiting = True


def _has_invocation_of(request: Builder, name: str) -> bool:
    """The request has an invocation of this function joined by ID (or by timing)."""
    probable = request.probable
    if probable is not None and any(
        inv.function in (name, None) for inv in probable.root().invocations.values()
    ):
        # Only that function's: the authorizer's invocation, named by the access line alone
        # (it comes last), is still awaited once the integration's was joined by timing.
        return True
    for lid, inv in request.invocations.items():
        if inv.function == name or (inv.function is None and lid not in request.authorizer_ids):
            return True
    return False


def _starts_within(send_ms: int, start_ms: int, init_at: int | None, window_ms: int) -> bool:
    if send_ms <= start_ms <= send_ms + window_ms:
        return True
    return init_at is not None and send_ms <= init_at <= send_ms + window_ms


def _send_ms(entry: tuple[int, Any]) -> int:
    return entry[0]
