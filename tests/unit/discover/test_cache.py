"""The topology cache: a second run reads at once from the cached topology, and a cached topology
that no longer holds (a new route, a function's new log group, a group that now exists) is
discovered again before a single line is delivered."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import apilogs
from apilogs.discover import cache
from apilogs.render.topology import topology_json
from tests.support.builders import (
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
    put_event,
)


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APILOGS_CACHE", "on")
    monkeypatch.setenv("APILOGS_CACHE_DIR", str(tmp_path))
    return tmp_path


def _open(api_id: str, endpoint: str, **kw: object) -> apilogs.Api:
    return apilogs.open_api(api_id, "prod", endpoint_url=endpoint, max_rps=0, **kw)  # type: ignore[arg-type]


def _api(client) -> str:
    primes = make_function(client, "primes")
    api_id = make_rest_api(client, routes={"GET /primes": lambda_uri(primes)})
    make_log_group(client, f"API-Gateway-Execution-Logs_{api_id}/prod")
    make_log_group(client, "/aws/lambda/primes")
    now = int(time.time() * 1000)
    put_event(client, "/aws/lambda/primes", "s", now - 2000, "from primes")
    return api_id


def test_the_second_run_starts_from_the_cache(client, endpoint, cached) -> None:
    api_id = _api(client)
    first = _open(api_id, endpoint)
    assert not first.from_cache and list(cached.glob("*.json"))
    second = _open(api_id, endpoint)
    assert second.from_cache
    assert [e.message for e in second.events("1m")] == ["from primes"]
    assert not second.from_cache  # checked: it still holds
    assert second.topology == first.topology
    # What discovery saw of each group (exists, retention, size) is not compared: kept too.
    assert topology_json(second.topology) == topology_json(first.topology)


def test_a_new_route_is_never_hidden_by_a_stale_entry(client, endpoint, cached) -> None:
    api_id = _api(client)
    _open(api_id, endpoint)
    # A new function behind a new route, deployed: the cached topology does not know it.
    orders = make_function(client, "orders")
    apigw = client("apigateway")
    root = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="orders")
    apigw.put_method(
        restApiId=api_id, resourceId=resource["id"], httpMethod="POST", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(orders),
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    make_log_group(client, "/aws/lambda/orders")
    put_event(client, "/aws/lambda/orders", "s", int(time.time() * 1000) - 1000, "from orders")

    api = _open(api_id, endpoint)
    assert api.from_cache
    stats = apilogs.FetchStats()
    assert sorted(e.message for e in api.events("1m", stats=stats)) == [
        "from orders",
        "from primes",
    ]
    assert any("discovered the API again" in n for n in stats.notices)
    assert "/aws/lambda/orders" in api.topology.log_groups()


def test_a_function_moved_to_another_log_group_is_followed(client, endpoint, cached) -> None:
    api_id = _api(client)
    _open(api_id, endpoint)
    time.sleep(1.1)  # LastModified has a resolution of a second here
    client("lambda").update_function_configuration(
        FunctionName="primes", LoggingConfig={"LogFormat": "Text", "LogGroup": "/shared/new"}
    )
    make_log_group(client, "/shared/new")
    put_event(client, "/shared/new", "s", int(time.time() * 1000) - 500, "in the new group")
    api = _open(api_id, endpoint)
    assert api.from_cache
    assert [e.message for e in api.events("1m")] == ["in the new group"]


def test_a_group_that_appeared_is_read(client, endpoint, cached) -> None:
    primes = make_function(client, "primes")
    api_id = make_rest_api(client, routes={"GET /primes": lambda_uri(primes)})
    make_log_group(client, f"API-Gateway-Execution-Logs_{api_id}/prod")
    first = _open(api_id, endpoint)
    assert [s.exists for s in first.topology.sources if s.function_name] == [False]
    make_log_group(client, "/aws/lambda/primes")  # the first invocation made it
    put_event(client, "/aws/lambda/primes", "s", int(time.time() * 1000) - 500, "first call")
    api = _open(api_id, endpoint)
    assert api.from_cache
    assert [e.message for e in api.events("1m")] == ["first call"]


def test_refresh_off_and_broken_entries(client, endpoint, cached, monkeypatch) -> None:
    api_id = _api(client)
    _open(api_id, endpoint)
    assert not _open(api_id, endpoint, refresh=True).from_cache
    assert not _open(api_id, endpoint, cache=False).from_cache
    monkeypatch.setenv("APILOGS_CACHE", "off")
    assert not _open(api_id, endpoint).from_cache
    monkeypatch.setenv("APILOGS_CACHE", "on")
    for entry in cached.glob("*.json"):
        entry.write_text("{not json")
    assert not _open(api_id, endpoint).from_cache  # a broken entry is no entry
    assert cache.load("nothing-here") is None
