"""Discovery against moto's server: what a user's API looks like in AWS → the Topology."""

from __future__ import annotations

import boto3
import pytest

from apilogs.aws import AwsContext
from apilogs.discover import discover_topology, function_from_uri, log_group_from_arn
from apilogs.errors import ApilogsError
from apilogs.model import ApiKind, Role, Severity
from tests.support.builders import (
    ACCOUNT,
    REGION,
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
)


@pytest.fixture
def ctx(endpoint: str) -> AwsContext:
    return AwsContext(session=boto3.Session(region_name=REGION), endpoint_url=endpoint)


def test_rest_api_with_many_resources_finds_every_function(client, ctx) -> None:
    # 35 routes over 7 functions: more than the 25-resource default page of get_resources.
    arns = [make_function(client, f"fn{i}") for i in range(7)]
    routes = {f"GET /items/r{i}": lambda_uri(arns[i % 7]) for i in range(35)}
    api_id = make_rest_api(client, routes=routes, api_id="abc1234567")
    for i in range(7):
        make_log_group(client, f"/aws/lambda/fn{i}", retention=14)
    make_log_group(client, f"API-Gateway-Execution-Logs_{api_id}/prod")

    topology = discover_topology(ctx, api_id, "prod")

    assert topology.kind is ApiKind.REST
    assert topology.api_name == "shop"
    lambdas = [s for s in topology.sources if s.role is Role.LAMBDA]
    assert sorted(s.function_name or "" for s in lambdas) == [f"fn{i}" for i in range(7)]
    fn0 = next(s for s in lambdas if s.function_name == "fn0")
    assert fn0.log_group == "/aws/lambda/fn0"
    assert fn0.exists is True and fn0.retention_days == 14
    assert sorted(fn0.routes) == sorted(f"GET /items/r{i}" for i in range(0, 35, 7))
    execution = next(s for s in topology.sources if s.role is Role.EXECUTION)
    assert execution.log_group == "API-Gateway-Execution-Logs_abc1234567/prod"
    assert execution.exists is True
    assert topology.logging_level == "INFO"


