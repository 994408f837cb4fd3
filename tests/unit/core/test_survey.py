"""`apilogs apis`' core on moto's server: every API and stage listed, each summed with the counts
`requests` finds for it, worst first; a stage without logs is a row that says so."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from apilogs.aws import make_context
from apilogs.cli import cli
from apilogs.discover.catalog import list_api_stages
from apilogs.fetch import FetchStats
from apilogs.model import ApiKind
from apilogs.spec import ReadSpec
from apilogs.survey import Place, survey, survey_places
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
    burning = _api_with_traffic(client, "burning", [200, 502, 503, 500, 429])
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
    rows = list(survey(ctx, ours, ReadSpec.build("10m"), FetchStats()))
    assert [r.stage.api_id for r in rows] == [burning, calm, silent]
    worst = rows[0]
    assert (worst.requests, worst.status_4xx, worst.status_5xx) == (5, 1, 3)
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
