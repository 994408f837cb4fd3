"""Benchmark of `apilogs get` against a bare boto3 loop and awslogs 0.15, on moto's server.

    .venv/bin/python bench/run.py [--events N] [--repeat 3] [--scale-check [--scale-events M]]

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
measures (a) and (b) again: (b)'s peak RSS should stay flat. Results go to stdout (a table) and
bench/results.json. See bench/README.md.
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
import time
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
TARGET_RSS_GROWTH = 1.5  # (b) peak RSS at 10 x N <= 1.5 x at N

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
for line in sys.stdin:
    req = json.loads(line)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, req["stdout"], WRITE, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, req["stderr"], WRITE, 0o644),
    ]
    started = time.perf_counter()
    child = os.posix_spawn(req["argv"][0], req["argv"], req["env"], file_actions=actions)
    deadline = started + req["timeout"]
    timed_out = False
    try:
        pidfd = os.pidfd_open(child)  # readable when the child exits: no busy polling
    except (AttributeError, OSError):
        pidfd = -1
    while True:
        if pidfd >= 0:
            select.select([pidfd], [], [], 1.0)
        pid, status, usage = os.wait4(child, os.WNOHANG)
        if pid:
            ended = time.perf_counter()
            break
        if not timed_out and (time.perf_counter() > deadline or os.getppid() != parent):
            timed_out = True
            os.kill(child, signal.SIGKILL)
        if pidfd < 0:
            time.sleep(0.001)
    if pidfd >= 0:
        os.close(pidfd)
    child = 0
    reply = {
        "seconds": ended - started,
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


def start_server(workdir: Path, lifetime_s: float, timeout: float = 60.0) -> Server:
    log_path = workdir / "moto-server.log"
    with log_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, str(lifetime_s)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=child_env(),
        )
    _LIVE[proc.pid] = proc
    assert proc.stdout is not None
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"moto's server did not start (exit {proc.poll()}):\n{tail}")
        line += chunk
    url = line.decode().strip()
    if not url.startswith("http://127.0.0.1:"):
        raise RuntimeError(f"moto's server announced an unexpected URL: {url!r}")
    return Server(url, proc, log_path)


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
    """`run.py --bare-child SPEC`: (a) as a whole process (imports, client, loop)."""
    spec = json.loads(spec_json)
    client = logs_client(spec["url"])
    count = bare_loop(client, spec["groups"], Window(spec["start_ms"], spec["end_ms"]))
    print(json.dumps({"events": count}))
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

    def add(self, other: Sample) -> Sample:
        """Two runs one after the other (awslogs: one process per group)."""
        return Sample(
            self.seconds + other.seconds,
            self.events + other.events,
            max(self.peak_rss_kib or 0, other.peak_rss_kib or 0) or None,
            self.cpu_seconds + other.cpu_seconds,
            self.server_cpu_seconds + other.server_cpu_seconds,
            self.other_cpu_seconds + other.other_cpu_seconds,
            self.problems + other.problems,
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
                }
                for s in self.samples
            ],
            "problems": self.problems,
        }


class Bench:
    def __init__(self, args: argparse.Namespace, server: Server, workdir: Path) -> None:
        self.args = args
        self.server = server
        self.workdir = workdir
        self.env = child_env()
        self.client = logs_client(server.url)
        self.launcher = Launcher()
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

    def run(self, argv: Sequence[str], name: str) -> ChildResult:
        out, err = self._paths(name)
        return self.launcher.run(
            argv, stdout=out, stderr=err, timeout=self.args.timeout, env=self.env
        )

    def rss_floor_kib(self) -> int:
        """The peak RSS the launcher reports for a program that does nothing (/bin/true)."""
        true = shutil.which("true") or "/bin/true"
        return self.run([true], "true").peak_rss_kib

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
            self.server.url,
            "--region",
            REGION,
            "-a",
            REST_API_ID,
            "-t",
            REST_STAGE,
        ]

    def apilogs_get_argv(self, window: Window) -> list[str]:
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
            "--max-rps",
            "0",
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
            self.server.url,
            "--aws-region",
            REGION,
            "--color",
            "never",
        ]

    # -- one sample of each ------------------------------------------------------------------

    def cpu_mark(self) -> tuple[float, float]:
        return machine_busy_seconds(), process_cpu_seconds(self.server.proc.pid)

    def finish(
        self,
        mark: tuple[float, float],
        seconds: float,
        events: int,
        rss: int | None,
        client_cpu: float,
        problems: list[str],
    ) -> Sample:
        machine, server = (b - a for a, b in zip(mark, self.cpu_mark(), strict=True))
        other = max(0.0, machine - server - client_cpu)
        return Sample(seconds, events, rss, client_cpu, server, other, problems)

    def sample_bare_inprocess(self, window: Window, ref: Reference) -> Sample:
        mark = self.cpu_mark()
        started, cpu = time.perf_counter(), time.process_time()
        count = bare_loop(self.client, self.groups, window)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        problems = [] if count == ref.events else [f"read {count} events, expected {ref.events}"]
        return self.finish(mark, seconds, count, None, cpu, problems)

    def sample_bare_process(self, window: Window, ref: Reference) -> Sample:
        spec = {
            "url": self.server.url,
            "groups": self.groups,
            "start_ms": window.start_ms,
            "end_ms": window.end_ms,
        }
        mark = self.cpu_mark()
        result = self.run(
            [sys.executable, str(Path(__file__).resolve()), "--bare-child", json.dumps(spec)],
            "bare",
        )
        sample = self.finish(
            mark, result.seconds, 0, result.peak_rss_kib, result.cpu_seconds, child_problems(result)
        )
        if result.exit_code == 0:
            sample.events = int(json.loads(result.stdout.read_text())["events"])
            if sample.events != ref.events:
                sample.problems.append(f"read {sample.events} events, expected {ref.events}")
        return sample

    def sample_apilogs(self, window: Window, ref: Reference) -> Sample:
        mark = self.cpu_mark()
        result = self.run(self.apilogs_get_argv(window), "apilogs")
        sample = self.finish(
            mark, result.seconds, 0, result.peak_rss_kib, result.cpu_seconds, child_problems(result)
        )
        sample.events, problems = check_apilogs_output(result.stdout, ref)
        sample.problems += problems
        if not self.args.keep_output:
            result.stdout.unlink()
        return sample

    def sample_awslogs(self, window: Window, ref: Reference) -> Sample:
        """One process per group, one after the other: times and CPU add up, RSS is the max."""
        total: Sample | None = None
        lines = 0
        for group in self.groups:
            mark = self.cpu_mark()
            result = self.run(self.awslogs_argv(group, window), "awslogs")
            one = self.finish(
                mark,
                result.seconds,
                0,
                result.peak_rss_kib,
                result.cpu_seconds,
                [f"{group}: {p}" for p in child_problems(result)],
            )
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
    p.add_argument("--results", type=Path, default=BENCH_DIR / "results.json")
    p.add_argument(
        "--keep-output", action="store_true", help="keep the measured processes' stdout files"
    )
    p.add_argument(
        "--workdir", type=Path, default=None, help="where outputs go (default: a tmp dir)"
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
        "c": bench.sample_awslogs,
    }
    results = {key: Measurement(key + suffix, label) for key, label in which}
    repeat = repeat or bench.args.repeat
    for i in range(repeat):
        wait_quiet(bench.args.quiet_wait)
        for key, _ in which:
            log(f"  run {i + 1}/{repeat}: {results[key].label}")
            sample = methods[key](window, ref)
            log(
                f"    {sample.events:,} events in {sample.seconds:.3f} s"
                + (f", peak RSS {fmt_rss(sample.peak_rss_kib)}" if sample.peak_rss_kib else "")
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
    import boto3

    from apilogs.demo.sample import deploy_sample

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

    # The server lives at most as long as every step could take, then exits by itself.
    lifetime = 3600 + args.timeout * (3 * args.repeat + 10)
    server = start_server(workdir, lifetime)
    log(f"moto server at {server.url} (pid {server.proc.pid})")
    bench = Bench(args, server, workdir)
    bench.awslogs = awslogs
    bench.app = deploy_sample(boto3.Session(), server.url, REGION)

    loads = []
    log(f"loading {args.events:,} events")
    loaded = load(bench, args.events, args.seed, None)
    loads.append(loaded)
    events_total = loaded["events_loaded"]
    loaded["events_total"] = events_total
    log(f"  {loaded['events_loaded']:,} events in {loaded['seconds']} s")

    rss_floor = bench.rss_floor_kib()
    log(f"peak RSS floor of the launcher (/bin/true): {fmt_rss(rss_floor)}")
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
            "window": {"start_ms": big.start_ms, "end_ms": big.end_ms},
        }

    for m in rows:
        problems += [f"{m.label}: {p}" for p in m.problems]
    state_end = apilogs_state()
    if state_end["source_sha256"] != state_start["source_sha256"]:
        problems.append(
            "apilogs' sources changed during the run (someone edited the tree): "
            "the figures mix two versions"
        )

    print_table(rows, loads)
    print_ratios(ratios)
    if awslogs is None:
        print(f"(c) skipped: {awslogs_note}")

    profile_text = None
    if args.cprofile:
        log("profiling (b) once under cProfile")
        profile_text = profile_apilogs(bench, window, args.cprofile)
        print(profile_text)

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
        },
        "groups": bench.groups,
        "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
        "events_in_window": ref.events,
        "events_per_group": ref.per_group,
        "loads": loads,
        "measurements": {m.key: m.to_json() for m in rows},
        "ratios": ratios,
        "scale": scale,
        "awslogs": awslogs_note,
        "problems": problems,
    }
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    log(f"results written to {args.results}")
    if problems:
        print("PROBLEMS:")
        for p in problems:
            print(f"  - {p}")
    missed = [r for r in ratios if r.get("status") == "FAIL"]
    correctness = [p for p in problems if "stderr:" not in p and "sources changed" not in p]
    return 1 if correctness or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
