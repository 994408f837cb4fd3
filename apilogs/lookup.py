"""Find requests from any of their IDs (or a unique prefix of one) without reading the window.

1. Every asked term is checked first: an ID, or at least `MIN_PREFIX` characters of one; any
   other text is refused at once (`InvalidInput`), before a single read.
2. Each round asks every group once for all the IDs pending, as one server-side filter pattern
   (`?"a" ?"b"`: CloudWatch matches any of the terms anywhere in the message; a pattern is cut
   to CloudWatch's 1024 characters, so many IDs may take a few patterns). What comes back is
   checked here too: an emulator may ignore such a pattern and return everything.
3. Every line found names more IDs (the execution log names the Lambda request ID, the access
   log names all of them, a REPORT names the trace): the next round asks for the new ones, until
   nothing new turns up.
4. Where no ID links a request to its invocation (API Gateway gave up on the integration), the
   correlator joins them by timing; for that it needs what happened around the call: the
   function's invocations that started right after `Sending request to`, and every other request
   that sent to the function just before such an invocation started. Those are read (a second
   or so of the function's groups and of the execution log) and their IDs asked in turn.
5. A Lambda's `print` lines carry no ID: the log streams of the invocations found are read
   between their START and REPORT (and before a cold start's START, its init phase).
6. Correlate what was found; each asked term names the requests that carry it, else the one
   request one of whose IDs starts with it (several: `ambiguous`), else it is `not_found`.

IDs are looked up in every group given (the front end passes every source of the API): the
Lambda lines of a request are found from its API Gateway request ID only through the execution
and access logs. Narrowing the lines to some sources is the caller's business."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from apilogs.cancel import CancelScope
from apilogs.errors import Cancelled, IncompleteRead, InvalidInput
from apilogs.fetch import FetchStats, classes
from apilogs.fetch.engines import (
    FILTER,
    MAX_PATTERN_CHARS,
    Reading,
    WindowEngine,
    filter_patterns,
)
from apilogs.fetch.filter import GroupQuery, read_window
from apilogs.fetch.merge import EventKey, event_key
from apilogs.ids import is_uuid
from apilogs.join.correlate import TIMING_WINDOW_MS, correlate, function_name_of
from apilogs.join.streams import OverlapWatch, overlap_notice
from apilogs.model import LineKind, LogEvent, RawEvent, Request, Role
from apilogs.parse import parse_event
from apilogs.parse.vet import LEFT_OUT
from apilogs.stream import StreamSources

if TYPE_CHECKING:
    from apilogs.fetch.insights import InsightsUsage

__all__ = [
    "MAX_PATTERN_CHARS",
    "MIN_PREFIX",
    "Lookup",
    "check_term",
    "filter_patterns",
    "find_requests",
]

MAX_ROUNDS = 6
# Passes of step 4 (each may bring requests whose calls need the same again).
MAX_NEIGHBOURHOOD_PASSES = 3
# How far the ID-less lines of an invocation may lie outside its START…REPORT lines.
STREAM_SLACK_MS = 1_000
# An init phase lasts at most 10 s: a cold start's INIT_START is at most this long before START.
INIT_SLACK_MS = 10_000
# The shortest prefix of an ID that is looked up.
MIN_PREFIX = 8

_ID_TEXT = re.compile(r"[A-Za-z0-9+/=_-]+")
_ROOT = re.compile(r"(?i)\broot=(1-[0-9a-f]{8}-[0-9a-f]{24})")
_CALLS = '?"Sending request to" ?"Endpoint request URI"'
_CALL_TEXTS = ("Sending request to", "Endpoint request URI")


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a lookup found, per asked term.

    `requests`: every request found (each once, in start order). `resolved`: (prefix, the full
    ID it stands for), for terms that were a unique prefix. `ambiguous`: (prefix, the requests
    one of whose IDs starts with it), when there are several. `not_found`: terms nothing
    matched."""

    requests: tuple[Request, ...] = ()
    resolved: tuple[tuple[str, str], ...] = ()
    ambiguous: tuple[tuple[str, tuple[Request, ...]], ...] = ()
    not_found: tuple[str, ...] = ()

    def narrowed(self, shows: Callable[[LogEvent], bool]) -> Lookup:
        """The same answer, each request carrying only the lines `shows` keeps (its outcome and
        cause still come from all of them)."""

        def narrowed(request: Request) -> Request:
            return replace(request, events=tuple(filter(shows, request.events)))

        return replace(
            self,
            requests=tuple(map(narrowed, self.requests)),
            ambiguous=tuple((t, tuple(map(narrowed, rs))) for t, rs in self.ambiguous),
        )


