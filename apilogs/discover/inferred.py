"""A topology inferred when the API's configuration cannot be read (a role that may read logs and
little else, or API Gateway failing): the execution log follows from the API ID and stage, and
its lines name every Lambda function the API calls."""

from __future__ import annotations

import re
import time
from typing import Any

from apilogs.discover.calls import Failed, Unreadable, answered, attempt, failure_reason
from apilogs.discover.discovery import Discovery, Usage
from apilogs.discover.names import execution_log_group, function_from_uri
from apilogs.errors import AccessDenied
from apilogs.model import ApiKind, Finding, Role, Severity, Source, Topology

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


def inferred(d: Discovery, failure: Unreadable, api_ref: str, stage_name: str) -> Topology:
    """What can be read without the API's configuration: the execution log (its name
    follows from the ID and stage) and every Lambda function it names. One finding says
    what was assumed and which permission would show the rest."""
    sources: list[Source] = []
    usages: dict[tuple[Role, str, str], Usage] = {}
    named = ""
    if failure.kind is not ApiKind.HTTP:
        group = execution_log_group(api_ref, stage_name)
        sources.append(Source(Role.EXECUTION, group, d.region))
        names = functions_from_execution_log(d, usages, api_ref, stage_name, None)
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
    d.findings.insert(
        0,
        Finding(
            Severity.WARNING,
            f"could not read the configuration of API {api_ref} ({failure_reason(Failed(error))}): "
            f"assumed {assumed}; its access log and any other group are unknown, pass them "
            f"with --log-group ({grant})",
            None,
        ),
    )
    sources.extend(d.function_sources(usages))
    kind = failure.kind or ApiKind.REST
    return d.topology(api_ref, failure.name or api_ref, kind, stage_name, sources, inferred=True)


def functions_from_execution_log(
    d: Discovery,
    usages: dict[tuple[Role, str, str], Usage],
    api_id: str,
    stage: str,
    why: str | None,
) -> list[str]:
    """Every Lambda function the execution log says API Gateway called (an authorizer's
    URI follows "Starting authorizer" in its request), added to `usages`; their names. A
    few pages of the caller's window (or the last hour) are read, under the shared limiter."""
    group = execution_log_group(api_id, stage)
    now_ms = int(time.time() * 1000)
    start, end = d.scan_window or (now_ms - FUNCTION_SCAN_LOOKBACK_MS, None)
    logs = d.ctx.client("logs")
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
        d.ctx.logs_limiter.acquire()
        page = attempt(logs.filter_log_events, **asked)
        if not answered(page):
            problem = (
                failure_reason(page) if isinstance(page, Failed) else "the group does not exist"
            )
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
            ref, _ = function_from_uri(call.group("arn"), d.region, {})
            if ref is None:
                continue
            usage = usages.setdefault((role, ref.region, ref.arn), Usage(ref, role))
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
        d.warn(
            f"{why}: assumed {found}; pass any other group with --log-group",
            "grant apigateway:GET",
        )
    return names
