"""`apilogs apis` on Logs Insights: many APIs' access logs summed server-side, up to
`MAX_GROUPS_PER_QUERY` groups a query, grouped `by @log` — two queries per fifty stages instead of
reading every line of every group of every API. Stages without a JSON access log are counted
from their execution log (`Method completed with status: N`), without latencies.

Pure query building and result reading here; the queries run through `insights.run_queries`
(the account's concurrency, missing groups, time-outs, an endpoint that answers with lines)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from apilogs.discover.catalog import ApiStage
from apilogs.fetch.insights import (
    MAX_GROUPS_PER_QUERY,
    AccessFields,
    InsightsQuery,
    count_field,
    log_group_of,
    number_field,
)

__all__ = ["StageSums", "sums_from", "survey_queries"]

EXECUTION_STATUS = (
    'filter @message like "Method completed with status:" '
    '| parse @message "Method completed with status: *" as status '
    "| stats count(*) as n by @log, status"
)


@dataclass
class StageSums:
    requests: int = 0
    status_4xx: int = 0
    status_5xx: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    by_status: dict[int, int] = field(default_factory=dict)

    def count(self, status: float | None, n: int) -> None:
        if status is None:
            return
        code = int(status)
        self.by_status[code] = self.by_status.get(code, 0) + n
        if 400 <= code < 500:
            self.status_4xx += n
        elif 500 <= code < 600:
            self.status_5xx += n


def _chunks(groups: Sequence[str]) -> list[tuple[str, ...]]:
    return [
        tuple(groups[i : i + MAX_GROUPS_PER_QUERY])
        for i in range(0, len(groups), MAX_GROUPS_PER_QUERY)
    ]


def survey_queries(
    stages: Sequence[ApiStage], region: str
) -> tuple[list[InsightsQuery], dict[str, ApiStage], list[ApiStage]]:
    """The queries for these stages of one region; which stage each group sums; the stages
    that have no log Insights can count."""
    by_fields: dict[AccessFields, list[str]] = {}
    owner: dict[str, ApiStage] = {}
    execution: list[str] = []
    unread: list[ApiStage] = []
    for stage in stages:
        fields = AccessFields.from_format(stage.access_format) if stage.access_group else None
        if stage.access_group and fields is not None and fields.status:
            by_fields.setdefault(fields, []).append(stage.access_group)
            owner[stage.access_group] = stage
        elif stage.execution_group:
            execution.append(stage.execution_group)
            owner[stage.execution_group] = stage
        else:
            unread.append(stage)
    queries: list[InsightsQuery] = []
    for fields, groups in by_fields.items():
        latency = fields.response_latency
        totals = "stats count(*) as requests" + (
            f", pct({latency}, 50) as p50, pct({latency}, 99) as p99" if latency else ""
        )
        for chunk in _chunks(groups):
            queries.append(InsightsQuery("totals", region, chunk, f"{totals} by @log"))
            queries.append(
                InsightsQuery(
                    "status",
                    region,
                    chunk,
                    f"stats count(*) as n by @log, {fields.status} as status",
                )
            )
    for chunk in _chunks(execution):
        queries.append(InsightsQuery("execution", region, chunk, EXECUTION_STATUS))
    return queries, owner, unread


def sums_from(
    results: Sequence[tuple[InsightsQuery, list[dict[str, str]]]], owner: dict[str, ApiStage]
) -> dict[ApiStage, StageSums]:
    """Each stage's sums from the queries' rows (`@log` is `account:group`)."""
    sums: dict[ApiStage, StageSums] = {stage: StageSums() for stage in owner.values()}
    for query, rows in results:
        for row in rows:
            group = log_group_of(row.get("@log", ""))
            stage = owner.get(group)
            if stage is None:
                continue
            sum_ = sums[stage]
            if query.name == "totals":
                sum_.requests += count_field(row.get("requests"))
                sum_.p50_ms = number_field(row.get("p50"))
                sum_.p99_ms = number_field(row.get("p99"))
            elif query.name == "status":
                sum_.count(number_field(row.get("status")), count_field(row.get("n")))
            elif query.name == "execution":
                n = count_field(row.get("n"))
                sum_.requests += n
                sum_.count(number_field(row.get("status")), n)
    return sums
