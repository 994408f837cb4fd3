"""A cold open reads the execution log while discovery runs (`open_api(first_read=...)`): the
first read of that window takes the pages over (nothing read twice, the same lines as without
it), any other read stops it, a guess that was wrong (no such group, no such API) is never
told, and its threads end with the read or the failed open."""

from __future__ import annotations

import threading
import time

import pytest

import apilogs
from apilogs.errors import ApiNotFound
from apilogs.fetch import FetchStats
from tests.support.awsproxy import AwsShape, aws_proxy
from tests.support.builders import (
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
    put_event,
)

# Round trips long enough that discovery (three or four of them) is still running when the
# execution log's first page is asked for.
SHAPE = AwsShape(rtt_ms=150, per_mb_ms=0, quota_rps=0)


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APILOGS_CACHE", "off")


def _api(client, lines: int = 5) -> tuple[str, int]:
    primes = make_function(client, "primes")
    api_id = make_rest_api(client, routes={"GET /primes": lambda_uri(primes)})
    execution = f"API-Gateway-Execution-Logs_{api_id}/prod"
    make_log_group(client, execution)
    make_log_group(client, "/aws/lambda/primes")
    now = int(time.time() * 1000)
    for i in range(lines):
        put_event(client, execution, "e", now - 9000 + i * 1000, f"({i:04d}) execution line {i}")
    put_event(client, "/aws/lambda/primes", "s", now - 5500, "from primes")
    return api_id, now


def _head_threads(api_id: str) -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(f"read API-Gateway-Execution-Logs_{api_id}") and t.is_alive()
    ]


