"""An HTTP proxy on loopback that makes moto's server answer in AWS's shape.

Put it in front of the moto server and point a client (`--endpoint-url`) at it. Every call, for
any service (logs, apigateway, lambda, sts, ...):

- takes a round trip: half of `rtt_ms` before it reaches the server, half on the way back;
- FilterLogEvents answers also take `per_mb_ms` per MiB of response body (transfer time);
- FilterLogEvents pages are at most 1 MiB (each message's UTF-8 bytes plus 26, as CloudWatch
  Logs counts them) with a next token that resumes right after the page. The embedded server
  (`apilogs.demo.server`) already cuts pages so; the proxy checks every page and cuts one that is
  larger itself, with a token in moto's own format (`group@stream@eventId`), so the guarantee
  holds in front of a plain moto server too;
- FilterLogEvents is under an account quota: a token bucket (`quota_rps` per second, `quota_burst`
  deep) shared by every caller; a call beyond it is answered, at the server, with HTTP 400
  `{"__type":"ThrottlingException","message":"Rate exceeded"}`, as CloudWatch Logs does. A refused
  call takes no token.

It counts every call by operation (`logs:FilterLogEvents`, `apigateway:GetStage`, ...) with its
times, status, bytes and whether it was throttled, so a report can say "N calls, M throttled".
Control endpoints (no delay, not counted): `GET /__awsproxy__/stats[?calls=1]`,
`POST /__awsproxy__/reset` (zero the counters, fill the bucket).

Concurrent connections and keep-alive are served by a thread per connection; each thread keeps
its own persistent connection to the upstream server.

In-process (tests): `with aws_proxy(upstream_url, AwsShape(...)) as proxy: ...`.
As a process (the benchmark): `python tests/support/awsproxy.py --upstream URL [--rtt-ms 40 ...]` prints
its URL on stdout and serves until its parent exits, SIGTERM, or `--lifetime` seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

# CloudWatch Logs cuts a FilterLogEvents page at 10,000 events or 1 MiB; the size counts each
# message's UTF-8 bytes plus 26 bytes (the same figures as apilogs.demo.server).
PAGE_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MIB = 1_048_576
FILTER_LOG_EVENTS = "logs:FilterLogEvents"
THROTTLE_BODY = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
CONTROL_PREFIX = "/__awsproxy__/"
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}
)


@dataclass(frozen=True)
class AwsShape:
    """How AWS answers, as far as a client can tell. Defaults: issue 13's figures."""

    rtt_ms: float = 40.0
    per_mb_ms: float = 250.0
    quota_rps: float = 5.0  # 0: no quota
    quota_burst: float = 5.0
    page_bytes: int = PAGE_BYTES
    quota_operations: frozenset[str] = frozenset({FILTER_LOG_EVENTS})
    sized_operations: frozenset[str] = frozenset({FILTER_LOG_EVENTS})


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved; a call takes one or is refused."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self.rate <= 0:
            return True
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def fill(self) -> None:
        with self._lock:
            self._tokens = self.burst
            self._updated = self._clock()


@dataclass
class Call:
    """One call as the proxy saw it. Times are epoch seconds (time.time(), comparable with the
    client's clock on this machine): `received` when the request was read, `arrived` when it
    reached the server (after half the round trip), `answered` when the reply went out."""

    operation: str
    received: float
    arrived: float = 0.0
    answered: float = 0.0
    status: int = 0
    throttled: bool = False
    response_bytes: int = 0
    events: int | None = None  # FilterLogEvents: events in the page
    page_bytes: int | None = None  # FilterLogEvents: the page's size as CloudWatch Logs counts
    cut: bool = False  # the proxy cut the page to page_bytes
    upstream_s: float = 0.0
    # FilterLogEvents: what was asked (group, startTime, endTime, whether with a nextToken)
    request: dict[str, Any] | None = None


@dataclass
class _Tally:
    calls: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # other non-2xx answers
    bytes_out: Counter[str] = field(default_factory=Counter)
    log: list[Call] = field(default_factory=list)
    connections: int = 0  # accepted: few for many calls means keep-alive works
    pages_cut: int = 0
    largest_page_bytes: int = 0
    largest_page_events: int = 0
    started: float = field(default_factory=time.time)


# --------------------------------------------------------------------------------------------
# Which operation a request is


