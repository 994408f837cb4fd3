"""API Gateway's side: an authorizer named only by the access log, a 504 while the Lambda runs
on, an out-of-memory crash."""

from __future__ import annotations

from tests.corpus import AUTHORIZER, Case, Line, RestCall, lambda_lines

# A TOKEN authorizer: API Gateway's execution log never names the authorizer's Lambda request
# ID; only the access log's `$context.authorizer.requestId` does. Lambda's lines in the Python
# runtime's shapes (python-logging, https://docs.aws.amazon.com/lambda/latest/dg/
# python-logging.html); execution lines as `RestCall` cites.
_AUTH = "8c11e0b4-5d2a-4f3b-9c8d-7e6f5a4b3c2d"
_OK = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
_CALL = RestCall(
    "f8091a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b", "python", _OK, path="/primes", authorizer_id=_AUTH
)
_AUTH_LINES = lambda_lines(
    AUTHORIZER,
    _CALL.request_id,
    [
        (f"START RequestId: {_AUTH} Version: $LATEST\n", _AUTH, "lambda.start"),
        (
            f"[INFO]\t2024-03-05T10:00:00.012Z\t{_AUTH}\tauthorizing abcd for "
            "arn:aws:execute-api:us-east-1:123456789012:c0rpus0api/prod/GET/primes\n",
            _AUTH,
            "lambda.log",
        ),
        (f"END RequestId: {_AUTH}\n", _AUTH, "lambda.end"),
        (
            f"REPORT RequestId: {_AUTH}\tDuration: 1.85 ms\tBilled Duration: 2 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 39 MB\t\n",
            _AUTH,
            "lambda.report",
        ),
    ],
)
AUTHORIZER_IN_ACCESS_LOG = Case(
    "authorizer_named_only_by_access_log",
    "access log variable $context.authorizer.requestId, https://docs.aws.amazon.com/apigateway/"
    "latest/developerguide/api-gateway-variables-for-access-logging.html",
    (
        *_CALL.method_request(),
        *_CALL.authorizer_request(),
        *_AUTH_LINES,
        *_CALL.authorizer_response(),
        *_CALL.integration_request(),
        *lambda_lines(
            "python",
            _CALL.request_id,
            [
                (f"START RequestId: {_OK} Version: $LATEST\n", _OK, "lambda.start"),
                (f"END RequestId: {_OK}\n", _OK, "lambda.end"),
                (
                    f"REPORT RequestId: {_OK}\tDuration: 3.10 ms\tBilled Duration: 4 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
                    _OK,
                    "lambda.report",
                ),
            ],
        ),
        *_CALL.integration_response(),
        _CALL.access(),
    ),
)

# API Gateway gave up (504) while the function ran on to its own timeout: the REPORT of a
# timed-out run with no `Task timed out` line, as pasted from Logs Insights in
# https://github.com/DataBiosphere/azul/issues/8140. No line names the invocation to API
# Gateway: only the timing joins them, so the label is probable.
_RAN_ON = "4725a167-21a7-5731-99c2-c3d0e3dfd770"
_GAVE_UP = RestCall("0192a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", "python", None, status=504)
INTEGRATION_TIMEOUT = Case(
    "apigw_504_while_lambda_runs_on",
    "https://github.com/DataBiosphere/azul/issues/8140",
    (
        *_GAVE_UP.method_request(),
        *_GAVE_UP.integration_request(),
        Line(
            "python",
            f"START RequestId: {_RAN_ON} Version: $LATEST\n",
            _GAVE_UP.request_id,
            _RAN_ON,
            "lambda.start",
            probable=True,
        ),
        *_GAVE_UP.integration_response(),
        _GAVE_UP.access(),
        Line(
            "python",
            f"END RequestId: {_RAN_ON}\n",
            _GAVE_UP.request_id,
            _RAN_ON,
            "lambda.end",
            probable=True,
        ),
        Line(
            "python",
            f"REPORT RequestId: {_RAN_ON}\tDuration: 180000.00 ms\tBilled Duration: 180000 ms\t"
            "Memory Size: 1280 MB\tMax Memory Used: 1201 MB\tStatus: timeout\n",
            _GAVE_UP.request_id,
            _RAN_ON,
            "lambda.report",
            probable=True,
        ),
    ),
)

# Out of memory: the error Lambda returns, as pasted in
# https://github.com/adobe/helix-html2md-service/issues/1001, quoted by API Gateway; the REPORT
# fields of a crash (Status: error, Error Type) as the Lambda guide documents them
# (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html).
_OOM = "f9da3291-6576-41fd-b426-87c48499d8d8"
_OOM_CALL = RestCall(
    "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "node",
    _OOM,
    status=502,
    failure=(
        "Lambda execution failed with status 200 due to customer function error: RequestId: "
        f"{_OOM} Error: Runtime exited with error: signal: killed. Lambda request id: {_OOM}"
    ),
)
OUT_OF_MEMORY = Case(
    "out_of_memory",
    "https://github.com/adobe/helix-html2md-service/issues/1001",
    _OOM_CALL.around(
        lambda_lines(
            "node",
            _OOM_CALL.request_id,
            [
                (f"START RequestId: {_OOM} Version: $LATEST\n", _OOM, "lambda.start"),
                (
                    f"RequestId: {_OOM} Error: Runtime exited with error: signal: killed\n",
                    _OOM,
                    "lambda.runtime_exit",
                ),
                (f"END RequestId: {_OOM}\n", _OOM, "lambda.end"),
                (
                    f"REPORT RequestId: {_OOM}\tDuration: 5310.21 ms\tBilled Duration: 5311 ms\t"
                    "Memory Size: 1024 MB\tMax Memory Used: 1024 MB\tStatus: error\t"
                    "Error Type: Runtime.OutOfMemory\t\n",
                    _OOM,
                    "lambda.report",
                ),
            ],
        )
    ),
)

CASES = (AUTHORIZER_IN_ACCESS_LOG, INTEGRATION_TIMEOUT, OUT_OF_MEMORY)
