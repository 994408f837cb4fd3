"""Lambda log lines (the Text and the JSON log format) → `Line`.

A message that starts with `{` is read as JSON (the JSON log format, or a structured line printed
by the function); everything else as the Text format. Request IDs go to `Line.lambda_request_id`
(API Gateway's own ID is never in a Lambda log); the X-Ray root goes to `Line.trace_id`. An ID
without its shape goes to `fields["untrusted_lambda_request_id"]` / `["untrusted_trace_id"]`
instead (`apilogs.parse.vet`).

Kinds: `START`/`platform.start` → LAMBDA_START, `END`/`platform.runtimeDone` → LAMBDA_END,
`REPORT`/`platform.report` → LAMBDA_REPORT, `INIT_*`/`EXTENSION`/`platform.init*` → LAMBDA_INIT,
runtime lines with a request ID and a level → LAMBDA_LOG, `Task timed out` → LAMBDA_TIMEOUT,
`Runtime exited with error` / `Process exited before completing request` → LAMBDA_RUNTIME_EXIT,
error objects and uncaught exceptions → LAMBDA_ERROR, `Traceback …` / stack frames →
LAMBDA_TRACEBACK, and anything without a request ID (plain `print`) → LAMBDA_PRINT.

`Line.fields` keys:

- `version`: `START … Version: $LATEST` / `platform.start` `record.version`
- `duration_ms` (float), `billed_ms` (int), `memory_mb` (int), `max_memory_mb` (int),
  `init_ms` (float; present ⇒ cold start), `restore_ms` (float, SnapStart): REPORT metrics;
  `init_ms` also from INIT_REPORT / `platform.initReport`
- `lambda_status`: `success`, `timeout`, `error`, … (REPORT `Status:`, `record.status`)
- `phase`: `init` / `invoke` of an INIT_REPORT
- `runtime_version`: INIT_START `Runtime Version:` / `platform.initStart` `runtimeVersion`
- `level`: INFO, WARN, ERROR, DEBUG, TRACE, FATAL, CRITICAL (`WARNING` is written `WARN`)
- `error_type`, `error_message`: an error object, an uncaught exception, REPORT `Error Type:`
- `error_cause`: `timeout`, `oom`, `runtime_exit`
- `timeout_s` (float): `Task timed out after 3.00 seconds`
- `correlation_id`: Powertools' `correlation_id` (API Gateway's request ID when its logger takes
  it from the event; `apilogs.join` only joins by it to a request of that ID)

The X-Ray trace ID (`Line.trace_id`) comes from REPORT's `XRAY TraceId:`, from `tracing.value`
of `platform.start` / `platform.report` (an `X-Amzn-Trace-Id` header, or a W3C `traceparent`
`00-{32 hex}-{16 hex}-{2 hex}`, read as X-Ray's `1-{8 hex}-{24 hex}`), and from Powertools'
`xray_trace_id`.

A metric Lambda cannot write (`Max Memory Used: -5 MB`, `Memory Size: 0 MB`, a duration of NaN
or of days) is left out by `apilogs.parse.vet`: moved to `fields["untrusted_" + name]` and named
in `fields["left_out"]`, never summed or shown as the invocation's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from apilogs.model import Line, LineKind
from apilogs.parse.vet import leave_out, vet

__all__ = ["lambda_phase", "parse_lambda", "recognize_lambda", "stream_function"]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Values are tab-separated, but copies of REPORT lines with spaces circulate: `\S+` handles both.
_REPORT_KV = re.compile(
    r"(Billed Restore Duration|Restore Duration|Billed Duration|Init Duration|Max Memory Used"
    r"|Memory Size|Duration|Status|Error Type|Phase|XRAY TraceId|Runtime Version): (\S+)"
)
_LIMIT = 10**15  # no Lambda metric comes near; anything beyond is garbage
_WORD = re.compile(r"\S+")
_REPORT_LINE = re.compile(
    r"REPORT RequestId: (\S+)\tDuration: (\d{1,12}(?:\.\d{1,6})?) ms\tBilled Duration: (\d{1,12}) ms"
    r"\tMemory Size: (\d{1,9}) MB\tMax Memory Used: (\d{1,9}) MB"
    r"(?:\tInit Duration: (\d{1,12}(?:\.\d{1,6})?) ms)?"
)
# Lambda's own words when it stops a function; API Gateway quotes them in its execution log.
TIMED_OUT = re.compile(r"Task timed out after (\d{1,9}(?:\.\d{1,6})?) seconds")
_ROOT = re.compile(r"(?<![A-Za-z])[Rr]oot=(1-[0-9A-Fa-f]+-[0-9A-Fa-f]+)")
# W3C trace context (`traceparent`): version, 32-hex trace ID, 16-hex parent, flags. X-Ray reads
# the trace ID's first 8 hex digits as its epoch-seconds part: `1-{8 hex}-{24 hex}`.
_TRACEPARENT = re.compile(r"\A00-([0-9a-f]{8})([0-9a-f]{24})-[0-9a-f]{16}-[0-9a-f]{2}\Z")
_ERROR_TYPE_NAME = re.compile(r"[A-Za-z_$][\w.$]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]?[\d:.,]*Z?\s*\Z")
_PREFIX_PUNCTUATION = " \t[]<>()|:-"
_LEVEL_WORD = re.compile(
    r"(?<![A-Za-z])(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)(?![A-Za-z])"
)
_JSON_ERROR_TYPE = re.compile(r'"errorType"\s*:\s*"([^"\\]{1,200})"')
_JSON_ERROR_MESSAGE = re.compile(r'"errorMessage"\s*:\s*"((?:[^"\\]|\\.){0,2000})"')

_LEVELS = {
    "TRACE": "TRACE",
    "TRCE": "TRACE",
    "DEBUG": "DEBUG",
    "DBUG": "DEBUG",
    "INFO": "INFO",
    "INFORMATION": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "FAIL": "ERROR",
    "FATAL": "FATAL",
    "CRITICAL": "CRITICAL",
    "CRIT": "CRITICAL",
}
# pino and friends write numeric levels.
_NUMERIC_LEVELS = {10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}
# Node's runtime prefixes the JSON of an unhandled error with one of these.
_NODE_ERROR_PREFIXES = ("Invoke Error", "Uncaught Exception", "Unhandled Promise Rejection")
# Keys under which structured loggers put the invocation's request ID: Lambda's JSON format,
# Powertools (Python, TypeScript, Java: snake_case; .NET v1: PascalCase), SDK context names.
_REQUEST_ID_KEYS = (
    "requestId",
    "function_request_id",
    "FunctionRequestId",
    "AWSRequestId",
    "awsRequestId",
)
# Powertools' X-Ray trace ID, and its correlation ID (API Gateway's request ID when the logger
# is told `correlation_id_path=API_GATEWAY_REST` / `API_GATEWAY_HTTP`; else any value).
_TRACE_KEYS = ("xray_trace_id", "XrayTraceId")
_CORRELATION_KEYS = ("correlation_id", "CorrelationId")
_START = "START RequestId: "
_END = "END RequestId: "
_REPORT = "REPORT RequestId: "
_REQUEST_ID = "RequestId: "
_VERSION = "Version: "
_ERROR = " Error: "
_TIMED_OUT_TEXT = "Task timed out after "
_RUNTIME_EXIT = "Runtime exited with error"
_PROCESS_EXIT = "Process exited before completing request"


# A Lambda log stream's name: `YYYY/MM/DD/[{version}]{environment}` in a function's own group,
# `YYYY/MM/DD/{function}[{version}]{environment}` in a custom (possibly shared) one
# (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html).
# Function names are letters, digits, `-` and `_`, 64 at most.
# AWS's page writes the environment's ID in brackets too (`…[<version>][<GUID>]`): both read.
_LAMBDA_STREAM = re.compile(
    r"\d{4}/\d{2}/\d{2}/([A-Za-z0-9_-]{1,64})?\[([^\]\s]{1,128})\]\[?[\w-]{1,128}\]?\Z"
)


def stream_function(stream: str) -> tuple[str | None, str] | None:
    """(function, version) a Lambda log stream's name says (function None in a function's own
    group, whose name says it instead); None when the name is not a Lambda stream's."""
    m = _LAMBDA_STREAM.match(stream)
    if m is None:
        return None
    return m.group(1), m.group(2)


