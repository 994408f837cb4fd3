"""The report: the tables, the ratios against the baseline measured in the same run, and issue
13's targets with PASS/FAIL."""

from __future__ import annotations

import argparse
import math
from typing import Any

from bench.samples import FILTER_LOG_EVENTS, Measurement
from bench.scenarios import FOLLOW_MARGIN_S

TARGET_B_OVER_A = 0.9  # (b) events/s >= 0.9 x (a)
TARGET_C_OVER_B = 5.0  # (c) total time >= 5 x (b)
# Issue 29's decisions on issue 13's last figures: growth up to 1.5x is accepted while the peak
# at 10 x N stays within 256 MiB; the labelled path's client CPU up to 2.6x the bare loop's (the
# labels are what the user asked for; the install stays pure Python). 1.8x stays the aim of any
# leaner hot path found later, printed for information.
TARGET_RSS_GROWTH = 1.5  # (b) peak RSS at 10 x N <= 1.5 x at N
TARGET_RSS_AT_SCALE_MIB = 256  # (b) peak RSS at 10 x N (1M events at the default N)
TARGET_LOOPBACK_CPU = 2.6  # (b) client CPU <= 2.6 x (a') on loopback
AIM_LOOPBACK_CPU = 1.8  # issue 13's target, now the aim
# In AWS's shape (issue 13), through the AWS-shaped proxy:
TARGET_SPEED_OVER_BARE = 1.8  # (a) total time / (b) total time >= 1.8
TARGET_SPEED_OVER_AWSLOGS = 3.5  # (c) total time / (b) total time >= 3.5
TARGET_FIRST_LINE_WARM = 1.5  # (b, cache warm) first line <= 1.5 x (a)'s first page
TARGET_FIRST_LINE_COLD = 2.5  # (b, cache cold) first line <= 2.5 x (a)'s first page
TARGET_THROTTLED_SHARE = 0.05  # throttled FilterLogEvents calls <= 5 % of them
TARGET_FOLLOW_LATENCY_S = 2.0  # every followed event printed <= 2 s after it was written


