"""A REST API's topology: its stage's logging settings and access log, and the Lambda function of
every integration and authorizer (API Gateway v1)."""

from __future__ import annotations

from typing import Any

from apilogs.discover.advice import rest_access_fix
from apilogs.discover.calls import (
    MISSING,
    Failed,
    Unreadable,
    all_pages,
    answered,
    attempt,
    failure_reason,
)
from apilogs.discover.discovery import Discovery, Usage
from apilogs.discover.inferred import functions_from_execution_log
from apilogs.discover.names import execution_log_group
from apilogs.errors import StageNotFound
from apilogs.model import ApiKind, Role, Severity, Source, Topology


def start_rest(d: Discovery, api_id: str, stage: str) -> None:
    """Ask at once what a REST API's discovery needs, before knowing it is one (a guess
    that costs a few calls when it is not)."""
    v1 = d.ctx.client("apigateway")
    d.soon(
        ("rest_stage", api_id, stage),
        lambda: attempt(v1.get_stage, restApiId=api_id, stageName=stage),
    )
    d.soon(("resources", api_id), _resources, d, api_id)
    d.soon(("authorizers", api_id), _authorizers, d, api_id)
    d.soon(
        ("group", d.region, execution_log_group(api_id, stage)),
        d.ask_group,
        d.region,
        execution_log_group(api_id, stage),
    )


def _resources(d: Discovery, api_id: str) -> Any:
    v1 = d.ctx.client("apigateway")
    return attempt(
        lambda: list(
            all_pages(v1, "get_resources", "items", 500, restApiId=api_id, embed=["methods"])
        )
    )


def _authorizers(d: Discovery, api_id: str) -> Any:
    v1 = d.ctx.client("apigateway")
    return attempt(lambda: list(all_pages(v1, "get_authorizers", "items", restApiId=api_id)))


def rest_stage(
    d: Discovery, api_id: str, stage: str, api_name: str | None = None
) -> dict[str, Any]:
    start_rest(d, api_id, stage)
    v1 = d.ctx.client("apigateway")
    result = d.now(("rest_stage", api_id, stage), lambda: None)
    if isinstance(result, Failed):
        raise Unreadable(result.error, ApiKind.REST, api_name)
    if result is not MISSING:
        found: dict[str, Any] = result
        return found
    listed = attempt(v1.get_stages, restApiId=api_id)
    items = listed.get("item", []) if answered(listed) else []
    raise StageNotFound(api_id, stage, [s.get("stageName", "") for s in items])


def discover_rest(d: Discovery, api: dict[str, Any], stage_name: str) -> Topology:
    api_id = api["id"]
    stage = rest_stage(d, api_id, stage_name, api.get("name"))
    d.stage_facts = (stage.get("deploymentId"), str(stage.get("lastUpdatedDate")))
    variables = dict(stage.get("variables") or {})
    settings = stage.get("methodSettings") or {}
    default = settings.get("*/*", {})
    level = str(default.get("loggingLevel") or "OFF").upper()
    overrides = {
        k: str(v.get("loggingLevel") or "OFF").upper()
        for k, v in settings.items()
        if k != "*/*" and "loggingLevel" in v
    }
    sources: list[Source] = []
    execution_on = level != "OFF" or any(v != "OFF" for v in overrides.values())
    sources.append(Source(Role.EXECUTION, execution_log_group(api_id, stage_name), d.region))
    if not execution_on:
        d.warn(
            f"execution logging is OFF on stage {stage_name}: API Gateway writes no "
            "execution log, so integration errors and latencies cannot be seen",
            "aws apigateway update-stage --rest-api-id "
            f"{api_id} --stage-name {stage_name} --patch-operations "
            "op=replace,path=/*/*/logging/loglevel,value=INFO "
            "(the account also needs a CloudWatch role: aws apigateway update-account)",
        )
    elif level == "ERROR":
        d.warn(
            f"execution logging on stage {stage_name} is ERROR only: successful requests "
            "leave no execution log lines",
            "aws apigateway update-stage --rest-api-id "
            f"{api_id} --stage-name {stage_name} --patch-operations "
            "op=replace,path=/*/*/logging/loglevel,value=INFO",
            Severity.INFO,
        )
    access_format = d.access_source(
        sources,
        (stage.get("accessLogSettings") or {}).get("destinationArn"),
        (stage.get("accessLogSettings") or {}).get("format"),
        fix=rest_access_fix(d.region, d.account_id(), api_id, stage_name),
    )

    usages: dict[tuple[Role, str, str], Usage] = {}
    authorizer_routes: dict[str, list[str]] = {}
    resources = d.now(("resources", api_id), _resources, d, api_id)
    authorizers = d.now(("authorizers", api_id), _authorizers, d, api_id)
    unread = next((r for r in (resources, authorizers) if isinstance(r, Failed)), None)
    if unread is not None:
        functions_from_execution_log(
            d,
            usages,
            api_id,
            stage_name,
            f"its routes could not be read ({failure_reason(unread)})",
        )
        resources = resources if answered(resources) else []
        authorizers = authorizers if answered(authorizers) else []
    for resource in resources:
        path = resource.get("path", "/")
        for method_name, method in (resource.get("resourceMethods") or {}).items():
            route = f"{method_name} {path}"
            if method.get("authorizerId"):
                authorizer_routes.setdefault(method["authorizerId"], []).append(route)
            integration = method.get("methodIntegration") or {}
            uri = integration.get("uri") or ""
            if integration.get("type") not in {"AWS", "AWS_PROXY"} or ":lambda:" not in uri:
                continue
            d.use_function(usages, Role.LAMBDA, uri, variables, route)
    for authorizer in authorizers:
        uri = authorizer.get("authorizerUri") or ""
        if not uri:
            continue  # COGNITO_USER_POOLS authorizers run no Lambda
        routes = authorizer_routes.get(authorizer.get("id", ""), [])
        d.use_function(usages, Role.AUTHORIZER, uri, variables, *routes)
    sources.extend(d.function_sources(usages))
    return d.topology(
        api_id,
        api.get("name", api_id),
        ApiKind.REST,
        stage_name,
        sources,
        logging_level=level,
        data_trace=bool(default.get("dataTraceEnabled", False)),
        tracing_enabled=bool(stage.get("tracingEnabled", False)),
        access_log_format=access_format,
        stage_variables=tuple(sorted(variables.items())),
        deployment_id=stage.get("deploymentId"),
    )
