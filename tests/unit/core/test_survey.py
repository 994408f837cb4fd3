"""`apilogs apis`' core on moto's server: every API and stage listed, each summed with the counts
`requests` finds for it, worst first; a stage without logs is a row that says so."""

from __future__ import annotations

import json
import time

from botocore.stub import Stubber
from click.testing import CliRunner

from apilogs.aws import make_context
from apilogs.cli import cli
from apilogs.discover.catalog import list_api_stages
from apilogs.fetch import FetchStats
from apilogs.model import ApiKind
from apilogs.spec import ReadSpec
from apilogs.survey import Place, SurveyRun, survey, survey_by_insights, survey_places
from tests.support.builders import make_log_group, make_rest_api, put_event


def _api_with_traffic(client, name: str, statuses: list[int]) -> str:
    group = f"/access/{name}"
    make_log_group(client, group)
    api = make_rest_api(client, name=name, access_group=group, logging_level=None)
    now = int(time.time() * 1000) - 120_000
    tag = sum(map(ord, name))  # request IDs unique across the APIs
    for i, status in enumerate(statuses):
        line = {
            "requestId": f"{tag:04x}{i:04x}-0000-4000-8000-000000000000",
            "status": str(status),
        }
        put_event(client, group, "s", now + i * 100, json.dumps(line))
    return api


def test_every_stage_is_summed_as_requests_finds_it_worst_first(endpoint: str, client) -> None:
    calm = _api_with_traffic(client, "calm", [200] * 6 + [404])
    burning = _api_with_traffic(client, "burning", [200, 502, 503, 500, 429, 429])
    v2 = client("apigatewayv2")
    silent = v2.create_api(Name="silent", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=silent, StageName="$default")
    ctx = make_context(region="us-east-1", endpoint_url=endpoint, max_rps=0)

    catalog = list_api_stages(ctx)
    assert {(s.api_id, s.kind, s.stage) for s in catalog.stages} >= {
        (calm, ApiKind.REST, "prod"),
        (burning, ApiKind.REST, "prod"),
        (silent, ApiKind.HTTP, "$default"),
    }
    assert catalog.problems == ()
    ours = [s for s in catalog.stages if s.api_id in (calm, burning, silent)]
    run = SurveyRun(ReadSpec.build("10m"), FetchStats())
    rows = list(survey(Place(ctx, None, "us-east-1"), ours, run))
    assert [r.stage.api_id for r in rows] == [burning, calm, silent]
    worst = rows[0]
    assert (worst.requests, worst.status_4xx, worst.status_5xx) == (6, 2, 3)
    # The cause shown is a server-side one, never the client's 429 or 404.
    assert worst.top_cause is not None and "429" not in worst.top_cause
    assert (
        rows[1].top_cause is not None and "404" in rows[1].top_cause
    )  # only 4xx: said all the same
    assert rows[1].to_dict() | {"p50_ms": None, "p99_ms": None} == {
        "api_id": calm,
        "name": "calm",
        "kind": "REST",
        "stage": "prod",
        "requests": 7,
        "status_4xx": 1,
        "status_5xx": 0,
        "p50_ms": None,
        "p99_ms": None,
        "top_cause": rows[1].top_cause,
        "problem": None,
        "profile": None,
        "region": None,
    }
    assert rows[2].problem is not None and rows[2].requests == 0
    # The counts are the ones `requests` lists for each API.
    for row in rows[:2]:
        listed = CliRunner().invoke(
            cli,
            [
                *("requests", "-a", row.stage.api_id, "-t", "prod", "-s", "10m", "-o", "json"),
                *("--endpoint-url", endpoint, "--max-rps", "0"),
            ],
        )
        assert listed.exit_code == 0, listed.stderr
        statuses = [json.loads(line)["status"] for line in listed.stdout.splitlines()]
        assert len(statuses) == row.requests
        assert sum(1 for s in statuses if s >= 500) == row.status_5xx


