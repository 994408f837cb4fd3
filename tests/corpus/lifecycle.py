"""An environment's own lines: init output, SnapStart's restore, extensions."""

from __future__ import annotations

from tests.corpus import Case, RestCall, lambda_lines

# SnapStart (Java): RESTORE_START / RESTORE_REPORT before the first START of a restored
# environment, and the REPORT's restore fields; `sam logs --tail` output pasted in
# docwho2/java-connect-lex-chatgpt README.md (the stream and time columns are sam's, not the
# messages').
_SNAP = "8c360c87-d4b7-4423-b5f3-af02be3c1763"
_SNAP_CALL = RestCall("92a3b4c5-d6e7-4f80-91a2-b3c4d5e6f708", "java", _SNAP)
SNAPSTART = Case(
    "java_snapstart_restore",
    "docwho2/java-connect-lex-chatgpt README.md (sam logs --tail example)",
    _SNAP_CALL.around(
        lambda_lines(
            "java",
            _SNAP_CALL.request_id,
            [
                (
                    "RESTORE_START Runtime Version: java:11.v20\tRuntime Version ARN: "
                    "arn:aws:lambda:us-east-1::runtime:b8b295733fb8ae6769e0fb039181ce76e1f54a4d04"
                    "bb5ca7ded937bb0d839109\n",
                    None,
                    "lambda.init",
                ),
                ("RESTORE_REPORT Restore Duration: 398.97 ms\n", None, "lambda.init"),
                (f"START RequestId: {_SNAP} Version: 72\n", _SNAP, "lambda.start"),
                (
                    f"{_SNAP} DEBUG ChatGPTLambda:56 - Intent: FallbackIntent\n",
                    _SNAP,
                    "lambda.log",
                ),
                (f"{_SNAP} DEBUG ChatGPTLambda:71 - Java Locale is en_US\n", _SNAP, "lambda.log"),
                (f"END RequestId: {_SNAP}\n", _SNAP, "lambda.end"),
                (
                    f"REPORT RequestId: {_SNAP}\tDuration: 2338.66 ms\tBilled Duration: 2521 ms\t"
                    "Memory Size: 3009 MB\tMax Memory Used: 173 MB\tRestore Duration: 398.97 ms\t"
                    "Billed Restore Duration: 182 ms\t\n",
                    _SNAP,
                    "lambda.report",
                ),
            ],
        )
    ),
)

# An extension's init lines before the first START (no INIT_START: logs of 2021, before Lambda
# wrote it), then its line during an invocation; aws-samples/aws-lambda-extensions
# cache-extension-demo/README.md. The function's own line is written as the Node.js runtime
# writes it (the README shows it trimmed).
_EXT = "d94434eb-705d-4c22-8600-c7f53a0c2204"
_EXT_CALL = RestCall("a3b4c5d6-e7f8-4091-a2b3-c4d5e6f70819", "node", _EXT)
EXTENSION_INIT = Case(
    "extension_init_lines_without_init_start",
    "aws-samples/aws-lambda-extensions cache-extension-demo/README.md",
    _EXT_CALL.around(
        lambda_lines(
            "node",
            _EXT_CALL.request_id,
            [
                (
                    '[cache-extension-demo]  Register response: {\n        "functionName": '
                    '"my-function",\n        "functionVersion": "$LATEST",\n        "handler": '
                    '"function.handler"\n}\n',
                    None,
                    "lambda.print",
                ),
                ("[cache-extension-demo]  Cache successfully loaded\n", None, "lambda.print"),
                ("[cache-extension-demo]  Waiting for event...\n", None, "lambda.print"),
                ("[cache-extension-demo]  Starting Httpserver on port 4000\n", None, None),
                (
                    "EXTENSION\tName: cache-extension-demo\tState: Ready\tEvents: "
                    "[INVOKE,SHUTDOWN]\n",
                    None,
                    "lambda.init",
                ),
                (f"START RequestId: {_EXT} Version: $LATEST\n", _EXT, "lambda.start"),
                ("[cache-extension-demo] Waiting for event...\n", None, "lambda.print"),
                (
                    f"2021-10-12T10:15:30.123Z\t{_EXT}\tINFO\tFinally got some response here: "
                    '"{\\"Data\\":\\"Data goes here\\",\\"pKey\\":\\"pKey1\\",\\"sKey\\":'
                    '\\"sKey1\\"}"\n',
                    _EXT,
                    "lambda.log",
                ),
                (f"END RequestId: {_EXT}\n", _EXT, "lambda.end"),
                (
                    f"REPORT RequestId: {_EXT}\tDuration: 17.09 ms\tBilled Duration: 18 ms\t"
                    "Memory Size: 1472 MB\tMax Memory Used: 89 MB\tInit Duration: 289.40 ms\t\n",
                    _EXT,
                    "lambda.report",
                ),
            ],
        )
    ),
)

