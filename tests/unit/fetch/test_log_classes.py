"""Log group classes: an Infrequent Access group is read through Logs Insights, merged with the
groups FilterLogEvents reads; a Delivery group is said and skipped; following says what it cannot
follow.

moto knows no log classes: a small proxy in front of the test server gives one group a class as
AWS would — `logGroupClass` in DescribeLogGroups, and FilterLogEvents refused for it with AWS's
InvalidOperationException — and can deny DescribeLogGroups (a role that may not describe groups,
so the class is learned from the refusal). moto's StartQuery/GetQueryResults answer the events
query the Insights engine sends (`fields … | sort @timestamp asc | limit N`, and `filter @message
like …` for lookups), so the Insights reads are real."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

import apilogs
from apilogs.cli import cli
from apilogs.discover import cache as topology_cache
from apilogs.fetch import FetchStats
from tests.support.builders import lambda_uri, make_function, make_log_group, make_rest_api
from tests.support.demo_data import Traffic

# An hour ago, on a whole second: CloudWatch Logs refuses events older than 14 days.
BASE_MS = (int(time.time()) - 3600) * 1000
IA = "INFREQUENT_ACCESS"
DELIVERY = "DELIVERY"
INSIGHTS_NOTICE = "is Infrequent Access: read through Logs Insights"


@dataclass
class ClassProxy:
    """Forwards to the test server; answers for the log classes of `classes` as AWS does."""

    upstream: str
    classes: dict[str, str]
    deny_describe: bool = False
    # (operation, group) of every CloudWatch Logs call; StartQuery counts each group it names.
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
                status, headers, data = proxy.answer(operation, body, self)
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(
        self, operation: str, body: bytes, handler: BaseHTTPRequestHandler
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        asked = json.loads(body or b"{}") if operation else {}
        for group in asked.get("logGroupNames") or [asked.get("logGroupName", "")]:
            self.calls[(operation, group)] += 1
        group = asked.get("logGroupName", "")
        if operation == "DescribeLogGroups" and self.deny_describe:
            return _error(
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/oncall is not authorized to "
                "perform: logs:DescribeLogGroups",
            )
        if operation == "FilterLogEvents" and group in self.classes:
            return _error(
                "InvalidOperationException",
                f"The log group {group} is of log-group-class {self.classes[group]}. "
                "FilterLogEvents is not supported for this log class",
            )
        status, headers, data = self._forward(handler, body)
        if operation == "DescribeLogGroups" and status == 200:
            page = json.loads(data)
            for described in page.get("logGroups", ()):
                described["logGroupClass"] = self.classes.get(described["logGroupName"], "STANDARD")
            data = json.dumps(page).encode()
        return status, headers, data

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        target = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
            conn.request(handler.command, handler.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def filtered(self, group: str) -> int:
        return self.calls[("FilterLogEvents", group)]

    def queried(self, group: str) -> int:
        return self.calls[("StartQuery", group)]


def _error(code: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    return 400, [("Content-Type", "application/x-amz-json-1.1")], body


@contextlib.contextmanager
def class_proxy(upstream: str, classes: dict[str, str], **kwargs: bool) -> Iterator[ClassProxy]:
    proxy = ClassProxy(upstream, classes, **kwargs)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()


@dataclass
class Shop:
    api_id: str
    execution: str
    access: str
    primes: str
    orders: str
    # (timestamp, group, message) of every event written, in time order
    events: list[tuple[int, str, str]]


@pytest.fixture
def shop(client) -> Shop:
    primes = make_function(client, "primes")
    orders = make_function(client, "orders")
    api_id = make_rest_api(
        client,
        routes={"GET /primes": lambda_uri(primes), "POST /orders": lambda_uri(orders)},
        access_group="/access/shop",
    )
    execution = f"API-Gateway-Execution-Logs_{api_id}/prod"
    groups = [execution, "/access/shop", "/aws/lambda/primes", "/aws/lambda/orders"]
    logs = client("logs")
    events = []
    for index, group in enumerate(groups):
        make_log_group(client, group)
        logs.create_log_stream(logGroupName=group, logStreamName="s1")
        # Interleaved in time across the groups: a merge that appends one group's events after
        # the others' would put them out of order.
        written = [(BASE_MS + i * 1_000 + index * 10, f"{group} line {i}") for i in range(30)]
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s1",
            logEvents=[{"timestamp": t, "message": m} for t, m in written],
        )
        events += [(t, group, m) for t, m in written]
    events.sort()
    return Shop(api_id, execution, "/access/shop", groups[2], groups[3], events)


def run_get(url: str, shop: Shop, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(
        cli,
        [
            "get",
            *("-a", shop.api_id, "-t", "prod", "-o", "json"),
            *("-s", str(BASE_MS - 1), "-e", str(BASE_MS + 60_000)),
            *("--endpoint-url", url, "--max-rps", "0"),
            *extra,
        ],
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def shown(lines: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(line["timestamp"], line["group"], line["message"]) for line in lines]


# --- discovery ---------------------------------------------------------------------------------


def test_discovery_reads_each_groups_class_and_the_cache_keeps_it(endpoint, shop) -> None:
    with class_proxy(endpoint, {shop.primes: IA}) as proxy:
        api = apilogs.open_api(shop.api_id, "prod", endpoint_url=proxy.url, max_rps=0)

    by_group = {s.log_group: s.log_class for s in api.topology.sources}
    assert by_group[shop.primes] == IA
    assert by_group[shop.orders] == "STANDARD"
    assert by_group[shop.execution] == "STANDARD"

    key = topology_cache.cache_key(None, "us-east-1", proxy.url, shop.api_id, "prod")
    topology_cache.store(key, api.topology, _fingerprint())
    loaded = topology_cache.load(key)
    assert loaded is not None
    assert {s.log_group: s.log_class for s in loaded[0].sources} == by_group
    topology_cache.forget(key)


def test_a_denied_describe_leaves_the_class_unknown(endpoint, shop) -> None:
    with class_proxy(endpoint, {shop.primes: IA}, deny_describe=True) as proxy:
        api = apilogs.open_api(shop.api_id, "prod", endpoint_url=proxy.url, max_rps=0)

    assert {s.log_class for s in api.topology.sources} == {None}


def _fingerprint() -> topology_cache.Fingerprint:
    return topology_cache.Fingerprint("123456789012", "d1", "today", (), ())


# --- window reads ------------------------------------------------------------------------------


def test_get_reads_an_infrequent_access_group_through_insights_merged(endpoint, shop) -> None:
    with class_proxy(endpoint, {shop.primes: IA}) as proxy:
        code, lines, err = run_get(proxy.url, shop)

    assert code == 0, err
    # Every event of every group, the Infrequent Access group's among them, in time order.
    assert shown(lines) == shop.events
    assert {line["group"] for line in lines} == {
        shop.execution,
        shop.access,
        shop.primes,
        shop.orders,
    }
    assert err.count(INSIGHTS_NOTICE) == 1
    assert f"log group {shop.primes} {INSIGHTS_NOTICE}" in err
    # Known from discovery: never asked of FilterLogEvents; Insights asked for it alone.
    assert proxy.filtered(shop.primes) == 0
    assert proxy.queried(shop.primes) >= 1
    assert proxy.queried(shop.orders) == 0
    assert proxy.filtered(shop.orders) >= 1


def test_an_unknown_class_refused_by_filter_log_events_switches_to_insights(endpoint, shop) -> None:
    with class_proxy(endpoint, {shop.primes: IA}, deny_describe=True) as proxy:
        code, lines, err = run_get(proxy.url, shop)

    assert code == 0, err
    assert shown(lines) == shop.events
    assert err.count(INSIGHTS_NOTICE) == 1
    assert f"log group {shop.primes} {INSIGHTS_NOTICE}" in err
    assert "InvalidOperationException" not in err
    # Refused once (the class is fixed: no retry), then read by Insights.
    assert proxy.filtered(shop.primes) == 1
    assert proxy.queried(shop.primes) >= 1


@pytest.mark.parametrize("deny_describe", [False, True], ids=["known", "refused"])
def test_a_delivery_group_is_said_and_the_rest_is_read(endpoint, shop, deny_describe) -> None:
    with class_proxy(endpoint, {shop.access: DELIVERY}, deny_describe=deny_describe) as proxy:
        code, lines, err = run_get(proxy.url, shop)

    assert code == 0, err
    assert shown(lines) == [e for e in shop.events if e[1] != shop.access]
    delivery = [line for line in err.splitlines() if "Delivery class" in line]
    assert len(delivery) == 1
    assert shop.access in delivery[0] and "skipped" in delivery[0]
    assert proxy.queried(shop.access) == 0
    assert proxy.filtered(shop.access) == (1 if deny_describe else 0)


def test_a_filter_pattern_cannot_reach_an_infrequent_access_group(endpoint, shop) -> None:
    with class_proxy(endpoint, {shop.primes: IA}) as proxy:
        code, lines, err = run_get(proxy.url, shop, "--filter-pattern", '"line 3"')

    assert code == 0, err
    assert lines and all("line 3" in str(line["message"]) for line in lines)
    assert {line["group"] for line in lines} == {shop.execution, shop.access, shop.orders}
    assert f"log group {shop.primes} is Infrequent Access" in err
    assert "cannot apply a filter pattern" in err


def test_requests_and_show_are_the_same_when_a_function_group_is_infrequent_access(
    traffic: Traffic,
) -> None:
    """The demo's requests read with the primes function's group in Infrequent Access: the same
    requests, statuses, causes and Lambda durations as read all through FilterLogEvents; and a
    lookup of a request finds its Lambda lines in that group through Insights."""
    app = traffic.app
    group = app.primes.log_group
    window = ["-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 60_000)]
    target = ["-a", app.rest_api_id, "-t", app.rest_stage, *window, "--max-rps", "0"]

    def run(url: str, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, [*args, *target, "--endpoint-url", url])
        return result.exit_code, result.stdout, result.stderr

    code, direct, err = run(traffic.url, "requests", "-o", "json")
    assert code == 0, err
    with class_proxy(traffic.url, {group: IA}) as proxy:
        code, through, err = run(proxy.url, "requests", "-o", "json")
        assert code == 0, err
        assert err.count(INSIGHTS_NOTICE) == 1
        assert proxy.filtered(group) == 0
        ok = traffic.forced["ok"]  # GET /primes, answered by the primes function
        code, found, err = run(proxy.url, "show", ok.request_id, "-o", "json")
    assert code == 0, err
    assert proxy.filtered(group) == 0
    assert len(direct.splitlines()) > 100
    assert through == direct
    story = json.loads(found)
    lambda_lines = [e for e in story["events"] if e["group"] == group]
    assert ok.lambda_request_id is not None
    assert any(e["kind"] == "lambda.report" for e in lambda_lines)
    assert all(e["lambda_request_id"] in (ok.lambda_request_id, None) for e in lambda_lines)


# --- following ---------------------------------------------------------------------------------


@pytest.mark.parametrize("deny_describe", [False, True], ids=["known", "refused"])
def test_following_says_an_infrequent_access_group_cannot_be_followed(
    endpoint, client, shop, deny_describe
) -> None:
    """The other groups are followed at once: the group left out never holds them back."""
    with class_proxy(endpoint, {shop.primes: IA}, deny_describe=deny_describe) as proxy:
        api = apilogs.open_api(shop.api_id, "prod", endpoint_url=proxy.url, max_rps=0)
        stop = threading.Event()
        stats = FetchStats()
        now = int(time.time() * 1000)
        logs = client("logs")
        for group in (shop.execution, shop.primes):
            logs.put_log_events(
                logGroupName=group,
                logStreamName="s1",
                logEvents=[{"timestamp": now, "message": f"{group} now"}],
            )
        got: list[str] = []
        began = time.monotonic()
        for batch in api.follow(now - 5_000, interval=0.2, stop=stop, stats=stats):
            got += [e.event.raw.group for e in batch.events]
            if shop.execution in got or time.monotonic() - began > 20:
                stop.set()
        waited = time.monotonic() - began

    assert shop.execution in got
    # Well before the merge's 30 s hold-back would have let it go.
    assert waited < 10
    assert shop.primes not in got
    unfollowable = [n for n in stats.notices if "cannot be followed" in n]
    assert len(unfollowable) == 1 and shop.primes in unfollowable[0]
    assert proxy.filtered(shop.primes) == (1 if deny_describe else 0)
