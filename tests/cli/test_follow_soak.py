"""Follow mode under ingestion lag that ramps 1 s → 30 s → 1 s, and a sudden jump, while three
groups take bursts of ~250 events/s each: every event comes out exactly once.

Time is compressed (the sweep that looks back the longest runs every 2 s instead of 30 s), the
rates and lags are not."""

from __future__ import annotations

import random
import threading
import time

import boto3
import pytest

from apilogs.aws import AwsContext, RateLimiter
from apilogs.fetch import FetchStats, follow, queries_for
from apilogs.fetch.filter import (
    MAX_SETTLE_MS,
    MIN_LOOKBACK_MS,
    PRIOR_SETTLE_MS,
    SETTLE_MIN_SAMPLES,
    SETTLE_SAMPLES,
    FollowState,
)
from apilogs.model import RawEvent, Role, Source

GROUPS = ("/soak/a", "/soak/b", "/soak/c")
RATE_PER_GROUP = 250  # events/s
DURATION_S = 20.0


def lag_at(t: float) -> float:
    """Seconds of lag at `t` s into the run: 1 → ramps to 30 → holds → ramps back to 1."""
    if t < 3:
        return 1.0
    if t < 8:
        return 1.0 + (t - 3) / 5 * 29
    if t < 12:
        return 30.0
    if t < 17:
        return 30.0 - (t - 12) / 5 * 29
    return 1.0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_every_event_exactly_once_while_lag_ramps_and_jumps(endpoint: str, client) -> None:
    logs = client("logs")
    for group in GROUPS:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
    ctx = AwsContext(
        session=boto3.Session(region_name="us-east-1"),
        endpoint_url=endpoint,
        logs_limiter=RateLimiter(0),
    )
    sources = tuple(Source(Role.OTHER, g, "us-east-1") for g in GROUPS)
    began = time.time()
    since_ms = int(began * 1000) - 60_000
    stop = threading.Event()
    stats = FetchStats()
    seen: list[tuple[RawEvent, bool]] = []

    def consume() -> None:
        for batch in follow(
            ctx,
            queries_for(sources),
            since_ms,
            stats,
            interval_s=0.2,
            stop=stop,
            max_lag_ms=60_000,
            sweep_every_s=2.0,
        ):
            seen.extend((r.event, r.late) for r in batch)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()

    rng = random.Random(9)
    written: dict[tuple[str, str], int] = {}
    n = 0
    tick = 0.1
    jumped = False
    owed = 0.0  # events due at the target rate, however slow a put was
    last = began
    while (elapsed := time.time() - began) < DURATION_S:
        now_ms = int(time.time() * 1000)
        owed += RATE_PER_GROUP * (time.time() - last)
        last = time.time()
        count, owed = int(owed), owed - int(owed)
        for group in GROUPS:
            # Two groups ramp; the third stays at 1 s but once jumps to 45 s, far past the
            # look-back its polls use: only the periodic long look-back can find that.
            lag_ms = 1_000 if group == GROUPS[2] else int(lag_at(elapsed) * 1000)
            if not jumped and elapsed > 5 and group == GROUPS[2]:
                lag_ms, jumped = 45_000, True
            burst = []
            for _ in range(count):
                message = f"event {n}"
                n += 1
                ts = now_ms - lag_ms + rng.randint(0, 99)
                burst.append({"timestamp": ts, "message": message})
                written[(group, message)] = ts
            if not burst:
                continue
            burst.sort(key=lambda e: e["timestamp"])
            logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=burst)
        time.sleep(max(0.0, tick - (time.time() - began - elapsed)))

    deadline = time.time() + 30
    while time.time() < deadline and len(seen) < len(written):
        time.sleep(0.2)
    time.sleep(2.5)  # one more sweep: a duplicate would show up now
    stop.set()
    consumer.join(5)

    got = [(event.group, event.message) for event, _ in seen]
    missing = set(written) - set(got)
    assert not missing, f"{len(missing)} of {len(written)} events lost, e.g. {sorted(missing)[:3]}"
    assert len(got) == len(set(got)), f"{len(got) - len(set(got))} events printed twice"
    assert len(written) >= 0.95 * RATE_PER_GROUP * len(GROUPS) * DURATION_S
    # The jump was found by the long look-back, and the user is told.
    assert stats.late_beyond_lookback > 0
    assert any("ingested later than" in notice for notice in stats.notices)
    assert stats.max_lag_ms >= 30_000
    assert not consumer.is_alive()


def _raw(ts: int, ingested: int, event_id: str) -> RawEvent:
    return RawEvent(ts, ingested, "g", "s", event_id, "m", Source(Role.OTHER, "g", "r"))