# The same extension line during a warm invocation: it belongs to the invocation open in its
# stream, like any line without a request ID.
_WARM = "b4c5d6e7-f809-41a2-b3c4-d5e6f708192a"
_WARM_CALL = RestCall("c5d6e7f8-0912-4a3b-8c4d-5e6f708192a3", "node", _WARM)
EXTENSION_INVOKE = Case(
    "extension_line_during_invocation",
    "aws-samples/aws-lambda-extensions cache-extension-demo/README.md",
    _WARM_CALL.around(
        lambda_lines(
            "node",
            _WARM_CALL.request_id,
            [
                (f"START RequestId: {_WARM} Version: $LATEST\n", _WARM, "lambda.start"),
                ("[cache-extension-demo] Waiting for event...\n", None, "lambda.print"),
                (f"END RequestId: {_WARM}\n", _WARM, "lambda.end"),
                (
                    f"REPORT RequestId: {_WARM}\tDuration: 3.21 ms\tBilled Duration: 4 ms\t"
                    "Memory Size: 1472 MB\tMax Memory Used: 89 MB\t\n",
                    _WARM,
                    "lambda.report",
                ),
            ],
        )
    ),
)

# An extension announced after INIT_START (Lambda writes INIT_START since 2023): the init
# lines belong to the invocation that follows. EXTENSION line from the CloudWatch output
# pasted in https://github.com/elastic/apm-aws-lambda/issues/196 (its table copy lost the
# tabs); INIT_START in the shape the Lambda guide documents (runtimes-update.html).
_APM = "d6e7f809-1a2b-4c3d-9e4f-5a6b7c8d9e0f"
_APM_CALL = RestCall("e7f8091a-2b3c-4d4e-8f5a-6b7c8d9e0f1a", "node", _APM)
EXTENSION_AFTER_INIT_START = Case(
    "extension_after_init_start",
    "https://github.com/elastic/apm-aws-lambda/issues/196; "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html (INIT_START)",
    _APM_CALL.around(
        lambda_lines(
            "node",
            _APM_CALL.request_id,
            [
                (
                    "INIT_START Runtime Version: nodejs:16.v14\tRuntime Version ARN: "
                    "arn:aws:lambda:eu-west-1::runtime:"
                    "d0cbd4ba5c6da2a9a0d9eb8a1f0a0ab4bfbb0e6b8f0d1c8b6f6b4d6a8e1c9f0a\n",
                    None,
                    "lambda.init",
                ),
                (
                    "EXTENSION\tName: apm-lambda-extension\tState: Ready\tEvents: "
                    "[SHUTDOWN,INVOKE]\n",
                    None,
                    "lambda.init",
                ),
                (f"START RequestId: {_APM} Version: $LATEST\n", _APM, "lambda.start"),
                (f"END RequestId: {_APM}\n", _APM, "lambda.end"),
                (
                    f"REPORT RequestId: {_APM}\tDuration: 8.02 ms\tBilled Duration: 9 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 77 MB\tInit Duration: 412.80 ms\t\n",
                    _APM,
                    "lambda.report",
                ),
            ],
        )
    ),
)

CASES = (SNAPSTART, EXTENSION_INIT, EXTENSION_INVOKE, EXTENSION_AFTER_INIT_START)
