"""The two parts of a run, each on a moto server of its own: on loopback (no delay, no quota),
and in AWS's shape (behind the proxy). Each starts its servers, loads the data, reads the
reference, warms up, and measures its scenarios round-robin."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.data import Reference, Window, load_bulk, load_hour, read_reference, window_for
from bench.procs import (
    AWSLOGS_VERSION,
    REGION,
    Launcher,
    log,
    start_moto,
    start_proxy,
    stop_process,
    wait_quiet,
)
from bench.report import TARGET_FOLLOW_LATENCY_S, loopback_ratios, rss_growth, sample_line
from bench.rig import Rig
from bench.samples import Measurement
from bench.scenarios import SCENARIOS, apilogs_get, bare_process, follow, profile_apilogs

WARMUP_WINDOW_MS = 90_000  # the warm-up's small window: the last 90 s


def round_robin(
    rig: Rig,
    window: Window,
    ref: Reference,
    which: list[tuple[str, str]],
    suffix: str = "",
    repeat: int | None = None,
) -> dict[str, Measurement]:
    """Each scenario of `which` (key, label) once a round, `repeat` rounds; a quiet machine
    awaited before each round."""
    results = {key: Measurement(key + suffix, label) for key, label in which}
    repeat = repeat or rig.args.repeat
    for i in range(repeat):
        wait_quiet(rig.args.quiet_wait)
        for key, _ in which:
            log(f"  run {i + 1}/{repeat}: {results[key].label}")
            sample = SCENARIOS[key](rig, window, ref)
            log(sample_line(sample))
            results[key].samples.append(sample)
    return results


def proxy_shape(args: argparse.Namespace) -> dict[str, float]:
    """What the AWS-shaped proxy imposes (its options, without the dashes)."""
    return {
        "rtt_ms": args.rtt_ms,
        "per_mb_ms": args.per_mb_ms,
        "quota_rps": args.quota_rps,
        "quota_burst": args.quota_burst,
    }


def start_rig(
    args: argparse.Namespace,
    workdir: Path,
    launcher: Launcher,
    awslogs: Path | None,
    lifetime: float,
    aws_shaped: bool,
) -> Rig:
    """moto's server (and in AWS's shape the proxy in front of it), the sample deployed.
    The servers live at most `lifetime` seconds, then exit by themselves."""
    import boto3

    from apilogs.demo.sample import deploy_sample

    server = start_moto(workdir, lifetime, name="moto-server-aws" if aws_shaped else "moto-server")
    proxy = None
    if aws_shaped:
        proxy = start_proxy(server.url, proxy_shape(args), workdir, lifetime)
        log(
            f"AWS-shaped: moto at {server.url} (pid {server.proc.pid}), proxy at {proxy.url} "
            f"(pid {proxy.proc.pid}): {args.rtt_ms:g} ms round trip, {args.per_mb_ms:g} ms/MiB, "
            f"FilterLogEvents quota {args.quota_rps:g}/s (burst {args.quota_burst:g})"
        )
    else:
        log(f"moto server at {server.url} (pid {server.proc.pid})")
    rig = Rig(args, server, workdir, launcher, proxy=proxy, awslogs=awslogs)
    rig.app = deploy_sample(boto3.Session(), server.url, REGION)
    return rig


def awslogs_row(rig: Rig, how: str) -> list[tuple[str, str]]:
    """Row (c), when awslogs is installed."""
    return [("c", f"(c) awslogs {AWSLOGS_VERSION}, {how}")] if rig.awslogs else []


def warm_up_awslogs(rig: Rig, window: Window, name: str) -> None:
    """One untimed awslogs run of the first group, when awslogs is installed."""
    if rig.awslogs:
        rig.run(rig.awslogs_argv(rig.groups[0], window), name)


def window_and_reference(rig: Rig, end_ms: int) -> tuple[Window, Reference]:
    window = window_for(rig.client, rig.groups, end_ms)
    return window, read_reference(rig.client, rig.groups, window)


# --------------------------------------------------------------------------------------------
# On loopback


def run_loopback(
    args: argparse.Namespace, workdir: Path, launcher: Launcher, awslogs: Path | None
) -> dict[str, Any]:
    """Today's figures: moto on loopback, no delay, no quota (`--max-rps 0`)."""
    lifetime = 3600 + args.timeout * (3 * args.repeat + 10)
    rig = start_rig(args, workdir, launcher, awslogs, lifetime, aws_shaped=False)
    assert rig.app is not None

    loads = []
    log(f"loading {args.events:,} events")
    loaded = load_bulk(rig.app, rig.server.url, args.events, args.seed, None)
    loads.append(loaded)
    events_total = loaded["events_loaded"]
    loaded["events_total"] = events_total
    log(f"  {loaded['events_loaded']:,} events in {loaded['seconds']} s")

    rig.groups = rig.discover_groups()
    log(f"the API's log groups ({len(rig.groups)}): {', '.join(rig.groups)}")
    # Warm-up, untimed: the reference read (also warms moto), one small run of each tool.
    # load_bulk writes every event before now.
    window, ref = window_and_reference(rig, int(time.time()) * 1000)
    log(
        f"window {window.iso(window.start_ms)} .. {window.iso(window.end_ms)}: "
        f"{ref.events:,} events in the API's groups ({events_total:,} loaded in all groups)"
    )
    small = window.last(WARMUP_WINDOW_MS)
    rig.run(rig.apilogs_get_argv(small), "warmup-apilogs")
    bare_process(rig, small, read_reference(rig.client, rig.groups, small))
    warm_up_awslogs(rig, small, "warmup-awslogs")

    which = [
        ("a", "(a) bare boto3 loop, in this process"),
        ("a_process", "(a') bare boto3 loop, whole process"),
        ("b", "(b) apilogs get -o json --max-rps 0"),
        *awslogs_row(rig, f"{len(rig.groups)} groups in turn"),
    ]
    log(f"measuring at N = {args.events:,} ({args.repeat} runs each, round-robin)")
    at_n = round_robin(rig, window, ref, which)
    rows = list(at_n.values())

    scale: dict[str, Any] | None = None
    at_scale: dict[str, Measurement] = {}
    if args.scale_check:
        extra = args.scale_events - events_total
        log(f"scale check: loading {extra:,} more events (store: {args.scale_events:,})")
        # Before the first window, so the store grows and the first window stays as it was.
        loaded = load_bulk(rig.app, rig.server.url, extra, args.seed + 1, window.start_ms - 1000)
        events_total += loaded["events_loaded"]
        loaded["events_total"] = events_total
        loads.append(loaded)
        log(f"  {loaded['events_loaded']:,} events in {loaded['seconds']} s")
        big, big_ref = window_and_reference(rig, window.end_ms)
        log(f"  window now holds {big_ref.events:,} events in the API's groups")
        at_scale = round_robin(
            rig,
            big,
            big_ref,
            [
                ("a", f"(a) bare loop, in this process @ {args.scale_events:,}"),
                ("b", f"(b) apilogs get @ {args.scale_events:,}"),
            ],
            suffix="_scale",
            repeat=args.scale_repeat,
        )
        rows += list(at_scale.values())
        scale = {
            "events_n": ref.events,
            "events_big": big_ref.events,
            "peak_rss_kib_n": at_n["b"].peak_rss_kib or 0,
            "peak_rss_kib_big": at_scale["b"].peak_rss_kib or 0,
            "growth": round(rss_growth(at_n["b"], at_scale["b"]), 3),
            "window": {"start_ms": big.start_ms, "end_ms": big.end_ms},
        }

    profile_text = None
    if args.cprofile:
        log("profiling (b) once under cProfile")
        profile_text = profile_apilogs(rig, window, args.cprofile)
    stop_process(rig.server.proc)  # its memory back before anything else runs
    return {
        "rows": rows,
        "at_n": at_n,
        "loads": loads,
        "ratios": loopback_ratios(at_n, scale, at_scale),
        "scale": scale,
        "groups": rig.groups,
        "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
        "events_in_window": ref.events,
        "events_per_group": ref.per_group,
        "profile": profile_text,
    }


