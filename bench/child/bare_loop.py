"""The bare boto3 loop: the least a client can do to read a window, and the baseline of every
ratio the benchmark reports.

    python bench/child/bare_loop.py SPEC_JSON

SPEC_JSON: {"url", "groups", "start_ms", "end_ms", "aws_shaped"}. The whole process is measured:
interpreter start, imports, client, loop. It prints `{"events": N}` last. In AWS's shape
("aws_shaped": true) the client uses boto3's standard retry mode (throttles are retried, 3
attempts in all), as a plain boto3 user would set it, and the process writes a line to stdout when
its first page arrives: its time to first line, measured like every other process's.

The bench imports `pages` and `bare_loop` from here too: its in-process row (a) and its reference
reads run this very loop."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

REGION = "us-east-1"


def pages(client: Any, group: str, start_ms: int, end_ms: int) -> Iterator[dict[str, Any]]:
    """FilterLogEvents pages of one group's window, `interleaved=True`, following nextToken."""
    kwargs: dict[str, Any] = {
        "logGroupName": group,
        "startTime": start_ms,
        "endTime": end_ms,
        "interleaved": True,
    }
    while True:
        page: dict[str, Any] = client.filter_log_events(**kwargs)
        yield page
        token = page.get("nextToken")
        if not token:
            return
        kwargs["nextToken"] = token


def bare_loop(client: Any, groups: Sequence[str], start_ms: int, end_ms: int) -> int:
    """Page through each group in turn, count the events."""
    total = 0
    for group in groups:
        for page in pages(client, group, start_ms, end_ms):
            total += len(page["events"])
    return total


def main(spec_json: str) -> int:
    import boto3

    spec = json.loads(spec_json)
    start_ms, end_ms = spec["start_ms"], spec["end_ms"]
    if not spec.get("aws_shaped"):
        client = boto3.client("logs", region_name=REGION, endpoint_url=spec["url"])
        count = bare_loop(client, spec["groups"], start_ms, end_ms)
        print(json.dumps({"events": count}))
        return 0
    from botocore.config import Config

    config = Config(retries={"mode": "standard"})
    client = boto3.client("logs", region_name=REGION, endpoint_url=spec["url"], config=config)
    count = npages = 0
    for group in spec["groups"]:
        for page in pages(client, group, start_ms, end_ms):
            if not npages:
                sys.stdout.write("first page\n")
                sys.stdout.flush()
            npages += 1
            count += len(page["events"])
    print(json.dumps({"events": count, "pages": npages}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
