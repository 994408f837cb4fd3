"""The public Python API against moto's server: each function a script would call, and `stop`
ending a read within a second, with every thread it started joined — also while throttled."""

from __future__ import annotations

import threading
import time

import pytest

import apilogs
from apilogs import UpdateKind
from tests.support.builders import (
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
    put_event,
)
from tests.support.demo_data import Traffic
from tests.support.faultproxy import THROTTLE, fault_proxy


def _open(traffic: Traffic) -> apilogs.Api:
    return apilogs.open_api(
        traffic.app.rest_api_id, traffic.app.rest_stage, endpoint_url=traffic.url, max_rps=0
    )


def _window(traffic: Traffic) -> tuple[int, int]:
    return traffic.start_ms - 60_000, traffic.end_ms + 60_000


def _reader_threads(within_s: float = 2.0) -> list[str]:
    """The reader threads still alive `within_s` after a read ended. A reader may be inside
    its last call when it is stopped (on a loaded machine moto takes a while to answer); it
    must end once that call returns, not linger."""
    deadline = time.monotonic() + within_s
    while True:
        names = [t.name for t in threading.enumerate() if t.name.startswith(("read ", "follow "))]
        if not names or time.monotonic() > deadline:
            return names
        time.sleep(0.02)


def test_open_api_describes_the_topology(traffic: Traffic) -> None:
    api = _open(traffic)
    assert api.topology.api_id == traffic.app.rest_api_id
    roles = {str(s.role) for s in api.topology.sources}
    assert {"execution", "access", "lambda", "authorizer"} <= roles
    assert traffic.app.access_log_group in api.topology.log_groups()


def test_unknown_api_and_stage_are_typed_errors(traffic: Traffic) -> None:
    with pytest.raises(apilogs.ApiNotFound) as caught:
        apilogs.open_api("nope123", "prod", endpoint_url=traffic.url)
    assert caught.value.ref == "nope123"
    with pytest.raises(apilogs.StageNotFound) as stage:
        apilogs.open_api(traffic.app.rest_api_id, "qa", endpoint_url=traffic.url)
    assert stage.value.stages == (traffic.app.rest_stage,)


def test_events_are_every_line_once_in_time_order(traffic: Traffic) -> None:
    api = _open(traffic)
    groups = set(api.topology.log_groups())
    expected = sorted(
        (r.timestamp, r.group, r.stream, r.message)
        for request in traffic.truth
        for r in request.records
        if r.group in groups
    )
    start, end = _window(traffic)
    got = [(e.timestamp, e.raw.group, e.raw.stream, e.message) for e in api.events(start, end)]
    assert sorted(got) == expected
    assert [g[0] for g in got] == sorted(g[0] for g in got)


def test_times_take_what_the_cli_takes(traffic: Traffic) -> None:
    api = _open(traffic)
    with pytest.raises(apilogs.InvalidInput):
        api.window("yesterdayy")
    with pytest.raises(apilogs.InvalidInput):
        api.window("1h", "2h")  # the end before the start
    start, end = api.window("1h ago", "now")
    assert 3_590_000 < end - start < 3_610_000


def test_requests_stats_and_find(traffic: Traffic) -> None:
    api = _open(traffic)
    start, end = _window(traffic)
    requests = list(api.requests(start, end))
    truth = {t.request_id: t for t in traffic.rest()}
    assert {r.request_id for r in requests} == set(truth)
    assert all(r.status == truth[r.request_id].status for r in requests if r.request_id)

    summary = api.stats(start, end)
    assert summary.requests == len(requests)
    assert sum(summary.by_status.values()) == len(requests)

    asked = next(t for t in traffic.rest() if t.lambda_request_id and t.status == 502)
    [found] = api.find(asked.lambda_request_id or "", start, end)
    assert found.request_id == asked.request_id and found.status == 502
    assert api.find("00000000-0000-4000-8000-000000000000", start, end) == []
    with pytest.raises(apilogs.RequestNotFound):
        api.find("00000000-0000-4000-8000-000000000000", start, end, must_exist=True)


