"""Log group classes: which engine can read a group.

CloudWatch Logs groups have a class (`logGroupClass` in DescribeLogGroups), fixed when the group
is made:

- STANDARD: every engine.
- INFREQUENT_ACCESS: FilterLogEvents answers InvalidOperationException ("… is of log-group-class
  INFREQUENT_ACCESS. FilterLogEvents is not supported for this log class") and Live Tail does not
  take it; Logs Insights reads it. A window read sends such a group to Insights; following
  cannot follow it (polling Insights every second would cost a query a second and lag by its
  latency) and says so.
- DELIVERY: neither FilterLogEvents nor Insights: nothing here can read it.

The class comes from discovery (`Source.log_class`); where it could not be read (DescribeLogGroups
denied, a `--log-group` added by hand), FilterLogEvents' refusal tells it (`ClassRefused`), and the
read learns it in `FetchStats.log_classes` for the rest of the run's reads."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import botocore.exceptions

from apilogs.aws import error_code

if TYPE_CHECKING:
    from apilogs.aws import AwsContext
    from apilogs.cancel import StopSignal
    from apilogs.fetch.filter import GroupQuery
    from apilogs.fetch.insights import InsightsUsage
    from apilogs.fetch.stats import FetchStats
    from apilogs.model import RawEvent, Source

STANDARD = "STANDARD"
INFREQUENT_ACCESS = "INFREQUENT_ACCESS"
DELIVERY = "DELIVERY"

# Events handed on at once when Insights stands in for FilterLogEvents: about one page's worth.
INSIGHTS_PAGE_EVENTS = 1_000

_REFUSAL = re.compile(r"log-group-class\s+([A-Z_]+)")


class ClassRefused(Exception):
    """FilterLogEvents refused the group for its class."""

    def __init__(self, group: str, log_class: str) -> None:
        super().__init__(f"{group} is of log-group-class {log_class}")
        self.group = group
        self.log_class = log_class


def refused_class(exc: BaseException) -> str | None:
    """The class named by a refusal for the group's class, else None."""
    if not isinstance(exc, botocore.exceptions.ClientError):
        return None
    if error_code(exc) != "InvalidOperationException":
        return None
    message = str(exc.response.get("Error", {}).get("Message", ""))
    found = _REFUSAL.search(message)
    return found.group(1) if found else None


def class_of(sources: Sequence[Source], group: str, stats: FetchStats | None = None) -> str | None:
    """The group's class: what discovery read, else what a refusal taught this run."""
    for source in sources:
        if source.log_group == group and source.log_class:
            return source.log_class
    if stats is not None:
        return stats.log_classes.get(group)
    return None


def query_class(query: GroupQuery, stats: FetchStats | None = None) -> str | None:
    return class_of(query.sources, query.group, stats)


def insights_notice(group: str) -> str:
    return f"log group {group} is Infrequent Access: read through Logs Insights"


def delivery_notice(group: str) -> str:
    return (
        f"log group {group} is of the Delivery class: CloudWatch Logs offers no read of it "
        "(neither FilterLogEvents nor Logs Insights), skipped"
    )


def pattern_notice(group: str) -> str:
    return (
        f"log group {group} is Infrequent Access: only Logs Insights reads it, and Insights "
        "cannot apply a filter pattern; skipped (use --grep instead)"
    )


def unfollowable_notice(group: str) -> str:
    return (
        f"log group {group} is Infrequent Access: it cannot be followed (no FilterLogEvents, no "
        "Live Tail); following the other groups (read it without --watch: Logs Insights)"
    )


def learn(stats: FetchStats, refused: ClassRefused) -> None:
    stats.log_classes[refused.group] = refused.log_class


def insights_pages(
    ctx: AwsContext,
    query: GroupQuery,
    start_ms: int,
    end_ms: int | None,
    stats: FetchStats,
    *,
    stop: StopSignal | None,
    terms: Sequence[str] = (),
    usage: InsightsUsage | None = None,
    counted: bool = True,
) -> Iterator[list[RawEvent]]:
    """One group's window through Logs Insights, in pages as FilterLogEvents would give them.
    `counted`: the caller counts the group in `stats.groups` already (Insights counts it too)."""
    from apilogs.fetch import insights

    if counted:
        stats.groups -= 1
    page: list[RawEvent] = []
    for event in insights.read_window(
        ctx, [query], start_ms, end_ms, stats, stop=stop, terms=terms, usage=usage
    ):
        page.append(event)
        if len(page) >= INSIGHTS_PAGE_EVENTS:
            yield page
            page = []
    if counted:
        stats.groups_done -= 1
    if page:
        yield page