# An extension's own output: the AWS samples write `[{extension name}] …`
# (aws-samples/aws-lambda-extensions, cache-extension-demo: `[cache-extension-demo] Waiting for
# event...`); a name with "extension" in it tells it from an application's `[tag] …`.
_EXTENSION_TAG = re.compile(r"\[[\w.-]*extension[\w.-]*\] ", re.IGNORECASE)
_INIT, _RESTORE, _EXTENSION = "init", "restore", "extension"


def lambda_phase(message: str, kind: LineKind) -> str | None:
    """The phase of an environment's life a Lambda line says it belongs to, by itself: `init`
    (INIT_START, INIT_REPORT, `platform.init*`), `restore` (SnapStart's RESTORE_START,
    RESTORE_REPORT, `platform.restore*`), `extension` (EXTENSION, TELEMETRY,
    `platform.extension`, an extension's `[name] …` output); None for any other line (a
    function's output during init is known as such only from where it sits in its stream:
    `apilogs.join`)."""
    if kind is LineKind.LAMBDA_INIT:
        head = message[:200]
        if head.startswith(("RESTORE_", "[RESTORE")) or "platform.restore" in head:
            return _RESTORE
        if head.startswith(("EXTENSION", "TELEMETRY")) or "platform.extension" in head:
            return _EXTENSION
        if "Subscription" in head:
            return _EXTENSION
        return _INIT
    if kind is LineKind.LAMBDA_PRINT and message[:1] == "[" and _EXTENSION_TAG.match(message):
        return _EXTENSION
    return None


