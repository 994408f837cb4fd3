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
`--aws-events` events over `--aws-span` seconds, behind the tests' AWS-shaped proxy (a round trip
on every call, a per-MiB delay on FilterLogEvents answers, 1 MiB pages, a 5/s FilterLogEvents
quota answered with ThrottlingException). (a) as a process with boto3's standard retries, (b)
with the default --max-rps and a cold and a warm cache dir, (c): time to first line, total time,
calls and throttles as the proxy counted them, the quota floor; then `apilogs get --watch` while
live traffic is written, for its follow latency. Issue 13's targets are printed with PASS/FAIL.

Results go to stdout (tables) and bench/results-YYYYmmdd-HHMMSS.json. See bench/README.md.
This file is the command line; the parts are the modules of the `bench` package (see
bench/__init__.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# Run by path, sys.path[0] is bench/ itself. The repository's root instead: `bench` is then a
# package whose module names shadow nothing, and `tests` (the shared proxies) is importable.
if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import (
    AWSLOGS_VERSION,
    BENCH_DIR,
    Launcher,
    ensure_awslogs,
    kill_children,
    log,
    prepare_environment,
)
from bench.report import fmt_rss, issue_targets, print_aws, print_ratios, print_table, print_targets
from bench.scenarios import FOLLOW_MARGIN_S, FOLLOW_WARMUP_DEFAULT
from bench.suites import run_aws_shaped, run_loopback


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
    aws = p.add_argument_group("in AWS's shape (through tests/support/awsproxy.py)")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_child is not None:  # the bare loop as a process: now bench/child/bare_loop.py
        from bench.child.bare_loop import main as bare_loop_main

        return bare_loop_main(args.bare_child)
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="apilogs-bench-")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    prepare_environment(workdir)
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
    rss_floor = launcher.floor_kib(workdir, args.timeout)
    log(f"peak RSS floor of the launcher (/bin/true): {fmt_rss(rss_floor)}")

    loopback = None if args.skip_loopback else run_loopback(args, workdir, launcher, awslogs)
    aws = run_aws_shaped(args, workdir, launcher, awslogs) if args.aws_shaped else None
    targets = issue_targets(loopback, aws, args)
    state_end = apilogs_state()
    problems = collect_problems(loopback, aws, state_start, state_end)

    if loopback:
        print("\n== On loopback (moto's server on 127.0.0.1, no delay, no quota) ==")
        print_table(loopback["rows"], loopback["loads"])
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
            "measurements": {m.key: m.to_json() for m in loopback["rows"]},
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


def collect_problems(
    loopback: dict[str, Any] | None,
    aws: dict[str, Any] | None,
    state_start: dict[str, Any],
    state_end: dict[str, Any],
) -> list[str]:
    """Every row's and follow run's problems, and a tree edited during the run."""
    problems: list[str] = []
    rows = loopback["rows"] if loopback else []
    for m in rows + (list(aws["rows"].values()) if aws else []):
        problems += [f"{m.label}: {p}" for p in m.problems]
    for f in aws["follow"] if aws else []:
        problems += [f"follow, {f['label']}: {p}" for p in f["problems"]]
    if state_end["source_sha256"] != state_start["source_sha256"]:
        problems.append(
            "apilogs' sources changed during the run (someone edited the tree): "
            "the figures mix two versions"
        )
    return problems


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


if __name__ == "__main__":
    sys.exit(main())
