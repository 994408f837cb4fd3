"""Lambda's Text log format, one runtime at a time: the lines as the runtime and Lambda wrote them,
inside the REST request that invoked them."""

from __future__ import annotations

from tests.corpus import Case, RestCall, lambda_lines

START, END, REPORT = "lambda.start", "lambda.end", "lambda.report"
LOG, PRINT, TIMEOUT = "lambda.log", "lambda.print", "lambda.timeout"

# Node.js: `aws logs get-log-events` output in the Lambda developer guide (nodejs-logging),
# https://github.com/awsdocs/aws-lambda-developer-guide/blob/main/doc_source/nodejs-logging.md
_NODE = "4ce9340a-b765-490f-ad8a-02ab3415e2bf"
_NODE_CALL = RestCall("0c1c44e1-1d54-42d8-ba45-cee2037fb46f", "node", _NODE)
NODE = Case(
    "nodejs_text",
    "awsdocs/aws-lambda-developer-guide doc_source/nodejs-logging.md (get-logs.sh output)",
    _NODE_CALL.around(
        lambda_lines(
            "node",
            _NODE_CALL.request_id,
            [
                (f"START RequestId: {_NODE} Version: $LATEST\n", _NODE, START),
                (
                    f"2019-06-05T19:30:03.173Z\t{_NODE}\tINFO\tENVIRONMENT VARIABLES\r{{\r  "
                    '"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",\r ...',
                    _NODE,
                    LOG,
                ),
                (
                    f'2019-06-05T19:30:03.173Z\t{_NODE}\tINFO\tEVENT\r{{\r  "key": "value"\r}}\n',
                    _NODE,
                    LOG,
                ),
                (f"END RequestId: {_NODE}\n", _NODE, END),
                (
                    f"REPORT RequestId: {_NODE}\tDuration: 26.73 ms\tBilled Duration: 100 ms \t"
                    "Memory Size: 128 MB\tMax Memory Used: 75 MB\t\n",
                    _NODE,
                    REPORT,
                ),
            ],
        )
    ),
)

# Node.js timeout, pasted from `up logs` in https://github.com/apex/up/issues/663 (REPORT first,
# then the runtime's timeout line, as Lambda wrote them then).
_UP = "fb63a8b6-599d-11e8-a437-911ac44bc0b4"
_UP_CALL = RestCall(
    "fb630c38-599d-11e8-b5cf-fd3f412939bc",
    "node",
    _UP,
    status=502,
    failure=(
        "Lambda execution failed with status 200 due to customer function error: "
        f"2018-05-17T06:46:28.161Z {_UP} Task timed out after 18.02 seconds. "
        f"Lambda request id: {_UP}"
    ),
)
NODE_TIMEOUT = Case(
    "nodejs_timeout",
    "https://github.com/apex/up/issues/663",
    _UP_CALL.around(
        lambda_lines(
            "node",
            _UP_CALL.request_id,
            [
                (f"START RequestId: {_UP} Version: $LATEST\n", _UP, START),
                (f"END RequestId: {_UP}\n", _UP, END),
                (
                    f"REPORT RequestId: {_UP}\tDuration: 18018.26 ms\tBilled Duration: 18000 ms "
                    "\tMemory Size: 512 MB\tMax Memory Used: 82 MB\t",
                    _UP,
                    REPORT,
                ),
                (
                    f"2018-05-17T06:46:28.161Z {_UP} Task timed out after 18.02 seconds",
                    _UP,
                    TIMEOUT,
                ),
            ],
        )
    ),
)

# Python: a timed-out invocation pasted from the CloudWatch console in
# https://github.com/aws-samples/kubernetes-configurations-apis-lambda/issues/4 (the console's
# copy lost the runtime's tabs; they are put back as the Python runtime writes them).
_PY = "c2c3b330-0e87-40ec-a490-884dc5f81a3f"
_PY_CALL = RestCall(
    "7a4f2a1e-3c1d-4e63-9b0e-0f6b3a1c2d44",
    "python",
    _PY,
    status=502,
    failure=(
        "Lambda execution failed with status 200 due to customer function error: "
        f"2022-10-04T16:23:04.624Z {_PY} Task timed out after 3.03 seconds. "
        f"Lambda request id: {_PY}"
    ),
)
PYTHON = Case(
    "python_text_timeout",
    "https://github.com/aws-samples/kubernetes-configurations-apis-lambda/issues/4",
    _PY_CALL.around(
        lambda_lines(
            "python",
            _PY_CALL.request_id,
            [
                (f"START RequestId: {_PY} Version: $LATEST\n", _PY, START),
                (f"[INFO]\t2022-10-04T16:23:01.594Z\t{_PY}\tCreate kube config file.\n", _PY, LOG),
                (f"END RequestId: {_PY}\n", _PY, END),
                (
                    f"REPORT RequestId: {_PY}\tDuration: 3031.25 ms\tBilled Duration: 4326 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 60 MB\tInit Duration: 1294.01 ms\t\n",
                    _PY,
                    REPORT,
                ),
                (
                    f"2022-10-04T16:23:04.624Z {_PY} Task timed out after 3.03 seconds\n",
                    _PY,
                    TIMEOUT,
                ),
            ],
        )
    ),
)

