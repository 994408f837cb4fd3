"""Access log lines → Line, driven by the stage's access log format string."""

from __future__ import annotations

import json
import re

import pytest

from apilogs.model import LineKind
from apilogs.parse import compile_access_format

RID = "286364ab-3a83-11e9-8dc8-db3cf4c83204"
LAMBDA_ID = "71952965-d5cc-4974-ae08-6e2138b2275c"
TRACE = "1-5c7674f4-a3491d0a9c8012c191821b83"

# The console's JSON example for REST APIs, plus the IDs apilogs joins on.
JSON_FORMAT = (
    '{ "requestId":"$context.requestId", "extendedRequestId":"$context.extendedRequestId", '
    '"ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", '
    '"user":"$context.identity.user", "requestTime":"$context.requestTime", '
    '"httpMethod":"$context.httpMethod", "resourcePath":"$context.resourcePath", '
    '"status":"$context.status", "protocol":"$context.protocol", '
    '"responseLength":"$context.responseLength", '
    '"integrationLatency":"$context.integrationLatency", '
    '"responseLatency":"$context.responseLatency", '
    '"lambdaRequestId":"$context.integration.requestId", '
    '"xray":"$context.xrayTraceId", "authorizerRequestId":"$context.authorizer.requestId", '
    '"userAgent":"$context.identity.userAgent" }'
)
CLF_FORMAT = (
    "$context.identity.sourceIp $context.identity.caller $context.identity.user "
    '[$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" '
    "$context.status $context.responseLength $context.requestId $context.extendedRequestId"
)
HTTP_CLF_FORMAT = (
    '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod '
    '$context.routeKey $context.protocol" $context.status $context.responseLength '
    "$context.requestId"
)
CSV_FORMAT = (
    "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,"
    "$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,"
    "$context.status,$context.responseLength,$context.requestId,$context.identity.userAgent"
)
XML_FORMAT = (
    '<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> '
    "<caller>$context.identity.caller</caller> <user>$context.identity.user</user> "
    "<requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> "
    "<resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> "
    "<protocol>$context.protocol</protocol> <responseLength>$context.responseLength"
    "</responseLength> </request>"
)


def render(fmt: str, values: dict[str, str]) -> str:
    """What API Gateway writes: the format with each `$context.x` replaced by its value as is."""
    return re.sub(r"\$context\.([A-Za-z.]+[A-Za-z])", lambda m: values[m.group(1)], fmt)


def json_line(**overrides: str) -> str:
    values = {
        "requestId": RID,
        "extendedRequestId": "Vwc2MGFUrPEFV_g=",
        "identity.sourceIp": "192.0.2.1",
        "identity.caller": "-",
        "identity.user": "-",
        "requestTime": "10/Jan/2024:10:00:00 +0000",
        "httpMethod": "GET",
        "resourcePath": "/pets/{petId}",
        "status": "502",
        "protocol": "HTTP/1.1",
        "responseLength": "36",
        "integrationLatency": "426",
        "responseLatency": "431",
        "integration.requestId": LAMBDA_ID,
        "xrayTraceId": f"Root={TRACE};Parent=61e6466ca210cdf8;Sampled=1",
        "authorizer.requestId": "-",
        "identity.userAgent": "curl/8.1.2",
    }
    values.update({key.replace("__", "."): value for key, value in overrides.items()})
    return render(JSON_FORMAT, values)


def test_json_format() -> None:
    got = compile_access_format(JSON_FORMAT).parse(json_line())
    assert got.kind is LineKind.ACCESS
    assert got.request_id == RID
    assert got.extended_request_id == "Vwc2MGFUrPEFV_g="
    assert got.lambda_request_id == LAMBDA_ID
    assert got.trace_id == TRACE
    assert got.fields == {
        "status": 502,
        "integration_latency_ms": 426,
        "response_latency_ms": 431,
        "method": "GET",
        "resource_path": "/pets/{petId}",
        "protocol": "HTTP/1.1",
        "ip": "192.0.2.1",
        "user_agent": "curl/8.1.2",
        "context.requestTime": "10/Jan/2024:10:00:00 +0000",
        "context.responseLength": "36",
    }


def test_json_format_with_unquoted_numbers_and_nesting() -> None:
    fmt = (
        '{"requestId":"$context.requestId","status":$context.status,'
        '"integration":{"requestId":"$context.integration.requestId",'
        '"latency":$context.integration.latency,"status":$context.integration.status,'
        '"error":"$context.integration.error"},"route":"$context.routeKey",'
        '"domain":"${context.domainName}"}'
    )
    message = json.dumps(
        {
            "requestId": "JKJaXmPLvHcESHA=",
            "status": 500,
            "integration": {
                "requestId": LAMBDA_ID,
                "latency": 29001,
                "status": "-",
                "error": "The Lambda function returned the following error: Task timed out",
            },
            "route": "POST /orders",
            "domain": "api.example.com",
        }
    )
    got = compile_access_format(fmt).parse(message)
    assert got.request_id == "JKJaXmPLvHcESHA="
    assert got.lambda_request_id == LAMBDA_ID
    assert got.fields == {
        "status": 500,
        "integration_latency_ms": 29001,
        "error_message": "The Lambda function returned the following error: Task timed out",
        "route": "POST /orders",
        "context.domainName": "api.example.com",
    }