def test_find_and_stats_say_when_they_were_stopped(traffic: Traffic) -> None:
    api = _open(traffic)
    stop = threading.Event()
    stop.set()
    start, end = _window(traffic)
    with pytest.raises(apilogs.Cancelled):
        api.stats(start, end, stop=stop)
    with pytest.raises(apilogs.Cancelled):
        api.find(traffic.rest()[0].request_id, start, end, stop=stop)


@pytest.fixture
def small_api(client) -> str:
    fn = make_function(client, "primes")
    api_id = make_rest_api(client, routes={"GET /primes": lambda_uri(fn)}, access_group="/acc")
    for group in (f"API-Gateway-Execution-Logs_{api_id}/prod", "/acc", "/aws/lambda/primes"):
        make_log_group(client, group)
    return api_id


RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
LID = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def put_start(client, at_ms: int) -> None:  # type: ignore[no-untyped-def]
    """The START of invocation LID in the primes function's log."""
    put_event(
        client,
        "/aws/lambda/primes",
        "2024/01/01/[$LATEST]a",
        at_ms,
        f"START RequestId: {LID} Version: $LATEST",
    )


def test_follow_requests_reports_a_request_as_it_happens(client, endpoint, small_api) -> None:
    api = apilogs.open_api(small_api, "prod", endpoint_url=endpoint, max_rps=0)
    execution = f"API-Gateway-Execution-Logs_{small_api}/prod"
    stop = threading.Event()
    updates: list[apilogs.RequestUpdate] = []

    def follow() -> None:
        for update in api.follow_requests(start="5s", interval=0.1, close_after_ms=500, stop=stop):
            updates.append(update)

    thread = threading.Thread(target=follow)
    thread.start()
    try:
        now = int(time.time() * 1000)
        put_event(client, execution, "e1", now, f"({RID}) Starting execution for request: {RID}")
        put_event(
            client, execution, "e1", now + 1, f"({RID}) HTTP Method: GET, Resource Path: /primes"
        )
        deadline = time.time() + 10
        while time.time() < deadline and not updates:
            time.sleep(0.05)
        assert updates and updates[0].kind is UpdateKind.NEW
        assert updates[0].request.request_id == RID and updates[0].request.in_progress
        put_start(client, now + 5)
        put_event(
            client,
            execution,
            "e1",
            now + 20,
            f"({RID}) Endpoint response headers: {{x-amzn-RequestId={LID}}}",
        )
        put_event(client, execution, "e1", now + 21, f"({RID}) Method completed with status: 200")
        while time.time() < deadline and not any(u.kind is UpdateKind.CLOSED for u in updates):
            time.sleep(0.05)
    finally:
        stopped_at = time.monotonic()
        stop.set()
        thread.join(5)
    assert time.monotonic() - stopped_at < 1.5, "follow_requests did not stop within a second"
    assert not thread.is_alive() and _reader_threads() == []
    closed = [u for u in updates if u.kind is UpdateKind.CLOSED]
    assert len(closed) == 1
    request = closed[0].request
    assert request.request_id == RID and request.status == 200 and not request.in_progress
    assert request.lambda_request_ids == (LID,)
    # One request: NEW once, CLOSED once, UPDATED in between.
    assert [u.kind for u in updates].count(UpdateKind.NEW) == 1


RID2 = "7716c192-7015-11e6-97ac-c34deb0b3dd9"


