"""A URL wherever --api-id/--stage go (issue 30): `requests URL` lists exactly the requests under
that URL's path, for a custom domain with a base path and for the execute-api host; `groups URL`
says how the URL was read; a URL nothing maps says what was looked at."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner, Result

from apilogs.cli import cli
from tests.support.builders import make_log_group, make_rest_api, put_event
from tests.support.faultproxy import fault_proxy

FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "status": "$context.status",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "resourcePath": "$context.resourcePath",
    }
)
SENT = {  # path sent → route template
    "/prod/orders/1": "/orders/{id}",
    "/prod/orders/2": "/orders/{id}",
    "/prod/orders": "/orders",
    "/prod/users/1": "/users/{id}",
    "/prod/ordersx": "/ordersx",
}


@pytest.fixture
def shop(client, monkeypatch, tmp_path) -> str:
    monkeypatch.setenv("APILOGS_CACHE_DIR", str(tmp_path))
    make_log_group(client, "/access/shop")
    api = make_rest_api(client, access_group="/access/shop", access_format=FORMAT)
    apigw = client("apigateway")
    apigw.create_domain_name(domainName="shop.example.com")
    apigw.create_base_path_mapping(
        domainName="shop.example.com", basePath="v1", restApiId=api, stage="prod"
    )
    now = int(time.time() * 1000) - 60_000
    for i, (sent, route) in enumerate(SENT.items()):
        line = {"requestId": f"{i:08x}-0000-4000-8000-000000000000", "status": "200"}
        line |= {"httpMethod": "GET", "path": sent, "resourcePath": route}
        put_event(client, "/access/shop", "s", now + i * 10, json.dumps(line))
    return api


def _run(endpoint: str, *args: str) -> Result:
    rate = () if args[0] == "groups" else ("--max-rps", "0")
    return CliRunner().invoke(cli, [*args, "--endpoint-url", endpoint, *rate])


def _paths(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return sorted(json.loads(line)["path"] for line in result.stdout.splitlines())


def test_requests_under_a_custom_domains_path(shop: str, endpoint: str) -> None:
    result = _run(
        endpoint, "requests", "https://shop.example.com/v1/orders", "-s", "5m", "-o", "json"
    )
    assert _paths(result) == ["/prod/orders", "/prod/orders/1", "/prod/orders/2"]
    assert (
        f"https://shop.example.com/v1/orders → custom domain shop.example.com, base path "
        f"mapping /v1 → API {shop}, stage prod; requests under /orders"
    ) in result.stderr
    one = _run(endpoint, "requests", "shop.example.com/v1/orders/2", "-s", "5m", "-o", "json")
    assert _paths(one) == ["/prod/orders/2"]


def test_requests_under_an_execute_api_url_and_the_whole_api(shop: str, endpoint: str) -> None:
    host = f"https://{shop}.execute-api.us-east-1.amazonaws.com"
    result = _run(endpoint, "requests", f"{host}/prod/users", "-s", "5m", "-o", "json")
    assert _paths(result) == ["/prod/users/1"]
    whole = _run(endpoint, "requests", "--api-id", f"{host}/prod/", "-s", "5m", "-o", "json")
    assert len(_paths(whole)) == len(SENT)


def test_stats_keeps_to_the_urls_path_and_get_says_it_reads_the_whole_api(
    shop: str, endpoint: str
) -> None:
    under = _run(endpoint, "stats", "https://shop.example.com/v1/orders", "-s", "5m", "-o", "json")
    assert under.exit_code == 0, under.stderr
    assert json.loads(under.stdout)["requests"] == 3
    assert "requests under /orders" in under.stderr
    whole = _run(endpoint, "stats", "https://shop.example.com/v1", "-s", "5m", "-o", "json")
    assert json.loads(whole.stdout)["requests"] == len(SENT)
    lines = _run(endpoint, "get", "https://shop.example.com/v1/orders", "-s", "5m", "-o", "json")
    assert lines.exit_code == 0, lines.stderr
    assert len(lines.stdout.splitlines()) == len(SENT)
    assert "the whole API is read (requests and stats keep to /orders)" in lines.stderr


def test_groups_says_how_the_url_was_read(shop: str, endpoint: str) -> None:
    plain = _run(endpoint, "groups", "https://shop.example.com/v1/orders")
    assert plain.exit_code == 0, plain.stderr
    assert plain.stdout.startswith("URL  https://shop.example.com/v1/orders\n")
    assert f"base path mapping /v1 → API {shop}, stage prod" in plain.stdout
    doc = json.loads(_run(endpoint, "groups", "https://shop.example.com/v1", "-o", "json").stdout)
    assert doc["url"]["api_id"] == shop and doc["url"]["path"] == "/"


def test_a_url_nothing_maps_is_one_line_naming_what_was_looked_at(shop, endpoint) -> None:
    result = _run(endpoint, "requests", "https://nowhere.example.com/v1/x", "-s", "5m")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "no API found for https://nowhere.example.com/v1/x: looked at" in result.stderr


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_url_and_the_list_of_apis_survive_faults_on_every_call(shop: str, endpoint, seed) -> None:
    """In the storm: 40 % throttled, 5 % 503, 5 % dropped, 5 % slow on every call of every
    service (the domain's mappings, the API listings, every read): the same requests, the same
    list, exit 0."""
    calm = _run(
        endpoint, "requests", "https://shop.example.com/v1/orders", "-s", "5m", "-o", "json"
    )
    listed = _run(endpoint, "apis", "-s", "5m", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    with fault_proxy(endpoint) as proxy:
        proxy.chaos(seed)
        stormy = _run(
            proxy.url,
            "requests",
            "https://shop.example.com/v1/orders",
            "-s",
            "5m",
            "-o",
            "json",
            "--refresh",
        )
        stormy_list = _run(proxy.url, "apis", "-s", "5m", "-o", "json")
    assert _paths(stormy) == _paths(calm)
    assert stormy_list.exit_code == 0, stormy_list.stderr
    rows = lambda out: sorted(  # noqa: E731
        (r["api_id"], r["requests"], r["status_5xx"]) for r in map(json.loads, out.splitlines())
    )
    assert rows(stormy_list.stdout) == rows(listed.stdout)
    assert proxy.faults["throttle"] > 0


def test_an_execute_api_url_needs_no_configured_region(shop: str, endpoint: str) -> None:
    """The host names the region: a newcomer with no region configured anywhere gets the API
    (a process of its own: nothing of this one's boto3 state)."""
    env = {k: v for k, v in os.environ.items() if "REGION" not in k}
    env["APILOGS_CACHE"] = "on"  # as a user has it: the resolution is kept, keyed by region
    url = f"https://{shop}.execute-api.us-east-1.amazonaws.com/prod/orders"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "apilogs", "stats", url, "-s", "5m", *args]
        argv += ["--endpoint-url", endpoint, "--max-rps", "0"]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)

    result = run("-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 3
    insights = run("--engine", "insights")
    assert insights.returncode == 2 and insights.stdout == ""
    assert insights.stderr.splitlines()[-1] == (
        "apilogs: error: Logs Insights sums the whole API: the requests under a path need "
        "--engine filter"
    )
