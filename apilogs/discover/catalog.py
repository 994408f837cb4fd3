"""Every API and stage of an account and region: what `apilogs apis` surveys. REST APIs
(`GetRestApis`, `GetStages`) and HTTP/WebSocket APIs (`GetApis`, `GetStages`), through
discovery's `attempt`: a listing that fails is said, the others are still listed."""

from __future__ import annotations

from dataclasses import dataclass

from apilogs.aws import AwsContext
from apilogs.discover import calls
from apilogs.discover.names import log_group_from_arn
from apilogs.model import ApiKind

__all__ = ["ApiStage", "Catalog", "list_api_stages"]


@dataclass(frozen=True, slots=True)
class ApiStage:
    api_id: str
    name: str
    kind: ApiKind
    stage: str
    # The stage's access log, as its settings say (None: none configured).
    access_group: str | None = None
    access_format: str | None = None

    @property
    def execution_group(self) -> str | None:
        """Where API Gateway writes a REST stage's execution log (when logging is on)."""
        if self.kind is not ApiKind.REST:
            return None
        return f"API-Gateway-Execution-Logs_{self.api_id}/{self.stage}"


@dataclass(frozen=True, slots=True)
class Catalog:
    stages: tuple[ApiStage, ...]
    problems: tuple[str, ...]  # listings that failed, one line each


def list_api_stages(ctx: AwsContext, region: str | None = None) -> Catalog:
    """Every API and stage of the region (the session's by default), REST first, by name."""
    found: list[ApiStage] = []
    problems: list[str] = []
    v1 = ctx.client("apigateway", region)
    apis = calls.attempt(lambda: list(calls.all_pages(v1, "get_rest_apis", "items", 500)))
    if isinstance(apis, calls.Failed):
        problems.append(f"REST APIs could not be listed ({calls.failure_reason(apis)})")
    elif calls.answered(apis):
        for api in apis:
            stages = calls.attempt(v1.get_stages, restApiId=api["id"])
            if isinstance(stages, calls.Failed):
                problems.append(f"stages of {api['id']}: {calls.failure_reason(stages)}")
                continue
            for item in stages.get("item", []) if calls.answered(stages) else []:
                settings = item.get("accessLogSettings") or {}
                found.append(
                    ApiStage(
                        api["id"],
                        api.get("name", ""),
                        ApiKind.REST,
                        item["stageName"],
                        log_group_from_arn(settings.get("destinationArn") or ""),
                        settings.get("format"),
                    )
                )
    v2 = ctx.client("apigatewayv2", region)
    apis = calls.attempt(lambda: list(calls.all_pages(v2, "get_apis", "Items")))
    if isinstance(apis, calls.Failed):
        problems.append(
            f"HTTP and WebSocket APIs could not be listed ({calls.failure_reason(apis)})"
        )
    elif calls.answered(apis):
        for api in apis:
            kind = ApiKind.WEBSOCKET if api.get("ProtocolType") == "WEBSOCKET" else ApiKind.HTTP
            items = calls.attempt(
                lambda a=api: list(calls.v2_pages(v2.get_stages, ApiId=a["ApiId"]))
            )
            if isinstance(items, calls.Failed):
                problems.append(f"stages of {api['ApiId']}: {calls.failure_reason(items)}")
                continue
            for item in items if calls.answered(items) else []:
                settings = item.get("AccessLogSettings") or {}
                found.append(
                    ApiStage(
                        api["ApiId"],
                        api.get("Name", ""),
                        kind,
                        item["StageName"],
                        log_group_from_arn(settings.get("DestinationArn") or ""),
                        settings.get("Format"),
                    )
                )
    found.sort(key=lambda s: (s.kind is not ApiKind.REST, s.name, s.api_id, s.stage))
    return Catalog(tuple(found), tuple(problems))