def test_a_labelled_follow_does_not_hold_the_stream_behind_a_running_request(
    client, endpoint, small_api
) -> None:
    """Request A's Lambda is still running (its line cannot be labelled yet) when request B's
    lines arrive: B's lines are delivered at once; A's START follows once A's answer names its
    invocation, labelled, and marked late; or, when the watermark let it out with B's lines, in
    its place, joined by timing to A, the one request that could have started it (probable)."""
    api = apilogs.open_api(small_api, "prod", endpoint_url=endpoint, max_rps=0)
    execution = f"API-Gateway-Execution-Logs_{small_api}/prod"
    stop = threading.Event()
    got: list[apilogs.FollowedEvent] = []

    def follow() -> None:
        for batch in api.follow(start="5s", label=True, interval=0.1, stop=stop):
            got.extend(batch.events)

    def wait_for(text: str) -> None:
        deadline = time.time() + 10
        while time.time() < deadline and not any(text in e.event.message for e in got):
            time.sleep(0.05)

    arn = "arn:aws:lambda:us-east-1:123456789012:function:primes"
    uri = f"Endpoint request URI: https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/{arn}/invocations"
    thread = threading.Thread(target=follow)
    thread.start()
    try:
        now = int(time.time() * 1000) - 3_000  # every line in the past: none waits for the clock
        put_event(client, execution, "e1", now, f"({RID}) Starting execution for request: {RID}")
        put_event(client, execution, "e1", now + 1, f"({RID}) {uri}")
        wait_for("Endpoint request URI")  # the call is known before its invocation is read
        put_start(client, now + 5)
        # B starts while A's Lambda has run for 1.5 s, past the half second a line may block.
        put_event(
            client, execution, "e2", now + 1500, f"({RID2}) Starting execution for request: {RID2}"
        )
        wait_for(f"request: {RID2}")
        assert [e.event.message for e in got][-1].endswith(RID2)  # not behind A's START
        # A's START is either still held, or was let out in its place joined by timing to the
        # one request that could have started it (probable): the watermark may hold both lines
        # until A's call and B's start are both known (issue 28, item 6).
        early = [e for e in got if e.event.message.startswith("START")]
        assert all(e.request_id == RID and e.probable for e in early)
        put_event(
            client,
            execution,
            "e1",
            now + 2000,
            f"({RID}) Endpoint response headers: {{x-amzn-RequestId={LID}}}",
        )
        wait_for("START RequestId")
    finally:
        stop.set()
        thread.join(5)
    [start] = [e for e in got if e.event.message.startswith("START")]
    # Held: labelled once A's answer names it, and marked late; or let out in place, probable.
    assert start.request_id == RID and (start.late or start.probable)
    assert [e.request_id for e in got if e.event.message.endswith(RID2)] == [RID2]
    assert not any(e.late for e in got if e is not start)


def test_stop_ends_a_read_while_every_call_is_throttled(client, endpoint, small_api) -> None:
    with fault_proxy(endpoint) as proxy:
        proxy.every = THROTTLE
        api = apilogs.open_api(small_api, "prod", endpoint_url=proxy.url)
        stop = threading.Event()
        stats = apilogs.FetchStats()
        got: list[object] = []
        reader = threading.Thread(
            target=lambda: got.extend(api.events("10m", stop=stop, stats=stats))
        )
        reader.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and stats.throttles < 3:
            time.sleep(0.05)
        assert reader.is_alive(), "the read ended although every call was throttled"
        stopped_at = time.monotonic()
        stop.set()
        reader.join(5)
        took = time.monotonic() - stopped_at
    assert not reader.is_alive() and took < 1.0, f"stop took {took:.2f} s"
    assert _reader_threads() == []
    assert got == [] and stats.throttles >= 3
    # Counted once each: what the proxy refused is what apilogs counted.
    assert stats.throttles == proxy.counts[THROTTLE]


def test_the_readme_example_runs(traffic: Traffic) -> None:
    """README's Python API example, as written, against the test server."""
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[3] / "README.md"
    [code] = re.findall(r"## Python API.*?```python\n(.*?)```", readme.read_text(), re.S)
    # The test traffic is a few minutes old: follow from before it, for a moment.
    code = code.replace("http://127.0.0.1:5555", traffic.url).replace("Timer(5,", "Timer(3,")
    code = code.replace('follow_requests(start="1m"', 'follow_requests(start="10m"')
    printed: list[str] = []
    exec(
        compile(code, "README.md", "exec"),
        {"print": lambda *a: printed.append(" ".join(map(str, a)))},
    )
    assert printed[0].startswith("Eratosthenes")
    assert any(line.endswith(" lines") for line in printed)
    assert any(line.startswith(("new ", "updated ", "closed ")) for line in printed)
