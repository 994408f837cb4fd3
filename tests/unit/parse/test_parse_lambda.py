"""Lambda log lines (Text and JSON log formats), as CloudWatch stores them, → Line."""

from __future__ import annotations

import json

import pytest

from apilogs.model import LineKind
from apilogs.parse import parse_lambda

RID = "883eb7bc-96db-4c83-8a8a-68ad3376bc90"
TRACE = "1-5e1b4151-5ac6c58f5b5dbd6a4ba2b4d4"


# --- Text format: platform lines -----------------------------------------------------------


def test_start() -> None:
    got = parse_lambda(f"START RequestId: {RID} Version: $LATEST\n")
    assert got.kind is LineKind.LAMBDA_START
    assert got.lambda_request_id == RID
    assert got.request_id is None
    assert got.fields == {"version": "$LATEST"}


def test_start_of_a_published_version() -> None:
    got = parse_lambda(f"START RequestId: {RID} Version: 12\n")
    assert got.fields == {"version": "12"}


def test_end() -> None:
    got = parse_lambda(f"END RequestId: {RID}\n")
    assert got.kind is LineKind.LAMBDA_END
    assert got.lambda_request_id == RID


def test_report_cold_start_with_xray() -> None:
    got = parse_lambda(
        f"REPORT RequestId: {RID}\tDuration: 15.74 ms\tBilled Duration: 16 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t\n"
        f"XRAY TraceId: {TRACE}\tSegmentId: 6b8a1f0c2d3e4f5a\tSampled: true\t\n"
    )
    assert got.kind is LineKind.LAMBDA_REPORT
    assert got.lambda_request_id == RID
    assert got.trace_id == TRACE
    assert got.fields == {
        "duration_ms": 15.74,
        "billed_ms": 16,
        "memory_mb": 128,
        "max_memory_mb": 56,
        "init_ms": 130.49,
    }


def test_report_warm() -> None:
    got = parse_lambda(
        f"REPORT RequestId: {RID}\tDuration: 2.01 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB"
        "\tMax Memory Used: 70 MB\t\n"
    )
    assert "init_ms" not in got.fields
    assert got.fields["billed_ms"] == 3
    assert isinstance(got.fields["duration_ms"], float)
    assert got.trace_id is None


def test_report_timeout() -> None:
    got = parse_lambda(
        f"REPORT RequestId: {RID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: timeout\n"
    )
    assert got.fields["lambda_status"] == "timeout"
    assert got.fields["error_cause"] == "timeout"
    assert got.fields["duration_ms"] == 3000.0


def test_report_out_of_memory() -> None:
    got = parse_lambda(
        f"REPORT RequestId: {RID}\tDuration: 1234.56 ms\tBilled Duration: 1235 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\t"
        "Error Type: Runtime.OutOfMemory\n"
    )
    assert got.fields["lambda_status"] == "error"
    assert got.fields["error_type"] == "Runtime.OutOfMemory"
    assert got.fields["error_cause"] == "oom"
    assert got.fields["max_memory_mb"] == 128


def test_report_snapstart_restore() -> None:
    got = parse_lambda(
        f"REPORT RequestId: {RID}\tDuration: 21.10 ms\tBilled Duration: 400 ms\t"
        "Memory Size: 512 MB\tMax Memory Used: 90 MB\tRestore Duration: 301.32 ms\t"
        "Billed Restore Duration: 379 ms\t\n"
    )
    assert got.fields["restore_ms"] == 301.32
    assert got.fields["billed_restore_ms"] == 379


def test_report_with_spaces_instead_of_tabs() -> None:
    got = parse_lambda(
        f"REPORT RequestId: {RID} Duration: 36.41 ms Billed Duration: 100 ms Memory Size: 128 MB "
        "Max Memory Used: 83 MB"
    )
    assert got.kind is LineKind.LAMBDA_REPORT
    assert got.lambda_request_id == RID
    assert got.fields == {
        "duration_ms": 36.41,
        "billed_ms": 100,
        "memory_mb": 128,
        "max_memory_mb": 83,
    }


