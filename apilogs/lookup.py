"""Find one request from any of its IDs without reading the whole window.

1. Ask every group for the IDs known so far, as server-side filter patterns (one quoted term per
   ID: CloudWatch matches it anywhere in the message).
2. Every line found names more IDs (the execution log names the Lambda request ID, the access
   log names all of them): ask again for the new ones, until nothing new turns up.
3. A Lambda's `print` lines carry no ID: read the log streams of the invocations found, between
   their START and REPORT, to get them too.
4. Correlate what was found; keep the requests that carry one of the asked IDs."""

from __future__ import annotations

from collections.abc import Iterable

from apilogs.aws import AwsContext
from apilogs.cancel import CancelScope, StopSignal
from apilogs.correlate import correlate
from apilogs.errors import Cancelled, IncompleteRead
from apilogs.fetch import WINDOW_POLICY, FetchStats, RetryPolicy, fetch_window, queries_for
from apilogs.fetch.filter import GroupQuery, read_window
from apilogs.merge import event_key
from apilogs.model import LineKind, LogEvent, RawEvent, Request, Role, Source
from apilogs.parse import parse_event

MAX_ROUNDS = 4
# How far the ID-less lines of an invocation may lie outside its START…REPORT lines.
STREAM_SLACK_MS = 1_000


def _ids_of(event: LogEvent) -> set[str]:
    line = event.line
    found = {
        line.request_id,
        line.lambda_request_id,
        line.trace_id,
        line.extended_request_id,
        line.fields.get("authorizer_request_id"),
    }
    return {i for i in found if isinstance(i, str) and len(i) >= 8}


def _quoted(term: str) -> str:
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


def find_requests(
    ctx: AwsContext,
    sources: tuple[Source, ...],
    ids: Iterable[str],
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    *,
    stop: StopSignal | None = None,
    policy: RetryPolicy = WINDOW_POLICY,
) -> list[Request]:
    """The requests that carry any of `ids`, each with every line of every group.

    Raises Cancelled when `stop` is set before the answer is complete."""
    scope = CancelScope(stop)
    wanted = {i.strip() for i in ids if i.strip()}
    queries = queries_for(sources)
    found: dict[tuple[int, str, str, str], LogEvent] = {}
    known = set(wanted)
    asked: set[str] = set()
    for _ in range(MAX_ROUNDS):
        pending = sorted(known - asked)
        if not pending:
            break
        asked.update(pending)
        for term in pending:
            for raw in fetch_window(
                ctx,
                queries,
                start_ms,
                end_ms,
                stats,
                filter_pattern=_quoted(term),
                stop=scope,
                policy=policy,
            ):
                key = event_key(raw)
                if key not in found:
                    event = parse_event(raw)
                    found[key] = event
                    known |= _ids_of(event)
    if scope.is_set():
        raise Cancelled()
    failures_before = len(stats.failures)
    for raw in _invocation_lines(ctx, queries, found.values(), stats, scope, policy):
        key = event_key(raw)
        if key not in found:
            found[key] = parse_event(raw)
    if len(stats.failures) > failures_before:
        raise IncompleteRead(stats.failures[failures_before:])
    if scope.is_set():
        raise Cancelled()
    ordered = sorted(found.values(), key=lambda e: event_key(e.raw))
    requests = list(correlate(ordered, grace_ms=2**62))
    return [r for r in requests if wanted & set(r.ids)]


def _invocation_lines(
    ctx: AwsContext,
    queries: list[GroupQuery],
    events: Iterable[LogEvent],
    stats: FetchStats,
    stop: StopSignal,
    policy: RetryPolicy,
) -> list[RawEvent]:
    """Every line of the log streams where the found invocations ran, during them."""
    spans: dict[tuple[str, str], list[int]] = {}
    for event in events:
        raw = event.raw
        if raw.source.role not in (Role.LAMBDA, Role.AUTHORIZER):
            continue
        if event.line.kind in (LineKind.LAMBDA_START, LineKind.LAMBDA_REPORT, LineKind.LAMBDA_END):
            span = spans.setdefault((raw.group, raw.stream), [raw.timestamp, raw.timestamp])
            span[0] = min(span[0], raw.timestamp)
            span[1] = max(span[1], raw.timestamp)
    by_group = {q.group: q for q in queries}
    lines: list[RawEvent] = []
    for (group, stream), (first, last) in spans.items():
        query = by_group.get(group)
        if query is None:
            continue
        for page in read_window(
            ctx,
            query,
            first - STREAM_SLACK_MS,
            last + STREAM_SLACK_MS,
            stats,
            stream_names=[stream],
            stop=stop,
            policy=policy,
        ):
            lines.extend(page)
    return lines
