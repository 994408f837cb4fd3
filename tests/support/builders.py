"""Build the APIs a test needs, through boto3, against the test server — as they exist in AWS."""

from __future__ import annotations

import contextlib
import io
import zipfile
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buf.getvalue()


def make_function(client: Any, name: str, region: str = REGION, **kwargs: Any) -> str:
    iam = client("iam")
    try:
        role = iam.get_role(RoleName="lambda-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = client("lambda", region).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        **kwargs,
    )
    return str(fn["FunctionArn"])


def lambda_uri(function_arn: str, region: str = REGION) -> str:
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def make_log_group(
    client: Any, name: str, region: str = REGION, retention: int | None = None
) -> None:
    logs = client("logs", region)
    logs.create_log_group(logGroupName=name)
    if retention:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention)


def make_rest_api(
    client: Any,
    name: str = "shop",
    api_id: str | None = None,
    routes: dict[str, str] | None = None,
    stage: str = "prod",
    logging_level: str | None = "INFO",
    access_group: str | None = None,
    access_format: str = '{"requestId":"$context.requestId","status":"$context.status"}',
    variables: dict[str, str] | None = None,
    authorizer_uri: str | None = None,
    authorized_routes: tuple[str, ...] = (),
) -> str:
    """routes: {'GET /a/b': integration uri}. Returns the API ID."""
    apigw = client("apigateway")
    tags = {"_custom_id_": api_id} if api_id else {}
    rest_id: str = apigw.create_rest_api(name=name, tags=tags)["id"]
    root = apigw.get_resources(restApiId=rest_id)["items"][0]["id"]
    by_path: dict[str, str] = {"/": root}
    authorizer_id = None
    if authorizer_uri:
        authorizer_id = apigw.create_authorizer(
            restApiId=rest_id,
            name="auth",
            type="TOKEN",
            authorizerUri=authorizer_uri,
            identitySource="method.request.header.Authorization",
        )["id"]
    for route, uri in (routes or {}).items():
        method, path = route.split(" ", 1)
        parent = root
        current = ""
        for part in path.strip("/").split("/"):
            current += f"/{part}"
            if current not in by_path:
                by_path[current] = apigw.create_resource(
                    restApiId=rest_id, parentId=parent, pathPart=part
                )["id"]
            parent = by_path[current]
        auth = {"authorizationType": "NONE"}
        if route in authorized_routes and authorizer_id:
            auth = {"authorizationType": "CUSTOM", "authorizerId": authorizer_id}
        apigw.put_method(restApiId=rest_id, resourceId=parent, httpMethod=method, **auth)
        apigw.put_integration(
            restApiId=rest_id,
            resourceId=parent,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
    if not routes:
        # API Gateway refuses to deploy an API without methods.
        apigw.put_method(
            restApiId=rest_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        apigw.put_integration(restApiId=rest_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=rest_id, stageName=stage)
    ops: list[dict[str, str]] = []
    if logging_level:
        ops.append({"op": "replace", "path": "/*/*/logging/loglevel", "value": logging_level})
    if access_group:
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{access_group}"
        ops.append({"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn})
        ops.append({"op": "replace", "path": "/accessLogSettings/format", "value": access_format})
    for key, value in (variables or {}).items():
        ops.append({"op": "replace", "path": f"/variables/{key}", "value": value})
    if ops:
        apigw.update_stage(restApiId=rest_id, stageName=stage, patchOperations=ops)
    return rest_id


def put_event(client: Any, group: str, stream: str, timestamp: int, message: str) -> None:
    """One event into `group`/`stream`, the stream made if need be."""
    logs = client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": timestamp, "message": message}],
    )
