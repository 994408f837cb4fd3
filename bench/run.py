"""Benchmark of `apilogs get` against a bare boto3 loop and awslogs 0.15, on moto's server.

    .venv/bin/python bench/run.py [--events N] [--repeat 3] [--scale-check [--scale-events M]]
    .venv/bin/python bench/run.py --aws-shaped [--rtt-ms 40 --per-mb-ms 250 --quota-rps 5 ...]

One run: start moto's server in its own process on 127.0.0.1, deploy the sample API, load about N
events, find the API's log groups (`apilogs groups -o json`), then measure, each `--repeat` times
(round-robin, median reported):

  (a)  a bare boto3 FilterLogEvents paging loop over those groups, one after the other, in this
       process (and again as a whole process, to see start-up cost and its peak RSS);
  (b)  `apilogs get -o json --max-rps 0` as a process, its output checked event by event against
       what (a) read (missing, duplicated, unexpected, out of time order);
  (c)  awslogs 0.15.0 (its own venv, bench/.venv-awslogs), one process per group, one after the
       other, its output lines checked against what (a) read.

`--scale-check` then loads events until the store holds `--scale-events` (default 10 x N), and
measures (a) and (b) again: (b)'s peak RSS should stay flat.

`--aws-shaped` then does it again in AWS's shape (issue 13): a second moto server with about
`--aws-events` events over `--aws-span` seconds, behind tests/awsproxy.py (a round trip on every
call, a per-MiB delay on FilterLogEvents answers, 1 MiB pages, a 5/s FilterLogEvents quota
answered with ThrottlingException). (a) as a process with boto3's standard retries, (b) with the
default --max-rps and a cold and a warm cache dir, (c): time to first line, total time, calls
and throttles as the proxy counted them, the quota floor; then `apilogs get --watch` while live
traffic is written, for its follow latency. Issue 13's targets are printed with PASS/FAIL.

Results go to stdout (tables) and bench/results-YYYYmmdd-HHMMSS.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apilogs.demo.sample import SampleApp

BENCH_DIR = Path(__file__).resolve().parent
AWSLOGS_VERSION = "0.15.0"
REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Anything that could send a child elsewhere than our server, or change how it reads.
SCRUBBED_ENV_PREFIXES = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_MAX_ATTEMPTS")

TARGET_B_OVER_A = 0.9  # (b) events/s >= 0.9 x (a)
TARGET_C_OVER_B = 5.0  # (c) total time >= 5 x (b)
TARGET_RSS_GROWTH = 1.3  # (b) peak RSS at 10 x N <= 1.3 x at N (issue 13; was 1.5)
TARGET_LOOPBACK_CPU = 1.8  # (b) client CPU <= 1.8 x (a') on loopback (issue 13)
# In AWS's shape (issue 13), through tests/awsproxy.py:
TARGET_SPEED_OVER_BARE = 1.8  # (a) total time / (b) total time >= 1.8
TARGET_SPEED_OVER_AWSLOGS = 3.5  # (c) total time / (b) total time >= 3.5
TARGET_FIRST_LINE_WARM = 1.5  # (b, cache warm) first line <= 1.5 x (a)'s first page
TARGET_FIRST_LINE_COLD = 2.5  # (b, cache cold) first line <= 2.5 x (a)'s first page
TARGET_THROTTLED_SHARE = 0.05  # throttled FilterLogEvents calls <= 5 % of them
TARGET_FOLLOW_LATENCY_S = 2.0  # every followed event printed <= 2 s after it was written

# moto's server in a process of its own, so that the measured client does not share its GIL.
# It exits by itself when its parent goes away or after `lifetime` seconds: never left behind.
SERVER_CODE = """
import os, sys, time
from apilogs.demo.server import start_server
parent, lifetime = os.getppid(), float(sys.argv[1])
server = start_server(host="127.0.0.1", port=0)
print(server.url, flush=True)
deadline = time.monotonic() + lifetime
while os.getppid() == parent and time.monotonic() < deadline:
    time.sleep(0.5)
server.stop()
"""

# Child processes still running, by pid: killed (by pid) on the way out, Ctrl-C included.
_LIVE: dict[int, subprocess.Popen[bytes]] = {}


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Processes


@dataclass
class ChildResult:
    argv: list[str]
    seconds: float
    exit_code: int
    peak_rss_kib: int
    cpu_seconds: float
    timed_out: bool
    stdout: Path
    stderr: Path
    spawned_at: float = 0.0  # epoch seconds, comparable with the proxy's call times
    first_byte_seconds: float | None = None  # from spawn to stdout's first byte (pipe=True)

    def stderr_text(self, limit: int = 2000) -> str:
        return self.stderr.read_text(errors="replace")[:limit]


CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, all its threads (/proc/PID/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_ENV_PREFIXES)}
    env.update(CREDENTIALS)
    env["PYTHONIOENCODING"] = "utf-8"
    env["NO_COLOR"] = "1"
    env.pop("FORCE_COLOR", None)
    return env


# Measured processes are spawned by this small launcher, not by the bench itself: on Linux a
# process' peak RSS (ru_maxrss) carries over across execve, and a child spawned by a big process
# starts with that process' resident size (the bench holds every event key in memory). The
# launcher stays small, so what `os.wait4` reports is the measured program's own peak (plus the
# launcher's few MiB, reported as `rss_floor_kib`). One request a line on stdin, one reply a line.
LAUNCHER_CODE = """
import json, os, select, signal, sys, time
child = 0
parent = os.getppid()
def stop(signum, frame):
    if child:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(1)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
def copy(src, dst):
    chunk = os.read(src, 1 << 20)
    view = memoryview(chunk)
    while view:
        view = view[os.write(dst, view):]
    return len(chunk)
for line in sys.stdin:
    req = json.loads(line)
    # With "pipe", stdout is a pipe the launcher copies to the file, noting when its first
    # byte came: the time to first line, as a user at the other end of a pipe sees it.
    pipe_r = out = -1
    if req.get("pipe"):
        pipe_r, pipe_w = os.pipe()
        out = os.open(req["stdout"], WRITE, 0o644)
        stdout_action = (os.POSIX_SPAWN_DUP2, pipe_w, 1)
    else:
        stdout_action = (os.POSIX_SPAWN_OPEN, 1, req["stdout"], WRITE, 0o644)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        stdout_action,
        (os.POSIX_SPAWN_OPEN, 2, req["stderr"], WRITE, 0o644),
    ]
    spawned_at = time.time()
    started = time.perf_counter()
    child = os.posix_spawn(req["argv"][0], req["argv"], req["env"], file_actions=actions)
    if pipe_r >= 0:
        os.close(pipe_w)
    first_byte = None
    deadline = started + req["timeout"]
    timed_out = False
    try:
        pidfd = os.pidfd_open(child)  # readable when the child exits: no busy polling
    except (AttributeError, OSError):
        pidfd = -1
    while True:
        waiting = [fd for fd in (pidfd, pipe_r) if fd >= 0]
        ready = select.select(waiting, [], [], 1.0 if pidfd >= 0 else 0.001)[0] if waiting else []
        if pipe_r >= 0 and pipe_r in ready:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            if not copy(pipe_r, out):
                os.close(pipe_r)
                pipe_r = -1
        pid, status, usage = os.wait4(child, os.WNOHANG)
        if pid:
            ended = time.perf_counter()
            break
        if not timed_out and (time.perf_counter() > deadline or os.getppid() != parent):
            timed_out = True
            os.kill(child, signal.SIGKILL)
        if pidfd < 0 and pipe_r < 0:
            time.sleep(0.001)
    if pipe_r >= 0:  # what the child wrote just before it exited
        while select.select([pipe_r], [], [], 5.0)[0]:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            if not copy(pipe_r, out):
                break
        os.close(pipe_r)
    if out >= 0:
        os.close(out)
    if pidfd >= 0:
        os.close(pidfd)
    child = 0
    reply = {
        "seconds": ended - started,
        "spawned_at": spawned_at,
        "first_byte_seconds": first_byte,
        "exit_code": os.waitstatus_to_exitcode(status),
        "peak_rss_kib": usage.ru_maxrss,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "timed_out": timed_out,
    }
    print(json.dumps(reply), flush=True)
"""


class Launcher:
    """Runs one process at a time to its end: wall time from spawn to reaping, its peak RSS."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        _LIVE[self.proc.pid] = self.proc

    def run(
        self,
        argv: Sequence[str],
        *,
        stdout: Path,
        stderr: Path,
        timeout: float,
        env: dict[str, str],
        pipe: bool = False,
    ) -> ChildResult:
        if not os.path.isabs(argv[0]):
            raise ValueError(f"the launcher needs an absolute path: {argv[0]}")
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {
            "argv": list(argv),
            "env": env,
            "stdout": str(stdout),
            "stderr": str(stderr),
            "timeout": timeout,
            "pipe": pipe,
        }
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout + 60)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            raise RuntimeError(f"the launcher did not answer (exit {self.proc.poll()})")
        reply = json.loads(line)
        return ChildResult(
            list(argv),
            float(reply["seconds"]),
            int(reply["exit_code"]),
            int(reply["peak_rss_kib"]),
            float(reply["cpu_seconds"]),
            bool(reply["timed_out"]),
            stdout,
            stderr,
            float(reply["spawned_at"]),
            reply["first_byte_seconds"],
        )


def kill_children() -> None:
    """SIGTERM first (the launcher then kills the process it runs), SIGKILL if that fails."""
    for pid, proc in list(_LIVE.items()):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        _LIVE.pop(pid, None)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path


