"""API ID (or name) + stage → Topology: every log group that holds the API's evidence, and what
is missing with the exact way to turn it on."""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import botocore.exceptions

from apilogs.aws import AwsContext, describe_aws_error, error_code
from apilogs.cache import Fingerprint
from apilogs.errors import (
    AccessDenied,
    AmbiguousApi,
    ApilogsError,
    ApiNotFound,
    AwsServiceError,
    AwsThrottled,
    EndpointUnreachable,
    StageNotFound,
    StageRequired,
)
from apilogs.model import ApiKind, Finding, Role, Severity, Source, Topology

_LAMBDA_PATH = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>.+?)/invocations$")
_FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]+):(?P<account>\d+):function:"
    r"(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(?P<name>[A-Za-z0-9_]+)\}")
# What `groups` suggests when a stage has no access log: every variable apilogs reads to join a
# request's lines and tell its story.
RECOMMENDED_ACCESS_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationRequestId": "$context.integration.requestId",
        "authorizerRequestId": "$context.authorizer.requestId",
        "errorMessage": "$context.error.message",
        "errorType": "$context.error.responseType",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)
RECOMMENDED_ACCESS_FORMAT_V2 = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationRequestId": "$context.integration.requestId",
        "integrationErrorMessage": "$context.integrationErrorMessage",
        "errorMessage": "$context.error.message",
    },
    separators=(",", ":"),
)
_NOT_FOUND = frozenset({"NotFoundException", "ResourceNotFoundException"})
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
# What an execution log says when API Gateway calls a Lambda function (an integration, or an
# authorizer after "Starting authorizer"): how a role that may not read the API's configuration
# still finds its functions.
_CALLED_FUNCTION = re.compile(
    r"^\((?P<request>[^)\s]+)\) Endpoint request URI: https://lambda\.[^/\s]+/[^/\s]+/"
    r"functions/(?P<arn>arn:[^/\s]+)/invocations"
)
_AUTHORIZER_START = re.compile(r"^\((?P<request>[^)\s]+)\) Starting authorizer:")
CALLED_FUNCTIONS_PATTERN = '?"Endpoint request URI" ?"Starting authorizer"'
# How much of the execution log is read to find the functions: pages, and the look-back when
# the caller names no window.
FUNCTION_SCAN_PAGES = 5
FUNCTION_SCAN_LOOKBACK_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A Lambda function as an integration or authorizer names it."""

    name: str
    region: str
    account: str | None
    qualifier: str | None
    arn: str


@dataclass
class _Usage:
    """Which routes use a function, in which role; collected before the sources are built."""

    ref: FunctionRef
    role: Role
    routes: list[str] = field(default_factory=list)


def execution_log_group(api_id: str, stage: str) -> str:
    return f"API-Gateway-Execution-Logs_{api_id}/{stage}"


def log_group_from_arn(arn: str) -> str | None:
    """`arn:aws:logs:r:a:log-group:NAME[:*]` → NAME; None when the ARN is not a log group."""
    marker = ":log-group:"
    if ":logs:" not in arn or marker not in arn:
        return None
    name = arn.split(marker, 1)[1]
    return name[:-2] if name.endswith(":*") else name


def function_from_uri(
    uri: str, region: str, stage_variables: dict[str, str]
) -> tuple[FunctionRef | None, str | None]:
    """An integration/authorizer URI → the function, or (None, why) when it cannot be resolved.

    Accepts the API Gateway path form, a bare function ARN (HTTP APIs) and `${stageVariables.x}`."""
    missing = [
        m.group("name")
        for m in _STAGE_VARIABLE.finditer(uri)
        if m.group("name") not in stage_variables
    ]
    if missing:
        return None, f"stage variable {missing[0]!r} used in {uri} is not set on the stage"
    resolved = _STAGE_VARIABLE.sub(lambda m: stage_variables[m.group("name")], uri)
    path = _LAMBDA_PATH.search(resolved)
    target = path.group("arn") if path else resolved
    arn = _FUNCTION_ARN.match(target)
    if arn:
        ref = FunctionRef(
            name=arn.group("name"),
            region=arn.group("region"),
            account=arn.group("account"),
            qualifier=arn.group("qualifier"),
            arn=target,
        )
        return ref, None
    if path and re.fullmatch(r"[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?", target):
        # A stage variable may hold just a function name (the console's usual pattern).
        name, _, qualifier = target.partition(":")
        ref = FunctionRef(name, region, None, qualifier or None, target)
        return ref, None
    return None, None


def _pages(
    client: Any, operation: str, key: str, page_size: int | None = None, **kwargs: Any
) -> Iterator[Any]:
    """Every item of a paginated call, through boto3's paginator."""
    config = {"PageSize": page_size} if page_size else {}
    for page in client.get_paginator(operation).paginate(**kwargs, PaginationConfig=config):
        yield from page.get(key, [])


