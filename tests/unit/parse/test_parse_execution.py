"""API Gateway execution log lines, as CloudWatch stores them, → Line."""

from __future__ import annotations

import pytest

from apilogs.model import Line, LineKind
from apilogs.parse import parse_execution

RID = "286364ab-3a83-11e9-8dc8-db3cf4c83204"
LAMBDA_ID = "71952965-d5cc-4974-ae08-6e2138b2275c"
TRACE = "1-5c7674f4-a3491d0a9c8012c191821b83"
FUNCTION = "arn:aws:lambda:eu-west-2:958845080241:function:log-test-1-EchoFunction-175HKORAF18IO"


def line(text: str) -> Line:
    return parse_execution(f"({RID}) {text}")


def test_extended_request_id() -> None:
    got = line("Extended Request Id: Vwc2MGFUrPEFV_g=")
    assert got.kind is LineKind.APIGW_START
    assert got.request_id == RID
    assert got.extended_request_id == "Vwc2MGFUrPEFV_g="


def test_starting_execution() -> None:
    got = line(f"Starting execution for request: {RID}")
    assert got.kind is LineKind.APIGW_START
    assert got.request_id == RID


def test_method_and_the_path_the_client_asked_for() -> None:
    # Despite its label, the "Resource Path" is the path sent (a `/{proxy+}` resource logs
    # `/api/v1`, beside `Method request path: {proxy=api/v1}`), without the stage.
    got = line("HTTP Method: POST, Resource Path: /pets/42/toys")
    assert got.kind is LineKind.APIGW_METHOD
    assert dict(got.fields) == {"method": "POST", "request_path": "/pets/42/toys"}


@pytest.mark.parametrize(
    "text",
    [
        "API Key  authorized because method 'ANY /{resource+}' does not require API Key. "
        "Request will not contribute to throttle or quota limits",
        "API Key **********************************bMZHBg authorized because method "
        "'ANY /{resource+}' requires API Key. Request will contribute to throttle and quota limits",
    ],
)
def test_the_usage_plan_check_names_the_routes_template(text: str) -> None:
    got = line(text)
    assert got.request_id == RID
    assert dict(got.fields) == {"resource_path": "/{resource+}"}


def test_an_api_key_line_without_a_method_is_plain() -> None:
    assert dict(line("API Key: **********bMZHBg").fields) == {}


@pytest.mark.parametrize(
    ("logged", "params"),
    [
        ("{n=107}", {"n": "107"}),
        ("{}", {}),
        ("{proxy=api/v1}", {"proxy": "api/v1"}),
        ("{petId=42, toy=ball, x.y=a=b}", {"petId": "42", "toy": "ball", "x.y": "a=b"}),
        ("{list=a, b}", {"list": "a, b"}),  # no name after the comma: still the value
        ("{=5}", None),
        ("n=107", None),
    ],
)
def test_path_parameters(logged: str, params: dict[str, str] | None) -> None:
    got = line(f"Method request path: {logged}")
    assert got.request_id == RID
    assert got.fields.get("path_params") == params


@pytest.mark.parametrize("prefix", ["Endpoint request URI: ", "Sending request to "])
def test_lambda_endpoint_uri(prefix: str) -> None:
    got = line(
        f"{prefix}https://lambda.eu-west-2.amazonaws.com/2015-03-31/functions/{FUNCTION}"
        "/invocations"
    )
    assert got.kind is LineKind.APIGW_ENDPOINT_URI
    assert got.fields["function_arn"] == FUNCTION


def test_lambda_endpoint_uri_with_alias() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:live"
    got = line(
        f"Endpoint request URI: https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/{arn}"
        "/invocations"
    )
    assert got.fields["function_arn"] == arn


def test_http_endpoint_uri() -> None:
    got = line("Endpoint request URI: https://backend.example.com/orders?id=1")
    assert got.kind is LineKind.APIGW_ENDPOINT_URI
    assert dict(got.fields) == {"uri": "https://backend.example.com/orders?id=1"}


def test_received_response() -> None:
    got = line("Received response. Status: 200, Integration latency: 426 ms")
    assert got.kind is LineKind.APIGW_RESPONSE
    assert dict(got.fields) == {"integration_status": 200, "integration_latency_ms": 426}


def test_received_response_without_status() -> None:
    # A Lambda that timed out: API Gateway logs the latency but no status.
    got = line("Received response. Integration latency: 11029 ms")
    assert got.kind is LineKind.APIGW_RESPONSE
    assert dict(got.fields) == {"integration_latency_ms": 11029}


