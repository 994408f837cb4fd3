"""The real `apilogs tui` in a real terminal: tmux runs it against moto's server, keys are sent
as a person types them, and the pane is read back with `capture-pane`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.support.demo_data import Traffic

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed: this smoke test runs the real TUI in a real terminal",
    ),
    pytest.mark.slow,
]


class Pane:
    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        ).stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)
            # A key right after Escape would arrive as Alt+key, as in any terminal.
            time.sleep(0.6 if key == "Escape" else 0.15)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def wait_for(self, test: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if test(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{text}")
            time.sleep(0.2)


@pytest.fixture
def pane() -> Iterator[Pane]:
    socket = f"apilogs-test-{uuid.uuid4().hex[:8]}"
    found = Pane(socket, "tui")
    yield found
    found.tmux("kill-server")


def test_the_real_tui_in_tmux(traffic: Traffic, pane: Pane) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "TERM": "xterm-256color",
    }
    command = [
        sys.executable, "-m", "apilogs", "tui", "--endpoint-url", traffic.url,
        "-a", traffic.app.rest_api_id, "-t", traffic.app.rest_stage,
        "-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 60_000),
        "--max-rps", "0", "--utc",
    ]  # fmt: skip
    shell = (
        # COLUMNS and LINES from the test's own environment would override the pane's size.
        "env -u COLUMNS -u LINES "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + " "
        + shlex.join(command)
        + "; echo TUI-EXITED $?; sleep 30"
    )
    pane.tmux("new-session", "-d", "-s", "tui", "-x", "150", "-y", "45", shell)
    truth = traffic.rest()
    screen = pane.wait_for(lambda t: "■ done" in t, "the window to be read")
    assert f"{len(truth):,} requests" in screen
    assert "Eratosthenes" in screen and "Requests" in screen and "CAUSE" in screen

    pane.keys("/")
    # Typed before the bar has the focus, the text would go to the table as keys (s sorts,
    # t switches the zone...): a person sees the bar first, and so does the test.
    pane.wait_for(lambda t: "Enter keeps, Esc undoes" in t, "the filter bar")
    pane.type("status:502")
    pane.wait_for(lambda t: "status:502" in t, "the typed filter")
    pane.keys("Enter")
    five_oh_two = sum(1 for t in truth if t.status == 502)
    screen = pane.wait_for(lambda t: "filter: status:502" in t, "the filter")
    assert f"Requests · {five_oh_two} of {len(truth):,}" in screen
    rows = [line for line in screen.splitlines() if line.startswith("│") and " 502 " in line]
    assert len(rows) == min(five_oh_two, len(rows)) and rows

    pane.keys("g", "Enter")
    screen = pane.wait_for(lambda t: "Waterfall" in t, "the detail of a 502")
    assert "→  502" in screen and "request id" in screen

    pane.keys("?")
    pane.wait_for(lambda t: "fn:NAME" in t and "Esc closes" in t, "the help screen")
    pane.keys("Escape", "Escape", "v")
    pane.wait_for(lambda t: "Stream ·" in t and "execution" in t, "the stream view")

    pane.keys("q")
    pane.wait_for(lambda t: "TUI-EXITED 0" in t, "apilogs tui to quit", timeout=15)


def test_apilogs_demo_opens_the_tui_on_a_terminal(pane: Pane) -> None:
    env = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    command = [sys.executable, "-m", "apilogs", "demo", "--seed", "3", "--rps", "5"]
    shell = (
        "env -u COLUMNS -u LINES -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + " "
        + shlex.join(command)
        + "; echo DEMO-EXITED $?; sleep 30"
    )
    pane.tmux("new-session", "-d", "-s", "tui", "-x", "150", "-y", "45", shell)
    row = re.compile(r"│\d\d:\d\d:\d\d\.\d{3}  (GET|POST) ")
    screen = pane.wait_for(lambda t: "● live" in t and bool(row.search(t)), "live rows", 90)
    assert "Eratosthenes" in screen
    pane.keys("q")
    pane.wait_for(lambda t: "DEMO-EXITED 0" in t, "the demo to stop", timeout=30)


def _tui_shell(traffic: Traffic) -> str:
    """`apilogs tui` on the traffic's window, in a shell line for tmux (then the exit status)."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "TERM": "xterm-256color",
    }
    command = [
        sys.executable, "-m", "apilogs", "tui", "--endpoint-url", traffic.url,
        "-a", traffic.app.rest_api_id, "-t", traffic.app.rest_stage,
        "-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 60_000),
        "--max-rps", "0", "--utc",
    ]  # fmt: skip
    return (
        "env -u COLUMNS -u LINES "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + " "
        + shlex.join(command)
        + "; echo TUI-EXITED $?; sleep 30"
    )