_REST_OPERATIONS: list[tuple[str, str, re.Pattern[str], str]] = [
    (service, method, re.compile(pattern), operation)
    for service, method, pattern, operation in [
        ("apigateway", "GET", r"/restapis", "GetRestApis"),
        ("apigateway", "GET", r"/restapis/[^/]+", "GetRestApi"),
        ("apigateway", "GET", r"/restapis/[^/]+/stages", "GetStages"),
        ("apigateway", "GET", r"/restapis/[^/]+/stages/[^/]+", "GetStage"),
        ("apigateway", "GET", r"/restapis/[^/]+/stages/[^/]+/exports/[^/]+", "GetExport"),
        ("apigateway", "GET", r"/restapis/[^/]+/resources", "GetResources"),
        ("apigateway", "GET", r"/restapis/[^/]+/resources/[^/]+", "GetResource"),
        ("apigateway", "GET", r"/restapis/[^/]+/authorizers", "GetAuthorizers"),
        ("apigateway", "GET", r"/restapis/[^/]+/authorizers/[^/]+", "GetAuthorizer"),
        ("apigateway", "GET", r"/restapis/[^/]+/deployments/[^/]+", "GetDeployment"),
        ("apigateway", "GET", r"/account", "GetAccount"),
        ("apigateway", "GET", r"/domainnames/[^/]+/basepathmappings", "GetBasePathMappings"),
        ("apigateway", "GET", r"/v2/domainnames/[^/]+", "GetDomainName(v2)"),
        ("apigateway", "GET", r"/v2/domainnames/[^/]+/apimappings", "GetApiMappings"),
        ("apigateway", "GET", r"/v2/domainnames/[^/]+/routingrules", "ListRoutingRules"),
        ("apigateway", "GET", r"/v2/apis", "GetApis"),
        ("apigateway", "GET", r"/v2/apis/[^/]+", "GetApi"),
        ("apigateway", "GET", r"/v2/apis/[^/]+/stages", "GetStages(v2)"),
        ("apigateway", "GET", r"/v2/apis/[^/]+/stages/[^/]+", "GetStage(v2)"),
        ("apigateway", "GET", r"/v2/apis/[^/]+/routes", "GetRoutes"),
        ("apigateway", "GET", r"/v2/apis/[^/]+/integrations", "GetIntegrations"),
        ("apigateway", "GET", r"/v2/apis/[^/]+/authorizers", "GetAuthorizers(v2)"),
        ("apigateway", "GET", r"/v2/apis/[^/]+/authorizers/[^/]+", "GetAuthorizer(v2)"),
        ("lambda", "GET", r"/[0-9-]+/functions/[^/]+/configuration", "GetFunctionConfiguration"),
        ("lambda", "GET", r"/[0-9-]+/functions/[^/]+", "GetFunction"),
        ("lambda", "GET", r"/[0-9-]+/functions/[^/]+/aliases/[^/]+", "GetAlias"),
        ("lambda", "GET", r"/[0-9-]+/functions/[^/]+/aliases", "ListAliases"),
        ("lambda", "GET", r"/[0-9-]+/functions", "ListFunctions"),
    ]
]
_CREDENTIAL = re.compile(r"Credential=[^/,]+/[^/,]+/[^/,]+/([^/,]+)/")


def operation_of(method: str, path: str, headers: Any, body: bytes) -> str:
    """`service:Operation` of a signed AWS request (the service from its SigV4 scope)."""
    match = _CREDENTIAL.search(headers.get("Authorization", "") or "")
    service = match.group(1) if match else "?"
    target = headers.get("X-Amz-Target")
    if target:  # JSON protocols: Logs_20140328.FilterLogEvents
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    url = urlsplit(path)
    if body.startswith(b"Action=") or b"&Action=" in body or "Action=" in url.query:
        params = parse_qs(body.decode("ascii", "replace")) | parse_qs(url.query)
        if params.get("Action"):
            return f"{service}:{params['Action'][0]}"
    route = unquote(url.path).rstrip("/") or "/"
    for svc, verb, pattern, operation in _REST_OPERATIONS:
        if svc == service and verb == method and pattern.fullmatch(route):
            return f"{service}:{operation}"
    return f"{service}:{method} {url.path}"


# --------------------------------------------------------------------------------------------
# The 1 MiB page cut


def event_size(event: dict[str, Any]) -> int:
    return len(str(event.get("message", "")).encode()) + EVENT_OVERHEAD_BYTES


