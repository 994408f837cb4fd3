"""The ecosystem through the CLI: `show --export` for a bug report, `show --link` into the
console, `apilogs lnav-format [--install]`."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

from click.testing import CliRunner

from apilogs.cli import cli
from apilogs.demo.scenario import Scenario as Simulated
from tests.support.demo_data import Traffic


def run(traffic: Traffic, *args: str) -> tuple[int, str, str]:
    app = traffic.app
    window = ["-s", str(traffic.start_ms - 60_000), "-e", str(traffic.end_ms + 60_000)]
    result = CliRunner().invoke(
        cli,
        [
            *args,
            "-a",
            app.rest_api_id,
            "-t",
            app.rest_stage,
            *window,
            "--endpoint-url",
            traffic.url,
            "--max-rps",
            "0",
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_show_export_writes_a_report(traffic: Traffic, tmp_path: Path) -> None:
    failed = next(t for t in traffic.rest() if t.outcome is Simulated.UNHANDLED_EXCEPTION)
    report = tmp_path / "bug.md"
    code, out, err = run(traffic, "show", failed.request_id, "--export", str(report))
    assert code == 0, err
    assert out == "" and f"wrote {report} (markdown)" in err
    text = report.read_text()
    assert failed.request_id in text and "502" in text and "```" in text
    as_json = tmp_path / "bug.json"
    code, _, err = run(traffic, "show", failed.lambda_request_id or "", "--export", str(as_json))
    assert code == 0, err
    doc = json.loads(as_json.read_text())
    assert doc["request_id"] == failed.request_id and doc["events"]


def test_show_export_refuses_a_file_that_says_no_format_before_reading(traffic: Traffic) -> None:
    code, _, err = run(traffic, "show", traffic.rest()[0].request_id, "--export", "bug.pdf")
    assert code == 2 and err.count("\n") == 1


def test_show_link_opens_the_console_on_the_request(traffic: Traffic) -> None:
    asked = traffic.rest()[3]
    code, out, err = run(traffic, "show", asked.request_id, "--link")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Logs Insights") and "console.aws.amazon.com" in lines[1]
    assert (
        asked.request_id in unquote(lines[1]).replace("*2d", "-")
        or asked.request_id[:8] in lines[1]
    )
    assert any(traffic.app.execution_log_group.split("/")[0] in unquote(line) for line in lines)


def test_lnav_format_prints_and_installs(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lnav-format"])
    assert result.exit_code == 0 and "apilogs_json" in json.loads(result.stdout)
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    result = CliRunner().invoke(cli, ["lnav-format", "--install"], env=env)
    assert result.exit_code == 0, result.stderr
    # Where lnav looks (~/.lnav, or the XDG place): the command said where it wrote.
    installed = next(tmp_path.rglob("formats/installed/*.json"))
    assert str(installed) in result.stdout
    assert "apilogs_json" in json.loads(installed.read_text())
    installed.write_text("{}")  # someone else's file
    result = CliRunner().invoke(cli, ["lnav-format", "--install"], env=env)
    assert result.exit_code == 2 and "--force" in result.stderr
    result = CliRunner().invoke(cli, ["lnav-format", "--install", "--force"], env=env)
    assert result.exit_code == 0 and "apilogs_json" in installed.read_text()
