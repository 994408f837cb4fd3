"""One HTTP API request: the function's lines and one access log line (HTTP APIs have no
execution log, and no X-Ray)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from apilogs.demo.apigateway import AccessLog, Client
from apilogs.demo.formats import clf_time
from apilogs.demo.sample import SampleFunction
from apilogs.demo.scenario import LogRecord, Route, Scenario, SimulatedRequest

if TYPE_CHECKING:  # the generator calls this module
    from apilogs.demo.traffic import TrafficGenerator


def http_call(
    gen: TrafficGenerator, start: int, route: Route, scenario: Scenario, client: Client
) -> SimulatedRequest:
    app, rng = gen.app, gen.rng
    request_id = gen.ids.short()  # HTTP APIs use the short form as their request ID
    records: list[LogRecord] = []
    access = AccessLog(
        app.http_access_log_group,
        app.http_access_log_format,
        gen.http_access_streams,
        start,
        {
            "requestId": request_id,
            "identity.sourceIp": client.ip,
            "requestTime": clf_time(start),
            "httpMethod": route.method,
            "path": route.path,
            "routeKey": route.key,
            "protocol": "HTTP/1.1",
        },
    )
    lambda_request_id: str | None = None
    cold = False
    if scenario is Scenario.STAGE_THROTTLED:
        end = start + rng.randint(0, 2)
        status, body = 429, '{"message":"Too Many Requests"}'
        access.values["routeKey"] = None
    elif scenario is Scenario.LAMBDA_THROTTLED:
        lambda_request_id = gen.ids.uuid()
        latency = rng.randint(3, 12)
        end = start + latency + rng.randint(1, 3)
        status, body = 500, '{"message":"Internal Server Error"}'
        access.values["integrationLatency"] = latency
        access.values["integration.requestId"] = lambda_request_id
    else:
        sent = start + rng.uniform(1, 4)
        params = gen.code.params(route, scenario, client.ip, request_id)
        run = gen.code.run(route, scenario, params)
        fn: SampleFunction = getattr(app, route.function)
        invocation = gen.lambdas.invoke(fn, int(sent + rng.uniform(1, 5)), run, None, records)
        lambda_request_id = invocation.request_id
        cold = invocation.cold
        received = invocation.end_ms + rng.uniform(1, 5)
        end = int(received) + rng.randint(0, 2)
        access.values["integrationLatency"] = int(received - sent)
        access.values["integration.requestId"] = lambda_request_id
        if invocation.failure:
            status, body = 500, '{"message":"Internal Server Error"}'
        else:
            status, body = 200, json.loads(invocation.response)["body"]
    return SimulatedRequest(
        api_id=app.http_api_id,
        route=route.key,
        outcome=scenario,
        status=status,
        request_id=request_id,
        start_ms=start,
        end_ms=end,
        records=access.answer(records, status, body, end),
        lambda_request_id=lambda_request_id,
        cold_start=cold,
    )