def cut_page(
    page: dict[str, Any], group: str, limit: int = PAGE_BYTES
) -> tuple[dict[str, Any], int, bool]:
    """The page cut to `limit` bytes (at least one event), its size, and whether it was cut.
    The token of a cut page is moto's own: the next call resumes after the page's last event."""
    events = page.get("events") or []
    size = 0
    for index, event in enumerate(events):
        grown = size + event_size(event)
        if grown > limit and index > 0:
            last = events[index - 1]
            cut = dict(page)
            cut["events"] = events[:index]
            cut["nextToken"] = f"{group}@{last['logStreamName']}@{last['eventId']}"
            return cut, size, True
        size = grown
    return page, size, False


# --------------------------------------------------------------------------------------------
# The proxy


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: ten readers connect at once


class AwsProxy:
    def __init__(self, upstream: str, shape: AwsShape | None = None, port: int = 0) -> None:
        target = urlsplit(upstream)
        self.upstream_host = target.hostname or "127.0.0.1"
        self.upstream_port = target.port or 80
        self.shape = shape or AwsShape()
        self.bucket = TokenBucket(self.shape.quota_rps, self.shape.quota_burst)
        self._tally = _Tally()
        self._lock = threading.Lock()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes
            timeout = 300  # an idle keep-alive connection frees its thread after this

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._tally.connections += 1

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.startswith(CONTROL_PREFIX):
                    self._reply(*proxy._control(self.command, self.path))
                    return
                proxy._serve(self, body)

            def _reply(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for key, value in (headers or {"Content-Type": "application/json"}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = handle_one
            do_POST = handle_one
            do_PUT = handle_one
            do_PATCH = handle_one
            do_DELETE = handle_one
            do_HEAD = handle_one

        self.server = _Server(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> AwsProxy:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="awsproxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- counters -----------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._tally = _Tally()
        self.bucket.fill()

    def stats(self, with_calls: bool = False) -> dict[str, Any]:
        with self._lock:
            tally = self._tally
            calls = list(tally.log)
            result: dict[str, Any] = {
                "shape": {
                    **{k: v for k, v in asdict(self.shape).items() if not isinstance(v, frozenset)},
                    "quota_operations": sorted(self.shape.quota_operations),
                    "sized_operations": sorted(self.shape.sized_operations),
                },
                "since": tally.started,
                "calls": dict(tally.calls),
                "throttled": dict(tally.throttled),
                "errors": dict(tally.errors),
                "bytes": dict(tally.bytes_out),
                "total_calls": sum(tally.calls.values()),
                "total_throttled": sum(tally.throttled.values()),
                "connections": tally.connections,
                "pages_cut": tally.pages_cut,
                "largest_page_bytes": tally.largest_page_bytes,
                "largest_page_events": tally.largest_page_events,
            }
        if with_calls:
            result["log"] = [asdict(c) for c in calls]
        return result

    def _control(self, method: str, path: str) -> tuple[int, bytes]:
        url = urlsplit(path)
        name = url.path[len(CONTROL_PREFIX) :]
        if name == "stats" and method == "GET":
            with_calls = parse_qs(url.query).get("calls", ["0"])[0] not in {"0", ""}
            return 200, json.dumps(self.stats(with_calls)).encode()
        if name == "reset" and method == "POST":
            self.reset()
            return 200, b"{}"
        return 404, b'{"message":"unknown control endpoint"}'

    def _record(self, call: Call) -> None:
        with self._lock:
            tally = self._tally
            tally.log.append(call)
            tally.calls[call.operation] += 1
            tally.bytes_out[call.operation] += call.response_bytes
            if call.throttled:
                tally.throttled[call.operation] += 1
            elif call.status >= 300:
                tally.errors[call.operation] += 1
            if call.cut:
                tally.pages_cut += 1
            if call.page_bytes is not None and call.page_bytes > tally.largest_page_bytes:
                tally.largest_page_bytes = call.page_bytes
                tally.largest_page_events = call.events or 0

    # -- one call -----------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        shape = self.shape
        call = Call(operation_of(handler.command, handler.path, handler.headers, body), time.time())
        half_rtt = shape.rtt_ms / 2000.0
        if half_rtt:
            time.sleep(half_rtt)
        call.arrived = time.time()
        if call.operation == FILTER_LOG_EVENTS:
            call.request = _read_request(body)
        if call.operation in shape.quota_operations and not self.bucket.take():
            call.throttled, call.status = True, 400
            status, headers, data = (
                400,
                [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", "throttled")],
                THROTTLE_BODY,
            )
        else:
            started = time.perf_counter()
            status, headers, data = self._upstream(handler.command, handler.path, handler, body)
            call.upstream_s = time.perf_counter() - started
            call.status = status
            if call.operation == FILTER_LOG_EVENTS and status == 200:
                data = self._check_page(call, data)
        delay = half_rtt
        if call.operation in shape.sized_operations and not call.throttled:
            delay += shape.per_mb_ms / 1000.0 * len(data) / MIB
        if delay:
            time.sleep(delay)
        call.response_bytes = len(data)
        # Counted before the answer goes out: a client that has its answer finds it counted.
        call.answered = time.time()
        self._record(call)
        handler.send_response(status)
        for key, value in headers:
            if key.lower() not in _HOP_BY_HOP and key.lower() not in {"date", "server"}:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _check_page(self, call: Call, data: bytes) -> bytes:
        try:
            page = json.loads(data)
        except ValueError:
            return data
        group = str((call.request or {}).get("group", ""))
        page, size, cut = cut_page(page, group, self.shape.page_bytes)
        call.events, call.page_bytes, call.cut = len(page.get("events") or ()), size, cut
        return json.dumps(page).encode() if cut else data

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=300)
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.conn = conn
            self._local.used = False
        return conn

    def _upstream(
        self, method: str, path: str, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {
            k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}
        }
        headers["Content-Length"] = str(len(body))
        for attempt in range(2):
            conn = self._connection(fresh=attempt > 0)
            reused = bool(getattr(self._local, "used", False))
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                self._local.conn = None
                conn.close()
                if attempt == 0 and reused:
                    continue  # the server closed an idle keep-alive connection: once more
                raise
            self._local.used = True
            if response.will_close:
                self._local.conn = None
                conn.close()
            return response.status, response.getheaders(), data
        raise AssertionError("unreachable")


def _read_request(body: bytes) -> dict[str, Any]:
    try:
        asked = json.loads(body or b"{}")
    except ValueError:
        asked = {}
    return {
        "group": str(asked.get("logGroupName", "")),
        "start": asked.get("startTime"),
        "end": asked.get("endTime"),
        "token": bool(asked.get("nextToken")),
    }


@contextmanager
def aws_proxy(upstream: str, shape: AwsShape | None = None) -> Iterator[AwsProxy]:
    proxy = AwsProxy(upstream, shape).start()
    try:
        yield proxy
    finally:
        proxy.stop()


# --------------------------------------------------------------------------------------------
# The proxy as a process, and its control endpoints from another process


def proxy_stats(url: str, with_calls: bool = False, timeout: float = 30.0) -> dict[str, Any]:
    query = "?calls=1" if with_calls else ""
    with urllib.request.urlopen(f"{url}{CONTROL_PREFIX}stats{query}", timeout=timeout) as r:
        result: dict[str, Any] = json.loads(r.read())
    return result


def proxy_reset(url: str, timeout: float = 30.0) -> None:
    request = urllib.request.Request(f"{url}{CONTROL_PREFIX}reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=timeout):
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="An AWS-shaped proxy in front of moto's server.")
    p.add_argument("--upstream", required=True, help="the server's URL, e.g. http://127.0.0.1:5000")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rtt-ms", type=float, default=AwsShape.rtt_ms)
    p.add_argument("--per-mb-ms", type=float, default=AwsShape.per_mb_ms)
    p.add_argument("--quota-rps", type=float, default=AwsShape.quota_rps)
    p.add_argument("--quota-burst", type=float, default=AwsShape.quota_burst)
    p.add_argument("--page-bytes", type=int, default=AwsShape.page_bytes)
    p.add_argument("--lifetime", type=float, default=0.0, help="exit after this many seconds")
    args = p.parse_args(argv)
    shape = AwsShape(
        rtt_ms=args.rtt_ms,
        per_mb_ms=args.per_mb_ms,
        quota_rps=args.quota_rps,
        quota_burst=args.quota_burst,
        page_bytes=args.page_bytes,
    )
    proxy = AwsProxy(args.upstream, shape, port=args.port).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(proxy.url, flush=True)
    parent = os.getppid()
    deadline = time.monotonic() + args.lifetime if args.lifetime else None
    try:
        while not stop.wait(0.5):
            if os.getppid() != parent or (deadline and time.monotonic() > deadline):
                break
    except KeyboardInterrupt:
        pass
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
