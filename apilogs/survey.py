"""`apilogs apis`: every API and stage of an account and region, with its health over a window,
worst first — the step between "something is failing" and an API ID.

Each stage is summed by the same `Api.stats` that `apilogs stats` prints (so its counts are the
ones `requests` lists for it): FilterLogEvents, or Logs Insights where `--engine auto` picks it
for a long window. Every stage shares one context, hence one read limiter: the account's
FilterLogEvents quota holds however many APIs there are. A stage that cannot be read is a row
that says why, not the end of the survey."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any

from apilogs.aws import AwsContext
from apilogs.cancel import StopSignal
from apilogs.diagnosis.summary import WindowStats, percentile
from apilogs.discover.catalog import ApiStage, list_api_stages
from apilogs.errors import ApilogsError, NothingToRead
from apilogs.fetch import FetchStats
from apilogs.model import Outcome
from apilogs.spec import ReadSpec

__all__ = ["ApiHealth", "Place", "survey", "survey_places"]

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


def _health(stage: ApiStage, sums: Any) -> ApiHealth:
    if isinstance(sums, WindowStats):
        rows = sums.error_rows()
        # What is failing on the server side comes first: a 404 storm is rarely the page.
        server = [
            r for r in rows if r.key.outcome not in (Outcome.CLIENT_ERROR, Outcome.AUTH_DENIED)
        ]
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


def survey(
    context: AwsContext,
    stages: Sequence[ApiStage],
    spec: ReadSpec,
    stats: FetchStats,
    *,
    tz: tzinfo | None = None,
    profile: str | None = None,
    stop: StopSignal | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[ApiHealth]:
    """Each stage's health over the spec's window, worst first (all are summed before the first
    is given: the order is the point)."""
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


@dataclass(frozen=True, slots=True)
class Place:
    """An account (its profile) and a region to survey, with the context that reaches it."""

    context: AwsContext
    profile: str | None
    region: str


def survey_places(
    places: Sequence[Place],
    spec: ReadSpec,
    stats: FetchStats,
    *,
    tz: tzinfo | None = None,
    stop: StopSignal | None = None,
) -> Iterator[ApiHealth]:
    """Every API stage of every place in one ranking, worst first; with more than one place each
    row says its profile and region. A listing that fails is a notice, not the end."""
    rows: list[ApiHealth] = []
    several = len(places) > 1
    for place in places:
        catalog = list_api_stages(place.context, place.region)
        where = f"{place.profile or 'default profile'}, {place.region}"
        for problem in catalog.problems:
            stats.notice(f"{where}: {problem}")
        for row in survey(
            place.context, catalog.stages, spec, stats, tz=tz, profile=place.profile, stop=stop
        ):
            rows.append(
                replace(row, profile=place.profile, region=place.region) if several else row
            )
    yield from sorted(rows, key=lambda h: h.rank)
