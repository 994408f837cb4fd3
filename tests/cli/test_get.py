"""`apilogs get` against moto's server: every event once, in time order, whatever the server does."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.render.events import iso_utc
from tests.support.builders import lambda_uri, make_function, make_log_group, make_rest_api
from tests.support.faultproxy import DROP, SERVER_ERROR, THROTTLE, fault_proxy

# An hour ago, on a whole second: CloudWatch Logs refuses events older than 14 days.
BASE_MS = (int(time.time()) - 3600) * 1000


@dataclass
class Api:
    api_id: str
    groups: list[str]


@pytest.fixture
def api(client) -> Api:
    primes = make_function(client, "primes")
    orders = make_function(client, "orders")
    api_id = make_rest_api(
        client,
        routes={"GET /primes": lambda_uri(primes), "POST /orders": lambda_uri(orders)},
        access_group="/access/shop",
    )
    groups = [
        f"API-Gateway-Execution-Logs_{api_id}/prod",
        "/access/shop",
        "/aws/lambda/primes",
        "/aws/lambda/orders",
    ]
    for group in groups:
        make_log_group(client, group)
    return Api(api_id, groups)


def put(client, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    logs = client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    for i in range(0, len(events), 10_000):
        batch = sorted(events[i : i + 10_000])
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in batch],
        )


def run_get(endpoint: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["get", *args, "--endpoint-url", endpoint, "--max-rps", "0"])
    return result.exit_code, result.stdout, result.stderr


def window(*extra: str) -> list[str]:
    return ["-s", str(BASE_MS - 1), "-e", str(BASE_MS + 1_000_000), *extra]


def test_every_event_once_in_time_order(client, endpoint, api) -> None:
    rng = random.Random(7)
    expected = set()
    for group in api.groups:
        for stream in ("s1", "s2", "s3"):
            # Coarse timestamps: many events share a millisecond across groups and streams.
            events = [
                (BASE_MS + rng.randrange(0, 400) * 10, f"{group} {stream} {i}") for i in range(120)
            ]
            put(client, group, stream, events)
            expected.update((t, group, stream, m) for t, m in events)

    code, out, err = run_get(endpoint, "-a", api.api_id, "-t", "prod", "-o", "json", *window())

    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(expected) == 4 * 3 * 120
    assert {(r["timestamp"], r["group"], r["stream"], r["message"]) for r in rows} == expected
    keys = [(r["timestamp"], r["group"], r["stream"], int(r["event_id"])) for r in rows]
    assert keys == sorted(keys)
    sources = {r["group"]: (r["source"], r["function"]) for r in rows}
    assert sources["/access/shop"] == ("access", None)
    assert sources["/aws/lambda/primes"] == ("lambda", "primes")
    assert rows[0]["time"].endswith("Z") and "T" in rows[0]["time"]


def test_pages_past_10000_events_and_a_big_group_read_in_slices(client, endpoint, api) -> None:
    # 3 events per millisecond over ~29 s: the first page (10,000 events) ends inside a
    # millisecond, and the rest of the window is read as time slices at once.
    group = "/aws/lambda/primes"
    put(client, group, "big", [(BASE_MS + (i // 3) * 7, f"line {i}") for i in range(12_500)])
    put(
        client, group, "other", [(BASE_MS + (i // 3) * 7, f"tie {i}") for i in range(0, 12_500, 97)]
    )

    code, out, _ = run_get(
        endpoint, "-a", api.api_id, "-t", "prod", "--source", "primes", "-o", "json", *window()
    )

    rows = [json.loads(line) for line in out.splitlines()]
    lines = [int(r["message"].split()[1]) for r in rows if r["message"].startswith("line")]
    assert code == 0
    assert sorted(lines) == list(range(12_500))  # every event once
    assert len(rows) == 12_500 + len(range(0, 12_500, 97))
    # In the merge's order; event IDs compare as strings (AWS's are fixed-width digits).
    keys = [(r["timestamp"], r["stream"], r["event_id"]) for r in rows]
    assert keys == sorted(keys)


def test_throttles_errors_and_dropped_connections_lose_nothing(client, endpoint, api) -> None:
    for group in api.groups:
        put(client, group, "s", [(BASE_MS + i, f"{group} {i}") for i in range(50)])
    with fault_proxy(endpoint) as proxy:
        proxy.script = [THROTTLE, THROTTLE, SERVER_ERROR, DROP, THROTTLE, SERVER_ERROR]
        code, out, err = run_get(proxy.url, "-a", api.api_id, "-t", "prod", "-o", "json", *window())

    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 200 and len({(r["group"], r["message"]) for r in rows}) == 200
    assert proxy.counts[THROTTLE] == 3 and proxy.counts[DROP] == 1
    assert "throttled 3 reads" in err


def test_filter_pattern_grep_exclude_and_sources(client, endpoint, api) -> None:
    put(client, "/aws/lambda/primes", "s", [(BASE_MS + 1, "alpha one"), (BASE_MS + 2, "beta two")])
    put(client, "/aws/lambda/orders", "s", [(BASE_MS + 3, "alpha three"), (BASE_MS + 4, "gamma")])
    put(client, "/access/shop", "s", [(BASE_MS + 5, "alpha access")])
    base = ["-a", api.api_id, "-t", "prod", "-o", "short", *window()]

    _, out, _ = run_get(endpoint, *base, "-f", '"alpha"')
    assert [line.split()[-1] for line in out.splitlines()] == ["one", "three", "access"]

    _, out, _ = run_get(endpoint, *base, "-g", "alpha|gamma", "-x", "three")
    assert [line.split()[-1] for line in out.splitlines()] == ["one", "gamma", "access"]

    _, out, _ = run_get(endpoint, *base, "--source", "lambda", "--source", "access", "-x", "a$")
    assert [line.split()[-1] for line in out.splitlines()] == ["one", "two", "three", "access"]

    _, out, _ = run_get(endpoint, *base, "--source", "orders")
    assert [line.split()[-1] for line in out.splitlines()] == ["three", "gamma"]


def test_extra_log_group(client, endpoint, api) -> None:
    make_log_group(client, "/ecs/worker")
    put(client, "/ecs/worker", "w", [(BASE_MS + 9, "from the worker")])
    _, out, _ = run_get(
        endpoint,
        "-a",
        api.api_id,
        "-t",
        "prod",
        "--log-group",
        "/ecs/worker",
        "-o",
        "json",
        *window(),
    )
    row = json.loads(out.splitlines()[-1])
    assert row["source"] == "other" and row["message"] == "from the worker"


def test_untrusted_text_never_reaches_terminal_raw(client, endpoint, api) -> None:
    evil = "ok \x1b[31mFAKE\x1b[0m \x1b]52;c;ZXZpbA==\x07 \u202egnp.exe [bold]x[/bold] \r overwrite"
    put(client, "/aws/lambda/primes", "s", [(BASE_MS + 1, evil)])

    _, plain, _ = run_get(endpoint, "-a", api.api_id, "-t", "prod", "--color", "always", *window())
    assert "\x1b[31mFAKE" not in plain and "\x1b]52" not in plain and "\x07" not in plain
    assert "\u202e" not in plain and "\r" not in plain
    assert "\\x1b[31mFAKE" in plain and "[bold]x[/bold]" in plain

    _, out, _ = run_get(endpoint, "-a", api.api_id, "-t", "prod", "-o", "json", *window())
    assert "\x1b" not in out and "\u202e" not in out
    assert json.loads(out)["message"] == evil


def test_plain_output_layout(client, endpoint, api) -> None:
    put(
        client, "/aws/lambda/primes", "2024/01/01/[$LATEST]abc", [(BASE_MS, "hello\nsecond line\n")]
    )
    _, out, _ = run_get(endpoint, "-a", api.api_id, "-t", "prod", "--timestamp", "--utc", *window())
    first, second = out.splitlines()
    stamp = iso_utc(BASE_MS)
    # The request column: `-`, no request claims this line.
    assert first.split() == [
        "primes",
        "-",
        "/aws/lambda/primes",
        "2024/01/01/[$LATEST]abc",
        stamp,
        "hello",
    ]
    assert second == "    second line"
    _, out, _ = run_get(endpoint, "-a", api.api_id, "-t", "prod", "-G", "-S", *window())
    assert out.split() == ["primes", "-", "hello", "second", "line"]
    # Raw speed: no hold-back, no request column.
    _, out, _ = run_get(
        endpoint, "-a", api.api_id, "-t", "prod", "-G", "-S", "--no-hold-back", *window()
    )
    assert out.split() == ["primes", "hello", "second", "line"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "yesterdayy"], "unparsable time 'yesterdayy'"),
        (["-s", "1h", "-e", "2h"], "--end: the end (2h) is before the start (1h)"),
        (["-g", "("], "'--grep': bad regex '('"),
        (["--utc", "--local"], "--utc and --local contradict each other"),
        (["-s", "1960-01-01T00:00Z"], "is before 1970"),
        (["--source", "nope"], "unknown --source 'nope'"),
        (["-w", "-e", "now"], "--watch follows new events"),
    ],
)
def test_bad_input_is_one_line(endpoint, api, args: list[str], message: str) -> None:
    code, out, err = run_get(endpoint, "-a", api.api_id, "-t", "prod", *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize(
    ("url", "message"),
    [("localhost:4566", "it needs a scheme and a host"), ("", "empty"), ("ftp://x", "http(s)")],
)
def test_bad_endpoint_url_is_a_usage_error(url: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["--endpoint-url", url, "get", "-a", "x", "-t", "prod"])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_common_options_work_before_the_command(client, endpoint, api) -> None:
    """`apilogs --endpoint-url URL get …`, as the AWS CLI allows; after the command wins."""
    put(client, "/aws/lambda/primes", "s", [(int(time.time() * 1000) - 1000, "reached")])
    before = CliRunner().invoke(
        cli, ["--endpoint-url", endpoint, "get", "-a", api.api_id, "-t", "prod", "--max-rps", "0"]
    )
    assert before.exit_code == 0 and "reached" in before.stdout, before.stderr
    wrong_then_right = CliRunner().invoke(
        cli,
        [
            "--endpoint-url",
            "http://127.0.0.1:9",
            "get",
            "-a",
            api.api_id,
            "-t",
            "prod",
            "--endpoint-url",
            endpoint,
            "--max-rps",
            "0",
        ],
    )
    assert wrong_then_right.exit_code == 0, wrong_then_right.stderr


def _process_env(endpoint: str) -> dict[str, str]:
    return {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true"}


def test_usage_errors_are_one_line(endpoint) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "apilogs", "get", "--stage", "prod"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_process_env(endpoint),
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "apilogs: error: Missing option '--api-id' / '-a' (or a @TARGET from the config file, "
        "or APILOGS_API_ID) (see 'apilogs get --help')"
    )


def test_broken_pipe_is_quiet(client, endpoint, api) -> None:
    put(client, "/aws/lambda/primes", "s", [(BASE_MS + i, f"line {i}") for i in range(5000)])
    shell = (
        f"{sys.executable} -m apilogs get -a {api.api_id} -t prod --max-rps 0 "
        f"-s {BASE_MS - 1} -e {BASE_MS + 10_000} | head -n 2"
    )
    result = subprocess.run(
        shell, shell=True, capture_output=True, text=True, timeout=60, env=_process_env(endpoint)
    )
    assert len(result.stdout.splitlines()) == 2
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr


def test_watch_prints_new_events_once_and_exits_130_on_ctrl_c(client, endpoint, api) -> None:
    now = int(time.time() * 1000)
    put(client, "/aws/lambda/primes", "old", [(now - 1000, "before start")])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apilogs",
            "get",
            "-a",
            api.api_id,
            "-t",
            "prod",
            "-w",
            "--watch-interval",
            "0.2",
            "--max-rps",
            "0",
            "-s",
            "10s",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_process_env(endpoint),
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
    )  # type: ignore[union-attr]
    reader.start()
    try:
        for i in range(5):
            t = int(time.time() * 1000)
            put(client, "/aws/lambda/orders", f"new-{i}", [(t, f"tick {i}"), (t, f"tock {i}")])
            time.sleep(0.3)
        deadline = time.time() + 45
        while time.time() < deadline and len(lines) < 11:
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    messages = [json.loads(line)["message"] for line in lines]
    assert sorted(messages) == sorted(
        ["before start"] + [f"tick {i}" for i in range(5)] + [f"tock {i}" for i in range(5)]
    )
    assert proc.returncode == 130
    assert "Traceback" not in err


def test_non_utf8_terminal_gets_escapes_not_a_crash(client, endpoint, api) -> None:
    put(client, "/aws/lambda/primes", "s", [(BASE_MS + 1, "café ✓ 日本")])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "apilogs",
            "get",
            "-a",
            api.api_id,
            "-t",
            "prod",
            "--max-rps",
            "0",
            "-s",
            str(BASE_MS - 1),
            "-e",
            str(BASE_MS + 10_000),
            "-G",
            "-S",
        ],
        capture_output=True,
        timeout=60,
        env={**_process_env(endpoint), "PYTHONIOENCODING": "ascii"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("ascii").split() == [
        "primes",
        "-",
        "caf\\xe9",
        "\\u2713",
        "\\u65e5\\u672c",
    ]


def test_progress_goes_to_stderr_only_on_a_terminal(client, endpoint, api) -> None:
    from apilogs.fetch import FetchStats
    from apilogs.render.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stats = FetchStats(groups=4, groups_done=1, pages=12, events=34_567)
    screen = Tty()
    with Progress(stats, screen, enabled=True):
        time.sleep(0.5)
    assert "reading 1/4 groups · 12 pages · 34,567 events" in screen.getvalue()
    assert screen.getvalue().endswith("\r\x1b[K")  # the line is wiped at the end
    # Through the CLI, stderr is not a terminal here: no progress, stdout untouched.
    put(client, "/aws/lambda/primes", "s", [(BASE_MS + 1, "x")])
    code, out, err = run_get(endpoint, "-a", api.api_id, "-t", "prod", "-o", "json", *window())
    assert code == 0
    assert "reading" not in err and json.loads(out)["message"] == "x"


def test_pages_are_cut_at_one_megabyte_and_all_are_read(client, endpoint, api) -> None:
    # The embedded server cuts pages at 1 MB as CloudWatch Logs does (moto alone does not).
    big = "x" * 1500
    put(client, "/aws/lambda/orders", "s", [(BASE_MS + i, f"{i} {big}") for i in range(2000)])
    logs = client("logs")
    page = logs.filter_log_events(
        logGroupName="/aws/lambda/orders", startTime=BASE_MS - 1, interleaved=True
    )
    assert 600 < len(page["events"]) < 700 and page.get("nextToken")

    code, out, _ = run_get(
        endpoint, "-a", api.api_id, "-t", "prod", "--source", "orders", "-o", "json", *window()
    )
    numbers = [int(json.loads(line)["message"].split()[0]) for line in out.splitlines()]
    assert code == 0 and numbers == list(range(2000))


def test_a_pipe_gets_every_line_made_while_the_next_page_is_on_its_way(
    client, endpoint, api
) -> None:
    """Piped output goes out in chunks, but never waits on the network: the lines of the pages
    read so far reach the other end of the pipe while the next page is still coming."""
    group = "/aws/lambda/primes"
    # Two pages: moto answers 10,000 events a page; the second is held by the proxy. The window
    # ends soon after the last event, so the rest is one page (not time slices) read by token.
    put(client, group, "s", [(BASE_MS + i * 7, f"line {i}") for i in range(12_500)])
    put(client, "/access/shop", "s", [(BASE_MS + 3, "access 1"), (BASE_MS + 5, "access 2")])
    with fault_proxy(endpoint) as proxy:
        proxy.held_if = b'"nextToken"'
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "apilogs", "get", "-a", api.api_id, "-t", "prod"),
                *("--max-rps", "0", "-o", "json"),
                *("-s", str(BASE_MS - 1), "-e", str(BASE_MS + 90_000)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_process_env(proxy.url),
        )
        lines: list[str] = []
        page_one = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                # The page's last line waits: the next page may hold its millisecond too.
                if '"line 9998"' in line:
                    page_one.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert proxy.held.wait(60), f"the second page was never asked for: {len(lines)} lines"
            arrived = page_one.wait(20)
            seen_while_held = len(lines)
        finally:
            proxy.release.set()
            reader.join(60)
            proc.wait(60)
            assert proc.stderr is not None
            err = proc.stderr.read()
    assert arrived, f"only {seen_while_held} lines reached the pipe while the page was held"
    assert seen_while_held == 10_001  # the first page but its last line, the access log's two
    assert proc.returncode == 0, err
    assert len(lines) == 12_502