def test_keys_are_remembered_as_long_as_any_poll_can_return_them() -> None:
    """Consistent by construction: forgetting never drops a key a later poll could return."""
    state = FollowState(since_ms=0, max_lag_ms=60_000)
    stats = FetchStats()
    now = 1_000_000
    events = [_raw(now - 50_000 + i * 1_000, now, f"e{i}") for i in range(50)]
    assert len(state.admit(events, stats, now, short_start=None)) == 50
    for later in (now, now + 5_000, now + 9_000):
        state.forget_old(later)
        horizon = state.horizon_ms(later)
        assert horizon <= state.poll_start(later, sweep=True) <= state.poll_start(later)
        kept = {k for k, ts in state.seen.items()}
        assert kept == {e.key for e in events if e.timestamp >= horizon}
        # Whatever a poll starting at the horizon returns again is known: not a duplicate.
        again = [e for e in events if e.timestamp >= horizon]
        assert state.admit(again, stats, later, short_start=None) == []


def test_the_look_back_grows_with_the_lag_and_shrinks_when_it_falls() -> None:
    state = FollowState(since_ms=0, max_lag_ms=120_000)
    stats = FetchStats()
    now = 10_000_000
    state.admit([_raw(now - 100, now, "a")], stats, now, short_start=None)
    assert state.lookback_ms(now) == MIN_LOOKBACK_MS
    state.admit([_raw(now - 20_000, now, "b")], stats, now, short_start=None)
    assert state.lookback_ms(now) == 42_000  # twice the lag, and two seconds
    later = now + 400_000  # the lag has not been seen for longer than it is remembered
    state.admit([_raw(later - 100, later, "c")], stats, later, short_start=None)
    assert state.lookback_ms(later) == MIN_LOOKBACK_MS
    # A clock far ahead must not move the polls past real events.
    state.admit([_raw(later + 3_600_000, later, "skew")], stats, later, short_start=None)
    assert state.poll_start(later) <= later - MIN_LOOKBACK_MS


def test_the_lag_of_what_was_stored_before_following_counts_for_nothing() -> None:
    # `demo serve --backfill 10m`, or a batch written late: events minutes old, ingested just
    # before the follow began. The first poll finds them whatever their lag.
    now = 10_000_000
    state = FollowState(since_ms=0, max_lag_ms=120_000, live_from_ms=now)
    stats = FetchStats()
    backfill = [_raw(now - 283_000 + i, now - 5_000, f"b{i}") for i in range(3)]
    assert len(state.admit(backfill, stats, now, short_start=None)) == 3
    assert state.lookback_ms(now) == MIN_LOOKBACK_MS and stats.max_lag_ms == 0
    # Ingested while following: its lag sizes the look-back, and is told.
    state.admit([_raw(now - 19_000, now + 1_000, "live")], stats, now + 1_000, short_start=None)
    assert state.lookback_ms(now + 1_000) == 42_000 and stats.max_lag_ms == 20_000


def test_following_after_a_backfill_says_nothing_about_lag(endpoint: str, client) -> None:
    logs = client("logs")
    logs.create_log_group(logGroupName="/backfilled")
    logs.create_log_stream(logGroupName="/backfilled", logStreamName="s")
    now_ms = int(time.time() * 1000)
    old = [{"timestamp": now_ms - 280_000 + i * 1000, "message": f"old {i}"} for i in range(20)]
    logs.put_log_events(logGroupName="/backfilled", logStreamName="s", logEvents=old)
    ctx = AwsContext(
        session=boto3.Session(region_name="us-east-1"),
        endpoint_url=endpoint,
        logs_limiter=RateLimiter(0),
    )
    sources = (Source(Role.OTHER, "/backfilled", "us-east-1"),)
    stats = FetchStats()
    stop = threading.Event()
    got = []
    started = time.monotonic()
    for batch in follow(
        ctx, queries_for(sources), now_ms - 300_000, stats, interval_s=0.2, stop=stop
    ):
        got += [r.event.message for r in batch]
        if len(got) >= 20 or time.monotonic() - started > 10:
            stop.set()
    assert got == [f"old {i}" for i in range(20)]
    assert not any("late" in n for n in stats.notices), stats.notices


def test_a_groups_watermark_trails_its_polls_by_the_lag_its_events_arrive_with() -> None:
    now = 10_000_000
    state = FollowState(since_ms=0, max_lag_ms=120_000, live_from_ms=now)
    stats = FetchStats()
    assert state.settle_ms() == PRIOR_SETTLE_MS  # nothing seen yet: assumed
    events = [_raw(now - 1_300 + i, now + i, f"e{i}") for i in range(SETTLE_MIN_SAMPLES)]
    state.admit(events, stats, now, short_start=None)
    assert state.settle_ms() == 1_300  # every event 1.3 s late: the watermark trails by that
    # One outlier in a hundred moves it no further than the 99th percentile...
    steady = [_raw(now - 300 + i, now + i, f"s{i}") for i in range(SETTLE_SAMPLES)]
    state.admit(steady, stats, now, short_start=None)
    state.admit([_raw(now - 9_000, now, "slow")], stats, now, short_start=None)
    assert state.settle_ms() == 300
    # ...and a group that lags by minutes holds the others back at most MAX_SETTLE_MS.
    stuck = [_raw(now - 60_000 + i, now + i, f"x{i}") for i in range(SETTLE_SAMPLES)]
    state.admit(stuck, stats, now, short_start=None)
    assert state.settle_ms() == MAX_SETTLE_MS
