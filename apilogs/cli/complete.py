"""Shell completion of values that live in the account: API IDs and names, stages, and the
config file's @targets. A prompt must never wait long nor show an error: every lookup has a
short time-out, and any failure completes nothing.

bash splits the line at the characters of COMP_WORDBREAKS, `:` and `=` among them, and click's
bash script hands the pieces over joined by spaces: `--endpoint-url http://127.0.0.1:4566`
arrives as `http : //127.0.0.1 : 4566`. `_BashComplete` glues the pieces back before click
parses the line, so every option's value (the endpoint, `--source orders:live`) is the one the
user typed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import BashComplete, CompletionItem, add_completion_class

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


def _breaks(word: str, before: str) -> bool:
    """Whether `word` is a piece bash cut out of a word at a word break: a `:` (or several)
    anywhere, a `=` after a long option (`--endpoint-url=…`)."""
    if word and not word.strip(":"):
        return True
    return word == "=" and before.startswith("--") and "=" not in before


def rejoin(words: list[str]) -> tuple[list[str], int]:
    """`words` (bash's pieces, the last the one being completed) with the pieces of each word
    glued back, and how many characters of the last word come before bash's last piece: bash
    replaces only that piece, so a completion must not repeat them."""
    joined: list[str] = []
    glue_next = False
    head = 0
    for word in words:
        breaks = bool(joined) and _breaks(word, joined[-1])
        # An empty word after a break is the word after a space: bash gives no empty piece.
        if joined and (breaks or (glue_next and word)):
            head = len(joined[-1])
            joined[-1] += word
            glue_next = breaks
        else:
            head = 0
            joined.append(word)
            glue_next = False
    return joined, head


class _BashComplete(BashComplete):
    """bash, with the words it split at `:` or `=` glued back (see the module's docstring)."""

    _head = 0

    def get_completion_args(self) -> tuple[list[str], str]:
        args, incomplete = super().get_completion_args()
        words, self._head = rejoin([*args, incomplete])
        return words[:-1], words[-1]

    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        items = super().get_completions(args, incomplete)
        head = incomplete[: self._head]
        if not head:
            return items
        # bash replaces only its last piece of the word: offer what follows the rest.
        return [
            CompletionItem(str(i.value)[len(head) :], type=i.type, help=i.help)
            for i in items
            if str(i.value).startswith(head)
        ]


add_completion_class(_BashComplete, "bash")


def _line_options(ctx: click.Context) -> dict[str, Any]:
    """profile, region and endpoint_url as the line gives them, after the command or before it
    (`apilogs --region eu-west-1 get …`); the command's own win."""
    options: dict[str, Any] = {}
    for params in (ctx.parent.params if ctx.parent else {}, ctx.params):
        for name in ("profile", "region", "endpoint_url"):
            if params.get(name):
                options[name] = params[name]
    # botocore reads AWS_DEFAULT_REGION only; AWS_REGION is what `apilogs demo serve` says to
    # export, and what the main commands honour too (apilogs.aws.make_context).
    options.setdefault("region", os.environ.get("AWS_REGION") or None)
    return options


def _clients(ctx: click.Context) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    params = _line_options(ctx)
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