def test_the_first_screen_at_80x24_has_a_row_selected_and_enter_opens_it(
    traffic: Traffic, pane: Pane
) -> None:
    pane.tmux("new-session", "-d", "-s", "tui", "-x", "80", "-y", "24", _tui_shell(traffic))
    truth = traffic.rest()
    newest = max(truth, key=lambda t: t.start_ms)
    screen = pane.wait_for(
        lambda t: "■ done" in t and f"Detail · {newest.request_id}" in t,
        "the window read, the newest request selected",
    )
    lines = screen.splitlines()
    # Every column a person needs, on an 80-column terminal.
    [head] = [line for line in lines if "TIME" in line and "METHOD" in line]
    for column in ("PATH", "ST", "LATENCY", "CAUSE"):
        assert column in head, column
    rows = [line for line in lines if re.match(r"│\d\d:\d\d:\d\d\.\d{3} ", line)]
    assert rows and all(len(row) <= 80 for row in lines)
    # The newest row is the last one, and its story is in the detail pane already.
    assert rows[-1].startswith("│" + time.strftime("%H:%M:%S", time.gmtime(newest.start_ms / 1000)))
    assert "⏎ Open" in lines[-1] and "esc" not in lines[-1]

    pane.keys("Enter")
    screen = pane.wait_for(lambda t: "esc Back" in t.splitlines()[-1], "the detail pane open")
    assert f"request id    {newest.request_id}" in screen or "when " in screen

    # From there, e: a 5xx, its status and cause in the detail pane's first line.
    pane.keys("e")
    screen = pane.wait_for(lambda t: re.search(r"→  5\d\d", t) is not None, "a 5xx opened")
    [title] = [line for line in screen.splitlines() if "→  5" in line]
    assert len(title.strip("│ ")) > len("GET /x  →  502")

    # Esc: back to the requests; no filter, so nothing more to go back from.
    pane.keys("Escape")
    pane.wait_for(lambda t: "⏎ Open" in t.splitlines()[-1], "the requests pane again")
    pane.keys("q")
    pane.wait_for(lambda t: "TUI-EXITED 0" in t, "apilogs tui to quit", timeout=15)


def test_with_no_api_the_list_opens_an_api_and_b_comes_back(traffic: Traffic, pane: Pane) -> None:
    """`apilogs tui` with no API, on an 80x24 terminal: the list of the account's APIs, Enter
    on the sample REST API opens it in the TUI, b comes back to the list, q quits."""
    shell = _tui_shell(traffic).replace(
        shlex.join(["-a", traffic.app.rest_api_id, "-t", traffic.app.rest_stage]) + " ", ""
    )
    assert traffic.app.rest_api_id not in shell
    pane.tmux("new-session", "-d", "-s", "tui", "-x", "80", "-y", "24", shell)
    screen = pane.wait_for(lambda t: "stages summed" in t, "the APIs summed")
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines)
    [head] = [line for line in lines if "API" in line and "5XX" in line]
    rows = lines[lines.index(head) + 1 :]
    index = next(i for i, row in enumerate(rows) if row.strip().startswith(traffic.app.rest_api_id))
    rest = rows[index].split()
    truth = traffic.rest()
    # The row's counts are the window's: requests, then 4xx and 5xx.
    assert rest[2] == f"{len(truth):,}"
    assert rest[4] == f"{sum(1 for t in truth if t.status >= 500):,}"

    pane.keys(*["j"] * index, "Enter")
    screen = pane.wait_for(lambda t: "■ done" in t, "the API opened, its window read")
    assert f"{len(truth):,} requests" in screen and "b APIs" in screen.splitlines()[-1]

    pane.keys("b")
    pane.wait_for(lambda t: "stages summed" in t and "⏎ Open API" in t, "the list again")
    pane.keys("q")
    pane.wait_for(lambda t: "TUI-EXITED 0" in t, "apilogs tui to quit", timeout=15)
