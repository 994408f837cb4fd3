"""The CLI's exit codes, and the core's typed errors worded for a command line.

One table: every command follows it (README, "Exit codes").

| code | meaning |
|---|---|
| 0 | ok |
| 1 | nothing found: no such API, stage, request, or nothing matched |
| 2 | usage: a bad option or value |
| 3 | AWS unreachable, denied, or failing: credentials, permissions, endpoint, throttling |
| 70 | internal error: a bug in apilogs (sysexits' EX_SOFTWARE); --debug shows the traceback |
| 130 | interrupted (Ctrl-C) |
"""

from __future__ import annotations

from enum import IntEnum

from apilogs.errors import (
    AmbiguousApi,
    ApilogsError,
    ApiNotFound,
    AwsAccessError,
    AwsThrottled,
    Cancelled,
    IncompleteRead,
    InvalidInput,
    NoRegion,
    NotFound,
    NothingToRead,
    RequestNotFound,
    StageRequired,
    UnknownSource,
)
from apilogs.times import iso_utc


class ExitStatus(IntEnum):
    OK = 0
    NOT_FOUND = 1
    USAGE = 2
    AWS = 3
    INTERNAL = 70
    INTERRUPTED = 130


def exit_status(error: ApilogsError) -> ExitStatus:
    from apilogs.render.lnav import LnavFormatConflict, NoLnavHome

    if isinstance(error, InvalidInput | LnavFormatConflict | NoLnavHome):
        return ExitStatus.USAGE
    if isinstance(error, NotFound):
        return ExitStatus.NOT_FOUND
    if isinstance(error, AwsAccessError):
        return ExitStatus.AWS
    if isinstance(error, Cancelled):
        return ExitStatus.INTERRUPTED
    # An error class this table does not know is a gap in apilogs, not "nothing found".
    return ExitStatus.INTERNAL


def unexpected_message(exc: BaseException) -> str:
    """The line for an exception apilogs did not expect: it is apilogs's bug, not the user's."""
    return (
        f"unexpected {type(exc).__name__}: {exc} (a bug in apilogs: run again with --debug "
        "for the traceback, and please report it)"
    )


# Core option names → the CLI's spelling.
OPTION_NAMES = {
    "start": "--start",
    "end": "--end",
    "source": "--source",
    "status": "--status",
    "grep": "--grep",
    "region": "--region",
    "profile": "--profile",
    "stage": "--stage",
    "api": "--api-id",
}


def describe(error: ApilogsError) -> str:
    """One line for stderr, with the option to reach for where there is one."""
    if isinstance(error, UnknownSource):
        return f"unknown --source {error.selector!r}: choose from {', '.join(error.choices)}"
    if isinstance(error, StageRequired):
        return f"--stage is required; stages of {error.api_id}: {', '.join(error.stages) or 'none'}"
    if isinstance(error, AmbiguousApi):
        return f"{error.message} with --api-id"
    if isinstance(error, ApiNotFound):
        return f"{error.message}; check --region and --profile"
    if isinstance(error, NothingToRead):
        return (
            f"{error.message} (see: apilogs groups --api-id {error.api_id} --stage {error.stage})"
        )
    if isinstance(error, RequestNotFound):
        return f"{error.message} ({_wider_hint(error)})"
    if isinstance(error, NoRegion):
        return "no AWS region: pass --region, set AWS_REGION, or set a region in your profile"
    if isinstance(error, AwsThrottled):
        return f"{error.message}; try again or lower --max-rps"
    from apilogs.render.lnav import LnavFormatConflict

    if isinstance(error, LnavFormatConflict):
        return f"{error} (--force replaces it)"
    if isinstance(error, IncompleteRead):
        parts = []
        for failure in error.failures:
            upto = (
                f"read up to {iso_utc(failure.read_until_ms)}"
                if failure.read_until_ms is not None
                else "nothing read"
            )
            parts.append(
                f"{failure.group} ({failure.reason} for {failure.failing_for_s:.0f} s, {upto})"
            )
        return (
            f"gave up reading {len(parts)} log group(s), whose lines are missing above: "
            + "; ".join(parts)
            + " (retry, lower --max-rps, or raise --fail-after)"
        )
    if isinstance(error, InvalidInput) and error.name in OPTION_NAMES:
        return f"{OPTION_NAMES[error.name]}: {error}"
    return str(error)


def _wider_hint(error: RequestNotFound) -> str:
    """A --start reaching further back than the window that was searched (which may itself
    have been `--start 1h`: suggesting 1h again would send the user round in circles)."""
    import time

    if error.end_ms is not None:
        return "widen it with --start and --end"
    searched_h = (time.time() * 1000 - error.start_ms) / 3_600_000
    for hours, text in ((1, "1h"), (6, "6h"), (24, "24h"), (168, "7d"), (720, "30d")):
        if hours > searched_h * 1.05:
            return f"widen it with --start, e.g. --start {text}"
    return "it may be older than the window, or in another region or account"
