"""Lone surrogates in messages: the demo emulator and writer count them, `get` shows them.

PutLogEvents takes JSON, and a JSON `\\ud800` escape decodes to a lone surrogate: any caller can
put one in a message."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.server import EVENT_OVERHEAD_BYTES, PAGE_BYTES
from apilogs.demo.traffic import LogRecord
from apilogs.demo.writer import LogWriter, batches
from tests.support.builders import make_log_group, make_rest_api

BASE_MS = (int(time.time()) - 3600) * 1000
LONE = "a\ud800b\udfffc"


def test_batches_count_a_lone_surrogate_as_three_bytes() -> None:
    record = LogRecord("g", "s", 0, "\ud800" * 100_000)
    sized = list(batches([record] * 10))
    # 300,026 bytes each: three fit in a 1 MB batch.
    assert [len(b) for b in sized] == [3, 3, 3, 1]


def test_the_writer_and_the_server_carry_lone_surrogates(client) -> None:  # type: ignore[no-untyped-def]
    logs = client("logs")
    logs.create_log_group(logGroupName="/lone")
    records = [LogRecord("/lone", "s", BASE_MS + i, f"{LONE} {i}") for i in range(3)]
    assert LogWriter(logs).write(records) == 3
    events = logs.filter_log_events(logGroupName="/lone")["events"]
    assert [e["message"] for e in events] == [r.message for r in records]


def test_get_shows_them_escaped_and_keeps_them_in_json(client, endpoint) -> None:  # type: ignore[no-untyped-def]
    api_id = make_rest_api(client)
    group = f"API-Gateway-Execution-Logs_{api_id}/prod"
    make_log_group(client, group)
    logs = client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    rid = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
    small = [f"({rid}) {LONE}", f"({rid}) Method completed with status: 502"]
    # Enough surrogate-heavy events that the server cuts pages by size (3 bytes each): the page
    # accounting must count them, not crash on them.
    heavy = "\ud800" * 80_000  # 240,000 bytes: under the 256 KB of an event
    count = 2 + (3 * PAGE_BYTES // 2) // (3 * len(heavy) + EVENT_OVERHEAD_BYTES) + 1
    messages = small + [f"{heavy} {i}" for i in range(count - 2)]
    for start in range(0, len(messages), 3):
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[
                {"timestamp": BASE_MS + start + i, "message": m}
                for i, m in enumerate(messages[start : start + 3])
            ],
        )
    base = ["get", "-a", api_id, "-t", "prod", "-s", str(BASE_MS - 1)]
    base += ["-e", str(BASE_MS + 100_000), "--endpoint-url", endpoint, "--max-rps", "0"]

    result = CliRunner().invoke(cli, [*base, "-o", "json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.isascii()
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["message"] for d in docs] == messages
    assert docs[0]["request_id"] == rid

    for extra in ([], ["--color", "always", "-o", "short"]):
        result = CliRunner().invoke(cli, [*base, *extra])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert len(lines) == len(messages)
        assert "a\\ud800b\\udfffc" in lines[0]
        assert not any("\ud800" <= c <= "\udfff" for c in result.stdout)