# --------------------------------------------------------------------------------------------
# In AWS's shape


def run_aws_shaped(
    args: argparse.Namespace, workdir: Path, launcher: Launcher, awslogs: Path | None
) -> dict[str, Any]:
    """Everything in AWS's shape, on a moto server of its own (no loopback data in it)."""
    lifetime = 3600 + args.timeout * (4 * args.aws_repeat + 10)
    rig = start_rig(args, workdir, launcher, awslogs, lifetime, aws_shaped=True)
    assert rig.app is not None and rig.proxy is not None
    log(f"  loading about {args.aws_events:,} events over {args.aws_span:g} s")
    loaded = load_hour(rig.app, rig.server.url, args.aws_events, args.aws_span, args.seed)
    log(f"  {loaded['events_loaded']:,} events in {loaded['seconds']} s")
    rig.groups = rig.discover_groups()
    window, ref = window_and_reference(rig, int(time.time()) * 1000)
    log(
        f"  window {window.iso(window.start_ms)} .. {window.iso(window.end_ms)}: "
        f"{ref.events:,} events in {len(rig.groups)} groups"
    )
    # Warm-up, untimed: moto and the OS caches; the warm cache dir gets what apilogs keeps.
    log("  warm-up: one run of each, untimed")
    bare_process(rig, window, ref)
    apilogs_get(rig, window, ref)
    warm_up_awslogs(rig, window.last(WARMUP_WINDOW_MS), "warmup-awslogs-aws")

    which = [
        ("a_process", "(a) bare boto3 loop, groups in turn"),
        ("b_cold", "(b) apilogs get -o json, cache cold"),
        ("b", "(b) apilogs get -o json, cache warm"),
        *awslogs_row(rig, "groups in turn"),
    ]
    log(f"  measuring in AWS's shape ({args.aws_repeat} runs each, round-robin)")
    rows = round_robin(rig, window, ref, which, suffix="_aws", repeat=args.aws_repeat)

    follows: list[dict[str, Any]] = []
    if not args.no_follow:
        for interval in (None, 0.5):
            wait_quiet(args.quiet_wait)
            label = "default interval" if interval is None else f"--watch-interval {interval}"
            log(f"  follow: apilogs get --watch, {label}, {args.follow_seconds:g} s")
            result = follow(rig, interval, TARGET_FOLLOW_LATENCY_S)
            lat = result["latency_s"]
            log(
                f"    {result['events_measured']:,} events: p50 {lat['p50']} s, p90 {lat['p90']} "
                f"s, max {lat['max']} s; {result['reads']} reads, {result['throttled']} throttled"
                + ("" if not result["problems"] else f"  !! {'; '.join(result['problems'])}")
            )
            follows.append(result)
    stop_process(rig.proxy.proc)
    stop_process(rig.server.proc)
    pages_needed = rows["a_process"].calls_median("fle_pages")
    return {
        "shape": proxy_shape(args),
        "rows": rows,
        "load": loaded,
        "groups": rig.groups,
        "window": {"start_ms": window.start_ms, "end_ms": window.end_ms},
        "events_in_window": ref.events,
        "events_per_group": ref.per_group,
        "pages_needed": pages_needed,
        "quota_floor_s": pages_needed / args.quota_rps if args.quota_rps else 0.0,
        "follow": follows,
    }