def check_term(term: str) -> str:
    """The term to look up, or InvalidInput when it cannot be (part of) an ID. A pasted
    `Root=1-…;Parent=…` header gives its root; an upper-case UUID is written as AWS writes it."""
    text = term.strip()
    root = _ROOT.search(text)
    if root is not None:
        return root.group(1).lower()
    if is_uuid(text.lower()):
        return text.lower()
    if len(text) >= MIN_PREFIX and _ID_TEXT.fullmatch(text):
        return text
    shown = text if len(text) <= 40 else text[:39] + "…"
    raise InvalidInput(
        f"{shown!r} is not a request ID: give an API Gateway, Lambda, X-Ray (1-…) or extended "
        f"request ID, or its first {MIN_PREFIX} characters or more",
        name="request_id",
    )


def _ids_of(event: LogEvent) -> set[str]:
    line = event.line
    found = {
        line.request_id,
        line.lambda_request_id,
        line.trace_id,
        line.extended_request_id,
        line.fields.get("authorizer_request_id") if line.fields else None,
        # Powertools' correlation ID: API Gateway's request ID, when the logger takes it from
        # the event (the correlator joins by it only then).
        line.fields.get("correlation_id") if line.fields else None,
    }
    return {i for i in found if isinstance(i, str) and len(i) >= MIN_PREFIX}


class _Search:
    """The events found so far and the reads that find them: `reading` is the whole window
    (its groups, counts, stop and retry policy), `engine` what scans it for terms. Every read
    stops with `scope`, set when the reading's stop is."""

    def __init__(self, reading: Reading, engine: WindowEngine = FILTER) -> None:
        self.scope = CancelScope(reading.stop)
        self.reading = replace(reading, stop=self.scope)
        self.engine = engine
        self.found: dict[EventKey, LogEvent] = {}
        # A shared group's lines are their stream's function's (`StreamSources`).
        self.attribute = StreamSources(s for q in self.reading.queries for s in q.sources)
        # The short Logs Insights reads of Infrequent Access groups: summed, said once.
        self.usage: InsightsUsage | None = None

    @property
    def queries(self) -> list[GroupQuery]:
        return self.reading.queries

    @property
    def stats(self) -> FetchStats:
        return self.reading.stats

    def _clip(self, start: int, end: int) -> tuple[int, int] | None:
        start = max(start, self.reading.start_ms)
        if self.reading.end_ms is not None:
            end = min(end, self.reading.end_ms)
        return (start, end) if start <= end else None

    def by_terms(self, terms: list[str], *, prefixes: bool = False) -> set[str]:
        """Events holding any of the terms, in every group; returns the IDs they name.

        `prefixes`: the terms may be prefixes; an event is kept only when one of its own IDs
        is a term or starts with one (a prefix found inside other text is not the ID)."""
        new_ids: set[str] = set()
        for raws in self.engine.search(self.reading, terms):
            try:
                for raw in raws:
                    message = raw.message
                    if not any(t in message for t in terms):
                        continue  # an emulator that ignored the pattern
                    key = event_key(raw)
                    event = self.found.get(key)
                    if event is None:
                        event = parse_event(self.attribute(raw))
                        if LEFT_OUT in event.line.fields:
                            self.stats.left_out.update(event.line.fields[LEFT_OUT])
                    ids = _ids_of(event)
                    if prefixes and not any(i.startswith(t) for i in ids for t in terms):
                        continue
                    self.found[key] = event
                    new_ids |= ids
            except IncompleteRead as exc:
                # Every other group was read to the end (the error comes last): the lookup goes
                # on without the groups given up on, which would only fail again, and says
                # what is missing once it has shown what it found (`find_requests`).
                failed = {f.group for f in exc.failures}
                kept = [q for q in self.queries if q.group not in failed]
                self.reading = replace(self.reading, queries=kept)
        return new_ids

    def read(
        self,
        query: GroupQuery,
        start: int,
        end: int,
        *,
        pattern: str | None = None,
        stream: str | None = None,
    ) -> list[LogEvent]:
        """Every event of one group (or one of its streams) in a short window."""
        window = self._clip(start, end)
        if window is None:
            return []
        got: list[LogEvent] = []
        for page in self._pages(query, window[0], window[1], pattern, stream):
            for raw in page:
                if pattern == _CALLS and not any(t in raw.message for t in _CALL_TEXTS):
                    continue
                key = event_key(raw)
                event = self.found.get(key)
                if event is None:
                    event = self.found[key] = parse_event(self.attribute(raw))
                    if LEFT_OUT in event.line.fields:
                        self.stats.left_out.update(event.line.fields[LEFT_OUT])
                got.append(event)
        return got

    def _pages(
        self, query: GroupQuery, start: int, end: int, pattern: str | None, stream: str | None
    ) -> Iterator[list[RawEvent]]:
        """FilterLogEvents' pages; Logs Insights' for a group of the Infrequent Access class."""
        log_class = classes.query_class(query, self.stats)
        if log_class == classes.DELIVERY:
            return
        if log_class != classes.INFREQUENT_ACCESS:
            try:
                yield from read_window(
                    self.reading.ctx,
                    query,
                    start,
                    end,
                    self.stats,
                    filter_pattern=pattern,
                    stream_names=[stream] if stream else None,
                    stop=self.scope,
                    policy=self.reading.policy,
                )
                return
            except classes.ClassRefused as refused:
                classes.learn(self.stats, refused)
                if refused.log_class != classes.INFREQUENT_ACCESS:
                    self.stats.notice(classes.delivery_notice(query.group))
                    return
        self.stats.notice(classes.insights_notice(query.group))
        if self.usage is None:
            from apilogs.fetch.insights import InsightsUsage

            self.usage = InsightsUsage()
        for page in classes.insights_pages(
            self.reading.ctx,
            query,
            start,
            end,
            self.stats,
            stop=self.scope,
            terms=_CALL_TEXTS if pattern == _CALLS else (),
            usage=self.usage,
            counted=False,
        ):
            yield [e for e in page if stream is None or e.stream == stream]

    def requests(self) -> list[Request]:
        ordered = sorted(self.found.values(), key=lambda e: event_key(e.raw))
        overlaps = OverlapWatch()
        for event in ordered:
            group = overlaps.see(event)
            if group is not None:
                self.stats.notice(overlap_notice(group))
        return list(correlate(ordered, grace_ms=2**62))


