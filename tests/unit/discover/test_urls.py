"""A URL in place of an API ID and a stage, resolved on moto's server: the execute-api host (REST,
and an HTTP API's named and `$default` stages), custom domains with REST base path mappings and
API mappings (none, one level, several levels), and URLs nothing maps."""

from __future__ import annotations

import pytest

from apilogs.aws import make_context
from apilogs.discover.urls import (
    PathUnder,
    UrlNotResolved,
    looks_like_url,
    parse_url,
    resolve_url,
    resolve_url_cached,
)
from apilogs.errors import InvalidInput
from tests.support.builders import make_rest_api
from tests.support.faultproxy import fault_proxy


@pytest.fixture
def ctx(endpoint: str):
    return make_context(region="us-east-1", endpoint_url=endpoint)


def _http_api(client, stages: tuple[str, ...]) -> str:
    v2 = client("apigatewayv2")
    api_id: str = v2.create_api(Name="orders-http", ProtocolType="HTTP")["ApiId"]
    for stage in stages:
        v2.create_stage(ApiId=api_id, StageName=stage)
    return api_id


def test_what_counts_as_a_url() -> None:
    assert looks_like_url("https://api.example.com/v1/orders")
    assert looks_like_url("abcdef1234.execute-api.eu-west-1.amazonaws.com/prod")
    assert looks_like_url("api.example.com/v1")
    assert not looks_like_url("abcdef1234")
    assert not looks_like_url("my-api")
    url = parse_url("https://API.example.com./v1/orders%20x//7?q=1#f")
    assert (url.host, url.segments) == ("api.example.com", ("v1", "orders x", "7"))
    with pytest.raises(InvalidInput):
        parse_url("ftp://x/y")


def test_the_execute_api_host_of_a_rest_api_names_its_region_and_stage(ctx, client) -> None:
    api = make_rest_api(client, stage="prod")
    target = resolve_url(ctx, f"https://{api}.execute-api.us-east-1.amazonaws.com/prod/orders/7")
    assert (target.api_id, target.stage, target.region, target.path) == (
        api,
        "prod",
        "us-east-1",
        "/orders/7",
    )
    assert "REST API" in target.how and "stage prod (the first path segment)" in target.how
    whole = resolve_url(ctx, f"{api}.execute-api.us-east-1.amazonaws.com/prod")
    assert whole.path == "/" and not whole.narrows
    with pytest.raises(InvalidInput, match="but no stage"):
        resolve_url(ctx, f"https://{api}.execute-api.us-east-1.amazonaws.com/")


def test_an_http_api_is_served_at_a_named_stage_or_at_the_root_by_default(ctx, client) -> None:
    named = _http_api(client, ("beta",))
    host = f"{named}.execute-api.us-east-1.amazonaws.com"
    target = resolve_url(ctx, f"https://{host}/beta/orders")
    assert (target.api_id, target.stage, target.path) == (named, "beta", "/orders")
    with pytest.raises(UrlNotResolved, match="none is orders, and it has no \\$default stage"):
        resolve_url(ctx, f"https://{host}/orders")
    default = _http_api(client, ("$default",))
    target = resolve_url(ctx, f"https://{default}.execute-api.us-east-1.amazonaws.com/orders/7")
    assert (target.stage, target.path) == ("$default", "/orders/7")
    assert "no stage in the path" in target.how


