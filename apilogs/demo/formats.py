"""Formats, as AWS prints them (English names whatever the locale), and the IDs it makes up."""

from __future__ import annotations

import base64
import json
import random
import uuid
from datetime import UTC, datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso_ms(ms: int) -> str:
    """2026-11-24T10:15:30.123Z: Lambda's timestamps."""
    return f"{utc(ms):%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def http_date(ms: int) -> str:
    d = utc(ms)
    return f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d:%Y %H:%M:%S} GMT"


def clf_time(ms: int) -> str:
    """$context.requestTime: 24/Nov/2026:10:15:30 +0000."""
    d = utc(ms)
    return f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d:%Y:%H:%M:%S} +0000"


def json_line(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def truncate(text: str, limit: int = 1000) -> str:
    """API Gateway cuts logged bodies and header lists at about 1 KB."""
    return text if len(text) <= limit else text[:limit] + " [TRUNCATED]"


def mask(secret: str) -> str:
    return "*" * (len(secret) - 4) + secret[-4:]


def proxy_response(status: int, body: object) -> str:
    """A Lambda proxy response as the Python runtime serialises it."""
    headers = {"Content-Type": "application/json"}
    return json.dumps({"statusCode": status, "headers": headers, "body": json_line(body)})


class Ids:
    """Every made-up ID, drawn from the traffic's one random stream (so a seed fixes them all)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, digits: int) -> str:
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"

    def short(self) -> str:
        """An extended request ID (and an HTTP API's request ID): 'GqT38H-FFiAFhLQ='."""
        return base64.urlsafe_b64encode(self._rng.randbytes(11)).decode()

    def trace(self, t_ms: int) -> str:
        return f"1-{t_ms // 1000:08x}-{self.hex(24)}"
