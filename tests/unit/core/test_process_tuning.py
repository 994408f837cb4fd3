"""What a CLI process sets for itself before it reads (apilogs.cli.app.tune_collector)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from apilogs.cli import app


def test_the_collector_runs_less_often_and_leaves_start_up_out() -> None:
    before = gc.get_threshold()
    try:
        app.tune_collector()
        assert gc.get_threshold() == app.GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas")
def test_limiting_malloc_arenas_leaves_threads_working_with_or_without_the_users_setting() -> None:
    # In a child: mallopt cannot be undone, and must run before any thread.
    code = (
        "from apilogs.cli import app; app.limit_malloc_arenas();"
        "import threading; t = threading.Thread(target=lambda: bytearray(10**6)); t.start();"
        "t.join(); print('ok')"
    )
    for extra in ({}, {"MALLOC_ARENA_MAX": "4"}):
        env = {**os.environ, **extra}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