def fmt_rss(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def fmt_s(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def sample_line(sample: Any) -> str:
    """One measured run, for the log."""
    calls = sample.calls
    return (
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


# --------------------------------------------------------------------------------------------
# Ratios against the baseline of the same run


def ratio_row(name: str, value: float, op: str = "", limit: float | None = None) -> dict[str, Any]:
    """One loopback ratio: for information, or with its target and PASS/FAIL."""
    row: dict[str, Any] = {"name": name, "value": round(value, 3)}
    if limit is not None:
        row["target"] = f"{op} {limit}"
        row["status"] = verdict(value >= limit if op == ">=" else value <= limit)
    return row


def loopback_ratios(
    at_n: dict[str, Measurement], scale: dict[str, Any] | None, at_scale: dict[str, Measurement]
) -> list[dict[str, Any]]:
    """(b) against the bare loop (a) and (a'), awslogs (c) against (b), and with the scale check
    (b)'s peak RSS at the larger size against at N."""
    a, a_proc, b = at_n["a"], at_n["a_process"], at_n["b"]
    cpu_ratio = b.cpu_seconds / a_proc.cpu_seconds if a_proc.cpu_seconds else math.inf
    ratios = [
        ratio_row("(b)/(a) events/s", b.events_per_s / a.events_per_s, ">=", TARGET_B_OVER_A),
        ratio_row("(b)/(a') events/s (both whole processes)", b.events_per_s / a_proc.events_per_s),
        ratio_row(
            "(b)/(a') client CPU (both whole processes)", cpu_ratio, "<=", TARGET_LOOPBACK_CPU
        ),
        ratio_row(
            f"  the same, against the aim of a leaner hot path (<= {AIM_LOOPBACK_CPU})", cpu_ratio
        ),
        ratio_row(
            "(b)/(a) client CPU ((a) without start-up)",
            b.cpu_seconds / a.cpu_seconds if a.cpu_seconds else math.inf,
        ),
    ]
    if "c" in at_n:
        ratios.append(
            ratio_row("(c)/(b) total time", at_n["c"].seconds / b.seconds, ">=", TARGET_C_OVER_B)
        )
    if scale is not None:
        big, n = scale["events_big"], scale["events_n"]
        ratios.append(
            ratio_row(
                f"(b) peak RSS @ {big:,} / @ {n:,} events",
                rss_growth(b, at_scale["b"]),
                "<=",
                TARGET_RSS_GROWTH,
            )
        )
        ratios.append(
            ratio_row(
                f"(b) peak RSS @ {big:,} events (MiB)",
                scale["peak_rss_kib_big"] / 1024,
                "<=",
                TARGET_RSS_AT_SCALE_MIB,
            )
        )
        ratios.append(
            ratio_row(
                f"(b)/(a) events/s @ {big:,} events",
                at_scale["b"].events_per_s / at_scale["a"].events_per_s,
            )
        )
    return ratios


def rss_growth(at_n: Measurement, at_big: Measurement) -> float:
    rss_n, rss_big = at_n.peak_rss_kib or 0, at_big.peak_rss_kib or 0
    return rss_big / rss_n if rss_n else math.inf


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


def _ratio(x: float | None, y: float | None) -> float | None:
    return x / y if x is not None and y else None


def _over(x: Measurement | None, y: Measurement | None, figure: str) -> float | None:
    """x's figure ÷ y's, when both rows were measured."""
    return _ratio(getattr(x, figure), getattr(y, figure)) if x and y else None


def issue_targets(
    loopback: dict[str, Any] | None, aws: dict[str, Any] | None, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Issue 13's targets, in AWS's shape and on loopback: each a ratio against the bare loop
    (or awslogs) of the same run, or a figure, and its limit."""
    rows = aws["rows"] if aws else {}
    a, c = rows.get("a_process"), rows.get("c")
    b = {"cold": rows.get("b_cold"), "warm": rows.get("b")}
    both = ("cold", "warm")
    first_line = {"warm": TARGET_FIRST_LINE_WARM, "cold": TARGET_FIRST_LINE_COLD}
    speed = {"bare loop": ("(a)", a, TARGET_SPEED_OVER_BARE)}
    speed["awslogs"] = ("(c)", c, TARGET_SPEED_OVER_AWSLOGS)
    checks: list[tuple[str, float | None, str, float]] = [
        (
            f"AWS: get total speed vs {vs} ({x} s / (b {k}) s)",
            _over(m, b[k], "seconds"),
            ">=",
            limit,
        )
        for vs, (x, m, limit) in speed.items()
        for k in both
    ]
    checks += [
        (
            f"AWS: first line, cache {k} / (a)'s first page",
            _over(b[k], a, "first_line_s"),
            "<=",
            limit,
        )
        for k, limit in first_line.items()
    ]
    share = "AWS: (b {}) throttled share of FilterLogEvents calls"
    checks += [
        (share.format(k), getattr(b[k], "throttled_share", None), "<=", TARGET_THROTTLED_SHARE)
        for k in both
    ]
    at_n = loopback["at_n"] if loopback else {}
    checks.append(
        (
            "loopback: client CPU (b) / (a') (whole processes)",
            _over(at_n.get("b"), at_n.get("a_process"), "cpu_seconds"),
            "<=",
            TARGET_LOOPBACK_CPU,
        )
    )
    scale = loopback["scale"] if loopback else None
    checks.append(
        (
            f"loopback: peak RSS @ {args.scale_events:,} / @ {args.events:,} events"
            + ("" if scale else " (--scale-check)"),
            scale["growth"] if scale else None,
            "<=",
            TARGET_RSS_GROWTH,
        )
    )
    checks.append(
        (
            f"loopback: (b) peak RSS @ {args.scale_events:,} events (MiB)"
            + ("" if scale else " (--scale-check)"),
            scale["peak_rss_kib_big"] / 1024 if scale else None,
            "<=",
            TARGET_RSS_AT_SCALE_MIB,
        )
    )
    follow = {f["interval_s"]: f for f in aws["follow"]} if aws else {}
    for interval, label in ((None, "default interval"), (0.5, "--watch-interval 0.5")):
        f = follow.get(interval)
        latency = f["latency_s"]["max"] if f else None
        checks.append(
            (f"AWS: follow latency, max, {label} (s)", latency, "<=", TARGET_FOLLOW_LATENCY_S)
        )
    slow, fast = follow.get(None), follow.get(0.5)
    checks.append(
        (
            "AWS: follow p90 at --watch-interval 0.5 / at default",
            _ratio(fast["latency_s"]["p90"], slow["latency_s"]["p90"]) if slow and fast else None,
            "<=",
            1.0,
        )
    )
    return [target(*check) for check in checks]


# --------------------------------------------------------------------------------------------
# Printing


def noise_lines(m: Measurement) -> None:
    if m.other_cpu_seconds > 0.1 * m.seconds:
        print(f"    ~ noisy: other processes used {m.other_cpu_seconds:.2f} CPU s meanwhile")


def print_header(header: str) -> None:
    print(header)
    print("-" * len(header))


def print_table(rows: list[Measurement], loads: list[dict[str, Any]]) -> None:
    print()
    print("Loading (boto3 PutLogEvents into moto, from this process)")
    for load in loads:
        print(
            f"  {load['events_loaded']:>9,} events in {load['seconds']:7.2f} s"
            f"  ({load['events_per_s']:,.0f} events/s); store now {load['events_total']:,}"
        )
    print()
    print_header(
        f"{'measurement':<46} {'events':>9} {'seconds':>8} {'events/s':>9} {'peak RSS':>10}"
        f" {'CPU s':>6} {'moto s':>6} {'other s':>7}"
    )
    for m in rows:
        print(
            f"{m.label:<46} {m.events:>9,} {m.seconds:>8.3f} {m.events_per_s:>9,.0f}"
            f" {fmt_rss(m.peak_rss_kib):>10} {m.cpu_seconds:>6.2f} {m.server_cpu_seconds:>6.2f}"
            f" {m.other_cpu_seconds:>7.2f}"
        )
        noise_lines(m)
        for problem in m.problems:
            print(f"    ! {problem}")


def print_ratios(ratios: list[dict[str, Any]]) -> None:
    print()
    for r in ratios:
        target = f"target {r['target']}" if r.get("target") else "(information)"
        status = r.get("status", "")
        print(f"  {r['name']:<58} {r['value']:>7.2f}  {target:<16} {status}")
    print()


def print_aws(aws: dict[str, Any]) -> None:
    shape, rows = aws["shape"], aws["rows"]
    load_ = aws["load"]
    print(
        f"\n== In AWS's shape (tests/support/awsproxy.py: {shape['rtt_ms']:g} ms round trip on every "
        f"call, {shape['per_mb_ms']:g} ms per MiB of FilterLogEvents answer, 1 MiB pages, "
        f"FilterLogEvents quota {shape['quota_rps']:g}/s, burst {shape['quota_burst']:g}) =="
    )
    print(
        f"{len(aws['groups'])} groups, {aws['events_in_window']:,} events over "
        f"{load_['span_s'] / 3600:.2g} h (loaded in {load_['seconds']:.1f} s); medians of "
        f"{len(next(iter(rows.values())).samples)} runs; first = first byte on stdout after "
        "spawn ((a): its first page)"
    )
    print_header(
        f"{'measurement':<40} {'first':>6} {'total':>7} {'reads':>5} {'throttled':>11}"
        f" {'other':>5} {'floor':>6} {'CPU s':>6} {'peak RSS':>9} {'moto s':>6} {'proxy s':>7}"
    )
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
        noise_lines(m)
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
        print_follow(aws["follow"])


def print_follow(follow: list[dict[str, Any]]) -> None:
    print()
    print("follow: apilogs get --watch -o json through the proxy, live traffic written to moto")
    print_header(
        f"{'':<24} {'events':>6} {'p50 s':>6} {'p90 s':>6} {'p99 s':>6} {'max s':>6}"
        f" {'missing':>7} {'reads/s':>7} {'throttled':>11} {'CPU s':>6}"
    )
    for f in follow:
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
    f0 = follow[0]
    print(
        f"  {f0['seconds']:.0f} s each, {f0['events_written']:,} events written; latency = "
        "line on apilogs's stdout - the event's ingestion time, for events ingested from "
        f"the first line (or {f0['warmup_s']:g} s) on until {FOLLOW_MARGIN_S:g} s "
        "before the stop"
    )


def print_targets(targets: list[dict[str, Any]]) -> None:
    print("\n== Targets (issue 13's, as issue 29 decided them) ==")
    for t in targets:
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        if t["value"] is not None and "share" in t["name"]:
            value = f"{100 * t['value']:.1f} %"
        print(f"  {t['name']:<62} {value:>7}  target {t['target']:<8} {t['status']}")
    print()
