"""Shell completion of values that live in the account: API IDs and names, stages, and the
config file's @targets. A prompt must never wait long nor show an error: every lookup has a
short time-out, and any failure completes nothing."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem

# The whole lookup, whatever it does: a tab press must come back.
TIMEOUT_S = 2.5


def _timeout_s() -> float:
    value = os.environ.get("APILOGS_COMPLETE_TIMEOUT", "")
    try:
        return float(value) if value else TIMEOUT_S
    except ValueError:
        return TIMEOUT_S


def _bounded(lookup: Callable[[], list[CompletionItem]]) -> list[CompletionItem]:
    found: list[list[CompletionItem]] = []

    def run() -> None:
        try:
            found.append(lookup())
        except Exception:
            found.append([])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(_timeout_s())
    return found[0] if found else []


def _clients(ctx: click.Context) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    params = {**(ctx.parent.params if ctx.parent else {}), **ctx.params}
    session = boto3.Session(profile_name=params.get("profile"), region_name=params.get("region"))
    config = Config(
        connect_timeout=1,
        read_timeout=2,
        retries={"total_max_attempts": 1},
        user_agent_extra="apilogs",
    )
    endpoint = params.get("endpoint_url")
    return (
        session.client("apigateway", endpoint_url=endpoint, config=config),
        session.client("apigatewayv2", endpoint_url=endpoint, config=config),
    )


def targets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from apilogs.cli.options import load_config_once

    try:
        config = load_config_once()
    except Exception:
        return []
    return [
        CompletionItem(f"@{name}", help=f"{t.api_id} {t.stage or ''}".strip())
        for name, t in sorted(config.targets.items())
        if f"@{name}".startswith(incomplete)
    ]


def api_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    named = targets(ctx, param, incomplete)
    if incomplete.startswith("@"):
        return named

    def lookup() -> list[CompletionItem]:
        v1, v2 = _clients(ctx)
        items: list[CompletionItem] = []
        for api in v1.get_rest_apis(limit=500).get("items", []):
            items.append(CompletionItem(api["id"], help=f"{api.get('name', '')} (REST)"))
        for api in v2.get_apis().get("Items", []):
            kind = api.get("ProtocolType", "HTTP")
            items.append(CompletionItem(api["ApiId"], help=f"{api.get('Name', '')} ({kind})"))
        names = {i.help.rsplit(" (", 1)[0] for i in items if i.help}
        items += [CompletionItem(n) for n in sorted(names) if n]
        return [i for i in items if str(i.value).startswith(incomplete)]

    return _bounded(lookup) + named


def stages(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    api_id = ctx.params.get("api_id")
    if not api_id or str(api_id).startswith("@"):
        return []

    def lookup() -> list[CompletionItem]:
        v1, v2 = _clients(ctx)
        names: list[str] = []
        try:
            names = [s["stageName"] for s in v1.get_stages(restApiId=api_id).get("item", [])]
        except Exception:
            names = [s["StageName"] for s in v2.get_stages(ApiId=api_id).get("Items", [])]
        return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]

    return _bounded(lookup)