def test_endpoint_response_headers_of_a_failed_lambda() -> None:
    got = line(
        "Endpoint response headers: {Date=Wed, 27 Feb 2019 11:31:11 GMT, "
        "Content-Type=application/json, Content-Length=115, Connection=keep-alive, "
        f"x-amzn-RequestId={LAMBDA_ID}, X-Amz-Function-Error=Unhandled, "
        "x-amzn-Remapped-Content-Length=0, X-Amz-Executed-Version=$LATEST, "
        f"X-Amzn-Trace-Id=root={TRACE};sampled=1}}"
    )
    assert got.kind is LineKind.APIGW_RESPONSE_HEADERS
    assert got.lambda_request_id == LAMBDA_ID
    assert got.trace_id == TRACE
    assert got.fields["error_type"] == "Unhandled"


def test_endpoint_response_headers_current_shape() -> None:
    got = line(
        "Endpoint response headers: {Date=Wed, 05 Jun 2024 19:31:06 GMT, "
        "Content-Type=application/json, Content-Length=982, Connection=keep-alive, "
        "x-amzn-RequestId=7097a698-d600-46fe-b5bc-38df32f3c557, "
        "x-amzn-Remapped-Content-Length=0, X-Amz-Executed-Version=$LATEST, "
        "X-Amzn-Trace-Id=root=1-6660bcf9-027e50c6c72ac166edbf23cd;parent=4f450fe1d12b3092;"
        "sampled=0;lineage=01a1bf8f:0}"
    )
    assert got.lambda_request_id == "7097a698-d600-46fe-b5bc-38df32f3c557"
    assert got.trace_id == "1-6660bcf9-027e50c6c72ac166edbf23cd"
    assert "error_type" not in got.fields


def test_endpoint_response_headers_of_a_service_integration() -> None:
    # DynamoDB's request ID is not a Lambda one: kept aside, not joined to Lambda logs.
    got = line(
        "Endpoint response headers: {Server=Server, Date=Thu, 01 Feb 2024 10:00:00 GMT, "
        "x-amzn-RequestId=4KBNVRGD25RG1KEO9UT4V3FQDJVV4KQNSO5AEMVJF66Q9ASUAAJG, "
        "X-Amz-Crc32=1234}"
    )
    assert got.lambda_request_id is None
    assert (
        got.fields["integration_request_id"]
        == "4KBNVRGD25RG1KEO9UT4V3FQDJVV4KQNSO5AEMVJF66Q9ASUAAJG"
    )


def test_endpoint_response_body_error_type() -> None:
    got = line(
        'Endpoint response body before transformations: {"errorType":"Runtime.ImportModuleError",'
        '"errorMessage":"Error: Cannot find module \'index\'"}'
    )
    assert got.kind is LineKind.APIGW_OTHER
    assert got.fields["error_type"] == "Runtime.ImportModuleError"


def test_customer_function_error() -> None:
    got = line(
        "Lambda execution failed with status 200 due to customer function error: 'LambdaContext' "
        "object has no attribute 'succeed'. Lambda request id: c2fdeda4-0849-4da2-bc61-36a9ed8b698d"
    )
    assert got.kind is LineKind.APIGW_LAMBDA_ERROR
    assert got.lambda_request_id == "c2fdeda4-0849-4da2-bc61-36a9ed8b698d"
    assert dict(got.fields) == {
        "error_message": "'LambdaContext' object has no attribute 'succeed'",
        "integration_status": 200,
        "error_cause": "customer_function_error",
    }


def test_customer_function_error_that_was_a_lambda_timeout() -> None:
    got = line(
        "Lambda execution failed with status 200 due to customer function error: "
        f"2019-02-27T11:31:11.456Z {LAMBDA_ID} Task timed out after 10.00 seconds. "
        f"Lambda request id: {LAMBDA_ID}"
    )
    assert got.kind is LineKind.APIGW_LAMBDA_ERROR
    assert got.lambda_request_id == LAMBDA_ID
    assert got.fields["error_cause"] == "timeout"
    assert got.fields["timeout_s"] == 10.0


def test_customer_function_error_that_was_out_of_memory() -> None:
    got = line(
        "Lambda execution failed with status 200 due to customer function error: "
        f"RequestId: {LAMBDA_ID} Error: Runtime exited with error: signal: killed. "
        f"Lambda request id: {LAMBDA_ID}"
    )
    assert got.fields["error_cause"] == "oom"


