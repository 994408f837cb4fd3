"""The habits people bring: named targets in a config file, APILOGS_* defaults, shell
completion from the account, aliases, and one exit-code table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.builders import (
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
    put_event,
)


@pytest.fixture
def shop(client) -> str:
    fn = make_function(client, "primes")
    api_id = make_rest_api(client, name="shop", routes={"GET /primes": lambda_uri(fn)})
    make_log_group(client, f"API-Gateway-Execution-Logs_{api_id}/prod")
    make_log_group(client, "/aws/lambda/primes")
    import time

    put_event(client, "/aws/lambda/primes", "s", int(time.time() * 1000) - 1000, "hello there")
    return api_id


def _config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"APILOGS_CONFIG": str(path)}


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    from apilogs.cli.options import _config as cached

    cached.cache_clear()
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_a_named_target_fills_api_stage_and_endpoint(endpoint, shop, tmp_path) -> None:
    env = _config(
        tmp_path,
        f'[api.shop]\napi_id = "{shop}"\nstage = "prod"\nendpoint_url = "{endpoint}"\n',
    )
    code, out, err = invoke(["get", "@shop", "--max-rps", "0", "-s", "1m"], env)
    assert code == 0, err
    assert "hello there" in out
    # Also as the value of --api-id, and for `show [@TARGET] ID`.
    code, out, err = invoke(["get", "-a", "@shop", "--max-rps", "0", "-s", "1m"], env)
    assert code == 0 and "hello there" in out, err
    code, _, err = invoke(["show", "@shop", "6605b081-6f04-11e6-97ac-c34deb0b3dd9"], env)
    assert code == 1 and "no request with ID" in err


def test_an_unknown_target_or_a_broken_file_is_one_clear_line(tmp_path) -> None:
    env = _config(tmp_path, '[api.shop]\napi_id = "abc"\n')
    code, _, err = invoke(["get", "@nope"], env)
    assert code == 2 and err.count("\n") == 1
    assert "no target @nope in" in err and "targets: @shop" in err
    # No config file at all: says where it would be.
    missing = {**env, "APILOGS_CONFIG": None, "XDG_CONFIG_HOME": str(tmp_path / "absent")}
    code, _, err = invoke(["get", "@nope"], missing)
    assert code == 2 and err.count("\n") == 1
    assert "no config file" in err and "absent/apilogs/config.toml" in err and "[api.nope]" in err
    env = _config(tmp_path, "[api.shop\napi_id = 1\n")
    code, _, err = invoke(["get", "@shop"], env)
    assert code == 2 and "config file" in err and err.count("\n") == 1
    env = _config(tmp_path, '[api.shop]\napi = "abc"\n')
    code, _, err = invoke(["get", "@shop"], env)
    assert code == 2 and "unknown key 'api'" in err


def test_environment_defaults_and_the_command_line_winning(endpoint, shop, tmp_path) -> None:
    env = {"APILOGS_API_ID": shop, "APILOGS_STAGE": "prod", "AWS_ENDPOINT_URL": endpoint}
    code, out, err = invoke(["get", "--max-rps", "0", "-s", "1m"], env)
    assert code == 0 and "hello there" in out, err
    code, _, err = invoke(["get", "-a", "nope123", "--max-rps", "0"], env)
    assert code == 1 and "no API with ID or name 'nope123'" in err


def test_defaults_table_sets_engine_and_rate(endpoint, shop, tmp_path) -> None:
    env = {
        **_config(tmp_path, f'[defaults]\nengine = "insights"\nendpoint_url = "{endpoint}"\n'),
        "APILOGS_API_ID": shop,
        "APILOGS_STAGE": "prod",
    }
    code, out, err = invoke(["get", "-s", "1m", "--max-rps", "0"], env)
    assert code == 0 and "hello there" in out, err
    assert "Logs Insights:" in err  # the engine came from [defaults]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "-a", ""], "'--api-id' / '-a': must not be empty"),
        (["get", "-a", "x", "stray"], "unexpected argument 'stray'"),
        (["get", "-a", "x", "--live"], "--live follows new events: it needs --watch"),
        (["requests", "-a", "x", "--status", "6xx"], "bad status '6xx'"),
        (["requests", "-a", "x", "--slow", "fast"], "unparsable duration 'fast'"),
    ],
)
def test_bad_values_are_usage_errors(args: list[str], message: str) -> None:
    code, out, err = invoke(args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1, err


def _complete(words: str, env: dict[str, str]) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = subprocess.run(
        [sys.executable, "-m", "apilogs"],
        env={
            **os.environ,
            **env,
            "_APILOGS_COMPLETE": "bash_complete",
            # A loaded test machine is slower than a prompt; the bound itself is not tested here.
            "APILOGS_COMPLETE_TIMEOUT": env.get("APILOGS_COMPLETE_TIMEOUT", "20"),
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]


def test_completion_of_commands_choices_and_the_accounts_apis(endpoint, shop, tmp_path) -> None:
    env = _config(tmp_path, f'[api.orders]\napi_id = "{shop}"\nstage = "prod"\n')
    assert {"get", "requests", "stats", "show", "groups", "completion"} <= set(
        _complete("apilogs ", env)
    )
    assert _complete("apilogs get --engine ", env) == ["filter", "insights", "auto"]
    apis = _complete(f"apilogs get --endpoint-url {endpoint} -a ", env)
    assert shop in apis and "shop" in apis and "@orders" in apis
    assert _complete(f"apilogs get --endpoint-url {endpoint} -a {shop} -t ", env) == ["prod"]
    assert _complete("apilogs get @", env) == ["@orders"]
    # An endpoint that does not answer completes nothing, quietly.
    assert _complete("apilogs get --endpoint-url http://127.0.0.1:9 -a ", {}) == []
    # A lookup that takes too long completes nothing rather than keep the prompt waiting.
    slow = {"APILOGS_COMPLETE_TIMEOUT": "0.001"}
    assert _complete(f"apilogs get --endpoint-url {endpoint} -a ", slow) == []


def test_completion_scripts_for_each_shell() -> None:
    for shell in ("bash", "zsh", "fish"):
        code, out, err = invoke(["completion", shell])
        assert code == 0 and "_APILOGS_COMPLETE" in out, err
    code, _, err = invoke(["completion", "tcsh"])
    assert code == 2


def test_source_takes_the_function_qualifier_form_groups_prints() -> None:
    from apilogs.errors import UnknownSource
    from apilogs.model import ApiKind, Role, Source, Topology
    from apilogs.stream import select_sources

    live = Source(Role.LAMBDA, "/aws/lambda/orders", "us-east-1", "orders", qualifier="live")
    beta = Source(Role.LAMBDA, "/aws/lambda/orders-beta", "us-east-1", "orders", qualifier="beta")
    auth = Source(Role.AUTHORIZER, "/aws/lambda/auth", "us-east-1", "auth")
    topology = Topology("abc", "shop", ApiKind.REST, "prod", "us-east-1", (live, beta, auth))
    assert select_sources(topology, ["orders:live"]).sources == (live,)
    assert select_sources(topology, ["orders"]).sources == (live, beta)
    assert select_sources(topology, ["authorizer", "orders:beta"]).sources == (beta, auth)
    with pytest.raises(UnknownSource) as caught:
        select_sources(topology, ["orders:gamma"])
    assert "orders:live" in caught.value.choices and "orders:beta" in caught.value.choices


def test_a_filter_pattern_that_matches_nothing_says_so(endpoint, shop) -> None:
    code, out, err = invoke(
        [
            "get",
            "-a",
            shop,
            "-t",
            "prod",
            "-s",
            "1m",
            "-f",
            '"nowhere-to-be-found"',
            "--endpoint-url",
            endpoint,
            "--max-rps",
            "0",
        ]
    )
    assert code == 1 and out == ""
    assert "the filter pattern '\"nowhere-to-be-found\"' matched no event in this window" in err
    code, _, err = invoke(
        [
            "stats",
            "-a",
            shop,
            "-t",
            "prod",
            "-s",
            "1m",
            "-f",
            '"nowhere-to-be-found"',
            "--endpoint-url",
            endpoint,
            "--max-rps",
            "0",
        ]
    )
    assert code == 1 and "matched no event" in err


def test_an_ambiguous_local_time_is_said(endpoint, shop) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "apilogs",
            "get",
            "-a",
            shop,
            "-t",
            "prod",
            "-s",
            "2026-11-01 01:30",
            "-e",
            "2026-11-01 01:40",
            "--max-rps",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "America/New_York", "AWS_ENDPOINT_URL": endpoint},
    )
    assert "--start: 2026-11-01 01:30 happens twice in" in result.stderr, result.stderr


def test_version_is_the_installed_one() -> None:
    from importlib.metadata import version

    import apilogs

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"apilogs, version {version('apilogs')}\n"
    assert apilogs.__version__ == version("apilogs")


def test_input_errors_are_said_before_any_call(tmp_path) -> None:
    # An endpoint nothing listens on: reaching it would be exit 3, so exit 2 with the input's
    # own error proves it was refused before discovery.
    nowhere = ["-a", "abc", "-t", "prod", "--endpoint-url", "http://127.0.0.1:9"]
    env = {"APILOGS_CONFIG": os.devnull, "APILOGS_CACHE": "off"}
    for argv, said in (
        (["show", "zz", *nowhere], "'zz' is not a request ID"),
        (["get", *nowhere, "-r", "not an id"], "'not an id' is not a request ID"),
        (["get", *nowhere, "--engine", "insights", "-f", "ERROR"], "use --grep"),
    ):
        code, out, err = invoke(argv, env)
        assert code == 2 and out == "" and err.count("\n") == 1, (argv, err)
        assert said in err and err.startswith("apilogs: error: "), err
    # A default engine of insights gives way to a filter pattern the command line asks for.
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\nengine = "insights"\n')
    code, _, err = invoke(["get", *nowhere, "-f", "ERROR"], {**env, "APILOGS_CONFIG": str(config)})
    assert code == 3 and "cannot reach the AWS endpoint" in err, err
