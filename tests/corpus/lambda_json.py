"""Lambda's JSON log format (system records `platform.*`, application records with `requestId`),
in a log group two functions share, and Powertools' structured lines in the Text format."""

from __future__ import annotations

import json

from tests.corpus import Case, Line, RestCall, lambda_lines

# A custom (shared) log group names a stream after its function (AWS's documented convention,
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html):
# YYYY/MM/DD/<function>[<version>]<environment id>. Both live in tests.corpus.SHARED_GROUP.
JSON_STREAM = "2023/10/27/corpus-json[$LATEST]a3b5c7d9e1f24a6c8e0b2d4f6a8c0e12"
JSON2_STREAM = "2023/10/27/corpus-json2[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _j(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


# Python in the JSON log format: the application record of the Lambda guide (python-logging,
# "Using Lambda advanced logging controls with Python"), around Lambda's JSON system records
# (telemetry schema: platform.start / platform.report with `tracing`),
# https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html and
# https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
_PY = "79b4f56e-95b1-4643-9700-2807f4e68189"
_TRACE = "1-653c0d19-2c3d8e1f4a5b6c7d8e9f0a1b"
_PY_CALL = RestCall(
    "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4", "json", _PY, path="/json", trace_id=_TRACE
)
_TRACING = {
    "spanId": "9d3b1e5f7a2c4e6b",
    "type": "X-Amzn-Trace-Id",
    "value": f"Root={_TRACE};Parent=9d3b1e5f7a2c4e6b;Sampled=1",
}
PYTHON_JSON = Case(
    "python_json_shared_group",
    "https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html (JSON log format); "
    "https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html",
    _PY_CALL.around(
        [
            Line(
                "json",
                _j(
                    {
                        "time": "2023-10-27T19:17:45.580Z",
                        "type": "platform.start",
                        "record": {"requestId": _PY, "version": "$LATEST", "tracing": _TRACING},
                    }
                ),
                _PY_CALL.request_id,
                _PY,
                "lambda.start",
                JSON_STREAM,
                trace=_TRACE,
            ),
            Line(
                "json",
                _j(
                    {
                        "timestamp": "2023-10-27T19:17:45.586Z",
                        "level": "INFO",
                        "message": "inside lambda_handler",
                        "logger": "root",
                        "requestId": _PY,
                    }
                ),
                _PY_CALL.request_id,
                _PY,
                "lambda.log",
                JSON_STREAM,
            ),
            # print() in the JSON format: Lambda writes it as it is, no request ID.
            Line(
                "json",
                "inside lambda_handler (print)\n",
                _PY_CALL.request_id,
                None,
                None,
                JSON_STREAM,
            ),
            Line(
                "json",
                _j(
                    {
                        "time": "2023-10-27T19:17:45.600Z",
                        "type": "platform.report",
                        "record": {
                            "requestId": _PY,
                            "metrics": {
                                "durationMs": 12.38,
                                "billedDurationMs": 13,
                                "memorySizeMB": 128,
                                "maxMemoryUsedMB": 38,
                            },
                            "tracing": _TRACING,
                            "status": "success",
                        },
                    }
                ),
                _PY_CALL.request_id,
                _PY,
                "lambda.report",
                JSON_STREAM,
                trace=_TRACE,
            ),
        ]
    ),
)

# Two functions of one shared group run at once: a print of each belongs to its own stream's
# invocation (Node.js JSON-format records: the guide's nodejs-logging JSON example).
_A, _B = "a1f0c9e8-d7b6-4a5c-9e3d-2c1b0a9f8e7d", "b2e1d0c9-f8a7-4b6c-8d5e-4f3a2b1c0d9e"
_CALL_A = RestCall("6f708192-a3b4-4c5d-9e6f-708192a3b4c5", "json", _A, path="/json")
_CALL_B = RestCall("708192a3-b4c5-4d6e-8f70-8192a3b4c5d6", "json2", _B, path="/json2")


def _start(rid: str, stream: str, where: str, request: str) -> Line:
    record = {"requestId": rid, "version": "$LATEST"}
    doc = {"time": "2023-10-27T19:20:00.000Z", "type": "platform.start", "record": record}
    return Line(where, _j(doc), request, rid, "lambda.start", stream)