def parse_lambda(message: str) -> Line:
    """One Lambda log message → its `Line`. Never raises."""
    line = recognize_lambda(message)
    if line is not None:
        return line
    return vet(_generic(message))


def recognize_lambda(message: str) -> Line | None:
    """The `Line` of a message only Lambda writes (START, REPORT, a runtime line, …), else None.

    Plain text, and lines that merely contain a UUID, return None: that lets callers sniffing an
    unknown log group try other parsers before settling for "a print"."""
    line = _recognize(message)
    return None if line is None else vet(line)


def _recognize(message: str) -> Line | None:
    if not message:
        return None
    first = message[0]
    if first == "{":
        line = _json(message)
        if line is not None:
            return line
    elif first == "S":
        if message.startswith(_START):
            return _start(message)
    elif first == "E":
        if message.startswith(_END):
            rid = _token(message, len(_END))
            return Line(LineKind.LAMBDA_END, lambda_request_id=rid)
        if message.startswith("EXTENSION\t"):
            return Line(LineKind.LAMBDA_INIT)
    elif first == "R":
        if message.startswith(_REPORT):
            return _report(message)
        if message.startswith(_REQUEST_ID):
            return _request_id_error(message)
        if message.startswith(_RUNTIME_EXIT):
            return _runtime_exit(message, None)
        if message.startswith("RESTORE_"):
            return _init(message)
        if message.startswith("Runtime.") and _ERROR_TYPE_NAME.fullmatch(message.rstrip()):
            # The runtime's error type alone, when a crash wrote it as its own event.
            return Line(LineKind.LAMBDA_ERROR, fields={"error_type": message.rstrip()})
    elif first == "I":
        if message.startswith("INIT_"):
            return _init(message)
    elif first == "[":
        line = _python(message)
        if line is not None:
            return line
    elif first == "T":
        if message.startswith("Traceback (most recent call last):"):
            return Line(LineKind.LAMBDA_TRACEBACK)
        if message.startswith("TELEMETRY\t"):
            return Line(LineKind.LAMBDA_INIT)
    elif first == " " or first == "\t":
        if message.startswith(('  File "', "\tat ", "    at ")):
            return Line(LineKind.LAMBDA_TRACEBACK)
    elif first.isdigit():
        line = _timestamped(message)
        if line is not None:
            return line
    # Runtime-written failures that may follow any prefix (timestamp, request ID, …).
    if _TIMED_OUT_TEXT in message:
        return _timeout(message)
    if _RUNTIME_EXIT in message or _PROCESS_EXIT in message:
        return _runtime_exit(message, _first_uuid(message))
    return None