def start_server(
    workdir: Path, lifetime_s: float, timeout: float = 60.0, name: str = "moto-server"
) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, str(lifetime_s)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=child_env(),
        )
    _LIVE[proc.pid] = proc
    return Server(announced_url(proc, log_path, timeout, "moto's server"), proc, log_path)


def announced_url(proc: subprocess.Popen[bytes], log_path: Path, timeout: float, what: str) -> str:
    """The URL a server process prints on its first line of stdout."""
    assert proc.stdout is not None
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{what} did not start (exit {proc.poll()}):\n{tail}")
        line += chunk
    url = line.decode().strip()
    if not url.startswith("http://127.0.0.1:"):
        raise RuntimeError(f"{what} announced an unexpected URL: {url!r}")
    return url


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL: a process the bench started, by its pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    _LIVE.pop(proc.pid, None)


# --------------------------------------------------------------------------------------------
# Data: loading, the window, the reference read


@dataclass(frozen=True)
class Window:
    start_ms: int
    end_ms: int

    def iso(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Reference:
    """What the groups hold in the window, read once with plain boto3 (untimed)."""

    per_group: dict[str, int]
    keys: set[tuple[str, str, str]]
    # awslogs prints `group stream message.rstrip()`: one line per event plus embedded newlines.
    awslogs_lines: dict[str, int]

    @property
    def events(self) -> int:
        return sum(self.per_group.values())


def logs_client(url: str) -> Any:
    import boto3

    return boto3.client("logs", region_name=REGION, endpoint_url=url)


def first_timestamp(client: Any, groups: Sequence[str]) -> int:
    firsts = []
    for group in groups:
        page = client.filter_log_events(logGroupName=group, limit=1, interleaved=True)
        firsts += [int(e["timestamp"]) for e in page.get("events", ())]
    if not firsts:
        raise RuntimeError("no event was loaded")
    return min(firsts)


def window_for(client: Any, groups: Sequence[str], end_ms: int) -> Window:
    """Whole seconds (awslogs reads times to the second), a second clear of every event."""
    start = (first_timestamp(client, groups) // 1000 - 1) * 1000
    return Window(start, end_ms)


def read_reference(client: Any, groups: Sequence[str], window: Window) -> Reference:
    per_group: dict[str, int] = {}
    keys: set[tuple[str, str, str]] = set()
    lines: dict[str, int] = {}
    for group in groups:
        count = nlines = 0
        for page in pages(client, group, window):
            for event in page.get("events", ()):
                count += 1
                nlines += event["message"].rstrip().count("\n") + 1
                keys.add((group, event["logStreamName"], str(event["eventId"])))
        per_group[group] = count
        lines[group] = nlines
    return Reference(per_group, keys, lines)


def pages(client: Any, group: str, window: Window) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "startTime": window.start_ms,
        "endTime": window.end_ms,
        "interleaved": True,
    }
    while True:
        page: dict[str, Any] = client.filter_log_events(**kwargs)
        yield page
        token = page.get("nextToken")
        if not token:
            return
        kwargs["nextToken"] = token


def bare_loop(client: Any, groups: Sequence[str], window: Window) -> int:
    """(a): the least a client can do: page through each group, count the events."""
    total = 0
    for group in groups:
        for page in pages(client, group, window):
            total += len(page["events"])
    return total


def bare_child_main(spec_json: str) -> int:
    """`run.py --bare-child SPEC`: (a) as a whole process (imports, client, loop).

    In AWS's shape the client uses boto3's standard retry mode (throttles are retried, 3
    attempts in all), and the process writes a line to stdout when its first page arrives:
    its time to first line, measured like every other process's."""
    spec = json.loads(spec_json)
    window = Window(spec["start_ms"], spec["end_ms"])
    if not spec.get("aws_shaped"):
        client = logs_client(spec["url"])
        count = bare_loop(client, spec["groups"], window)
        print(json.dumps({"events": count}))
        return 0
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard"})
    client = boto3.client("logs", region_name=REGION, endpoint_url=spec["url"], config=config)
    count = npages = 0
    for group in spec["groups"]:
        for page in pages(client, group, window):
            if not npages:
                sys.stdout.write("first page\n")
                sys.stdout.flush()
            npages += 1
            count += len(page["events"])
    print(json.dumps({"events": count, "pages": npages}))
    return 0


# --------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Sample:
    seconds: float
    events: int
    peak_rss_kib: int | None
    cpu_seconds: float  # the measured client's own CPU time (user + system)
    server_cpu_seconds: float  # moto's server process, meanwhile
    other_cpu_seconds: float  # everything else on the machine meanwhile: noise if large
    problems: list[str] = field(default_factory=list)
    # AWS-shaped runs only: stdout's first byte after spawn, the proxy's CPU time meanwhile,
    # and what the proxy counted (see `summarize_calls`).
    first_line_s: float | None = None
    proxy_cpu_seconds: float = 0.0
    calls: dict[str, Any] | None = None

    def add(self, other: Sample) -> Sample:
        """Two runs one after the other (awslogs: one process per group)."""
        first = self.first_line_s
        if first is None and other.first_line_s is not None:
            first = self.seconds + other.first_line_s
        return Sample(
            self.seconds + other.seconds,
            self.events + other.events,
            max(self.peak_rss_kib or 0, other.peak_rss_kib or 0) or None,
            self.cpu_seconds + other.cpu_seconds,
            self.server_cpu_seconds + other.server_cpu_seconds,
            self.other_cpu_seconds + other.other_cpu_seconds,
            self.problems + other.problems,
            first,
            self.proxy_cpu_seconds + other.proxy_cpu_seconds,
            add_calls(self.calls, other.calls, self.seconds),
        )


@dataclass
class Measurement:
    key: str
    label: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def events(self) -> int:
        return max(s.events for s in self.samples)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def peak_rss_kib(self) -> int | None:
        values = [s.peak_rss_kib for s in self.samples if s.peak_rss_kib is not None]
        return max(values) if values else None

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def server_cpu_seconds(self) -> float:
        return statistics.median(s.server_cpu_seconds for s in self.samples)

    @property
    def other_cpu_seconds(self) -> float:
        return statistics.median(s.other_cpu_seconds for s in self.samples)

    @property
    def problems(self) -> list[str]:
        return list(dict.fromkeys(p for s in self.samples for p in s.problems))

    # -- AWS-shaped figures: medians over the samples, the throttled share over all of them --

    @property
    def first_line_s(self) -> float | None:
        values = [s.first_line_s for s in self.samples if s.first_line_s is not None]
        return statistics.median(values) if values else None

    @property
    def proxy_cpu_seconds(self) -> float:
        return statistics.median(s.proxy_cpu_seconds for s in self.samples)

    def calls_median(self, name: str) -> float:
        values = [s.calls[name] for s in self.samples if s.calls and s.calls.get(name) is not None]
        return statistics.median(values) if values else math.nan

    @property
    def throttled_share(self) -> float:
        calls = sum((s.calls or {}).get("fle_calls", 0) for s in self.samples)
        throttled = sum((s.calls or {}).get("fle_throttled", 0) for s in self.samples)
        return throttled / calls if calls else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "events": self.events,
            "seconds_median": round(self.seconds, 4),
            "events_per_s": round(self.events_per_s, 1),
            "peak_rss_kib": self.peak_rss_kib,
            "cpu_seconds_median": round(self.cpu_seconds, 4),
            "server_cpu_seconds_median": round(self.server_cpu_seconds, 4),
            "other_cpu_seconds_median": round(self.other_cpu_seconds, 4),
            "samples": [
                {
                    "seconds": round(s.seconds, 4),
                    "cpu_seconds": round(s.cpu_seconds, 4),
                    "server_cpu_seconds": round(s.server_cpu_seconds, 4),
                    "other_cpu_seconds": round(s.other_cpu_seconds, 4),
                    "events": s.events,
                    "peak_rss_kib": s.peak_rss_kib,
                    **(
                        {
                            "first_line_s": s.first_line_s and round(s.first_line_s, 4),
                            "proxy_cpu_seconds": round(s.proxy_cpu_seconds, 4),
                            "calls": s.calls,
                        }
                        if s.calls is not None
                        else {}
                    ),
                }
                for s in self.samples
            ],
            "problems": self.problems,
            **(
                {
                    "first_line_s_median": self.first_line_s and round(self.first_line_s, 4),
                    "filter_log_events_median": self.calls_median("fle_calls"),
                    "throttled_median": self.calls_median("fle_throttled"),
                    "throttled_share": round(self.throttled_share, 4),
                    "other_calls_median": self.calls_median("other_calls"),
                    "proxy_cpu_seconds_median": round(self.proxy_cpu_seconds, 4),
                }
                if any(s.calls is not None for s in self.samples)
                else {}
            ),
        }


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        server: Server,
        workdir: Path,
        *,
        proxy: Proxy | None = None,
        launcher: Launcher | None = None,
    ) -> None:
        self.args = args
        self.server = server
        # What the measured tools talk to: moto itself, or the AWS-shaped proxy in front of it.
        # The bench's own reads (the reference) always go to moto directly.
        self.proxy = proxy
        self.endpoint = proxy.url if proxy else server.url
        self.workdir = workdir
        self.env = child_env()
        # A cache dir of the bench's own (a topology cache must not come from, or land in, the
        # user's): kept from run to run, so a cache is warm after the warm-up.
        self.warm_cache = workdir / f"cache-{'aws' if proxy else 'loopback'}"
        self.env["XDG_CACHE_HOME"] = str(self.warm_cache)
        self.client = logs_client(server.url)
        self.launcher = launcher or Launcher()
        self.awslogs: Path | None = None
        self.app: SampleApp | None = None
        self.groups: list[str] = []
        self._n = 0

    def _paths(self, name: str) -> tuple[Path, Path]:
        self._n += 1
        return (
            self.workdir / f"{self._n:03d}-{name}.out",
            self.workdir / f"{self._n:03d}-{name}.err",
        )

    def run(
        self,
        argv: Sequence[str],
        name: str,
        *,
        pipe: bool = False,
        env: dict[str, str] | None = None,
    ) -> ChildResult:
        out, err = self._paths(name)
        return self.launcher.run(
            argv,
            stdout=out,
            stderr=err,
            timeout=self.args.timeout,
            env=self.env | (env or {}),
            pipe=pipe,
        )

    def cold_cache_env(self) -> dict[str, str]:
        """An empty cache dir of its own: a first run on this machine."""
        path = Path(tempfile.mkdtemp(prefix="cache-cold-", dir=self.workdir))
        return {"XDG_CACHE_HOME": str(path)}

    # -- the API's groups, from apilogs itself ------------------------------------------------

    def discover_groups(self) -> list[str]:
        result = self.run(
            [*self.apilogs_argv(), "groups", *self.common_options(), "-o", "json"], "groups"
        )
        if result.exit_code != 0:
            raise RuntimeError(f"apilogs groups failed: {result.stderr_text()}")
        topology = json.loads(result.stdout.read_text())
        groups = [s["log_group"] for s in topology["sources"] if s.get("exists")]
        return list(dict.fromkeys(groups))

    def apilogs_argv(self) -> list[str]:
        return [sys.executable, "-m", "apilogs"]

    def common_options(self) -> list[str]:
        """The endpoint and region, and which API: the sample's REST API and stage."""
        from apilogs.demo.sample import REST_API_ID, REST_STAGE

        return [
            "--endpoint-url",
            self.endpoint,
            "--region",
            REGION,
            "-a",
            REST_API_ID,
            "-t",
            REST_STAGE,
        ]

    def apilogs_get_argv(self, window: Window) -> list[str]:
        """On loopback `--max-rps 0` (no quota to keep); in AWS's shape the user's own command,
        with the default --max-rps (5)."""
        return [
            *self.apilogs_argv(),
            "get",
            *self.common_options(),
            "-s",
            str(window.start_ms),
            "-e",
            str(window.end_ms),
            "-o",
            "json",
            *([] if self.proxy else ["--max-rps", "0"]),
            *self.args.get_arg,
        ]

    def awslogs_argv(self, group: str, window: Window) -> list[str]:
        assert self.awslogs is not None
        return [
            str(self.awslogs),
            "get",
            group,
            "ALL",
            "-s",
            window.iso(window.start_ms),
            "-e",
            window.iso(window.end_ms),
            "--aws-endpoint-url",
            self.endpoint,
            "--aws-region",
            REGION,
            "--color",
            "never",
        ]

    # -- one sample of each ------------------------------------------------------------------

    def cpu_mark(self) -> tuple[float, float, float]:
        proxy = process_cpu_seconds(self.proxy.proc.pid) if self.proxy else 0.0
        return machine_busy_seconds(), process_cpu_seconds(self.server.proc.pid), proxy

    def finish(
        self,
        mark: tuple[float, float, float],
        seconds: float,
        events: int,
        rss: int | None,
        client_cpu: float,
        problems: list[str],
    ) -> Sample:
        machine, server, proxy = (b - a for a, b in zip(mark, self.cpu_mark(), strict=True))
        other = max(0.0, machine - server - proxy - client_cpu)
        sample = Sample(seconds, events, rss, client_cpu, server, other, problems)
        sample.proxy_cpu_seconds = proxy
        return sample

    def sample_bare_inprocess(self, window: Window, ref: Reference) -> Sample:
        mark = self.cpu_mark()
        started, cpu = time.perf_counter(), time.process_time()
        count = bare_loop(self.client, self.groups, window)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        problems = [] if count == ref.events else [f"read {count} events, expected {ref.events}"]
        return self.finish(mark, seconds, count, None, cpu, problems)

    def sample_bare_process(self, window: Window, ref: Reference) -> Sample:
        spec = {
            "url": self.endpoint,
            "groups": self.groups,
            "start_ms": window.start_ms,
            "end_ms": window.end_ms,
            # Through the proxy: boto3's standard retry mode, as a plain boto3 user would set
            # it (it retries throttles, 3 attempts). And a line on stdout at the first page.
            "aws_shaped": self.proxy is not None,
        }
        mark, before = self.cpu_mark(), self.proxy_reset()
        result = self.run(
            [sys.executable, str(Path(__file__).resolve()), "--bare-child", json.dumps(spec)],
            "bare",
            pipe=before,
        )
        sample = self.finish(
            mark, result.seconds, 0, result.peak_rss_kib, result.cpu_seconds, child_problems(result)
        )
        self.proxy_counts(sample, result)
        if result.exit_code == 0:
            last = result.stdout.read_text().splitlines()[-1]
            sample.events = int(json.loads(last)["events"])
            if sample.events != ref.events:
                sample.problems.append(f"read {sample.events} events, expected {ref.events}")
        return sample

    def sample_apilogs(
        self, window: Window, ref: Reference, env: dict[str, str] | None = None
    ) -> Sample:
        mark, pipe = self.cpu_mark(), self.proxy_reset()
        result = self.run(self.apilogs_get_argv(window), "apilogs", pipe=pipe, env=env)
        sample = self.finish(
            mark, result.seconds, 0, result.peak_rss_kib, result.cpu_seconds, child_problems(result)
        )
        self.proxy_counts(sample, result)
        sample.events, problems = check_apilogs_output(result.stdout, ref)
        sample.problems += problems
        if not self.args.keep_output:
            result.stdout.unlink()
        return sample

    def sample_apilogs_cold(self, window: Window, ref: Reference) -> Sample:
        return self.sample_apilogs(window, ref, self.cold_cache_env())

    def proxy_reset(self) -> bool:
        """Through the proxy: zero its counters, fill its bucket (an account idle until now).
        True when there is a proxy: the run's stdout then goes through a pipe (first byte)."""
        if self.proxy is None:
            return False
        self.proxy.reset()
        return True

    def proxy_counts(self, sample: Sample, result: ChildResult) -> None:
        if self.proxy is None:
            return
        sample.first_line_s = result.first_byte_seconds
        sample.calls = summarize_calls(self.proxy.stats(), result.spawned_at)
        if sample.calls["pages_cut"]:
            # Not apilogs's doing: the embedded server no longer cuts at 1 MiB. The proxy did.
            log(
                f"    note: the proxy cut {sample.calls['pages_cut']} FilterLogEvents pages of "
                "over 1 MiB that moto sent (apilogs.demo.server should cut them)"
            )

    def sample_awslogs(self, window: Window, ref: Reference) -> Sample:
        """One process per group, one after the other: times and CPU add up, RSS is the max."""
        total: Sample | None = None
        lines = 0
        for group in self.groups:
            mark, pipe = self.cpu_mark(), self.proxy_reset()
            result = self.run(self.awslogs_argv(group, window), "awslogs", pipe=pipe)
            one = self.finish(
                mark,
                result.seconds,
                0,
                result.peak_rss_kib,
                result.cpu_seconds,
                [f"{group}: {p}" for p in child_problems(result)],
            )
            self.proxy_counts(one, result)
            got = count_lines(result.stdout)
            lines += got
            if got != ref.awslogs_lines[group]:
                one.problems.append(
                    f"{group}: {got} lines, expected {ref.awslogs_lines[group]} "
                    f"({ref.per_group[group]} events)"
                )
            if not self.args.keep_output:
                result.stdout.unlink()
            total = one if total is None else total.add(one)
        assert total is not None
        # Lines are not events (a message may hold newlines); when they all match, it read them all.
        total.events = lines if any("lines, expected" in p for p in total.problems) else ref.events
        return total