def test_stage_variables_aliases_authorizer_and_custom_group(client, ctx) -> None:
    make_function(client, "orders-v2", LoggingConfig={"LogFormat": "JSON"})
    make_function(client, "reports", LoggingConfig={"LogGroup": "/shared/app"})
    make_function(client, "health", LoggingConfig={"LogGroup": "/shared/app"})
    auth = make_function(client, "authz")
    lam = client("lambda")
    lam.create_alias(FunctionName="reports", Name="live", FunctionVersion="$LATEST")
    staged = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:${{stageVariables.ordersFn}}"
    api_id = make_rest_api(
        client,
        routes={
            "POST /orders": lambda_uri(staged),
            "GET /reports": lambda_uri(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:reports:live"),
            "GET /health": lambda_uri(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:health"),
        },
        variables={"ordersFn": "orders-v2"},
        authorizer_uri=lambda_uri(auth),
        authorized_routes=("POST /orders",),
        access_group="/access/shop",
    )
    make_log_group(client, "/shared/app")
    make_log_group(client, "/aws/lambda/orders-v2")

    topology = discover_topology(ctx, api_id, "prod")
    by_name = {(s.role, s.function_name): s for s in topology.sources if s.function_name}

    orders = by_name[(Role.LAMBDA, "orders-v2")]
    assert orders.routes == ("POST /orders",) and orders.log_format == "JSON"
    reports = by_name[(Role.LAMBDA, "reports")]
    assert reports.qualifier == "live" and reports.log_group == "/shared/app"
    assert by_name[(Role.LAMBDA, "health")].log_group == "/shared/app"
    authorizer = by_name[(Role.AUTHORIZER, "authz")]
    assert authorizer.routes == ("POST /orders",)
    assert authorizer.exists is False  # never invoked
    access = next(s for s in topology.sources if s.role is Role.ACCESS)
    assert access.log_group == "/access/shop" and access.exists is False
    assert topology.access_log_format and "$context.requestId" in topology.access_log_format
    # Shared groups are read once.
    assert topology.log_groups().count("/shared/app") == 1
    messages = " ".join(f.message for f in topology.findings)
    assert "authz does not exist yet" in messages.replace("/aws/lambda/authz of ", "")
    assert "access log group /access/shop does not exist" in messages


def test_logging_off_and_no_access_log_are_reported_with_fixes(client, ctx) -> None:
    arn = make_function(client, "fn")
    api_id = make_rest_api(client, routes={"GET /x": lambda_uri(arn)}, logging_level=None)

    topology = discover_topology(ctx, api_id, "prod")

    fixes = {f.message.split(":")[0]: f.fix or "" for f in topology.findings}
    off = next(f for f in topology.findings if "execution logging is OFF" in f.message)
    assert "op=replace,path=/*/*/logging/loglevel,value=INFO" in (off.fix or "")
    assert f"--rest-api-id {api_id}" in (off.fix or "")
    no_access = next(f for f in topology.findings if "no access log" in f.message)
    assert "/accessLogSettings/destinationArn" in (no_access.fix or "")
    assert fixes


def test_unresolvable_stage_variable_and_missing_function(client, ctx) -> None:
    staged = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:${{stageVariables.nope}}"
    ghost = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ghost"
    api_id = make_rest_api(
        client, routes={"GET /a": lambda_uri(staged), "GET /b": lambda_uri(ghost)}
    )

    topology = discover_topology(ctx, api_id, "prod")

    texts = [f.message for f in topology.findings]
    assert any("stage variable 'nope'" in t for t in texts)
    ghost_finding = next(f for f in topology.findings if "ghost" in f.message)
    assert ghost_finding.severity is Severity.ERROR


def test_function_in_other_account_and_region(client, ctx) -> None:
    other_region = make_function(client, "eu-fn", region="eu-west-1")
    make_log_group(client, "/aws/lambda/eu-fn", region="eu-west-1")
    foreign = "arn:aws:lambda:us-east-1:999999999999:function:theirs"
    api_id = make_rest_api(
        client, routes={"GET /eu": lambda_uri(other_region), "GET /them": lambda_uri(foreign)}
    )

    topology = discover_topology(ctx, api_id, "prod")

    eu = next(s for s in topology.sources if s.function_name == "eu-fn")
    assert eu.region == "eu-west-1" and eu.exists is True
    theirs = next(s for s in topology.sources if s.function_name == "theirs")
    assert theirs.foreign_account == "999999999999"
    assert "theirs" not in " ".join(topology.log_groups())
    assert any("999999999999" in f.message for f in topology.findings)


def test_api_by_name_and_ambiguous_name(client, ctx) -> None:
    make_rest_api(client, name="unique-api", api_id="uniq000001")
    assert discover_topology(ctx, "unique-api", "prod").api_id == "uniq000001"
    make_rest_api(client, name="twin", api_id="twin000001")
    make_rest_api(client, name="twin", api_id="twin000002")
    with pytest.raises(ApilogsError, match=r"ambiguous.*twin000001.*twin000002"):
        discover_topology(ctx, "twin", "prod")


def test_unknown_api_and_unknown_stage(client, ctx) -> None:
    with pytest.raises(ApilogsError, match="no API with ID or name 'zzz'"):
        discover_topology(ctx, "zzz", "prod")
    api_id = make_rest_api(client)
    client("apigateway").create_deployment(restApiId=api_id, stageName="dev")
    with pytest.raises(ApilogsError, match=r"stage 'qa' not found .* stages: dev, prod"):
        discover_topology(ctx, api_id, "qa")


def test_http_api_integrations_authorizers_and_default_stage(client, ctx) -> None:
    fn = make_function(client, "http-fn")
    auth = make_function(client, "http-auth")
    v2 = client("apigatewayv2")
    api = v2.create_api(Name="http-shop", ProtocolType="HTTP")
    api_id = api["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn, PayloadFormatVersion="2.0"
    )
    v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationSubtype="SQS-SendMessage",
        RequestParameters={"QueueUrl": "q", "MessageBody": "b"},
        PayloadFormatVersion="1.0",
    )
    authorizer = v2.create_authorizer(
        ApiId=api_id,
        AuthorizerType="REQUEST",
        AuthorizerUri=lambda_uri(auth),
        IdentitySource=["$request.header.Authorization"],
        Name="a",
        AuthorizerPayloadFormatVersion="2.0",
    )
    v2.create_route(
        ApiId=api_id,
        RouteKey="GET /hello",
        Target=f"integrations/{integration['IntegrationId']}",
        AuthorizationType="CUSTOM",
        AuthorizerId=authorizer["AuthorizerId"],
    )
    v2.create_stage(
        ApiId=api_id,
        StageName="$default",
        AccessLogSettings={
            "DestinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/http/access:*",
            "Format": "$context.requestId $context.status",
        },
    )
    make_log_group(client, "/http/access")

    topology = discover_topology(ctx, api_id, None)

    assert topology.kind is ApiKind.HTTP and topology.stage == "$default"
    roles = {(s.role, s.function_name) for s in topology.sources}
    assert roles == {
        (Role.ACCESS, None),
        (Role.LAMBDA, "http-fn"),
        (Role.AUTHORIZER, "http-auth"),
    }
    assert next(s for s in topology.sources if s.role is Role.ACCESS).log_group == "/http/access"
    fn_source = next(s for s in topology.sources if s.function_name == "http-fn")
    assert fn_source.routes == ("GET /hello",)


def test_websocket_api_has_execution_log(client, ctx) -> None:
    fn = make_function(client, "ws-fn")
    v2 = client("apigatewayv2")
    api_id = v2.create_api(
        Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=lambda_uri(fn)
    )
    v2.create_route(
        ApiId=api_id, RouteKey="$connect", Target=f"integrations/{integration['IntegrationId']}"
    )
    v2.create_stage(ApiId=api_id, StageName="live", DefaultRouteSettings={"LoggingLevel": "INFO"})

    topology = discover_topology(ctx, api_id, "live")

    assert topology.kind is ApiKind.WEBSOCKET
    execution = next(s for s in topology.sources if s.role is Role.EXECUTION)
    assert execution.log_group == f"API-Gateway-Execution-Logs_{api_id}/live"
    fn_source = next(s for s in topology.sources if s.function_name == "ws-fn")
    assert fn_source.routes == ("$connect",)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            lambda_uri("arn:aws:lambda:eu-west-1:111122223333:function:f:prod"),
            ("f", "eu-west-1", "111122223333", "prod"),
        ),
        (
            "arn:aws:lambda:us-east-1:111122223333:function:bare",
            ("bare", "us-east-1", "111122223333", None),
        ),
        (lambda_uri("${stageVariables.fn}"), ("named", REGION, None, None)),
    ],
)
def test_function_from_uri(uri: str, expected: tuple[object, ...]) -> None:
    ref, why = function_from_uri(uri, REGION, {"fn": "named"})
    assert why is None and ref is not None
    assert (ref.name, ref.region, ref.account, ref.qualifier) == expected


