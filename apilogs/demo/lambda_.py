"""Lambda: runs the sample code's `Run`s in execution environments and writes Lambda's lines for
them (`apilogs.demo.lambda_lines`), with the function's X-Ray segments when it is traced."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass

from apilogs.demo import lambda_lines
from apilogs.demo.environments import EnvironmentPool
from apilogs.demo.formats import Ids, iso_ms
from apilogs.demo.handlers import EXTENSIONS, INIT_DURATION_MS, INIT_OUTPUT, INIT_PRINTS, Run
from apilogs.demo.sample import SampleApp, SampleFunction
from apilogs.demo.scenario import LogRecord
from apilogs.demo.xray import Trace, lambda_segments


@dataclass(frozen=True, slots=True)
class Invocation:
    """One invocation as its caller (API Gateway) sees it."""

    request_id: str
    end_ms: int  # REPORT written; the caller has its answer right after
    cold: bool
    failure: str | None
    error_message: str | None  # as API Gateway quotes it: "customer function error: …"
    response: str  # what the caller receives
    segment_id: str
    segments: tuple[str, ...] = ()  # the Lambda service and function segments, when traced


class Lambda:
    """Runs `Run`s in execution environments and writes Lambda's lines for them, in the
    function's runtime (Python, Node.js) and log format (Text, JSON)."""

    def __init__(self, app: SampleApp, rng: random.Random, ids: Ids) -> None:
        self._region = app.region
        self._rng = rng
        self._ids = ids
        self._pools = {f.name: EnvironmentPool(f, rng, ids) for f in app.functions}
        # Functions whose next cold start is seen without its INIT_START (`hide_next_init_start`).
        self._init_start_unseen: set[str] = set()

    def hide_next_init_start(self, function_name: str) -> None:
        """The next cold start of this function writes its init output and START but not its
        INIT_START: what a reader whose window opens inside an init sees (a JVM's init lasts
        seconds), and what Lambda wrote before it had INIT_START (issue 27's init case)."""
        self._init_start_unseen.add(function_name)

    def invoke(
        self,
        fn: SampleFunction,
        t_ms: int,
        run: Run,
        trace: Trace | None,
        out: list[LogRecord],
        parent_id: str | None = None,
    ) -> Invocation:
        """Run `run` from t_ms in a free environment of `fn`, its lines appended to `out`;
        `parent_id` is the caller's subsegment for the call, when traced."""
        rng = self._rng
        request_id = self._ids.uuid()
        segment_id = self._ids.hex(16)
        pool = self._pools[fn.name]
        environment, cold = pool.acquire(t_ms)
        as_json = fn.log_format == "JSON"

        def emit(ts: float, message: str) -> None:
            out.append(LogRecord(fn.log_group, environment.stream, int(ts), message))

        init_ms = 0.0
        start = float(t_ms)
        if cold:
            low, high = INIT_DURATION_MS.get(fn.name, (100, 250))
            init_ms = rng.uniform(low, high)
            if fn.name in self._init_start_unseen:
                self._init_start_unseen.discard(fn.name)
            else:
                emit(start, lambda_lines.init_start(fn, as_json, t_ms, self._region))
            if fn.name in INIT_PRINTS:
                emit(start + init_ms * 0.6, INIT_PRINTS[fn.name] + "\n")
            for fraction, text in INIT_OUTPUT.get(fn.name, ()):
                emit(start + init_ms * fraction, lambda_lines.init_output(as_json, text))
            if fn.name in EXTENSIONS:
                at = start + init_ms * 0.33
                ready = lambda_lines.extension_ready(
                    as_json, int(at), EXTENSIONS[fn.name], ("INVOKE", "SHUTDOWN")
                )
                emit(at, ready)
            start += init_ms + rng.uniform(0.2, 1.5)

        timeout_ms = fn.timeout_s * 1000.0
        duration = timeout_ms if run.failure == "timeout" else min(run.duration_ms, timeout_ms)
        end = start + duration
        # Functions in PassThrough mode add nothing to the trace.
        tracing = None
        if fn.tracing and trace and trace.sampled:
            tracing = {
                "spanId": segment_id,
                "type": "X-Amzn-Trace-Id",
                "value": f"Root={trace.trace_id};Parent={segment_id};Sampled=1",
            }
        emit(start, lambda_lines.start(fn, as_json, request_id, int(start), tracing))

        if fn.name in EXTENSIONS:
            # The extension is handed the invocation too, and says so while the function runs.
            emit(start + 0.1, f"[{EXTENSIONS[fn.name]}] Waiting for event...\n")
        for fraction, level, text in run.lines:
            ts = start + duration * fraction
            emit(ts, lambda_lines.app_line(fn, as_json, request_id, int(ts), level, text))

        error_message: str | None = None
        response = run.response
        memory = min(run.memory_mb, fn.memory_mb - 1)
        if run.failure == "exception" and run.error:
            error_message = run.error.message
            response = lambda_lines.error_response(fn, request_id, run.error)
            for message in lambda_lines.error_lines(fn, as_json, request_id, int(end), run.error):
                emit(end, message)
        elif run.failure == "timeout":
            error_message = (
                f"{iso_ms(int(end))} {request_id} Task timed out after {fn.timeout_s:.2f} seconds"
            )
            response = json.dumps({"errorMessage": error_message})
            if not as_json:
                emit(end, error_message + "\n")
        elif run.failure == "oom":
            memory = fn.memory_mb
            error_message = (
                f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
            )
            response = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": error_message})
            emit(end, error_message + "\nRuntime.ExitError\n")

        environment.max_memory_mb = max(environment.max_memory_mb, memory)
        report = lambda_lines.Report(
            request_id=request_id,
            duration_ms=duration,
            # Since August 2025 on-demand functions are billed for their INIT phase too.
            billed_ms=math.ceil(duration + init_ms),
            memory_size_mb=fn.memory_mb,
            max_memory_mb=environment.max_memory_mb,
            init_ms=init_ms,
            failure=run.failure,
        )
        report_ms = end + rng.uniform(0.0, 1.2)
        if as_json:
            emit(report_ms, report.as_json(int(report_ms), tracing))
        else:
            emit(end, f"END RequestId: {request_id}\n")
            xray = f"{trace.trace_id}\tSegmentId: {segment_id}" if trace and tracing else None
            emit(report_ms, report.as_text(xray))

        if run.failure in ("timeout", "oom"):
            pool.retire(environment)
        environment.free_at_ms = int(report_ms) + 1
        segments: tuple[str, ...] = ()
        if tracing and trace is not None:
            segments = lambda_segments(
                fn,
                trace.trace_id,
                request_id,
                segment_id,
                parent_id,
                (t_ms, t_ms + init_ms if cold else None, start, end, report_ms),
                run,
            )
        return Invocation(
            request_id=request_id,
            end_ms=int(report_ms),
            cold=cold,
            failure=run.failure,
            error_message=error_message,
            response=response,
            segment_id=segment_id,
            segments=segments,
        )
