"""`--engine auto`: FilterLogEvents or Logs Insights for a window, and why, in one line.

Pure: no I/O. FilterLogEvents reads at most about `rps` pages of 1 MB a second (5 a second is the
account's quota) and is free; Logs Insights scans the window server-side, in parallel, for
$0.005 per GB scanned (us-east-1 list price), and pays a few seconds of query latency however
small the window. So: small or short windows → filter; long windows, or windows the groups'
stored bytes say would take FilterLogEvents more than a minute → insights.

The bytes a window holds are estimated from `Source.stored_bytes` (what DescribeLogGroups
reports): spread evenly over the group's retention, or, with no retention (never expire), over
`ASSUMED_SPAN_DAYS` — and never more than the group holds. It is a guess, said as one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from apilogs.model import Source

Engine = Literal["filter", "insights"]

#: A window this long or longer goes to Insights whatever the bytes say.
LONG_WINDOW_MS = 6 * 3_600_000
#: A window this short never does: Insights' latency would dominate.
SHORT_WINDOW_MS = 5 * 60_000
#: FilterLogEvents time above which Insights is chosen.
MAX_FILTER_SECONDS = 60.0
#: A page of FilterLogEvents holds at most 1 MB.
PAGE_BYTES = 1_048_576
ASSUMED_SPAN_DAYS = 30
DAY_MS = 86_400_000
#: us-east-1 list price of Logs Insights, per GB of data scanned: an estimate, not a bill.
PRICE_PER_GB_USD = 0.005


@dataclass(frozen=True, slots=True)
class EngineChoice:
    engine: Engine
    reason: str  # one line for stderr
    estimated_bytes: int | None = None


def estimate_window_bytes(sources: Sequence[Source], window_ms: int) -> int | None:
    """Bytes the window probably holds over all groups; None when no group's size is known."""
    total = 0
    known = False
    for source in {s.log_group: s for s in sources}.values():
        if source.stored_bytes is None:
            continue
        known = True
        span_ms = (source.retention_days or ASSUMED_SPAN_DAYS) * DAY_MS
        total += int(source.stored_bytes * min(1.0, window_ms / span_ms))
    return total if known else None


def is_aws_endpoint(url: str) -> bool:
    """Whether `url` is one of AWS's own hosts (a FIPS, dual-stack or China endpoint included)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns at GB


def _cost(n: int) -> str:
    return f"~${n / 2**30 * PRICE_PER_GB_USD:.4f} at the us-east-1 list price"


def _duration(ms: int) -> str:
    if ms >= DAY_MS:
        return f"{ms / DAY_MS:.1f} days"
    if ms >= 3_600_000:
        return f"{ms / 3_600_000:.1f} h"
    return f"{ms / 60_000:.0f} min"


def choose_engine(
    sources: Sequence[Source],
    start_ms: int,
    end_ms: int,
    *,
    rps: float = 5.0,
    endpoint_url: str | None = None,
) -> EngineChoice:
    """Which engine reads [start_ms, end_ms] of these sources best, with the reason.

    `rps` is the FilterLogEvents rate the run may use (`--max-rps`; 0 means unlimited, a local
    endpoint, where FilterLogEvents is always the choice). An `endpoint_url` that is not AWS's
    (an emulator, a proxy) keeps FilterLogEvents too: emulators serve it, but few compute Logs
    Insights queries (moto answers `stats` with raw lines), and a wrong sum said with
    confidence is worse than a slow read."""
    window_ms = max(0, end_ms - start_ms)
    estimated = estimate_window_bytes(sources, window_ms)
    span = _duration(window_ms)
    if rps <= 0:
        return EngineChoice(
            "filter", "engine auto: FilterLogEvents (no rate limit on this endpoint)", estimated
        )
    if endpoint_url is not None and not is_aws_endpoint(endpoint_url):
        return EngineChoice(
            "filter",
            f"engine auto: FilterLogEvents ({endpoint_url} is not AWS: Logs Insights is not "
            "assumed there; --engine insights to try it)",
            estimated,
        )
    if window_ms < SHORT_WINDOW_MS:
        return EngineChoice(
            "filter", f"engine auto: FilterLogEvents (a {span} window is read quickly)", estimated
        )
    if window_ms >= LONG_WINDOW_MS:
        scan = (
            f", est. {format_bytes(estimated)} to scan, {_cost(estimated)}"
            if estimated is not None
            else ""
        )
        return EngineChoice(
            "insights", f"engine auto: Logs Insights (a {span} window{scan})", estimated
        )
    if estimated is not None:
        seconds = estimated / (PAGE_BYTES * rps)
        if seconds > MAX_FILTER_SECONDS:
            return EngineChoice(
                "insights",
                f"engine auto: Logs Insights (~{format_bytes(estimated)} in the window would take "
                f"FilterLogEvents ~{seconds:.0f} s at {rps:g} requests/s; scanning it costs "
                f"{_cost(estimated)})",
                estimated,
            )
    why = (
        f"~{format_bytes(estimated)} in a {span} window"
        if estimated is not None
        else f"a {span} window"
    )
    return EngineChoice("filter", f"engine auto: FilterLogEvents ({why})", estimated)
