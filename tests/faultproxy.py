"""A small fault-injecting HTTP proxy on loopback, in front of the moto server.

Each request for a chosen operation (the X-Amz-Target header, e.g. Logs_20140328.FilterLogEvents)
takes the next fault from a script — throttle, 5xx, a dropped connection, a slow answer — or is
forwarded untouched. Every request is counted, so tests can assert what the client did."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

THROTTLE = "throttle"
SERVER_ERROR = "5xx"
DROP = "drop"
SLOW = "slow"
BAD_UTF8 = "bad_utf8"  # forwarded, with a byte that is not UTF-8 put into the answer
PASS = "pass"


class FaultProxy:
    def __init__(self, upstream: str, operation: str = "FilterLogEvents") -> None:
        target = urlsplit(upstream)
        self.upstream_host = target.hostname or "127.0.0.1"
        self.upstream_port = target.port or 80
        self.operation = operation
        self.script: list[str] = []
        self.every: str | None = None  # a fault for every matching request, after the script
        self.slow_seconds = 0.5
        self.counts: Counter[str] = Counter()
        # The bodies of the matching requests, in order: what the client asked.
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target_header = self.headers.get("X-Amz-Target", "")
                fault = PASS
                if target_header.endswith("." + proxy.operation):
                    with proxy.lock:
                        proxy.counts["matched"] += 1
                        proxy.bodies.append(body)
                        if proxy.script:
                            fault = proxy.script.pop(0)
                        elif proxy.every:
                            fault = proxy.every
                        proxy.counts[fault] += 1
                if fault == DROP:
                    # Close without a response: the client sees a dropped connection.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault == THROTTLE:
                    self._reply(400, b'{"__type":"ThrottlingException","message":"Rate exceeded"}')
                    return
                if fault == SERVER_ERROR:
                    self._reply(503, b'{"__type":"ServiceUnavailableException","message":"busy"}')
                    return
                if fault == SLOW:
                    time.sleep(proxy.slow_seconds)
                conn = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=60
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if fault == BAD_UTF8:
                    # A byte that starts no UTF-8 sequence, inside the JSON text.
                    data = re.sub(rb'("message": ?")', b"\\1\xff", data, count=1)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = _forward
            do_GET = _forward
            do_PUT = _forward
            do_PATCH = _forward
            do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def fault_proxy(upstream: str, operation: str = "FilterLogEvents") -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, operation)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