def test_several_regions_are_one_ranking_each_row_saying_where(endpoint: str, client) -> None:
    home = _api_with_traffic(client, "home", [200, 500])
    group = "/access/away"
    make_log_group(client, group, region="eu-west-1")
    away = client("apigateway", "eu-west-1")
    api = away.create_rest_api(name="away")["id"]
    root = away.get_resources(restApiId=api)["items"][0]["id"]
    away.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    away.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    deployment = away.create_deployment(restApiId=api)["id"]
    away.create_stage(restApiId=api, stageName="prod", deploymentId=deployment)
    away.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[
            {
                "op": "replace",
                "path": "/accessLogSettings/destinationArn",
                "value": f"arn:aws:logs:eu-west-1:123456789012:log-group:{group}",
            },
            {
                "op": "replace",
                "path": "/accessLogSettings/format",
                "value": '{"requestId":"$context.requestId","status":"$context.status"}',
            },
        ],
    )
    logs = client("logs", "eu-west-1")
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000) - 60_000
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {
                "timestamp": now + i,
                "message": json.dumps(
                    {"requestId": f"0000aaa{i}-0000-4000-8000-000000000000", "status": "503"}
                ),
            }
            for i in range(3)
        ],
    )
    places = [
        Place(make_context(region=r, endpoint_url=endpoint, max_rps=0), None, r)
        for r in ("us-east-1", "eu-west-1")
    ]
    rows = [
        r
        for r in survey_places(places, ReadSpec.build("10m"), FetchStats())
        if r.stage.api_id in (home, api)
    ]
    assert [(r.stage.api_id, r.region, r.status_5xx) for r in rows] == [
        (api, "eu-west-1", 3),
        (home, "us-east-1", 1),
    ]
    assert rows[0].to_dict()["region"] == "eu-west-1"


def _row(**fields: str) -> list[dict[str, str]]:
    return [{"field": k.replace("log", "@log"), "value": v} for k, v in fields.items()]


def test_insights_sums_fifty_access_logs_a_query_and_execution_logs_where_none(
    endpoint: str, client
) -> None:
    """Logs Insights' sums (stubbed: moto does not compute `stats`) read back per stage."""
    fmt = '{"requestId":"$context.requestId","status":"$context.status","responseLatency":"$context.responseLatency"}'
    make_log_group(client, "/access/a")
    with_access = make_rest_api(client, name="a", access_group="/access/a", access_format=fmt)
    without = make_rest_api(client, name="b", logging_level="INFO")
    ctx = make_context(region="us-east-1", endpoint_url=endpoint, max_rps=0)
    stages = [s for s in list_api_stages(ctx).stages if s.api_id in (with_access, without)]
    place = Place(ctx, None, "us-east-1")
    execution = f"API-Gateway-Execution-Logs_{without}/prod"
    answers = [
        _row(log="123456789012:/access/a", requests="40", p50="21", p99="900"),
        _row(log="123456789012:/access/a", status="200", n="30"),
    ]
    with Stubber(ctx.reader_client("us-east-1")) as stub:
        for name, rows in (
            ("totals", [answers[0]]),
            (
                "status",
                [
                    answers[1],
                    _row(log="123456789012:/access/a", status="502", n="7"),
                    _row(log="123456789012:/access/a", status="404", n="3"),
                ],
            ),
            (
                "execution",
                [
                    _row(log=f"123456789012:{execution}", status="200", n="5"),
                    _row(log=f"123456789012:{execution}", status="504", n="2"),
                ],
            ),
        ):
            stub.add_response("start_query", {"queryId": name})
            stub.add_response("get_query_results", {"status": "Complete", "results": rows})
        now = int(time.time() * 1000)
        rows = survey_by_insights(
            place, stages, (now - 3_600_000, now), FetchStats(), concurrency=1
        )
    got = {
        r.stage.api_id: (r.requests, r.status_4xx, r.status_5xx, r.p50_ms, r.p99_ms) for r in rows
    }
    assert got == {with_access: (40, 3, 7, 21.0, 900.0), without: (7, 0, 2, None, None)}
    assert [r.stage.api_id for r in rows] == [with_access, without]  # 7 5xx before 2


def test_auto_surveys_on_insights_and_gives_way_where_it_does_not_sum(
    endpoint: str, client, monkeypatch
) -> None:
    """Against AWS's host (moto answering as a proxy), a window of an hour goes to Insights;
    moto answers `stats` with lines, so each API is summed with FilterLogEvents, and that is said."""
    burning = _api_with_traffic(client, "fire", [200, 502, 503])
    monkeypatch.setenv("HTTP_PROXY", endpoint)
    monkeypatch.setenv("http_proxy", endpoint)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    ctx = make_context(
        region="us-east-1", endpoint_url="http://logs.us-east-1.amazonaws.com", max_rps=0
    )
    stats = FetchStats()
    spec = ReadSpec.build("2h", engine="auto")
    rows = list(survey_places([Place(ctx, None, "us-east-1")], spec, stats))
    mine = next(r for r in rows if r.stage.api_id == burning)
    assert (mine.requests, mine.status_5xx) == (3, 2)
    assert any("each API summed with FilterLogEvents instead" in n for n in stats.notices)
