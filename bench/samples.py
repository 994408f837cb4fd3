"""What one measured run yields (a Sample), the medians over runs (a Measurement), and what the
AWS-shaped proxy counted during a run."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.support import awsproxy

FILTER_LOG_EVENTS = awsproxy.FILTER_LOG_EVENTS


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


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of them at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --------------------------------------------------------------------------------------------
# The proxy's counts


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
        # startTime, endTime, whether it carried a nextToken. When discovery and reads went out,
        # how they queued.
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
