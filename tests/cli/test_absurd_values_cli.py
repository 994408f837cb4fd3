"""A value no AWS service can write (a latency of 1e30 ms, a method that is an object) is left
out of requests and sums, and the user is told once; the line itself is printed as written."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.builders import make_log_group, make_rest_api

FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "responseLatency": "$context.responseLatency",
    }
)


def test_an_absurd_latency_is_left_out_of_the_sums_and_said(endpoint, client) -> None:
    api = make_rest_api(client, access_group="/acc", access_format=FORMAT)
    make_log_group(client, "/acc")
    logs = client("logs")
    logs.create_log_stream(logGroupName="/acc", logStreamName="s")
    now = int(time.time() * 1000) - 30_000
    lines = [
        {
            "requestId": f"{n:08d}-0000-4000-8000-000000000000",
            "httpMethod": "GET",
            "path": "/primes",
            "status": "200",
            "responseLatency": latency,
        }
        for n, latency in enumerate([20, 30, 40, 1e30])
    ]
    lines.append(
        {
            "requestId": "00000009-0000-4000-8000-000000000000",
            "httpMethod": {"o": 1},
            "path": ["list"],
            "status": "200",
            "responseLatency": 25,
        }
    )
    logs.put_log_events(
        logGroupName="/acc",
        logStreamName="s",
        logEvents=[
            {"timestamp": now + i, "message": json.dumps(line)} for i, line in enumerate(lines)
        ],
    )
    window = ["-a", api, "-t", "prod", "-s", "5m", "--max-rps", "0", "--endpoint-url", endpoint]
    stats = CliRunner().invoke(cli, ["stats", *window, "-o", "json"])
    assert stats.exit_code == 0, stats.stderr
    latency = json.loads(stats.stdout)["response_latency_ms"]
    assert latency["max"] == 40 and latency["count"] == 4
    said = [line for line in stats.stderr.splitlines() if "left out of requests and sums" in line]
    assert len(said) == 1 and "3 values AWS cannot write" in said[0], stats.stderr
    rows = CliRunner().invoke(cli, ["requests", *window, "-o", "json"])
    assert rows.exit_code == 0, rows.stderr
    by_id = {r["request_id"][:8]: r for r in map(json.loads, rows.stdout.splitlines())}
    assert by_id["00000009"]["method"] is None and by_id["00000009"]["path"] is None
    # `get` prints every line as it was written.
    got = CliRunner().invoke(cli, ["get", *window, "-o", "json", "--source", "access"])
    assert [json.loads(d["message"]) for d in map(json.loads, got.stdout.splitlines())] == lines
