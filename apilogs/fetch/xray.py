"""X-Ray traces of requests: read (BatchGetTraces, or CloudWatch Logs' `aws/spans` when the
account uses Transaction Search) and turn into `Trace`s of `TraceSpan`s by the parsers of
`apilogs.parse.xray` (`parse_segments`, `parse_spans`: imported here too).

- `fetch_traces(ctx, trace_ids)`: asks X-Ray where segments go (`GetTraceSegmentDestination`);
  reads BatchGetTraces at most 5 IDs a call, following `NextToken`; IDs X-Ray did not process
  are reported, not dropped silently; with Transaction Search, what BatchGetTraces does not have
  is read from `aws/spans`, or the report says why it could not be."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from apilogs.aws import AwsContext, error_code
from apilogs.cancel import CancelScope, StopSignal
from apilogs.fetch import FetchStats
from apilogs.fetch.filter import WINDOW_POLICY, GroupQuery, RetryPolicy, read_window
from apilogs.ids import is_trace_id
from apilogs.model import Role, Source, Trace
from apilogs.parse.xray import parse_segments, parse_spans, seconds, w3c_trace_id

__all__ = [
    "MAX_IDS_PER_CALL",
    "SPANS_LOG_GROUP",
    "TraceReport",
    "fetch_traces",
    "parse_segments",
    "parse_spans",
    "w3c_trace_id",
]

log = logging.getLogger(__name__)

# BatchGetTraces takes at most 5 trace IDs a call.
MAX_IDS_PER_CALL = 5
# Where Transaction Search keeps spans.
SPANS_LOG_GROUP = "aws/spans"
# How far from its ID's epoch second a trace's spans are looked for in aws/spans.
_SPANS_BEFORE_MS = 60_000
_SPANS_AFTER_MS = 20 * 60_000


@dataclass(frozen=True, slots=True)
class TraceReport:
    """What `fetch_traces` found: the traces by ID, and what it could not get."""

    traces: Mapping[str, Trace] = field(default_factory=dict)
    # X-Ray could not process these IDs now (UnprocessedTraceIds): asking again may work.
    unprocessed: tuple[str, ...] = ()
    # Asked and not found: not sampled, expired (30 days), or not ingested yet.
    missing: tuple[str, ...] = ()
    # GetTraceSegmentDestination: "XRay", "CloudWatchLogs", or None (could not tell).
    destination: str | None = None
    # Sentences for people: where traces were read from, what is missing and why.
    notices: tuple[str, ...] = ()
    # X-Ray refused the read or could not be reached (one of `notices`): nothing was read, and
    # asking again may work; None when the read went through.
    error: str | None = None

    def get(self, trace_id: str | None) -> Trace | None:
        return self.traces.get(trace_id) if trace_id else None


def fetch_traces(
    ctx: AwsContext,
    trace_ids: Iterable[str],
    *,
    region: str | None = None,
    stop: StopSignal | None = None,
    client: Any = None,
    stats: FetchStats | None = None,
    policy: RetryPolicy | None = None,
) -> TraceReport:
    """The traces of these IDs (module doc). Never raises for what AWS refuses: what could not
    be read is in the report (`unprocessed`, `missing`, `notices`). `client`: an X-Ray client
    to use (tests stub one)."""
    wanted = list(dict.fromkeys(t for t in trace_ids if t and is_trace_id(t)))
    if not wanted:
        return TraceReport()
    xray = client if client is not None else ctx.client("xray", region)
    scope = CancelScope(stop)
    notices: list[str] = []
    # Where traces go is a hint for the notices: asked once, never waited for.
    hint = client if client is not None else ctx.one_try_client("xray", region)
    destination = _destination(hint, notices)
    traces: dict[str, Trace] = {}
    unprocessed: list[str] = []
    refused: str | None = None
    for at in range(0, len(wanted), MAX_IDS_PER_CALL):
        if scope.is_set():
            break
        chunk = wanted[at : at + MAX_IDS_PER_CALL]
        try:
            found, skipped = _batch(xray, chunk)
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc) or "an error"
            refused = f"X-Ray refused BatchGetTraces ({code}): no traces read"
            notices.append(refused)
            break
        except botocore.exceptions.BotoCoreError as exc:
            refused = f"X-Ray could not be reached ({type(exc).__name__}): no traces read"
            notices.append(refused)
            break
        traces.update(found)
        unprocessed += skipped
    if destination == "CloudWatchLogs" and not refused:
        # X-Ray lists what it has not indexed among the unprocessed IDs: read those too.
        lacking = [t for t in wanted if t not in traces]
        notices.append(
            "this account sends traces to CloudWatch Logs (Transaction Search): X-Ray indexes "
            f"only some of them; reading the rest from the {SPANS_LOG_GROUP} log group"
        )
        if lacking:
            traces.update(
                _from_spans(ctx, lacking, region, scope, stats or FetchStats(), notices, policy)
            )
    elif destination == "CloudWatchLogs" and refused:
        notices.append(
            "this account sends traces to CloudWatch Logs (Transaction Search): they are in the "
            f"{SPANS_LOG_GROUP} log group"
        )
    unprocessed = [t for t in unprocessed if t not in traces]
    missing = tuple(t for t in wanted if t not in traces and t not in unprocessed)
    lacking = [t for t in wanted if t not in traces] if not refused else []
    if lacking:
        # X-Ray lists IDs it has no trace for among the unprocessed ones too: the reasons are
        # the same to a reader.
        notices.append(
            f"X-Ray returned no trace for {len(lacking)} of {len(wanted)} trace ID(s) "
            f"({', '.join(lacking[:3])}{', …' if len(lacking) > 3 else ''}): not sampled, not "
            "yet ingested, older than X-Ray keeps traces (30 days), or not processed this time"
        )
    return TraceReport(traces, tuple(unprocessed), missing, destination, tuple(notices), refused)


def _destination(xray: Any, notices: list[str]) -> str | None:
    try:
        answer = xray.get_trace_segment_destination()
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        if code in ("AccessDenied", "AccessDeniedException"):
            notices.append(
                "could not tell where this account sends traces "
                "(xray:GetTraceSegmentDestination denied): reading X-Ray"
            )
        else:
            log.debug("GetTraceSegmentDestination failed: %s", exc)
        return None
    except botocore.exceptions.BotoCoreError as exc:
        log.debug("GetTraceSegmentDestination failed: %s", exc)
        return None
    found = answer.get("Destination")
    if found == "CloudWatchLogs" and answer.get("Status") == "PENDING":
        notices.append(
            "this account is switching its traces to CloudWatch Logs (Transaction Search "
            "pending): recent traces may be in either place"
        )
    return found if isinstance(found, str) else None


def _batch(xray: Any, chunk: list[str]) -> tuple[dict[str, Trace], list[str]]:
    """One BatchGetTraces request (≤ 5 IDs), every page of it."""
    documents: dict[str, list[str]] = {}
    durations: dict[str, float] = {}
    cut: set[str] = set()
    unprocessed: list[str] = []
    kwargs: dict[str, Any] = {"TraceIds": chunk}
    seen_tokens: set[str] = set()
    while True:
        page = xray.batch_get_traces(**kwargs)
        for trace in page.get("Traces") or ():
            trace_id = trace.get("Id")
            if not isinstance(trace_id, str):
                continue
            docs = documents.setdefault(trace_id, [])
            for segment in trace.get("Segments") or ():
                document = segment.get("Document")
                if isinstance(document, str):
                    docs.append(document)
            duration = seconds(trace.get("Duration"))
            if duration is not None:
                durations[trace_id] = duration * 1000
            if trace.get("LimitExceeded"):
                cut.add(trace_id)
        unprocessed += [t for t in page.get("UnprocessedTraceIds") or () if isinstance(t, str)]
        token = page.get("NextToken")
        if not token or token in seen_tokens:
            break
        seen_tokens.add(token)
        kwargs["NextToken"] = token
    traces = {
        trace_id: parse_segments(
            trace_id, docs, duration_ms=durations.get(trace_id), limit_exceeded=trace_id in cut
        )
        for trace_id, docs in documents.items()
        if docs
    }
    return traces, [t for t in dict.fromkeys(unprocessed) if t not in traces]


def _from_spans(
    ctx: AwsContext,
    trace_ids: list[str],
    region: str | None,
    scope: CancelScope,
    stats: FetchStats,
    notices: list[str],
    policy: RetryPolicy | None,
) -> dict[str, Trace]:
    """Traces read from aws/spans, each in a window around its ID's epoch second."""
    where = region or ctx.region
    query = GroupQuery(SPANS_LOG_GROUP, where, (Source(Role.OTHER, SPANS_LOG_GROUP, where),))
    found: dict[str, Trace] = {}
    for trace_id in trace_ids:
        if scope.is_set():
            break
        epoch_ms = int(trace_id.split("-")[1], 16) * 1000
        messages: list[str] = []
        try:
            for page in read_window(
                ctx,
                query,
                epoch_ms - _SPANS_BEFORE_MS,
                epoch_ms + _SPANS_AFTER_MS,
                stats,
                stop=scope,
                filter_pattern=f'"{w3c_trace_id(trace_id)}"',
                policy=policy or WINDOW_POLICY,
            ):
                messages += [e.message for e in page]
        except botocore.exceptions.ClientError as exc:
            notices.append(
                f"could not read {SPANS_LOG_GROUP} ({error_code(exc) or 'an error'}): the "
                "traces Transaction Search stored there are missing"
            )
            return found
        trace = parse_spans(trace_id, messages)
        if trace.spans:
            found[trace_id] = trace
    for notice in stats.take_notices():
        if SPANS_LOG_GROUP in notice and "does not exist" in notice:
            notices.append(
                f"the {SPANS_LOG_GROUP} log group does not exist here: Transaction Search "
                "stores no spans in this region"
            )
        else:
            notices.append(notice)
    return found
