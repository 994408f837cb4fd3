"""The lines Lambda writes for an invocation, in the function's runtime (Python, Node.js) and log
format (Text, JSON), and what it returns for a failed one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from apilogs.demo.formats import iso_ms, json_line
from apilogs.demo.handlers import Error
from apilogs.demo.sample import SampleFunction

_RUNTIME_VERSIONS = {
    "python3.12": "python:3.12.v38",
    "nodejs20.x": "nodejs:20.v33",
    "java21": "java:21.v38",
}
_LAMBDA_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. For "
    "functions using managed runtimes, runtime updates can be triggered by a function change, or "
    "can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime "
    "version, you may be able to mitigate this error by temporarily rolling back to the previous "
    "runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\n"
)


def init_start(fn: SampleFunction, as_json: bool, t_ms: int, region: str) -> str:
    version = _RUNTIME_VERSIONS.get(fn.runtime, fn.runtime)
    version_arn = f"arn:aws:lambda:{region}::runtime:{hashlib.sha256(version.encode()).hexdigest()}"
    if as_json:
        record = {
            "initializationType": "on-demand",
            "phase": "init",
            "runtimeVersion": version,
            "runtimeVersionArn": version_arn,
            "functionName": fn.name,
            "functionVersion": fn.version,
        }
        return json_line({"time": iso_ms(t_ms), "type": "platform.initStart", "record": record})
    return f"INIT_START Runtime Version: {version}\tRuntime Version ARN: {version_arn}\n"


def init_output(as_json: bool, text: str) -> str:
    """What an environment prints while it initialises: as printed, in either format."""
    return text + "\n"


def extension_ready(as_json: bool, t_ms: int, name: str, events: tuple[str, ...]) -> str:
    """Lambda's record of an extension that registered during init."""
    if as_json:
        record = {"name": name, "state": "Ready", "events": list(events)}
        return json_line({"time": iso_ms(t_ms), "type": "platform.extension", "record": record})
    return f"EXTENSION\tName: {name}\tState: Ready\tEvents: [{','.join(events)}]\n"


def start(
    fn: SampleFunction, as_json: bool, request_id: str, ts: int, tracing: dict[str, str] | None
) -> str:
    if as_json:
        record: dict[str, object] = {"requestId": request_id, "version": fn.version}
        if tracing:
            record["tracing"] = tracing
        return json_line({"time": iso_ms(ts), "type": "platform.start", "record": record})
    return f"START RequestId: {request_id} Version: {fn.version}\n"


def app_line(
    fn: SampleFunction, as_json: bool, request_id: str, ts: int, level: str | None, text: str
) -> str:
    if fn.runtime.startswith("nodejs"):
        # console.log and friends always carry the request ID in Node.js.
        if as_json:
            return json_line(
                {
                    "timestamp": iso_ms(ts),
                    "level": level or "INFO",
                    "requestId": request_id,
                    "message": text,
                }
            )
        return f"{iso_ms(ts)}\t{request_id}\t{level or 'INFO'}\t{text}\n"
    if level is None:
        return text + "\n"  # print(): no timestamp, no request ID, in either format
    if fn.runtime.startswith("java"):
        # LambdaLogger: the message alone in the Text format; in JSON, the request ID under
        # Java's own key (the Lambda guide's java-logging, advanced logging controls).
        if as_json:
            return json_line(
                {
                    "timestamp": iso_ms(ts),
                    "level": level,
                    "message": text,
                    "AWSRequestId": request_id,
                }
            )
        return text + "\n"
    if as_json:
        return json_line(
            {
                "timestamp": iso_ms(ts),
                "level": "WARN" if level == "WARNING" else level,
                "message": text,
                "logger": "root",
                "requestId": request_id,
            }
        )
    return f"[{level}]\t{iso_ms(ts)}\t{request_id}\t{text}\n"


def error_lines(
    fn: SampleFunction, as_json: bool, request_id: str, ts: int, error: Error
) -> list[str]:
    if fn.runtime.startswith("nodejs"):
        body = {"errorType": error.type, "errorMessage": error.message, "stack": _stack(error)}
        if as_json:
            node = {"timestamp": iso_ms(ts), "level": "ERROR", "requestId": request_id}
            return [json_line({**node, "message": body})]
        return [f"{iso_ms(ts)}\t{request_id}\tERROR\tInvoke Error \t{json_line(body)}\n"]
    frames = _python_frames(error)
    if as_json:
        message = {
            "errorMessage": error.message,
            "errorType": error.type,
            "requestId": request_id,
            "stackTrace": frames,
        }
        record = {"timestamp": iso_ms(ts), "level": "ERROR", "message": message}
        return [json_line({**record, "requestId": request_id})]
    # Both without a request ID: only START…END ties them to their invocation.
    return [
        _LAMBDA_WARNING,
        f"[ERROR] {error.type}: {error.message}\n"
        f"Traceback (most recent call last):\n{''.join(frames)}",
    ]


@dataclass(frozen=True, slots=True)
class Report:
    request_id: str
    duration_ms: float
    billed_ms: int
    memory_size_mb: int
    max_memory_mb: int
    init_ms: float
    failure: str | None

    def as_text(self, xray: str | None) -> str:
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_mb} MB",
        ]
        if self.init_ms:
            parts.append(f"Init Duration: {self.init_ms:.2f} ms")
        if self.failure == "timeout":
            parts.append("Status: timeout")
        elif self.failure == "oom":
            parts += ["Status: error", "Error Type: Runtime.OutOfMemory"]
        message = "\t".join(parts) + "\t\n"
        if xray:
            message += f"XRAY TraceId: {xray}\tSampled: true\t\n"
        return message

    def as_json(self, ts: int, tracing: Mapping[str, str] | None) -> str:
        metrics: dict[str, float] = {
            "durationMs": round(self.duration_ms, 2),
            "billedDurationMs": self.billed_ms,
            "memorySizeMB": self.memory_size_mb,
            "maxMemoryUsedMB": self.max_memory_mb,
        }
        if self.init_ms:
            metrics["initDurationMs"] = round(self.init_ms, 2)
        record: dict[str, object] = {"requestId": self.request_id, "metrics": metrics}
        if tracing:
            record["tracing"] = dict(tracing)
        record["status"] = {"timeout": "timeout", "oom": "error", "exception": "error"}.get(
            self.failure or "", "success"
        )
        if self.failure == "oom":
            record["errorType"] = "Runtime.OutOfMemory"
        return json_line({"time": iso_ms(ts), "type": "platform.report", "record": record})


def _python_frames(error: Error) -> list[str]:
    return [f'  File "{f}", line {n}, in {func}\n    {src}\n' for f, n, func, src in error.frames]


def _stack(error: Error) -> list[str]:
    return [f"{error.type}: {error.message}"] + [
        f"    at {function} ({file}:{line}:{column})"
        for file, line, function, column in error.frames
    ]


def error_response(fn: SampleFunction, request_id: str, error: Error) -> str:
    """What Lambda returns for an unhandled error (alongside X-Amz-Function-Error: Unhandled)."""
    if fn.runtime.startswith("nodejs"):
        return json.dumps(
            {"errorType": error.type, "errorMessage": error.message, "trace": _stack(error)}
        )
    return json.dumps(
        {
            "errorMessage": error.message,
            "errorType": error.type,
            "requestId": request_id,
            "stackTrace": _python_frames(error),
        }
    )