def child_problems(result: ChildResult) -> list[str]:
    problems = []
    if result.timed_out:
        problems.append(f"killed after the {result.seconds:.0f} s timeout")
    if result.exit_code != 0:
        problems.append(f"exit code {result.exit_code}")
    text = result.stderr_text().strip()
    if text:
        problems.append("stderr: " + " | ".join(text.splitlines()[:5]))
    return problems


def count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def check_apilogs_output(path: Path, ref: Reference) -> tuple[int, list[str]]:
    """Exactly once, in time order: every (group, stream, event_id) of the reference, no other."""
    seen: set[tuple[str, str, str]] = set()
    count = duplicates = disorder = bad = 0
    last_ts = -math.inf
    with path.open("rb") as f:
        for line in f:
            try:
                obj = json.loads(line)
                key = (obj["group"], obj["stream"], str(obj["event_id"]))
                ts = int(obj["timestamp"])
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            count += 1
            if key in seen:
                duplicates += 1
            seen.add(key)
            if ts < last_ts:
                disorder += 1
            last_ts = max(last_ts, ts)
    problems = []
    missing = len(ref.keys - seen)
    unexpected = len(seen - ref.keys)
    for n, what in (
        (missing, "missing"),
        (duplicates, "duplicated"),
        (unexpected, "unexpected"),
        (disorder, "out of time order"),
        (bad, "unreadable JSON lines"),
    ):
        if n:
            problems.append(
                f"{n} events {what}" if what != "unreadable JSON lines" else f"{n} {what}"
            )
    return count, problems