def find_requests(reading: Reading, ids: Iterable[str], engine: WindowEngine = FILTER) -> Lookup:
    """The requests that carry any of `ids` (or a unique prefix of one), each with every line
    of every group `reading` names, in its window. Raises InvalidInput for a term that cannot
    be an ID (before any read), and Cancelled when its `stop` is set before the answer is
    complete.

    `engine`: what scans the whole window for the IDs (FilterLogEvents or Logs Insights); the
    short reads around what was found (an invocation's stream, its neighbourhood) are always
    FilterLogEvents."""
    terms = list(dict.fromkeys(check_term(i) for i in ids if i.strip()))
    if not terms:
        return Lookup()
    stats = reading.stats
    failures_before = len(stats.failures)
    search = _Search(reading, engine)
    scope = search.scope
    known = search.by_terms(terms, prefixes=True)
    asked = set(terms)
    explored: set[tuple[str, int]] = set()
    streams_read: set[tuple[str, str, int, int]] = set()
    rounds = 1
    for _ in range(MAX_NEIGHBOURHOOD_PASSES + 1):
        while rounds < MAX_ROUNDS and not scope.is_set():
            pending = sorted(known - asked)
            if not pending:
                break
            asked.update(pending)
            known |= search.by_terms(pending)
            rounds += 1
        if scope.is_set():
            break
        # The invocations' own streams first: a cold start's INIT_START says when it began.
        _invocation_lines(search, streams_read)
        nearby = _neighbourhood(search, explored, known)
        if not nearby - asked:
            break
        known |= nearby
    if scope.is_set():
        raise Cancelled()
    _invocation_lines(search, streams_read)
    if len(stats.failures) > failures_before:
        error = IncompleteRead(stats.failures[failures_before:])
        # What the other groups hold of the requests is still theirs to see, before the error.
        error.partial = _answer(terms, search.requests())
        raise error
    if scope.is_set():
        raise Cancelled()
    if search.usage is not None and search.usage.queries:
        stats.notice(search.usage.summary())
    return _answer(terms, search.requests())


def _answer(terms: list[str], requests: list[Request]) -> Lookup:
    chosen: dict[int, Request] = {}
    resolved: list[tuple[str, str]] = []
    ambiguous: list[tuple[str, tuple[Request, ...]]] = []
    missing: list[str] = []
    for term in terms:
        exact = [r for r in requests if term in r.ids]
        if exact:
            chosen.update((id(r), r) for r in exact)
            continue
        starting = [r for r in requests if any(i.startswith(term) for i in r.ids)]
        if len(starting) == 1:
            request = starting[0]
            chosen[id(request)] = request
            full = next(i for i in request.ids if i.startswith(term))
            resolved.append((term, full))
        elif starting:
            ambiguous.append((term, tuple(starting)))
        else:
            missing.append(term)
    found = sorted(chosen.values(), key=lambda r: (r.start_ms, r.request_id or ""))
    return Lookup(tuple(found), tuple(resolved), tuple(ambiguous), tuple(missing))


