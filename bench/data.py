"""The data: loading events into moto, the window read, the untimed reference read that every
tool's output is checked against, and those checks."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.child.bare_loop import pages
from bench.procs import REGION, log

if TYPE_CHECKING:
    from apilogs.demo.sample import SampleApp

EVENTS_PER_REQUEST = 31  # the sample's traffic logs about 31 events per API request


@dataclass(frozen=True)
class Window:
    start_ms: int
    end_ms: int

    def iso(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def last(self, ms: int) -> Window:
        """Its last `ms` milliseconds (the warm-up's small window)."""
        return Window(max(self.start_ms, self.end_ms - ms), self.end_ms)


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


def window_pages(client: Any, group: str, window: Window) -> Iterator[dict[str, Any]]:
    """The bare loop's pages of one group's window."""
    return pages(client, group, window.start_ms, window.end_ms)


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
        for page in window_pages(client, group, window):
            for event in page.get("events", ()):
                count += 1
                nlines += event["message"].rstrip().count("\n") + 1
                keys.add((group, event["logStreamName"], str(event["eventId"])))
        per_group[group] = count
        lines[group] = nlines
    return Reference(per_group, keys, lines)


def ingestion_times(
    client: Any, groups: Sequence[str], window: Window
) -> dict[tuple[str, str, str], int]:
    """Every event of the window by (group, stream, event ID): when the server stored it."""
    ingested: dict[tuple[str, str, str], int] = {}
    for group in groups:
        for page in window_pages(client, group, window):
            for e in page.get("events", ()):
                ingested[(group, e["logStreamName"], str(e["eventId"]))] = int(e["ingestionTime"])
    return ingested


# --------------------------------------------------------------------------------------------
# Loading


def load_bulk(app: SampleApp, url: str, n: int, seed: int, end_ms: int | None) -> dict[str, Any]:
    """About `n` events of the sample's traffic (boto3 PutLogEvents from this process)."""
    import boto3

    from apilogs.demo.writer import LogWriter, load_bulk

    writer = LogWriter.connect(boto3.Session(), url, REGION)
    started = time.perf_counter()
    written = load_bulk(app, writer, n, seed, end_ms=end_ms)
    seconds = time.perf_counter() - started
    if writer.events_rejected:
        log(f"  {writer.events_rejected} events were rejected by PutLogEvents")
    return {
        "events_loaded": written,
        "rejected": writer.events_rejected,
        "seconds": round(seconds, 3),
        "events_per_s": round(written / seconds, 1) if seconds else 0.0,
    }


def load_hour(app: SampleApp, url: str, events: int, span_s: float, seed: int) -> dict[str, Any]:
    """About `events` events of steady traffic over the last `span_s` seconds."""
    import boto3

    from apilogs.demo.writer import LogWriter, backfill

    writer = LogWriter.connect(boto3.Session(), url, REGION)
    # A request logs for up to a minute after it starts: every line must be in the past.
    end_ms = int(time.time() * 1000) - 61_000
    start_ms = end_ms - int(span_s * 1000)
    rps = events / EVENTS_PER_REQUEST / span_s
    started = time.perf_counter()
    written = backfill(app, writer, start_ms, end_ms, rps, seed=seed)
    seconds = time.perf_counter() - started
    return {
        "events_loaded": written,
        "events_total": written,
        "rejected": writer.events_rejected,
        "seconds": round(seconds, 3),
        "events_per_s": round(written / seconds, 1) if seconds else 0.0,
        "span_s": span_s,
        "requests_per_s": round(rps, 4),
    }


# --------------------------------------------------------------------------------------------
# Checks of a tool's output against the reference


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
