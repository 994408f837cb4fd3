"""Ground truth from real CloudWatch Logs lines (issue 27): lines AWS wrote, as published in AWS
documentation, SDK and Powertools fixtures and GitHub issues where people pasted their logs. Each
case cites where its lines come from, and says, line by line, which request apilogs must label it
with and what the parser must find in it.

A Lambda line seldom names its API request, so most cases are whole requests: the Lambda's real
lines, with the API Gateway execution log lines and the access log line of the REST request that
called it built from real line shapes (`rest_call`), the IDs consistent. AWS's documentation
masks IDs with `xmpl` (`6bc28136-xmpl-4365-…`); those are written here with hex digits in its
place, because an ID that is not hex is rightly not trusted as a request ID by apilogs
(`apilogs.parse.vet`).

`Case.missing` names what issue 27 asks for and apilogs lacks: such cases are expected to fail
(strict) until it is built."""

from __future__ import annotations

import json
from dataclasses import dataclass

API_ID = "c0rpus0api"
STAGE = "prod"
REGION = "us-east-1"
ACCOUNT = "123456789012"
EXECUTION = "execution"
ACCESS = "access"
AUTHORIZER = "auth"

# The access log format of the corpus' stage: every join key API Gateway can write there.
ACCESS_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "status": "$context.status",
        "integrationRequestId": "$context.integration.requestId",
        "authorizerRequestId": "$context.authorizer.requestId",
        "authorizerLatency": "$context.authorizer.integrationLatency",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)

# Functions of the corpus API, by the key a `Line.where` names them with: (runtime, log format,
# log group or None for /aws/lambda/<name>).
SHARED_GROUP = "/aws/lambda-shared/corpus"
FUNCTIONS: dict[str, tuple[str, str, str | None]] = {
    "node": ("nodejs20.x", "Text", None),
    "python": ("python3.12", "Text", None),
    "java": ("java21", "Text", None),
    "dotnet": ("dotnet8", "Text", None),
    "go": ("provided.al2023", "Text", None),
    "ruby": ("ruby3.3", "Text", None),
    "custom": ("provided.al2", "Text", None),
    "json": ("python3.12", "JSON", SHARED_GROUP),
    "json2": ("nodejs20.x", "JSON", SHARED_GROUP),
    AUTHORIZER: ("python3.12", "Text", None),
}


def function_name(key: str) -> str:
    return f"corpus-{key}"


def function_arn(key: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name(key)}"


def log_group(key: str) -> str:
    group = FUNCTIONS[key][2]
    return group or f"/aws/lambda/{function_name(key)}"


@dataclass(frozen=True, slots=True)
class Line:
    """One event: where it is written, its message verbatim, and what apilogs must make of it."""

    where: str  # EXECUTION, ACCESS, or a key of FUNCTIONS
    message: str
    request: str | None  # the API Gateway request ID it must be labelled with (None: none)
    lambda_id: str | None = None  # the Lambda request ID the parser must find in the line itself
    kind: str | None = None  # its `kind` in JSON output, when the case is about it
    stream: str | None = None  # Lambda lines: the stream (default: the case's one per function)
    probable: bool = False  # the label may only be known by timing
    trace: str | None = None  # the X-Ray trace ID the parser must find in it, when it has one


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    source: str  # where the real lines come from
    lines: tuple[Line, ...]
    missing: str | None = None  # issue 27's feature this case needs and apilogs lacks
    # The IDs whose `get -r` lookup needs it too (empty: every ID of the case).
    lookups_missing: frozenset[str] = frozenset()


def lambda_lines(
    where: str, request: str | None, messages: list[tuple[str, str | None, str | None]]
) -> list[Line]:
    """Lambda lines of one request: (message, the Lambda request ID in it, kind)."""
    return [Line(where, m, request, lambda_id, kind) for m, lambda_id, kind in messages]