def _generic(message: str) -> Line:
    """Java and other runtimes put the request ID in a log prefix: a UUID near the start, after
    nothing but a timestamp or a level. A UUID elsewhere (`saved order {uuid}`) is data, and the
    line a `print`, which belongs to the stream's open invocation."""
    m = _UUID.search(message, 0, 100)
    if m is not None and m.start() <= 64:
        prefix = message[: m.start()]
        bare = prefix.strip(_PREFIX_PUNCTUATION)
        if not bare or bare.upper() in _LEVELS or _DATE.match(bare):
            level = _LEVEL_WORD.search(message, 0, m.end() + 24)
            fields = {"level": _LEVELS[level.group(1)]} if level else {}
            return Line(LineKind.LAMBDA_LOG, lambda_request_id=m.group(0), fields=fields)
    return Line(LineKind.LAMBDA_PRINT)


def _token(message: str, start: int) -> str | None:
    """The whitespace-delimited word at `start`."""
    m = _WORD.match(message, start)
    return m.group(0) if m else None


def _first_uuid(message: str) -> str | None:
    m = _UUID.search(message)
    return m.group(0) if m else None


def _start(message: str) -> Line:
    rid = _token(message, len(_START))
    at = message.find(_VERSION)
    version = _token(message, at + len(_VERSION)) if at >= 0 else None
    fields = {"version": version} if version else {}
    return Line(LineKind.LAMBDA_START, lambda_request_id=rid, fields=fields)


def _report_fields(message: str) -> tuple[dict[str, Any], str | None]:
    """`Key: value` pairs of REPORT / INIT_* / RESTORE_* lines (after their tag) → (fields,
    X-Ray root)."""
    fields: dict[str, Any] = {}
    if "\t" in message:
        for part in message.split("\t"):
            key, _, value = part.strip().partition(": ")
            _report_pair(key, value.partition(" ")[0], fields)
    else:  # copies of these lines with spaces for tabs circulate in docs and tickets
        for m in _REPORT_KV.finditer(message):
            _report_pair(m.group(1), m.group(2), fields)
    # The X-Ray root travels in Line.trace_id, not in the fields.
    trace = fields.pop("trace_id", None)
    _add_cause(fields)
    return fields, trace


def _report_pair(key: str, value: str, fields: dict[str, Any]) -> None:
    store = _REPORT_KEYS.get(key)
    if store is None or not value:
        return
    name, kind = store
    if kind is str:
        fields[name] = value
    else:
        number = _number(value, kind is int)
        if number is not None:
            fields[name] = number
        else:  # not a number Lambda writes: left out, kept (`apilogs.parse.vet`)
            leave_out(fields, name, value)


# REPORT's metrics: the name in the Text format, the `record.metrics` key of the JSON format's
# `platform.report` (None: not there), the field, whether a whole number.
_METRICS: tuple[tuple[str, str | None, str, bool], ...] = (
    ("Duration", "durationMs", "duration_ms", False),
    ("Billed Duration", "billedDurationMs", "billed_ms", True),
    ("Memory Size", "memorySizeMB", "memory_mb", True),
    ("Max Memory Used", "maxMemoryUsedMB", "max_memory_mb", True),
    ("Init Duration", "initDurationMs", "init_ms", False),
    ("Restore Duration", "restoreDurationMs", "restore_ms", False),
    ("Billed Restore Duration", None, "billed_restore_ms", True),
)
_REPORT_KEYS: dict[str, tuple[str, type]] = {
    **{text: (name, int if integral else float) for text, _, name, integral in _METRICS},
    "Status": ("lambda_status", str),
    "Error Type": ("error_type", str),
    "Phase": ("phase", str),
    "Runtime Version": ("runtime_version", str),
    "XRAY TraceId": ("trace_id", str),
}


def _add_cause(fields: dict[str, Any]) -> None:
    error_type = fields.get("error_type")
    if fields.get("lambda_status") == "timeout" or error_type == "Sandbox.Timedout":
        fields["error_cause"] = "timeout"
    elif error_type == "Runtime.OutOfMemory":
        fields["error_cause"] = "oom"


def _number(value: object, integral: bool) -> int | float | None:
    """A metric as a finite number of sane size, else None: text comes from REPORT lines, and the
    JSON format may carry NaN, Infinity or 400-digit integers."""
    if isinstance(value, str):
        if len(value) > 24:
            return None
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    # Compared before any conversion: float() of a huge int raises.
    if not -_LIMIT < value < _LIMIT:  # also rejects NaN
        return None
    return int(value) if integral else float(value)


