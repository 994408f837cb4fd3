"""A cache of discovered topologies, so a run's first read goes out at once instead of after
discovery's round trips.

An entry is keyed by what picks the API (profile, region, endpoint, API and stage) and holds the
topology with a fingerprint of what it was discovered from: the caller's account, the stage's
deployment and last update, each function's last modification and log group, and which log groups
did not exist yet. A run that finds an entry uses it right away and checks the fingerprint in one
round trip while its first reads are already on the way; when anything changed, it discovers
again before a single line is shown, so a stale entry can never hide a log group.

Entries live in the user's cache folder (`platformdirs`), or `APILOGS_CACHE_DIR`; they expire
after a day whatever the fingerprint says. `APILOGS_CACHE=off` turns the cache off."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import botocore.exceptions

from apilogs.aws import AwsContext
from apilogs.model import ApiKind, Finding, Role, Severity, Source, Topology

VERSION = 1
MAX_AGE_S = 86_400.0


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("APILOGS_CACHE_DIR"):
        return Path(env["APILOGS_CACHE_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("apilogs")) / "topology"


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("APILOGS_CACHE", "").lower() not in ("off", "0", "no", "false")


def cache_key(
    profile: str | None, region: str, endpoint_url: str | None, api_ref: str, stage: str | None
) -> str:
    text = json.dumps([VERSION, profile, region, endpoint_url, api_ref, stage])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a topology was discovered from; any difference means: discover again."""

    account: str | None
    deployment: str | None
    updated: str | None
    functions: tuple[tuple[str, str, str | None, str | None], ...]  # region, name, modified, group
    missing_groups: tuple[tuple[str, str], ...]  # (region, group) that did not exist


# --- (de)serialising -------------------------------------------------------------------------


def _source_from(doc: Mapping[str, Any]) -> Source:
    values: dict[str, Any] = {f.name: doc.get(f.name) for f in fields(Source)}
    values["role"] = Role(values["role"])
    values["routes"] = tuple(values.get("routes") or ())
    return Source(**values)


def topology_from(doc: Mapping[str, Any]) -> Topology:
    values: dict[str, Any] = {f.name: doc.get(f.name) for f in fields(Topology)}
    values["kind"] = ApiKind(values["kind"])
    values["sources"] = tuple(_source_from(s) for s in doc["sources"])
    values["findings"] = tuple(
        Finding(Severity(f["severity"]), f["message"], f.get("fix")) for f in doc["findings"]
    )
    values["stage_variables"] = tuple(tuple(pair) for pair in doc.get("stage_variables") or ())
    return Topology(**values)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def load(key: str, *, now: float | None = None) -> tuple[Topology, Fingerprint] | None:
    """The entry, or None when there is none, it is too old, or it cannot be read."""
    path = cache_dir() / f"{key}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("version") != VERSION:
            return None
        if (now or time.time()) - float(doc["stored_at"]) > MAX_AGE_S:
            return None
        print_ = doc["fingerprint"]
        fingerprint = Fingerprint(
            print_["account"],
            print_["deployment"],
            print_["updated"],
            tuple(tuple(f) for f in print_["functions"]),
            tuple(tuple(g) for g in print_["missing_groups"]),
        )
        return topology_from(doc["topology"]), fingerprint
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(key: str, topology: Topology, fingerprint: Fingerprint) -> None:
    """Write the entry atomically; a cache that cannot be written is no error."""
    folder = cache_dir()
    doc = {
        "version": VERSION,
        "stored_at": time.time(),
        "topology": _jsonable(asdict(topology)),
        "fingerprint": _jsonable(asdict(fingerprint)),
    }
    _write(folder, key, doc)


def _write(folder: Path, key: str, doc: Mapping[str, Any]) -> None:
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(doc, out)
        os.replace(name, folder / f"{key}.json")


def load_resolution(key: str, *, now: float | None = None) -> dict[str, Any] | None:
    """A URL's resolution stored by `store_resolution` (`apilogs.discover.urls`), or None."""
    path = cache_dir() / f"url-{key}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if (
            doc.get("version") != VERSION
            or (now or time.time()) - float(doc["stored_at"]) > MAX_AGE_S
        ):
            return None
        found = doc["target"]
        return found if isinstance(found, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_resolution(key: str, target: Mapping[str, Any]) -> None:
    _write(
        cache_dir(), f"url-{key}", {"version": VERSION, "stored_at": time.time(), "target": target}
    )


def forget(key: str) -> None:
    with contextlib.suppress(OSError):
        (cache_dir() / f"{key}.json").unlink()


# --- the fingerprint, read from AWS ------------------------------------------------------------


def read_fingerprint(ctx: AwsContext, topology: Topology) -> Fingerprint:
    """The fingerprint as AWS says it now: one round trip (every call at once)."""
    functions = sorted(
        {
            (s.region, s.function_name)
            for s in topology.sources
            if s.function_name and not s.foreign_account
        }
    )
    missing = sorted({(s.region, s.log_group) for s in topology.sources if s.exists is False})
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="fingerprint") as pool:
        account = pool.submit(_account, ctx)
        stage = pool.submit(_stage, ctx, topology)
        configs = [pool.submit(_function, ctx, region, name) for region, name in functions]
        groups = [pool.submit(_exists, ctx, region, group) for region, group in missing]
        deployment, updated = stage.result()
        return Fingerprint(
            account.result(),
            deployment,
            updated,
            tuple(
                (region, name, *future.result())
                for (region, name), future in zip(functions, configs, strict=True)
            ),
            # Still missing: what `exists` says now is what the entry must match.
            tuple(g for g, future in zip(missing, groups, strict=True) if not future.result()),
        )


def _account(ctx: AwsContext) -> str | None:
    try:
        return str(ctx.client("sts").get_caller_identity()["Account"])
    except botocore.exceptions.ClientError:
        return None


def _stage(ctx: AwsContext, topology: Topology) -> tuple[str | None, str | None]:
    if topology.kind is ApiKind.REST:
        found = ctx.client("apigateway").get_stage(
            restApiId=topology.api_id, stageName=topology.stage
        )
        return found.get("deploymentId"), str(found.get("lastUpdatedDate"))
    found = ctx.client("apigatewayv2").get_stage(ApiId=topology.api_id, StageName=topology.stage)
    return found.get("DeploymentId"), str(found.get("LastUpdatedDate"))


def _function(ctx: AwsContext, region: str, name: str) -> tuple[str | None, str | None]:
    try:
        config = ctx.client("lambda", region).get_function_configuration(FunctionName=name)
    except botocore.exceptions.ClientError:
        return None, None
    group = (config.get("LoggingConfig") or {}).get("LogGroup")
    return config.get("LastModified"), group


def _exists(ctx: AwsContext, region: str, group: str) -> bool:
    try:
        found = ctx.client("logs", region).describe_log_groups(logGroupNamePrefix=group)
    except botocore.exceptions.ClientError:
        return False
    return any(g.get("logGroupName") == group for g in found.get("logGroups", ()))