def test_log_group_from_arn() -> None:
    assert log_group_from_arn("arn:aws:logs:us-east-1:1:log-group:/a/b:*") == "/a/b"
    assert log_group_from_arn("arn:aws:logs:us-east-1:1:log-group:x") == "x"
    assert (
        log_group_from_arn("arn:aws:firehose:us-east-1:1:deliverystream/amazon-apigateway-x")
        is None
    )


def test_the_access_log_fix_is_a_command_to_paste(client, ctx) -> None:
    """Run what `groups` says, as the shell would split it: the stage then logs what apilogs
    needs, into a group that exists, in the caller's account."""
    import json
    import shlex

    arn = make_function(client, "pasted")
    api_id = make_rest_api(client, routes={"GET /x": lambda_uri(arn)})
    topology = discover_topology(ctx, api_id, "prod")
    fix = next(f for f in topology.findings if "no access log" in f.message).fix or ""
    assert "ACCOUNT" not in fix and "..." not in fix
    create, update = (shlex.split(part) for part in fix.split(" && "))
    assert create[:3] == ["aws", "logs", "create-log-group"]
    client("logs").create_log_group(logGroupName=create[create.index("--log-group-name") + 1])
    assert update[:3] == ["aws", "apigateway", "update-stage"]
    operations = json.loads(update[update.index("--patch-operations") + 1])
    client("apigateway").update_stage(
        restApiId=update[update.index("--rest-api-id") + 1],
        stageName=update[update.index("--stage-name") + 1],
        patchOperations=operations,
    )
    fixed = discover_topology(ctx, api_id, "prod")
    [access] = [s for s in fixed.sources if str(s.role) == "access"]
    assert access.exists and f":{ACCOUNT}:" in operations[0]["value"]
    assert "$context.integration.requestId" in (access.log_format or "")
    assert not any("no access log" in f.message for f in fixed.findings)