def test_init_start() -> None:
    got = parse_lambda(
        "INIT_START Runtime Version: python:3.12.v18\tRuntime Version ARN: "
        "arn:aws:lambda:us-east-1::runtime:776a3759221679a634181f858871d5514dc74a176f78bc535f822\n"
    )
    assert got.kind is LineKind.LAMBDA_INIT
    assert got.fields == {"runtime_version": "python:3.12.v18"}
    assert got.lambda_request_id is None


def test_init_report_of_a_failed_init() -> None:
    got = parse_lambda(
        "INIT_REPORT Init Duration: 0.79 ms\tPhase: init\tStatus: error\t"
        "Error Type: Runtime.InvalidEntrypoint\n"
    )
    assert got.kind is LineKind.LAMBDA_INIT
    assert got.fields == {
        "init_ms": 0.79,
        "phase": "init",
        "lambda_status": "error",
        "error_type": "Runtime.InvalidEntrypoint",
    }


def test_extension_registration() -> None:
    got = parse_lambda("EXTENSION\tName: datadog-agent\tState: Ready\tEvents: [INVOKE, SHUTDOWN]\n")
    assert got.kind is LineKind.LAMBDA_INIT


# --- Text format: runtime lines ------------------------------------------------------------


def test_python_log_line() -> None:
    got = parse_lambda(f"[INFO]\t2024-01-01T00:00:00.000Z\t{RID}\tprocessing order 42\n")
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.lambda_request_id == RID
    assert got.fields == {"level": "INFO"}


@pytest.mark.parametrize(
    ("written", "level"),
    [("DEBUG", "DEBUG"), ("WARNING", "WARN"), ("ERROR", "ERROR"), ("CRITICAL", "CRITICAL")],
)
def test_python_levels(written: str, level: str) -> None:
    got = parse_lambda(f"[{written}]\t2024-01-01T00:00:00.000Z\t{RID}\tsomething\n")
    assert got.fields["level"] == level


def test_python_log_line_outside_an_invocation() -> None:
    got = parse_lambda(
        "[WARNING]\t2026-04-22T21:00:55.118Z\t\tLAMBDA_WARNING: Unhandled exception. The most "
        "likely cause is an issue in the function code.\n"
    )
    assert got.kind is LineKind.LAMBDA_PRINT
    assert got.lambda_request_id is None
    assert got.fields["level"] == "WARN"


def test_node_log_line() -> None:
    got = parse_lambda(f"2024-01-01T00:00:00.000Z\t{RID}\tINFO\tprocessing order 42\n")
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.lambda_request_id == RID
    assert got.fields == {"level": "INFO"}


