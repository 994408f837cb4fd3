"""Benchmark of `apilogs tui`: how soon the first row shows, how fast a key answers while lines
stream in, and what 100,000 requests cost in memory.

    .venv/bin/python bench/tui.py                     # everything, ~5 min on 2 cores
    .venv/bin/python bench/tui.py --only first-row    # or keys, scale
    .venv/bin/python bench/tui.py --requests 20000    # a smaller scale run

(1) first row: moto's server in its own process holds about --events events of the sample API.
    `apilogs requests -s A -e B` and `apilogs tui --no-watch -s A -e B` are each spawned
    (--repeat times, median); for `requests` the clock stops at its first row on stdout, for the
    TUI at the first request row tmux shows in its pane (polled every 10 ms). The ratio is
    requests ÷ tui: how many times sooner the TUI shows something to look at.
(2) keys: the TUI headless (Textual's Pilot, 160×48) fed seeded demo traffic at --rate events/s
    through the core's Correlator, as following would; `j`/`k` pressed --keys times, each timed
    from the press to the first screen update that shows the moved cursor. The same without the
    stream gives the idle baseline; the ratio is loaded ÷ idle (median and p95).
(3) scale: --requests requests (about 10 lines each: 1M lines at 100k) fed as fast as the TUI
    takes them, in a child process whose peak RSS (ru_maxrss) is reported; then keys, a filter,
    a free-text search and a sort are timed at that size. The same at a tenth of the requests and
    with the default cap (10,000) fed every request give the ratios: memory per request, and that
    the cap bounds it.

Results go to stdout and bench/results-tui.json (gitignored)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REGION = "us-east-1"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
# moto's server in a process of its own (run.py's too): it prints its URL, exits with its parent.
MOTO_SERVER = BENCH_DIR / "child" / "moto_server.py"
ROW = re.compile(r"│\d\d:\d\d:\d\d\.\d{3}  ")


def log(text: str) -> None:
    print(f"[bench-tui] {text}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return {**env, **ENV}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- (1) first row --------------------------------------------------------------------------------


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(MOTO_SERVER)], stdout=subprocess.PIPE, text=True, env=child_env()
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        raise RuntimeError("moto's server did not start")
    return proc, url


def load_events(url: str, events: int) -> tuple[str, str, int, int]:
    import boto3

    from apilogs.demo.sample import deploy_sample
    from apilogs.demo.writer import LogWriter, load_bulk

    os.environ.update(ENV)
    session = boto3.Session(region_name=REGION)
    app = deploy_sample(session, url, REGION)
    writer = LogWriter.connect(session, url, REGION)
    end_ms = int(time.time() * 1000)
    started = time.monotonic()
    written = load_bulk(app, writer, events, seed=1, end_ms=end_ms)
    log(f"loaded {written:,} events in {time.monotonic() - started:.0f} s")
    return app.rest_api_id, app.rest_stage, end_ms - 3_600_000, end_ms


def requests_first_row(url: str, api: str, stage: str, start: int, end: int) -> dict[str, float]:
    argv = [
        sys.executable, "-m", "apilogs", "requests", "--endpoint-url", url, "-a", api, "-t",
        stage, "-s", str(start), "-e", str(end), "--max-rps", "0", "--color", "never",
    ]  # fmt: skip
    began = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_env()
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the header
    proc.stdout.readline()
    first = time.perf_counter() - began
    rows = 1 + sum(1 for _ in proc.stdout)
    proc.wait()
    return {"first_row_s": first, "all_rows_s": time.perf_counter() - began, "rows": rows}


def tui_first_row(url: str, api: str, stage: str, start: int, end: int) -> dict[str, float]:
    socket = f"bench-tui-{uuid.uuid4().hex[:8]}"
    argv = [
        sys.executable, "-m", "apilogs", "tui", "--endpoint-url", url, "-a", api, "-t", stage,
        "-s", str(start), "-e", str(end), "--max-rps", "0", "--max-requests", "100000",
    ]  # fmt: skip
    env = " ".join(f"{k}={v}" for k, v in ENV.items())
    command = f"env -u COLUMNS -u LINES {env} {' '.join(argv)}"

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, check=False
        ).stdout

    began = time.perf_counter()
    tmux("new-session", "-d", "-s", "b", "-x", "160", "-y", "48", command)
    first = done = None
    try:
        while time.perf_counter() - began < 600:
            pane = tmux("capture-pane", "-p", "-t", "b")
            now = time.perf_counter() - began
            if first is None and ROW.search(pane):
                first = now
            if "■ done" in pane:
                done = now
                break
            time.sleep(0.01)
    finally:
        tmux("send-keys", "-t", "b", "q")
        time.sleep(0.5)
        tmux("kill-server")
    if first is None or done is None:
        raise RuntimeError("the TUI showed no row")
    return {"first_row_s": first, "all_rows_s": done}


def bench_first_row(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("tmux") is None:
        return {"skipped": "tmux is not installed: the TUI is timed in a real terminal"}
    server, url = start_server()
    try:
        api, stage, start, end = load_events(url, args.events)
        rounds: dict[str, list[dict[str, float]]] = {"requests": [], "tui": []}
        for i in range(args.repeat):
            rounds["requests"].append(requests_first_row(url, api, stage, start, end))
            rounds["tui"].append(tui_first_row(url, api, stage, start, end))
            log(f"round {i + 1}: requests {rounds['requests'][-1]} tui {rounds['tui'][-1]}")
    finally:
        server.terminate()
        server.wait(10)
    med = {
        name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for name, runs in rounds.items()
    }
    return {
        "events": args.events,
        "median": med,
        "runs": rounds,
        "ratio_first_row": med["requests"]["first_row_s"] / med["tui"]["first_row_s"],
        "ratio_all_rows": med["requests"]["all_rows_s"] / med["tui"]["all_rows_s"],
    }


# --- data for the in-process benches --------------------------------------------------------------

# Execution-log lines that carry what a request row needs; the rest of API Gateway's verbose log
# is left out of the scale run so that 100k requests make about 1M lines.
_KEEP = (
    "Starting execution", "HTTP Method", "Received response", "Method completed",
    "Lambda execution", "Execution failed", "AWS Integration Endpoint", "Unauthorized",
)  # fmt: skip


def topology_and_generator(seed: int) -> tuple[Any, Any, Any]:
    import boto3

    from apilogs.aws import make_context
    from apilogs.demo.sample import deploy_sample
    from apilogs.demo.server import start_server as embedded
    from apilogs.demo.traffic import TrafficGenerator
    from apilogs.discover import discover_topology

    os.environ.update(ENV)
    server = embedded()
    app = deploy_sample(boto3.Session(region_name=REGION), server.url, REGION)
    topology = discover_topology(
        make_context(endpoint_url=server.url, max_rps=0), app.rest_api_id, app.rest_stage
    )
    server.stop()
    return topology, TrafficGenerator(app, seed=seed), app


def events_of(
    topology: Any,
    generator: Any,
    app: Any,
    requests: int,
    *,
    light: bool,
    rps: float,
    start_ms: int,
) -> Iterator[Any]:
    """Parsed events of `requests` REST requests, in time order, streamed."""
    import heapq

    from apilogs.fetch.filter import queries_for
    from apilogs.model import RawEvent
    from apilogs.parse import parse_event

    queries = {q.group: q for q in queries_for(topology.readable_sources)}
    pending: list[tuple[int, int, Any]] = []
    serial = 0
    made = 0
    span = int(requests / rps * 1000) + 120_000
    for request in generator.simulate(start_ms, start_ms + span, rps):
        if request.api_id != app.rest_api_id:
            continue
        made += 1
        for r in request.records:
            if r.group not in queries:
                continue
            if (
                light
                and r.group == app.execution_log_group
                and not any(k in r.message for k in _KEEP)
            ):
                continue
            serial += 1
            heapq.heappush(pending, (r.timestamp, serial, r))
        while pending and pending[0][0] < request.start_ms - 70_000:
            ts, n, r = heapq.heappop(pending)
            yield parse_event(
                RawEvent(
                    ts,
                    ts,
                    r.group,
                    r.stream,
                    str(n),
                    r.message,
                    queries[r.group].source_for(r.stream),
                )
            )
        if made >= requests:
            break
    while pending:
        ts, n, r = heapq.heappop(pending)
        yield parse_event(
            RawEvent(
                ts, ts, r.group, r.stream, str(n), r.message, queries[r.group].source_for(r.stream)
            )
        )


class StreamFeed:
    """Feeds the TUI as a follow would: events joined by the core's Correlator, handed over in
    batches; at `rate` events/s (paced every 0.25 s), or as fast as the TUI takes them."""

    def __init__(self, events: Iterator[Any], rate: float | None) -> None:
        from apilogs.fetch import FetchStats

        self.stats = FetchStats()
        self.events = events
        self.rate = rate
        self.sent = 0
        self.done = threading.Event()

    def run(self, stop: threading.Event, emit: Callable[[Any], None]) -> None:
        from apilogs.join.correlate import Correlator
        from apilogs.tui.feed import Batch

        correlator = Correlator(track_updates=True)
        began = time.monotonic()
        try:
            while not stop.is_set():
                if self.rate is None:
                    due = self.sent + 5_000
                else:
                    due = int((time.monotonic() - began) * self.rate)
                chunk = []
                for event in self.events:
                    chunk.append(event)
                    if self.sent + len(chunk) >= due:
                        break
                if not chunk and self.rate is None:
                    correlator.flush()
                    emit(Batch((), tuple(correlator.updates()), None))
                    return
                for event in chunk:
                    correlator.add(event)
                if chunk:
                    correlator.advance(chunk[-1].timestamp - 3_000)
                self.sent += len(chunk)
                emit(Batch(tuple((e, False) for e in chunk), tuple(correlator.updates()), None))
                if self.rate is not None:
                    stop.wait(0.25)
        finally:
            self.done.set()


def probe_app(feed: Any, topology: Any, start_ms: int, max_requests: int) -> Any:
    from datetime import UTC

    from apilogs.tui import TuiApp, TuiOptions

    class Probe(TuiApp):
        """Records when the screen was written, and when the cursor moved."""

        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.displays: list[float] = []
            self.moved_at = 0.0

        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            self.displays.append(time.perf_counter())

        def on_request_highlighted(self, message: Any) -> None:
            self.moved_at = time.perf_counter()
            super().on_request_highlighted(message)

    options = TuiOptions(
        start_ms=start_ms, follow=True, tz=UTC, max_requests=max_requests, clock=lambda: start_ms
    )
    return Probe(feed, topology, topology.readable_sources, options)


async def press_latencies(app: Any, pilot: Any, keys: list[str]) -> list[float]:
    """Press → the first screen update after the key was handled, in ms."""
    latencies = []
    for key in keys:
        before = app.requests.selected
        began = time.perf_counter()
        await pilot.press(key)
        deadline = began + 5
        while time.perf_counter() < deadline:
            moved = app.requests.selected != before
            shown = [t for t in app.displays if t >= max(began, app.moved_at)]
            if moved and shown:
                latencies.append((shown[0] - began) * 1000)
                break
            await asyncio.sleep(0.0005)
        await asyncio.sleep(0.02)
    return latencies


def bench_keys(args: argparse.Namespace) -> dict[str, Any]:
    from apilogs.tui.store import Sort  # noqa: F401  (imports the TUI before timing)

    topology, generator, app_ = topology_and_generator(seed=5)
    start_ms = int(time.time() * 1000) - 3_600_000
    results: dict[str, Any] = {}
    for name, rate in (("idle", None), ("streaming", float(args.rate))):
        # Idle: a few hundred requests, all read, then nothing arrives. Streaming: an endless
        # supply at `rate` events/s.
        supply = 400 if rate is None else 100_000
        events = events_of(
            topology, generator, app_, supply, light=False, rps=40, start_ms=start_ms
        )
        feed = StreamFeed(events, rate=rate)

        async def scenario(feed: StreamFeed, rate: float | None) -> dict[str, Any]:
            app = probe_app(feed, topology, start_ms, 10_000)
            async with app.run_test(size=(160, 48)) as pilot:
                app.animation_level = "none"
                if rate is None:
                    while not feed.done.is_set():
                        await asyncio.sleep(0.05)
                    await pilot.pause()
                else:
                    while feed.sent < rate * 3:  # let the stream settle
                        await asyncio.sleep(0.05)
                await pilot.press("k")
                sent_before = feed.sent
                began = time.perf_counter()
                keys = ["k", "j"] * (args.keys // 2)
                latencies = await press_latencies(app, pilot, keys)
                took = time.perf_counter() - began
                return {
                    "latencies_ms": latencies,
                    "events_per_s_during": (feed.sent - sent_before) / took,
                    "requests_shown": len(app.store),
                }

        results[name] = asyncio.run(scenario(feed, rate))
        lat = results[name]["latencies_ms"]
        log(
            f"keys {name}: median {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms, "
            f"{results[name]['events_per_s_during']:.0f} events/s"
        )
    idle, loaded = results["idle"]["latencies_ms"], results["streaming"]["latencies_ms"]
    return {
        **{
            k: {
                **v,
                "median_ms": statistics.median(v["latencies_ms"]),
                "p95_ms": pct(v["latencies_ms"], 95),
            }
            for k, v in results.items()
        },
        "ratio_median": statistics.median(loaded) / statistics.median(idle),
        "ratio_p95": pct(loaded, 95) / pct(idle, 95),
    }


# --- (3) scale: a child process per size, for its own peak RSS ------------------------------------


def scale_child(requests: int, cap: int) -> dict[str, Any]:
    topology, generator, app_ = topology_and_generator(seed=9)
    start_ms = int(time.time() * 1000) - 48 * 3_600_000
    events = events_of(topology, generator, app_, requests, light=True, rps=50, start_ms=start_ms)
    feed = StreamFeed(events, rate=None)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    async def scenario() -> dict[str, Any]:
        app = probe_app(feed, topology, start_ms, cap)
        out: dict[str, Any] = {}
        async with app.run_test(size=(160, 48)) as pilot:
            app.animation_level = "none"
            began = time.perf_counter()
            while not feed.done.is_set() or app._slots._value < 4:
                await asyncio.sleep(0.05)
            await pilot.pause()
            out["load_s"] = time.perf_counter() - began
            out["requests_kept"] = len(app.store)
            out["requests_seen"] = app.store.counts.requests
            out["lines_kept"] = app.log_store.lines
            out["lines_seen"] = app.lines_seen
            out["dropped"] = app.store.dropped
            await pilot.press("G")
            out["keys_ms"] = statistics.median(await press_latencies(app, pilot, ["k", "j"] * 10))
            out["pagedown_ms"] = statistics.median(
                await press_latencies(app, pilot, ["g", "pagedown", "pagedown", "pagedown", "G"])
            )
            for name, text in (("filter_5xx_s", "status:5xx"), ("filter_text_s", "Task timed out")):
                began = time.perf_counter()
                app._set_filter(text)
                while app._since is not None:
                    await asyncio.sleep(0.002)
                await pilot.pause()
                out[name] = time.perf_counter() - began
                out[name.replace("_s", "_rows")] = len(app.requests.index)
                app._set_filter("")
                while app._since is not None:
                    await asyncio.sleep(0.002)
            began = time.perf_counter()
            app.action_sort()
            while app._since is not None:
                await asyncio.sleep(0.002)
            await pilot.pause()
            out["sort_s"] = time.perf_counter() - began
            await pilot.press("v", "g", "pagedown", "G")
            await pilot.pause()
        return out

    out = asyncio.run(scenario())
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_before_tui_mib"] = rss_before / 1024
    return out


def bench_scale(args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for name, requests, cap in (
        ("full", args.requests, args.requests),
        ("tenth", args.requests // 10, args.requests),
        ("capped", args.requests, 10_000),
    ):
        with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
            subprocess.run(
                [sys.executable, __file__, "--scale-child", str(requests), str(cap), out.name],
                check=True,
                env={**os.environ, **ENV},
            )
            runs[name] = json.loads(Path(out.name).read_text())
        log(f"scale {name}: {runs[name]}")
    full, tenth, capped = runs["full"], runs["tenth"], runs["capped"]
    return {
        **runs,
        "ratio_rss_full_over_tenth": full["peak_rss_mib"] / tenth["peak_rss_mib"],
        "kib_per_request": (full["peak_rss_mib"] - tenth["peak_rss_mib"])
        * 1024
        / (full["requests_kept"] - tenth["requests_kept"]),
        "ratio_rss_capped_over_full": capped["peak_rss_mib"] / full["peak_rss_mib"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["first-row", "keys", "scale"], action="append")
    parser.add_argument("--events", type=int, default=100_000, help="events in moto for (1)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1_000, help="events/s streamed in (2)")
    parser.add_argument("--keys", type=int, default=60, help="key presses timed in (2)")
    parser.add_argument("--requests", type=int, default=100_000, help="requests in (3)")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results-tui.json")
    parser.add_argument("--scale-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_child:
        requests, cap, path = args.scale_child
        Path(path).write_text(json.dumps(scale_child(int(requests), int(cap))))
        return 0
    parts = args.only or ["first-row", "keys", "scale"]
    results: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k != "results"}}
    results["args"]["results"] = str(args.results)
    if "first-row" in parts:
        results["first_row"] = bench_first_row(args)
    if "keys" in parts:
        results["keys"] = bench_keys(args)
    if "scale" in parts:
        results["scale"] = bench_scale(args)
    args.results.write_text(json.dumps(results, indent=2))
    print_summary(results)
    return 0


def print_summary(results: dict[str, Any]) -> None:
    print()
    first = results.get("first_row")
    if first and "skipped" not in first:
        m = first["median"]
        print(
            f"(1) first row, {first['events']:,} events: requests {m['requests']['first_row_s']:.2f} s, "
            f"tui {m['tui']['first_row_s']:.2f} s → the TUI shows a row {first['ratio_first_row']:.1f}× sooner; "
            f"every row: requests {m['requests']['all_rows_s']:.1f} s, tui {m['tui']['all_rows_s']:.1f} s "
            f"(ratio {first['ratio_all_rows']:.2f})"
        )
    elif first:
        print(f"(1) skipped: {first['skipped']}")
    keys = results.get("keys")
    if keys:
        print(
            f"(2) keys: idle median {keys['idle']['median_ms']:.1f} ms / p95 {keys['idle']['p95_ms']:.1f} ms; "
            f"at {keys['streaming']['events_per_s_during']:.0f} events/s median {keys['streaming']['median_ms']:.1f} ms / "
            f"p95 {keys['streaming']['p95_ms']:.1f} ms → ratio {keys['ratio_median']:.2f} (median), {keys['ratio_p95']:.2f} (p95)"
        )
    scale = results.get("scale")
    if scale:
        f, c = scale["full"], scale["capped"]
        print(
            f"(3) {f['requests_kept']:,} requests, {f['lines_kept']:,} lines: peak RSS {f['peak_rss_mib']:.0f} MiB "
            f"({scale['ratio_rss_full_over_tenth']:.1f}× a tenth of them; {scale['kib_per_request']:.1f} KiB a request); "
            f"capped at 10,000: {c['peak_rss_mib']:.0f} MiB ({scale['ratio_rss_capped_over_full']:.2f}× uncapped, "
            f"{c['dropped']:,} dropped and said so). At full size: key {f['keys_ms']:.1f} ms, "
            f"page {f['pagedown_ms']:.1f} ms, filter status:5xx {f['filter_5xx_s']:.2f} s, "
            f"free text {f['filter_text_s']:.2f} s, sort {f['sort_s']:.2f} s, load {f['load_s']:.0f} s"
        )


if __name__ == "__main__":
    sys.exit(main())