def _report(message: str) -> Line:
    m = _REPORT_LINE.match(message)
    if m is None:
        rid = _token(message, len(_REPORT))
        fields, trace = _report_fields(message[len(_REPORT) :])
        return Line(LineKind.LAMBDA_REPORT, lambda_request_id=rid, trace_id=trace, fields=fields)
    # The usual line: its fixed head in one match, then whatever follows (X-Ray, Status, …).
    fields = {
        "duration_ms": float(m.group(2)),
        "billed_ms": int(m.group(3)),
        "memory_mb": int(m.group(4)),
        "max_memory_mb": int(m.group(5)),
    }
    if m.group(6):
        fields["init_ms"] = float(m.group(6))
    trace = None
    tail = message[m.end() :]
    if tail and not tail.isspace():
        more, trace = _report_fields(tail)
        fields.update(more)
    return Line(LineKind.LAMBDA_REPORT, lambda_request_id=m.group(1), trace_id=trace, fields=fields)


def _init(message: str) -> Line:
    fields, _ = _report_fields(message.partition(" ")[2])
    return Line(LineKind.LAMBDA_INIT, fields=fields)


def _request_id_error(message: str) -> Line:
    """`RequestId: {id} Error: …` (with the runtime's error type on the next line), or the older
    `RequestId: {id} Process exited before completing request`."""
    rid = _token(message, len(_REQUEST_ID))
    if _RUNTIME_EXIT in message or _PROCESS_EXIT in message:
        return _runtime_exit(message, rid)
    if _TIMED_OUT_TEXT in message:
        return _timeout(message)
    first, _, second = message.partition("\n")
    at = first.find(_ERROR)
    fields: dict[str, Any] = {}
    if at >= 0:
        fields["error_message"] = first[at + len(_ERROR) :].strip()
    second = second.strip()
    if second and _ERROR_TYPE_NAME.fullmatch(second):
        fields["error_type"] = second
    return Line(LineKind.LAMBDA_ERROR, lambda_request_id=rid, fields=fields)


def _runtime_exit(message: str, rid: str | None) -> Line:
    first, _, second = message.partition("\n")
    at = first.find(_RUNTIME_EXIT)
    if at < 0:
        at = first.find(_PROCESS_EXIT)
    fields: dict[str, Any] = {
        "error_message": first[at:].strip() if at >= 0 else first.strip(),
        "error_cause": "oom" if "signal: killed" in message else "runtime_exit",
    }
    second = second.strip()
    if second and _ERROR_TYPE_NAME.fullmatch(second):
        fields["error_type"] = second
    return Line(LineKind.LAMBDA_RUNTIME_EXIT, lambda_request_id=rid, fields=fields)


def _timeout(message: str) -> Line:
    fields: dict[str, Any] = {"error_cause": "timeout", "lambda_status": "timeout"}
    m = TIMED_OUT.search(message)
    if m is not None:
        fields["timeout_s"] = float(m.group(1))
    return Line(LineKind.LAMBDA_TIMEOUT, lambda_request_id=_first_uuid(message), fields=fields)


def _python(message: str) -> Line | None:
    """`[INFO]\\t{time}\\t{requestId}\\t{message}` (the Python runtime's logging handler), or
    `[ERROR] KeyError: 'x'\\nTraceback …` (an uncaught exception)."""
    close = message.find("]", 1, 13)
    if close < 0:
        return None
    level = _LEVELS.get(message[1:close].upper())
    if level is None:
        return None
    after = message[close + 1 : close + 2]
    if after == "\t":
        parts = message.split("\t", 3)
        rid = parts[2] if len(parts) > 2 and _UUID.fullmatch(parts[2]) else None
        if rid is None:
            return Line(LineKind.LAMBDA_PRINT, fields={"level": level})
        return Line(LineKind.LAMBDA_LOG, lambda_request_id=rid, fields={"level": level})
    if after == " " and level == "ERROR":
        head = message[close + 2 :].partition("\n")[0]
        name, _, detail = head.partition(": ")
        if _ERROR_TYPE_NAME.fullmatch(name):
            fields = {"level": level, "error_type": name, "error_message": detail.strip()}
            return Line(LineKind.LAMBDA_ERROR, fields=fields)
    # A hand-rolled `[LEVEL] {requestId} …` prefix.
    prefixed = _UUID.match(message, close + 2) if after == " " else None
    if prefixed is not None:
        fields = {"level": level}
        return Line(LineKind.LAMBDA_LOG, lambda_request_id=prefixed.group(0), fields=fields)
    return Line(LineKind.LAMBDA_PRINT, fields={"level": level})