# Java: LambdaLogger output carries no request ID; the guide's example (java-logging),
# https://github.com/awsdocs/aws-lambda-developer-guide/blob/main/doc_source/java-logging.md
_JAVA = "6bc28136-a1b2-4365-b021-0ce6b2e64ab0"  # 6bc28136-xmpl-… in the guide
_JAVA_CALL = RestCall("4f0d5e1a-8b7c-4d2e-a3f1-9c8b7a6d5e4f", "java", _JAVA)
JAVA = Case(
    "java_text",
    "awsdocs/aws-lambda-developer-guide doc_source/java-logging.md (log format example)",
    _JAVA_CALL.around(
        lambda_lines(
            "java",
            _JAVA_CALL.request_id,
            [
                (f"START RequestId: {_JAVA} Version: $LATEST\n", _JAVA, START),
                (
                    'ENVIRONMENT VARIABLES: \n{\n    "_HANDLER": "example.Handler",\n    '
                    '"AWS_EXECUTION_ENV": "AWS_Lambda_java8",\n    '
                    '"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",\n    ...\n}\n',
                    None,
                    PRINT,
                ),
                (
                    'CONTEXT: \n{\n    "memoryLimit": 512,\n    "awsRequestId": "'
                    + _JAVA
                    + '",\n    "functionName": "java-console",\n    ...\n}\n',
                    None,
                    PRINT,
                ),
                (f"END RequestId: {_JAVA}\n", _JAVA, END),
                (
                    f"REPORT RequestId: {_JAVA}\tDuration: 198.50 ms\tBilled Duration: 200 ms\t"
                    "Memory Size: 512 MB\tMax Memory Used: 90 MB\tInit Duration: 524.75 ms\t\n",
                    _JAVA,
                    REPORT,
                ),
            ],
        )
    ),
)