def _neighbourhood(search: _Search, explored: set[tuple[str, int]], known: set[str]) -> set[str]:
    """The IDs of what a join by timing must weigh (module doc, step 4), not read before, for
    the requests and invocations the asked IDs led to (`known`): not for the other invocations
    that reading a stream brought along."""
    requests = [r for r in search.requests() if not known.isdisjoint(r.ids)]
    by_function: dict[str, list[GroupQuery]] = {}
    executions: list[GroupQuery] = []
    # Groups given by --log-group: any function's streams may be there (a shared group).
    others: list[GroupQuery] = []
    for query in search.queries:
        for source in query.sources:
            if source.function_name and source.role in (Role.LAMBDA, Role.AUTHORIZER):
                by_function.setdefault(source.function_name, []).append(query)
            if source.role is Role.EXECUTION:
                executions.append(query)
            if source.role is Role.OTHER and query not in others:
                others.append(query)
    window = TIMING_WINDOW_MS
    found: set[str] = set()
    starts: list[tuple[str, int]] = []  # (function, when an invocation began)
    for request in requests:
        if request.request_id is None:
            # An invocation nothing claims: who sent to its function just before it began?
            for invocation in request.invocations:
                if invocation.function and invocation.start_ms is not None:
                    starts.append((invocation.function, invocation.start_ms))
            for event in request.events:
                if event.line.kind is LineKind.LAMBDA_INIT and event.source.function_name:
                    starts.append((event.source.function_name, event.timestamp))
            continue
        answered = {i.function for i in request.invocations if not i.probable}
        if request.gave_up_ms is None and any(
            i.function is None and i.role is Role.LAMBDA for i in request.invocations
        ):
            continue  # API Gateway named its invocation (refused by Lambda, or not read)
        for event in request.events:
            line = event.line
            if line.kind is not LineKind.APIGW_ENDPOINT_URI:
                continue
            name = function_name_of(line.fields.get("function_arn") or "")
            if name is None or name in answered or ("send:" + name, event.timestamp) in explored:
                continue
            explored.add(("send:" + name, event.timestamp))
            # The invocations that began right after the call, and what they name.
            for query in [*by_function.get(name, ()), *others]:
                for nearby in search.read(query, event.timestamp, event.timestamp + window):
                    if nearby.source.function_name != name:
                        continue  # another function of a shared group
                    if nearby.line.kind is LineKind.LAMBDA_START:
                        found |= _ids_of(nearby)
                        starts.append((name, nearby.timestamp))
                    elif nearby.line.kind is LineKind.LAMBDA_INIT:
                        # A cold start: its START (and Lambda request ID) follows the init.
                        starts.append((name, nearby.timestamp))
                        for later in search.read(
                            query,
                            nearby.timestamp,
                            nearby.timestamp + INIT_SLACK_MS,
                            stream=nearby.raw.stream,
                        ):
                            if later.line.kind is LineKind.LAMBDA_START:
                                found |= _ids_of(later)
                                break
    for name, began in starts:
        if ("start:" + name, began) in explored:
            continue
        explored.add(("start:" + name, began))
        for query in executions:
            for sending in search.read(query, began - window, began, pattern=_CALLS):
                arn = sending.line.fields.get("function_arn") or ""
                if function_name_of(arn) == name:
                    found |= _ids_of(sending)
    return found


def _invocation_lines(search: _Search, done: set[tuple[str, str, int, int]]) -> None:
    """Every line of the log streams where the found invocations ran, during them (and, before
    a cold start, during its init phase). `done`: the spans read before, not read again."""
    spans: dict[tuple[str, str], list[int]] = {}
    for event in list(search.found.values()):
        raw = event.raw
        if raw.source.role not in (Role.LAMBDA, Role.AUTHORIZER):
            continue
        kind = event.line.kind
        if kind in (LineKind.LAMBDA_START, LineKind.LAMBDA_REPORT, LineKind.LAMBDA_END):
            span = spans.setdefault((raw.group, raw.stream), [raw.timestamp, raw.timestamp, 0])
            span[0] = min(span[0], raw.timestamp)
            span[1] = max(span[1], raw.timestamp)
            fields = event.line.fields
            if kind is LineKind.LAMBDA_REPORT and ("init_ms" in fields or "restore_ms" in fields):
                # A cold start, or a SnapStart restore: its init (or restore) came before START.
                span[2] = 1
    by_group = {q.group: q for q in search.queries}
    for (group, stream), (first, last, cold) in spans.items():
        query = by_group.get(group)
        if query is None or (group, stream, first, last) in done:
            continue
        done.add((group, stream, first, last))
        before = INIT_SLACK_MS if cold else STREAM_SLACK_MS
        search.read(query, first - before, last + STREAM_SLACK_MS, stream=stream)
