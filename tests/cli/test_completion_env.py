"""Completion of API IDs and stages in the environments people have: only AWS_REGION set (what
`apilogs demo serve` says to export), and an endpoint URL on the line, whose colons bash splits
the word at (COMP_WORDBREAKS) before click's script hands the pieces over."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from apilogs.cli.complete import rejoin
from tests.support.builders import make_rest_api


@pytest.fixture
def apis(client) -> tuple[str, str]:
    """A REST API (stages prod and beta) and an HTTP API (stage live)."""
    rest = make_rest_api(client, name="shop")
    client("apigateway").create_deployment(restApiId=rest, stageName="beta")
    v2 = client("apigatewayv2")
    http = v2.create_api(Name="orders", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=http, StageName="live")
    return rest, http


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "APILOGS_CONFIG")
    }
    # A loaded test machine is slower than a prompt; the bound itself is tested elsewhere.
    return {**env, "APILOGS_COMPLETE_TIMEOUT": "20", "AWS_EC2_METADATA_DISABLED": "true", **extra}


def _complete(words: list[str], env: dict[str, str]) -> list[str]:
    """Through click's protocol, as its bash script calls it: COMP_WORDS the words joined by
    spaces, COMP_CWORD the index of the last (the one being completed)."""
    result = subprocess.run(
        [sys.executable, "-m", "apilogs"],
        env={
            **env,
            "_APILOGS_COMPLETE": "bash_complete",
            "COMP_WORDS": " ".join(words),
            "COMP_CWORD": str(len(words) - 1),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]


def _bash_pieces(word: str) -> list[str]:
    """`word` cut as bash cuts it at the `:` of COMP_WORDBREAKS."""
    pieces: list[str] = []
    for i, part in enumerate(word.split(":")):
        if i:
            pieces.append(":")
        if part:
            pieces.append(part)
    return pieces


def test_only_aws_region_set_completes_api_ids_and_stages(endpoint, apis) -> None:
    rest, http = apis
    env = _env(AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)
    offered = _complete(["apilogs", "get", "-a", ""], env)
    assert {rest, http, "shop", "orders"} <= set(offered), offered
    assert _complete(["apilogs", "get", "-a", rest, "-t", ""], env) == ["beta", "prod"]
    assert _complete(["apilogs", "get", "-a", http, "-t", ""], env) == ["live"]
    # Before the command too, and for the other commands that take an API.
    assert rest in _complete(["apilogs", "requests", "-a", ""], env)
    # Without any region, nothing, quietly (the test for the fix above is not vacuous).
    assert _complete(["apilogs", "get", "-a", ""], _env(AWS_ENDPOINT_URL=endpoint)) == []


def test_an_endpoint_url_on_the_line_completes_despite_bash_cutting_it(endpoint, apis) -> None:
    rest, http = apis
    env = _env(AWS_REGION="us-east-1")
    url = endpoint.replace("localhost", "127.0.0.1")
    assert url.startswith("http://127.0.0.1:")
    cut = _bash_pieces(url)
    assert len(cut) == 5  # http : //127.0.0.1 : PORT
    for line in (
        ["apilogs", "get", "--endpoint-url", *cut, "-a", ""],
        ["apilogs", "--endpoint-url", *cut, "get", "-a", ""],  # before the command
        ["apilogs", "get", "--endpoint-url", "=", *cut, "-a", ""],  # --endpoint-url=URL
    ):
        offered = _complete(line, env)
        assert {rest, http, "shop"} <= set(offered), (line, offered)
    stages = _complete(["apilogs", "get", "--endpoint-url", *cut, "-a", rest, "-t", ""], env)
    assert stages == ["beta", "prod"]
    stages = _complete(["apilogs", "show", "--endpoint-url", *cut, "-a", http, "-t", ""], env)
    assert stages == ["live"]


def test_a_word_being_completed_after_a_colon_offers_only_what_bash_replaces() -> None:
    assert rejoin(["get", "--endpoint-url", "http", ":", "//h", ":", "1", "-a", ""]) == (
        ["get", "--endpoint-url", "http://h:1", "-a", ""],
        0,
    )
    # The cursor in a word bash cut: it replaces only its last piece.
    assert rejoin(["get", "--source", "orders", ":", "li"]) == (["get", "--source", "orders:li"], 7)
    assert rejoin(["get", "--source", "orders", ":"]) == (["get", "--source", "orders:"], 6)
    # A space after the colon: a new word.
    assert rejoin(["get", "--source", "orders", ":", ""]) == (["get", "--source", "orders:", ""], 0)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_itself_completes_with_the_endpoint_on_the_line(endpoint, apis, tmp_path) -> None:
    """The script `apilogs completion bash` prints, run by bash with COMP_WORDS as bash fills it
    for `apilogs get --endpoint-url http://127.0.0.1:PORT -a <TAB>`."""
    rest, _ = apis
    script = subprocess.run(
        [sys.executable, "-m", "apilogs", "completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    url = endpoint.replace("localhost", "127.0.0.1")
    words = ["apilogs", "get", "--endpoint-url", *_bash_pieces(url), "-a", rest, "-t", ""]
    quoted = " ".join(f"'{w}'" for w in words)
    program = tmp_path / "complete.sh"
    program.write_text(
        f"{script}\nCOMP_WORDS=({quoted})\nCOMP_CWORD={len(words) - 1}\n"
        '_apilogs_completion apilogs\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    bin_dir = str(Path(sys.executable).parent)
    env = _env(AWS_REGION="us-east-1", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        ["bash", str(program)], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.stdout.split() == ["beta", "prod"], result.stderr
