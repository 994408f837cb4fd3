"""Reading in AWS's shape (through tests/support/awsproxy.py): every group's first page goes out at
once, a big group's later slices read ahead but only so far (memory bounded by the read, not
the window), a first page cut a few events short is not split, and follow polls fit the quota."""

from __future__ import annotations

import threading
import time

import boto3

from apilogs.aws import AwsContext, RateLimiter
from apilogs.fetch import READ_AHEAD_PAGES, FetchStats, _slices_worth, fetch_window, follow
from apilogs.fetch.filter import queries_for
from apilogs.model import Role, Source
from tests.support.awsproxy import AwsShape, aws_proxy

BIG = "/big"
SMALL = tuple(f"/small-{i}" for i in range(5))
BASE_MS = (int(time.time()) - 5000) * 1000


def _load(client) -> int:
    logs = client("logs")
    for group in (BIG, *SMALL):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
    # ~22 MB in the big group: two dozen 1 MiB pages (of ~2,400 events: big enough to be
    # read as slices) over 4000 s.
    message = "x" * 420
    for chunk in range(5):
        events = [
            {"timestamp": BASE_MS + (chunk * 10_000 + i) * 83, "message": f"{chunk}:{i} {message}"}
            for i in range(10_000)
        ]
        logs.put_log_events(logGroupName=BIG, logStreamName="s", logEvents=events)
    for group in SMALL:
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": BASE_MS + 5, "message": f"{group} hello"}],
        )
    return 50_000 + len(SMALL)


def _ctx(url: str, rate: float = 5.0) -> AwsContext:
    return AwsContext(
        session=boto3.Session(region_name="us-east-1"),
        endpoint_url=url,
        logs_limiter=RateLimiter(rate),
    )


def _sources() -> tuple[Source, ...]:
    return tuple(Source(Role.OTHER, g, "us-east-1") for g in (BIG, *SMALL))


def test_first_pages_at_once_and_read_ahead_bounded(endpoint, client) -> None:
    expected = _load(client)
    shape = AwsShape(rtt_ms=40, per_mb_ms=100, quota_rps=5, quota_burst=5)
    with aws_proxy(endpoint, shape) as proxy:
        ctx = _ctx(proxy.url, rate=5)
        stats = FetchStats()
        stream = fetch_window(ctx, queries_for(_sources()), BASE_MS, BASE_MS + 4_200_000, stats)
        first = next(stream)
        # Hold the merge on the first page: the readers may only fill what the read allows.
        time.sleep(8)  # long enough for unbounded readers to fetch the whole window
        reads_while_held = proxy.stats()["calls"].get("logs:FilterLogEvents", 0)
        rest = list(stream)
    got = 1 + len(rest)
    assert got == expected and first.timestamp == BASE_MS
    # Six groups' first pages, the big group's slices' one waiting page each (≤ 4) and the one
    # the merge holds, and at most the shared read-ahead beyond: however many pages the window
    # holds (here 29; unbounded readers fetch them all while the merge waits).
    assert reads_while_held <= 6 + 4 + 1 + READ_AHEAD_PAGES, reads_while_held
    assert stats.pages >= 25
    assert stats.throttles <= 1


def test_a_first_page_cut_a_few_events_short_is_not_split() -> None:
    # The page covered 3590 s of a 3600 s window: what is left is not worth four readers.
    assert _slices_worth(0, 3_590_000, 3_600_000) == 0
    # It covered a tenth: the rest is about nine pages, four slices.
    assert _slices_worth(0, 360_000, 3_600_000) == 4
    # It covered 40 %: one more page and a half, not worth it.
    assert _slices_worth(0, 1_440_000, 3_600_000) == 1
    assert _slices_worth(0, 1_000_000, 3_600_000) == 2


def test_follow_polls_fit_the_quota_and_say_so(endpoint, client) -> None:
    logs = client("logs")
    groups = tuple(f"/follow-{i}" for i in range(8))
    for group in groups:
        logs.create_log_group(logGroupName=group)
    sources = tuple(Source(Role.OTHER, g, "us-east-1") for g in groups)
    shape = AwsShape(rtt_ms=20, per_mb_ms=0, quota_rps=5, quota_burst=5)
    with aws_proxy(endpoint, shape) as proxy:
        ctx = _ctx(proxy.url, rate=5)
        stats = FetchStats()
        stop = threading.Event()
        started = time.monotonic()
        for _ in follow(ctx, queries_for(sources), BASE_MS, stats, interval_s=0.5, stop=stop):
            if time.monotonic() - started > 6:
                stop.set()
        counted = proxy.stats()
    reads = counted["calls"].get("logs:FilterLogEvents", 0)
    assert counted["total_throttled"] == 0
    # 8 groups at 5 reads/s: about 4.5 polls a second, not the 16 that 0.5 s would ask for.
    assert 15 <= reads <= 6 * 5 + 2, reads
    assert any("each group is polled every 1.8 s" in n for n in stats.notices), stats.notices


MANY = tuple(f"/many-{i}" for i in range(8))


def test_every_groups_first_page_goes_before_any_later_page(endpoint, client) -> None:
    """Nothing is printed before every group has answered once: with more groups than the
    quota's burst, the waiting groups' first pages take the tokens before the big group's
    slices (which came back first and wanted more). Then each slice's first page goes before
    any slice's next one: a slice's pages can only be read one after another, so its chain must
    not begin last and run alone at the end."""
    logs = client("logs")
    expected = _load(client) - len(SMALL) + len(MANY)  # the small groups are not read here
    for group in MANY:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": BASE_MS + 7, "message": f"{group} hello"}],
        )
    groups = (BIG, *MANY)
    sources = tuple(Source(Role.OTHER, g, "us-east-1") for g in groups)
    shape = AwsShape(rtt_ms=40, per_mb_ms=100, quota_rps=5, quota_burst=5)
    with aws_proxy(endpoint, shape) as proxy:
        ctx = _ctx(proxy.url, rate=5)
        stream = fetch_window(ctx, queries_for(sources), BASE_MS, BASE_MS + 4_200_000, FetchStats())
        got = sum(1 for _ in stream)
        log = proxy.stats(with_calls=True)["log"]
    assert got == expected
    reads = [c for c in log if c["operation"] == "logs:FilterLogEvents" and not c["throttled"]]
    reads.sort(key=lambda c: c["received"])
    firsts = [c for c in reads if c["request"]["start"] == BASE_MS and not c["request"]["token"]]
    assert {c["request"]["group"] for c in firsts} == set(groups)
    slices = [c for c in reads if c["request"]["start"] != BASE_MS and not c["request"]["token"]]
    nexts = [c for c in reads if c["request"]["token"]]
    assert len(slices) >= 2 and nexts, "the big group was not read in slices"

    def since_start(calls: list[dict]) -> list[float]:
        return [round(c["received"] - reads[0]["received"], 2) for c in calls]

    assert max(c["received"] for c in firsts) < min(c["received"] for c in slices + nexts), (
        since_start(firsts),
        since_start(slices),
    )
    assert max(c["received"] for c in slices) < min(c["received"] for c in nexts), (
        since_start(slices),
        since_start(nexts),
    )
