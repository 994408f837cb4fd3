"""What follows from names alone, with no call: the execution log's group, a log group from its
ARN, the Lambda function an integration or authorizer URI names."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LAMBDA_PATH = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>.+?)/invocations$")
_FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]+):(?P<account>\d+):function:"
    r"(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(?P<name>[A-Za-z0-9_]+)\}")


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A Lambda function as an integration or authorizer names it."""

    name: str
    region: str
    account: str | None
    qualifier: str | None
    arn: str


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