def test_timeout() -> None:
    got = line("Execution failed due to a timeout error")
    assert got.kind is LineKind.APIGW_TIMEOUT
    assert got.fields["error_cause"] == "timeout"


def test_malformed_proxy_response() -> None:
    got = line("Execution failed due to configuration error: Malformed Lambda proxy response")
    assert got.kind is LineKind.APIGW_MALFORMED
    assert got.fields["error_cause"] == "malformed_proxy_response"
    assert got.fields["error_message"] == "Malformed Lambda proxy response"


def test_invalid_permissions() -> None:
    got = line(
        "Execution failed due to configuration error: Invalid permissions on Lambda function"
    )
    assert got.kind is LineKind.APIGW_PERMISSIONS
    assert got.fields["error_cause"] == "permissions"


def test_lambda_throttled() -> None:
    got = line(
        "Lambda invocation failed with status: 429. Lambda request id: "
        "dcb2ab89-2d03-4b77-98cd-18d14fd2b850"
    )
    assert got.kind is LineKind.APIGW_THROTTLED
    assert got.lambda_request_id == "dcb2ab89-2d03-4b77-98cd-18d14fd2b850"
    assert got.fields["integration_status"] == 429
    assert got.fields["error_cause"] == "throttled"


def test_rate_exceeded_follows_a_throttle() -> None:
    got = line("Execution failed due to configuration error: Rate Exceeded.")
    assert got.kind is LineKind.APIGW_THROTTLED
    assert got.fields["error_cause"] == "throttled"


def test_usage_plan_throttle() -> None:
    got = line(
        "Key throttle limit exceeded for RestApi uwe3g5jm54, Stage Prod, Resource k0w8mc, "
        "HttpMethod POST. Limit: 1.00 Burst: 1"
    )
    assert got.kind is LineKind.APIGW_THROTTLED


def test_other_lambda_invocation_failure() -> None:
    got = line(
        "Lambda invocation failed with status: 403. Lambda request id: "
        "dcb2ab89-2d03-4b77-98cd-18d14fd2b850"
    )
    assert got.kind is LineKind.APIGW_FAILED
    assert got.fields["integration_status"] == 403
    assert got.fields["error_cause"] == "invocation_failed"


def test_other_configuration_error() -> None:
    got = line("Execution failed due to configuration error: Unable to transform request")
    assert got.kind is LineKind.APIGW_FAILED
    assert got.fields == {
        "error_cause": "configuration",
        "error_message": "Unable to transform request",
    }


def test_other_execution_failure() -> None:
    got = line("Execution failed: java.lang.IllegalStateException")
    assert got.kind is LineKind.APIGW_FAILED
    assert got.fields["error_message"] == "Execution failed: java.lang.IllegalStateException"


def test_method_completed() -> None:
    got = line("Method completed with status: 502")
    assert got.kind is LineKind.APIGW_COMPLETED
    assert got.fields["status"] == 502


def test_integration_endpoint_request_id() -> None:
    got = line(f"AWS Integration Endpoint RequestId : {LAMBDA_ID}")
    assert got.kind is LineKind.APIGW_INTEGRATION_ID
    assert got.lambda_request_id == LAMBDA_ID


@pytest.mark.parametrize("value", [f"Root={TRACE}", TRACE])
def test_xray_tracing_id(value: str) -> None:
    got = line(f"X-ray Tracing ID : {value}")
    assert got.kind is LineKind.APIGW_TRACE
    assert got.trace_id == TRACE


def test_method_request_headers_carry_the_caller_trace() -> None:
    got = line(
        "Method request headers: {Accept=application/json, User-Agent=python-requests/2.20.0, "
        "X-Amzn-Trace-Id=Self=1-5c755b5d-6cdced0b55e7998bc0251bcb;"
        "Root=1-5c755b5d-07b29b94e632d3da19d88789;Parent=61e6466ca210cdf8;Sampled=1, "
        "Content-Type=application/json;charset=utf-8}"
    )
    assert got.kind is LineKind.APIGW_OTHER
    assert got.trace_id == "1-5c755b5d-07b29b94e632d3da19d88789"


def test_authorizer_start() -> None:
    got = line(f"Starting authorizer: 62mgrc for request: {RID}")
    assert got.kind is LineKind.APIGW_AUTHORIZER_START
    assert got.fields["authorizer_id"] == "62mgrc"


