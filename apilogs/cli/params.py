"""Option values, read and checked by click: a bad value is a usage error naming the option,
before any AWS call is made."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import click

from apilogs.errors import InvalidInput
from apilogs.stream import RequestFilter
from apilogs.times import TimeParseError, parse_duration, parse_time


class TimeParam(click.ParamType):  # type: ignore[type-arg]
    """5m, 1h ago, yesterday, ISO 8601, epoch s/ms. Checked here, read by the core (which
    knows the zone: --utc)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            if parse_time(value) < 0:
                self.fail(
                    f"{value!r} is before 1970: CloudWatch Logs has nothing there", param, ctx
                )
        except TimeParseError as exc:
            self.fail(exc.message, param, ctx)
        return value


class DurationParam(click.ParamType):  # type: ignore[type-arg]
    """500ms, 1.5s, 2m, 1h30m → seconds."""

    name = "duration"

    def __init__(self, minimum_s: float = 0.0) -> None:
        self.minimum_s = minimum_s

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float):
            return float(value)
        try:
            seconds = parse_duration(str(value))
        except TimeParseError as exc:
            self.fail(exc.message, param, ctx)
        if seconds < self.minimum_s:
            self.fail(f"{value!r} is shorter than {self.minimum_s:g} s", param, ctx)
        return seconds


class StatusParam(click.ParamType):  # type: ignore[type-arg]
    """5xx, 4xx, 502, or several: 4xx,429 → inclusive ranges."""

    name = "status"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        try:
            return RequestFilter.status_ranges([str(value)])
        except InvalidInput as exc:
            self.fail(exc.message, param, ctx)


class RegexParam(click.ParamType):  # type: ignore[type-arg]
    name = "regex"

    def __init__(self, ignore_case: bool = False) -> None:
        self.flags = re.IGNORECASE if ignore_case else 0

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, re.Pattern):
            return value
        try:
            return re.compile(str(value), self.flags)
        except re.error as exc:
            self.fail(f"bad regex {value!r}: {exc}", param, ctx)


class NonEmptyParam(click.ParamType):  # type: ignore[type-arg]
    name = "text"
    empty = "must not be empty"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if not text:
            self.fail(self.empty, param, ctx)
        return text


class EndpointUrlParam(NonEmptyParam):
    """http(s)://host[:port][/path]: boto3 would otherwise fail later with an odd message."""

    name = "url"
    empty = "empty: give a URL such as http://127.0.0.1:4566"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text: str = super().convert(value, param, ctx)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(
                f"{text!r} is not a URL: it needs a scheme and a host, e.g. http://{text}"
                if "://" not in text
                else f"{text!r} is not an http(s) URL with a host",
                param,
                ctx,
            )
        try:
            parts.port  # noqa: B018 - a bad port raises here
        except ValueError:
            self.fail(f"{text!r} has a bad port", param, ctx)
        return text


TIME = TimeParam()
STATUS = StatusParam()
REGEX = RegexParam()
ENDPOINT_URL = EndpointUrlParam()
NON_EMPTY = NonEmptyParam()
