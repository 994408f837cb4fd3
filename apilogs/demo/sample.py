"""The sample serverless application behind `apilogs demo`, deployed through boto3.

Modelled on the classic "Lambda + API Gateway" tutorial (a sieve of Eratosthenes behind a REST API),
grown until it has every shape discovery must cope with: a TOKEN authorizer, an integration URI
built from a stage variable, an alias-qualified integration, functions in the JSON log format,
three functions sharing one custom log group (one of them, a Java function with an extension, in
the JSON format), and an HTTP API beside the REST API.

Every resource is created with the same calls one would make against AWS; the result is described
by `SampleApp`, which is all the traffic generator (pure, no boto3) needs to know."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import boto3

REST_API_ID = "erat0s7hen"
REST_API_NAME = "Eratosthenes"
REST_STAGE = "prod"
HTTP_API_NAME = "eratosthenes-http"
HTTP_STAGE = "$default"
ROLE_NAME = "eratosthenes-lambda"
APIGATEWAY_LOGGING_ROLE = "apigateway-cloudwatch-logs"
SHARED_LOG_GROUP = "/aws/lambda-shared/eratosthenes"
ACCESS_LOG_GROUP = "/aws/apigateway/eratosthenes-access"
HTTP_ACCESS_LOG_GROUP = "/aws/apigateway/eratosthenes-http-access"
# API Gateway waits at most 29 s for an integration; a route may wait less (`timeoutInMillis`).
MAX_INTEGRATION_TIMEOUT_MS = 29_000
# GET /reports waits 10 s: a slow report outlives it, and API Gateway answers 504 while the
# function runs on.
INTEGRATION_TIMEOUTS_MS = {"GET /reports": 10_000}

# JSON, as the console's JSON template does it: every value quoted, "-" where API Gateway has none.
REST_ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "requestTime": "$context.requestTime",
        "requestTimeEpoch": "$context.requestTimeEpoch",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationRequestId": "$context.integration.requestId",
        "authorizerRequestId": "$context.authorizer.requestId",
        "authorizerLatency": "$context.authorizer.integrationLatency",
        "errorMessage": "$context.error.message",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)

# CLF-like on purpose: the access-log parser must be built from the format, whatever it is.
HTTP_ACCESS_LOG_FORMAT = (
    '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.path '
    '$context.protocol" $context.status $context.responseLength $context.requestId '
    "$context.integration.requestId $context.integrationLatency $context.responseLatency "
    "$context.routeKey"
)


@dataclass(frozen=True, slots=True)
class SampleFunction:
    """One deployed Lambda function and what its logs look like."""

    name: str
    arn: str  # unqualified
    runtime: str  # "python3.12", "nodejs20.x"
    log_group: str
    log_format: str  # "Text" or "JSON"
    memory_mb: int
    timeout_s: int
    # The version that serves the API's traffic ("$LATEST", or the alias' target) and the alias.
    version: str = "$LATEST"
    alias: str | None = None
    tracing: bool = False

    @property
    def invoked_arn(self) -> str:
        """The ARN API Gateway calls: qualified when the integration names an alias."""
        return f"{self.arn}:{self.alias}" if self.alias else self.arn

    @property
    def shares_log_group(self) -> bool:
        """Custom log groups name their streams after the function (several may share a group)."""
        return self.log_group != f"/aws/lambda/{self.name}"


@dataclass(frozen=True, slots=True)
class SampleApp:
    """Everything deployed by `deploy_sample`: ids, names, log groups and formats."""

    region: str
    account_id: str
    rest_api_id: str
    rest_api_name: str
    rest_stage: str
    deployment_id: str
    authorizer_id: str
    execution_log_group: str
    access_log_group: str
    access_log_format: str
    stage_variables: tuple[tuple[str, str], ...]
    data_trace: bool
    tracing_enabled: bool
    http_api_id: str
    http_api_name: str
    http_stage: str
    http_access_log_group: str
    http_access_log_format: str
    authorizer: SampleFunction
    primes: SampleFunction
    orders: SampleFunction
    health: SampleFunction
    reports: SampleFunction
    hello: SampleFunction
    export: SampleFunction
    # Routes whose integration gives up before API Gateway's 29 s: (route key, ms).
    integration_timeouts: tuple[tuple[str, int], ...] = ()

    def integration_timeout_ms(self, route_key: str) -> int:
        """How long API Gateway waits for this route's integration."""
        return dict(self.integration_timeouts).get(route_key, MAX_INTEGRATION_TIMEOUT_MS)

    @property
    def functions(self) -> tuple[SampleFunction, ...]:
        return (*self.rest_functions, self.hello)

    @property
    def rest_functions(self) -> tuple[SampleFunction, ...]:
        return (self.authorizer, self.primes, self.orders, self.health, self.reports, self.export)

    @property
    def log_groups(self) -> tuple[str, ...]:
        """Every group the traffic writes to, each once."""
        groups = [self.execution_log_group, self.access_log_group, self.http_access_log_group]
        groups += [f.log_group for f in self.functions]
        return tuple(dict.fromkeys(groups))

    def integration_uri(self, function_arn: str) -> str:
        return integration_uri(self.region, function_arn)

    def method_arn(self, method: str, resource_path: str) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.rest_api_id}/"
            f"{self.rest_stage}/{method}{resource_path}"
        )