# --------------------------------------------------------------------------------------------
# awslogs in its own venv


def ensure_awslogs(venv: Path, timeout: float) -> tuple[Path | None, str]:
    exe = venv / "bin" / "awslogs"
    python = venv / "bin" / "python"

    def installed_version() -> str | None:
        if not python.exists():
            return None
        probe = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('awslogs'))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return probe.stdout.strip() if probe.returncode == 0 else None

    if exe.exists() and installed_version() == AWSLOGS_VERSION:
        return exe, f"awslogs {AWSLOGS_VERSION} in {venv}"
    base = shutil.which("python3") or sys.executable
    log(f"installing awslogs=={AWSLOGS_VERSION} into {venv}")
    try:
        if not python.exists():
            subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=timeout)
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"awslogs=={AWSLOGS_VERSION}"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not install awslogs {AWSLOGS_VERSION}: {exc}"
    if pip.returncode != 0 or installed_version() != AWSLOGS_VERSION or not exe.exists():
        tail = (pip.stderr or pip.stdout).strip().splitlines()[-3:]
        return None, f"could not install awslogs {AWSLOGS_VERSION}: {' | '.join(tail)}"
    return exe, f"awslogs {AWSLOGS_VERSION} in {venv}"


# --------------------------------------------------------------------------------------------
# AWS's shape: the same tools through tests/awsproxy.py (round trip, per-MB time, 1 MiB pages,
# the account's FilterLogEvents quota)

REPO_DIR = BENCH_DIR.parent
FILTER_LOG_EVENTS = "logs:FilterLogEvents"
EVENTS_PER_REQUEST = 31  # the sample's traffic logs about 31 events per API request


def _awsproxy() -> Any:
    """The proxy's module, tests/awsproxy.py (the bench uses its control helpers)."""
    if str(REPO_DIR) not in sys.path:
        sys.path.insert(0, str(REPO_DIR))
    import tests.awsproxy as module

    return module


@dataclass
class Proxy:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def reset(self) -> None:
        _awsproxy().proxy_reset(self.url)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = _awsproxy().proxy_stats(self.url, with_calls=True)
        return result


def start_proxy(upstream: str, args: argparse.Namespace, workdir: Path, lifetime: float) -> Proxy:
    """The proxy in a process of its own: its sleeps and JSON checks share no GIL with anyone."""
    log_path = workdir / "awsproxy.log"
    argv = [
        sys.executable,
        str(REPO_DIR / "tests" / "awsproxy.py"),
        "--upstream",
        upstream,
        "--rtt-ms",
        str(args.rtt_ms),
        "--per-mb-ms",
        str(args.per_mb_ms),
        "--quota-rps",
        str(args.quota_rps),
        "--quota-burst",
        str(args.quota_burst),
        "--lifetime",
        str(lifetime),
    ]
    with log_path.open("wb") as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=child_env()
        )
    _LIVE[proc.pid] = proc
    return Proxy(announced_url(proc, log_path, 60.0, "the AWS-shaped proxy"), proc, log_path)


def max_in_flight(calls: Sequence[dict[str, Any]]) -> int:
    """The most calls the proxy held at once (a call is in flight from receipt to answer)."""
    edges = sorted(
        [(c["received"], 1) for c in calls] + [(c["answered"], -1) for c in calls],
        key=lambda e: (e[0], e[1]),
    )
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def summarize_calls(stats: dict[str, Any], spawned_at: float) -> dict[str, Any]:
    """One run's calls, from the proxy's log: reads, throttles, and what came before the first
    read (discovery), with times relative to the process' spawn."""
    log_ = stats.get("log") or []
    reads = [c for c in log_ if c["operation"] == FILTER_LOG_EVENTS]
    others = [c for c in log_ if c["operation"] != FILTER_LOG_EVENTS]
    first_read = min((c["received"] for c in reads), default=None)
    before = [c for c in log_ if first_read is None or c["received"] < first_read]
    return {
        "total_calls": len(log_),
        "fle_calls": len(reads),
        "fle_throttled": sum(1 for c in reads if c["throttled"]),
        "fle_pages": sum(1 for c in reads if c["status"] == 200),
        "other_calls": len(others),
        "by_operation": dict(sorted(Counter(c["operation"] for c in log_).items())),
        "throttled_by_operation": dict(
            sorted(Counter(c["operation"] for c in log_ if c["throttled"]).items())
        ),
        "bytes": sum(int(c["response_bytes"]) for c in log_),
        "first_read_s": round(first_read - spawned_at, 4) if first_read is not None else None,
        "calls_before_first_read": len(before),
        "discovery_in_flight": max_in_flight(others),
        "discovery_span_s": round(
            max(c["answered"] for c in others) - min(c["received"] for c in others), 4
        )
        if others
        else 0.0,
        "largest_page_bytes": int(stats.get("largest_page_bytes", 0)),
        "pages_cut": int(stats.get("pages_cut", 0)),
        "connections": int(stats.get("connections", 0)),
        # Every call: [received, answered] in seconds after the spawn, operation, HTTP status
        # (400 with a throttle), bytes, and for a read: events (None if throttled), group,
        # startTime, endTime, whether it carried a nextToken. When discovery and reads went out, how they queued.
        "timeline": [
            [
                round(c["received"] - spawned_at, 4),
                round(c["answered"] - spawned_at, 4),
                c["operation"],
                c["status"],
                c["response_bytes"],
                *([c["events"], *c["request"].values()] if c.get("request") is not None else []),
            ]
            for c in sorted(log_, key=lambda c: c["received"])
        ],
    }


def add_calls(
    a: dict[str, Any] | None, b: dict[str, Any] | None, offset: float
) -> dict[str, Any] | None:
    """Two runs one after the other (awslogs); `offset`: how long after the first began the
    second did."""
    if a is None or b is None:
        return a or b
    out = dict(a)
    for key in (
        "total_calls",
        "fle_calls",
        "fle_throttled",
        "fle_pages",
        "other_calls",
        "bytes",
        "pages_cut",
        "connections",
        "discovery_span_s",
    ):
        out[key] = a.get(key, 0) + b.get(key, 0)
    for key in ("by_operation", "throttled_by_operation"):
        merged: Counter[str] = Counter(a.get(key) or {})
        merged.update(b.get(key) or {})
        out[key] = dict(sorted(merged.items()))
    for key in ("largest_page_bytes", "discovery_in_flight"):
        out[key] = max(a.get(key, 0), b.get(key, 0))
    out["timeline"] = (a.get("timeline") or []) + [
        [t0 + offset, t1 + offset, *rest] for t0, t1, *rest in b.get("timeline") or []
    ]
    if a.get("first_read_s") is None and b.get("first_read_s") is not None:
        out["first_read_s"] = round(offset + b["first_read_s"], 4)
        out["calls_before_first_read"] = a["total_calls"] + b["calls_before_first_read"]
    return out