@dataclass(frozen=True, slots=True)
class RestCall:
    """The execution and access log lines of one REST API request through a Lambda proxy
    integration, in the shapes API Gateway writes them: the method request lines as pasted in
    https://github.com/aws-amplify/amplify-js/issues/11391, the integration lines as in
    https://github.com/brefphp/bref/issues/534 (execution log of a Lambda proxy request)."""

    request_id: str
    function: str
    lambda_id: str | None  # what `x-amzn-RequestId` says; None: no answer (a timeout)
    status: int = 200
    extended_id: str = "FOjNQEjfBcwFtAg="
    path: str = "/orders"
    trace_id: str = "-"
    authorizer_id: str | None = None  # the authorizer's Lambda request ID, access log only
    failure: str | None = None  # the `Lambda execution failed …` / `Execution failed …` text

    def _line(self, text: str) -> Line:
        return Line(EXECUTION, f"({self.request_id}) {text}", self.request_id)

    def method_request(self) -> list[Line]:
        rid = self.request_id
        return [
            self._line(f"Extended Request Id: {self.extended_id}"),
            self._line(
                f"Verifying Usage Plan for request: {rid}. API Key:  API Stage: {API_ID}/{STAGE}"
            ),
            self._line(
                f"API Key  authorized because method 'GET {self.path}' does not require API Key. "
                "Request will not contribute to throttle or quota limits"
            ),
            self._line(f"Usage Plan check succeeded for API Key  and API Stage {API_ID}/{STAGE}"),
            self._line(f"Starting execution for request: {rid}"),
            self._line(f"HTTP Method: GET, Resource Path: {self.path}"),
            self._line("Method request path: {}"),
            self._line("Method request query string: {}"),
        ]

    def authorizer_request(self) -> list[Line]:
        """The authorizer's lines as API Gateway writes them: none names its Lambda request ID."""
        uri = (
            f"https://lambda.{REGION}.amazonaws.com/2015-03-31/functions/"
            f"{function_arn(AUTHORIZER)}/invocations"
        )
        return [
            self._line(f"Starting authorizer: t0k3n4 for request: {self.request_id}"),
            self._line("Incoming identity: ***************************************abcd"),
            self._line(f"Endpoint request URI: {uri}"),
        ]

    def authorizer_response(self) -> list[Line]:
        return [
            self._line(
                'Authorizer result body before parsing: {"principalId":"user","policyDocument":'
                '{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke",'
                f'"Effect":"Allow","Resource":"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/'
                f'{STAGE}/GET{self.path}"}}]}}}}'
            ),
            self._line(
                f"Using valid authorizer policy for methodArn: arn:aws:execute-api:{REGION}:"
                f"{ACCOUNT}:{API_ID}/{STAGE}/GET{self.path}"
            ),
            self._line("Successfully completed authorizer execution"),
        ]

    def integration_request(self) -> list[Line]:
        uri = (
            f"https://lambda.{REGION}.amazonaws.com/2015-03-31/functions/"
            f"{function_arn(self.function)}/invocations"
        )
        return [
            self._line(f"Endpoint request URI: {uri}"),
            self._line(
                f"Endpoint request headers: {{x-amzn-lambda-integration-tag={self.request_id}, "
                "Authorization=****************************3b2920, X-Amz-Date=20200119T171942Z, "
                f"x-amzn-apigateway-api-id={API_ID}, X-Amz-Source-Arn=arn:aws:execute-api:"
                f"{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/GET{self.path}, "
                "User-Agent=AmazonAPIGateway_" + API_ID + "}"
            ),
            self._line(f"Sending request to {uri}"),
        ]

    def integration_response(self) -> list[Line]:
        if self.lambda_id is None:
            return [
                self._line("Execution failed due to a timeout error"),
                self._line(f"Method completed with status: {self.status}"),
            ]
        lines = [
            self._line("Received response. Status: 200, Integration latency: 1247 ms"),
            self._line(
                "Endpoint response headers: {Date=Sun, 19 Jan 2020 17:19:43 GMT, "
                "Content-Type=application/json, Content-Length=170, Connection=keep-alive, "
                f"x-amzn-RequestId={self.lambda_id}, x-amzn-Remapped-Content-Length=0, "
                "X-Amz-Executed-Version=$LATEST, X-Amzn-Trace-Id=root=1-5e24900e-"
                "ffc2a2d6ca6cbc5f5fbdfd12;sampled=0}"
            ),
        ]
        if self.failure:
            lines.append(self._line(self.failure))
        lines.append(self._line(f"Method completed with status: {self.status}"))
        return lines

    def access(self) -> Line:
        doc = {
            "requestId": self.request_id,
            "extendedRequestId": self.extended_id,
            "status": str(self.status),
            "integrationRequestId": self.lambda_id or "-",
            "authorizerRequestId": self.authorizer_id or "-",
            "authorizerLatency": "12" if self.authorizer_id else "-",
            "xrayTraceId": self.trace_id,
        }
        return Line(ACCESS, json.dumps(doc, separators=(",", ":")), self.request_id)

    def around(self, lambda_part: list[Line]) -> tuple[Line, ...]:
        """The whole request: its execution lines around the Lambda's, then the access line."""
        return (
            *self.method_request(),
            *self.integration_request(),
            *lambda_part,
            *self.integration_response(),
            self.access(),
        )