def integration_uri(region: str, function_arn: str) -> str:
    """A Lambda integration's (or authorizer's) URI, as API Gateway stores it."""
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


# The code the functions would run. Only its shape matters to moto, but it is the code the
# generated logs pretend to come from (line numbers in tracebacks point into it).
_PRIMES_PY = """\
import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("loading sieve module")


def sieve(limit):
    flags = bytearray([1]) * (limit + 1)
    flags[0:2] = b"\\x00\\x00"
    for i in range(2, int(limit**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = bytearray(len(flags[i * i :: i]))
    return [i for i, f in enumerate(flags) if f]


def handler(event, context):
    params = event.get("queryStringParameters") or {}
    path = event.get("pathParameters") or {}
    limit = int(params.get("max", 100))
    loops = int(params.get("loops", 1))
    logger.info("computing primes up to %d", limit)
    for _ in range(loops):
        primes = sieve(limit)
    print(f"sieve finished: {len(primes)} primes")
    return {"statusCode": 200, "body": json.dumps({"count": len(primes)})}
"""

_AUTHORIZER_PY = """\
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    token = event["authorizationToken"]
    logger.info("authorizing %s for %s", token[-4:], event["methodArn"])
    effect = "Allow" if token.startswith("Bearer ") else "Deny"
    return {
        "principalId": "user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
            ],
        },
    }
"""

_SIMPLE_PY = """\
import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    logger.info("handling %s", event.get("path"))
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
"""

_EXPORT_JAVA = """\
package eratosthenes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

public class Export implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        context.getLogger().log("exporting primes as CSV");
        System.out.println("export written: primes.csv");
        return Map.of("statusCode", 200, "body", "{\\"rows\\":1229}");
    }
}
"""

_HELLO_JS = """\
export const handler = async (event) => {
  console.log(`${event.routeKey} from ${event.requestContext.http.sourceIp}`);
  return { statusCode: 200, body: JSON.stringify({ message: "hello" }) };
};
"""


def _trust_policy(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


_PUSH_TO_LOGS_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                ],
                "Resource": "*",
            }
        ],
    }
)