def _timestamped(message: str) -> Line | None:
    """Node (and .NET): `{time}\\t{requestId}\\t{LEVEL}\\t{message}`. Node writes `undefined` as
    the request ID of errors raised outside an invocation."""
    tab = message.find("\t", 0, 40)
    if tab < 20 or message[4:5] != "-":
        return None
    parts = message.split("\t", 3)
    if len(parts) < 3:
        return None
    level = _LEVELS.get(parts[2].upper()) if len(parts[2]) <= 11 else None
    if level is None:
        return None
    rid = parts[1] if _UUID.fullmatch(parts[1]) else None
    text = parts[3] if len(parts) > 3 else ""
    if level == "ERROR" and text.startswith(_NODE_ERROR_PREFIXES):
        fields: dict[str, Any] = {"level": level}
        _error_from_json_text(text, fields)
        if "error_type" in fields:
            return Line(LineKind.LAMBDA_ERROR, lambda_request_id=rid, fields=fields)
    if _TIMED_OUT_TEXT in text:
        return _timeout(message)
    if rid is None:
        return Line(LineKind.LAMBDA_PRINT, fields={"level": level})
    return Line(LineKind.LAMBDA_LOG, lambda_request_id=rid, fields={"level": level})


def _error_from_json_text(text: str, fields: dict[str, Any]) -> None:
    """errorType / errorMessage of the JSON error object inside `text` (possibly truncated)."""
    brace = text.find("{")
    if brace < 0:
        return
    try:
        obj = json.loads(text[brace:])
    except (ValueError, RecursionError):
        obj = None
    if isinstance(obj, dict):
        _error_fields(obj, fields)
        return
    m = _JSON_ERROR_TYPE.search(text, brace)
    if m is not None:
        fields["error_type"] = m.group(1)
        msg = _JSON_ERROR_MESSAGE.search(text, brace)
        if msg is not None:
            fields["error_message"] = msg.group(1)


def _error_fields(obj: dict[str, Any], fields: dict[str, Any]) -> bool:
    error_type = obj.get("errorType")
    if not isinstance(error_type, str):
        return False
    fields["error_type"] = error_type
    error_message = obj.get("errorMessage")
    if isinstance(error_message, str):
        fields["error_message"] = error_message
    return True


def _json(message: str) -> Line | None:
    try:
        obj = json.loads(message)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    if isinstance(kind, str) and kind.startswith("platform."):
        return _platform(kind, obj.get("record"), message)
    return _application(obj, message)


def _string_id(value: object, message: str) -> str | None:
    """A request ID taken from decoded JSON, kept only when it is literally in the message (an
    escaped ID would otherwise never match the same ID elsewhere)."""
    if isinstance(value, str) and value and len(value) <= 128 and value in message:
        return value
    return None


def _trace_root(value: object) -> str | None:
    """The X-Ray trace ID of an `X-Amzn-Trace-Id` header (`Root=1-…;Parent=…`) or of a W3C
    `traceparent` (`00-{trace id}-{parent}-{flags}`)."""
    if isinstance(value, str):
        m = _ROOT.search(value)
        if m is not None:
            return m.group(1)
        w3c = _TRACEPARENT.match(value)
        if w3c is not None:
            return f"1-{w3c.group(1)}-{w3c.group(2)}"
    return None


