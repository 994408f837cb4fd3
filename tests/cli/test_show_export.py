"""`show ID --export FILE` with the files people name: a wrong path fails at once, before any
AWS call, as one usage line; an existing file is replaced only with --force; a symbolic link or
a special file never is; the file is written whole or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from apilogs.cli import cli
from tests.support.demo_data import Traffic
from tests.support.faultproxy import fault_proxy


def _args(traffic: Traffic, url: str, *args: str) -> list[str]:
    app = traffic.app
    return [
        "show",
        traffic.rest()[0].request_id,
        *args,
        "-a",
        app.rest_api_id,
        "-t",
        app.rest_stage,
        "-s",
        str(traffic.start_ms - 60_000),
        "-e",
        str(traffic.end_ms + 60_000),
        "--endpoint-url",
        url,
        "--max-rps",
        "0",
    ]


def _export(traffic: Traffic, *args: str) -> tuple[int, str, int]:
    """Exit code, stderr, and how many AWS calls were made (through a counting proxy)."""
    with fault_proxy(traffic.url) as proxy:
        result = CliRunner().invoke(cli, _args(traffic, proxy.url, *args))
        calls = sum(proxy.ops.values())
    return result.exit_code, result.stderr, calls


def _refused(code: int, err: str, calls: int, says: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "apilogs: error: --export" in err and says in err, err
    assert calls == 0, "a path that cannot be written must fail before any AWS call"
    assert "Traceback" not in err


def test_a_new_file_is_written_whole_and_nothing_else_is_left(
    traffic: Traffic, tmp_path: Path
) -> None:
    report = tmp_path / "bug.md"
    code, err, _ = _export(traffic, "--export", str(report))
    assert code == 0, err
    assert traffic.rest()[0].request_id in report.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["bug.md"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask


def test_an_existing_file_is_kept_unless_force(traffic: Traffic, tmp_path: Path) -> None:
    report = tmp_path / "bug.md"
    report.write_text("my notes\n")
    code, err, calls = _export(traffic, "--export", str(report))
    _refused(code, err, calls, "the file exists (--force replaces it)")
    assert report.read_text() == "my notes\n"

    code, err, _ = _export(traffic, "--export", str(report), "--force")
    assert code == 0, err
    assert traffic.rest()[0].request_id in report.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["bug.md"]


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_symbolic_link_is_refused_and_its_target_untouched(
    traffic: Traffic, tmp_path: Path, force: list[str]
) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    link = tmp_path / "bug.md"
    link.symlink_to(target)
    code, err, calls = _export(traffic, "--export", str(link), *force)
    _refused(code, err, calls, "is a symbolic link")
    assert target.read_text() == "keep me\n" and link.is_symlink()

    dangling = tmp_path / "new.md"
    dangling.symlink_to(tmp_path / "nowhere.md")
    code, err, calls = _export(traffic, "--export", str(dangling), *force)
    _refused(code, err, calls, "is a symbolic link")
    assert not (tmp_path / "nowhere.md").exists()


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_fifo_is_refused_without_blocking(
    traffic: Traffic, tmp_path: Path, force: list[str]
) -> None:
    fifo = tmp_path / "bug.md"
    os.mkfifo(fifo)
    # A process of its own: a write that blocked on the FIFO would fail the test by its
    # timeout instead of hanging it.
    command = [sys.executable, "-m", "apilogs", *_args(traffic, traffic.url, "--export", str(fifo))]
    proc = subprocess.run(
        [*command, *force],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "is not a regular file" in proc.stderr and proc.stderr.count("\n") == 1
    assert proc.stdout == ""


def test_a_device_is_refused_even_with_force(traffic: Traffic) -> None:
    code, err, calls = _export(
        traffic, "--export", os.devnull, "--force", "--export-format", "json"
    )
    _refused(code, err, calls, "is not a regular file")


def test_a_missing_folder_fails_before_the_read(traffic: Traffic, tmp_path: Path) -> None:
    code, err, calls = _export(traffic, "--export", str(tmp_path / "no" / "such" / "bug.md"))
    _refused(code, err, calls, "does not exist")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_a_folder_without_write_permission_fails_before_the_read(
    traffic: Traffic, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, err, calls = _export(traffic, "--export", str(locked / "bug.md"))
    finally:
        locked.chmod(0o700)
    _refused(code, err, calls, "cannot write in the folder")


def test_force_without_export_is_a_usage_error(traffic: Traffic) -> None:
    with fault_proxy(traffic.url) as proxy:
        result = CliRunner().invoke(cli, _args(traffic, proxy.url, "--force"))
        calls = sum(proxy.ops.values())
    assert result.exit_code == 2 and "--force" in result.stderr and calls == 0
