"""API ID (or name) + stage → Topology: every log group that holds the API's evidence, and what
is missing with the exact way to turn it on.

The package, in the order a discovery runs: `calls` (how a lookup answers, is missing or
failed), `discovery` (one discovery's shared lookups and findings), `rest` and `v2` (each API
kind's configuration), `inferred` (what can be read without it), `names` (what follows from
names alone) and `advice` (the commands that turn on what is missing)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apilogs.aws import AwsContext
from apilogs.discover.advice import RECOMMENDED_ACCESS_FORMAT, RECOMMENDED_ACCESS_FORMAT_V2
from apilogs.discover.cache import Fingerprint
from apilogs.discover.calls import MISSING, Failed, Unreadable, all_pages, answered, attempt
from apilogs.discover.discovery import Discovery
from apilogs.discover.inferred import inferred
from apilogs.discover.names import (
    FunctionRef,
    execution_log_group,
    function_from_uri,
    log_group_from_arn,
)
from apilogs.discover.rest import discover_rest, start_rest
from apilogs.discover.v2 import discover_v2
from apilogs.errors import AmbiguousApi, ApiNotFound, StageRequired
from apilogs.model import ApiKind, Topology

__all__ = [
    "RECOMMENDED_ACCESS_FORMAT",
    "RECOMMENDED_ACCESS_FORMAT_V2",
    "FunctionRef",
    "discover",
    "discover_topology",
    "execution_log_group",
    "function_from_uri",
    "log_group_from_arn",
]


def resolve_api(d: Discovery, ref: str) -> tuple[ApiKind, dict[str, Any]]:
    v1 = d.ctx.client("apigateway")
    v2 = d.ctx.client("apigatewayv2")
    # Both kinds asked at once: an ID is one or the other.
    rest = d.soon(("rest_api", ref), lambda: attempt(v1.get_rest_api, restApiId=ref))
    other = d.soon(("v2_api", ref), lambda: attempt(v2.get_api, ApiId=ref))
    found = rest.result()
    if answered(found):
        return ApiKind.REST, found
    api = other.result()
    if answered(api):
        kind = ApiKind.WEBSOCKET if api.get("ProtocolType") == "WEBSOCKET" else ApiKind.HTTP
        return kind, api
    if isinstance(found, Failed):
        # REST could not answer; HTTP/WebSocket said no such API, or could not answer.
        raise Unreadable(found.error, ApiKind.REST if api is MISSING else None)
    if isinstance(api, Failed):
        raise Unreadable(api.error, None)
    # Not an ID: try it as a name.
    candidates: list[tuple[ApiKind, dict[str, Any]]] = []
    all_v2 = d.pool.submit(lambda: list(all_pages(v2, "get_apis", "Items")))
    for api in all_pages(v1, "get_rest_apis", "items", 500):
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
            d.region,
            [(str(a.get("id") or a.get("ApiId")), str(k)) for k, a in candidates],
        )
    raise ApiNotFound(ref, d.region)


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
        discovery = Discovery(ctx, pool, scan_window)
        try:
            if stage:
                start_rest(discovery, api_ref, stage)
            try:
                kind, api = resolve_api(discovery, api_ref)
                if kind is ApiKind.REST:
                    if not stage:
                        listed = attempt(ctx.client("apigateway").get_stages, restApiId=api["id"])
                        if isinstance(listed, Failed):
                            raise listed.error
                        names = [s.get("stageName", "") for s in listed.get("item", [])]
                        raise StageRequired(api["id"], names)
                    topology = discover_rest(discovery, api, stage)
                else:
                    topology = discover_v2(discovery, kind, api, stage or "$default")
            except Unreadable as failure:
                if not stage:
                    raise failure.error from None
                topology = inferred(discovery, failure, api_ref, stage)
            return topology, discovery.fingerprint(topology)
        finally:
            # Guesses nobody needed must not keep the caller waiting.
            for future in discovery._futures.values():
                future.cancel()