def test_authorizer_result_body() -> None:
    got = line(
        'Authorizer result body before parsing: {"principalId":"user","policyDocument":'
        '{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow",'
        '"Resource":["arn:aws:execute-api:us-east-1:989972760655:qyt4c7jmsd/*/*"]}]}}'
    )
    assert got.kind is LineKind.APIGW_AUTHORIZER_RESULT
    assert "error_type" not in got.fields


def test_authorizer_result_body_of_a_crashed_authorizer() -> None:
    got = line(
        'Authorizer result body before parsing: {"errorType":"Runtime.ImportModuleError",'
        '"errorMessage":"Error: Cannot find module \'../../scaffold/okta\'"}'
    )
    assert got.kind is LineKind.APIGW_AUTHORIZER_RESULT
    assert got.fields["error_type"] == "Runtime.ImportModuleError"


@pytest.mark.parametrize(
    "text",
    [
        "Using valid authorizer policy for methodArn: "
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/pets",
        "Using valid authorizer policy for principal: ****bkwef5",
        "Successfully completed authorizer execution",
    ],
)
def test_authorizer_allowed(text: str) -> None:
    got = line(text)
    assert got.kind is LineKind.APIGW_AUTHORIZER_RESULT
    assert got.fields["authorized"] is True


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (f"Unauthorized request: {RID}", 401),
        ("The client is not authorized to perform this operation.", 403),
    ],
)
def test_unauthorized(text: str, status: int) -> None:
    got = line(text)
    assert got.kind is LineKind.APIGW_UNAUTHORIZED
    assert got.fields["error_cause"] == "unauthorized"
    assert got.fields["denied_status"] == status


@pytest.mark.parametrize(
    "text",
    [
        "Method request path: {petId=42}",
        "Method request query string: {}",
        "Method request body before transformations: ",
        'Endpoint request body after transformations: {"resource":"/echo","path":"/echo"}',
        "Endpoint request headers: {x-amzn-lambda-integration-tag=abc, Accept=application/json}",
        'Method response body after transformations: {"ok":true}',
        "Method response headers: {Content-Type=application/json}",
        "Successfully completed execution",
        f"Verifying Usage Plan for request: {RID}. API Key: API Stage: uwe3g5jm54/Prod",
        "API Key authorized because method 'GET /echo' does not require API Key.",
        "Something API Gateway will say next year",
    ],
)
def test_other_lines_keep_their_request_id(text: str) -> None:
    got = line(text)
    assert got.kind is LineKind.APIGW_OTHER
    assert got.request_id == RID


def test_websocket_lines() -> None:
    ws = "Qx1bXHbVoAMFp8Q="
    route = parse_execution(f"({ws}) WebSocket Request Route: [$connect]")
    assert route.kind is LineKind.APIGW_METHOD
    assert route.request_id == ws
    assert route.fields["route"] == "$connect"

    client = parse_execution(
        f"({ws}) Client [UserAgent: Mozilla/5.0 (X11; Linux x86_64), SourceIp: 192.0.2.7] is "
        "connecting to WebSocket API [abc123]."
    )
    assert client.fields == {"user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "ip": "192.0.2.7"}

    message = parse_execution(
        f"({ws}) WebSocket API [abc123] received message from client [Connection Id: "
        "Qx1a9dFvIAMCJkQ=]."
    )
    assert message.fields["connection_id"] == "Qx1a9dFvIAMCJkQ="

    extended = parse_execution(f"({ws}) Extended Request Id: {ws}")
    assert extended.kind is LineKind.APIGW_START
    assert extended.extended_request_id == ws


@pytest.mark.parametrize(
    "message",
    [
        "",
        "Method completed with status: 200",
        f"{RID} Method completed with status: 200",
        "() Method completed with status: 200",
        f"({RID})Method completed",
        f"[{RID}] Method completed with status: 200",
    ],
)
def test_no_prefix_is_unknown(message: str) -> None:
    got = parse_execution(message)
    assert got.kind is LineKind.UNKNOWN
    assert got.request_id is None


@pytest.mark.parametrize(
    "text",
    [
        "Method completed with status: ",
        "Method completed with status: abc",
        "Received response. Status: x",
        "HTTP Method: GET",
        "Endpoint response headers: {",
        "Lambda invocation failed with status: ",
        "Lambda execution failed with status x due to customer function error: ",
        "X-ray Tracing ID : ",
        "AWS Integration Endpoint RequestId : ",
        "Starting authorizer: ",
        "WebSocket Request Route: [",
    ],
)
def test_truncated_lines_degrade_gracefully(text: str) -> None:
    got = line(text)
    assert got.request_id == RID
    assert got.lambda_request_id is None
