"""One REST API request, written out phase by phase as API Gateway logs it: the authorizer, the
method request, the integration and the response in the execution log, then the access log line.
Lambda writes its own lines (`apilogs.demo.lambda_`), X-Ray gets the segments of sampled requests
(`apilogs.demo.xray`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from apilogs.demo.apigateway import AccessLog, Client
from apilogs.demo.formats import json_line, mask, truncate
from apilogs.demo.rest_request import RestRequest, refused_response_headers
from apilogs.demo.scenario import LogRecord, Route, Scenario, SimulatedRequest
from apilogs.demo.xray import ApiGatewayXray, segment_id

if TYPE_CHECKING:  # the generator calls this module
    from apilogs.demo.traffic import TrafficGenerator

_INTERNAL_ERROR = '{"message": "Internal server error"}'


class RestCall:
    """The request's progress: API Gateway's clock, the lines written so far, what it learnt."""

    def __init__(
        self,
        gen: TrafficGenerator,
        start: int,
        route: Route,
        scenario: Scenario,
        client: Client,
        sampled: bool | None = None,
    ) -> None:
        self.gen = gen
        self.app = gen.app
        self.rng = gen.rng
        self.scenario = scenario
        self.request = RestRequest.draw(gen, start, route, scenario, client, sampled)
        self.stream = gen.execution_streams.pick(start)
        # Execution and Lambda lines alike, in the order they are written: lines with one
        # timestamp keep that order.
        self.records: list[LogRecord] = []
        self.t = float(start)
        self.lambda_request_id: str | None = None
        self.authorizer_request_id: str | None = None
        self.cold = False
        self.xray = ApiGatewayXray(self.request.trace)
        self.access = AccessLog(
            self.app.access_log_group,
            self.app.access_log_format,
            gen.access_streams,
            start,
            self.request.access_values(),
        )

    def log(self, message: str) -> None:
        """An execution log line, at API Gateway's current time."""
        self.records.append(
            LogRecord(
                self.app.execution_log_group,
                self.stream,
                int(self.t),
                f"({self.request.request_id}) {message}",
            )
        )

    def elapse(self, low: float, high: float) -> None:
        self.t += self.rng.uniform(low, high)

    def simulate(self) -> SimulatedRequest:
        if self.scenario is Scenario.STAGE_THROTTLED:
            # Rejected before execution starts: an access log line and nothing else.
            return self._finish(429, '{"message":"Too Many Requests"}', "Too Many Requests")
        self.log(f"Extended Request Id: {self.request.extended_id}")
        if self.request.route.authorized:
            denied = self._authorize()
            if denied:
                return denied
        self._start_execution()
        if self.scenario is Scenario.LAMBDA_THROTTLED:
            status, body = self._lambda_refused()
        else:
            status, body = self._invoke()
        self.log(f"X-ray Tracing ID : Root={self.request.trace.trace_id}")
        return self._finish(status, body)

    def _authorize(self) -> SimulatedRequest | None:
        """The TOKEN authorizer's lines and invocation; the final result if it stops the request."""
        app, request, fn = self.app, self.request, self.app.authorizer
        method_arn = app.method_arn(request.route.method, request.route.path)
        token = mask(request.client.token)
        url = request.lambda_url(fn.arn)
        self.elapse(0.1, 1.0)
        self.log(f"Starting authorizer: {app.authorizer_id} for request: {request.request_id}")
        self.log(f"Incoming identity: {token}")
        self.log(f"Endpoint request URI: {url}")
        if app.data_trace:
            headers = request.endpoint_request_headers(int(self.t), self.gen.ids)
            self.log(f"Endpoint request headers: {headers}")
            body = {"type": "TOKEN", "methodArn": method_arn, "authorizationToken": token}
            self.log(f"Endpoint request body after transformations: {json_line(body)}")
        self.elapse(0.1, 0.8)
        self.log(f"Sending request to {url}")
        sent = self.t
        run = self.gen.code.authorizer(self.scenario, request.client.token, method_arn)
        call = segment_id(request.trace.trace_id, "apigw:authorizer")
        invocation = self.gen.lambdas.invoke(
            fn, int(sent + self.rng.uniform(1, 5)), run, request.trace, self.records, call
        )
        self.t = invocation.end_ms + self.rng.uniform(1, 5)
        self.xray.lambda_call(call, fn, app.region, (sent, self.t), invocation.segments)
        self.authorizer_request_id = invocation.request_id
        self.access.values["authorizer.requestId"] = invocation.request_id
        self.access.values["authorizer.integrationLatency"] = int(self.t - sent)
        if self.scenario is Scenario.AUTH_UNAUTHORIZED:
            self.log(f"Unauthorized request: {request.request_id}")
            return self._finish(401, '{"message":"Unauthorized"}', "Unauthorized")
        self.log(f"Authorizer result body before parsing: {invocation.response}")
        self.log(f"Using valid authorizer policy for methodArn: {method_arn}")
        self.log("Successfully completed authorizer execution")
        if self.scenario is Scenario.AUTH_DENIED:
            self.log("The client is not authorized to perform this operation.")
            self.log("Method completed with status: 403")
            message = "User is not authorized to access this resource with an explicit deny"
            return self._finish(403, json_line({"Message": message}), message)
        return None

    def _start_execution(self) -> None:
        """The method request, up to sending the integration request."""
        app, request = self.app, self.request
        route, rid = request.route, request.request_id
        self.elapse(0.2, 1.5)
        stage = f"{app.rest_api_id}/{app.rest_stage}"
        self.log(f"Verifying Usage Plan for request: {rid}. API Key:  API Stage: {stage}")
        self.log(
            f"API Key  authorized because method '{route.key}' does not require API Key. "
            "Request will not contribute to throttle or quota limits"
        )
        self.log(f"Usage Plan check succeeded for API Key  and API Stage {stage}")
        self.elapse(0.1, 1.0)
        self.log(f"Starting execution for request: {rid}")
        self.log(f"HTTP Method: {route.method}, Resource Path: {request.path}")
        body = '{"item":"sieve-kit","quantity":2}' if route.method == "POST" else ""
        if app.data_trace:
            n = request.params.n
            query = ", ".join(f"{k}={v}" for k, v in request.params.query.items())
            self.log(f"Method request path: {{n={n}}}" if n else "Method request path: {}")
            self.log(f"Method request query string: {{{query}}}")
            self.log(f"Method request headers: {request.method_request_headers()}")
            self.log(f"Method request body before transformations: {body}")
        # The URI as API Gateway logs it: stage variables substituted, alias kept.
        url = request.lambda_url(request.function.invoked_arn)
        self.log(f"Endpoint request URI: {url}")
        if app.data_trace:
            headers = request.endpoint_request_headers(int(self.t), self.gen.ids)
            self.log(f"Endpoint request headers: {headers}")
            event = truncate(request.proxy_event(body))
            self.log(f"Endpoint request body after transformations: {event}")
        self.elapse(0.2, 1.0)
        self.log(f"Sending request to {url}")

    def _lambda_refused(self) -> tuple[int, str]:
        """Lambda answered 429: its request ID appears in no Lambda log."""
        sent = self.t
        refused = self.lambda_request_id = self.gen.ids.uuid()
        self.elapse(3, 12)
        latency = int(self.t - sent)
        body = json_line(
            {
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
            }
        )
        self.log(f"Received response. Status: 429, Integration latency: {latency} ms")
        if self.app.data_trace:
            headers = refused_response_headers(int(self.t), refused, body)
            self.log(f"Endpoint response headers: {headers}")
            self.log(f"Endpoint response body before transformations: {body}")
        self.log(f"Lambda invocation failed with status: 429. Lambda request id: {refused}")
        self.log("Execution failed due to configuration error: Rate Exceeded.")
        self.log("Method completed with status: 500")
        self.log(f"AWS Integration Endpoint RequestId : {refused}")
        self.access.values.update(integrationLatency=latency, integrationStatus=429)
        self.access.values["integration.requestId"] = refused
        self.access.values["error.message"] = "Internal server error"
        return 500, _INTERNAL_ERROR

    def _invoke(self) -> tuple[int, str]:
        """The integration's invocation and API Gateway's response."""
        app, request, fn = self.app, self.request, self.request.function
        sent = self.t
        run = self.gen.code.run(request.route, self.scenario, request.params)
        call = segment_id(request.trace.trace_id, "apigw:integration")
        invocation = self.gen.lambdas.invoke(
            fn, int(sent + self.rng.uniform(1, 6)), run, request.trace, self.records, call
        )
        self.lambda_request_id = invocation.request_id
        self.cold = invocation.cold
        access = self.access.values
        if self.scenario is Scenario.INTEGRATION_TIMEOUT:
            # API Gateway never heard back, so it never learnt the Lambda request ID; the
            # function runs on and logs after the client got its 504.
            waits = app.integration_timeout_ms(request.route.key)
            self.t = sent + waits + self.rng.uniform(0, 6)
            self.xray.lambda_call(
                call, fn, app.region, (sent, self.t), invocation.segments, timed_out=True
            )
            self.log("Execution failed due to a timeout error")
            self.log("Method completed with status: 504")
            access["integrationLatency"] = int(self.t - sent)
            access["error.message"] = "Endpoint request timed out"
            return 504, '{"message": "Endpoint request timed out"}'

        self.t = invocation.end_ms + self.rng.uniform(1.5, 7)
        self.xray.lambda_call(call, fn, app.region, (sent, self.t), invocation.segments)
        latency = int(self.t - sent)
        self.log(f"Received response. Status: 200, Integration latency: {latency} ms")
        if app.data_trace:
            headers = request.endpoint_response_headers(int(self.t), invocation)
            self.log(f"Endpoint response headers: {headers}")
            response = truncate(invocation.response)
            self.log(f"Endpoint response body before transformations: {response}")
        access["integrationLatency"] = latency
        access["integrationStatus"] = 200
        access["integration.requestId"] = invocation.request_id
        if invocation.failure:
            self.log(
                "Lambda execution failed with status 200 due to customer function error: "
                f"{invocation.error_message}. Lambda request id: {invocation.request_id}"
            )
            status, body = 502, _INTERNAL_ERROR
        elif self.scenario is Scenario.MALFORMED_RESPONSE:
            self.log("Execution failed due to configuration error: Malformed Lambda proxy response")
            status, body = 502, _INTERNAL_ERROR
        else:
            proxy = json.loads(invocation.response)
            status, body = int(proxy["statusCode"]), proxy["body"]
            if app.data_trace:
                self.log(f"Method response body after transformations: {truncate(body)}")
                trace = request.trace
                self.log(
                    "Method response headers: {Content-Type=application/json, X-Amzn-Trace-Id="
                    f"Root={trace.trace_id};Sampled={int(trace.sampled)}}}"
                )
            self.log("Successfully completed execution")
        if status >= 500:
            access["error.message"] = "Internal server error"
        self.log(f"Method completed with status: {status}")
        self.log(f"AWS Integration Endpoint RequestId : {invocation.request_id}")
        return status, body

    def _finish(self, status: int, body: str, error: str | None = None) -> SimulatedRequest:
        """API Gateway answers: the access log line, and the request with all it wrote."""
        end = int(self.t) + self.rng.randint(0, 2)
        records = self.access.answer(self.records, status, body, end, error)
        request = self.request
        return SimulatedRequest(
            api_id=self.app.rest_api_id,
            route=request.route.key,
            outcome=self.scenario,
            status=status,
            request_id=request.request_id,
            start_ms=request.start,
            end_ms=end,
            records=records,
            extended_request_id=request.extended_id,
            trace_id=request.trace.trace_id,
            lambda_request_id=self.lambda_request_id,
            authorizer_request_id=self.authorizer_request_id,
            cold_start=self.cold,
            sampled=request.trace.sampled,
            segments=self.xray.documents(request, status, end),
        )