def load_hour(app: SampleApp, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """About --aws-events events of steady traffic over the last --aws-span seconds."""
    import boto3

    from apilogs.demo.writer import LogWriter, backfill

    writer = LogWriter.connect(boto3.Session(), url, REGION)
    # A request logs for up to a minute after it starts: every line must be in the past.
    end_ms = int(time.time() * 1000) - 61_000
    start_ms = end_ms - int(args.aws_span * 1000)
    rps = args.aws_events / EVENTS_PER_REQUEST / args.aws_span
    started = time.perf_counter()
    written = backfill(app, writer, start_ms, end_ms, rps, seed=args.seed)
    seconds = time.perf_counter() - started
    return {
        "events_loaded": written,
        "events_total": written,
        "rejected": writer.events_rejected,
        "seconds": round(seconds, 3),
        "events_per_s": round(written / seconds, 1) if seconds else 0.0,
        "span_s": args.aws_span,
        "requests_per_s": round(rps, 4),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of them at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure_follow(bench: Bench, interval: float | None) -> dict[str, Any]:
    """`apilogs get --watch` through the proxy while live traffic is written to moto directly.

    Latency = when a line reached our end of apilogs's stdout pipe - the event's ingestion time
    (set by the server when PutLogEvents stored it). Only events ingested in the steady state
    count: from --follow-warmup seconds after the spawn (or the first line, if later) until
    FOLLOW_MARGIN_S before the stop; any of those never printed is missing."""
    import boto3

    from apilogs.demo.writer import LiveTraffic, LogWriter

    args = bench.args
    assert bench.app is not None and bench.proxy is not None
    writer = LogWriter.connect(boto3.Session(), bench.server.url, REGION)
    live = LiveTraffic(bench.app, writer, rps=args.follow_rps, seed=args.seed + 7, tick_s=0.25)
    live.start()
    time.sleep(1.0)  # the writer is in its stride before apilogs starts
    bench.proxy.reset()
    since_ms = int(time.time() * 1000)
    argv = [
        *bench.apilogs_argv(),
        "get",
        *bench.common_options(),
        "--watch",
        "-s",
        str(since_ms),
        "-o",
        "json",
        *(["--watch-interval", str(interval)] if interval is not None else []),
        *args.get_arg,
    ]
    _, err_path = bench._paths("follow")
    lines: list[tuple[float, bytes]] = []
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=bench.env
        )
    spawned = time.time()
    _LIVE[proc.pid] = proc
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
    proc.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it
    usage = None
    deadline = time.monotonic() + 10
    while usage is None:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            usage, proc.returncode = rusage, os.waitstatus_to_exitcode(status)
        elif time.monotonic() > deadline:
            proc.kill()
            deadline = math.inf
        else:
            time.sleep(0.05)
    _LIVE.pop(proc.pid, None)
    reader.join(5)
    proc.stdout.close()
    live.stop()
    stats = bench.proxy.stats()
    calls = summarize_calls(stats, spawned)
    if live.error:
        raise RuntimeError(f"the follow writer failed: {live.error}")

    # What the groups hold since `since_ms`, and when each event was ingested.
    window = Window(since_ms, int(time.time() * 1000))
    ingested: dict[tuple[str, str, str], int] = {}
    for group in bench.groups:
        for page in pages(bench.client, group, window):
            for e in page.get("events", ()):
                ingested[(group, e["logStreamName"], str(e["eventId"]))] = int(e["ingestionTime"])
    printed: dict[tuple[str, str, str], float] = {}
    what: dict[tuple[str, str, str], str] = {}  # the line's source and kind, as printed
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
        what[key] = f"{obj.get('source')} {obj.get('kind')}" + (
            " (late)" if obj.get("late") else ""
        )
        unexpected += key not in ingested
    first_line = lines[0][0] if lines else math.inf
    steady_from = max(spawned + args.follow_warmup, first_line)
    steady_until = stopped - FOLLOW_MARGIN_S
    population = {
        k: t / 1000 for k, t in ingested.items() if steady_from <= t / 1000 <= steady_until
    }
    latencies = [printed[k] - t for k, t in population.items() if k in printed]
    slow = Counter(
        what[k]
        for k, t in population.items()
        if k in printed and printed[k] - t > TARGET_FOLLOW_LATENCY_S
    )
    missing = len(population) - len(latencies)
    problems = []
    if proc.returncode not in (0, 130, -signal.SIGINT):
        problems.append(f"exit code {proc.returncode}")
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
        "events_printed": len(printed),
        "events_measured": len(latencies),
        "first_line_s": round(first_line - spawned, 3) if lines else None,
        "latency_s": {
            "p50": round(percentile(latencies, 0.5), 3),
            "p90": round(percentile(latencies, 0.9), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "max": round(max(latencies), 3) if latencies else math.nan,
            "over_2s": sum(1 for x in latencies if x > TARGET_FOLLOW_LATENCY_S),
            # Which lines: "source kind", "(late)" when marked so.
            "over_2s_lines": dict(slow.most_common()),
            "min": round(min(latencies), 3) if latencies else math.nan,
        },
        "missing": missing,
        "late_flagged": late,
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


# Events ingested this close to the stop may still be on their way: not counted as missing.
FOLLOW_MARGIN_S = 8.0


def run_aws_shaped(
    args: argparse.Namespace, workdir: Path, launcher: Launcher, awslogs: Path | None
) -> dict[str, Any]:
    """Everything in AWS's shape, on a moto server of its own (no loopback data in it)."""
    import boto3

    from apilogs.demo.sample import deploy_sample

    lifetime = 3600 + args.timeout * (4 * args.aws_repeat + 10)
    server = start_server(workdir, lifetime, name="moto-server-aws")
    proxy = start_proxy(server.url, args, workdir, lifetime)
    log(
        f"AWS-shaped: moto at {server.url} (pid {server.proc.pid}), proxy at {proxy.url} "
        f"(pid {proxy.proc.pid}): {args.rtt_ms:g} ms round trip, {args.per_mb_ms:g} ms/MiB, "
        f"FilterLogEvents quota {args.quota_rps:g}/s (burst {args.quota_burst:g})"
    )
    bench = Bench(args, server, workdir, proxy=proxy, launcher=launcher)
    bench.awslogs = awslogs
    bench.app = deploy_sample(boto3.Session(), server.url, REGION)
    log(f"  loading about {args.aws_events:,} events over {args.aws_span:g} s")
    loaded = load_hour(bench.app, server.url, args)
    log(f"  {loaded['events_loaded']:,} events in {loaded['seconds']} s")
    bench.groups = bench.discover_groups()
    window = window_for(bench.client, bench.groups, int(time.time()) * 1000)
    ref = read_reference(bench.client, bench.groups, window)
    log(
        f"  window {window.iso(window.start_ms)} .. {window.iso(window.end_ms)}: "
        f"{ref.events:,} events in {len(bench.groups)} groups"
    )
    # Warm-up, untimed: moto and the OS caches; the warm cache dir gets what apilogs keeps.
    log("  warm-up: one run of each, untimed")
    bench.sample_bare_process(window, ref)
    bench.sample_apilogs(window, ref)
    if awslogs:
        small = Window(max(window.start_ms, window.end_ms - 90_000), window.end_ms)
        bench.run(bench.awslogs_argv(bench.groups[0], small), "warmup-awslogs-aws")

    which = [
        ("a_process", "(a) bare boto3 loop, groups in turn"),
        ("b_cold", "(b) apilogs get -o json, cache cold"),
        ("b", "(b) apilogs get -o json, cache warm"),
    ]
    if awslogs:
        which.append(("c", f"(c) awslogs {AWSLOGS_VERSION}, groups in turn"))
    log(f"  measuring in AWS's shape ({args.aws_repeat} runs each, round-robin)")
    rows = measure_round_robin(bench, window, ref, which, suffix="_aws", repeat=args.aws_repeat)

    follow: list[dict[str, Any]] = []
    if not args.no_follow:
        for interval in (None, 0.5):
            wait_quiet(args.quiet_wait)
            label = "default interval" if interval is None else f"--watch-interval {interval}"
            log(f"  follow: apilogs get --watch, {label}, {args.follow_seconds:g} s")
            result = measure_follow(bench, interval)
            lat = result["latency_s"]
            log(
                f"    {result['events_measured']:,} events: p50 {lat['p50']} s, p90 {lat['p90']} "
                f"s, max {lat['max']} s; {result['reads']} reads, {result['throttled']} throttled"
                + ("" if not result["problems"] else f"  !! {'; '.join(result['problems'])}")
            )
            follow.append(result)
    stop_process(proxy.proc)
    stop_process(server.proc)
    a = rows["a_process"]
    pages_needed = a.calls_median("fle_pages")
    return {
        "shape": {
            "rtt_ms": args.rtt_ms,
            "per_mb_ms": args.per_mb_ms,
            "quota_rps": args.quota_rps,
            "quota_burst": args.quota_burst,
        },
        "rows": rows,
        "load": loaded,
        "groups": bench.groups,
        "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
        "events_in_window": ref.events,
        "events_per_group": ref.per_group,
        "pages_needed": pages_needed,
        "quota_floor_s": pages_needed / args.quota_rps if args.quota_rps else 0.0,
        "follow": follow,
    }


# --------------------------------------------------------------------------------------------
# Report


def fmt_rss(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_table(rows: list[Measurement], loads: list[dict[str, Any]]) -> None:
    print()
    print("Loading (boto3 PutLogEvents into moto, from this process)")
    for load in loads:
        print(
            f"  {load['events_loaded']:>9,} events in {load['seconds']:7.2f} s"
            f"  ({load['events_per_s']:,.0f} events/s); store now {load['events_total']:,}"
        )
    print()
    header = (
        f"{'measurement':<46} {'events':>9} {'seconds':>8} {'events/s':>9} {'peak RSS':>10}"
        f" {'CPU s':>6} {'moto s':>6} {'other s':>7}"
    )
    print(header)
    print("-" * len(header))
    for m in rows:
        print(
            f"{m.label:<46} {m.events:>9,} {m.seconds:>8.3f} {m.events_per_s:>9,.0f}"
            f" {fmt_rss(m.peak_rss_kib):>10} {m.cpu_seconds:>6.2f} {m.server_cpu_seconds:>6.2f}"
            f" {m.other_cpu_seconds:>7.2f}"
        )
        if m.other_cpu_seconds > 0.1 * m.seconds:
            print(f"    ~ noisy: other processes used {m.other_cpu_seconds:.2f} CPU s meanwhile")
        for problem in m.problems:
            print(f"    ! {problem}")


def print_ratios(ratios: list[dict[str, Any]]) -> None:
    print()
    for r in ratios:
        target = f"target {r['target']}" if r.get("target") else "(information)"
        status = r.get("status", "")
        print(f"  {r['name']:<58} {r['value']:>7.2f}  {target:<16} {status}")
    print()


def fmt_s(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def print_aws(aws: dict[str, Any]) -> None:
    shape, rows = aws["shape"], aws["rows"]
    load_ = aws["load"]
    print(
        f"\n== In AWS's shape (tests/awsproxy.py: {shape['rtt_ms']:g} ms round trip on every "
        f"call, {shape['per_mb_ms']:g} ms per MiB of FilterLogEvents answer, 1 MiB pages, "
        f"FilterLogEvents quota {shape['quota_rps']:g}/s, burst {shape['quota_burst']:g}) =="
    )
    print(
        f"{len(aws['groups'])} groups, {aws['events_in_window']:,} events over "
        f"{load_['span_s'] / 3600:.2g} h (loaded in {load_['seconds']:.1f} s); medians of "
        f"{len(next(iter(rows.values())).samples)} runs; first = first byte on stdout after "
        "spawn ((a): its first page)"
    )
    header = (
        f"{'measurement':<40} {'first':>6} {'total':>7} {'reads':>5} {'throttled':>11}"
        f" {'other':>5} {'floor':>6} {'CPU s':>6} {'peak RSS':>9} {'moto s':>6} {'proxy s':>7}"
    )
    print(header)
    print("-" * len(header))
    rate = shape["quota_rps"]
    for m in rows.values():
        reads, throttled = m.calls_median("fle_calls"), m.calls_median("fle_throttled")
        pages_ = m.calls_median("fle_pages")
        floor = pages_ / rate if rate else 0.0
        print(
            f"{m.label:<40} {fmt_s(m.first_line_s):>6} {m.seconds:>7.3f} {reads:>5.0f}"
            f" {throttled:>4.0f} ({100 * m.throttled_share:>3.0f} %) {m.calls_median('other_calls'):>5.0f}"
            f" {floor:>6.2f} {m.cpu_seconds:>6.2f} {fmt_rss(m.peak_rss_kib):>9}"
            f" {m.server_cpu_seconds:>6.2f} {m.proxy_cpu_seconds:>7.2f}"
        )
        if m.other_cpu_seconds > 0.1 * m.seconds:
            print(f"    ~ noisy: other processes used {m.other_cpu_seconds:.2f} CPU s meanwhile")
        if m.server_cpu_seconds > 0.8 * m.seconds:
            print("    ~ moto-bound: the emulator's CPU was busy most of the run")
        for problem in m.problems:
            print(f"    ! {problem}")
    print(
        f"quota floor: {aws['pages_needed']:.0f} FilterLogEvents pages (the bare loop's) ÷ "
        f"{rate:g}/s = {aws['quota_floor_s']:.2f} s  (column 'floor': each row's own pages ÷ "
        f"{rate:g}/s)"
    )
    for key in ("b_cold", "b"):
        m = rows.get(key)
        calls = m.samples[len(m.samples) // 2].calls if m and m.samples else None
        if not calls:
            continue
        ops = ", ".join(
            f"{op.split(':', 1)[1]} {n}"
            for op, n in calls["by_operation"].items()
            if op != FILTER_LOG_EVENTS
        )
        print(
            f"{m.label}: first FilterLogEvents {fmt_s(calls['first_read_s'])} s after spawn, "
            f"after {calls['calls_before_first_read']} other calls; discovery "
            f"{calls['other_calls']} calls over {calls['discovery_span_s']:.2f} s, at most "
            f"{calls['discovery_in_flight']} in flight: {ops}"
        )
    largest = max(
        (s.calls or {}).get("largest_page_bytes", 0) for m in rows.values() for s in m.samples
    )
    print(f"largest FilterLogEvents page served: {largest:,} bytes (limit 1,048,576)")
    if aws["follow"]:
        print()
        print("follow: apilogs get --watch -o json through the proxy, live traffic written to moto")
        header = (
            f"{'':<24} {'events':>6} {'p50 s':>6} {'p90 s':>6} {'p99 s':>6} {'max s':>6}"
            f" {'missing':>7} {'reads/s':>7} {'throttled':>11} {'CPU s':>6}"
        )
        print(header)
        print("-" * len(header))
        for f in aws["follow"]:
            lat = f["latency_s"]
            print(
                f"{f['label']:<24} {f['events_measured']:>6} {lat['p50']:>6.2f} {lat['p90']:>6.2f}"
                f" {lat['p99']:>6.2f} {lat['max']:>6.2f} {f['missing']:>7} {f['reads_per_s']:>7.2f}"
                f" {f['throttled']:>4} ({100 * f['throttled_share']:>3.0f} %) {f['cpu_seconds']:>6.2f}"
            )
            over = lat.get("over_2s")
            if over:
                which = ", ".join(f"{k} {n}" for k, n in lat.get("over_2s_lines", {}).items())
                print(
                    f"    {over} of {f['events_measured']} lines over {TARGET_FOLLOW_LATENCY_S:g} s:"
                    f" {which}"
                )
            for problem in f["problems"]:
                print(f"    ! {problem}")
        f0 = aws["follow"][0]
        print(
            f"  {f0['seconds']:.0f} s each, {f0['events_written']:,} events written; latency = "
            "line on apilogs's stdout - the event's ingestion time, for events ingested from "
            f"the first line (or {f0['warmup_s']:g} s) on until {FOLLOW_MARGIN_S:g} s "
            "before the stop"
        )


FOLLOW_WARMUP_DEFAULT = 5.0


def target(name: str, value: float | None, op: str, limit: float, note: str = "") -> dict[str, Any]:
    """One of issue 13's targets: a ratio, its limit, PASS/FAIL (or not measured)."""
    shown = f"{op} {100 * limit:g} %" if "share" in name else f"{op} {limit:g}"
    if value is None or math.isnan(value):
        return {"name": name, "value": None, "target": shown, "status": "not measured"}
    ok = value >= limit if op == ">=" else value <= limit
    result = {"name": name, "value": round(value, 4), "target": shown}
    result["status"] = verdict(ok)
    if note:
        result["note"] = note
    return result


def issue_targets(
    loopback: dict[str, Any] | None, aws: dict[str, Any] | None, args: argparse.Namespace
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rows = aws["rows"] if aws else {}
    a = rows.get("a_process")

    def ratio(x: float | None, y: float | None) -> float | None:
        return x / y if x is not None and y else None

    for key, cache in (("b_cold", "cold"), ("b", "warm")):
        b = rows.get(key)
        out.append(
            target(
                f"AWS: get total speed vs bare loop ((a) s / (b {cache}) s)",
                ratio(a.seconds, b.seconds) if a and b else None,
                ">=",
                TARGET_SPEED_OVER_BARE,
            )
        )
    for key, cache in (("b_cold", "cold"), ("b", "warm")):
        b, c = rows.get(key), rows.get("c")
        out.append(
            target(
                f"AWS: get total speed vs awslogs ((c) s / (b {cache}) s)",
                ratio(c.seconds, b.seconds) if b and c else None,
                ">=",
                TARGET_SPEED_OVER_AWSLOGS,
            )
        )
    for key, cache, limit in (
        ("b", "warm", TARGET_FIRST_LINE_WARM),
        ("b_cold", "cold", TARGET_FIRST_LINE_COLD),
    ):
        b = rows.get(key)
        out.append(
            target(
                f"AWS: first line, cache {cache} / (a)'s first page",
                ratio(b.first_line_s, a.first_line_s) if a and b else None,
                "<=",
                limit,
            )
        )
    for key, cache in (("b_cold", "cold"), ("b", "warm")):
        b = rows.get(key)
        out.append(
            target(
                f"AWS: (b {cache}) throttled share of FilterLogEvents calls",
                b.throttled_share if b else None,
                "<=",
                TARGET_THROTTLED_SHARE,
            )
        )
    at_n = loopback["at_n"] if loopback else {}
    b_lo, a_lo = at_n.get("b"), at_n.get("a_process")
    out.append(
        target(
            "loopback: client CPU (b) / (a') (whole processes)",
            ratio(b_lo.cpu_seconds, a_lo.cpu_seconds) if b_lo and a_lo else None,
            "<=",
            TARGET_LOOPBACK_CPU,
        )
    )
    scale = loopback["scale"] if loopback else None
    out.append(
        target(
            f"loopback: peak RSS @ {args.scale_events:,} / @ {args.events:,} events"
            + ("" if scale else " (--scale-check)"),
            scale["growth"] if scale else None,
            "<=",
            TARGET_RSS_GROWTH,
        )
    )
    follow = {f["interval_s"]: f for f in aws["follow"]} if aws else {}
    for interval, label in ((None, "default interval"), (0.5, "--watch-interval 0.5")):
        f = follow.get(interval)
        out.append(
            target(
                f"AWS: follow latency, max, {label} (s)",
                f["latency_s"]["max"] if f else None,
                "<=",
                TARGET_FOLLOW_LATENCY_S,
            )
        )
    slow, fast = follow.get(None), follow.get(0.5)
    out.append(
        target(
            "AWS: follow p90 at --watch-interval 0.5 / at default",
            ratio(fast["latency_s"]["p90"], slow["latency_s"]["p90"]) if slow and fast else None,
            "<=",
            1.0,
        )
    )
    return out


def print_targets(targets: list[dict[str, Any]]) -> None:
    print("\n== Issue 13's targets ==")
    for t in targets:
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        if t["value"] is not None and "share" in t["name"]:
            value = f"{100 * t['value']:.1f} %"
        print(f"  {t['name']:<62} {value:>7}  target {t['target']:<8} {t['status']}")
    print()


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark apilogs get against a bare boto3 loop and awslogs 0.15, on moto.",
    )
    p.add_argument("--events", type=int, default=100_000, help="events to load (default 100000)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each measurement (median)")
    p.add_argument("--seed", type=int, default=0, help="traffic generator seed")
    p.add_argument(
        "--scale-check",
        action="store_true",
        help="then grow the store to --scale-events and measure (a) and (b) again (peak RSS)",
    )
    p.add_argument(
        "--scale-events", type=int, default=None, help="store size of the scale check (10 x N)"
    )
    p.add_argument(
        "--scale-repeat",
        type=int,
        default=1,
        help="timed runs at the larger size (moto reads a big store slowly; default 1)",
    )
    p.add_argument(
        "--no-awslogs", action="store_true", help="skip (c) (awslogs 0.15 in its own venv)"
    )
    p.add_argument("--awslogs-venv", type=Path, default=BENCH_DIR / ".venv-awslogs")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds any one process may take")
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="where the JSON results go (default bench/results-YYYYmmdd-HHMMSS.json)",
    )
    aws = p.add_argument_group("in AWS's shape (through tests/awsproxy.py)")
    aws.add_argument(
        "--aws-shaped",
        action="store_true",
        help="also measure (a), (b) and (c) through the AWS-shaped proxy, and follow latency",
    )
    aws.add_argument(
        "--skip-loopback",
        action="store_true",
        help="only the AWS-shaped part (while developing: the loopback targets go unmeasured)",
    )
    aws.add_argument(
        "--aws-events", type=int, default=50_000, help="events over --aws-span (default 50000)"
    )
    aws.add_argument(
        "--aws-span", type=float, default=3600.0, help="seconds the events span (default 3600)"
    )
    aws.add_argument("--aws-repeat", type=int, default=3, help="timed runs of each (median)")
    aws.add_argument("--rtt-ms", type=float, default=40.0, help="round trip of every call (40)")
    aws.add_argument(
        "--per-mb-ms", type=float, default=250.0, help="per MiB of FilterLogEvents answer (250)"
    )
    aws.add_argument(
        "--quota-rps", type=float, default=5.0, help="FilterLogEvents account quota, calls/s (5)"
    )
    aws.add_argument(
        "--quota-burst", type=float, default=5.0, help="calls the quota's bucket saves up (5)"
    )
    aws.add_argument("--no-follow", action="store_true", help="skip the follow-latency runs")
    aws.add_argument(
        "--follow-seconds", type=float, default=30.0, help="length of each follow run (30)"
    )
    aws.add_argument(
        "--follow-rps",
        type=float,
        default=2.0,
        help="API requests/s of live traffic while following (2, about 60 events/s)",
    )
    aws.add_argument(
        "--follow-warmup",
        type=float,
        default=FOLLOW_WARMUP_DEFAULT,
        help="seconds after the spawn before latencies count (5)",
    )
    p.add_argument(
        "--keep-output", action="store_true", help="keep the measured processes' stdout files"
    )
    p.add_argument(
        "--workdir", type=Path, default=None, help="where outputs go (default: a tmp dir)"
    )
    p.add_argument(
        "--get-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for every measured `apilogs get`, --watch too (repeatable), e.g. "
        "--get-arg=--no-hold-back to measure without each line's request ID",
    )
    p.add_argument(
        "--cprofile",
        type=Path,
        default=None,
        metavar="PATH",
        help="also run (b) once under cProfile, write the profile to PATH, print the top",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="before each round, wait up to this long for other processes to leave the CPUs",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--bare-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.events < 1000:
        p.error("--events: at least 1000")
    if args.repeat < 1:
        p.error("--repeat: at least 1")
    if args.scale_events is None:
        args.scale_events = 10 * args.events
    if args.scale_check and args.scale_events <= args.events:
        p.error("--scale-events must be larger than --events")
    if args.skip_loopback and not args.aws_shaped:
        p.error("--skip-loopback leaves nothing to do without --aws-shaped")
    if args.skip_loopback and (args.scale_check or args.cprofile):
        p.error("--scale-check and --cprofile measure on loopback: drop --skip-loopback")
    if args.aws_repeat < 1:
        p.error("--aws-repeat: at least 1")
    if args.follow_seconds < args.follow_warmup + FOLLOW_MARGIN_S + 5:
        p.error(
            f"--follow-seconds: at least --follow-warmup + {FOLLOW_MARGIN_S + 5:g} "
            "(the steady state must last)"
        )
    if args.results is None:
        args.results = BENCH_DIR / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    return args


def load(bench: Bench, n: int, seed: int, end_ms: int | None) -> dict[str, Any]:
    import boto3

    from apilogs.demo.writer import LogWriter, load_bulk

    assert bench.app is not None
    writer = LogWriter.connect(boto3.Session(), bench.server.url, REGION)
    started = time.perf_counter()
    written = load_bulk(bench.app, writer, n, seed, end_ms=end_ms)
    seconds = time.perf_counter() - started
    if writer.events_rejected:
        log(f"  {writer.events_rejected} events were rejected by PutLogEvents")
    return {
        "events_loaded": written,
        "rejected": writer.events_rejected,
        "seconds": round(seconds, 3),
        "events_per_s": round(written / seconds, 1) if seconds else 0.0,
    }


def wait_quiet(limit_s: float, busy_cores: float = 0.25) -> float:
    """Wait (at most `limit_s`) until the rest of the machine uses under `busy_cores` cores:
    this is a shared 2-core box, and someone else's test run skews every figure."""
    deadline = time.monotonic() + limit_s
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy < busy_cores or time.monotonic() >= deadline:
            if busy >= busy_cores:
                log(f"  the machine is still busy ({busy:.2f} cores in use by others): measuring")
            return busy
        log(f"  waiting for a quiet machine ({busy:.2f} cores in use by others)")
        time.sleep(4.0)


def measure_round_robin(
    bench: Bench,
    window: Window,
    ref: Reference,
    which: list[tuple[str, str]],
    suffix: str = "",
    repeat: int | None = None,
) -> dict[str, Measurement]:
    methods = {
        "a": bench.sample_bare_inprocess,
        "a_process": bench.sample_bare_process,
        "b": bench.sample_apilogs,
        "b_cold": bench.sample_apilogs_cold,
        "c": bench.sample_awslogs,
    }
    results = {key: Measurement(key + suffix, label) for key, label in which}
    repeat = repeat or bench.args.repeat
    for i in range(repeat):
        wait_quiet(bench.args.quiet_wait)
        for key, _ in which:
            log(f"  run {i + 1}/{repeat}: {results[key].label}")
            sample = methods[key](window, ref)
            calls = sample.calls
            log(
                f"    {sample.events:,} events in {sample.seconds:.3f} s"
                + (f", first line {sample.first_line_s:.3f} s" if sample.first_line_s else "")
                + (f", peak RSS {fmt_rss(sample.peak_rss_kib)}" if sample.peak_rss_kib else "")
                + (
                    f", {calls['fle_calls']} reads ({calls['fle_throttled']} throttled)"
                    f" + {calls['other_calls']} other calls"
                    if calls
                    else ""
                )
                + ("" if not sample.problems else f"  !! {'; '.join(sample.problems)}")
            )
            results[key].samples.append(sample)
    return results


def profile_apilogs(bench: Bench, window: Window, path: Path) -> str:
    import cProfile  # noqa: F401  (the child uses it; import here to fail early if absent)
    import io
    import pstats

    argv = bench.apilogs_get_argv(window)
    argv = [argv[0], "-m", "cProfile", "-o", str(path.resolve()), *argv[1:]]
    result = bench.run(argv, "apilogs-cprofile")
    if result.exit_code != 0 or not path.exists():
        return f"cProfile run failed: {result.stderr_text()}"
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)
    return f"cProfile run: {result.seconds:.3f} s wall (with profiling overhead)\n" + out.getvalue()


def apilogs_state() -> dict[str, Any]:
    """Which apilogs was measured: the commit, files changed since, and a digest of the package's
    sources (others may edit the tree during a run: a digest that changes flags it)."""
    import hashlib

    import apilogs

    package = Path(apilogs.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    state: dict[str, Any] = {"source_sha256": digest.hexdigest()[:16]}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(package.parent)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", package.name], capture_output=True, text=True
        )
        if head.returncode == 0:
            state["commit"] = head.stdout.strip()
            state["changed_files"] = [line[3:] for line in dirty.stdout.splitlines()]
    return state


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("apilogs", "boto3", "botocore", "moto"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_child is not None:
        return bare_child_main(args.bare_child)
    os.environ.update(CREDENTIALS)
    for key in list(os.environ):
        if key.startswith(SCRUBBED_ENV_PREFIXES):
            del os.environ[key]
    signal.signal(signal.SIGTERM, _on_sigterm)
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="apilogs-bench-")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    # Every measured process runs from bytecode, as an installed tool does (pip compiles what it
    # installs): with PYTHONDONTWRITEBYTECODE set, an editable apilogs was compiled from source
    # on every run, ~0.2 s of CPU the bare loop (boto3 from site-packages) never paid. The
    # warm-up runs fill this cache before anything is measured.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    try:
        return _main(args, workdir)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        kill_children()
        if tmp is not None and not args.keep_output:
            tmp.cleanup()


def _main(args: argparse.Namespace, workdir: Path) -> int:
    problems: list[str] = []
    load_start = list(os.getloadavg())
    state_start = apilogs_state()
    log(
        f"apilogs at {state_start.get('commit', '?')}, sources {state_start['source_sha256']}"
        + (
            f", changed: {', '.join(state_start['changed_files'])}"
            if state_start.get("changed_files")
            else ""
        )
    )
    awslogs: Path | None = None
    awslogs_note = "--no-awslogs"
    if not args.no_awslogs:
        awslogs, awslogs_note = ensure_awslogs(args.awslogs_venv, timeout=600)
        log(awslogs_note if awslogs else f"(c) SKIPPED: {awslogs_note}")
    launcher = Launcher()
    rss_floor = launcher_floor(launcher, workdir, args)
    log(f"peak RSS floor of the launcher (/bin/true): {fmt_rss(rss_floor)}")

    loopback = None if args.skip_loopback else run_loopback(args, workdir, launcher, awslogs)
    aws = run_aws_shaped(args, workdir, launcher, awslogs) if args.aws_shaped else None
    targets = issue_targets(loopback, aws, args)

    rows = loopback["rows"] if loopback else []
    for m in rows + (list(aws["rows"].values()) if aws else []):
        problems += [f"{m.label}: {p}" for p in m.problems]
    for f in aws["follow"] if aws else []:
        problems += [f"follow, {f['label']}: {p}" for p in f["problems"]]
    state_end = apilogs_state()
    if state_end["source_sha256"] != state_start["source_sha256"]:
        problems.append(
            "apilogs' sources changed during the run (someone edited the tree): "
            "the figures mix two versions"
        )

    if loopback:
        print("\n== On loopback (moto's server on 127.0.0.1, no delay, no quota) ==")
        print_table(rows, loopback["loads"])
        print_ratios(loopback["ratios"])
    if aws:
        print_aws(aws)
    if awslogs is None:
        print(f"(c) skipped: {awslogs_note}")
    print_targets(targets)
    if loopback and loopback.get("profile"):
        print(loopback["profile"])

    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "rss_floor_kib": rss_floor,
        "load_average": {"start": load_start, "end": list(os.getloadavg())},
        "versions": versions() | ({"awslogs": AWSLOGS_VERSION} if awslogs else {}),
        "apilogs": {"start": state_start, "end": state_end},
        "args": {
            "events": args.events,
            "repeat": args.repeat,
            "seed": args.seed,
            "scale_check": args.scale_check,
            "scale_events": args.scale_events if args.scale_check else None,
            "skip_loopback": args.skip_loopback,
            "aws_shaped": args.aws_shaped,
            "aws_events": args.aws_events,
            "aws_span": args.aws_span,
            "aws_repeat": args.aws_repeat,
            "follow_seconds": args.follow_seconds,
            "follow_rps": args.follow_rps,
        },
        "awslogs": awslogs_note,
        "targets": targets,
        "problems": problems,
    }
    if loopback:
        results |= {
            "groups": loopback["groups"],
            "window": loopback["window"],
            "events_in_window": loopback["events_in_window"],
            "events_per_group": loopback["events_per_group"],
            "loads": loopback["loads"],
            "measurements": {m.key: m.to_json() for m in rows},
            "ratios": loopback["ratios"],
            "scale": loopback["scale"],
        }
    if aws:
        results["aws_shaped"] = {k: v for k, v in aws.items() if k != "rows"} | {
            "measurements": {m.key: m.to_json() for m in aws["rows"].values()},
        }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    log(f"results written to {args.results}")
    if problems:
        print("PROBLEMS:")
        for p in problems:
            print(f"  - {p}")
    missed = [t for t in targets if t.get("status") == "FAIL"]
    correctness = [p for p in problems if "stderr:" not in p and "sources changed" not in p]
    return 1 if correctness or (args.strict and missed) else 0


def launcher_floor(launcher: Launcher, workdir: Path, args: argparse.Namespace) -> int:
    """The peak RSS the launcher reports for a program that does nothing (/bin/true)."""
    true = shutil.which("true") or "/bin/true"
    result = launcher.run(
        [true],
        stdout=workdir / "true.out",
        stderr=workdir / "true.err",
        timeout=args.timeout,
        env=child_env(),
    )
    return result.peak_rss_kib


def run_loopback(
    args: argparse.Namespace, workdir: Path, launcher: Launcher, awslogs: Path | None
) -> dict[str, Any]:
    """Today's figures: moto on loopback, no delay, no quota (`--max-rps 0`)."""
    import boto3

    from apilogs.demo.sample import deploy_sample

    # The server lives at most as long as every step could take, then exits by itself.
    lifetime = 3600 + args.timeout * (3 * args.repeat + 10)
    server = start_server(workdir, lifetime)
    log(f"moto server at {server.url} (pid {server.proc.pid})")
    bench = Bench(args, server, workdir, launcher=launcher)
    bench.awslogs = awslogs
    bench.app = deploy_sample(boto3.Session(), server.url, REGION)

    loads = []
    log(f"loading {args.events:,} events")
    loaded = load(bench, args.events, args.seed, None)
    loads.append(loaded)
    events_total = loaded["events_loaded"]
    loaded["events_total"] = events_total
    log(f"  {loaded['events_loaded']:,} events in {loaded['seconds']} s")

    bench.groups = bench.discover_groups()
    log(f"the API's log groups ({len(bench.groups)}): {', '.join(bench.groups)}")
    end_ms = int(time.time()) * 1000  # load_bulk writes every event before now
    window = window_for(bench.client, bench.groups, end_ms)

    # Warm-up, untimed: the reference read (also warms moto), one small run of each tool.
    ref = read_reference(bench.client, bench.groups, window)
    log(
        f"window {window.iso(window.start_ms)} .. {window.iso(window.end_ms)}: "
        f"{ref.events:,} events in the API's groups ({events_total:,} loaded in all groups)"
    )
    small = Window(max(window.start_ms, window.end_ms - 90_000), window.end_ms)
    bench.run(bench.apilogs_get_argv(small), "warmup-apilogs")
    bench.sample_bare_process(small, read_reference(bench.client, bench.groups, small))
    if awslogs:
        bench.run(bench.awslogs_argv(bench.groups[0], small), "warmup-awslogs")

    which = [
        ("a", "(a) bare boto3 loop, in this process"),
        ("a_process", "(a') bare boto3 loop, whole process"),
        ("b", "(b) apilogs get -o json --max-rps 0"),
    ]
    if awslogs:
        which.append(("c", f"(c) awslogs {AWSLOGS_VERSION}, {len(bench.groups)} groups in turn"))
    log(f"measuring at N = {args.events:,} ({args.repeat} runs each, round-robin)")
    at_n = measure_round_robin(bench, window, ref, which)
    rows = list(at_n.values())

    ratios: list[dict[str, Any]] = []
    a, a_proc, b = at_n["a"], at_n["a_process"], at_n["b"]
    b_over_a = b.events_per_s / a.events_per_s
    ratios.append(
        {
            "name": "(b)/(a) events/s",
            "value": round(b_over_a, 3),
            "target": f">= {TARGET_B_OVER_A}",
            "status": verdict(b_over_a >= TARGET_B_OVER_A),
        }
    )
    ratios.append(
        {
            "name": "(b)/(a') events/s (both whole processes)",
            "value": round(b.events_per_s / a_proc.events_per_s, 3),
        }
    )
    cpu_ratio = b.cpu_seconds / a_proc.cpu_seconds if a_proc.cpu_seconds else math.inf
    ratios.append(
        {
            "name": "(b)/(a') client CPU (both whole processes)",
            "value": round(cpu_ratio, 3),
            "target": f"<= {TARGET_LOOPBACK_CPU}",
            "status": verdict(cpu_ratio <= TARGET_LOOPBACK_CPU),
        }
    )
    ratios.append(
        {
            "name": "(b)/(a) client CPU ((a) without start-up)",
            "value": round(b.cpu_seconds / a.cpu_seconds, 3) if a.cpu_seconds else math.inf,
        }
    )
    if "c" in at_n:
        c = at_n["c"]
        c_over_b = c.seconds / b.seconds
        ratios.append(
            {
                "name": "(c)/(b) total time",
                "value": round(c_over_b, 3),
                "target": f">= {TARGET_C_OVER_B}",
                "status": verdict(c_over_b >= TARGET_C_OVER_B),
            }
        )

    scale: dict[str, Any] | None = None
    if args.scale_check:
        extra = args.scale_events - events_total
        log(f"scale check: loading {extra:,} more events (store: {args.scale_events:,})")
        # Before the first window, so the store grows and the first window stays as it was.
        loaded = load(bench, extra, args.seed + 1, window.start_ms - 1000)
        events_total += loaded["events_loaded"]
        loaded["events_total"] = events_total
        loads.append(loaded)
        log(f"  {loaded['events_loaded']:,} events in {loaded['seconds']} s")
        big = window_for(bench.client, bench.groups, window.end_ms)
        big_ref = read_reference(bench.client, bench.groups, big)
        log(f"  window now holds {big_ref.events:,} events in the API's groups")
        at_10n = measure_round_robin(
            bench,
            big,
            big_ref,
            [
                ("a", f"(a) bare loop, in this process @ {args.scale_events:,}"),
                ("b", f"(b) apilogs get @ {args.scale_events:,}"),
            ],
            suffix="_scale",
            repeat=args.scale_repeat,
        )
        rows += list(at_10n.values())
        rss_n, rss_big = b.peak_rss_kib or 0, at_10n["b"].peak_rss_kib or 0
        growth = rss_big / rss_n if rss_n else math.inf
        ratios.append(
            {
                "name": f"(b) peak RSS @ {big_ref.events:,} / @ {ref.events:,} events",
                "value": round(growth, 3),
                "target": f"<= {TARGET_RSS_GROWTH}",
                "status": verdict(growth <= TARGET_RSS_GROWTH),
            }
        )
        ratios.append(
            {
                "name": f"(b)/(a) events/s @ {big_ref.events:,} events",
                "value": round(at_10n["b"].events_per_s / at_10n["a"].events_per_s, 3),
            }
        )
        scale = {
            "events_n": ref.events,
            "events_big": big_ref.events,
            "peak_rss_kib_n": rss_n,
            "peak_rss_kib_big": rss_big,
            "growth": round(growth, 3),
            "window": {"start_ms": big.start_ms, "end_ms": big.end_ms},
        }

    profile_text = None
    if args.cprofile:
        log("profiling (b) once under cProfile")
        profile_text = profile_apilogs(bench, window, args.cprofile)
    stop_process(server.proc)  # its memory back before anything else runs
    return {
        "rows": rows,
        "at_n": at_n,
        "loads": loads,
        "ratios": ratios,
        "scale": scale,
        "groups": bench.groups,
        "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
        "events_in_window": ref.events,
        "events_per_group": ref.per_group,
        "profile": profile_text,
    }


if __name__ == "__main__":
    sys.exit(main())
