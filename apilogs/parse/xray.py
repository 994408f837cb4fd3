"""X-Ray trace documents → `Trace`s of `TraceSpan`s. Pure functions, no I/O, never raise.

- `parse_segments(trace_id, documents)`: segment documents (JSON text, as PutTraceSegments takes
  and BatchGetTraces returns them) → a `Trace`: every segment and subsegment, in tree order
  (a segment whose `parent_id` is another segment's subsegment goes below it: API Gateway's call
  to Lambda → the Lambda service's segment → the function's segment → Initialization,
  Invocation (with the downstream calls inside), Overhead).
- `parse_spans(trace_id, messages)`: the same from `aws/spans` events (OpenTelemetry spans as
  Transaction Search stores them; W3C trace IDs).

Reading them from AWS (BatchGetTraces, the `aws/spans` log group) is `apilogs.fetch.xray`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from apilogs.model import SpanKind, Trace, TraceSpan

__all__ = ["parse_segments", "parse_spans", "seconds", "w3c_trace_id"]

_MAX_DEPTH = 64
_MAX_SPANS = 10_000


def w3c_trace_id(trace_id: str) -> str:
    """X-Ray's `1-5759e988-bd862e3fe1be46a994272793` → W3C's `5759e988bd862e3fe1be46a994272793`."""
    parts = trace_id.split("-")
    return (parts[1] + parts[2]).lower() if len(parts) == 3 else trace_id


def seconds(value: object) -> float | None:
    """An X-Ray time or duration in seconds: a finite number from 0 up to 10**11, else None."""
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
    start = seconds(doc.get("start_time"))
    end = seconds(doc.get("end_time"))
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

    for doc in _objects(documents):
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
        duration_ms = _duration(spans)
    return Trace(trace_id, tuple(spans), duration_ms, limit_exceeded, "xray")


def _objects(texts: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Each text that is a JSON object, decoded; any other skipped."""
    for text in texts:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(doc, dict):
            yield doc


def _duration(spans: list[TraceSpan]) -> float | None:
    """From the first start to the last end, when some span has ended."""
    ends = [s.end_ms for s in spans if s.end_ms is not None]
    return (max(ends) - min(s.start_ms for s in spans)) if ends else None


def _start(node: _Node) -> float:
    return seconds(node.doc.get("start_time")) or 0.0


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
    docs = [d for d in _objects(messages) if str(d.get("traceId", "")).lower() == wanted]
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
    return Trace(trace_id, tuple(spans), _duration(spans), False, "cloudwatch_logs")
