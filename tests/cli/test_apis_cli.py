"""`apilogs apis` as a user runs it on moto's server: every API and stage, worst first, the
counts `requests` finds for each; JSON lines; the next command to run is said."""

from __future__ import annotations

import json

from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.faultproxy import fault_proxy
from tests.unit.core.test_survey import _api_with_traffic


def test_apis_lists_every_stage_worst_first_with_the_counts_requests_finds(
    endpoint: str, client
) -> None:
    calm = _api_with_traffic(client, "calm", [200] * 4)
    burning = _api_with_traffic(client, "burning", [200, 502, 503])
    argv = ["apis", "-s", "10m", "--endpoint-url", endpoint, "--max-rps", "0"]
    result = CliRunner().invoke(cli, [*argv, "-o", "json"])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    ours = [r for r in rows if r["api_id"] in (calm, burning)]
    assert [(r["api_id"], r["requests"], r["status_5xx"]) for r in ours] == [
        (burning, 3, 2),
        (calm, 4, 0),
    ]
    plain = CliRunner().invoke(cli, argv, env={"COLUMNS": "80"})
    assert plain.exit_code == 0, plain.stderr
    header, *lines = plain.stdout.splitlines()
    assert header.split()[:2] == ["API", "STAGE"]
    assert any(line.startswith(burning) for line in lines)
    assert f"next: apilogs requests -a {burning} -t prod -s 10m --errors" in plain.stderr


def test_apis_with_no_api_at_all_says_so_and_exits_1(endpoint: str) -> None:
    result = CliRunner().invoke(
        cli, ["apis", "--endpoint-url", endpoint, "--region", "ap-south-2", "--max-rps", "0"]
    )
    assert result.exit_code == 1
    assert "no APIs" in result.stderr


def test_apis_with_rest_apis_denied_lists_the_others_and_says_why(endpoint: str, client) -> None:
    """A role that may not list REST APIs: the HTTP APIs are still listed, and the refusal is a
    warning naming the permission, not the end of the survey."""
    v2 = client("apigatewayv2")
    http = v2.create_api(Name="still-listed", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=http, StageName="$default")
    with fault_proxy(endpoint) as proxy:
        proxy.deny = {"apigateway:GetRestApis"}
        result = CliRunner().invoke(
            cli, ["apis", "-s", "10m", "--endpoint-url", proxy.url, "--max-rps", "0", "-o", "json"]
        )
    assert result.exit_code == 0, result.stderr
    assert http in {json.loads(line)["api_id"] for line in result.stdout.splitlines()}
    assert "REST APIs could not be listed (access denied" in result.stderr