def _zip(filename: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(filename, source)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class _FunctionSpec:
    name: str
    runtime: str
    handler: str
    filename: str
    source: str
    memory_mb: int = 128
    timeout_s: int = 3
    log_format: str = "Text"
    log_group: str | None = None
    alias: str | None = None
    tracing: bool = True


_FUNCTIONS = {
    "authorizer": _FunctionSpec(
        "eratosthenes-authorizer", "python3.12", "app.handler", "app.py", _AUTHORIZER_PY
    ),
    "primes": _FunctionSpec(
        "eratosthenes-primes", "python3.12", "app.handler", "app.py", _PRIMES_PY
    ),
    "orders": _FunctionSpec(
        "eratosthenes-orders",
        "python3.12",
        "app.handler",
        "app.py",
        _SIMPLE_PY,
        memory_mb=256,
        timeout_s=10,
        log_format="JSON",
    ),
    "health": _FunctionSpec(
        "eratosthenes-health",
        "python3.12",
        "app.handler",
        "app.py",
        _SIMPLE_PY,
        log_group=SHARED_LOG_GROUP,
        tracing=False,
    ),
    # Its timeout is above its route's 10 s integration timeout (and API Gateway's 29 s): a slow
    # report outlives the request that started it (a 504 in API Gateway, a finished or
    # timed-out run in Lambda).
    "reports": _FunctionSpec(
        "eratosthenes-reports",
        "python3.12",
        "app.handler",
        "app.py",
        _SIMPLE_PY,
        memory_mb=512,
        timeout_s=40,
        log_group=SHARED_LOG_GROUP,
        alias="live",
    ),
    "hello": _FunctionSpec(
        "eratosthenes-hello", "nodejs20.x", "index.handler", "index.mjs", _HELLO_JS, tracing=False
    ),
    # Java in the JSON log format, in the shared group, with an extension (a cache layer): its
    # JVM and the extension print during init, and the extension during each invocation.
    "export": _FunctionSpec(
        "eratosthenes-export",
        "java21",
        "eratosthenes.Export::handleRequest",
        "eratosthenes/Export.java",
        _EXPORT_JAVA,
        memory_mb=1024,
        timeout_s=15,
        log_format="JSON",
        log_group=SHARED_LOG_GROUP,
        tracing=False,
    ),
}

RETENTION_DAYS = {
    ACCESS_LOG_GROUP: 90,
    "/aws/lambda/eratosthenes-primes": 14,
    "/aws/lambda/eratosthenes-orders": 30,
    SHARED_LOG_GROUP: 7,
}


def describe_sample(
    region: str = "us-east-1",
    account_id: str = "123456789012",
    *,
    data_trace: bool = True,
    http_api_id: str = "h77pap1x0k",
    deployment_id: str = "d3pl0y",
    authorizer_id: str = "t0k3n4",
    versions: Mapping[str, str] | None = None,
    log_format: str | None = None,
) -> SampleApp:
    """The sample as `deploy_sample` describes it, without AWS: for pure tests and benchmarks.

    The IDs AWS would assign (HTTP API, deployment, authorizer, published versions) are
    parameters; `deploy_sample` passes the real ones. `log_format` ("Text" or "JSON") puts
    every function in that Lambda log format (default: two functions in JSON, the rest Text)."""
    versions = versions or {}

    def function(key: str) -> SampleFunction:
        spec = _spec(key, log_format)
        return SampleFunction(
            name=spec.name,
            arn=f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}",
            runtime=spec.runtime,
            log_group=spec.log_group or f"/aws/lambda/{spec.name}",
            log_format=spec.log_format,
            memory_mb=spec.memory_mb,
            timeout_s=spec.timeout_s,
            version=versions.get(key, "1" if spec.alias else "$LATEST"),
            alias=spec.alias,
            tracing=spec.tracing,
        )

    return SampleApp(
        region=region,
        account_id=account_id,
        rest_api_id=REST_API_ID,
        rest_api_name=REST_API_NAME,
        rest_stage=REST_STAGE,
        deployment_id=deployment_id,
        authorizer_id=authorizer_id,
        execution_log_group=f"API-Gateway-Execution-Logs_{REST_API_ID}/{REST_STAGE}",
        access_log_group=ACCESS_LOG_GROUP,
        access_log_format=REST_ACCESS_LOG_FORMAT,
        stage_variables=(("primesFunction", _FUNCTIONS["primes"].name),),
        data_trace=data_trace,
        tracing_enabled=True,
        http_api_id=http_api_id,
        http_api_name=HTTP_API_NAME,
        http_stage=HTTP_STAGE,
        http_access_log_group=HTTP_ACCESS_LOG_GROUP,
        http_access_log_format=HTTP_ACCESS_LOG_FORMAT,
        integration_timeouts=tuple(INTEGRATION_TIMEOUTS_MS.items()),
        **{key: function(key) for key in _FUNCTIONS},
    )


def _spec(key: str, log_format: str | None) -> _FunctionSpec:
    spec = _FUNCTIONS[key]
    return replace(spec, log_format=log_format) if log_format else spec