def _report(rid: str, stream: str, where: str, request: str) -> Line:
    metrics = {
        "durationMs": 40.1,
        "billedDurationMs": 41,
        "memorySizeMB": 128,
        "maxMemoryUsedMB": 61,
    }
    record = {"requestId": rid, "metrics": metrics, "status": "success"}
    doc = {"time": "2023-10-27T19:20:00.050Z", "type": "platform.report", "record": record}
    return Line(where, _j(doc), request, rid, "lambda.report", stream)


SHARED_PRINTS = Case(
    "json_shared_group_two_functions_at_once",
    "https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html (JSON log format); "
    "stream names: monitoring-cloudwatchlogs-loggroups.html",
    (
        *_CALL_A.method_request(),
        *_CALL_B.method_request(),
        *_CALL_A.integration_request(),
        *_CALL_B.integration_request(),
        _start(_A, JSON_STREAM, "json", _CALL_A.request_id),
        _start(_B, JSON2_STREAM, "json2", _CALL_B.request_id),
        Line("json", "loading order 42\n", _CALL_A.request_id, None, None, JSON_STREAM),
        Line("json2", "loading order 43\n", _CALL_B.request_id, None, None, JSON2_STREAM),
        Line(
            "json2",
            _j(
                {
                    "timestamp": "2023-10-27T19:20:00.020Z",
                    "level": "INFO",
                    "requestId": _B,
                    "message": "order 43 loaded",
                }
            ),
            _CALL_B.request_id,
            _B,
            "lambda.log",
            JSON2_STREAM,
        ),
        _report(_A, JSON_STREAM, "json", _CALL_A.request_id),
        _report(_B, JSON2_STREAM, "json2", _CALL_B.request_id),
        *_CALL_A.integration_response(),
        *_CALL_B.integration_response(),
        _CALL_A.access(),
        _CALL_B.access(),
    ),
)

# Powertools for AWS Lambda (Python): a structured line with `function_request_id` and a
# `correlation_id`, printed to stdout by a Text-format function,
# aws-powertools/powertools-lambda-python examples/logger/src/set_correlation_id_output.json
_PT = "52fdfc07-2182-154f-163f-5f0f9a621d72"
_PT_CALL = RestCall("8192a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7", "python", _PT)
_POWERTOOLS_LINE = (
    '{"level":"INFO","location":"collect.handler:10","message":"Collecting payment",'
    '"timestamp":"2021-05-03 11:47:12,494+0000","service":"payment","cold_start":true,'
    '"function_name":"test","function_memory_size":128,'
    '"function_arn":"arn:aws:lambda:eu-west-1:12345678910:function:test",'
    f'"function_request_id":"{_PT}","correlation_id":"correlation_id_value"}}\n'
)
POWERTOOLS = Case(
    "powertools_python_function_request_id",
    "aws-powertools/powertools-lambda-python examples/logger/src/set_correlation_id_output.json",
    _PT_CALL.around(
        lambda_lines(
            "python",
            _PT_CALL.request_id,
            [
                (f"START RequestId: {_PT} Version: $LATEST\n", _PT, "lambda.start"),
                (_POWERTOOLS_LINE, _PT, "lambda.log"),
                (f"END RequestId: {_PT}\n", _PT, "lambda.end"),
                (
                    f"REPORT RequestId: {_PT}\tDuration: 2.03 ms\tBilled Duration: 3 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 47 MB\t\n",
                    _PT,
                    "lambda.report",
                ),
            ],
        )
    ),
)