def _gone(api_id: str, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while _head_threads(api_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _head_threads(api_id)


def _open_ahead(api_id: str, url: str, window: tuple[int, int], stats: FetchStats) -> apilogs.Api:
    """A cold open told which window (and stats) its first read will be."""
    return apilogs.open_api(
        api_id,
        "prod",
        endpoint_url=url,
        max_rps=0,
        first_read=apilogs.FirstRead(*window, stats=stats),
    )


def test_the_execution_log_is_read_while_discovery_runs(client, endpoint) -> None:
    api_id, now = _api(client)
    execution = f"API-Gateway-Execution-Logs_{api_id}/prod"
    window = (now - 60_000, now)
    with aws_proxy(endpoint, SHAPE) as proxy:
        plain = apilogs.open_api(api_id, "prod", endpoint_url=proxy.url, max_rps=0)
        expected = [(e.raw.group, e.message) for e in plain.events(*window)]
        proxy.reset()
        stats = FetchStats()
        api = _open_ahead(api_id, proxy.url, window, stats)
        opened = time.time()
        got = [(e.raw.group, e.message) for e in api.events(*window, stats=stats)]
        calls = proxy.stats(with_calls=True)["log"]
    assert got == expected and len(got) == 6
    reads = [c for c in calls if c["operation"] == "logs:FilterLogEvents"]
    of_execution = [c for c in reads if c["request"]["group"] == execution]
    # Read once, taken over by the read: not again after discovery.
    assert len(of_execution) == 1, of_execution
    discovery = [c for c in calls if not c["operation"].startswith("logs:Filter")]
    assert of_execution[0]["arrived"] < max(c["answered"] for c in discovery) < opened
    # The other groups are read once discovery found them.
    assert {c["request"]["group"] for c in reads} == {execution, "/aws/lambda/primes"}
    assert stats.groups == stats.groups_done == 2
    assert _gone(api_id)


def test_labelled_lines_and_cli_output_are_the_same_with_the_head_start(client, endpoint) -> None:
    api_id, now = _api(client)
    window = (now - 60_000, now)
    with aws_proxy(endpoint, SHAPE) as proxy:
        plain = apilogs.open_api(api_id, "prod", endpoint_url=proxy.url, max_rps=0)
        expected = [(e.event.message, e.request_id) for e in plain.labeled_events(*window)]
        stats = FetchStats()
        api = _open_ahead(api_id, proxy.url, window, stats)
        got = [(e.event.message, e.request_id) for e in api.labeled_events(*window, stats=stats)]
    assert got == expected and len(got) == 6


def test_a_read_of_another_window_stops_it(client, endpoint) -> None:
    api_id, now = _api(client)
    with aws_proxy(endpoint, SHAPE) as proxy:
        stats = FetchStats()
        api = _open_ahead(api_id, proxy.url, (now - 60_000, now), stats)
        # Another window: read from scratch, the guess dropped.
        got = [e.message for e in api.events(now - 7_500, now, stats=stats)]
    assert got == [
        "(0002) execution line 2",
        "(0003) execution line 3",
        "from primes",
        "(0004) execution line 4",
    ]
    assert stats.groups == stats.groups_done == 2
    assert _gone(api_id)
    # A relative window is resolved once, when the API is opened, for the read it was for.
    api = apilogs.open_api(
        api_id, "prod", endpoint_url=endpoint, max_rps=0, first_read=apilogs.FirstRead("1m")
    )
    opened = api.window("1m")
    time.sleep(1.1)
    assert api.window("1m") == opened
    list(api.events("1m", stats=FetchStats()))  # other stats: not taken over, stopped
    assert _gone(api_id)
    assert api.window("1m")[0] >= opened[0] + 1000  # resolved anew from now on


def test_a_wrong_guess_is_never_told(client, endpoint) -> None:
    # Execution logging never switched on: the group does not exist. The head start's read
    # finds that out; what the user is told is what discovery and the selection say, once.
    primes = make_function(client, "primes")
    api_id = make_rest_api(client, routes={"GET /primes": lambda_uri(primes)})
    make_log_group(client, "/aws/lambda/primes")
    now = int(time.time() * 1000)
    put_event(client, "/aws/lambda/primes", "s", now - 2000, "from primes")
    told = []
    for first_read in (False, True):
        stats = FetchStats()
        api = apilogs.open_api(
            api_id,
            "prod",
            endpoint_url=endpoint,
            max_rps=0,
            first_read=apilogs.FirstRead(now - 60_000, now, stats=stats) if first_read else None,
        )
        time.sleep(0.3)  # the guess's read has been answered: the group is missing
        assert [e.message for e in api.events(now - 60_000, now, stats=stats)] == ["from primes"]
        told.append((list(stats.notices), stats.gone_groups, stats.groups))
    assert told[0] == told[1]
    assert not any("does not exist: skipped" in n for n in told[1][0])
    assert _gone(api_id)


def test_a_failed_open_stops_the_guess(client, endpoint) -> None:
    with aws_proxy(endpoint, SHAPE) as proxy, pytest.raises(ApiNotFound):
        apilogs.open_api(
            "abcdef1234",
            "prod",
            endpoint_url=proxy.url,
            max_rps=0,
            first_read=apilogs.FirstRead("5m"),
        )
    assert _gone("abcdef1234")


def test_an_api_name_starts_no_guess(client, endpoint) -> None:
    _api(client)
    with aws_proxy(endpoint, SHAPE) as proxy:
        apilogs.open_api(
            "shop", "prod", endpoint_url=proxy.url, max_rps=0, first_read=apilogs.FirstRead("5m")
        )
        calls = proxy.stats()["calls"]
    assert "logs:FilterLogEvents" not in calls, calls


def test_stop_ends_a_taken_over_read(client, endpoint) -> None:
    api_id, now = _api(client, lines=1)
    stop = threading.Event()
    with aws_proxy(endpoint, AwsShape(rtt_ms=400, per_mb_ms=0, quota_rps=0)) as proxy:
        stats = FetchStats()
        api = _open_ahead(api_id, proxy.url, (now - 60_000, now), stats)
        # The Lambda group's read takes a 400 ms round trip: stopped before it can answer.
        threading.Timer(0.15, stop.set).start()
        started = time.monotonic()
        got = [e.message for e in api.events(now - 60_000, now, stats=stats, stop=stop)]
        took = time.monotonic() - started
    assert "from primes" not in got and took < 1.0, (got, took)
    assert _gone(api_id)


def test_a_cold_get_reads_the_execution_log_during_discovery(client, endpoint) -> None:
    from click.testing import CliRunner

    from apilogs.cli import cli

    api_id, now = _api(client)
    execution = f"API-Gateway-Execution-Logs_{api_id}/prod"
    args = ["-a", api_id, "-t", "prod", "-s", str(now - 60_000), "-e", str(now), "-o", "json"]
    outputs = []
    with aws_proxy(endpoint, SHAPE) as proxy:
        for extra in (["--source", "lambda", "--no-hold-back"], []):
            proxy.reset()
            result = CliRunner().invoke(
                cli, ["get", *args, *extra, "--endpoint-url", proxy.url, "--max-rps", "0"]
            )
            assert result.exit_code == 0, result.output
            outputs.append(result.stdout)
            calls = proxy.stats(with_calls=True)["log"]
            discovery_ends = max(
                c["answered"] for c in calls if not c["operation"].startswith("logs:Filter")
            )
            early = [
                c
                for c in calls
                if c["operation"] == "logs:FilterLogEvents"
                and c["request"]["group"] == execution
                and c["arrived"] < discovery_ends
            ]
            # Only a read that covers the execution log starts it early.
            assert len(early) == (0 if extra else 1), (extra, early)
    assert outputs[0].count("\n") == 1 and outputs[1].count("\n") == 6


def test_closing_the_api_stops_it_and_a_cli_error_before_the_read_does_too(
    client, endpoint
) -> None:
    from click.testing import CliRunner

    from apilogs.cli import cli

    api_id, now = _api(client)
    with aws_proxy(endpoint, SHAPE) as proxy:
        with _open_ahead(api_id, proxy.url, (now - 60_000, now), FetchStats()) as api:
            assert _head_threads(api_id)  # still reading: the proxy is slow
        assert _gone(api_id, within_s=1.0)
        assert api.topology.api_id == api_id  # closed, still usable
        # A command that fails after discovery (an unknown --source) reads nothing: the read
        # begun meanwhile must not run on in a process that goes on (a test, a notebook).
        window = ["-s", str(now - 60_000), "-e", str(now), "--endpoint-url", proxy.url]
        result = CliRunner().invoke(
            cli, ["get", "-a", api_id, "-t", "prod", *window, "--source", "nothing-like-this"]
        )
    assert result.exit_code != 0 and "nothing-like-this" in result.stderr
    assert _gone(api_id, within_s=1.0)


def test_stats_by_logs_insights_stops_it(client, endpoint) -> None:
    api_id, now = _api(client)
    stats = FetchStats()
    api = _open_ahead(api_id, endpoint, (now - 60_000, now), stats)
    api.stats(now - 60_000, now, engine="insights", stats=stats)
    assert _gone(api_id)
    assert stats.groups == 0  # the read begun ahead is not counted as one of the query's


def test_a_read_after_it_expired_starts_afresh(client, endpoint, monkeypatch) -> None:
    import apilogs.fetch

    monkeypatch.setattr(apilogs.fetch, "HEAD_START_EXPIRES_S", 0.2)
    api_id, now = _api(client)
    stats = FetchStats()
    api = _open_ahead(api_id, endpoint, (now - 60_000, now), stats)
    time.sleep(0.5)  # nobody read: it stopped itself
    assert _gone(api_id) and stats.groups == 0
    got = [e.message for e in api.events(now - 60_000, now, stats=stats)]
    assert len(got) == 6 and "from primes" in got
    # Counted once: the progress line says 2 of 2 groups, not 2 of 1.
    assert stats.groups == stats.groups_done == 2
