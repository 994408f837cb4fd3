"""X-Ray traces of requests: read (BatchGetTraces, or CloudWatch Logs' `aws/spans` when the
account uses Transaction Search) and turn into `Trace`s of `TraceSpan`s.

- `parse_segments(trace_id, documents)`: segment documents (JSON text, as PutTraceSegments takes
  and BatchGetTraces returns them) → a `Trace`: every segment and subsegment, in tree order
  (a segment whose `parent_id` is another segment's subsegment goes below it: API Gateway's call
  to Lambda → the Lambda service's segment → the function's segment → Initialization,
  Invocation (with the downstream calls inside), Overhead). Pure, never raises.
- `parse_spans(trace_id, messages)`: the same from `aws/spans` events (OpenTelemetry spans as
  Transaction Search stores them; W3C trace IDs). Pure, never raises.
- `fetch_traces(ctx, trace_ids)`: asks X-Ray where segments go (`GetTraceSegmentDestination`);
  reads BatchGetTraces at most 5 IDs a call, following `NextToken`; IDs X-Ray did not process
  are reported, not dropped silently; with Transaction Search, what BatchGetTraces does not have
  is read from `aws/spans`, or the report says why it could not be."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from apilogs.aws import AwsContext, error_code
from apilogs.cancel import CancelScope, StopSignal
from apilogs.fetch import FetchStats
from apilogs.fetch.filter import WINDOW_POLICY, GroupQuery, RetryPolicy, read_window
from apilogs.ids import is_trace_id
from apilogs.model import Role, Source, SpanKind, Trace, TraceSpan

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
_MAX_DEPTH = 64
_MAX_SPANS = 10_000


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


def w3c_trace_id(trace_id: str) -> str:
    """X-Ray's `1-5759e988-bd862e3fe1be46a994272793` → W3C's `5759e988bd862e3fe1be46a994272793`."""
    parts = trace_id.split("-")
    return (parts[1] + parts[2]).lower() if len(parts) == 3 else trace_id


# --- parsing -----------------------------------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 <= value < 10**11:
        return None
    return float(value)


def _text(value: object, limit: int = 500) -> str | None:
    if isinstance(value, str) and value:
        return value[:limit]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0][:limit]
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _cause(doc: Mapping[str, Any]) -> str | None:
    cause = doc.get("cause")
    if isinstance(cause, str):
        return cause[:500]  # an exception ID referring to another subsegment's
    if not isinstance(cause, dict):
        return None
    exceptions = cause.get("exceptions")
    if isinstance(exceptions, list):
        for exception in exceptions:
            if isinstance(exception, dict):
                kind, message = _text(exception.get("type")), _text(exception.get("message"))
                found = ": ".join(x for x in (kind, message) if x)
                if found:
                    return found
    return _text(cause.get("message"))


def _kind(doc: Mapping[str, Any], *, segment: bool) -> SpanKind:
    origin = doc.get("origin")
    if segment:
        return {
            "AWS::ApiGateway::Stage": SpanKind.API_GATEWAY,
            "AWS::Lambda": SpanKind.LAMBDA,
            "AWS::Lambda::Function": SpanKind.FUNCTION,
        }.get(origin if isinstance(origin, str) else "", SpanKind.SEGMENT)
    namespace = doc.get("namespace")
    if namespace == "aws":
        return SpanKind.AWS_CALL
    if namespace == "remote":
        return SpanKind.HTTP_CALL
    if doc.get("name") in ("Initialization", "Invocation", "Overhead", "Restore"):
        return SpanKind.PHASE
    return SpanKind.SUBSEGMENT


def _span(doc: Mapping[str, Any], *, segment: bool, depth: int, parent: str | None) -> TraceSpan:
    aws = _mapping(doc.get("aws"))
    http = _mapping(doc.get("http"))
    request = _mapping(http.get("request"))
    response = _mapping(http.get("response"))
    kind = _kind(doc, segment=segment)
    start = _number(doc.get("start_time"))
    end = _number(doc.get("end_time"))
    status = response.get("status")
    operation = _text(aws.get("operation"), 100)
    resource = None
    if kind is SpanKind.HTTP_CALL:
        operation = operation or _text(request.get("method"), 20)
        resource = _text(request.get("url"))
    else:
        for key in ("table_name", "bucket_name", "queue_url", "function_name", "resource_names"):
            resource = _text(aws.get(key))
            if resource:
                break
    if kind is SpanKind.API_GATEWAY:
        resource = _text(request.get("url"))
        operation = _text(request.get("method"), 20)
    retries = aws.get("retries")
    return TraceSpan(
        span_id=str(doc.get("id") or ""),
        name=_text(doc.get("name"), 200) or "?",
        kind=kind,
        start_ms=(start or 0.0) * 1000,
        end_ms=None if end is None else end * 1000,
        depth=depth,
        parent_id=parent,
        origin=_text(doc.get("origin"), 100) if segment else None,
        operation=operation,
        resource=resource,
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        fault=doc.get("fault") is True,
        error=doc.get("error") is True,
        throttle=doc.get("throttle") is True,
        cause=_cause(doc),
        retries=retries if isinstance(retries, int) and not isinstance(retries, bool) else None,
    )


class _Node:
    __slots__ = ("children", "doc", "parent", "segment")

    def __init__(self, doc: Mapping[str, Any], segment: bool, parent: str | None) -> None:
        self.doc = doc
        self.segment = segment
        self.parent = parent
        self.children: list[_Node] = []


def parse_segments(
    trace_id: str,
    documents: Iterable[str],
    *,
    duration_ms: float | None = None,
    limit_exceeded: bool = False,
) -> Trace:
    """A trace from its segment documents (module doc). Documents that are not JSON objects are
    skipped; a segment of another trace too."""
    nodes: dict[str, _Node] = {}
    order: list[_Node] = []
    segments: list[_Node] = []

    def walk(doc: Mapping[str, Any], parent: str | None, segment: bool, depth: int) -> None:
        if len(order) >= _MAX_SPANS or depth > _MAX_DEPTH:
            return
        node = _Node(doc, segment, parent)
        span_id = doc.get("id")
        if isinstance(span_id, str) and span_id:
            nodes.setdefault(span_id, node)
        order.append(node)
        if segment:
            segments.append(node)
        elif parent is not None and parent in nodes:
            nodes[parent].children.append(node)
        subsegments = doc.get("subsegments")
        if isinstance(subsegments, list):
            for sub in subsegments:
                if isinstance(sub, dict):
                    walk(sub, span_id if isinstance(span_id, str) else None, False, depth + 1)

    for text in documents:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if not isinstance(doc, dict):
            continue
        if doc.get("trace_id") not in (None, trace_id):
            continue
        parent = doc.get("parent_id")
        walk(doc, parent if isinstance(parent, str) else None, True, 0)

    # A segment goes below the (sub)segment its parent_id names, when that is in the trace.
    roots: list[_Node] = []
    for node in segments:
        parent = node.parent
        holder = nodes.get(parent) if parent else None
        if holder is not None and holder is not node and not _descends(holder, node):
            holder.children.append(node)
        else:
            roots.append(node)

    spans: list[TraceSpan] = []

    def emit(node: _Node, depth: int, parent: str | None) -> None:
        if len(spans) >= _MAX_SPANS or depth > _MAX_DEPTH:
            return
        span = _span(node.doc, segment=node.segment, depth=depth, parent=parent)
        spans.append(span)
        for child in sorted(node.children, key=_start):
            emit(child, depth + 1, span.span_id)

    for root in sorted(roots, key=_start):
        emit(root, 0, root.parent)
    if duration_ms is None and spans:
        ends = [s.end_ms for s in spans if s.end_ms is not None]
        duration_ms = (max(ends) - min(s.start_ms for s in spans)) if ends else None
    return Trace(trace_id, tuple(spans), duration_ms, limit_exceeded, "xray")


def _start(node: _Node) -> float:
    return _number(node.doc.get("start_time")) or 0.0


def _descends(candidate: _Node, ancestor: _Node) -> bool:
    """Whether `candidate` is inside `ancestor` already (no cycles from bad parent links)."""
    stack = list(ancestor.children)
    seen = 0
    while stack and seen < _MAX_SPANS:
        node = stack.pop()
        seen += 1
        if node is candidate:
            return True
        stack.extend(node.children)
    return False


# aws/spans: OpenTelemetry spans as Transaction Search stores them.
_REMOTE_SERVICES = {"AWS::DynamoDB": "DynamoDB", "AWS::S3": "S3", "AWS::SQS": "SQS"}


def parse_spans(trace_id: str, messages: Iterable[str]) -> Trace:
    """A trace from `aws/spans` events (OpenTelemetry spans with a W3C trace ID), in tree
    order. Best effort: the attributes read are OpenTelemetry's and AWS's own semantic
    conventions (`aws.remote.service`, `aws.remote.operation`, `rpc.*`, `http.*`)."""
    wanted = w3c_trace_id(trace_id)
    docs: list[dict[str, Any]] = []
    for text in messages:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(doc, dict) and str(doc.get("traceId", "")).lower() == wanted:
            docs.append(doc)
    by_id = {str(d.get("spanId")): d for d in docs if d.get("spanId")}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for doc in docs:
        parent = doc.get("parentSpanId")
        key = str(parent) if parent and str(parent) in by_id else None
        children.setdefault(key, []).append(doc)
    spans: list[TraceSpan] = []

    def nanos(doc: Mapping[str, Any], key: str) -> float | None:
        value = doc.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**20:
            return value / 1_000_000
        return None

    def emit(doc: dict[str, Any], depth: int, parent: str | None, seen: set[str]) -> None:
        span_id = str(doc.get("spanId") or "")
        if len(spans) >= _MAX_SPANS or depth > _MAX_DEPTH or span_id in seen:
            return
        seen.add(span_id)
        attributes = _mapping(doc.get("attributes"))
        status = _mapping(doc.get("status"))
        remote = _text(attributes.get("aws.remote.service")) or _text(attributes.get("rpc.service"))
        operation = _text(attributes.get("aws.remote.operation")) or _text(
            attributes.get("rpc.method")
        )
        code = attributes.get("http.response.status_code", attributes.get("http.status_code"))
        http_status = code if isinstance(code, int) and not isinstance(code, bool) else None
        kind_name = doc.get("kind")
        url = _text(attributes.get("url.full")) or _text(attributes.get("http.url"))
        if remote:
            kind = (
                SpanKind.AWS_CALL if remote.startswith("AWS::") or operation else SpanKind.HTTP_CALL
            )
        elif url and kind_name in ("SPAN_KIND_CLIENT", "CLIENT"):
            kind = SpanKind.HTTP_CALL
        elif depth == 0:
            kind = SpanKind.SEGMENT
        else:
            kind = SpanKind.SUBSEGMENT
        name = _text(doc.get("name"), 200) or "?"
        if kind is SpanKind.AWS_CALL and remote:
            name = _REMOTE_SERVICES.get(remote, remote.removeprefix("AWS::"))
        resource = _text(attributes.get("aws.remote.resource.identifier")) or _text(
            attributes.get("aws.dynamodb.table_names")
        )
        start = nanos(doc, "startTimeUnixNano") or 0.0
        spans.append(
            TraceSpan(
                span_id=span_id,
                name=name,
                kind=kind,
                start_ms=start,
                end_ms=nanos(doc, "endTimeUnixNano"),
                depth=depth,
                parent_id=parent,
                operation=operation,
                resource=resource or (url if kind is SpanKind.HTTP_CALL else None),
                status=http_status,
                fault=status.get("code") in ("STATUS_CODE_ERROR", "ERROR")
                or (http_status is not None and http_status >= 500),
                error=http_status is not None and 400 <= http_status < 500,
                throttle=http_status == 429,
                cause=_text(status.get("message")),
            )
        )
        for child in sorted(
            children.get(span_id, ()), key=lambda d: nanos(d, "startTimeUnixNano") or 0
        ):
            emit(child, depth + 1, span_id, seen)

    seen: set[str] = set()
    for root in sorted(children.get(None, ()), key=lambda d: nanos(d, "startTimeUnixNano") or 0):
        emit(root, 0, None, seen)
    ends = [s.end_ms for s in spans if s.end_ms is not None]
    duration = (max(ends) - min(s.start_ms for s in spans)) if ends and spans else None
    return Trace(trace_id, tuple(spans), duration, False, "cloudwatch_logs")


# --- reading -----------------------------------------------------------------------------------


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
    destination = _destination(xray, notices)
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
            duration = _number(trace.get("Duration"))
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