# Powertools for AWS Lambda (TypeScript): a structured line with `function_request_id` and
# `xray_trace_id`, the Logger docs' "log incoming event" example (printed on one line, as the
# Logger writes it; the docs pretty-print it),
# https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/
_PT_TS = "0a9df60d-e2de-447d-ba3e-45f149eae6c9"
_PT_TRACE = "1-66bc8205-21f8b5190da519d22b2b0533"
_PT_TS_CALL = RestCall("c4d5e6f7-0819-42a3-b4c5-d6e7f8091a2b", "node", _PT_TS, trace_id=_PT_TRACE)
_PT_TS_LINE = _j(
    {
        "cold_start": True,
        "function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:LogEventFn",
        "function_memory_size": "128",
        "function_name": "LogEventFn",
        "function_request_id": _PT_TS,
        "level": "INFO",
        "message": "Lambda invocation event",
        "sampling_rate": 0,
        "service": "service_undefined",
        "timestamp": "2024-08-14T10:08:06.199Z",
        "xray_trace_id": _PT_TRACE,
        "event": {"foo": "bar"},
    }
)
POWERTOOLS_TS = Case(
    "powertools_typescript_xray_trace_id",
    "Powertools for AWS Lambda (TypeScript) Logger docs, "
    "https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/",
    _PT_TS_CALL.around(
        [
            Line(
                "node",
                f"START RequestId: {_PT_TS} Version: $LATEST\n",
                _PT_TS_CALL.request_id,
                _PT_TS,
                "lambda.start",
            ),
            Line(
                "node",
                _PT_TS_LINE + "\n",
                _PT_TS_CALL.request_id,
                _PT_TS,
                "lambda.log",
                trace=_PT_TRACE,
            ),
            Line(
                "node", f"END RequestId: {_PT_TS}\n", _PT_TS_CALL.request_id, _PT_TS, "lambda.end"
            ),
            Line(
                "node",
                f"REPORT RequestId: {_PT_TS}\tDuration: 9.72 ms\tBilled Duration: 10 ms\t"
                f"Memory Size: 128 MB\tMax Memory Used: 66 MB\t\nXRAY TraceId: {_PT_TRACE}\t"
                "SegmentId: 3d752a1b2bbe37e0\tSampled: true\t\n",
                _PT_TS_CALL.request_id,
                _PT_TS,
                "lambda.report",
                trace=_PT_TRACE,
            ),
        ]
    ),
)

# Lambda Managed Instances: one environment serves several requests at once, its lines
# interleave in one stream, always in the JSON format with `requestId` on each record ("log
# interleaving ... is normal"), https://docs.aws.amazon.com/lambda/latest/dg/
# lambda-managed-instances-python-runtime.html. A line without a request ID cannot be given to
# "the invocation open in the stream" there: two are.
_MI_STREAM = "2026/01/12/[$LATEST]5e0c3a1f9b7d4e2a8c6b0d9f1e3a5c7b"
_MI_A, _MI_B = "d1c2b3a4-9586-4778-a9b0-c1d2e3f4a5b6", "e2d3c4b5-a697-4889-b0c1-d2e3f4a5b6c7"
_MI_CALL_A = RestCall("d5e6f708-192a-4b3c-9d4e-5f60718293a4", "json", _MI_A, path="/json")
_MI_CALL_B = RestCall("e6f70819-2a3b-4c4d-8e5f-60718293a4b5", "json", _MI_B, path="/json")


def _mi_log(rid: str, request: str, message: str) -> Line:
    doc = {
        "timestamp": "2026-01-12T08:00:00.010Z",
        "level": "INFO",
        "message": message,
        "logger": "root",
        "requestId": rid,
    }
    return Line("json", _j(doc), request, rid, "lambda.log", _MI_STREAM)


MANAGED_INSTANCES = Case(
    "managed_instances_interleaved_requests",
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-python-runtime.html",
    (
        *_MI_CALL_A.method_request(),
        *_MI_CALL_B.method_request(),
        *_MI_CALL_A.integration_request(),
        *_MI_CALL_B.integration_request(),
        _start(_MI_A, _MI_STREAM, "json", _MI_CALL_A.request_id),
        _start(_MI_B, _MI_STREAM, "json", _MI_CALL_B.request_id),
        _mi_log(_MI_A, _MI_CALL_A.request_id, "loading order 42"),
        _mi_log(_MI_B, _MI_CALL_B.request_id, "loading order 43"),
        # print() while both run: no request can be said to own it.
        Line("json", "cache miss\n", None, None, "lambda.print", _MI_STREAM),
        _report(_MI_A, _MI_STREAM, "json", _MI_CALL_A.request_id),
        _report(_MI_B, _MI_STREAM, "json", _MI_CALL_B.request_id),
        *_MI_CALL_A.integration_response(),
        *_MI_CALL_B.integration_response(),
        _MI_CALL_A.access(),
        _MI_CALL_B.access(),
    ),
)

CASES = (PYTHON_JSON, SHARED_PRINTS, POWERTOOLS, POWERTOOLS_TS, MANAGED_INSTANCES)