def test_a_custom_domain_maps_the_longest_base_path_that_starts_the_url(ctx, client) -> None:
    apigw = client("apigateway")
    root_api = make_rest_api(client, name="root", stage="prod")
    v1_api = make_rest_api(client, name="v1", stage="live")
    orders_api = _http_api(client, ("blue",))
    apigw.create_domain_name(domainName="api.example.com")
    apigw.create_base_path_mapping(domainName="api.example.com", restApiId=root_api, stage="prod")
    apigw.create_base_path_mapping(
        domainName="api.example.com", basePath="v1", restApiId=v1_api, stage="live"
    )
    # A multi-level base path is an API mapping (API Gateway v1 refuses a slash in a base path).
    # AWS has one domain for both APIs, and maps REST APIs there too; moto keeps two, and maps
    # only HTTP APIs through API mappings.
    client("apigatewayv2").create_domain_name(DomainName="api.example.com")
    client("apigatewayv2").create_api_mapping(
        DomainName="api.example.com", ApiId=orders_api, Stage="blue", ApiMappingKey="v1/orders"
    )
    cases = {
        "https://api.example.com/v1/orders/7": (orders_api, "blue", "/7"),
        "https://api.example.com/v1/users": (v1_api, "live", "/users"),
        "https://api.example.com/health": (root_api, "prod", "/health"),
        "https://api.example.com/v1": (v1_api, "live", "/"),
    }
    for url, expected in cases.items():
        target = resolve_url(ctx, url)
        assert (target.api_id, target.stage, target.path) == expected, url
    assert (
        "custom domain api.example.com, API mapping /v1/orders"
        in resolve_url(ctx, "api.example.com/v1/orders").how
    )


def test_an_http_api_mapped_to_a_domain_is_found_through_its_api_mapping(ctx, client) -> None:
    api = _http_api(client, ("prod",))
    v2 = client("apigatewayv2")
    v2.create_domain_name(DomainName="http.example.com")
    v2.create_api_mapping(
        DomainName="http.example.com", ApiId=api, Stage="prod", ApiMappingKey="shop"
    )
    target = resolve_url(ctx, "https://http.example.com/shop/cart/1")
    assert (target.api_id, target.stage, target.path) == (api, "prod", "/cart/1")
    assert "API mapping /shop" in target.how


def test_a_url_nothing_maps_says_what_was_looked_at(ctx, client) -> None:
    with pytest.raises(UrlNotResolved) as raised:
        resolve_url(ctx, "https://nowhere.example.com/v1/x")
    message = str(raised.value)
    assert message.startswith("no API found for https://nowhere.example.com/v1/x: looked at ")
    assert "REST base path mappings" in message and "API mappings" in message
    assert "us-east-1" in message
    apigw = client("apigateway")
    api = make_rest_api(client, stage="prod")
    apigw.create_domain_name(domainName="only.example.com")
    apigw.create_base_path_mapping(
        domainName="only.example.com", basePath="v2", restApiId=api, stage="prod"
    )
    with pytest.raises(UrlNotResolved, match="its base paths are /v2"):
        resolve_url(ctx, "https://only.example.com/v1/x")
    with pytest.raises(
        UrlNotResolved, match="REST, HTTP and WebSocket API zzzzzzzzzz in us-east-1"
    ):
        resolve_url(ctx, "https://zzzzzzzzzz.execute-api.us-east-1.amazonaws.com/prod/")


def test_a_request_is_under_a_urls_path_by_the_path_it_sent_or_its_route() -> None:
    under = PathUnder("/orders/7", ("/prod",))
    assert under("/prod/orders/7", None)  # the execute-api host: the stage first
    assert under("/orders/7/items", None)  # below it
    assert under(None, "/orders/{id}")  # the route template serves it
    assert under(None, "/{proxy+}")
    assert under(None, "/orders/{id}/items/{item}")  # routes below it
    assert not under("/prod/orders/70", "/orders/{id}")  # the path sent decides, not the route
    assert not under("/prod/orders", "/orders")
    assert not under("/prod/users/7", "/users/{id}")
    assert PathUnder("/")("/anything", None)


