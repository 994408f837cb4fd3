"""What `groups` tells a user to run: the shell commands that turn on what is missing (an access
log, a CloudWatch role for API Gateway), ready to paste. Pure: the facts come from discovery."""

from __future__ import annotations

import json
import shlex

from apilogs.model import Role, Source

# What `groups` suggests when a stage has no access log: every variable apilogs reads to join a
# request's lines and tell its story, for REST (1) and HTTP/WebSocket (2) stages, in the order
# the format lists them.
_ACCESS_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("requestId", "$context.requestId", "12"),
    ("extendedRequestId", "$context.extendedRequestId", "1"),
    ("ip", "$context.identity.sourceIp", "12"),
    ("userAgent", "$context.identity.userAgent", "1"),
    ("requestTime", "$context.requestTime", "12"),
    ("httpMethod", "$context.httpMethod", "12"),
    ("resourcePath", "$context.resourcePath", "1"),
    ("routeKey", "$context.routeKey", "2"),
    ("path", "$context.path", "12"),
    ("status", "$context.status", "12"),
    ("protocol", "$context.protocol", "12"),
    ("responseLength", "$context.responseLength", "12"),
    ("integrationLatency", "$context.integrationLatency", "12"),
    ("responseLatency", "$context.responseLatency", "12"),
    ("integrationStatus", "$context.integrationStatus", "12"),
    ("integrationRequestId", "$context.integration.requestId", "12"),
    ("authorizerRequestId", "$context.authorizer.requestId", "1"),
    ("integrationErrorMessage", "$context.integrationErrorMessage", "2"),
    ("errorMessage", "$context.error.message", "12"),
    ("errorType", "$context.error.responseType", "1"),
    ("xrayTraceId", "$context.xrayTraceId", "1"),
)


def _access_format(version: str) -> str:
    fields = {key: variable for key, variable, versions in _ACCESS_FIELDS if version in versions}
    return json.dumps(fields, separators=(",", ":"))


RECOMMENDED_ACCESS_FORMAT = _access_format("1")
RECOMMENDED_ACCESS_FORMAT_V2 = _access_format("2")


def _access_group_arn(region: str, account: str | None, api_id: str) -> tuple[str, str]:
    group = f"/aws/apigateway/{api_id}-access"
    return group, f"arn:aws:logs:{region}:{account or 'ACCOUNT'}:log-group:{group}"


def rest_access_fix(region: str, account: str | None, api_id: str, stage: str) -> str:
    group, arn = _access_group_arn(region, account, api_id)
    operations = [
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
        {
            "op": "replace",
            "path": "/accessLogSettings/format",
            "value": RECOMMENDED_ACCESS_FORMAT,
        },
    ]
    return (
        f"aws logs create-log-group --log-group-name {shlex.quote(group)} --region {region}"
        f" && aws apigateway update-stage --rest-api-id {shlex.quote(api_id)} "
        f"--stage-name {shlex.quote(stage)} --region {region} "
        f"--patch-operations {shlex.quote(json.dumps(operations, separators=(',', ':')))}"
    )


def v2_access_fix(region: str, account: str | None, api_id: str, stage: str) -> str:
    group, arn = _access_group_arn(region, account, api_id)
    settings = {"DestinationArn": arn, "Format": RECOMMENDED_ACCESS_FORMAT_V2}
    return (
        f"aws logs create-log-group --log-group-name {shlex.quote(group)} --region {region}"
        f" && aws apigatewayv2 update-stage --api-id {shlex.quote(api_id)} "
        f"--stage-name {shlex.quote(stage)} --region {region} "
        f"--access-log-settings {shlex.quote(json.dumps(settings, separators=(',', ':')))}"
    )


def missing_group_advice(source: Source, account: str | None) -> tuple[str, str | None]:
    """Why a group of the topology does not exist, and what makes it."""
    group = source.log_group
    if source.role is Role.EXECUTION:
        return (
            f"execution log group {group} does not exist yet: no request has been logged "
            "since logging was turned on, or the account has no CloudWatch role for "
            "API Gateway",
            "aws apigateway update-account --patch-operations "
            f"op=replace,path=/cloudwatchRoleArn,value=arn:aws:iam::{account or 'ACCOUNT'}"
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
