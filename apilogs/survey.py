"""`apilogs apis`: every API and stage of an account and region, with its health over a window,
worst first — the step between "something is failing" and an API ID.

Each stage is summed by the same `Api.stats` that `apilogs stats` prints (so its counts are the
ones `requests` lists for it): FilterLogEvents, or Logs Insights where `--engine auto` picks it
for a long window. Every stage shares one context, hence one read limiter: the account's
FilterLogEvents quota holds however many APIs there are. A stage that cannot be read is a row
that says why, not the end of the survey."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any

from apilogs.aws import AwsContext
from apilogs.cancel import StopSignal
from apilogs.diagnosis.summary import WindowStats, percentile
from apilogs.discover.catalog import ApiStage, list_api_stages
from apilogs.errors import ApilogsError, Cancelled, NothingToRead
from apilogs.fetch import FetchStats
from apilogs.fetch.auto import is_aws_endpoint
from apilogs.fetch.insights import (
    DEFAULT_CONCURRENCY,
    InsightsUnserved,
    run_queries,
)
from apilogs.fetch.survey_queries import sums_from, survey_queries
from apilogs.model import Outcome
from apilogs.spec import ReadSpec
from apilogs.times import resolve_window

__all__ = ["ApiHealth", "Place", "SurveyRun", "survey", "survey_by_insights", "survey_places"]

# Stages summed at once: each read already runs several groups at once under the shared limiter.
PARALLEL_STAGES = 3


@dataclass(frozen=True, slots=True)
class ApiHealth:
    """One API stage over the window."""

    stage: ApiStage
    requests: int = 0
    status_4xx: int = 0
    status_5xx: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    top_cause: str | None = None
    problem: str | None = None  # why it could not be summed (no logs, denied, …)
    # Where it lives, when a survey covers several accounts (profiles) or regions.
    profile: str | None = None
    region: str | None = None

    @property
    def rank(self) -> tuple[int, int, int, str, str]:
        """Worst first: 5xx, then 4xx, then traffic; unreadable stages last."""
        unread = 1 if self.problem else 0
        return (unread, -self.status_5xx, -self.status_4xx, self.stage.name, self.stage.stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "api_id": self.stage.api_id,
            "name": self.stage.name,
            "kind": str(self.stage.kind),
            "stage": self.stage.stage,
            "requests": self.requests,
            "status_4xx": self.status_4xx,
            "status_5xx": self.status_5xx,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "top_cause": self.top_cause,
            "problem": self.problem,
            "profile": self.profile,
            "region": self.region,
        }


def _server_side(outcome: Outcome, detail: str) -> bool:
    """Whether a cause row is of 5xx requests: the client-side outcomes are keyed by status
    (`diagnosis.summary.cause_key`), and API Gateway's 429 is the client's throttle."""
    if outcome in (Outcome.CLIENT_ERROR, Outcome.AUTH_DENIED, Outcome.THROTTLED):
        return detail.startswith("5")
    return True


def _health(stage: ApiStage, sums: Any) -> ApiHealth:
    if isinstance(sums, WindowStats):
        rows = sums.error_rows()
        # What is failing on the server side comes first: a 404 storm is rarely the page.
        server = [r for r in rows if _server_side(r.key.outcome, r.key.detail)]
        top = server[0] if server else (rows[0] if rows else None)
        return ApiHealth(
            stage,
            requests=sums.requests,
            status_4xx=sums.by_class.get("4xx", 0),
            status_5xx=sums.by_class.get("5xx", 0),
            p50_ms=percentile(sums.response, 50),
            p99_ms=percentile(sums.response, 99),
            top_cause=(top.cause or str(top.key.outcome)) if top else None,
        )
    # Logs Insights' sums (`InsightsSummary`): no cause, which needs every request's lines.
    by_status = sums.by_status
    return ApiHealth(
        stage,
        requests=sums.requests,
        status_4xx=sum(n for s, n in by_status.items() if 400 <= s < 500),
        status_5xx=sum(n for s, n in by_status.items() if 500 <= s < 600),
        p50_ms=sums.response_latency_ms.p50,
        p99_ms=sums.response_latency_ms.p99,
    )


@dataclass(frozen=True, slots=True)
class Place:
    """An account (its profile) and a region to survey, with the context that reaches it."""

    context: AwsContext
    profile: str | None
    region: str


@dataclass(frozen=True, slots=True)
class SurveyRun:
    """What a survey reads (`spec`'s window) and where its counts and notices go; `progress(done,
    of)` is told as each stage is summed."""

    spec: ReadSpec
    stats: FetchStats
    tz: tzinfo | None = None
    stop: StopSignal | None = None
    progress: Callable[[int, int], None] | None = None


def survey(place: Place, stages: Sequence[ApiStage], run: SurveyRun) -> Iterator[ApiHealth]:
    """Each stage's health over the run's window, worst first (all are summed before the first
    is given: the order is the point)."""
    context, profile = place.context, place.profile
    spec, stats, tz, stop, progress = run.spec, run.stats, run.tz, run.stop, run.progress
    from apilogs.api import Api
    from apilogs.discover import cache as topology_cache
    from apilogs.known import find_topology

    def one(stage: ApiStage) -> ApiHealth:
        try:
            known = find_topology(
                context,
                stage.api_id,
                stage.stage,
                endpoint_url=context.endpoint_url,
                profile=profile,
                cache=topology_cache.enabled(),
                refresh=False,
                first_read=None,
                tz=tz,
            )
            api = Api(context, known.topology, tz, known=known)
            return _health(stage, api.stats(spec, stop=stop, stats=stats))
        except NothingToRead:
            return ApiHealth(stage, problem="no log group (logging off)")
        except ApilogsError as exc:
            return ApiHealth(stage, problem=str(exc).splitlines()[0])

    done: list[ApiHealth] = []
    with ThreadPoolExecutor(PARALLEL_STAGES, thread_name_prefix="survey") as pool:
        for health in pool.map(one, stages):
            done.append(health)
            if progress is not None:
                progress(len(done), len(stages))
    yield from sorted(done, key=lambda h: h.rank)


def survey_places(
    places: Sequence[Place],
    spec: ReadSpec,
    stats: FetchStats,
    *,
    tz: tzinfo | None = None,
    stop: StopSignal | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Iterator[ApiHealth]:
    """Every API stage of every place in one ranking, worst first; with more than one place each
    row says its profile and region. A listing that fails is a notice, not the end. Logs
    Insights sums the places where `by_insights` says it should (`survey_by_insights`)."""
    rows: list[ApiHealth] = []
    several = len(places) > 1
    start_ms, end_ms = resolve_window(spec.start, spec.end, tz=tz)
    end_ms = end_ms if end_ms is not None else int(time.time() * 1000)
    for place in places:
        catalog = list_api_stages(place.context, place.region)
        where = f"{place.profile or 'default profile'}, {place.region}"
        for problem in catalog.problems:
            stats.notice(f"{where}: {problem}")
        found: Iterable[ApiHealth] | None = None
        if by_insights(spec, place.context, end_ms - start_ms, len(catalog.stages)):
            try:
                found = survey_by_insights(
                    place,
                    catalog.stages,
                    (start_ms, end_ms),
                    stats,
                    stop=stop,
                    concurrency=concurrency,
                )
            except InsightsUnserved as exc:
                if spec.engine != "auto":
                    raise
                stats.notice(f"{exc}: each API summed with FilterLogEvents instead")
        if found is None:
            found = survey(place, catalog.stages, SurveyRun(spec, stats, tz, stop))
        for row in found:
            rows.append(
                replace(row, profile=place.profile, region=place.region) if several else row
            )
    yield from sorted(rows, key=lambda h: h.rank)


#: `--engine auto` surveys on Logs Insights from this window, or from this many stages: reading
#: every line of every API's groups at 5 pages a second is minutes for a busy account.
INSIGHTS_FROM_MS = 3_600_000
INSIGHTS_FROM_STAGES = 10


def by_insights(spec: ReadSpec, context: AwsContext, window_ms: int, stages: int) -> bool:
    if spec.engine != "auto":
        return spec.engine == "insights"
    if context.endpoint_url is not None and not is_aws_endpoint(context.endpoint_url):
        return False  # emulators rarely compute Insights queries (see fetch/auto.py)
    return window_ms >= INSIGHTS_FROM_MS or stages >= INSIGHTS_FROM_STAGES


def survey_by_insights(
    place: Place,
    stages: Sequence[ApiStage],
    window_ms: tuple[int, int],
    stats: FetchStats,
    **run: Any,
) -> list[ApiHealth]:
    """Each stage summed by Logs Insights over its access log (execution log where it has no
    JSON one), fifty groups a query; the top cause is left out (it needs each request's lines).
    `run`: how the queries run (`insights.run_queries`' stop, concurrency, …)."""
    queries, owner, unread = survey_queries(stages, place.region)
    start_ms, end_ms = window_ms
    results = run_queries(
        place.context, queries, start_ms // 1000, -(-end_ms // 1000), stats, **run
    )
    if results is None:
        raise Cancelled()
    rows = [
        ApiHealth(
            stage,
            requests=found.requests,
            status_4xx=found.status_4xx,
            status_5xx=found.status_5xx,
            p50_ms=found.p50_ms,
            p99_ms=found.p99_ms,
        )
        for stage, found in sums_from(results, owner).items()
    ]
    rows += [ApiHealth(stage, problem="no access or execution log") for stage in unread]
    return sorted(rows, key=lambda h: h.rank)
