"""What to read, as one value: the window, the sources, the filters, the engine, and how to
follow. Every front end builds one (`ReadSpec`) and hands it to `Api`; the defaults live here
and nowhere else.

A spec whose `start` and `end` are epoch milliseconds is resolved (`ReadSpec.resolved`): the
stream layer reads only those."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any, TypedDict, Unpack

from apilogs.aws import AwsContext
from apilogs.cancel import StopSignal
from apilogs.errors import InvalidInput
from apilogs.fetch import FOLLOW_POLICY, WINDOW_POLICY, FetchStats, GroupQuery, RetryPolicy
from apilogs.fetch.engines import EngineName, Reading
from apilogs.fetch.filter import DEFAULT_MAX_LAG_MS
from apilogs.model import LogEvent
from apilogs.times import TimeArg, resolve_window

__all__ = ["WINDOW_GIVE_UP_S", "ReadOptions", "ReadSpec", "compile_patterns"]

# How long a window read keeps trying a group whose every read fails.
WINDOW_GIVE_UP_S: float = WINDOW_POLICY.give_up_after_s or 60.0


@dataclass(frozen=True, slots=True)
class ReadSpec:
    """What to read and what to keep.

    `filter_pattern` is CloudWatch's (applied by the service); `grep`/`exclude` are regexes
    applied here (`keeps`). `fail_after_s`: a group whose reads all fail this long is given up
    on; None: `WINDOW_GIVE_UP_S` for a window, never when following. `engine` reads a window;
    `interval_s`, `max_lag_ms` and `live` say how to follow."""

    start: TimeArg = "5m"
    end: TimeArg | None = None
    filter_pattern: str | None = None
    fail_after_s: float | None = None
    sources: tuple[str, ...] = ()
    log_groups: tuple[str, ...] = ()
    grep: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    engine: EngineName = "filter"
    interval_s: float = 1.0
    max_lag_ms: int = DEFAULT_MAX_LAG_MS
    live: bool = False

    def __post_init__(self) -> None:
        # An empty pattern is no pattern: CloudWatch is not asked to apply it.
        if self.filter_pattern == "":
            object.__setattr__(self, "filter_pattern", None)

    @classmethod
    def build(
        cls, start: TimeArg = "5m", end: TimeArg | None = None, **options: Unpack[ReadOptions]
    ) -> ReadSpec:
        """A spec from the public API's keyword arguments: any iterables, and regexes as text
        (a bad one raises InvalidInput)."""
        fields: dict[str, Any] = dict(options)
        for name in ("sources", "log_groups"):
            if name in fields:
                fields[name] = tuple(fields[name])
        for name in ("grep", "exclude"):
            if name in fields:
                fields[name] = compile_patterns(fields[name])
        return cls(start, end, **fields)

    def as_fields(self) -> dict[str, Any]:
        """The fields, for a value that is this spec and more (`FirstRead`, the TUI's
        `ReadPlan`)."""
        return {name: getattr(self, name) for name in ReadSpec.__dataclass_fields__}

    @property
    def start_ms(self) -> int:
        """The start of a resolved spec."""
        if not isinstance(self.start, int):
            raise ValueError(f"an unresolved start ({self.start!r}): resolve the spec first")
        return self.start

    @property
    def end_ms(self) -> int | None:
        if self.end is not None and not isinstance(self.end, int):
            raise ValueError(f"an unresolved end ({self.end!r}): resolve the spec first")
        return self.end

    def resolved(self, tz: tzinfo | None = None) -> ReadSpec:
        """The same read, its times in epoch milliseconds."""
        start_ms, end_ms = resolve_window(self.start, self.end, tz=tz)
        return replace(self, start=start_ms, end=end_ms)

    @property
    def window_fail_after_s(self) -> float:
        return self.fail_after_s if self.fail_after_s is not None else WINDOW_GIVE_UP_S

    def window_policy(self) -> RetryPolicy:
        # Said before it is given up on.
        give_up = self.window_fail_after_s
        return RetryPolicy(
            give_up_after_s=give_up,
            notice_after_s=min(WINDOW_POLICY.notice_after_s, give_up / 2),
        )

    def follow_policy(self) -> RetryPolicy:
        if self.fail_after_s is None:
            return FOLLOW_POLICY
        return RetryPolicy(
            give_up_after_s=self.fail_after_s,
            notice_after_s=min(FOLLOW_POLICY.notice_after_s, self.fail_after_s / 2),
        )

    def reading(
        self,
        ctx: AwsContext,
        queries: list[GroupQuery],
        stats: FetchStats,
        stop: StopSignal | None = None,
        *,
        following: bool = False,
    ) -> Reading:
        """This (resolved) read as an engine takes it (`apilogs.fetch.engines`); `following`:
        from `start` on, under the follow policy."""
        if following:
            end_ms, policy = None, self.follow_policy()
        else:
            end_ms, policy = self.end_ms, self.window_policy()
        return Reading(
            ctx, queries, self.start_ms, end_ms, stats, stop, policy, self.filter_pattern
        )

    @property
    def filters_lines(self) -> bool:
        """Whether `keeps` can drop a line (else it need not be asked)."""
        return bool(self.grep or self.exclude)

    def keeps(self, event: LogEvent) -> bool:
        """Whether the local filters keep this line: it matches a `grep` (when any is given)
        and no `exclude`."""
        message = event.raw.message
        if self.grep and not any(p.search(message) for p in self.grep):
            return False
        return not any(p.search(message) for p in self.exclude)

    def without_line_filters(self) -> ReadSpec:
        """The read with every line kept: for a consumer that must see all of them (to join
        requests) and filters what it shows itself."""
        return replace(self, grep=(), exclude=()) if self.filters_lines else self


class ReadOptions(TypedDict, total=False):
    """`ReadSpec`'s fields as the public API's keyword arguments take them."""

    filter_pattern: str | None
    fail_after_s: float | None
    sources: Iterable[str]
    log_groups: Iterable[str]
    grep: Iterable[str | re.Pattern[str]]
    exclude: Iterable[str | re.Pattern[str]]
    engine: EngineName
    interval_s: float
    max_lag_ms: int
    live: bool


def compile_patterns(values: Iterable[str | re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for value in values:
        if isinstance(value, re.Pattern):
            compiled.append(value)
            continue
        try:
            compiled.append(re.compile(value))
        except re.error as exc:
            raise InvalidInput(f"bad regex {value!r}: {exc}", name="grep") from None
    return tuple(compiled)
