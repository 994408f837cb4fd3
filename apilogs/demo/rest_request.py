"""A REST request as API Gateway knows it from its start (who asked what, its IDs and trace), and
what the execution log's data trace prints of it: headers and bodies, as API Gateway logs them.

The lines are only written when the stage logs full request and response data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from apilogs.demo.apigateway import Client
from apilogs.demo.formats import Ids, clf_time, http_date, json_line, mask, truncate, utc
from apilogs.demo.handlers import Params
from apilogs.demo.lambda_ import Invocation
from apilogs.demo.sample import SampleApp, SampleFunction
from apilogs.demo.scenario import Route, Scenario
from apilogs.demo.xray import Trace

if TYPE_CHECKING:  # the generator builds on this module
    from apilogs.demo.traffic import TrafficGenerator


@dataclass(frozen=True, slots=True)
class RestRequest:
    app: SampleApp
    route: Route
    client: Client
    request_id: str
    extended_id: str
    trace: Trace
    params: Params
    start: int

    @classmethod
    def draw(
        cls,
        gen: TrafficGenerator,
        start: int,
        route: Route,
        scenario: Scenario,
        client: Client,
        sampled: bool | None,
    ) -> RestRequest:
        """A new request: its IDs, whether X-Ray samples it (unless `sampled` says), and its
        parameters, drawn in the order the generator has always drawn them (a seed's traffic
        depends on it)."""
        ids = gen.ids
        request_id = ids.uuid()
        extended_id = ids.short()
        trace = Trace(ids.trace(start), gen.xray_sampled(start) if sampled is None else sampled)
        params = gen.code.params(route, scenario, client.ip, request_id)
        return cls(gen.app, route, client, request_id, extended_id, trace, params, start)

    @property
    def function(self) -> SampleFunction:
        """The integration's."""
        function: SampleFunction = getattr(self.app, self.route.function)
        return function

    @property
    def path(self) -> str:
        """The resource path with its parameters filled in."""
        return self.route.path.replace("{n}", self.params.n)

    def lambda_url(self, function_arn: str) -> str:
        return (
            f"https://lambda.{self.app.region}.amazonaws.com/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )

    def access_values(self) -> dict[str, object]:
        """The access log's variables known from the start."""
        client, route = self.client, self.route
        return {
            "requestId": self.request_id,
            "extendedRequestId": self.extended_id,
            "identity.sourceIp": client.ip,
            "identity.userAgent": client.user_agent,
            "requestTime": clf_time(self.start),
            "requestTimeEpoch": self.start,
            "httpMethod": route.method,
            "resourcePath": route.path,
            "path": f"/{self.app.rest_stage}{self.path}",
            "protocol": "HTTP/1.1",
            "xrayTraceId": self.trace.trace_id,
        }

    def method_request_headers(self) -> str:
        app, client = self.app, self.client
        headers = ["Accept=*/*"]
        if self.route.authorized:
            headers.append(f"Authorization={mask(client.token)}")
        if self.route.method == "POST":
            headers.append("Content-Type=application/json")
        headers += [
            f"Host={app.rest_api_id}.execute-api.{app.region}.amazonaws.com",
            f"User-Agent={client.user_agent}",
            f"X-Amzn-Trace-Id=Root={self.trace.trace_id}",
            f"X-Forwarded-For={client.ip}",
            "X-Forwarded-Port=443",
            "X-Forwarded-Proto=https",
        ]
        return "{" + ", ".join(headers) + "}"

    def endpoint_request_headers(self, t_ms: int, ids: Ids) -> str:
        """The signed request to Lambda: its credentials are made up at each call."""
        app = self.app
        headers = [
            f"x-amzn-lambda-integration-tag={self.request_id}",
            f"Authorization={'*' * 100}{ids.hex(6)}",
            f"X-Amz-Date={utc(t_ms):%Y%m%dT%H%M%SZ}",
            f"x-amzn-apigateway-api-id={app.rest_api_id}",
            f"X-Amz-Source-Arn={app.method_arn(self.route.method, self.route.path)}",
            "Accept=application/json",
            f"User-Agent=AmazonAPIGateway_{app.rest_api_id}",
            f"X-Amz-Security-Token=IQoJb3JpZ2luX2VjE{ids.hex(40)}",
        ]
        return truncate("{" + ", ".join(headers), 400)

    def endpoint_response_headers(self, t_ms: int, invocation: Invocation) -> str:
        headers = _lambda_response_headers(t_ms, invocation.request_id, invocation.response)
        if invocation.failure:
            headers.append("X-Amz-Function-Error=Unhandled")
        sampled = int(self.trace.sampled)
        headers += [
            "x-amzn-Remapped-Content-Length=0",
            f"X-Amz-Executed-Version={self.function.version}",
            f"X-Amzn-Trace-Id=root={self.trace.trace_id};parent={invocation.segment_id};"
            f"sampled={sampled}",
        ]
        return "{" + ", ".join(headers) + "}"

    def proxy_event(self, body: str) -> str:
        app, route, client = self.app, self.route, self.client
        event = {
            "resource": route.path,
            "path": self.path,
            "httpMethod": route.method,
            "headers": {
                "Accept": "*/*",
                "User-Agent": client.user_agent,
                "X-Forwarded-For": client.ip,
            },
            "queryStringParameters": dict(self.params.query) or None,
            "pathParameters": {"n": self.params.n} if self.params.n else None,
            "stageVariables": dict(app.stage_variables),
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": route.method,
                "extendedRequestId": self.extended_id,
                "requestTime": clf_time(self.start),
                "path": f"/{app.rest_stage}{self.path}",
                "accountId": app.account_id,
                "protocol": "HTTP/1.1",
                "stage": app.rest_stage,
                "requestTimeEpoch": self.start,
                "requestId": self.request_id,
                "identity": {"sourceIp": client.ip, "userAgent": client.user_agent},
                "apiId": app.rest_api_id,
            },
            "body": body or None,
            "isBase64Encoded": False,
        }
        return json_line(event)


def refused_response_headers(t_ms: int, lambda_request_id: str, body: str) -> str:
    """Lambda's answer when it throttles the invocation."""
    headers = _lambda_response_headers(t_ms, lambda_request_id, body)
    headers.append("x-amzn-ErrorType=TooManyRequestsException")
    return "{" + ", ".join(headers) + "}"


def _lambda_response_headers(t_ms: int, lambda_request_id: str, body: str) -> list[str]:
    return [
        f"Date={http_date(t_ms)}",
        "Content-Type=application/json",
        f"Content-Length={len(body)}",
        "Connection=keep-alive",
        f"x-amzn-RequestId={lambda_request_id}",
    ]