def _platform(kind: str, record: object, message: str) -> Line | None:
    if isinstance(record, str):  # platform.fault: the runtime's own text
        if _RUNTIME_EXIT in record or _PROCESS_EXIT in record:
            return _runtime_exit(record, _first_uuid(record))
        return Line(LineKind.LAMBDA_ERROR, lambda_request_id=_first_uuid(record))
    if not isinstance(record, dict):
        record = {}
    rid = _string_id(record.get("requestId"), message)
    tracing = record.get("tracing")
    trace = _trace_root(tracing.get("value")) if isinstance(tracing, dict) else None
    fields: dict[str, Any] = {}
    status = record.get("status")
    if isinstance(status, str):
        fields["lambda_status"] = status
    error_type = record.get("errorType")
    if isinstance(error_type, str):
        fields["error_type"] = error_type
    metrics = record.get("metrics")
    if not isinstance(metrics, dict):
        metrics = {}

    if kind == "platform.start":
        version = record.get("version")
        if isinstance(version, str):
            fields["version"] = version
        line_kind = LineKind.LAMBDA_START
    elif kind in ("platform.runtimeDone", "platform.end"):
        line_kind = LineKind.LAMBDA_END
    elif kind == "platform.report":
        for key, (name, integral) in _JSON_METRICS.items():
            value = metrics.get(key)
            if value is None:
                continue
            number = _number(value, integral)
            if number is not None:
                fields[name] = number
            else:  # NaN, a string, a 400-digit integer: left out, kept
                leave_out(fields, name, value)
        line_kind = LineKind.LAMBDA_REPORT
    elif kind.startswith(("platform.init", "platform.restore", "platform.extension")) or kind in (
        "platform.telemetrySubscription",
        "platform.logsSubscription",
    ):
        for key, name in _INIT_STRINGS:
            value = record.get(key)
            if isinstance(value, str):
                fields[name] = value
        duration = _number(metrics.get("durationMs"), False)
        if duration is not None and kind in ("platform.initReport", "platform.restoreReport"):
            fields["init_ms" if kind == "platform.initReport" else "restore_ms"] = duration
        line_kind = LineKind.LAMBDA_INIT
    else:
        line_kind = LineKind.LAMBDA_LOG if rid else LineKind.LAMBDA_PRINT
    _add_cause(fields)
    return Line(line_kind, lambda_request_id=rid, trace_id=trace, fields=fields)


_INIT_STRINGS = (
    ("runtimeVersion", "runtime_version"),
    ("phase", "phase"),
    ("functionVersion", "version"),
)
_JSON_METRICS: dict[str, tuple[str, bool]] = {
    key: (name, integral) for _, key, name, integral in _METRICS if key is not None
}


def _application(obj: dict[str, Any], message: str) -> Line | None:
    """An application record: Lambda's JSON format (`timestamp`, `level`, `message`, `requestId`),
    Powertools (`function_request_id`, `xray_trace_id`), or a bare error object."""
    rid = None
    for key in _REQUEST_ID_KEYS:
        rid = _string_id(obj.get(key), message)
        if rid is not None:
            break
    fields: dict[str, Any] = {}
    raw_level = obj.get("level")
    if isinstance(raw_level, str):
        level = _LEVELS.get(raw_level.upper())
        if level is not None:
            fields["level"] = level
    elif isinstance(raw_level, int) and raw_level in _NUMERIC_LEVELS:
        fields["level"] = _NUMERIC_LEVELS[raw_level]
    trace = None
    for key in _TRACE_KEYS:
        value = obj.get(key)
        trace = _trace_root(value) or _string_xray(value, message)
        if trace is not None:
            break
    for key in _CORRELATION_KEYS:
        correlation = _string_id(obj.get(key), message)
        if correlation is not None:
            fields["correlation_id"] = correlation
            break

    text = obj.get("message")
    if _error_fields(obj, fields) or (isinstance(text, dict) and _error_fields(text, fields)):
        if rid is None and isinstance(text, dict):
            rid = _string_id(text.get("requestId"), message)
        kind = LineKind.LAMBDA_ERROR
    elif isinstance(text, str) and _TIMED_OUT_TEXT in text:
        m = TIMED_OUT.search(text)
        fields["error_cause"] = "timeout"
        if m is not None:
            fields["timeout_s"] = float(m.group(1))
        kind = LineKind.LAMBDA_TIMEOUT
    elif rid is not None:
        kind = LineKind.LAMBDA_LOG
    elif fields or trace:
        kind = LineKind.LAMBDA_PRINT
    else:
        return None
    return Line(kind, lambda_request_id=rid, trace_id=trace, fields=fields)


def _string_xray(value: object, message: str) -> str | None:
    """Powertools writes the bare `1-…` root."""
    if isinstance(value, str) and value.startswith("1-") and ";" not in value:
        return _string_id(value, message)
    return None
