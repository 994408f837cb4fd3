"""What is measured: each scenario is one function that runs one tool once and returns what it
cost (a Sample), checked against the reference read.

| key       | scenario                                                           |
|-----------|--------------------------------------------------------------------|
| a         | the bare boto3 loop in this process (client made, imports done)    |
| a_process | the same loop as a whole process (child/bare_loop.py)              |
| b         | `apilogs get -o json`, the cache dir kept from run to run (warm)   |
| b_cold    | the same with an empty cache dir                                   |
| c         | awslogs 0.15.0, one process per group, one after the other         |

and `follow` (apilogs get --watch while live traffic is written: its latency) and
`profile_apilogs` (one (b) under cProfile)."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.child.bare_loop import bare_loop
from bench.data import (
    Reference,
    Window,
    check_apilogs_output,
    count_lines,
    ingestion_times,
)
from bench.procs import REGION, interrupt_and_reap, spawn_piped
from bench.rig import Rig
from bench.samples import Sample, percentile, summarize_calls

# Follow runs: events ingested this close to the stop may still be on their way (not counted as
# missing); latencies count from this long after the spawn (--follow-warmup's default).
FOLLOW_MARGIN_S = 8.0
FOLLOW_WARMUP_DEFAULT = 5.0

Scenario = Callable[[Rig, Window, Reference], Sample]


def bare_inprocess(rig: Rig, window: Window, ref: Reference) -> Sample:
    """(a): the least a client can do, in this process: page through each group, count."""
    mark = rig.cpu_mark()
    started, cpu = time.perf_counter(), time.process_time()
    count = bare_loop(rig.client, rig.groups, window.start_ms, window.end_ms)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    problems = [] if count == ref.events else [f"read {count} events, expected {ref.events}"]
    return rig.finish(mark, seconds, count, None, cpu, problems)


def bare_process(rig: Rig, window: Window, ref: Reference) -> Sample:
    """(a'): the same loop as a whole process: interpreter start, imports, client, loop."""
    mark, pipe = rig.cpu_mark(), rig.proxy_reset()
    result = rig.run(rig.bare_loop_argv(window), "bare", pipe=pipe)
    sample = rig.finish_child(mark, result, result.problems())
    if result.exit_code == 0:
        last = result.stdout.read_text().splitlines()[-1]
        sample.events = int(json.loads(last)["events"])
        if sample.events != ref.events:
            sample.problems.append(f"read {sample.events} events, expected {ref.events}")
    return sample


def apilogs_get(
    rig: Rig, window: Window, ref: Reference, env: dict[str, str] | None = None
) -> Sample:
    """(b): `apilogs get -o json`, every line checked: exactly once, in time order."""
    mark, pipe = rig.cpu_mark(), rig.proxy_reset()
    result = rig.run(rig.apilogs_get_argv(window), "apilogs", pipe=pipe, env=env)
    sample = rig.finish_child(mark, result, result.problems())
    sample.events, problems = check_apilogs_output(result.stdout, ref)
    sample.problems += problems
    if not rig.args.keep_output:
        result.stdout.unlink()
    return sample


def apilogs_get_cold(rig: Rig, window: Window, ref: Reference) -> Sample:
    """(b) with an empty cache dir: a first run on this machine."""
    return apilogs_get(rig, window, ref, rig.cold_cache_env())


def awslogs_groups(rig: Rig, window: Window, ref: Reference) -> Sample:
    """(c): one process per group, one after the other: times and CPU add up, RSS is the max."""
    total: Sample | None = None
    lines = 0
    for group in rig.groups:
        mark, pipe = rig.cpu_mark(), rig.proxy_reset()
        result = rig.run(rig.awslogs_argv(group, window), "awslogs", pipe=pipe)
        one = rig.finish_child(mark, result, [f"{group}: {p}" for p in result.problems()])
        got = count_lines(result.stdout)
        lines += got
        if got != ref.awslogs_lines[group]:
            one.problems.append(
                f"{group}: {got} lines, expected {ref.awslogs_lines[group]} "
                f"({ref.per_group[group]} events)"
            )
        if not rig.args.keep_output:
            result.stdout.unlink()
        total = one if total is None else total.add(one)
    assert total is not None
    # Lines are not events (a message may hold newlines); when they all match, it read them all.
    total.events = lines if any("lines, expected" in p for p in total.problems) else ref.events
    return total


SCENARIOS: dict[str, Scenario] = {
    "a": bare_inprocess,
    "a_process": bare_process,
    "b": apilogs_get,
    "b_cold": apilogs_get_cold,
    "c": awslogs_groups,
}


# --------------------------------------------------------------------------------------------
# Follow latency


def follow(rig: Rig, interval: float | None, slow_s: float) -> dict[str, Any]:
    """`apilogs get --watch` through the proxy while live traffic is written to moto directly.

    Latency = when a line reached our end of apilogs's stdout pipe - the event's ingestion time
    (set by the server when PutLogEvents stored it). Only events ingested in the steady state
    count: from --follow-warmup seconds after the spawn (or the first line, if later) until
    FOLLOW_MARGIN_S before the stop; any of those never printed is missing. Lines later than
    `slow_s` are counted by what they are."""
    import boto3

    from apilogs.demo.writer import LiveTraffic, LogWriter

    args = rig.args
    assert rig.app is not None and rig.proxy is not None
    writer = LogWriter.connect(boto3.Session(), rig.server.url, REGION)
    live = LiveTraffic(rig.app, writer, rps=args.follow_rps, seed=args.seed + 7, tick_s=0.25)
    live.start()
    time.sleep(1.0)  # the writer is in its stride before apilogs starts
    rig.proxy.reset()
    since_ms = int(time.time() * 1000)
    _, err_path = rig.paths("follow")
    lines: list[tuple[float, bytes]] = []
    proc = spawn_piped(rig.apilogs_follow_argv(since_ms, interval), err_path, rig.env)
    spawned = time.time()
    assert proc.stdout is not None
    fd = proc.stdout.fileno()

    def read() -> None:
        rest = b""
        while chunk := os.read(fd, 1 << 16):
            now = time.time()
            *done, rest = (rest + chunk).split(b"\n")
            lines.extend((now, line) for line in done)

    reader = threading.Thread(target=read, name="follow-stdout", daemon=True)
    reader.start()
    time.sleep(max(0.0, spawned + args.follow_seconds - time.time()))
    stopped = time.time()
    usage = interrupt_and_reap(proc)
    reader.join(5)
    proc.stdout.close()
    live.stop()
    calls = summarize_calls(rig.proxy.stats(), spawned)
    if live.error:
        raise RuntimeError(f"the follow writer failed: {live.error}")

    # What the groups hold since `since_ms`, and when each event was ingested.
    ingested = ingestion_times(rig.client, rig.groups, Window(since_ms, int(time.time() * 1000)))
    steady_from = max(spawned + args.follow_warmup, lines[0][0] if lines else math.inf)
    figures = follow_latencies(lines, ingested, steady_from, stopped - FOLLOW_MARGIN_S, slow_s)
    problems = figures.pop("problems")
    if proc.returncode not in (0, 130, -signal.SIGINT):
        problems.insert(0, f"exit code {proc.returncode}")
    stderr = err_path.read_text(errors="replace").strip()
    if "Traceback" in stderr:
        problems.append("stderr: " + " | ".join(stderr.splitlines()[-3:]))
    seconds = stopped - spawned
    return {
        "interval_s": interval,
        "warmup_s": args.follow_warmup,
        "label": f"--watch-interval {interval:g}" if interval is not None else "default interval",
        "seconds": round(seconds, 3),
        "events_written": live.events_written,
        "events_printed": figures["events_printed"],
        "events_measured": figures["events_measured"],
        "first_line_s": round(lines[0][0] - spawned, 3) if lines else None,
        "latency_s": figures["latency_s"],
        "missing": figures["missing"],
        "late_flagged": figures["late_flagged"],
        "reads": calls["fle_calls"],
        "reads_per_s": round(calls["fle_calls"] / seconds, 2) if seconds else 0.0,
        "throttled": calls["fle_throttled"],
        "throttled_share": round(calls["fle_throttled"] / calls["fle_calls"], 4)
        if calls["fle_calls"]
        else 0.0,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "calls": calls,
        "stderr": stderr[-2000:],
        "problems": problems,
    }


def follow_latencies(
    lines: list[tuple[float, bytes]],
    ingested: dict[tuple[str, str, str], int],
    steady_from: float,
    steady_until: float,
    slow_s: float,
) -> dict[str, Any]:
    """Each printed line's latency (arrival - ingestion), for events ingested in the steady
    state; what is missing, printed twice, or not in the groups at all."""
    printed: dict[tuple[str, str, str], float] = {}
    kinds: dict[tuple[str, str, str], str] = {}  # the line's source and kind, as printed
    duplicates = unexpected = late = bad = 0
    for at, line in lines:
        try:
            obj = json.loads(line)
            key = (obj["group"], obj["stream"], str(obj["event_id"]))
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        late += bool(obj.get("late"))
        if key in printed:
            duplicates += 1
            continue
        printed[key] = at
        kinds[key] = f"{obj.get('source')} {obj.get('kind')}" + (
            " (late)" if obj.get("late") else ""
        )
        unexpected += key not in ingested
    population = {
        k: t / 1000 for k, t in ingested.items() if steady_from <= t / 1000 <= steady_until
    }
    latencies = [printed[k] - t for k, t in population.items() if k in printed]
    slow = Counter(
        kinds[k] for k, t in population.items() if k in printed and printed[k] - t > slow_s
    )
    missing = len(population) - len(latencies)
    problems = []
    for n, what in (
        (missing, "events written in the steady state never printed"),
        (duplicates, "events printed twice"),
        (unexpected, "printed events the groups do not hold"),
        (bad, "unreadable JSON lines"),
    ):
        if n:
            problems.append(f"{n} {what}")
    if not population:
        problems.append("no event was written in the steady state: lengthen --follow-seconds")
    return {
        "events_printed": len(printed),
        "events_measured": len(latencies),
        "latency_s": {
            "p50": round(percentile(latencies, 0.5), 3),
            "p90": round(percentile(latencies, 0.9), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "max": round(max(latencies), 3) if latencies else math.nan,
            "over_2s": sum(1 for x in latencies if x > slow_s),
            # Which lines: "source kind", "(late)" when marked so.
            "over_2s_lines": dict(slow.most_common()),
            "min": round(min(latencies), 3) if latencies else math.nan,
        },
        "missing": missing,
        "late_flagged": late,
        "problems": problems,
    }


# --------------------------------------------------------------------------------------------
# cProfile


def profile_apilogs(rig: Rig, window: Window, path: Path) -> str:
    """(b) once under cProfile: the profile written to `path`, its top as text."""
    import cProfile  # noqa: F401  (the child uses it; import here to fail early if absent)
    import pstats

    argv = rig.apilogs_get_argv(window)
    argv = [argv[0], "-m", "cProfile", "-o", str(path.resolve()), *argv[1:]]
    result = rig.run(argv, "apilogs-cprofile")
    if result.exit_code != 0 or not path.exists():
        return f"cProfile run failed: {result.stderr_text()}"
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)
    return f"cProfile run: {result.seconds:.3f} s wall (with profiling overhead)\n" + out.getvalue()