def deploy_sample(
    session: boto3.Session,
    endpoint_url: str | None,
    region: str = "us-east-1",
    *,
    data_trace: bool = True,
    log_format: str | None = None,
) -> SampleApp:
    """Create the sample application and return its description (`log_format`: see
    `describe_sample`).

    `data_trace` is the stage's "log full requests/responses data" switch. With it off, API Gateway
    leaves out the header and body lines of the execution log (among them `Endpoint response
    headers`, where `X-Amz-Function-Error` shows); the demo keeps it on so those lines exist."""

    def client(service: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint_url)

    iam, lam, logs = client("iam"), client("lambda"), client("logs")
    apigw, apigw2 = client("apigateway"), client("apigatewayv2")
    account_id: str = client("sts").get_caller_identity()["Account"]

    # IAM is global: a second deployment (another region) finds the roles made by the first.
    role_arn = _role(iam, ROLE_NAME, "lambda.amazonaws.com")
    # Execution logging needs the account-wide role API Gateway writes to CloudWatch Logs with.
    logging_role = _role(iam, APIGATEWAY_LOGGING_ROLE, "apigateway.amazonaws.com")
    # Inline rather than the managed AmazonAPIGatewayPushToCloudWatchLogs: moto only knows AWS
    # managed policies when told to load them all, and the permissions are the same.
    iam.put_role_policy(
        RoleName=APIGATEWAY_LOGGING_ROLE,
        PolicyName="push-to-cloudwatch-logs",
        PolicyDocument=_PUSH_TO_LOGS_POLICY,
    )
    apigw.update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": logging_role}]
    )
    versions = {key: _create_function(lam, _spec(key, log_format), role_arn) for key in _FUNCTIONS}
    described = describe_sample(
        region, account_id, data_trace=data_trace, versions=versions, log_format=log_format
    )
    rest = _create_rest_api(apigw, lam, described, data_trace)
    http_api_id = _create_http_api(apigw2, lam, described)
    app = replace(
        described,
        deployment_id=rest["deployment_id"],
        authorizer_id=rest["authorizer_id"],
        http_api_id=http_api_id,
    )
    # API Gateway and Lambda create these on first write; the demo writes through PutLogEvents,
    # which needs them to exist.
    for group in app.log_groups:
        logs.create_log_group(logGroupName=group)
        if group in RETENTION_DAYS:
            logs.put_retention_policy(logGroupName=group, retentionInDays=RETENTION_DAYS[group])
    return app


def _role(iam: Any, name: str, service: str) -> str:
    try:
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust_policy(service))[
            "Role"
        ]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    return arn


def _create_function(lam: Any, spec: _FunctionSpec, role_arn: str) -> str:
    """Create the function (and its alias); return the version that serves the API."""
    logging_config: dict[str, str] = {"LogFormat": spec.log_format}
    if spec.log_group:
        logging_config["LogGroup"] = spec.log_group
    created = lam.create_function(
        FunctionName=spec.name,
        Runtime=spec.runtime,
        Role=role_arn,
        Handler=spec.handler,
        Code={"ZipFile": _zip(spec.filename, spec.source)},
        Description=f"Eratosthenes sample: {spec.name}",
        Timeout=spec.timeout_s,
        MemorySize=spec.memory_mb,
        TracingConfig={"Mode": "Active" if spec.tracing else "PassThrough"},
        LoggingConfig=logging_config,
        Publish=spec.alias is not None,
    )
    if not spec.alias:
        return "$LATEST"
    version: str = created["Version"]
    lam.create_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=version)
    return version


def _allow_apigateway(lam: Any, function: SampleFunction, source_arn: str, sid: str) -> None:
    """The resource policy that lets API Gateway invoke the function (or its alias)."""
    qualifier = {"Qualifier": function.alias} if function.alias else {}
    lam.add_permission(
        FunctionName=function.name,
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source_arn,
        **qualifier,
    )


