"""A small fault-injecting HTTP proxy on loopback, in front of the moto server.

Each request for a chosen operation (the X-Amz-Target header, e.g. Logs_20140328.FilterLogEvents)
takes the next fault from a script — throttle, 5xx, a dropped connection, a slow answer — or is
forwarded untouched. Every request is counted, so tests can assert what the client did.

Beyond the one operation, modes that reach every call of every service (API Gateway v1/v2,
Lambda, STS, CloudWatch Logs, X-Ray), each answered in that service's own error shape:
- `chaos(seed, ...)`: a random fault for every call (throttle, 5xx, drop, slow), seeded;
- `deny`: services (`apigateway`) or operations (`lambda:GetFunctionConfiguration`) answered
  with AccessDenied, as for a role that may read logs and nothing else;
- `failing_groups`: every CloudWatch Logs call naming one of these groups fails (`group_fault`);
- `hang`: accept every connection and never answer (until the proxy stops);
- `held_if`: calls whose body holds these bytes wait for `release`;
- `answers`: canned answers for calls moto does not know (routing rules)."""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.support.awsproxy import operation_of

THROTTLE = "throttle"
SERVER_ERROR = "5xx"
DROP = "drop"
SLOW = "slow"
BAD_UTF8 = "bad_utf8"  # forwarded, with a byte that is not UTF-8 put into the answer
PASS = "pass"
DENY = "deny"
HANG = "hang"


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
        # Every call by `service:Operation` and what was done to it: `ops["logs:GetQueryResults"]`,
        # `faults["throttle"]`.
        self.ops: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.deny: set[str] = set()
        self.failing_groups: set[str] = set()
        self.group_fault = SERVER_ERROR
        self.hang = False
        # A call whose body has `held_if` in it waits until `release` is set (or the proxy
        # stops): a test sees what the client does while a page is on its way.
        self.held_if: bytes | None = None
        # What moto cannot answer: `service:Operation` → a function of the request's path
        # giving the JSON to answer with (200), or None to forward the call.
        self.answers: dict[str, Callable[[str], dict[str, Any] | None]] = {}
        self.release = threading.Event()
        self.held = threading.Event()  # set once a call is being held
        self._chaos: list[tuple[str, float]] = []
        self._chaos_services: set[str] | None = None
        self._random = random.Random(0)
        self._stopped = threading.Event()
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
                operation = operation_of(self.command, self.path, self.headers, body)
                fault = proxy._fault_for_any_call(operation, body)
                if fault == HANG:
                    proxy._stopped.wait(600)
                    self.close_connection = True
                    return
                if proxy.held_if is not None and proxy.held_if in body:
                    proxy.held.set()
                    while not proxy.release.wait(0.1) and not proxy._stopped.is_set():
                        pass
                if fault == DENY:
                    self._error(operation, 403, "AccessDeniedException", "not authorized")
                    return
                if fault == PASS and target_header.endswith("." + proxy.operation):
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
                    self._error(operation, 400, "ThrottlingException", "Rate exceeded")
                    return
                if fault == SERVER_ERROR:
                    self._error(operation, 503, "ServiceUnavailableException", "busy")
                    return
                if fault == SLOW:
                    time.sleep(proxy.slow_seconds)
                # Answered here, after the faults: what moto cannot answer is faulted alike.
                answer = proxy.answers.get(operation)
                canned = answer(self.path) if answer is not None else None
                if canned is not None:
                    self._reply_json(canned)
                    return
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

            def _reply_json(self, document: dict[str, Any]) -> None:
                data = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, operation: str, status: int, code: str, message: str) -> None:
                """An error in the shape the caller's protocol parses: XML for STS's query
                protocol, JSON (with the error type in a header too) for the rest."""
                service = operation.split(":", 1)[0]
                if service == "sts":
                    if code == "ThrottlingException":
                        code = "Throttling"
                    elif code == "AccessDeniedException":
                        code = "AccessDenied"
                    body = (
                        "<ErrorResponse><Error><Type>Sender</Type>"
                        f"<Code>{code}</Code><Message>{message}</Message></Error>"
                        "<RequestId>fault</RequestId></ErrorResponse>"
                    ).encode()
                    self._reply(status, body, "text/xml", {})
                    return
                if service != "logs" and code == "ThrottlingException":
                    status, code = 429, "TooManyRequestsException"
                body = json.dumps({"__type": code, "message": message}).encode()
                self._reply(status, body, "application/x-amz-json-1.1", {"x-amzn-ErrorType": code})

            def _reply(
                self,
                status: int,
                body: bytes,
                content_type: str = "application/x-amz-json-1.1",
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
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

    def chaos(
        self,
        seed: int,
        *,
        throttle: float = 0.4,
        server_error: float = 0.05,
        drop: float = 0.05,
        slow: float = 0.05,
        services: set[str] | None = None,
    ) -> None:
        """A random fault for every call of every service (or of `services`: a service, `xray`,
        or one operation as `ops` names it, `xray:POST /GetTraceSegmentDestination`), from `seed`."""
        self._random = random.Random(seed)
        self._chaos = [
            (THROTTLE, throttle),
            (SERVER_ERROR, server_error),
            (DROP, drop),
            (SLOW, slow),
        ]
        self._chaos_services = services

    def _fault_for_any_call(self, operation: str, body: bytes) -> str:
        service = operation.split(":", 1)[0]
        fault = PASS
        if self.hang:
            fault = HANG
        elif service in self.deny or operation in self.deny:
            fault = DENY
        elif self.failing_groups and service == "logs" and self._names_failing_group(body):
            fault = self.group_fault
        elif self._chaos and (
            self._chaos_services is None
            or service in self._chaos_services
            or operation in self._chaos_services
        ):
            with self.lock:
                draw = self._random.random()
            for name, share in self._chaos:
                if draw < share:
                    fault = name
                    break
                draw -= share
        with self.lock:
            self.ops[operation] += 1
            self.faults[fault] += 1
        return fault

    def _names_failing_group(self, body: bytes) -> bool:
        try:
            asked = json.loads(body or b"{}")
        except ValueError:
            return False
        names = {asked.get("logGroupName"), asked.get("logGroupIdentifier")}
        names.update(asked.get("logGroupNames") or ())
        names.update(asked.get("logGroupIdentifiers") or ())
        return any(
            str(name).rsplit(":log-group:", 1)[-1] in self.failing_groups for name in names if name
        )

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
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
