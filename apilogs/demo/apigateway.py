"""What API Gateway's REST and HTTP APIs share: the clients that call them, their log streams, and
the access log line each request ends with."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

from apilogs.demo.formats import Ids
from apilogs.demo.scenario import LogRecord


@dataclass(frozen=True, slots=True)
class Client:
    """Who calls the API: one address, one user agent, one bearer token."""

    ip: str
    user_agent: str
    token: str


_USER_AGENTS = (
    "curl/8.5.0",
    "python-requests/2.32.3",
    "okhttp/4.12.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "axios/1.7.7",
    "Go-http-client/2.0",
)
_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def make_clients(rng: random.Random, count: int = 24) -> list[Client]:
    clients = []
    for index in range(count):
        network = ("203.0.113", "198.51.100", "192.0.2")[index % 3]  # documentation ranges
        token = "Bearer " + "".join(rng.choice(_TOKEN_ALPHABET) for _ in range(32))
        ip = f"{network}.{rng.randint(2, 254)}"
        clients.append(Client(ip, rng.choice(_USER_AGENTS), token))
    return clients


class StreamRotation:
    """API Gateway's own log streams: a few at a time, 32 hex digits each, replaced as they age."""

    def __init__(self, rng: random.Random, ids: Ids, width: int) -> None:
        self._rng = rng
        self._ids = ids
        self._slots: list[tuple[str, int]] = [("", -1)] * width

    def pick(self, t_ms: int) -> str:
        index = self._rng.randrange(len(self._slots))
        name, until = self._slots[index]
        if t_ms >= until:
            name = self._ids.hex(32)
            self._slots[index] = (name, t_ms + self._rng.randint(15, 60) * 60_000)
        return name


_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")


def render_access_log(log_format: str, values: Mapping[str, object]) -> str:
    """Fill an access log format as API Gateway does: '-' for a variable without a value."""

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return "-" if value is None or value == "" else str(value)

    return _CONTEXT_VARIABLE.sub(substitute, log_format)


@dataclass(slots=True)
class AccessLog:
    """A request's access log line: the `$context` variables (`values`) are filled in as the
    request goes, and the line is written when API Gateway answers."""

    group: str
    log_format: str
    streams: StreamRotation
    start_ms: int
    values: dict[str, object]

    def answer(
        self,
        records: list[LogRecord],
        status: int,
        body: str,
        end_ms: int,
        error: str | None = None,
    ) -> tuple[LogRecord, ...]:
        """Write the line for the answer; every record of the request, in time order."""
        self.values.update(
            status=status, responseLength=len(body), responseLatency=end_ms - self.start_ms
        )
        if error:
            self.values["error.message"] = error
        line = render_access_log(self.log_format, self.values)
        stream = self.streams.pick(self.start_ms)
        records.append(LogRecord(self.group, stream, end_ms, line))
        # Stable: a request's lines with one timestamp keep the order they were written in.
        return tuple(sorted(records, key=lambda r: r.timestamp))