def test_node_invoke_error() -> None:
    got = parse_lambda(
        f"2024-05-05T04:01:01.850Z\t{RID}\tERROR\tInvoke Error \t"
        '{"errorType":"Error","errorMessage":"This error was thrown!","stack":["Error: This error '
        'was thrown!","    at Runtime.handler (/var/task/index.js:28:11)","    at Runtime.'
        'handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)"]}\n'
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.lambda_request_id == RID
    assert got.fields == {
        "level": "ERROR",
        "error_type": "Error",
        "error_message": "This error was thrown!",
    }


def test_node_uncaught_exception_outside_an_invocation() -> None:
    got = parse_lambda(
        "2024-05-05T04:01:01.850Z\tundefined\tERROR\tUncaught Exception \t"
        '{"errorType":"Runtime.ImportModuleError","errorMessage":"Error: Cannot find module '
        '\'index\'","stack":["Runtime.ImportModuleError: Error: Cannot find module \'index\'"]}\n'
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.lambda_request_id is None
    assert got.fields["error_type"] == "Runtime.ImportModuleError"


def test_node_invoke_error_truncated() -> None:
    got = parse_lambda(
        f"2024-05-05T04:01:01.850Z\t{RID}\tERROR\tInvoke Error \t"
        '{"errorType":"TypeError","errorMessage":"x is not a function","stack":["TypeError: x'
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.fields["error_type"] == "TypeError"
    assert got.fields["error_message"] == "x is not a function"


def test_java_log4j_line() -> None:
    got = parse_lambda(f"2024-01-01 00:00:00 <{RID}> INFO  OrderHandler:42 - saved order\n")
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.lambda_request_id == RID
    assert got.fields == {"level": "INFO"}


def test_line_starting_with_the_request_id() -> None:
    got = parse_lambda(f"{RID} handled in 3 ms\n")
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.lambda_request_id == RID


@pytest.mark.parametrize(
    "message",
    [
        f"2024-01-01T00:00:00.000Z {RID} INFO handled\n",
        f"2024-01-01 00:00:00,123 {RID} [WARN] slow\n",
        f"[INFO] {RID} handled\n",
        f"INFO | {RID} | handled\n",
    ],
)
def test_request_id_in_a_custom_prefix(message: str) -> None:
    got = parse_lambda(message)
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.lambda_request_id == RID
    assert got.fields["level"] in ("INFO", "WARN")


@pytest.mark.parametrize(
    "message",
    [
        f"saved order {RID} for customer 7\n",
        f"INFO processing order {RID}\n",
        f"ERROR: payment {RID} declined\n",
        f"[INFO] order {RID} saved\n",
    ],
)
def test_print_that_mentions_some_uuid_is_a_print(message: str) -> None:
    got = parse_lambda(message)
    assert got.kind is LineKind.LAMBDA_PRINT
    assert got.lambda_request_id is None


def test_task_timed_out() -> None:
    got = parse_lambda(f"2024-01-01T00:00:03.010Z {RID} Task timed out after 3.00 seconds\n\n")
    assert got.kind is LineKind.LAMBDA_TIMEOUT
    assert got.lambda_request_id == RID
    assert got.fields == {"error_cause": "timeout", "lambda_status": "timeout", "timeout_s": 3.0}


def test_task_timed_out_after_request_id_error() -> None:
    got = parse_lambda(f"RequestId: {RID} Error: Task timed out after 900.00 seconds\n")
    assert got.kind is LineKind.LAMBDA_TIMEOUT
    assert got.lambda_request_id == RID
    assert got.fields["timeout_s"] == 900.0


def test_runtime_exit_out_of_memory() -> None:
    got = parse_lambda(
        f"RequestId: {RID} Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n"
    )
    assert got.kind is LineKind.LAMBDA_RUNTIME_EXIT
    assert got.lambda_request_id == RID
    assert got.fields == {
        "error_message": "Runtime exited with error: signal: killed",
        "error_cause": "oom",
        "error_type": "Runtime.ExitError",
    }


def test_runtime_exit_without_request_id() -> None:
    got = parse_lambda("Runtime exited with error: signal: killed\n")
    assert got.kind is LineKind.LAMBDA_RUNTIME_EXIT
    assert got.lambda_request_id is None
    assert got.fields["error_cause"] == "oom"


def test_runtime_exit_with_status() -> None:
    got = parse_lambda(f"RequestId: {RID} Error: Runtime exited with error: exit status 1\n")
    assert got.kind is LineKind.LAMBDA_RUNTIME_EXIT
    assert got.fields["error_cause"] == "runtime_exit"


def test_process_exited_before_completing_request() -> None:
    got = parse_lambda(f"RequestId: {RID} Process exited before completing request\n")
    assert got.kind is LineKind.LAMBDA_RUNTIME_EXIT
    assert got.lambda_request_id == RID
    assert got.fields["error_cause"] == "runtime_exit"


def test_request_id_error_with_runtime_error_type() -> None:
    got = parse_lambda(
        f"RequestId: {RID} Error: fork/exec /var/task/bootstrap: no such file or directory\n"
        "Runtime.InvalidEntrypoint\n"
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.lambda_request_id == RID
    assert got.fields == {
        "error_message": "fork/exec /var/task/bootstrap: no such file or directory",
        "error_type": "Runtime.InvalidEntrypoint",
    }


def test_python_uncaught_exception() -> None:
    got = parse_lambda(
        "[ERROR] KeyError: 'b'\nTraceback (most recent call last):\n"
        '\xa0\xa0File "/var/task/lambda_function.py", line 12, in lambda_handler\n'
        "\xa0\xa0\xa0\xa0y = x['b']\n"
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.fields == {"level": "ERROR", "error_type": "KeyError", "error_message": "'b'"}


def test_python_handler_not_found() -> None:
    got = parse_lambda(
        "[ERROR] Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'\n"
        "Traceback (most recent call last):\n"
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.fields["error_type"] == "Runtime.HandlerNotFound"
    assert got.fields["error_message"] == "Handler 'handler' missing on module 'app'"


def test_python_import_module_error() -> None:
    got = parse_lambda(
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'search': No module named "
        "'search'\nTraceback (most recent call last):\n"
    )
    assert got.fields["error_type"] == "Runtime.ImportModuleError"
    assert got.fields["error_message"] == (
        "Unable to import module 'search': No module named 'search'"
    )


def test_json_error_object() -> None:
    got = parse_lambda(
        '{"errorType":"TypeError","errorMessage":"Cannot read properties of undefined (reading '
        '\'id\')","stackTrace":["TypeError: Cannot read properties of undefined"]}\n'
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.fields == {
        "error_type": "TypeError",
        "error_message": "Cannot read properties of undefined (reading 'id')",
    }


def test_java_error_object_with_request_id() -> None:
    got = parse_lambda(
        json.dumps(
            {
                "errorMessage": "boom",
                "errorType": "java.lang.RuntimeException",
                "stackTrace": ["com.example.Handler.handleRequest(Handler.java:20)"],
                "requestId": RID,
            }
        )
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.lambda_request_id == RID
    assert got.fields["error_type"] == "java.lang.RuntimeException"


@pytest.mark.parametrize(
    "message",
    [
        "Traceback (most recent call last):\n",
        '  File "/var/task/app.py", line 3, in handler\n',
        "\tat com.example.Handler.handleRequest(Handler.java:20)\n",
    ],
)
def test_traceback_lines(message: str) -> None:
    got = parse_lambda(message)
    assert got.kind is LineKind.LAMBDA_TRACEBACK
    assert got.lambda_request_id is None


@pytest.mark.parametrize(
    "message",
    [
        "hello from print\n",
        "",
        "\n",
        "{'not': 'json'}\n",
        "[1, 2, 3]\n",
        '{"orderId": "' + RID + '", "total": 12}\n',
        "[notalevel] something\n",
        "2024 was a good year\n",
        "ERROR something went wrong\n",
    ],
)
def test_prints(message: str) -> None:
    got = parse_lambda(message)
    assert got.kind is LineKind.LAMBDA_PRINT
    assert got.lambda_request_id is None


# --- JSON format ---------------------------------------------------------------------------


def platform(kind: str, record: dict[str, object]) -> str:
    return json.dumps({"time": "2024-07-01T08:54:54.108Z", "type": kind, "record": record})


def test_json_platform_init_start() -> None:
    got = parse_lambda(
        platform(
            "platform.initStart",
            {
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": "python:3.12.v18",
                "runtimeVersionArn": "arn:aws:lambda:us-east-1::runtime:776a",
                "functionName": "orders",
                "functionVersion": "$LATEST",
            },
        )
    )
    assert got.kind is LineKind.LAMBDA_INIT
    assert got.fields == {
        "runtime_version": "python:3.12.v18",
        "phase": "init",
        "version": "$LATEST",
    }


def test_json_platform_start_with_tracing() -> None:
    got = parse_lambda(
        platform(
            "platform.start",
            {
                "requestId": RID,
                "version": "$LATEST",
                "tracing": {
                    "spanId": "54565fb41ac79632",
                    "type": "X-Amzn-Trace-Id",
                    "value": f"Root={TRACE};Parent=54565fb41ac79632;Sampled=1",
                },
            },
        )
    )
    assert got.kind is LineKind.LAMBDA_START
    assert got.lambda_request_id == RID
    assert got.trace_id == TRACE
    assert got.fields == {"version": "$LATEST"}


def test_json_platform_runtime_done() -> None:
    got = parse_lambda(
        platform(
            "platform.runtimeDone",
            {
                "requestId": RID,
                "metrics": {"durationMs": 17.12, "producedBytes": 50},
                "spans": [{"durationMs": 1.6, "name": "responseLatency"}],
                "status": "success",
            },
        )
    )
    assert got.kind is LineKind.LAMBDA_END
    assert got.lambda_request_id == RID
    assert got.fields == {"lambda_status": "success"}


def test_json_platform_report() -> None:
    got = parse_lambda(
        platform(
            "platform.report",
            {
                "requestId": RID,
                "metrics": {
                    "durationMs": 17.493,
                    "billedDurationMs": 18,
                    "initDurationMs": 235.086,
                    "maxMemoryUsedMB": 75,
                    "memorySizeMB": 128,
                },
                "status": "success",
            },
        )
    )
    assert got.kind is LineKind.LAMBDA_REPORT
    assert got.lambda_request_id == RID
    assert got.fields == {
        "lambda_status": "success",
        "duration_ms": 17.493,
        "billed_ms": 18,
        "memory_mb": 128,
        "max_memory_mb": 75,
        "init_ms": 235.086,
    }


def test_json_platform_report_timeout() -> None:
    got = parse_lambda(
        platform(
            "platform.report",
            {
                "requestId": RID,
                "metrics": {"durationMs": 3000.0, "billedDurationMs": 3000, "memorySizeMB": 128,
                            "maxMemoryUsedMB": 41},
                "status": "timeout",
                "errorType": "Sandbox.Timedout",
                "tracing": {"type": "X-Amzn-Trace-Id", "value": f"Root={TRACE};Sampled=1"},
            },
        )
    )  # fmt: skip
    assert got.fields["lambda_status"] == "timeout"
    assert got.fields["error_type"] == "Sandbox.Timedout"
    assert got.fields["error_cause"] == "timeout"
    assert got.trace_id == TRACE


def test_json_platform_init_report() -> None:
    got = parse_lambda(
        platform(
            "platform.initReport",
            {"initializationType": "on-demand", "phase": "init", "status": "error",
             "errorType": "Runtime.ImportModuleError", "metrics": {"durationMs": 123.5}},
        )
    )  # fmt: skip
    assert got.kind is LineKind.LAMBDA_INIT
    assert got.fields == {
        "lambda_status": "error",
        "error_type": "Runtime.ImportModuleError",
        "phase": "init",
        "init_ms": 123.5,
    }


def test_json_platform_fault() -> None:
    got = parse_lambda(
        platform("platform.fault", {})[:-12]
        + json.dumps(f"RequestId: {RID} Process exited before completing request")
        + "}"
    )
    assert got.kind is LineKind.LAMBDA_RUNTIME_EXIT
    assert got.lambda_request_id == RID


def test_json_application_record() -> None:
    got = parse_lambda(
        json.dumps(
            {
                "timestamp": "2024-07-01T08:54:54.110Z",
                "level": "INFO",
                "message": "processing order 42",
                "logger": "root",
                "requestId": RID,
            }
        )
    )
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.lambda_request_id == RID
    assert got.fields == {"level": "INFO"}


def test_json_application_record_with_object_message() -> None:
    got = parse_lambda(
        json.dumps(
            {
                "timestamp": "2024-07-01T08:54:54.110Z",
                "level": "WARN",
                "message": {"orderId": 42, "note": "slow"},
                "requestId": RID,
            }
        )
    )
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.fields == {"level": "WARN"}


def test_json_python_uncaught_error() -> None:
    got = parse_lambda(
        json.dumps(
            {
                "timestamp": "2024-07-01T08:54:54.110Z",
                "level": "ERROR",
                "message": {
                    "errorMessage": "'x'",
                    "errorType": "KeyError",
                    "requestId": RID,
                    "stackTrace": ['  File "/var/task/app.py", line 3, in handler\n'],
                },
                "requestId": RID,
            }
        )
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.lambda_request_id == RID
    assert got.fields == {"level": "ERROR", "error_type": "KeyError", "error_message": "'x'"}


def test_json_node_error_record() -> None:
    got = parse_lambda(
        json.dumps(
            {
                "timestamp": "2024-07-01T08:54:54.110Z",
                "level": "ERROR",
                "requestId": RID,
                "message": "Invoke Error",
                "errorType": "Error",
                "errorMessage": "boom",
                "stackTrace": ["Error: boom", "    at Runtime.handler (/var/task/index.js:3:9)"],
            }
        )
    )
    assert got.kind is LineKind.LAMBDA_ERROR
    assert got.fields["error_type"] == "Error"
    assert got.fields["error_message"] == "boom"


def test_json_powertools_record() -> None:
    got = parse_lambda(
        json.dumps(
            {
                "level": "INFO",
                "location": "handler:12",
                "message": "hello",
                "timestamp": "2024-07-01 08:54:54,110+0000",
                "service": "orders",
                "cold_start": True,
                "function_request_id": RID,
                "xray_trace_id": TRACE,
            }
        )
    )
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.lambda_request_id == RID
    assert got.trace_id == TRACE


def test_json_pino_numeric_level() -> None:
    got = parse_lambda(json.dumps({"level": 50, "msg": "failed", "awsRequestId": RID}))
    assert got.kind is LineKind.LAMBDA_LOG
    assert got.fields == {"level": "ERROR"}


def test_json_record_without_request_id_is_a_print() -> None:
    got = parse_lambda(json.dumps({"level": "INFO", "message": "module loaded"}))
    assert got.kind is LineKind.LAMBDA_PRINT
    assert got.fields == {"level": "INFO"}


def test_json_escaped_request_id_is_not_trusted() -> None:
    # Decoded, this is RID; but RID is not in the message, so it could never be joined.
    escaped = RID.replace("-", "\\u002d", 1)
    got = parse_lambda('{"level":"INFO","requestId":"' + escaped + '","message":"x"}')
    assert got.lambda_request_id is None


# --- Every join key a line offers (issue 27) -------------------------------------------------


def test_json_platform_start_with_a_w3c_traceparent_gives_the_xray_trace_id() -> None:
    # The Telemetry API's `tracing` object (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html):
    # `value` is an X-Amzn-Trace-Id header, or a W3C traceparent whose 32-hex trace ID X-Ray reads
    # as `1-{first 8}-{other 24}` (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html).
    record = {
        "requestId": RID,
        "version": "$LATEST",
        "tracing": {
            "spanId": "53995c3f42cd8ad8",
            "type": "traceparent",
            "value": "00-5e1b41515ac6c58f5b5dbd6a4ba2b4d4-53995c3f42cd8ad8-01",
        },
    }
    got = parse_lambda(
        json.dumps({"time": "2026-12-04T20:00:00.000Z", "type": "platform.start", "record": record})
    )
    assert got.kind is LineKind.LAMBDA_START and got.lambda_request_id == RID
    assert got.trace_id == TRACE
    # Not a traceparent (bad version, short ID): no trace ID.
    record["tracing"]["value"] = "01-5e1b41515ac6c58f5b5dbd6a4ba2b4d4-53995c3f42cd8ad8-01"  # type: ignore[index]
    assert parse_lambda(json.dumps({"type": "platform.start", "record": record})).trace_id is None


def test_powertools_keys_join_by_request_trace_and_correlation_id() -> None:
    # Powertools for AWS Lambda (Python) Logger's standard keys
    # (https://docs.powertools.aws.dev/lambda/python/latest/core/logger/#standard-structured-keys).
    apigw = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    line = json.dumps(
        {
            "level": "INFO",
            "location": "collect_payment:29",
            "message": "Collecting payment",
            "timestamp": "2026-12-04 20:00:00,123+0000",
            "service": "payment",
            "cold_start": True,
            "function_name": "orders",
            "function_memory_size": 128,
            "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
            "function_request_id": RID,
            "correlation_id": apigw,
            "xray_trace_id": TRACE,
        }
    )
    got = parse_lambda(line)
    assert (got.kind, got.lambda_request_id, got.trace_id) == (LineKind.LAMBDA_LOG, RID, TRACE)
    assert got.fields["correlation_id"] == apigw and got.request_id is None
    # .NET's v1 logger writes the same keys in PascalCase.
    dotnet = parse_lambda(
        json.dumps(
            {
                "ColdStart": False,
                "XrayTraceId": TRACE,
                "CorrelationId": apigw,
                "FunctionRequestId": RID,
                "Level": "Information",
                "Message": "done",
            }
        )
    )
    assert (dotnet.lambda_request_id, dotnet.trace_id) == (RID, TRACE)
    assert dotnet.fields["correlation_id"] == apigw
