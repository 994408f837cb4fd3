"""A config file that cannot be used is one error line naming it, exit 2, for every command
that reads it: never ignored (a dropped `profile` queries another account), never a traceback,
never a hang or a read of gigabytes (issue 28, item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.cli.config import MAX_CONFIG_BYTES, load_config
from tests.support.builders import (
    lambda_uri,
    make_function,
    make_log_group,
    make_rest_api,
    put_event,
)

# An endpoint nothing answers: a config error that slipped through would end in exit 3 at once
# (and never reach a real account).
DEAD = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}

# Commands that read the config (their common options take its [defaults]).
READERS = [
    ["groups", "-a", "x", "-t", "prod"],
    ["get", "-a", "x", "-t", "prod", "-s", "1m"],
    ["requests", "-a", "x", "-t", "prod", "-s", "1m"],
    ["stats", "-a", "x", "-t", "prod", "-s", "1m"],
    ["show", "-a", "x", "-t", "prod", "6605b081-6f04-11e6-97ac-c34deb0b3dd9"],
    ["get", "@shop", "-s", "1m"],
]


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "config.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def invoke(args: list[str], env: dict[str, str | None]) -> tuple[int, str, str]:
    from apilogs.cli.options import _config as cached

    cached.cache_clear()
    result = CliRunner().invoke(cli, args, env={**DEAD, **env})
    return result.exit_code, result.stdout, result.stderr


def assert_one_error(code: int, err: str, path: Path, *, says: str, line: int | None = None) -> str:
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("apilogs: error:"), err
    assert str(path) in lines[0], err
    assert says in lines[0], err
    if line is not None:
        assert f"line {line}" in lines[0], err
    assert "Traceback" not in err
    return lines[0]


def _fails(
    tmp_path: Path,
    content: str | bytes,
    *,
    says: str,
    line: int | None = None,
    args: list[str] | None = None,
) -> str:
    path = _write(tmp_path, content)
    code, out, err = invoke(args or READERS[0], {"APILOGS_CONFIG": str(path)})
    assert out == ""
    return assert_one_error(code, err, path, says=says, line=line)


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a[:2]))
def test_a_toml_syntax_error_stops_every_command_naming_file_and_line(
    tmp_path: Path, args: list[str]
) -> None:
    # `profile` must not be dropped silently: the wrong account would be queried.
    text = '[defaults]\nprofile = "prod"\nregion = eu-west-1\n\n[api.shop]\napi_id = "x"\n'
    _fails(tmp_path, text, says="(at line 3, column 10)", line=3, args=args)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    message = _fails(tmp_path, b'[defaults]\nregion = "caf\xe9"\n', says="is not UTF-8", line=2)
    assert "0xe9" in message


def test_max_rps_that_is_not_a_number(tmp_path: Path) -> None:
    message = _fails(tmp_path, '[defaults]\nmax_rps = "lots"\n', says="[defaults] max_rps")
    assert "'lots'" in message and "ValueError" not in message


@pytest.mark.parametrize("value", ["nan", "-5", "-0.5", "inf", "true"])
def test_max_rps_out_of_range_is_not_no_limit(tmp_path: Path, value: str) -> None:
    message = _fails(tmp_path, f"[defaults]\nmax_rps = {value}\n", says="[defaults] max_rps")
    assert "0 or more" in message


def test_an_unknown_key_in_defaults_names_the_known_ones(tmp_path: Path) -> None:
    text = '[defaults]\nprofile = "prod"\nregion = "eu-west-1"\ncolour = "never"\n'
    message = _fails(tmp_path, text, says="unknown key 'colour'")
    assert "known: endpoint_url, engine, max_rps, profile, region" in message


def test_an_unknown_key_in_a_target_or_at_the_top(tmp_path: Path) -> None:
    _fails(
        tmp_path,
        '[api.shop]\napi_id = "x"\nstages = "prod"\n',
        says="[api.shop] has unknown key 'stages'",
    )
    message = _fails(tmp_path, 'profile = "prod"\n', says="unknown key 'profile'")
    assert "[defaults]" in message
    _fails(tmp_path, "[default]\nregion = 'x'\n", says="unknown table [default]")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[defaults]\nregion = 1\n", "[defaults] region must be a non-empty string"),
        ("[defaults]\nprofile = ['a']\n", "[defaults] profile must be a non-empty string"),
        ('[defaults]\nprofile = ""\n', "[defaults] profile must be a non-empty string"),
        ('[defaults]\nendpoint_url = "localhost:4566"\n', "[defaults] endpoint_url"),
        ('[defaults]\nengine = "fast"\n', "engine must be one of filter, insights, auto"),
        ("[api.shop]\napi_id = 5\n", "[api.shop] api_id must be a non-empty string"),
        ('[api.shop]\napi_id = "x"\nstage = 1\n', "[api.shop] stage must be a non-empty string"),
        ('[api.shop]\nstage = "prod"\n', "[api.shop] needs api_id"),
        ('[defaults]\nregion = "r"\n[api]\nshop = "x"\n', "api.shop must be a table"),
        ('defaults = "x"\n', "defaults must be a table"),
    ],
)
def test_a_wrong_type_is_an_error_not_a_dropped_table(tmp_path: Path, text: str, says: str) -> None:
    # Without a @target too: [defaults] (profile, region, endpoint) was dropped silently.
    _fails(tmp_path, text, says=says)


def test_apilogs_config_naming_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    code, _, err = invoke(READERS[0], {"APILOGS_CONFIG": str(path)})
    assert_one_error(code, err, path, says="does not exist")


def test_the_default_path_missing_is_no_config(tmp_path: Path) -> None:
    assert load_config(tmp_path / "apilogs" / "config.toml").path is None
    env: dict[str, str | None] = {"APILOGS_CONFIG": None, "XDG_CONFIG_HOME": str(tmp_path)}
    code, _, err = invoke(READERS[0], env)
    assert code == 3 and "cannot reach the AWS endpoint" in err, err  # it went on to AWS
    # APILOGS_CONFIG=/dev/null says "no config" on purpose.
    assert load_config(Path(os.devnull)).path is None
    code, _, err = invoke(READERS[0], {"APILOGS_CONFIG": os.devnull})
    assert code == 3 and "cannot reach the AWS endpoint" in err, err


def test_a_directory_or_a_file_too_large(tmp_path: Path) -> None:
    code, _, err = invoke(READERS[0], {"APILOGS_CONFIG": str(tmp_path)})
    assert_one_error(code, err, tmp_path, says="is a directory, not a regular file")
    big = "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)
    _fails(tmp_path, big, says="larger than 1024 KiB")


def _run_apilogs(config: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """A separate process, so that a hang or a huge read fails the test instead of the run."""
    return subprocess.run(
        [sys.executable, "-m", "apilogs", *READERS[0]],
        env={**os.environ, **DEAD, "APILOGS_CONFIG": config},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)  # nobody writes to it: opening it to read would block forever
    started = time.monotonic()
    result = _run_apilogs(str(fifo))
    assert time.monotonic() - started < 30
    assert_one_error(result.returncode, result.stderr, fifo, says="is a FIFO")


def test_a_fifo_swapped_in_after_the_check_does_not_hang(tmp_path: Path) -> None:
    """The file checked by os.stat is replaced by a FIFO before it is opened: the open does
    not block (O_NONBLOCK) and the file opened is checked again."""
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    regular = tmp_path / "regular.toml"
    regular.write_text("")
    script = f"""