def test_json_format_with_whitespace_and_newlines() -> None:
    fmt = '{\n  "requestId": "$context.requestId",\n  "status": "$context.status"\n}'
    got = compile_access_format(fmt).parse(f'{{"requestId": "{RID}", "status": "200"}}')
    assert got.request_id == RID
    assert got.fields == {"status": 200}


def test_json_line_broken_by_an_unescaped_quote_falls_back_to_the_format_regex() -> None:
    # API Gateway substitutes values as they are: a quote in a user agent breaks the JSON.
    message = json_line(identity__userAgent='Mozilla "quoted" agent')
    with pytest.raises(ValueError):
        json.loads(message)
    got = compile_access_format(JSON_FORMAT).parse(message)
    assert got.request_id == RID
    assert got.lambda_request_id == LAMBDA_ID
    assert got.fields["user_agent"] == 'Mozilla "quoted" agent'
    assert got.fields["status"] == 502


def test_rest_clf_format() -> None:
    message = (
        '192.0.2.1 - - [10/Jan/2024:10:00:00 +0000] "GET /pets/{petId} HTTP/1.1" 200 42 '
        f"{RID} Vwc2MGFUrPEFV_g="
    )
    got = compile_access_format(CLF_FORMAT).parse(message)
    assert got.request_id == RID
    assert got.extended_request_id == "Vwc2MGFUrPEFV_g="
    assert got.fields == {
        "status": 200,
        "method": "GET",
        "resource_path": "/pets/{petId}",
        "protocol": "HTTP/1.1",
        "ip": "192.0.2.1",
        "context.requestTime": "10/Jan/2024:10:00:00 +0000",
        "context.responseLength": "42",
    }


def test_http_api_clf_format_with_a_route_key_holding_a_space() -> None:
    message = (
        '198.51.100.2 - - [10/Jan/2024:10:00:00 +0000] "GET GET /pets/{id} HTTP/1.1" 200 42 '
        "JKJaXmPLvHcESHA="
    )
    got = compile_access_format(HTTP_CLF_FORMAT).parse(message)
    assert got.request_id == "JKJaXmPLvHcESHA="
    assert got.fields["method"] == "GET"
    assert got.fields["route"] == "GET /pets/{id}"
    assert got.fields["protocol"] == "HTTP/1.1"
    assert got.fields["status"] == 200


def test_http_api_default_route() -> None:
    message = (
        '198.51.100.2 - - [10/Jan/2024:10:00:00 +0000] "POST $default HTTP/1.1" 404 23 '
        "JKJaXmPLvHcESHA="
    )
    got = compile_access_format(HTTP_CLF_FORMAT).parse(message)
    assert got.fields["route"] == "$default"
    assert got.fields["status"] == 404


def test_csv_format_with_commas_in_the_user_agent() -> None:
    message = (
        "192.0.2.1,-,-,10/Jan/2024:10:00:00 +0000,POST,/orders,HTTP/1.1,201,17,"
        f"{RID},Mozilla/5.0 (KHTML, like Gecko) Chrome/126.0"
    )
    got = compile_access_format(CSV_FORMAT).parse(message)
    assert got.request_id == RID
    assert got.fields["status"] == 201
    assert got.fields["method"] == "POST"
    assert got.fields["resource_path"] == "/orders"
    assert got.fields["user_agent"] == "Mozilla/5.0 (KHTML, like Gecko) Chrome/126.0"


def test_xml_format() -> None:
    message = (
        f'<request id="{RID}"> <ip>192.0.2.1</ip> <caller>-</caller> <user>-</user> '
        "<requestTime>10/Jan/2024:10:00:00 +0000</requestTime> <httpMethod>DELETE</httpMethod> "
        "<resourcePath>/pets/{petId}</resourcePath> <status>204</status> "
        "<protocol>HTTP/1.1</protocol> <responseLength>0</responseLength> </request>"
    )
    got = compile_access_format(XML_FORMAT).parse(message)
    assert got.request_id == RID
    assert got.fields["method"] == "DELETE"
    assert got.fields["status"] == 204
    assert got.fields["resource_path"] == "/pets/{petId}"


def test_free_text_format() -> None:
    fmt = (
        "req=$context.requestId status=$context.status lat=$context.responseLatency "
        "lambda=$context.awsEndpointRequestId err=$context.integrationErrorMessage"
    )
    message = (
        f"req={RID} status=504 lat=29012 lambda={LAMBDA_ID} err=Execution failed due to a "
        "timeout error"
    )
    got = compile_access_format(fmt).parse(message)
    assert got.request_id == RID
    assert got.lambda_request_id == LAMBDA_ID
    assert got.fields == {
        "status": 504,
        "response_latency_ms": 29012,
        "error_message": "Execution failed due to a timeout error",
    }