# Java's JVM prints `Picked up JAVA_TOOL_OPTIONS: …` on start-up (JDK behaviour, pasted in
# https://github.com/fabric8io-images/run-java-sh/issues/117); on Lambda it is the first line of
# a new environment, with the options AWS's Java tuning guide sets. With no INIT_START in the
# window (logs from before INIT_START existed, or a window that starts between the two), it
# belongs to the init that the first START of the stream follows.
_JVM = "2d7e0a6b-93c4-4f5e-8a1b-7c6d5e4f3a2b"
_JVM_CALL = RestCall("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "java", _JVM)
JAVA_INIT = Case(
    "java_init_output_without_init_start",
    "https://github.com/fabric8io-images/run-java-sh/issues/117 (the JVM's start-up line)",
    _JVM_CALL.around(
        lambda_lines(
            "java",
            _JVM_CALL.request_id,
            [
                (
                    "Picked up JAVA_TOOL_OPTIONS: -XX:+TieredCompilation -XX:TieredStopAtLevel=1\n",
                    None,
                    PRINT,
                ),
                (f"START RequestId: {_JVM} Version: $LATEST\n", _JVM, START),
                (f"END RequestId: {_JVM}\n", _JVM, END),
                (
                    f"REPORT RequestId: {_JVM}\tDuration: 45.17 ms\tBilled Duration: 46 ms\t"
                    "Memory Size: 512 MB\tMax Memory Used: 101 MB\tInit Duration: 2519.29 ms\t\n",
                    _JVM,
                    REPORT,
                ),
            ],
        )
    ),
)

# Go: log.Printf lines carry a date, no request ID; the guide's example (golang-logging),
# https://docs.aws.amazon.com/lambda/latest/dg/golang-logging.html
_GO = "dbda340c-b2c3-4031-8810-11bb609b4c71"  # dbda340c-xmpl-… in the guide
_GO_CALL = RestCall("1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081", "go", _GO)
GO = Case(
    "go_text",
    "https://docs.aws.amazon.com/lambda/latest/dg/golang-logging.html (log format example)",
    _GO_CALL.around(
        lambda_lines(
            "go",
            _GO_CALL.request_id,
            [
                (f"START RequestId: {_GO} Version: $LATEST\n", _GO, START),
                (
                    '2020/03/27 03:40:05 EVENT: {\n  "Records": [\n    {\n      "messageId": '
                    '"19dd0b57-b21e-4ac1-bd88-01bbb068cb78",\n      "body": "Hello from SQS!"\n'
                    "    }\n  ]\n}\n",
                    None,
                    PRINT,
                ),
                (
                    "2020/03/27 03:40:05 AWS_LAMBDA_LOG_STREAM_NAME=2020/03/27/[$LATEST]"
                    "569cxmplc3c34c7489e6a97ad08b4419\n",
                    None,
                    PRINT,
                ),
                (f"END RequestId: {_GO}\n", _GO, END),
                (
                    f"REPORT RequestId: {_GO}\tDuration: 38.66 ms\tBilled Duration: 39 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 54 MB\tInit Duration: 203.69 ms\t\n",
                    _GO,
                    REPORT,
                ),
            ],
        )
    ),
)

# Ruby: `puts` output; the guide's example (ruby-logging),
# https://docs.aws.amazon.com/lambda/latest/dg/ruby-logging.html
_RUBY = "8f507cfc-c3d4-4697-b07a-ac58fc914c95"  # 8f507cfc-xmpl-… in the guide
_RUBY_CALL = RestCall("2c3d4e5f-6071-4829-8a3b-4c5d6e7f8091", "ruby", _RUBY)
RUBY = Case(
    "ruby_text",
    "https://docs.aws.amazon.com/lambda/latest/dg/ruby-logging.html (log format example)",
    _RUBY_CALL.around(
        lambda_lines(
            "ruby",
            _RUBY_CALL.request_id,
            [
                (f"START RequestId: {_RUBY} Version: $LATEST\n", _RUBY, START),
                ("## ENVIRONMENT VARIABLES\n", None, PRINT),
                (
                    "environ({'AWS_LAMBDA_LOG_GROUP_NAME': '/aws/lambda/my-function', "
                    "'AWS_LAMBDA_FUNCTION_NAME': 'my-function', ...})\n",
                    None,
                    PRINT,
                ),
                ("## EVENT\n", None, PRINT),
                ("{'key': 'value'}\n", None, PRINT),
                (f"END RequestId: {_RUBY}\n", _RUBY, END),
                (
                    f"REPORT RequestId: {_RUBY}\tDuration: 15.74 ms\tBilled Duration: 147 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t\n",
                    _RUBY,
                    REPORT,
                ),
            ],
        )
    ),
)

# Custom runtime (provided.al2) whose bootstrap is missing: the runtime's error line and its
# type, from https://github.com/honeycombio/agentless-integrations-for-aws/issues/218.
_CUSTOM = "08093629-5cdb-4caa-bf83-cfab152ad2bd"
_CUSTOM_CALL = RestCall(
    "3d4e5f60-7182-493a-8b4c-5d6e7f8091a2",
    "custom",
    _CUSTOM,
    status=502,
    failure=(
        "Lambda execution failed with status 200 due to customer function error: RequestId: "
        f"{_CUSTOM} Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap "
        f"/opt/bootstrap]. Lambda request id: {_CUSTOM}"
    ),
)
CUSTOM = Case(
    "custom_runtime_init_error",
    "https://github.com/honeycombio/agentless-integrations-for-aws/issues/218",
    _CUSTOM_CALL.around(
        lambda_lines(
            "custom",
            _CUSTOM_CALL.request_id,
            [
                (f"START RequestId: {_CUSTOM} Version: $LATEST\n", _CUSTOM, START),
                (
                    f"RequestId: {_CUSTOM} Error: Couldn't find valid bootstrap(s): "
                    "[/var/task/bootstrap /opt/bootstrap]\n",
                    _CUSTOM,
                    None,
                ),
                ("Runtime.InvalidEntrypoint\n", None, "lambda.error"),
                (f"END RequestId: {_CUSTOM}\n", _CUSTOM, END),
                (
                    f"REPORT RequestId: {_CUSTOM}\tDuration: 2.36 ms\tBilled Duration: 3 ms\t"
                    "Memory Size: 128 MB\tMax Memory Used: 3 MB\tStatus: error\t"
                    "Error Type: Runtime.InvalidEntrypoint\t\n",
                    _CUSTOM,
                    REPORT,
                ),
            ],
        )
    ),
)

# .NET: ILambdaLogger.LogLine on .NET 6 and later writes `{timestamp}\t{requestId}\t{level}\t
# {message}` (level in lower case); Console.WriteLine writes the message alone. Both lines as
# pasted in https://github.com/aws/aws-lambda-dotnet/issues/973.
_DOTNET = "8247f3ba-2335-4b12-bf19-e379605ba146"
_DOTNET_CALL = RestCall("b3c4d5e6-f708-4192-a3b4-c5d6e7f80912", "dotnet", _DOTNET)
DOTNET = Case(
    "dotnet_text",
    "https://github.com/aws/aws-lambda-dotnet/issues/973",
    _DOTNET_CALL.around(
        lambda_lines(
            "dotnet",
            _DOTNET_CALL.request_id,
            [
                (f"START RequestId: {_DOTNET} Version: $LATEST\n", _DOTNET, START),
                (f"2021-11-14T21:32:01.022Z\t{_DOTNET}\tinfo\thello world\n", _DOTNET, LOG),
                ("hello world\n", None, PRINT),
                (f"END RequestId: {_DOTNET}\n", _DOTNET, END),
                (
                    f"REPORT RequestId: {_DOTNET}\tDuration: 51.24 ms\tBilled Duration: 52 ms\t"
                    "Memory Size: 256 MB\tMax Memory Used: 68 MB\tInit Duration: 229.16 ms\t\n",
                    _DOTNET,
                    REPORT,
                ),
            ],
        )
    ),
)

CASES = (NODE, NODE_TIMEOUT, PYTHON, JAVA, JAVA_INIT, GO, RUBY, DOTNET, CUSTOM)
