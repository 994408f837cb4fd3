"""An HTTP or WebSocket API's topology (API Gateway v2): its stage's access log (and a WebSocket
stage's execution log), and the Lambda function of every integration and authorizer a route uses."""

from __future__ import annotations

from typing import Any

from apilogs.discover import calls
from apilogs.discover.advice import v2_access_fix
from apilogs.discover.discovery import Discovery, Usage
from apilogs.discover.inferred import functions_from_execution_log
from apilogs.discover.names import execution_log_group
from apilogs.errors import StageNotFound
from apilogs.model import ApiKind, Role, Severity, Source, Topology


def discover_v2(d: Discovery, kind: ApiKind, api: dict[str, Any], stage_name: str) -> Topology:
    v2 = d.ctx.client("apigatewayv2")
    api_id = api["ApiId"]
    routes_f = d.pool.submit(
        calls.attempt, lambda: list(calls.all_pages(v2, "get_routes", "Items", ApiId=api_id))
    )
    integrations_f = d.pool.submit(
        calls.attempt, lambda: list(calls.all_pages(v2, "get_integrations", "Items", ApiId=api_id))
    )
    if kind is ApiKind.WEBSOCKET:
        group = execution_log_group(api_id, stage_name)
        d.soon(("group", d.region, group), d.ask_group, d.region, group)
    stage = calls.attempt(v2.get_stage, ApiId=api_id, StageName=stage_name)
    if isinstance(stage, calls.Failed):
        raise calls.Unreadable(stage.error, kind, api.get("Name"))
    if stage is calls.MISSING:
        listed = calls.attempt(
            lambda: list(calls.all_pages(v2, "get_stages", "Items", ApiId=api_id))
        )
        names = [s.get("StageName", "") for s in listed] if calls.answered(listed) else []
        raise StageNotFound(api_id, stage_name, names)
    d.stage_facts = (stage.get("DeploymentId"), str(stage.get("LastUpdatedDate")))
    variables = dict(stage.get("StageVariables") or {})
    sources: list[Source] = []
    level: str | None = None
    if kind is ApiKind.WEBSOCKET:
        level = str((stage.get("DefaultRouteSettings") or {}).get("LoggingLevel") or "OFF").upper()
        sources.append(Source(Role.EXECUTION, execution_log_group(api_id, stage_name), d.region))
        if level == "OFF":
            d.warn(
                f"execution logging is OFF on WebSocket stage {stage_name}",
                f"aws apigatewayv2 update-stage --api-id {api_id} --stage-name {stage_name} "
                "--default-route-settings LoggingLevel=INFO",
            )
    settings = stage.get("AccessLogSettings") or {}
    access_format = d.access_source(
        sources,
        settings.get("DestinationArn"),
        settings.get("Format"),
        fix=v2_access_fix(d.region, d.account_id(), api_id, stage_name),
    )
    routes_by_target: dict[str, list[str]] = {}
    authorizer_routes: dict[str, list[str]] = {}
    usages: dict[tuple[Role, str, str], Usage] = {}
    routes, integrations = routes_f.result(), integrations_f.result()
    unread = next((r for r in (routes, integrations) if isinstance(r, calls.Failed)), None)
    if unread is not None:
        why = f"its routes could not be read ({calls.failure_reason(unread)})"
        if kind is ApiKind.WEBSOCKET:
            functions_from_execution_log(d, usages, api_id, stage_name, why)
        else:
            d.warn(
                f"{why}: the Lambda functions of HTTP API {api_id} are unknown (an HTTP "
                "API has no execution log to name them); pass their groups with --log-group",
                "grant apigateway:GET",
            )
        routes = routes if calls.answered(routes) else []
        integrations = integrations if calls.answered(integrations) else []
    for route in routes:
        key = route.get("RouteKey", "")
        target = str(route.get("Target") or "")
        if target.startswith("integrations/"):
            routes_by_target.setdefault(target.split("/", 1)[1], []).append(key)
        if route.get("AuthorizerId"):
            authorizer_routes.setdefault(route["AuthorizerId"], []).append(key)
    for integration in integrations:
        uri = integration.get("IntegrationUri") or ""
        if integration.get("IntegrationSubtype") or ":lambda:" not in uri:
            continue  # AWS service integrations and HTTP proxies have no Lambda log
        routes = routes_by_target.get(integration.get("IntegrationId", ""), [])
        d.use_function(usages, Role.LAMBDA, uri, variables, *routes)
    # Only authorizers that a route uses can leave logs; reading them one by one (at once)
    # also works where GetAuthorizers is not offered (moto).
    asked = {
        a: d.pool.submit(calls.attempt, v2.get_authorizer, ApiId=api_id, AuthorizerId=a)
        for a in authorizer_routes
    }
    for authorizer_id, used_by in authorizer_routes.items():
        authorizer = asked[authorizer_id].result()
        if isinstance(authorizer, calls.Failed):
            d.warn(
                f"authorizer {authorizer_id} could not be read ({calls.failure_reason(authorizer)}): "
                "its Lambda function's log is not read; pass it with --log-group",
                None,
                Severity.INFO,
            )
            continue
        if not calls.answered(authorizer):
            continue
        uri = authorizer.get("AuthorizerUri") or ""
        if uri:  # JWT authorizers run no Lambda
            d.use_function(usages, Role.AUTHORIZER, uri, variables, *used_by)
    sources.extend(d.function_sources(usages))
    return d.topology(
        api_id,
        api.get("Name", api_id),
        kind,
        stage_name,
        sources,
        logging_level=level,
        data_trace=bool((stage.get("DefaultRouteSettings") or {}).get("DataTraceEnabled"))
        if kind is ApiKind.WEBSOCKET
        else None,
        access_log_format=access_format,
        stage_variables=tuple(sorted(variables.items())),
        deployment_id=stage.get("DeploymentId"),
    )
