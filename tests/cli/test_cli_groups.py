"""`apilogs groups` and the errors every command shares, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.builders import lambda_uri, make_function, make_log_group, make_rest_api


def run_cli(*args: str, endpoint: str | None = None) -> tuple[int, str, str]:
    extra = ["--endpoint-url", endpoint] if endpoint else []
    result = CliRunner().invoke(cli, [*args, *extra])
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a fresh interpreter, as a user's shell would run it."""
    return subprocess.run(
        [sys.executable, "-m", "apilogs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_groups_table_shows_every_source_and_fixes(client, endpoint) -> None:
    arn = make_function(client, "primes")
    api_id = make_rest_api(
        client,
        name="Eratosthenes",
        routes={"GET /primes": lambda_uri(arn)},
        access_group="/access/era",
        logging_level=None,
    )
    make_log_group(client, "/aws/lambda/primes", retention=7)

    code, out, err = run_cli("groups", "--api-id", api_id, "--stage", "prod", endpoint=endpoint)

    assert code == 0, err
    assert "Eratosthenes" in out and "REST" in out
    assert "/aws/lambda/primes" in out and "GET /primes" in out and "7 d" in out
    assert f"API-Gateway-Execution-Logs_{api_id}/prod" in out
    assert "execution logging is OFF" in out
    assert "fix: aws apigateway update-stage" in out
    assert "\x1b[" not in out  # not a terminal: no colour


def test_groups_json_is_one_document(client, endpoint) -> None:
    arn = make_function(client, "primes")
    api_id = make_rest_api(client, routes={"GET /primes": lambda_uri(arn)})
    make_log_group(client, "/aws/lambda/primes")

    code, out, _ = run_cli("groups", "-a", api_id, "-t", "prod", "-o", "json", endpoint=endpoint)

    doc = json.loads(out)
    assert code == 0
    assert doc["api_id"] == api_id and doc["kind"] == "REST"
    assert {s["role"] for s in doc["sources"]} == {"execution", "lambda"}
    lam = next(s for s in doc["sources"] if s["role"] == "lambda")
    assert lam["function"] == "primes" and lam["exists"] is True


def test_groups_exits_1_when_no_group_exists(client, endpoint) -> None:
    api_id = make_rest_api(client)
    code, out, _ = run_cli("groups", "-a", api_id, "-t", "prod", endpoint=endpoint)
    assert code == 1
    assert "does not exist" in out


def test_unknown_api_is_one_line_error(endpoint) -> None:
    code, out, err = run_cli("groups", "-a", "nope123", "-t", "prod", endpoint=endpoint)
    assert code == 1  # nothing found
    assert out == ""
    assert err.strip().count("\n") == 0
    assert "no API with ID or name 'nope123'" in err
    assert "Traceback" not in err


def test_unknown_stage_lists_stages(client, endpoint) -> None:
    api_id = make_rest_api(client)
    code, _, err = run_cli("groups", "-a", api_id, "-t", "qa", endpoint=endpoint)
    assert code == 1  # nothing found
    assert f"stage 'qa' not found on API {api_id}; its stages: prod" in err


def test_rest_api_needs_a_stage(client, endpoint) -> None:
    api_id = make_rest_api(client)
    code, _, err = run_cli("groups", "-a", api_id, endpoint=endpoint)
    assert code == 2
    assert "--stage is required; stages of" in err


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    # No instance metadata lookups: they would wait for a timeout on a machine without one.
    env.update(AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def test_no_credentials(endpoint) -> None:
    result = run_process(
        "groups",
        "-a",
        "x",
        "-t",
        "prod",
        "--endpoint-url",
        endpoint,
        env=_clean_env(AWS_REGION="us-east-1"),
    )
    assert result.returncode == 3  # AWS would not let us in
    assert "no AWS credentials found" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_region(endpoint) -> None:
    result = run_process(
        "groups",
        "-a",
        "x",
        "-t",
        "prod",
        "--endpoint-url",
        endpoint,
        env=_clean_env(AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b"),
    )
    assert result.returncode == 2
    assert "no AWS region" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_profile() -> None:
    result = run_process("groups", "-a", "x", "-t", "p", "--profile", "ghost", env=_clean_env())
    assert result.returncode == 2  # usage: a bad --profile
    assert "AWS profile 'ghost' not found" in result.stderr


def test_unreachable_endpoint_is_one_line() -> None:
    result = run_process(
        "groups",
        "-a",
        "x",
        "-t",
        "p",
        "--endpoint-url",
        "http://127.0.0.1:9",
        env=_clean_env(
            AWS_ACCESS_KEY_ID="a",
            AWS_SECRET_ACCESS_KEY="b",
            AWS_REGION="us-east-1",
            AWS_MAX_ATTEMPTS="1",
        ),
    )
    assert result.returncode == 3
    assert "cannot reach the AWS endpoint" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_and_help() -> None:
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("apilogs, version")
    code, out, _ = run_cli("groups", "--help")
    assert code == 0 and "Examples:" in out and "--endpoint-url" in out


def test_bare_command_prints_help() -> None:
    result = run_process(env=_clean_env())
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: apilogs") and "Commands:" in result.stdout
    assert result.stderr == ""
