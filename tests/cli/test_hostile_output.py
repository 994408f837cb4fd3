"""Hostile text in every group of an API, through every command and output, on moto's server.

Human output (plain, short, --expand, --color always, -H, the tables, the story, the groups
table) must be terminal-safe on stdout and stderr; JSON output must parse, keep each message
verbatim and be pure ASCII. A caller-forged request ID is never trusted and never shown raw."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.server import EmbeddedServer
from apilogs.render.expand import DEEP_MARK, SIZE_MARK
from apilogs.render.sanitize import sanitize
from tests.support import hostile
from tests.support.builders import REGION, lambda_uri, make_function, make_log_group, make_rest_api
from tests.support.hostile import (
    ACCESS_JSON_FORMAT,
    DEEP_JSON,
    FORGED_ID,
    HOSTILE,
    PAYLOAD,
    RAW_MESSAGES,
    RID,
    SMUGGLED_AGENT,
    TOKEN,
    access_line,
    assert_terminal_safe,
    execution_lines,
    lambda_lines,
)

BASE_MS = (int(time.time()) - 3600) * 1000
LAMBDA_ID = "71952965-d5cc-4974-ae08-6e2138b2275c"
AUTH_ID = "0c7e1b7a-2f0e-4f7e-9d55-3c8a4f1d2e6b"
TRACE = "1-5c7674f4-a3491d0a9c8012c191821b83"
EXTENDED = "JjGvEiWsoAMEPaA="
# A second request whose caller smuggled a requestId into its user agent (valid JSON).
RID_SMUGGLED = "286364ab-3a83-11e9-8dc8-db3cf4c83204"
# A third whose only requestId is forged.
EXTENDED_FORGED = "Vwc2MGFUrPEFV_g="
API_NAME = f"shop\n{PAYLOAD}"
# A caller's path: hostile, though without what ends a token in the format's regex.
PATH = "/orders/" + "".join(c for c in TOKEN if c not in "]'<>|\"")


@dataclass
class World:
    url: str
    api_id: str
    # (group, message) of every event written, in order.
    written: list[tuple[str, str]] = field(default_factory=list)

    def window(self) -> list[str]:
        return ["-s", str(BASE_MS - 1), "-e", str(BASE_MS + 600_000)]

    def run(self, *args: str) -> Any:
        command, *rest = args
        common = ["--endpoint-url", self.url]
        if command != "groups":
            common += [*self.window(), "--max-rps", "0"]
        result = CliRunner().invoke(cli, [command, "-a", self.api_id, "-t", "prod", *rest, *common])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result


def _put(logs: Any, group: str, stream: str, start: int, messages: list[str], world: World) -> int:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    for i, message in enumerate(messages):
        # One call each: some messages are near the 256 KB limit of an event.
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": start + i, "message": message}],
        )
        world.written.append((group, message))
    return start + len(messages)


@pytest.fixture(scope="module")
def world(moto_server: EmbeddedServer) -> Iterator[World]:
    moto_server.reset()

    def client(service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=moto_server.url)

    orders = make_function(client, "orders")
    authz = make_function(client, "authz")
    api_id = make_rest_api(
        client,
        name=API_NAME,
        routes={"GET /orders": lambda_uri(orders)},
        access_group="/access/hostile",
        access_format=ACCESS_JSON_FORMAT,
        variables={"note": PAYLOAD, "fn": "orders"},
        authorizer_uri=lambda_uri(authz),
        authorized_routes=("GET /orders",),
    )
    client("apigateway").update_rest_api(
        restApiId=api_id,
        patchOperations=[{"op": "replace", "path": "/description", "value": PAYLOAD}],
    )
    world = World(moto_server.url, api_id)
    execution = f"API-Gateway-Execution-Logs_{api_id}/prod"
    for group in (execution, "/access/hostile", "/aws/lambda/orders", "/aws/lambda/authz"):
        make_log_group(client, group)
    logs = client("logs")

    t = BASE_MS
    t = _put(logs, execution, "e1", t, execution_lines(RID, LAMBDA_ID, TRACE, EXTENDED)[:3], world)
    t = _put(logs, "/aws/lambda/authz", "a1", t, [
        f"START RequestId: {AUTH_ID} Version: $LATEST\n",
        f"[INFO]\t2024-01-01T00:00:00.000Z\t{AUTH_ID}\t{PAYLOAD}\n",
        f"END RequestId: {AUTH_ID}\n",
        f"REPORT RequestId: {AUTH_ID}\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 "
        "MB\tMax Memory Used: 40 MB\t\n",
    ], world)  # fmt: skip
    invocation = lambda_lines(LAMBDA_ID, TRACE)
    t = _put(logs, "/aws/lambda/orders", "o1", t, invocation[:-2] + RAW_MESSAGES + invocation[-2:],
             world)  # fmt: skip
    t = _put(logs, execution, "e1", t, execution_lines(RID, LAMBDA_ID, TRACE, EXTENDED)[3:], world)
    # Lines that belong to nothing, in the execution log: hostile all the same.
    t = _put(logs, execution, "e2", t, RAW_MESSAGES[:2], world)
    t = _put(logs, "/access/hostile", "ac", t, [
        # Not valid JSON (the error holds backslashes): read by the format's regex.
        access_line(RID, status=502, path=PATH, agent=PAYLOAD,
                    error=PAYLOAD, lambda_id=LAMBDA_ID, trace=TRACE, extended=EXTENDED,
                    authorizer=AUTH_ID),
        # Valid JSON whose user agent repeats requestId after API Gateway's own.
        access_line(RID_SMUGGLED, status=200, agent=SMUGGLED_AGENT),
        # The only requestId is forged: not an ID, so the request has none.
        access_line(FORGED_ID, status=500, extended=EXTENDED_FORGED),
    ], world)  # fmt: skip
    yield world


def lines_of_json(text: str) -> list[dict[str, Any]]:
    assert text.isascii(), "JSON output must be pure ASCII"
    return [json.loads(line) for line in text.splitlines()]


# --- the check itself can fail ------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n, v in HOSTILE.items() if sanitize(v) != v])
def test_the_check_catches_each_trick_raw_and_passes_it_sanitised(name: str) -> None:
    with pytest.raises(AssertionError):
        assert_terminal_safe(f"ok {HOSTILE[name]} ok")
    assert_terminal_safe(sanitize(HOSTILE[name]))
    assert_terminal_safe("\x1b[32;1m200\x1b[0m \x1b[7;1mhit\x1b[0m\tsafe\n")  # apilogs's own


def test_the_check_catches_a_forged_id() -> None:
    with pytest.raises(AssertionError):
        assert_terminal_safe(f"request {FORGED_ID}")


# --- get ------------------------------------------------------------------------------------------

HUMAN_GET = [
    [],
    ["-o", "short"],
    ["--expand"],
    ["--color", "always"],
    ["--color", "always", "-o", "short", "--expand", "--timestamp", "--ingestion-time"],
    ["--color", "always", "-H", "evil|ERROR", "-H", "status", "-H", r"\x1b", "-H", "1"],
    ["-H", "FAKE"],
    ["-r", RID, "--color", "always"],
]


@pytest.mark.parametrize("options", HUMAN_GET, ids=lambda o: " ".join(o) or "plain")
def test_get_human_output_is_terminal_safe(world: World, options: list[str]) -> None:
    result = world.run("get", *options)
    assert result.exit_code == 0, result.stderr
    assert_terminal_safe(result.stdout, "stdout")
    assert_terminal_safe(result.stderr, "stderr")
    # Markup is text, shown as written.
    assert "[bold red]FAKE[/bold red]" in result.stdout
    if "-r" not in options:
        # One event, one first line (continuations are indented): no line lost or split.
        firsts = [line for line in result.stdout.splitlines() if line and not line[0].isspace()]
        assert len(firsts) == len(world.written)
    assert sanitize(HOSTILE["osc52_clipboard"]) in hostile.strip_own_sgr(result.stdout)


def test_get_expand_caps_and_goes_on(world: World) -> None:
    result = world.run("get", "--expand", "-o", "short", "--source", "orders")
    assert result.exit_code == 0
    assert DEEP_MARK in result.stdout  # 1000 levels: printed unexpanded, the run goes on
    assert SIZE_MARK in result.stdout  # WIDE_JSON: expanded up to the cap, the rest as logged
    assert sanitize(DEEP_JSON) in result.stdout
    assert len(result.stdout) < 4 * sum(len(m) for _, m in world.written)
    # The lines after the deep one are all there.
    assert "REPORT RequestId:" in result.stdout.split(DEEP_MARK, 1)[1]


def test_get_json_keeps_every_message_verbatim_in_ascii(world: World) -> None:
    result = world.run("get", "-o", "json")
    assert result.exit_code == 0
    docs = lines_of_json(result.stdout)
    assert sorted((d["group"], d["message"]) for d in docs) == sorted(world.written)
    assert any("\ud800" in d["message"] for d in docs)  # lone surrogates come back as written
    by_message = {d["message"]: d for d in docs}
    smuggled = next(d for d in docs if SMUGGLED_AGENT in d["message"])
    assert smuggled["request_id"] == RID_SMUGGLED  # API Gateway's, not the caller's
    forged = next(d for d in docs if d["message"].startswith(f'{{"requestId":"{FORGED_ID}"'))
    assert forged["request_id"] is None
    assert by_message[execution_lines(RID, LAMBDA_ID, TRACE, EXTENDED)[-1]]["request_id"] == RID
    for doc in docs:
        for key in ("request_id", "lambda_request_id", "trace_id"):
            assert doc[key] is None or (doc[key].isascii() and doc[key].isprintable())


# --- requests, stats, show ---------------------------------------------------------------------


@pytest.mark.parametrize("options", [[], ["--color", "always"], ["--errors", "--color", "always"]])
def test_requests_table_is_terminal_safe(world: World, options: list[str]) -> None:
    result = world.run("requests", *options)
    assert result.exit_code == 0, result.stderr
    assert_terminal_safe(result.stdout, "stdout")
    assert_terminal_safe(result.stderr, "stderr")
    rows = result.stdout.splitlines()[1:]
    assert any(row.rstrip().endswith(RID) for row in rows)
    if "--errors" not in options:
        # The smuggled requestId did not replace API Gateway's.
        assert any(row.rstrip().endswith(RID_SMUGGLED) for row in rows)


def test_requests_json(world: World) -> None:
    result = world.run("requests", "-o", "json")
    assert result.exit_code == 0
    docs = lines_of_json(result.stdout)
    by_id = {d["request_id"]: d for d in docs}
    assert RID in by_id and RID_SMUGGLED in by_id
    assert all(d["request_id"] in (RID, RID_SMUGGLED, None) for d in docs)
    failed = by_id[RID]
    assert failed["status"] == 502 and failed["outcome"] == "unhandled_exception"
    assert set(failed["lambda_request_ids"]) == {AUTH_ID, LAMBDA_ID}
    # The hostile parts the parsers took out are kept verbatim for programs.
    assert failed["method"] == "GET" and failed["path"] == PATH
    assert failed["error_type"] == f"Boom{TOKEN}" and failed["error_message"] == PAYLOAD
    assert failed["cause"] == f"Boom{TOKEN}: {PAYLOAD}"
    assert by_id[RID_SMUGGLED]["status"] == 200
    # The request whose only requestId was forged: joined by its extended ID, with no request ID.
    (forged,) = [d for d in docs if d["extended_request_id"] == EXTENDED_FORGED]
    assert forged["request_id"] is None and forged["status"] == 500


@pytest.mark.parametrize("options", [[], ["--color", "always"]])
def test_stats_is_terminal_safe(world: World, options: list[str]) -> None:
    result = world.run("stats", *options)
    assert result.exit_code == 0, result.stderr
    assert_terminal_safe(result.stdout, "stdout")
    assert_terminal_safe(result.stderr, "stderr")
    assert f"e.g. {RID}" in result.stdout
    # Slowest routes are the routes' templates where known; here (no resourcePath, no path
    # parameters logged) the hostile path the access log gives.
    route = sanitize(f"GET {PATH}", keep_newlines=False)
    assert f"  {route}  (1 requests)" in strip(result.stdout)


def test_stats_json(world: World) -> None:
    result = world.run("stats", "-o", "json")
    assert result.exit_code == 0
    assert result.stdout.isascii()
    doc = json.loads(result.stdout)
    examples = {e["example_request_id"] for e in doc["errors"]}
    assert RID in examples and FORGED_ID not in examples


@pytest.mark.parametrize("request_id", [RID, LAMBDA_ID, TRACE])
@pytest.mark.parametrize("options", [[], ["--color", "always"]])
def test_show_is_terminal_safe(world: World, request_id: str, options: list[str]) -> None:
    result = CliRunner().invoke(
        cli,
        ["show", request_id, "-a", world.api_id, "-t", "prod", *world.window(), *options,
         "--endpoint-url", world.url, "--max-rps", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert_terminal_safe(result.stdout, "stdout")
    assert_terminal_safe(result.stderr, "stderr")
    assert f"request id  {RID}" in strip(result.stdout)
    assert "[bold red]FAKE[/bold red]" in result.stdout


def test_show_json(world: World) -> None:
    result = CliRunner().invoke(
        cli,
        ["show", RID, "-a", world.api_id, "-t", "prod", *world.window(), "-o", "json",
         "--endpoint-url", world.url, "--max-rps", "0"],
    )  # fmt: skip
    assert result.exit_code == 0
    (doc,) = lines_of_json(result.stdout)
    assert doc["request_id"] == RID
    messages = {e["message"] for e in doc["events"]}
    assert DEEP_JSON in messages and PAYLOAD + "\n" in messages
    assert messages <= {m for _, m in world.written}


def test_an_unknown_hostile_id_fails_cleanly(world: World) -> None:
    result = CliRunner().invoke(
        cli,
        ["show", FORGED_ID, "-a", world.api_id, "-t", "prod", *world.window(),
         "--endpoint-url", world.url, "--max-rps", "0"],
    )  # fmt: skip
    # Not an ID at all: refused before any read (a usage error), said safely.
    assert result.exit_code == 2 and "is not a request ID" in result.stderr
    assert_terminal_safe(result.stderr, "stderr")
    assert sanitize(FORGED_ID, keep_newlines=False) in result.stderr


# --- groups -------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [[], ["--color", "always"]])
def test_groups_table_is_terminal_safe(world: World, options: list[str]) -> None:
    result = world.run("groups", *options)
    assert result.exit_code == 0, result.stderr
    assert_terminal_safe(result.stdout, "stdout")
    assert_terminal_safe(result.stderr, "stderr")
    first = strip(result.stdout).splitlines()[0]
    assert first.startswith(f"{sanitize(API_NAME, keep_newlines=False)} ({world.api_id}, REST)")


def test_groups_json(world: World) -> None:
    result = world.run("groups", "-o", "json")
    assert result.exit_code == 0
    assert result.stdout.isascii()
    doc = json.loads(result.stdout)
    assert doc["api_name"] == API_NAME
    assert doc["stage_variables"]["note"] == PAYLOAD
    assert doc["access_log_format"] == ACCESS_JSON_FORMAT


def test_an_api_named_like_a_terminal_attack_in_warnings(world: World) -> None:
    # stderr carries findings and notices: sanitised like everything else.
    result = world.run("get", "--source", "nothing-like-this", "-o", "json")
    assert_terminal_safe(result.stderr, "stderr")


def strip(text: str) -> str:
    return hostile.strip_own_sgr(text)
