"""What each outcome means for the person on call, and where to look next."""

from __future__ import annotations

from apilogs.model import Outcome

EXPLANATIONS: dict[Outcome, str] = {
    Outcome.OK: "",
    Outcome.CLIENT_ERROR: (
        "The request was refused as sent (bad input, no such resource): the caller's side, "
        "unless the function answers 4xx by mistake."
    ),
    Outcome.AUTH_DENIED: (
        "The authorizer refused the caller (a Deny policy, or `Unauthorized`): the integration "
        "never ran. Its lines say which token or rule."
    ),
    Outcome.LAMBDA_TIMEOUT: (
        "The function ran past its configured timeout and was stopped; API Gateway answered 502. "
        "Its last lines show what it was waiting for: fix that call, or raise the timeout."
    ),
    Outcome.APIGW_TIMEOUT: (
        "API Gateway stopped waiting for the integration (its timeout: 29 s unless the route "
        "sets a shorter one) and answered 504; the function may have run on (and been billed) "
        "after that. The waterfall shows how long it waited."
    ),
    Outcome.OUT_OF_MEMORY: (
        "The function used all its memory and the runtime was killed; API Gateway answered 502. "
        "Raise its memory size, or hold less at once."
    ),
    Outcome.UNHANDLED_EXCEPTION: (
        "The function raised an exception it did not handle; API Gateway answered 502 (500 on "
        "HTTP APIs). The traceback is among its lines below."
    ),
    Outcome.MALFORMED_RESPONSE: (
        "The function returned, but not a proxy response ({statusCode, headers, body} with a "
        "string body); API Gateway answered 502."
    ),
    Outcome.BAD_PERMISSIONS: (
        "API Gateway may not invoke the function (its resource policy or the integration's "
        "role): the function never ran."
    ),
    Outcome.THROTTLED: (
        "Refused for rate: the stage's throttle (429), or Lambda's concurrency limit (500)."
    ),
    Outcome.INTEGRATION_ERROR: "The integration itself answered 5xx.",
    Outcome.SERVER_ERROR: "API Gateway answered 5xx; its lines give no more specific cause.",
    Outcome.UNKNOWN: (
        "Not enough lines to tell: execution logging may be off or at ERROR, there may be no "
        "access log, or the window cut the request. `apilogs groups` says what is missing."
    ),
}


def explain(outcome: Outcome) -> str:
    return EXPLANATIONS.get(outcome, "")
