"""Spawns each measured process, one at a time, and reports what it cost.

    python -I -S bench/child/launcher.py

One request a line on stdin (JSON: argv, env, stdout, stderr, timeout, pipe), one reply a line
on stdout (seconds, spawned_at, first_byte_seconds, exit_code, peak_rss_kib, cpu_seconds,
timed_out).

Why a launcher: on Linux a process' peak RSS (ru_maxrss) carries over across execve, and a child
spawned by a big process starts with that process' resident size (the bench holds every event
key in memory). The launcher stays small (standard library only, no site), so what `os.wait4`
reports is the measured program's own peak, plus the launcher's few MiB (the bench reports that
floor as `rss_floor_kib`). It exits when its parent goes away, and kills the process it runs on
SIGTERM or SIGINT."""

import json
import os
import select
import signal
import sys
import time

WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
_child = 0


def _stop(signum: int, frame: object) -> None:
    if _child:
        try:  # noqa: SIM105  (contextlib: one import more in a process kept small)
            os.kill(_child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(1)


def _copy(src: int, dst: int) -> int:
    chunk = os.read(src, 1 << 20)
    view = memoryview(chunk)
    while view:
        view = view[os.write(dst, view) :]
    return len(chunk)


def run_one(req: dict, parent: int) -> dict:  # type: ignore[type-arg]
    """Spawn `req["argv"]` with posix_spawn, wait for it with wait4: its reply."""
    global _child
    # With "pipe", stdout is a pipe the launcher copies to the file, noting when its first
    # byte came: the time to first line, as a user at the other end of a pipe sees it.
    pipe_r = out = -1
    stdout_action: tuple  # type: ignore[type-arg]
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
    _child = child = os.posix_spawn(req["argv"][0], req["argv"], req["env"], file_actions=actions)
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
            if not _copy(pipe_r, out):
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
            if not _copy(pipe_r, out):
                break
        os.close(pipe_r)
    if out >= 0:
        os.close(out)
    if pidfd >= 0:
        os.close(pidfd)
    _child = 0
    return {
        "seconds": ended - started,
        "spawned_at": spawned_at,
        "first_byte_seconds": first_byte,
        "exit_code": os.waitstatus_to_exitcode(status),
        "peak_rss_kib": usage.ru_maxrss,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "timed_out": timed_out,
    }


def main() -> int:
    parent = os.getppid()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for line in sys.stdin:
        print(json.dumps(run_one(json.loads(line), parent)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
