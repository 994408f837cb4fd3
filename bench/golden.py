"""Record what the CLI prints on fixed demo data, and compare it later: a refactor that must
not change any output (issue 26) is checked byte for byte.

    python bench/golden.py record /tmp/golden-before
    ... change the code ...
    python bench/golden.py compare /tmp/golden-before

The data is the test suite's seeded demo traffic (every failure mode, both log formats), written
for a fixed window into a fresh embedded moto server, so two runs on the same code print the
same bytes. What the server itself makes up per run (ingestion times, event IDs) is masked."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import boto3
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apilogs.cli import cli
from apilogs.demo.sample import deploy_sample
from apilogs.demo.server import start_server
from apilogs.demo.traffic import FailureRates, TrafficGenerator
from apilogs.demo.writer import LogWriter, SegmentWriter
from tests.support.demo_data import simulate

# Yesterday's midnight (UTC): the same for every run of a day, and recent enough to be stored
# (CloudWatch Logs, and moto, refuse events older than 14 days).
DAY_MS = 86_400_000
START_MS = (int(time.time() * 1000) // DAY_MS - 1) * DAY_MS
SECONDS = 180
_MASKS = [
    (re.compile(r"\"ingestion_time\": ?\d+"), '"ingestion_time":0'),
    (re.compile(r'"event_id": "[^"]*"'), '"event_id": "-"'),
    (re.compile(r'"deployment_id": "[^"]*"'), '"deployment_id": "-"'),
]


def _load(url: str) -> tuple[str, str, list[str], str]:
    session = boto3.Session(region_name="us-east-1")
    app = deploy_sample(session, url, "us-east-1", log_format=None)
    end_ms = START_MS + SECONDS * 1000
    generator = TrafficGenerator(app, seed=20261124, rates=FailureRates().scaled(4))
    truth, forced = simulate(generator, START_MS, end_ms, rps=3)
    LogWriter(session.client("logs", endpoint_url=url)).write(
        record for request in truth for record in request.records
    )
    SegmentWriter(session.client("xray", endpoint_url=url)).write(
        doc for request in truth for doc in request.segments
    )
    ids = [r.request_id for r in forced.values()]
    # The authorizer's ID is the server's choice, different each run.
    return app.rest_api_id, app.rest_stage, ids, app.authorizer_id


def _commands(api: str, stage: str, ids: list[str]) -> dict[str, list[str]]:
    window = ["-a", api, "-t", stage, "-s", str(START_MS - 60_000), "-e"]
    window += [str(START_MS + (SECONDS + 60) * 1000), "--utc", "--max-rps", "0"]
    runs = {
        "get": ["get", *window],
        "get-json": ["get", *window, "-o", "json"],
        "get-short": ["get", *window, "-o", "short"],
        "get-no-hold": ["get", *window, "--no-hold-back"],
        "requests": ["requests", *window],
        "requests-json": ["requests", *window, "-o", "json"],
        "requests-errors": ["requests", *window, "--errors"],
        "stats": ["stats", *window],
        "stats-json": ["stats", *window, "-o", "json"],
        "groups": ["groups", "-a", api, "-t", stage],
        "groups-json": ["groups", "-a", api, "-t", stage, "-o", "json"],
    }
    for n, rid in enumerate(ids):
        runs[f"show-{n}"] = ["show", rid, *window, "--no-pager"]
        runs[f"show-{n}-json"] = ["show", rid, *window, "-o", "json"]
        runs[f"get-r-{n}"] = ["get", "-r", rid, *window]
    return runs


def _outputs() -> dict[str, str]:
    os.environ.update(
        APILOGS_CACHE="off",
        AWS_ACCESS_KEY_ID="golden",
        AWS_SECRET_ACCESS_KEY="golden",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        COLUMNS="200",
    )
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "APILOGS_CONFIG", "NO_COLOR"):
        os.environ.pop(key, None)
    server = start_server()
    try:
        api, stage, ids, authorizer = _load(server.url)
        found: dict[str, str] = {}
        for name, args in _commands(api, stage, ids).items():
            result = CliRunner().invoke(cli, [*args, "--endpoint-url", server.url])
            text = (
                f"exit {result.exit_code}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
            )
            for pattern, mask in _MASKS:
                text = pattern.sub(mask, text)
            text = text.replace(authorizer, "AUTHORIZER")
            found[name] = text
        return found
    finally:
        server.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in {"record", "compare"}:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[2])
    outputs = _outputs()
    if argv[1] == "record":
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in outputs.items():
            (folder / f"{name}.txt").write_text(text)
        print(f"recorded {len(outputs)} outputs in {folder}")
        return 0
    differ = [n for n, t in outputs.items() if (folder / f"{n}.txt").read_text() != t]
    for name in differ:
        (Path(tempfile.gettempdir()) / f"golden-now-{name}.txt").write_text(outputs[name])
    if differ:
        print(f"{len(differ)} of {len(outputs)} outputs differ: {', '.join(differ)}")
        print(f"(the new outputs are in {tempfile.gettempdir()}/golden-now-NAME.txt)")
        return 1
    print(f"all {len(outputs)} outputs are byte-identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