def _create_rest_api(apigw: Any, lam: Any, app: SampleApp, data_trace: bool) -> dict[str, str]:
    region, account_id = app.region, app.account_id
    api_id = apigw.create_rest_api(
        name=REST_API_NAME,
        description="Primes, the Eratosthenes way",
        endpointConfiguration={"types": ["REGIONAL"]},
        # moto's way to get a fixed ID; AWS ignores the tag's meaning and keeps it as a tag.
        tags={"_custom_id_": REST_API_ID, "app": "eratosthenes"},
    )["id"]
    execute_api = f"arn:aws:execute-api:{region}:{account_id}:{api_id}"
    root_id = next(
        r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/"
    )

    authorizer_id = apigw.create_authorizer(
        restApiId=api_id,
        name="eratosthenes-token",
        type="TOKEN",
        authorizerUri=integration_uri(region, app.authorizer.arn),
        identitySource="method.request.header.Authorization",
        # No caching: every request runs the authorizer, so every request has its lines.
        authorizerResultTtlInSeconds=0,
    )["id"]
    _allow_apigateway(
        lam, app.authorizer, f"{execute_api}/authorizers/{authorizer_id}", "apigateway-authorizer"
    )

    def resource(parent_id: str, part: str) -> str:
        created: str = apigw.create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)[
            "id"
        ]
        return created

    primes = resource(root_id, "primes")
    # The function's name comes from the stage: API Gateway substitutes it at request time.
    by_stage_variable = (
        f"arn:aws:lambda:{region}:{account_id}:function:${{stageVariables.primesFunction}}"
    )
    methods: list[tuple[str, str, str, dict[str, bool], dict[str, str]]] = [
        (
            primes,
            "GET",
            app.primes.arn,
            {"method.request.querystring.max": False, "method.request.querystring.loops": False},
            {"authorizationType": "CUSTOM", "authorizerId": authorizer_id},
        ),
        (
            resource(primes, "{n}"),
            "GET",
            by_stage_variable,
            {"method.request.path.n": True},
            {"authorizationType": "NONE"},
        ),
        (resource(root_id, "orders"), "POST", app.orders.arn, {}, {"authorizationType": "NONE"}),
        (resource(root_id, "health"), "GET", app.health.arn, {}, {"authorizationType": "NONE"}),
        (
            resource(root_id, "reports"),
            "GET",
            app.reports.invoked_arn,  # qualified with the alias
            {},
            {"authorizationType": "NONE"},
        ),
        (resource(root_id, "export"), "GET", app.export.arn, {}, {"authorizationType": "NONE"}),
    ]
    for resource_id, verb, function_arn, parameters, authorization in methods:
        timeout = INTEGRATION_TIMEOUTS_MS.get(f"{verb} {_path_of(apigw, api_id, resource_id)}")
        apigw.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            requestParameters=parameters,
            **authorization,
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            type="AWS_PROXY",
            # Lambda is always invoked with POST, whatever the client's method.
            integrationHttpMethod="POST",
            uri=integration_uri(region, function_arn),
            **({"timeoutInMillis": timeout} if timeout else {}),
        )
    for function in (app.primes, app.orders, app.health, app.reports, app.export):
        _allow_apigateway(lam, function, f"{execute_api}/*", f"apigateway-{api_id}")

    deployment_id = apigw.create_deployment(
        restApiId=api_id, stageName=REST_STAGE, description="initial deployment"
    )["id"]
    access_arn = f"arn:aws:logs:{region}:{account_id}:log-group:{ACCESS_LOG_GROUP}"
    apigw.update_stage(
        restApiId=api_id,
        stageName=REST_STAGE,
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
            {"op": "replace", "path": "/*/*/logging/dataTrace", "value": str(data_trace).lower()},
            {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "50"},
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": access_arn},
            {"op": "replace", "path": "/accessLogSettings/format", "value": REST_ACCESS_LOG_FORMAT},
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            *(
                {"op": "replace", "path": f"/variables/{name}", "value": value}
                for name, value in app.stage_variables
            ),
        ],
    )
    return {"deployment_id": deployment_id, "authorizer_id": authorizer_id}


def _path_of(apigw: Any, api_id: str, resource_id: str) -> str:
    path: str = apigw.get_resource(restApiId=api_id, resourceId=resource_id)["path"]
    return path


def _create_http_api(apigw2: Any, lam: Any, app: SampleApp) -> str:
    hello = app.hello
    api_id: str = apigw2.create_api(
        Name=HTTP_API_NAME, ProtocolType="HTTP", Description="Hello, next to Eratosthenes"
    )["ApiId"]
    integration_id = apigw2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        # HTTP APIs accept the bare function ARN as the integration URI.
        IntegrationUri=hello.arn,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    apigw2.create_route(
        ApiId=api_id, RouteKey="GET /hello", Target=f"integrations/{integration_id}"
    )
    access_arn = f"arn:aws:logs:{app.region}:{app.account_id}:log-group:{HTTP_ACCESS_LOG_GROUP}"
    apigw2.create_stage(
        ApiId=api_id,
        StageName=HTTP_STAGE,
        AutoDeploy=True,
        AccessLogSettings={"DestinationArn": access_arn, "Format": HTTP_ACCESS_LOG_FORMAT},
    )
    source_arn = f"arn:aws:execute-api:{app.region}:{app.account_id}:{api_id}/*"
    _allow_apigateway(lam, hello, source_arn, f"apigateway-{api_id}")
    return api_id
