"""`show ID` and `get -r ID` from an incident an hour or more old: without --start they look
further back by themselves (saying each step, where the request was found and what it read);
with --start they keep to it, and the hint names a window wider than the one searched."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner, Result

from apilogs.cli import cli
from tests.support.builders import make_log_group, make_rest_api, put_event

RID = "5f0e6b7c-1d2e-4f30-8a4b-5c6d7e8f9a0b"


@pytest.fixture
def old_request(client) -> str:
    """One request that happened 90 minutes ago, and one a minute ago (so the API has traffic)."""
    api = make_rest_api(client)
    group = f"API-Gateway-Execution-Logs_{api}/prod"
    make_log_group(client, group)
    now = int(time.time() * 1000)
    for at, rid in (
        (now - 90 * 60_000, RID),
        (now - 60_000, "00000000-1d2e-4f30-8a4b-000000000000"),
    ):
        for n, text in enumerate(
            ("Starting execution for request: {r}", "Method completed with status: 502")
        ):
            put_event(client, group, "s", at + n, f"({rid}) {text.format(r=rid)}")
    return api


def _run(api: str, endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, [*args, "-a", api, "-t", "prod", "--endpoint-url", endpoint, "--max-rps", "0"]
    )


def test_without_start_show_and_get_r_look_back_until_they_find_it(old_request, endpoint) -> None:
    shown = _run(old_request, endpoint, "show", RID, "--no-pager")
    assert shown.exit_code == 0, shown.stderr
    assert "502" in shown.stdout
    said = [line for line in shown.stderr.splitlines() if "warning" not in line]
    assert said[:2] == [
        "apilogs: not in the last 5m: looking back 1h",
        "apilogs: not in the last 1h: looking back 6h",
    ]
    assert said[2].startswith("apilogs: found looking back 6h (")
    assert "next time: --start 6h" in shown.stderr
    got = _run(old_request, endpoint, "get", "-r", RID[:8], "-o", "json")
    assert got.exit_code == 0, got.stderr
    assert len(got.stdout.splitlines()) == 2 and "found looking back 6h" in got.stderr


def test_a_start_given_is_kept_and_the_hint_reaches_further_back(old_request, endpoint) -> None:
    for start, hint in (("10m", "--start 1h"), ("1h", "--start 6h")):
        result = _run(old_request, endpoint, "show", RID, "-s", start, "--no-pager")
        assert result.exit_code == 1
        assert "looking back" not in result.stderr
        assert result.stderr.strip().endswith(f"(widen it with --start, e.g. {hint})"), start