_DENIED_MARK = object()  # a lookup we were not allowed to make
_MISSING_MARK = object()  # a lookup of something that does not exist


class _Failed:
    """A lookup that failed for good (denied) or after every retry (throttled, 5xx, no answer):
    what it would have found is unknown, and the rest of discovery goes on."""

    __slots__ = ("error",)

    def __init__(self, error: ApilogsError) -> None:
        self.error = error


class _Unreadable(Exception):
    """The API's configuration cannot be read: its topology is to be inferred. `kind`: what
    the lookups that did answer allow (None: not known)."""

    def __init__(self, error: ApilogsError, kind: ApiKind | None, name: str | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.kind = kind
        self.name = name


# Failures discovery works around: each lookup's answer is then unknown. Credentials, a region
# or an endpoint that refuses connections fail every call alike, and still end the run.
_TOLERATED = (AccessDenied, AwsThrottled, AwsServiceError, EndpointUnreachable)


def _as_failure(exc: Exception) -> _Failed | None:
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return None
    typed = describe_aws_error(exc)
    return _Failed(typed) if isinstance(typed, _TOLERATED) else None


def _attempt(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call(...)`, the missing mark when AWS says there is no such thing, or `_Failed`."""
    try:
        return call(*args, **kwargs)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in _NOT_FOUND | {"BadRequestException"}:
            return _MISSING_MARK
        failed = _as_failure(exc)
        if failed is None:
            raise
        return failed
    except botocore.exceptions.BotoCoreError as exc:
        failed = _as_failure(exc)
        if failed is None:
            raise
        return failed


def _found(result: Any) -> bool:
    return result is not _MISSING_MARK and not isinstance(result, _Failed)


def _reason(failed: _Failed) -> str:
    error = failed.error
    if isinstance(error, AccessDenied):
        return f"access denied: {error.action}"
    if isinstance(error, AwsThrottled):
        return "throttled"
    if isinstance(error, AwsServiceError):
        return error.code or "AWS error"
    return error.message


class _Discovery:
    """The calls of one discovery. Independent calls go out at once (a thread pool, each call
    asked for once and shared): discovery takes two or three round trips, not thirty. Warnings
    are made in the calling thread, in a fixed order, so the findings read the same each run."""

    def __init__(
        self,
        ctx: AwsContext,
        pool: ThreadPoolExecutor,
        scan_window: tuple[int, int | None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.scan_window = scan_window
        self.region = ctx.region
        self.findings: list[Finding] = []
        self.pool = pool
        self._futures: dict[tuple[object, ...], Future[Any]] = {}
        self._lock = threading.Lock()
        self.soon(("account",), self._caller_account)
        self.stage_facts: tuple[str | None, str | None] = (None, None)

    def soon(self, key: tuple[object, ...], call: Callable[..., Any], *args: Any) -> Future[Any]:
        """`call(*args)` started now (or earlier, by the same key): its future."""
        with self._lock:
            found = self._futures.get(key)
            if found is None:
                found = self._futures[key] = self.pool.submit(call, *args)
            return found

    def now(self, key: tuple[object, ...], call: Callable[..., Any], *args: Any) -> Any:
        return self.soon(key, call, *args).result()

    def warn(
        self, message: str, fix: str | None = None, severity: Severity = Severity.WARNING
    ) -> None:
        self.findings.append(Finding(severity, message, fix))

    # -- which API ---------------------------------------------------------------------------

    def resolve_api(self, ref: str) -> tuple[ApiKind, dict[str, Any]]:
        v1 = self.ctx.client("apigateway")
        v2 = self.ctx.client("apigatewayv2")
        # Both kinds asked at once: an ID is one or the other.
        rest = self.soon(("rest_api", ref), lambda: _attempt(v1.get_rest_api, restApiId=ref))
        other = self.soon(("v2_api", ref), lambda: _attempt(v2.get_api, ApiId=ref))
        found = rest.result()
        if _found(found):
            return ApiKind.REST, found
        api = other.result()
        if _found(api):
            kind = ApiKind.WEBSOCKET if api.get("ProtocolType") == "WEBSOCKET" else ApiKind.HTTP
            return kind, api
        if isinstance(found, _Failed):
            # REST could not answer; HTTP/WebSocket said no such API, or could not answer.
            raise _Unreadable(found.error, ApiKind.REST if api is _MISSING_MARK else None)
        if isinstance(api, _Failed):
            raise _Unreadable(api.error, None)
        # Not an ID: try it as a name.
        candidates: list[tuple[ApiKind, dict[str, Any]]] = []
        all_v2 = self.pool.submit(lambda: list(_pages(v2, "get_apis", "Items")))
        for api in _pages(v1, "get_rest_apis", "items", 500):
            if api.get("name") == ref:
                candidates.append((ApiKind.REST, api))
        for api in all_v2.result():
            if api.get("Name") == ref:
                kind = ApiKind.WEBSOCKET if api.get("ProtocolType") == "WEBSOCKET" else ApiKind.HTTP
                candidates.append((kind, {**api, "id": api.get("ApiId")}))
        if len(candidates) == 1:
            kind, api = candidates[0]
            if kind is ApiKind.REST:
                return kind, api
            return kind, v2.get_api(ApiId=api["ApiId"])
        if len(candidates) > 1:
            raise AmbiguousApi(
                ref,
                self.region,
                [(str(a.get("id") or a.get("ApiId")), str(k)) for k, a in candidates],
            )
        raise ApiNotFound(ref, self.region)

    # -- REST ----------------------------------------------------------------------------------

    def start_rest(self, api_id: str, stage: str) -> None:
        """Ask at once what a REST API's discovery needs, before knowing it is one (a guess
        that costs a few calls when it is not)."""
        v1 = self.ctx.client("apigateway")
        self.soon(
            ("rest_stage", api_id, stage),
            lambda: _attempt(v1.get_stage, restApiId=api_id, stageName=stage),
        )
        self.soon(("resources", api_id), self._resources, api_id)
        self.soon(("authorizers", api_id), self._authorizers, api_id)
        self.soon(
            ("group", self.region, execution_log_group(api_id, stage)),
            self._describe,
            self.region,
            execution_log_group(api_id, stage),
        )

    def _resources(self, api_id: str) -> Any:
        v1 = self.ctx.client("apigateway")
        return _attempt(
            lambda: list(
                _pages(v1, "get_resources", "items", 500, restApiId=api_id, embed=["methods"])
            )
        )

    def _authorizers(self, api_id: str) -> Any:
        v1 = self.ctx.client("apigateway")
        return _attempt(lambda: list(_pages(v1, "get_authorizers", "items", restApiId=api_id)))

    def rest_stage(self, api_id: str, stage: str, api_name: str | None = None) -> dict[str, Any]:
        self.start_rest(api_id, stage)
        v1 = self.ctx.client("apigateway")
        result = self.now(("rest_stage", api_id, stage), lambda: None)
        if isinstance(result, _Failed):
            raise _Unreadable(result.error, ApiKind.REST, api_name)
        if result is not _MISSING_MARK:
            found: dict[str, Any] = result
            return found
        listed = _attempt(v1.get_stages, restApiId=api_id)
        items = listed.get("item", []) if _found(listed) else []
        raise _unknown_stage(stage, api_id, [s.get("stageName", "") for s in items])

    def discover_rest(self, api: dict[str, Any], stage_name: str) -> Topology:
        api_id = api["id"]
        stage = self.rest_stage(api_id, stage_name, api.get("name"))
        self.stage_facts = (stage.get("deploymentId"), str(stage.get("lastUpdatedDate")))
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
        sources.append(Source(Role.EXECUTION, execution_log_group(api_id, stage_name), self.region))
        if not execution_on:
            self.warn(
                f"execution logging is OFF on stage {stage_name}: API Gateway writes no "
                "execution log, so integration errors and latencies cannot be seen",
                "aws apigateway update-stage --rest-api-id "
                f"{api_id} --stage-name {stage_name} --patch-operations "
                "op=replace,path=/*/*/logging/loglevel,value=INFO "
                "(the account also needs a CloudWatch role: aws apigateway update-account)",
            )
        elif level == "ERROR":
            self.warn(
                f"execution logging on stage {stage_name} is ERROR only: successful requests "
                "leave no execution log lines",
                "aws apigateway update-stage --rest-api-id "
                f"{api_id} --stage-name {stage_name} --patch-operations "
                "op=replace,path=/*/*/logging/loglevel,value=INFO",
                Severity.INFO,
            )
        access_format = self.access_source(
            sources,
            (stage.get("accessLogSettings") or {}).get("destinationArn"),
            (stage.get("accessLogSettings") or {}).get("format"),
            fix=self.rest_access_fix(api_id, stage_name),
        )

        usages: dict[tuple[Role, str, str], _Usage] = {}
        authorizer_routes: dict[str, list[str]] = {}
        resources = self.now(("resources", api_id), self._resources, api_id)
        authorizers = self.now(("authorizers", api_id), self._authorizers, api_id)
        unread = next((r for r in (resources, authorizers) if isinstance(r, _Failed)), None)
        if unread is not None:
            self.functions_from_execution_log(
                usages, api_id, stage_name, f"its routes could not be read ({_reason(unread)})"
            )
            resources = resources if _found(resources) else []
            authorizers = authorizers if _found(authorizers) else []
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
                self.use_function(usages, Role.LAMBDA, uri, variables, route)
        for authorizer in authorizers:
            uri = authorizer.get("authorizerUri") or ""
            if not uri:
                continue  # COGNITO_USER_POOLS authorizers run no Lambda
            routes = authorizer_routes.get(authorizer.get("id", ""), [])
            self.use_function(usages, Role.AUTHORIZER, uri, variables, *routes)
        sources.extend(self.function_sources(usages))
        return Topology(
            api_id=api_id,
            api_name=api.get("name", api_id),
            kind=ApiKind.REST,
            stage=stage_name,
            region=self.region,
            sources=tuple(self.with_group_facts(sources)),
            findings=tuple(self.findings),
            account_id=self.account_id(),
            logging_level=level,
            data_trace=bool(default.get("dataTraceEnabled", False)),
            tracing_enabled=bool(stage.get("tracingEnabled", False)),
            access_log_format=access_format,
            stage_variables=tuple(sorted(variables.items())),
            deployment_id=stage.get("deploymentId"),
        )

    # -- HTTP / WebSocket ----------------------------------------------------------------------

    def discover_v2(self, kind: ApiKind, api: dict[str, Any], stage_name: str) -> Topology:
        v2 = self.ctx.client("apigatewayv2")
        api_id = api["ApiId"]
        routes_f = self.pool.submit(
            _attempt, lambda: list(_pages(v2, "get_routes", "Items", ApiId=api_id))
        )
        integrations_f = self.pool.submit(
            _attempt, lambda: list(_pages(v2, "get_integrations", "Items", ApiId=api_id))
        )
        if kind is ApiKind.WEBSOCKET:
            group = execution_log_group(api_id, stage_name)
            self.soon(("group", self.region, group), self._describe, self.region, group)
        stage = _attempt(v2.get_stage, ApiId=api_id, StageName=stage_name)
        if isinstance(stage, _Failed):
            raise _Unreadable(stage.error, kind, api.get("Name"))
        if stage is _MISSING_MARK:
            listed = _attempt(lambda: list(_pages(v2, "get_stages", "Items", ApiId=api_id)))
            names = [s.get("StageName", "") for s in listed] if _found(listed) else []
            raise _unknown_stage(stage_name, api_id, names)
        self.stage_facts = (stage.get("DeploymentId"), str(stage.get("LastUpdatedDate")))
        variables = dict(stage.get("StageVariables") or {})
        sources: list[Source] = []
        level: str | None = None
        if kind is ApiKind.WEBSOCKET:
            level = str(
                (stage.get("DefaultRouteSettings") or {}).get("LoggingLevel") or "OFF"
            ).upper()
            sources.append(
                Source(Role.EXECUTION, execution_log_group(api_id, stage_name), self.region)
            )
            if level == "OFF":
                self.warn(
                    f"execution logging is OFF on WebSocket stage {stage_name}",
                    f"aws apigatewayv2 update-stage --api-id {api_id} --stage-name {stage_name} "
                    "--default-route-settings LoggingLevel=INFO",
                )
        settings = stage.get("AccessLogSettings") or {}
        access_format = self.access_source(
            sources,
            settings.get("DestinationArn"),
            settings.get("Format"),
            fix=self.v2_access_fix(api_id, stage_name),
        )
        routes_by_target: dict[str, list[str]] = {}
        authorizer_routes: dict[str, list[str]] = {}
        usages: dict[tuple[Role, str, str], _Usage] = {}
        routes, integrations = routes_f.result(), integrations_f.result()
        unread = next((r for r in (routes, integrations) if isinstance(r, _Failed)), None)
        if unread is not None:
            why = f"its routes could not be read ({_reason(unread)})"
            if kind is ApiKind.WEBSOCKET:
                self.functions_from_execution_log(usages, api_id, stage_name, why)
            else:
                self.warn(
                    f"{why}: the Lambda functions of HTTP API {api_id} are unknown (an HTTP "
                    "API has no execution log to name them); pass their groups with --log-group",
                    "grant apigateway:GET",
                )
            routes = routes if _found(routes) else []
            integrations = integrations if _found(integrations) else []
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
            self.use_function(usages, Role.LAMBDA, uri, variables, *routes)
        # Only authorizers that a route uses can leave logs; reading them one by one (at once)
        # also works where GetAuthorizers is not offered (moto).
        asked = {
            a: self.pool.submit(_attempt, v2.get_authorizer, ApiId=api_id, AuthorizerId=a)
            for a in authorizer_routes
        }
        for authorizer_id, used_by in authorizer_routes.items():
            authorizer = asked[authorizer_id].result()
            if isinstance(authorizer, _Failed):
                self.warn(
                    f"authorizer {authorizer_id} could not be read ({_reason(authorizer)}): "
                    "its Lambda function's log is not read; pass it with --log-group",
                    None,
                    Severity.INFO,
                )
                continue
            if not _found(authorizer):
                continue
            uri = authorizer.get("AuthorizerUri") or ""
            if uri:  # JWT authorizers run no Lambda
                self.use_function(usages, Role.AUTHORIZER, uri, variables, *used_by)
        sources.extend(self.function_sources(usages))
        return Topology(
            api_id=api_id,
            api_name=api.get("Name", api_id),
            kind=kind,
            stage=stage_name,
            region=self.region,
            sources=tuple(self.with_group_facts(sources)),
            findings=tuple(self.findings),
            account_id=self.account_id(),
            logging_level=level,
            data_trace=bool((stage.get("DefaultRouteSettings") or {}).get("DataTraceEnabled"))
            if kind is ApiKind.WEBSOCKET
            else None,
            access_log_format=access_format,
            stage_variables=tuple(sorted(variables.items())),
            deployment_id=stage.get("DeploymentId"),
        )

    # -- when the configuration cannot be read -------------------------------------------------

    def inferred(self, failure: _Unreadable, api_ref: str, stage_name: str) -> Topology:
        """What can be read without the API's configuration: the execution log (its name
        follows from the ID and stage) and every Lambda function it names. One finding says
        what was assumed and which permission would show the rest."""
        sources: list[Source] = []
        usages: dict[tuple[Role, str, str], _Usage] = {}
        named = ""
        if failure.kind is not ApiKind.HTTP:
            group = execution_log_group(api_ref, stage_name)
            sources.append(Source(Role.EXECUTION, group, self.region))
            names = self.functions_from_execution_log(usages, api_ref, stage_name, None)
            named = (
                f" and the Lambda functions it names ({', '.join(names)})"
                if names
                else " (it names no Lambda function in the window scanned)"
            )
            assumed = f"read its execution log {group}{named}"
        else:
            assumed = "nothing of it can be read but what --log-group names"
        error = failure.error
        grant = (
            f"grant {error.action} to see the rest"
            if isinstance(error, AccessDenied)
            else "retry later to see the rest"
        )
        self.findings.insert(
            0,
            Finding(
                Severity.WARNING,
                f"could not read the configuration of API {api_ref} ({_reason(_Failed(error))}): "
                f"assumed {assumed}; its access log and any other group are unknown, pass them "
                f"with --log-group ({grant})",
                None,
            ),
        )
        sources.extend(self.function_sources(usages))
        kind = failure.kind or ApiKind.REST
        return Topology(
            api_id=api_ref,
            api_name=failure.name or api_ref,
            kind=kind,
            stage=stage_name,
            region=self.region,
            sources=tuple(self.with_group_facts(sources)),
            findings=tuple(self.findings),
            account_id=self.account_id(),
            inferred=True,
        )

    def functions_from_execution_log(
        self,
        usages: dict[tuple[Role, str, str], _Usage],
        api_id: str,
        stage: str,
        why: str | None,
    ) -> list[str]:
        """Every Lambda function the execution log says API Gateway called (an authorizer's
        URI follows "Starting authorizer" in its request), added to `usages`; their names. A
        few pages of the caller's window (or the last hour) are read, under the shared limiter."""
        group = execution_log_group(api_id, stage)
        now_ms = int(time.time() * 1000)
        start, end = self.scan_window or (now_ms - FUNCTION_SCAN_LOOKBACK_MS, None)
        logs = self.ctx.client("logs")
        asked: dict[str, Any] = {
            "logGroupName": group,
            "startTime": start,
            "endTime": end if end is not None else now_ms,
            "filterPattern": CALLED_FUNCTIONS_PATTERN,
        }
        authorizing: set[str] = set()
        names: list[str] = []
        problem: str | None = None
        for _ in range(FUNCTION_SCAN_PAGES):
            self.ctx.logs_limiter.acquire()
            page = _attempt(logs.filter_log_events, **asked)
            if not _found(page):
                problem = _reason(page) if isinstance(page, _Failed) else "the group does not exist"
                break
            for event in page.get("events", []):
                message = str(event.get("message", ""))
                if _AUTHORIZER_START.match(message):
                    authorizing.add(message[1 : message.index(")")])
                    continue
                call = _CALLED_FUNCTION.match(message)
                if call is None:
                    continue
                role = Role.LAMBDA
                if call.group("request") in authorizing:
                    authorizing.discard(call.group("request"))
                    role = Role.AUTHORIZER
                ref, _ = function_from_uri(call.group("arn"), self.region, {})
                if ref is None:
                    continue
                usage = usages.setdefault((role, ref.region, ref.arn), _Usage(ref, role))
                if ref.name not in names:
                    names.append(ref.name)
                del usage
            token = page.get("nextToken")
            if not token:
                break
            asked["nextToken"] = token
        if why is not None:
            found = f"the Lambda functions its execution log names: {', '.join(names)}"
            if not names:
                found = "no Lambda function (its execution log names none in the window scanned)"
            if problem:
                found = f"no Lambda function (its execution log could not be read: {problem})"
            self.warn(
                f"{why}: assumed {found}; pass any other group with --log-group",
                "grant apigateway:GET",
            )
        return names

    # -- the access log fixes: commands to paste as they are ------------------------------------

    def _access_group_arn(self, api_id: str) -> tuple[str, str]:
        group = f"/aws/apigateway/{api_id}-access"
        account = self.account_id() or "ACCOUNT"
        return group, f"arn:aws:logs:{self.region}:{account}:log-group:{group}"

    def rest_access_fix(self, api_id: str, stage: str) -> str:
        group, arn = self._access_group_arn(api_id)
        operations = [
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
            {
                "op": "replace",
                "path": "/accessLogSettings/format",
                "value": RECOMMENDED_ACCESS_FORMAT,
            },
        ]
        return (
            f"aws logs create-log-group --log-group-name {shlex.quote(group)} --region {self.region}"
            f" && aws apigateway update-stage --rest-api-id {shlex.quote(api_id)} "
            f"--stage-name {shlex.quote(stage)} --region {self.region} "
            f"--patch-operations {shlex.quote(json.dumps(operations, separators=(',', ':')))}"
        )

    def v2_access_fix(self, api_id: str, stage: str) -> str:
        group, arn = self._access_group_arn(api_id)
        settings = {"DestinationArn": arn, "Format": RECOMMENDED_ACCESS_FORMAT_V2}
        return (
            f"aws logs create-log-group --log-group-name {shlex.quote(group)} --region {self.region}"
            f" && aws apigatewayv2 update-stage --api-id {shlex.quote(api_id)} "
            f"--stage-name {shlex.quote(stage)} --region {self.region} "
            f"--access-log-settings {shlex.quote(json.dumps(settings, separators=(',', ':')))}"
        )

    # -- shared pieces -------------------------------------------------------------------------

    def access_source(
        self, sources: list[Source], destination: str | None, fmt: str | None, *, fix: str
    ) -> str | None:
        if not destination:
            self.warn(
                "no access log on this stage: one line per request with status and latencies "
                "is missing",
                fix,
            )
            return None
        group = log_group_from_arn(destination)
        if group is None:
            self.warn(
                f"access logs go to {destination}, which is not a CloudWatch log group "
                "(Firehose?): apilogs cannot read them",
                None,
            )
            return fmt
        arn_region = destination.split(":")[3] if destination.count(":") > 3 else self.region
        sources.append(Source(Role.ACCESS, group, arn_region or self.region, log_format=fmt))
        return fmt

    def use_function(
        self,
        usages: dict[tuple[Role, str, str], _Usage],
        role: Role,
        uri: str,
        variables: dict[str, str],
        *routes: str,
    ) -> None:
        ref, why = function_from_uri(uri, self.region, variables)
        if ref is None:
            if why:
                self.warn(
                    f"cannot resolve the Lambda behind {', '.join(routes) or role}: {why}",
                    "set the stage variable: aws apigateway update-stage ... "
                    "--patch-operations op=replace,path=/variables/NAME,value=FUNCTION",
                )
            return
        usage = usages.setdefault((role, ref.region, ref.arn), _Usage(ref, role))
        usage.routes.extend(r for r in routes if r not in usage.routes)

    def function_sources(self, usages: dict[tuple[Role, str, str], _Usage]) -> list[Source]:
        for usage in usages.values():
            ref = usage.ref
            if not (ref.account and self.account_id() and ref.account != self.account_id()):
                self.soon(("config", ref.region, ref.name), self._function_config, ref)
        account = self.account_id()
        configs: dict[tuple[str, str], dict[str, Any] | None] = {}
        sources: list[Source] = []
        for usage in usages.values():
            ref = usage.ref
            if account and ref.account and ref.account != account:
                self.warn(
                    f"function {ref.name} lives in account {ref.account}, not {account}: "
                    "its logs must be read with that account's credentials",
                    f"apilogs get --profile <profile-for-{ref.account}> --log-group "
                    f"/aws/lambda/{ref.name} ...",
                    Severity.INFO,
                )
                sources.append(
                    Source(
                        usage.role,
                        f"/aws/lambda/{ref.name}",
                        ref.region,
                        function_name=ref.name,
                        function_arn=ref.arn,
                        qualifier=ref.qualifier,
                        routes=tuple(usage.routes),
                        foreign_account=ref.account,
                    )
                )
                continue
            key = (ref.region, ref.name)
            if key not in configs:
                configs[key] = self.function_config(ref)
            config = configs[key]
            logging = (config or {}).get("LoggingConfig") or {}
            sources.append(
                Source(
                    usage.role,
                    logging.get("LogGroup") or f"/aws/lambda/{ref.name}",
                    ref.region,
                    function_name=ref.name,
                    function_arn=ref.arn,
                    qualifier=ref.qualifier,
                    routes=tuple(usage.routes),
                    log_format=logging.get("LogFormat") or "Text",
                )
            )
        return sources

    def _function_config(self, ref: FunctionRef) -> Any:
        client = self.ctx.client("lambda", ref.region)
        found = _attempt(client.get_function_configuration, FunctionName=ref.name)
        if isinstance(found, _Failed) and isinstance(found.error, AccessDenied):
            return _DENIED_MARK
        return found

    def function_config(self, ref: FunctionRef) -> dict[str, Any] | None:
        found = self.now(("config", ref.region, ref.name), self._function_config, ref)
        if found is _MISSING_MARK:
            self.warn(
                f"function {ref.name} ({ref.region}) does not exist: the API points at a "
                "deleted or misspelled function, and every request to its routes fails",
                "fix the integration URI or deploy the function",
                Severity.ERROR,
            )
            return None
        if found is _DENIED_MARK:
            self.warn(
                f"not allowed to read the configuration of {ref.name}: assuming its log group "
                f"is /aws/lambda/{ref.name}",
                "grant lambda:GetFunctionConfiguration",
                Severity.INFO,
            )
            return None
        if isinstance(found, _Failed):
            self.warn(
                f"could not read the configuration of {ref.name} ({_reason(found)}): assuming "
                f"its log group is /aws/lambda/{ref.name}",
                None,
            )
            return None
        config: dict[str, Any] = found
        return config

    def with_group_facts(self, sources: list[Source]) -> Iterator[Source]:
        """Check each log group once (all at once): does it exist, its retention, size, class."""
        for source in sources:
            if not source.foreign_account:
                asked = ("group", source.region, source.log_group)
                self.soon(asked, self._describe, source.region, source.log_group)
        facts: dict[tuple[str, str], dict[str, Any] | bool | None] = {}
        for source in sources:
            if source.foreign_account:
                yield source
                continue
            key = (source.region, source.log_group)
            if key not in facts:
                facts[key] = self.describe_group(source.region, source.log_group)
            found = facts[key]
            if found is False:
                yield source  # not allowed to look: exists stays unknown
                continue
            if found is None:
                self.warn(*self.missing_group_advice(source), Severity.WARNING)
                yield replace(source, exists=False)
                continue
            assert isinstance(found, dict)
            yield replace(
                source,
                exists=True,
                retention_days=found.get("retentionInDays"),
                stored_bytes=found.get("storedBytes"),
                log_class=found.get("logGroupClass"),
            )

    def missing_group_advice(self, source: Source) -> tuple[str, str | None]:
        group = source.log_group
        if source.role is Role.EXECUTION:
            return (
                f"execution log group {group} does not exist yet: no request has been logged "
                "since logging was turned on, or the account has no CloudWatch role for "
                "API Gateway",
                "aws apigateway update-account --patch-operations "
                f"op=replace,path=/cloudwatchRoleArn,value=arn:aws:iam::{self.account_id() or 'ACCOUNT'}"
                ":role/APIGatewayCloudWatchLogs (a role API Gateway may assume, with the managed "
                "policy AmazonAPIGatewayPushToCloudWatchLogs)",
            )
        if source.role is Role.ACCESS:
            return (
                f"access log group {group} does not exist: API Gateway does not create it",
                f"aws logs create-log-group --log-group-name {group}",
            )
        return (
            f"log group {group} of {source.function_name} does not exist yet: the function "
            "has never been invoked, or its role may not write logs",
            "check that the function's role allows logs:CreateLogStream and logs:PutLogEvents",
        )

    def _describe(self, region: str, name: str) -> Any:
        logs = self.ctx.client("logs", region)

        def find() -> Any:
            for group in _pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name):
                if group.get("logGroupName") == name:
                    return group
            return None

        found = _attempt(find)
        if isinstance(found, _Failed) and isinstance(found.error, AccessDenied):
            return _DENIED_MARK
        return None if found is _MISSING_MARK else found

    def describe_group(self, region: str, name: str) -> dict[str, Any] | bool | None:
        """The group's description; None if it does not exist; False if we may not look."""
        found = self.now(("group", region, name), self._describe, region, name)
        if found is _DENIED_MARK:
            self.warn(
                f"not allowed to describe log group {name}",
                "grant logs:DescribeLogGroups (and logs:FilterLogEvents to read it)",
                Severity.INFO,
            )
            return False
        if isinstance(found, _Failed):
            self.warn(
                f"could not describe log group {name} ({_reason(found)}): reading it anyway",
                None,
                Severity.INFO,
            )
            return False
        result: dict[str, Any] | None = found
        return result

    def _caller_account(self) -> str | None:
        try:
            return str(self.ctx.client("sts").get_caller_identity()["Account"])
        except Exception:
            return None  # not knowing the account only weakens the foreign check

    def account_id(self) -> str | None:
        found: str | None = self.now(("account",), self._caller_account)
        return found

    def fingerprint(self, topology: Topology) -> Fingerprint:
        """What this topology was discovered from, for the cache (no call made)."""
        functions = []
        for region, name in sorted(
            {(s.region, s.function_name) for s in topology.sources if s.function_name}
        ):
            future = self._futures.get(("config", region, name))
            config = future.result() if future is not None and future.done() else None
            if isinstance(config, dict):
                group = (config.get("LoggingConfig") or {}).get("LogGroup")
                functions.append((region, name, config.get("LastModified"), group))
            elif future is not None:
                functions.append((region, name, None, None))
        missing = sorted({(s.region, s.log_group) for s in topology.sources if s.exists is False})
        return Fingerprint(self.account_id(), *self.stage_facts, tuple(functions), tuple(missing))


def _unknown_stage(stage: str, api_id: str, names: list[str]) -> StageNotFound:
    return StageNotFound(api_id, stage, names)


def discover_topology(ctx: AwsContext, api_ref: str, stage: str | None) -> Topology:
    """Find every log group of `api_ref` (an ID or a name) on `stage`."""
    return discover(ctx, api_ref, stage)[0]


def discover(
    ctx: AwsContext,
    api_ref: str,
    stage: str | None,
    scan_window: tuple[int, int | None] | None = None,
) -> tuple[Topology, Fingerprint]:
    """Find every log group of `api_ref` (an ID or a name) on `stage`, and what the topology
    was discovered from (for the cache).

    HTTP APIs default to the `$default` stage when no stage is given. The calls go out in
    two or three waves: the API, its stage, resources and authorizers, the caller's account and
    the execution log group at once; then every function's configuration and every log group's
    description at once.

    A lookup that AWS denies or keeps failing (after `ctx.call_policy`'s retries) does not end
    it: what it would have found is unknown and said in a finding, and when the API's own
    configuration cannot be read, the topology is inferred (`Topology.inferred`): the execution
    log from the ID and stage, and the functions that log names in `scan_window` (default: the
    last hour)."""
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="discover") as pool:
        discovery = _Discovery(ctx, pool, scan_window)
        try:
            if stage:
                discovery.start_rest(api_ref, stage)
            try:
                kind, api = discovery.resolve_api(api_ref)
                if kind is ApiKind.REST:
                    if not stage:
                        listed = _attempt(ctx.client("apigateway").get_stages, restApiId=api["id"])
                        if isinstance(listed, _Failed):
                            raise listed.error
                        names = [s.get("stageName", "") for s in listed.get("item", [])]
                        raise StageRequired(api["id"], names)
                    topology = discovery.discover_rest(api, stage)
                else:
                    topology = discovery.discover_v2(kind, api, stage or "$default")
            except _Unreadable as failure:
                if not stage:
                    raise failure.error from None
                topology = discovery.inferred(failure, api_ref, stage)
            return topology, discovery.fingerprint(topology)
        finally:
            # Guesses nobody needed must not keep the caller waiting.
            for future in discovery._futures.values():
                future.cancel()
