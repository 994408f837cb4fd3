"""Process control: the environment of every child, the launcher that measures a process, moto's
server and the AWS-shaped proxy in processes of their own, the CPU clocks, and stopping
everything the bench started (by pid) on the way out."""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from bench.support import REPO_DIR, awsproxy

BENCH_DIR = Path(__file__).resolve().parent
CHILD_DIR = BENCH_DIR / "child"
REGION = "us-east-1"
AWSLOGS_VERSION = "0.15.0"
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
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Child processes still running, by pid: killed (by pid) on the way out, Ctrl-C included.
_LIVE: dict[int, subprocess.Popen[bytes]] = {}


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The environment


def prepare_environment(workdir: Path) -> None:
    """The bench's own environment, which every child inherits: our credentials and region,
    nothing that could send a client elsewhere, and bytecode.

    Every measured process runs from bytecode, as an installed tool does (pip compiles what it
    installs): with PYTHONDONTWRITEBYTECODE set, an editable apilogs was compiled from source on
    every run, ~0.2 s of CPU the bare loop (boto3 from site-packages) never paid. The warm-up
    runs fill this cache before anything is measured."""
    os.environ.update(CREDENTIALS)
    for key in list(os.environ):
        if key.startswith(SCRUBBED_ENV_PREFIXES):
            del os.environ[key]
    signal.signal(signal.SIGTERM, _on_sigterm)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_ENV_PREFIXES)}
    env.update(CREDENTIALS)
    env["PYTHONIOENCODING"] = "utf-8"
    env["NO_COLOR"] = "1"
    env.pop("FORCE_COLOR", None)
    return env


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# --------------------------------------------------------------------------------------------
# CPU clocks


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


# --------------------------------------------------------------------------------------------
# The launcher: every measured process is spawned by it (see child/launcher.py for why)


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

    def problems(self) -> list[str]:
        """A timeout, a non-zero exit, anything on stderr."""
        problems = []
        if self.timed_out:
            problems.append(f"killed after the {self.seconds:.0f} s timeout")
        if self.exit_code != 0:
            problems.append(f"exit code {self.exit_code}")
        text = self.stderr_text().strip()
        if text:
            problems.append("stderr: " + " | ".join(text.splitlines()[:5]))
        return problems


class Launcher:
    """Runs one process at a time to its end: wall time from spawn to reaping, its peak RSS."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(CHILD_DIR / "launcher.py")],
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

    def floor_kib(self, workdir: Path, timeout: float) -> int:
        """The peak RSS the launcher reports for a program that does nothing (/bin/true)."""
        true = shutil.which("true") or "/bin/true"
        result = self.run(
            [true],
            stdout=workdir / "true.out",
            stderr=workdir / "true.err",
            timeout=timeout,
            env=child_env(),
        )
        return result.peak_rss_kib


# --------------------------------------------------------------------------------------------
# Servers: moto and the AWS-shaped proxy, each in a process of its own


@dataclass
class Server:
    """A process that announced its URL: moto's server, or the proxy in front of it."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path


def start_announcing(
    argv: Sequence[str], log_path: Path, what: str, timeout: float, cwd: Path | None = None
) -> Server:
    """Start a server process (stderr to `log_path`) and wait for the URL it prints."""
    with log_path.open("wb") as err:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=child_env(),
            cwd=cwd,
        )
    _LIVE[proc.pid] = proc
    return Server(announced_url(proc, log_path, timeout, what), proc, log_path)


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


def start_moto(
    workdir: Path, lifetime_s: float, timeout: float = 60.0, name: str = "moto-server"
) -> Server:
    """moto's server in a process of its own, so that the measured client does not share its
    GIL. It exits by itself when the bench goes away or after `lifetime_s` seconds."""
    argv = [sys.executable, str(CHILD_DIR / "moto_server.py"), str(lifetime_s)]
    return start_announcing(argv, workdir / f"{name}.log", "moto's server", timeout)


class Proxy(Server):
    """The AWS-shaped proxy (the tests' awsproxy) in front of a moto server."""

    def reset(self) -> None:
        """Zero its counters, fill its bucket (an account idle until now)."""
        awsproxy.proxy_reset(self.url)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = awsproxy.proxy_stats(self.url, with_calls=True)
        return result


def start_proxy(upstream: str, shape: dict[str, float], workdir: Path, lifetime: float) -> Proxy:
    """The proxy in a process of its own: its sleeps and JSON checks share no GIL with anyone.
    `shape`: rtt_ms, per_mb_ms, quota_rps, quota_burst."""
    argv = [sys.executable, "-m", awsproxy.__name__, "--upstream", upstream]
    for name, value in shape.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    argv += ["--lifetime", str(lifetime)]
    server = start_announcing(
        argv, workdir / "awsproxy.log", "the AWS-shaped proxy", 60.0, cwd=REPO_DIR
    )
    return Proxy(server.url, server.proc, server.log_path)


# --------------------------------------------------------------------------------------------
# Processes the bench watches itself (follow runs), and stopping them all


def spawn_piped(argv: Sequence[str], stderr: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A process whose stdout the bench reads as it comes."""
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env
        )
    _LIVE[proc.pid] = proc
    return proc


def interrupt_and_reap(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> Any:
    """Ctrl-C (SIGINT), as a user stops it; SIGKILL after `grace_s`. Its rusage."""
    # os.kill, not send_signal: that polls first, and could reap the process (its rusage lost)
    # if it already exited. Unreaped, its pid cannot be reused meanwhile.
    os.kill(proc.pid, signal.SIGINT)
    usage = None
    deadline = time.monotonic() + grace_s
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
    return usage


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace_s`: a process the bench started, by its pid. (The
    launcher kills the process it runs on SIGTERM.)"""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace_s)
    _LIVE.pop(proc.pid, None)


def kill_children() -> None:
    """Every process the bench started and is still running: on the way out, Ctrl-C too."""
    for proc in list(_LIVE.values()):
        stop_process(proc, grace_s=5.0)


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
