"""The Live Tail follow engine.

Against moto's server: a real StartLiveTail over HTTP (the client must not prefix the host), the
ARNs DescribeLogGroups gives, events exactly once, and — since moto ends every session at once —
the fall back to polling. The fills (FilterLogEvents reads of history and gaps) always run against
the server. What moto cannot show — a session that stays open, sampled updates, errors mid-stream,
reconnects, the 3-hour rollover, several sessions at once — is scripted at the engine's boundary
to StartLiveTail (`opener`) as real event-stream bytes parsed by botocore (tests/support/eventstream.py);
a refused StartLiveTail comes from botocore's Stubber."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from apilogs.aws import AwsContext, RateLimiter
from apilogs.fetch import FetchStats, queries_for
from apilogs.fetch.filter import GroupQuery
from apilogs.fetch.livetail import (
    ContentDedupe,
    LiveTailUsage,
    Opener,
    TailStream,
    client_opener,
    follow_live,
    group_name_of,
    live_tail_client,
    resolve_arns,
)
from apilogs.fetch.merge import Released
from apilogs.model import RawEvent, Role, Source
from tests.support.eventstream import (
    FakeLiveTail,
    Heartbeat,
    Pause,
    Step,
    exception,
    result,
    session_start,
    update,
    wait_for,
)

REGION = "us-east-1"


def moto_ctx(endpoint: str) -> AwsContext:
    return AwsContext(
        session=boto3.Session(region_name=REGION),
        endpoint_url=endpoint,
        logs_limiter=RateLimiter(0),
    )


def put(logs: Any, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    if events:
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)],
        )


def lambda_queries(*groups: str) -> list[GroupQuery]:
    return queries_for(
        tuple(Source(Role.LAMBDA, g, REGION, function_name=g.rsplit("/", 1)[1]) for g in groups)
    )


class Follow:
    """Runs follow_live in a thread, collects what it yields, stops it and times the stop."""

    def __init__(
        self, ctx: AwsContext, queries: list[GroupQuery], since_ms: int, **kwargs: Any
    ) -> None:
        self.stop = threading.Event()
        self.stats = FetchStats()
        self.usage = LiveTailUsage()
        self.released: list[Released] = []
        self.batches = 0
        self.error: BaseException | None = None
        self._events = follow_live(
            ctx,
            queries,
            since_ms,
            self.stats,
            stop=self.stop,
            usage=self.usage,
            interval_s=0.1,
            **kwargs,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for batch in self._events:
                self.batches += 1
                self.released.extend(batch)
        except BaseException as exc:
            self.error = exc

    def messages(self) -> list[str]:
        return [r.event.message for r in self.released]

    def wait_messages(self, n: int, timeout: float = 15.0) -> list[str]:
        wait_for(lambda: len(self.released) >= n, timeout)
        time.sleep(0.3)  # anything extra (a repeat) would show up now
        return self.messages()

    def end(self) -> float:
        started = time.monotonic()
        self.stop.set()
        self.thread.join(5)
        took = time.monotonic() - started
        assert not self.thread.is_alive()
        if self.error:
            raise self.error
        return took


def no_engine_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("livetail")]


# --- against moto's server ---


def test_against_moto_a_real_session_then_polling_every_event_once(endpoint: str, client) -> None:
    logs = client("logs")
    now = int(time.time() * 1000)
    since = now - 10_000
    put(
        logs, "/aws/lambda/a", "s", [(since - 500, "before the follow"), (since + 100, "a history")]
    )
    put(logs, "/aws/lambda/b", "s", [(since + 200, "b history")])
    ctx = moto_ctx(endpoint)
    arns = resolve_arns(ctx, lambda_queries("/aws/lambda/a", "/aws/lambda/b"))
    described = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    # `logGroupArn`, not `arn` (which ends in `:*` and which StartLiveTail refuses).
    assert arns == {
        name: described[name]["logGroupArn"] for name in ("/aws/lambda/a", "/aws/lambda/b")
    }
    assert not any(arn.endswith(":*") for arn in arns.values())

    seen_results: list[dict[str, Any]] = []
    real = client_opener(ctx)

    def counting(region: str, group_arns: Sequence[str]) -> TailStream:
        stream = real(region, group_arns)

        class Counted:
            def __iter__(self) -> Iterator[dict[str, Any]]:
                for event in stream:
                    seen_results.extend(event.get("sessionUpdate", {}).get("sessionResults", []))
                    yield event

            def close(self) -> None:
                stream.close()

        return Counted()

    follow = Follow(ctx, lambda_queries("/aws/lambda/a", "/aws/lambda/b"), since, opener=counting)
    assert follow.wait_messages(2) == ["a history", "b history"]
    # Sessions really ran against the server (through 127.0.0.1, no `streaming-` host prefix),
    # and tailed the groups their ARNs name.
    assert follow.usage.sessions >= 1
    assert {(r["logGroupIdentifier"], r["message"]) for r in seen_results} >= {
        (arns["/aws/lambda/a"], "a history"),
        (arns["/aws/lambda/b"], "b history"),
    }
    # moto ends each session at once: after three, the groups are polled, with a notice.
    assert wait_for(lambda: follow.usage.polling_groups == 2)
    put(logs, "/aws/lambda/b", "s", [(int(time.time() * 1000), "b new")])
    put(logs, "/aws/lambda/a", "s2", [(int(time.time() * 1000) + 1, "a new")])
    assert follow.wait_messages(4) == ["a history", "b history", "b new", "a new"]
    follow.end()
    assert (
        "Live Tail: the endpoint ended 3 sessions right after they started: following "
        "/aws/lambda/a, /aws/lambda/b by polling FilterLogEvents instead"
    ) in follow.stats.notices
    assert not any(r.late for r in follow.released)
    assert no_engine_threads()


def test_the_live_tail_client_skips_the_host_prefix_only_with_an_endpoint(endpoint: str) -> None:
    with_endpoint = live_tail_client(moto_ctx(endpoint), REGION)
    assert with_endpoint.meta.config.inject_host_prefix is False
    aws = live_tail_client(AwsContext(session=boto3.Session(region_name=REGION)), REGION)
    assert aws.meta.config.inject_host_prefix is True
    assert aws.meta.config.read_timeout == 15.0


# --- scripted sessions (moto serves the fills) ---


def test_sampled_updates_are_said_and_their_events_read_with_filter_log_events(
    endpoint: str, client
) -> None:
    logs = client("logs")
    put(logs, "/aws/lambda/a", "s", [])
    ctx = moto_ctx(endpoint)
    arn = resolve_arns(ctx, lambda_queries("/aws/lambda/a"))["/aws/lambda/a"]
    since = int(time.time() * 1000) - 5_000
    usage_seen: list[LiveTailUsage] = []
    # A burst stamped as it is ingested (a second from now), of which Live Tail shows a sample.
    soon = int(time.time() * 1000) + 1_000
    burst = [(soon + 3 * i, f"burst {i}") for i in range(10)]
    # Two identical lines in one millisecond are two events, not a repeat.
    twins = [(soon + 100, "twin"), (soon + 100, "twin")]

    def ingest_burst() -> None:
        # The first fill (from `since`) is done: what comes now only the session sees.
        assert wait_for(lambda: usage_seen[0].fills_done >= 1)
        put(logs, "/aws/lambda/a", "s", burst + twins)

    def scripts(region: str, arns: Sequence[str], n: int) -> list[Step]:
        sample = [result(arn, "s", t, m) for t, m in burst[::4]] + [result(arn, "s", *twins[0])]
        return [
            session_start(arns),
            update([]),
            ingest_burst,
            update(sample, sampled=True),
            Heartbeat(),
        ]

    follow = Follow(ctx, lambda_queries("/aws/lambda/a"), since, opener=FakeLiveTail(scripts))
    usage_seen.append(follow.usage)
    got = follow.wait_messages(12)
    follow.end()

    assert got == [m for _, m in burst] + ["twin", "twin"]
    assert not any(r.late for r in follow.released)
    assert follow.usage.sampled_updates == 1 and follow.usage.fills_done == 2
    assert (
        "Live Tail sampled 1 update so far (more than 500 events a second matched): the events "
        "it left out are read with FilterLogEvents"
    ) in follow.stats.notices


def test_more_than_ten_groups_run_as_several_sessions_merged_in_time_order(
    endpoint: str, client
) -> None:
    logs = client("logs")
    groups = [f"/aws/lambda/f{i:02d}" for i in range(12)]
    for group in groups:
        put(logs, group, "s", [])
    ctx = moto_ctx(endpoint)
    arns = resolve_arns(ctx, lambda_queries(*groups))
    since = int(time.time() * 1000) - 5_000

    def scripts(region: str, session_arns: Sequence[str], n: int) -> list[Step]:
        # Each session's events interleave in time with the other's.
        names = [group_name_of(a) for a in session_arns]
        events = [
            result(arns[name], "s", since + 100 + 10 * i + (5 if n else 0), f"{name} {i}")
            for i, name in enumerate(names)
        ]
        return [session_start(session_arns), Pause(0.2 * n), update(events), Heartbeat()]

    fake = FakeLiveTail(scripts)
    follow = Follow(ctx, lambda_queries(*groups), since, opener=fake)
    got = follow.wait_messages(12)
    follow.end()

    assert sorted(len(arns_) for _, arns_ in fake.calls) == [2, 10]
    assert {a for _, arns_ in fake.calls for a in arns_} == set(arns.values())
    expected = sorted(
        (
            (since + 100 + 10 * i + 5 * n, f"{name} {i}")
            for n, (_, call) in enumerate(fake.calls)
            for i, name in enumerate(group_name_of(a) for a in call)
        ),
    )
    assert got == [m for _, m in expected]
    assert not any(r.late for r in follow.released)
    assert follow.usage.sessions == 2


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(
            exception("SessionStreamingException", "internal error"), id="stream-exception"
        ),
        pytest.param(ConnectionResetError(104, "Connection reset by peer"), id="dropped"),
    ],
)
def test_a_lost_session_reconnects_and_its_gap_is_filled_without_repeats(
    endpoint: str, client, failure: Step
) -> None:
    logs = client("logs")
    now = int(time.time() * 1000)
    since = now - 2_000
    # Stamped as they are ingested: e1, e2 before the follow, e3, e4 while no session is open,
    # e5 as the new session opens.
    e = [(now - 1_000, "e1"), (now - 900, "e2")]
    put(logs, "/aws/lambda/a", "s", e)
    ctx = moto_ctx(endpoint)
    arn = resolve_arns(ctx, lambda_queries("/aws/lambda/a"))["/aws/lambda/a"]

    def ingest(text: str) -> None:
        e.append((int(time.time() * 1000), text))
        put(logs, "/aws/lambda/a", "s", [e[-1]])
        time.sleep(0.01)

    def during_the_outage() -> None:
        ingest("e3")
        ingest("e4")

    def scripts(region: str, arns: Sequence[str], n: int) -> list[Step]:
        if n == 0:
            live = [result(arn, "s", t, m) for t, m in e[:2]]
            return [session_start(arns), update(live), during_the_outage, failure]
        ingest("e5")
        # The new session sees e4 again (it was ingested as it opened) and e5.
        live = [result(arn, "s", t, m) for t, m in e[3:]]
        return [session_start(arns), update(live), Heartbeat()]

    fake = FakeLiveTail(scripts)
    follow = Follow(ctx, lambda_queries("/aws/lambda/a"), since, opener=fake)
    got = follow.wait_messages(5)
    follow.end()

    assert got == ["e1", "e2", "e3", "e4", "e5"]
    assert not any(r.late for r in follow.released)
    assert follow.usage.sessions == 2 and follow.usage.reconnects == 1
    assert any(
        n.startswith("Live Tail: a session was lost (")
        and n.endswith("reconnecting, the gap is read with FilterLogEvents")
        for n in follow.stats.notices
    )
    assert follow.stats.duplicates >= 3  # e1, e2 (history fill) and e4 (both sessions)


def test_a_session_is_replaced_before_three_hours_new_one_first(endpoint: str, client) -> None:
    logs = client("logs")
    put(logs, "/aws/lambda/a", "s", [])
    ctx = moto_ctx(endpoint)
    arn = resolve_arns(ctx, lambda_queries("/aws/lambda/a"))["/aws/lambda/a"]
    now = int(time.time() * 1000)
    since = now - 2_000
    clock = [1_000.0]

    def three_hours_later() -> None:
        clock[0] += 3 * 3600

    def scripts(region: str, arns: Sequence[str], n: int) -> list[Step]:
        if n == 0:
            return [
                session_start(arns),
                update([result(arn, "s", now - 1_000, "one")]),
                three_hours_later,
                update([result(arn, "s", now - 900, "two")]),
                Heartbeat(),  # would go on; the engine replaces it
            ]
        # The new session overlaps the old one by an update.
        return [
            session_start(arns),
            update([result(arn, "s", now - 900, "two"), result(arn, "s", now - 800, "three")]),
            Heartbeat(),
        ]

    fake = FakeLiveTail(scripts)
    follow = Follow(
        ctx,
        lambda_queries("/aws/lambda/a"),
        since,
        opener=fake,
        max_session_s=3 * 3600 - 600,
        monotonic=lambda: clock[0],
    )
    got = follow.wait_messages(3)
    follow.end()

    assert got == ["one", "two", "three"]
    assert not any(r.late for r in follow.released)
    assert fake.log[:3] == ["open 0", "open 1", "close 0"]  # make before break
    assert follow.usage.rollovers == 1 and follow.usage.reconnects == 0
    assert not [n for n in follow.stats.notices if "lost" in n]


def test_a_refused_live_tail_falls_back_to_polling_with_a_notice(endpoint: str, client) -> None:
    logs = client("logs")
    since = int(time.time() * 1000) - 5_000
    put(logs, "/aws/lambda/a", "s", [(since + 100, "history")])
    ctx = moto_ctx(endpoint)
    tail_client = live_tail_client(ctx, REGION)
    stubber = Stubber(tail_client)
    stubber.add_client_error(
        "start_live_tail",
        "AccessDeniedException",
        "User is not authorized to perform: logs:StartLiveTail",
        http_status_code=400,
    )
    stubber.activate()

    def refusing(region: str, arns: Sequence[str]) -> TailStream:
        stream: TailStream = tail_client.start_live_tail(logGroupIdentifiers=list(arns))[
            "responseStream"
        ]
        return stream

    opener: Opener = refusing
    follow = Follow(ctx, lambda_queries("/aws/lambda/a"), since, opener=opener)
    assert follow.wait_messages(1) == ["history"]
    put(logs, "/aws/lambda/a", "s", [(int(time.time() * 1000), "later")])
    assert follow.wait_messages(2) == ["history", "later"]
    follow.end()
    stubber.assert_no_pending_responses()

    assert (
        "Live Tail refused (AccessDeniedException: User is not authorized to perform: "
        "logs:StartLiveTail): following /aws/lambda/a by polling FilterLogEvents instead"
    ) in follow.stats.notices
    assert follow.usage.polling_groups == 1 and follow.usage.sessions == 0


def test_stop_ends_the_follow_within_a_second_with_every_thread_joined(
    endpoint: str, client
) -> None:
    logs = client("logs")
    groups = [f"/aws/lambda/g{i:02d}" for i in range(11)] + ["/aws/lambda/missing"]
    for group in groups[:-1]:
        put(logs, group, "s", [])
    ctx = moto_ctx(endpoint)
    since = int(time.time() * 1000)

    def scripts(region: str, arns: Sequence[str], n: int) -> list[Step]:
        return [session_start(arns), Heartbeat(every=0.5)]

    follow = Follow(ctx, lambda_queries(*groups), since, opener=FakeLiveTail(scripts))
    assert wait_for(lambda: follow.usage.sessions == 2 and follow.usage.polling_groups == 1)
    beats = follow.batches
    time.sleep(1.1)
    assert follow.batches >= beats + 2  # heartbeats, at least one a second, while nothing comes

    took = follow.end()

    assert took < 1.0
    assert no_engine_threads()
    assert (
        "Live Tail: /aws/lambda/missing does not exist yet: polled with FilterLogEvents until it appears"
        in follow.stats.notices
    )


# --- pure pieces ---


def event(group: str, stream: str, ts: int, message: str) -> RawEvent:
    return RawEvent(ts, ts, group, stream, "", message, Source(Role.OTHER, group, REGION))


def test_content_dedupe_is_a_multiset_across_read_passes() -> None:
    dedupe = ContentDedupe()
    twins = [event("g", "s", 5, "x"), event("g", "s", 5, "x")]
    assert dedupe.admit(twins, origin=1) == twins  # a session: both are events
    assert dedupe.admit(twins, origin=2) == []  # a fill returns the same two: repeats
    assert dedupe.admit([*twins, event("g", "s", 5, "x")], origin=3) == [twins[0]]  # a third one
    assert dedupe.admit([event("g", "s2", 5, "x"), event("g", "s", 6, "x")], origin=2) != []
    assert dedupe.duplicates == 4


def test_group_names_from_identifiers() -> None:
    assert (
        group_name_of("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/a")
        == "/aws/lambda/a"
    )
    assert (
        group_name_of("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/a:*")
        == "/aws/lambda/a"
    )
    assert group_name_of("/aws/lambda/a") == "/aws/lambda/a"
