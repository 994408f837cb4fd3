"""X-Ray: the segment documents API Gateway and Lambda send for a sampled request.

Segment IDs are derived from the trace, not drawn: sampling must not change the traffic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apilogs.demo.formats import json_line
from apilogs.demo.handlers import Run
from apilogs.demo.sample import SampleFunction

if TYPE_CHECKING:  # the request module builds on this one
    from apilogs.demo.rest_request import RestRequest


@dataclass(frozen=True, slots=True)
class Trace:
    trace_id: str
    sampled: bool


def segment_id(trace_id: str, purpose: str) -> str:
    """A segment ID (16 hex digits) derived from the trace: no draw from the traffic's random
    stream, so sampled and unsampled runs of one seed stay the same traffic."""
    return hashlib.blake2b(f"{trace_id}:{purpose}".encode(), digest_size=8).hexdigest()


def _seconds(ms: float) -> float:
    return round(ms / 1000, 3)


def lambda_segments(
    fn: SampleFunction,
    trace_id: str,
    request_id: str,
    function_segment: str,
    parent_id: str | None,
    times: tuple[float, float | None, float, float, float],
    run: Run,
) -> tuple[str, ...]:
    """The Lambda service segment and the function segment (Initialization, Invocation with
    the downstream calls, Overhead), as Lambda sends them to X-Ray."""
    invoked, init_end, start, end, report = times
    service_id = segment_id(trace_id, f"lambda:{request_id}")
    service: dict[str, object] = {
        "id": service_id,
        "trace_id": trace_id,
        "name": fn.name,
        "origin": "AWS::Lambda",
        "start_time": _seconds(invoked),
        "end_time": _seconds(report),
        "http": {"response": {"status": 200}},
        "aws": {"request_id": request_id},
    }
    if parent_id:
        service["parent_id"] = parent_id
    duration = end - start
    calls = []
    for index, (low, high, doc) in enumerate(run.calls):
        call = {
            "id": segment_id(trace_id, f"call:{request_id}:{index}"),
            "start_time": _seconds(start + duration * low),
            "end_time": _seconds(start + duration * high),
            **doc,
        }
        calls.append(call)
    invocation: dict[str, object] = {
        "id": segment_id(trace_id, f"invocation:{request_id}"),
        "name": "Invocation",
        "start_time": _seconds(start),
        "end_time": _seconds(end),
        "aws": {"function_arn": fn.invoked_arn},
    }
    if calls:
        invocation["subsegments"] = calls
    if run.failure:
        invocation["fault"] = True
        if run.error is not None:
            invocation["cause"] = {
                "working_directory": "/var/task",
                "exceptions": [{"type": run.error.type, "message": run.error.message}],
            }
    subsegments: list[dict[str, object]] = []
    if init_end is not None:
        subsegments.append(
            {
                "id": segment_id(trace_id, f"init:{request_id}"),
                "name": "Initialization",
                "start_time": _seconds(invoked),
                "end_time": _seconds(init_end),
                "aws": {"function_arn": fn.invoked_arn},
            }
        )
    subsegments.append(invocation)
    subsegments.append(
        {
            "id": segment_id(trace_id, f"overhead:{request_id}"),
            "name": "Overhead",
            "start_time": _seconds(end),
            "end_time": _seconds(report),
            "aws": {"function_arn": fn.invoked_arn},
        }
    )
    function: dict[str, object] = {
        "id": function_segment,
        "trace_id": trace_id,
        "parent_id": service_id,
        "name": fn.name,
        "origin": "AWS::Lambda::Function",
        "start_time": _seconds(invoked),
        "end_time": _seconds(report),
        "aws": {
            "function_arn": fn.invoked_arn,
            "resource_names": [fn.name],
            "account_id": fn.arn.split(":")[4],
        },
        "subsegments": subsegments,
    }
    if run.failure:
        function["fault"] = True
    return (json_line(service), json_line(function))


class ApiGatewayXray:
    """API Gateway's part of a REST request's trace: a subsegment for each call it made to
    Lambda, the segments of the functions it called, and at the end its stage segment."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._calls: list[dict[str, object]] = []
        self._segments: list[str] = []

    def lambda_call(
        self,
        call_id: str,
        fn: SampleFunction,
        region: str,
        times: tuple[float, float],
        segments: tuple[str, ...],
        *,
        timed_out: bool = False,
    ) -> None:
        """A call to Lambda from `times` (sent, answered or given up), and the function's own
        segments (the invocation's)."""
        if not self.trace.sampled:
            return
        sent, done = times
        call: dict[str, object] = {
            "id": call_id,
            "name": "Lambda",
            "namespace": "aws",
            "start_time": _seconds(sent),
            "end_time": _seconds(done),
            "http": {"response": {"status": 504 if timed_out else 200}},
            "aws": {
                "function_name": fn.name,
                "region": region,
                "operation": "Invoke",
                "resource_names": [fn.name],
            },
        }
        if timed_out:
            call["fault"] = True
            call["cause"] = {"exceptions": [{"message": "Endpoint request timed out"}]}
        self._calls.append(call)
        self._segments.extend(segments)

    def documents(self, request: RestRequest, status: int, end: int) -> tuple[str, ...]:
        """Every segment document of the request; none when it is not sampled."""
        if not self.trace.sampled:
            return ()
        return (self._stage_segment(request, status, end), *self._segments)

    def _stage_segment(self, request: RestRequest, status: int, end: int) -> str:
        app = request.app
        doc: dict[str, object] = {
            "id": segment_id(self.trace.trace_id, "apigw"),
            "trace_id": self.trace.trace_id,
            "name": f"{app.rest_api_id}/{app.rest_stage}",
            "origin": "AWS::ApiGateway::Stage",
            "start_time": _seconds(request.start),
            "end_time": _seconds(end),
            "http": {
                "request": {
                    "method": request.route.method,
                    "url": f"https://{app.rest_api_id}.execute-api.{app.region}.amazonaws.com/"
                    f"{app.rest_stage}{request.path}",
                    "client_ip": request.client.ip,
                    "user_agent": request.client.user_agent,
                },
                "response": {"status": status},
            },
            "aws": {
                "api_id": app.rest_api_id,
                "stage": app.rest_stage,
                "request_id": request.request_id,
            },
            "annotations": {"aws:api_id": app.rest_api_id, "aws:api_stage": app.rest_stage},
        }
        if status == 429:
            doc.update(error=True, throttle=True)
        elif status >= 500:
            doc["fault"] = True
        elif status >= 400:
            doc["error"] = True
        if self._calls:
            doc["subsegments"] = self._calls
        return json_line(doc)
