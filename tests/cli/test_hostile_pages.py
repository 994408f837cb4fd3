"""A broken or hostile CloudWatch Logs endpoint must not end a run: a page that is not UTF-8 and
an event whose timestamp is no time are printed, said once on stderr, and the stream goes on.

Faults come from tests.support.faultproxy (BAD_UTF8: a 0xFF byte in every FilterLogEvents answer) and,
for timestamps moto will not store, from a small rewriting proxy in front of the moto server."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.fetch.pages import REPLACED_KEY, decode_filter_page
from tests.support.builders import lambda_uri, make_function, make_log_group, make_rest_api
from tests.support.demo_data import Traffic
from tests.support.faultproxy import BAD_UTF8, fault_proxy

GROUP = "/aws/lambda/primes"
HUGE = 99999999999999999999999
HUGE_NEGATIVE = -99999999999999999999
NOT_UTF8 = "held bytes that are not UTF-8"
RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"


@pytest.fixture
def api_id(client) -> str:  # type: ignore[no-untyped-def]
    fn = make_function(client, "primes")
    api = make_rest_api(client, routes={"GET /primes": lambda_uri(fn)}, access_group="/acc")
    for group in (f"API-Gateway-Execution-Logs_{api}/prod", "/acc", GROUP):
        make_log_group(client, group)
    logs = client("logs")
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": now - 1000 + i, "message": f"hello {i}"} for i in range(3)],
    )
    return api


def _get(url: str, api_id: str, *args: str) -> Any:
    return CliRunner().invoke(
        cli,
        [*args, "-a", api_id, "-t", "prod", "-s", "5m", "--endpoint-url", url, "--max-rps", "0"],
    )


def _not_utf8_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if NOT_UTF8 in line]


# --- a page that is not UTF-8 ------------------------------------------------------------------


def test_a_page_that_is_not_utf8_is_decoded_event_by_event() -> None:
    """Only the event with the bad bytes changes; a lone surrogate sent as a JSON escape and a
    private-use character (what the decoder marks bytes with) are kept as sent."""
    raw = (
        b'{"events":[{"timestamp":1,"message":"lone \\ud800 escape"},'
        b'{"timestamp":2,"message":"bad \xff\xfe bytes"},'
        b'{"timestamp":3,"message":"private \xee\x80\x80 and \\ue001"}],"nextToken":"t"}'
    )
    response = {"status_code": 200, "body": raw, "headers": {}}
    custom: dict[str, Any] = {}
    decode_filter_page(response, custom)
    messages = [e["message"] for e in custom["events"]]
    assert messages == ["lone \ud800 escape", "bad \ufffd\ufffd bytes", "private \ue000 and \ue001"]
    assert custom[REPLACED_KEY] == {1: 2}
    assert json.loads(response["body"]) == {"nextToken": "t"}


def test_get_prints_the_whole_window_and_says_the_bad_page_once(endpoint, api_id) -> None:  # type: ignore[no-untyped-def]
    with fault_proxy(endpoint) as proxy:
        proxy.every = BAD_UTF8
        result = _get(proxy.url, api_id, "get", "--source", "lambda")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.rsplit(" ", 2)[-2:] for line in lines] == [
        ["\ufffdhello", "0"],
        ["hello", "1"],
        ["hello", "2"],
    ]
    [notice] = result.stderr.splitlines()
    assert f"{GROUP}: 1 event {NOT_UTF8} (1 byte shown as U+FFFD)" in notice


def test_every_command_reads_through_pages_that_are_not_utf8(traffic: Traffic) -> None:
    """get (plain and JSON), requests, stats and show over three minutes of traffic, every page
    with a byte that is not UTF-8: each prints what it prints without the fault."""
    app = traffic.app
    window = ["-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 60_000)]

    def run(url: str, *args: str) -> Any:
        target = ["-a", app.rest_api_id, "-t", app.rest_stage, *window]
        return CliRunner().invoke(cli, [*args, *target, "--endpoint-url", url, "--max-rps", "0"])

    clean = run(traffic.url, "get", "-o", "json")
    clean_requests = run(traffic.url, "requests", "-o", "json")
    assert clean.exit_code == clean_requests.exit_code == 0
    some_id = json.loads(clean_requests.stdout.splitlines()[-1])["request_id"]
    with fault_proxy(traffic.url) as proxy:
        proxy.every = BAD_UTF8
        got = {
            name: run(proxy.url, *args)
            for name, args in {
                "json": ("get", "-o", "json"),
                "plain": ("get",),
                "requests": ("requests", "-o", "json"),
                "stats": ("stats",),
                "show": ("show", some_id),
            }.items()
        }
    for name, result in got.items():
        assert result.exit_code == 0, (name, result.stderr)
        assert _not_utf8_lines(result.stderr), (name, result.stderr)
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr

    want = [json.loads(line) for line in clean.stdout.splitlines()]
    have = [json.loads(line) for line in got["json"].stdout.splitlines()]
    assert [e["event_id"] for e in have] == [e["event_id"] for e in want]
    changed = [(w, h) for w, h in zip(want, have, strict=True) if w["message"] != h["message"]]
    assert changed, "the fault must have touched some events"
    # The fault puts one byte before the first message of each page: that event, and only its
    # first character, differs.
    assert all(h["message"] == "\ufffd" + w["message"] for w, h in changed)
    # Each group with such pages is told at its first page, then (more than one) in all: the
    # last notice of a group counts every byte replaced in it.
    told = _not_utf8_lines(got["json"].stderr)
    last: dict[str, str] = {}
    for line in told:
        last[line.removeprefix("apilogs: warning: ").split(": ", 1)[0]] = line
    assert set(last) == {h["group"] for _, h in changed}
    counted = sum(int(re.search(r"(\d+) bytes? shown", line)[1]) for line in last.values())  # type: ignore[index]
    assert counted == len(changed)

    assert len(got["plain"].stdout.splitlines()) >= len(want)
    assert len(got["requests"].stdout.splitlines()) > 0
    assert "requests" in got["stats"].stdout
    assert some_id in got["show"].stdout


def test_following_through_pages_that_are_not_utf8_tells_each_event_once(  # type: ignore[no-untyped-def]
    endpoint, api_id
) -> None:
    """Polls read the same events again (the look-back): each corrupted page comes back, but
    the events are printed once and told once."""
    with fault_proxy(endpoint) as proxy:
        proxy.every = BAD_UTF8
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "apilogs", "get", "-a", api_id, "-t", "prod", "-w"),
                *("--source", "lambda", "--watch-interval", "0.2", "--max-rps", "0"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            env={**os.environ, "AWS_ENDPOINT_URL": proxy.url, "AWS_EC2_METADATA_DISABLED": "true"},
        )
        try:
            lines = [proc.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
            # Several more polls, each answered with a corrupted page.
            deadline = time.time() + 10
            while time.time() < deadline and proxy.counts["matched"] < 10:
                time.sleep(0.1)
            assert proxy.counts["matched"] >= 10
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    assert proc.returncode == 130, err
    lines += out.splitlines()
    assert [line.split()[-2:] for line in lines if line.strip()] == [
        ["\ufffdhello", "0"],
        ["hello", "1"],
        ["hello", "2"],
    ]
    [notice] = _not_utf8_lines(err)
    assert f"{GROUP}: 1 event {NOT_UTF8}" in notice


# --- timestamps that are no time ---------------------------------------------------------------


@contextlib.contextmanager
def rewriting_proxy(upstream: str, rewrite: Callable[[dict[str, Any]], None]) -> Iterator[str]:
    """A proxy whose FilterLogEvents answers pass through `rewrite` (the decoded JSON, edited in
    place): values moto would never store, as a hostile endpoint sends them."""
    parts = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            if self.headers.get("X-Amz-Target", "").endswith(".FilterLogEvents"):
                doc = json.loads(data)
                rewrite(doc)
                data = json.dumps(doc).encode()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST
        do_PUT = do_POST
        do_PATCH = do_POST
        do_DELETE = do_POST

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def times_api(client) -> str:  # type: ignore[no-untyped-def]
    fn = make_function(client, "primes")
    api = make_rest_api(client, routes={"GET /primes": lambda_uri(fn)}, access_group="/acc")
    for group in (f"API-Gateway-Execution-Logs_{api}/prod", "/acc", GROUP):
        make_log_group(client, group)
    logs = client("logs")
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    now = int(time.time() * 1000)
    names = ["before", "future", "past", "ingested", "after"]
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="s",
        logEvents=[{"timestamp": now - 1000 + i, "message": m} for i, m in enumerate(names)],
    )
    # One request whose every line has a timestamp that is no time.
    execution = f"API-Gateway-Execution-Logs_{api}/prod"
    logs.create_log_stream(logGroupName=execution, logStreamName="e")
    lines = [
        f"({RID}) Starting execution for request: {RID}",
        f"({RID}) HTTP Method: GET, Resource Path: /primes",
        f"({RID}) Method completed with status: 502",
    ]
    logs.put_log_events(
        logGroupName=execution,
        logStreamName="e",
        logEvents=[{"timestamp": now - 900 + i, "message": m} for i, m in enumerate(lines)],
    )
    return api


def _hostile_times(doc: dict[str, Any]) -> None:
    for event in doc.get("events", ()):
        if event["message"] == "future":
            event["timestamp"] = HUGE
        elif event["message"] == "past":
            event["timestamp"] = HUGE_NEGATIVE
        elif event["message"] == "ingested":
            event["ingestionTime"] = 10**30
        elif event["message"].startswith(f"({RID})"):
            event["timestamp"] = HUGE


def test_json_keeps_a_timestamp_that_is_no_time_and_goes_on(endpoint, times_api) -> None:  # type: ignore[no-untyped-def]
    with rewriting_proxy(endpoint, _hostile_times) as url:
        result = _get(url, times_api, "get", "-o", "json", "--source", "lambda")
    assert result.exit_code == 0, result.stderr
    docs = {d["message"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert set(docs) == {"before", "future", "past", "ingested", "after"}
    assert (docs["future"]["timestamp"], docs["future"]["time"]) == (HUGE, None)
    assert (docs["past"]["timestamp"], docs["past"]["time"]) == (HUGE_NEGATIVE, None)
    assert docs["ingested"]["ingestion_time"] == 10**30
    for name in ("before", "ingested", "after"):
        assert docs[name]["time"].endswith("Z") and type(docs[name]["timestamp"]) is int
    _assert_told_once_per_group(result.stderr)
    assert (
        f"{GROUP}: CloudWatch Logs sent events whose timestamp or ingestion time is not a time"
        in result.stderr
    )


@pytest.mark.parametrize(
    "args",
    [
        ("get", "-o", "short", "--ingestion-time"),
        ("get", "--timestamp", "--ingestion-time"),
        ("get", "-o", "short", "--utc"),
        ("get", "-o", "short", "-s", "3d"),
    ],
    ids=["short", "plain", "short-utc", "short-dated"],
)
def test_people_see_the_number_of_a_timestamp_that_is_no_time(  # type: ignore[no-untyped-def]
    endpoint, times_api, args
) -> None:
    with rewriting_proxy(endpoint, _hostile_times) as url:
        result = _get(url, times_api, *args, "--source", "lambda")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    # In the order the page gave them: a time that is no time sorts nowhere.
    assert [line.split()[-1] for line in lines] == ["before", "future", "past", "ingested", "after"]
    assert f"invalid time {HUGE}" in lines[1]
    assert f"invalid time {HUGE_NEGATIVE}" in lines[2]
    if "--ingestion-time" in args:
        assert f"invalid time {10**30}" in lines[3]
    _assert_told_once_per_group(result.stderr)


def _assert_told_once_per_group(stderr: str) -> None:
    """Each group read (the execution log too: it names the requests of Lambda lines) says it
    once, and nothing else is said."""
    told = stderr.splitlines()
    assert all("is not a time (e.g. " in line for line in told), stderr
    groups = [line.removeprefix("apilogs: warning: ").split(": ", 1)[0] for line in told]
    assert GROUP in groups and len(groups) == len(set(groups)), stderr


def test_requests_stats_and_show_of_a_request_whose_times_are_no_time(  # type: ignore[no-untyped-def]
    endpoint, times_api
) -> None:
    with rewriting_proxy(endpoint, _hostile_times) as url:
        got = {
            name: _get(url, times_api, *args)
            for name, args in {
                "table": ("requests",),
                "json": ("requests", "-o", "json"),
                "stats": ("stats", "-o", "json"),
                "show": ("show", RID),
            }.items()
        }
    for name, result in got.items():
        assert result.exit_code == 0, (name, result.stderr)
        assert "not a time" in result.stderr, (name, result.stderr)
    [row] = got["table"].stdout.splitlines()[1:]
    assert row.startswith("invalid time ") and RID in row and "502" in row
    [doc] = map(json.loads, got["json"].stdout.splitlines())
    assert (doc["request_id"], doc["timestamp"], doc["time"], doc["status"]) == (
        RID,
        HUGE,
        None,
        502,
    )
    summary = json.loads(got["stats"].stdout)
    assert (summary["from"], summary["to"]) == (None, None)
    assert RID in got["show"].stdout and f"invalid time {HUGE}" in got["show"].stdout