import os, sys
from pathlib import Path
import apilogs.cli.config as config
from apilogs.errors import InvalidInput
real_stat = os.stat
config.os.stat = lambda path, *a, **k: real_stat({str(regular)!r})  # the check saw a file
try:
    config.load_config(Path({str(fifo)!r}))
except InvalidInput as exc:
    print(exc)
    sys.exit(2)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "is a FIFO, not a regular file" in result.stdout and str(fifo) in result.stdout


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_not_read(tmp_path: Path) -> None:
    result = _run_apilogs("/dev/zero")
    assert_one_error(result.returncode, result.stderr, Path("/dev/zero"), says="is a device")
    # Through a symlink too.
    link = tmp_path / "config.toml"
    link.symlink_to("/dev/zero")
    result = _run_apilogs(str(link))
    assert_one_error(result.returncode, result.stderr, link, says="is a device")


# --- a valid file still works ---------------------------------------------------------------------


@pytest.fixture
def shop(client) -> str:  # type: ignore[no-untyped-def]
    fn = make_function(client, "primes")
    api_id = make_rest_api(client, name="shop", routes={"GET /primes": lambda_uri(fn)})
    make_log_group(client, f"API-Gateway-Execution-Logs_{api_id}/prod")
    make_log_group(client, "/aws/lambda/primes")
    put_event(client, "/aws/lambda/primes", "s", int(time.time() * 1000) - 1000, "hello there")
    return api_id


def test_a_valid_file_still_works(endpoint: str, shop: str, tmp_path: Path) -> None:
    text = (
        "\ufeff# written by an editor that adds a BOM\n"
        f'[defaults]\nendpoint_url = "{endpoint}"\nregion = "us-east-1"\n'
        'engine = "filter"\nmax_rps = 0\n\n'
        f'[api.shop]\napi_id = "{shop}"\nstage = "prod"\n'
    )
    path = _write(tmp_path, text)
    env: dict[str, str | None] = {"APILOGS_CONFIG": str(path), "AWS_ENDPOINT_URL": None}
    code, out, err = invoke(["get", "@shop", "-s", "1m"], env)
    assert code == 0 and "hello there" in out, err
    config = load_config(path)
    assert config.defaults == {
        "endpoint_url": endpoint,
        "region": "us-east-1",
        "engine": "filter",
        "max_rps": 0,
    }
    assert config.target("@shop").stage == "prod"