def test_dash_means_absent() -> None:
    got = compile_access_format(JSON_FORMAT).parse(
        json_line(
            integration__requestId="-",
            xrayTraceId="-",
            integrationLatency="-",
            identity__userAgent="-",
        )
    )
    assert got.lambda_request_id is None
    assert got.trace_id is None
    assert "integration_latency_ms" not in got.fields
    assert "user_agent" not in got.fields


def test_bare_xray_trace_id() -> None:
    got = compile_access_format(JSON_FORMAT).parse(json_line(xrayTraceId=TRACE))
    assert got.trace_id == TRACE


def test_service_integration_request_id_is_not_a_lambda_id() -> None:
    got = compile_access_format(JSON_FORMAT).parse(
        json_line(integration__requestId="Q4S0RBM3KBNUK")
    )
    assert got.lambda_request_id is None
    assert got.fields["integration_request_id"] == "Q4S0RBM3KBNUK"


def test_authorizer_request_id() -> None:
    authorizer = "0d1f9a1c-2b3c-4d5e-8f90-123456789abc"
    got = compile_access_format(JSON_FORMAT).parse(json_line(authorizer__requestId=authorizer))
    assert got.fields["authorizer_request_id"] == authorizer


def test_error_response_type_gives_the_cause() -> None:
    fmt = '{"requestId":"$context.requestId","responseType":"$context.error.responseType"}'
    got = compile_access_format(fmt).parse(
        f'{{"requestId":"{RID}","responseType":"INTEGRATION_TIMEOUT"}}'
    )
    assert got.fields == {
        "context.error.responseType": "INTEGRATION_TIMEOUT",
        "error_cause": "timeout",
    }


def test_websocket_access_line() -> None:
    fmt = (
        '{"requestId":"$context.requestId","connectionId":"$context.connectionId",'
        '"eventType":"$context.eventType","routeKey":"$context.routeKey",'
        '"status":"$context.status"}'
    )
    got = compile_access_format(fmt).parse(
        '{"requestId":"Qx1bXHbVoAMFp8Q=","connectionId":"Qx1a9dFvIAMCJkQ=",'
        '"eventType":"CONNECT","routeKey":"$connect","status":"200"}'
    )
    assert got.request_id == "Qx1bXHbVoAMFp8Q="
    assert got.fields == {
        "status": 200,
        "route": "$connect",
        "context.connectionId": "Qx1a9dFvIAMCJkQ=",
        "context.eventType": "CONNECT",
    }


def test_line_that_does_not_fit_its_format_falls_back() -> None:
    got = compile_access_format(CLF_FORMAT).parse(json_line())
    assert got.kind is LineKind.ACCESS
    assert got.request_id == RID
    assert got.lambda_request_id is None  # `lambdaRequestId` is not one of the usual keys
    assert got.fields["status"] == 502


@pytest.mark.parametrize("fmt", [None, "", "no variables here"])
def test_without_a_format_json_lines_are_read_by_their_usual_keys(fmt: str | None) -> None:
    message = json.dumps(
        {
            "requestId": RID,
            "status": 200,
            "httpMethod": "GET",
            "routeKey": "GET /pets",
            "integrationRequestId": LAMBDA_ID,
            "xrayTraceId": f"Root={TRACE}",
            "ip": "192.0.2.1",
            "something": "else",
        }
    )
    got = compile_access_format(fmt).parse(message)
    assert got.request_id == RID
    assert got.lambda_request_id == LAMBDA_ID
    assert got.trace_id == TRACE
    assert got.fields == {"status": 200, "method": "GET", "route": "GET /pets", "ip": "192.0.2.1"}


def test_without_a_format_other_lines_give_their_first_uuid() -> None:
    got = compile_access_format(None).parse(f"192.0.2.1 GET /pets 200 {RID} {LAMBDA_ID}")
    assert got.kind is LineKind.ACCESS
    assert got.request_id == RID
    assert got.fields == {}


@pytest.mark.parametrize("message", ["", "   ", "-", "{", "[]", "null", '{"status": true}'])
def test_junk(message: str) -> None:
    got = compile_access_format(JSON_FORMAT).parse(message)
    assert got.kind is LineKind.ACCESS
    assert got.request_id is None
    assert "status" not in got.fields


def test_parsers_are_cached_per_format() -> None:
    assert compile_access_format(CLF_FORMAT) is compile_access_format(CLF_FORMAT)
    assert compile_access_format(CLF_FORMAT) is not compile_access_format(CSV_FORMAT)


def test_format_with_regex_metacharacters_and_trailing_dot() -> None:
    fmt = "($context.requestId) * [$context.status]+? done at $context.requestTime."
    message = f"({RID}) * [200]+? done at 10/Jan/2024:10:00:00 +0000."
    got = compile_access_format(fmt).parse(message)
    assert got.request_id == RID
    assert got.fields["status"] == 200
    assert got.fields["context.requestTime"] == "10/Jan/2024:10:00:00 +0000"