def test_a_resolution_is_kept_and_used_without_a_round_trip(
    ctx, client, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("APILOGS_CACHE_DIR", str(tmp_path))
    api = make_rest_api(client, stage="prod")
    apigw = client("apigateway")
    apigw.create_domain_name(domainName="kept.example.com")
    apigw.create_base_path_mapping(domainName="kept.example.com", restApiId=api, stage="prod")
    first = resolve_url_cached(ctx, "https://kept.example.com/orders", profile=None, cache=True)
    # The mapping is gone; the kept resolution still answers (and `refresh` asks again).
    apigw.delete_base_path_mapping(domainName="kept.example.com", basePath="(none)")
    again = resolve_url_cached(ctx, "https://kept.example.com/orders", profile=None, cache=True)
    assert again == first and again.api_id == api
    with pytest.raises(UrlNotResolved):
        resolve_url_cached(
            ctx, "https://kept.example.com/orders", profile=None, cache=True, refresh=True
        )


def _wire(value):
    """API Gateway v2's JSON on the wire: camelCase names (boto3 shows them capitalised)."""
    if isinstance(value, dict):
        return {k[0].lower() + k[1:]: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _routing_rule(priority: int, api: str, stage: str, *, bases=(), headers=(), strip=False):
    conditions = []
    if bases:
        conditions.append({"MatchBasePaths": {"AnyOf": list(bases)}})
    if headers:
        conditions.append(
            {"MatchHeaders": {"AnyOf": [{"Header": h, "ValueGlob": v} for h, v in headers]}}
        )
    return {
        "Priority": priority,
        "RoutingRuleId": f"r{priority}",
        "Conditions": conditions,
        "Actions": [{"InvokeApi": {"ApiId": api, "Stage": stage, "StripBasePath": strip}}],
    }


def test_a_domain_routed_by_rules_resolves_by_its_first_matching_rule(endpoint, client) -> None:
    """moto knows no routing rules: the proxy answers GetDomainName's routing mode and
    ListRoutingRules as AWS documents them (priority order, the first rule that matches wins,
    base paths and headers ANDed, StripBasePath), and forwards everything else to moto."""
    apigw = client("apigateway")
    mapped = make_rest_api(client, name="mapped", stage="prod")
    apigw.create_domain_name(domainName="rules.example.com")
    apigw.create_base_path_mapping(
        domainName="rules.example.com", basePath="legacy", restApiId=mapped, stage="prod"
    )
    rules = [
        _routing_rule(100, "catchall", "prod"),
        _routing_rule(10, "beta", "beta", bases=["orders"], headers=[("x-beta", "yes")]),
        _routing_rule(20, "orders", "live", bases=["orders", "shop/orders"], strip=True),
        _routing_rule(30, "users", "live", bases=["users"]),
    ]
    mode = {"value": "ROUTING_RULE_ONLY"}
    with fault_proxy(endpoint) as proxy:
        proxy.answers = {
            "apigateway:GetDomainName(v2)": lambda path: _wire(
                {"DomainName": "rules.example.com", "RoutingMode": mode["value"]}
            ),
            "apigateway:ListRoutingRules": lambda path: _wire({"RoutingRules": rules}),
        }
        ctx = make_context(region="us-east-1", endpoint_url=proxy.url)
        orders = resolve_url(ctx, "https://rules.example.com/orders/7")
        nested = resolve_url(ctx, "https://rules.example.com/shop/orders/7")
        users = resolve_url(ctx, "https://rules.example.com/users/ann")
        other = resolve_url(ctx, "https://rules.example.com/legacy/x")
        mode["value"] = "ROUTING_RULE_THEN_API_MAPPING"
        rules[:] = [r for r in rules if r["Priority"] != 100]  # no catch-all: mappings next
        legacy = resolve_url(ctx, "https://rules.example.com/legacy/x")
        mode["value"] = "ROUTING_RULE_ONLY"
        with pytest.raises(UrlNotResolved) as raised:
            resolve_url(ctx, "https://rules.example.com/legacy/x")
    # The header rule comes first but the URL cannot say whether the request had the header:
    # the first rule that asks for none decides, and the other is said.
    assert (orders.api_id, orders.stage, orders.path) == ("orders", "live", "/7")
    assert "routing rule of priority 20 → API orders, stage live" in orders.how
    assert "with x-beta: yes: API beta, stage beta" in orders.how
    assert (nested.api_id, nested.path) == ("orders", "/7")  # the longest base path, stripped
    # Without StripBasePath the API gets the whole path.
    assert (users.api_id, users.stage, users.path) == ("users", "live", "/users/ann")
    assert PathUnder(users.path, users.sent_prefixes)("/live/users/ann", None)
    assert (other.api_id, other.path) == ("catchall", "/legacy/x")
    assert (legacy.api_id, legacy.stage, legacy.path) == (mapped, "prod", "/x")
    assert "base path mapping /legacy" in legacy.how
    message = str(raised.value)
    assert "routing rules" in message and "routing mode ROUTING_RULE_ONLY" in message
    assert proxy.ops["apigateway:ListRoutingRules"] == 6


def test_a_domain_routed_by_api_mappings_only_is_not_asked_for_rules(endpoint, client) -> None:
    api = make_rest_api(client, stage="prod")
    client("apigateway").create_domain_name(domainName="plain.example.com")
    client("apigateway").create_base_path_mapping(
        domainName="plain.example.com", restApiId=api, stage="prod"
    )
    with fault_proxy(endpoint) as proxy:
        ctx = make_context(region="us-east-1", endpoint_url=proxy.url)
        target = resolve_url(ctx, "https://plain.example.com/a/b")
    assert (target.api_id, target.path) == (api, "/a/b")
    assert proxy.ops["apigateway:ListRoutingRules"] == 0


# Seeds whose first draws fault (seed 2 lets both calls through untouched).
@pytest.mark.parametrize("seed", [1, 3, 4])
def test_a_domain_routed_by_rules_resolves_alike_under_faults_on_every_call(
    endpoint, client, seed
) -> None:
    """Throttles, 5xx, dropped connections and slow answers on every call of every service,
    GetDomainName and ListRoutingRules included: the same API, stage and path."""
    apigw = client("apigateway")
    apigw.create_domain_name(domainName="storm.example.com")
    rules = [_routing_rule(20, "orders", "live", bases=["orders"], strip=True)]
    with fault_proxy(endpoint) as proxy:
        proxy.answers = {
            "apigateway:GetDomainName(v2)": lambda path: _wire(
                {"DomainName": "storm.example.com", "RoutingMode": "ROUTING_RULE_ONLY"}
            ),
            "apigateway:ListRoutingRules": lambda path: _wire({"RoutingRules": rules}),
        }
        proxy.slow_seconds = 0.05
        proxy.chaos(seed, throttle=0.5, server_error=0.15, drop=0.15, slow=0.1)
        ctx = make_context(region="us-east-1", endpoint_url=proxy.url)
        target = resolve_url(ctx, "https://storm.example.com/orders/7")
    assert (target.api_id, target.stage, target.path) == ("orders", "live", "/7")
    faulted = sum(n for fault, n in proxy.faults.items() if fault != "pass")
    assert faulted > 0, proxy.faults


def test_a_domain_whose_rules_may_not_be_read_says_so(endpoint, client) -> None:
    """AccessDenied on ListRoutingRules of a rules-only domain: one error naming the refused
    call; on GetDomainName: the mappings are read as for any domain."""
    api = make_rest_api(client, stage="prod")
    client("apigateway").create_domain_name(domainName="denied.example.com")
    client("apigateway").create_base_path_mapping(
        domainName="denied.example.com", restApiId=api, stage="prod"
    )
    with fault_proxy(endpoint) as proxy:
        proxy.answers = {
            "apigateway:GetDomainName(v2)": lambda path: _wire(
                {"DomainName": "denied.example.com", "RoutingMode": "ROUTING_RULE_ONLY"}
            ),
        }
        proxy.deny = {"apigateway:ListRoutingRules"}
        ctx = make_context(region="us-east-1", endpoint_url=proxy.url)
        with pytest.raises(UrlNotResolved) as raised:
            resolve_url(ctx, "https://denied.example.com/a")
        assert "routing rules (" in str(raised.value)
        assert "routing mode ROUTING_RULE_ONLY" in str(raised.value)
        proxy.deny = {"apigateway:GetDomainName(v2)"}
        target = resolve_url(ctx, "https://denied.example.com/a")
    assert (target.api_id, target.path) == (api, "/a")
