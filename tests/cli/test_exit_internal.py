"""An error apilogs did not expect is its own bug: exit 70 (sysexits' EX_SOFTWARE), not 1,
which says "nothing found" (README, "Exit codes")."""

from __future__ import annotations

import pytest

from apilogs.cli.app import run_reporting_errors
from apilogs.cli.options import CommonOptions
from apilogs.cli.status import ExitStatus, exit_status
from apilogs.cli.tui import _crashed_if
from apilogs.errors import ApilogsError, RequestNotFound
from apilogs.fetch.insights import InsightsError


def _boom() -> None:
    raise RuntimeError("the parser fell over")


def test_an_unexpected_exception_exits_70_with_one_line_saying_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        run_reporting_errors(CommonOptions(), _boom)
    assert exited.value.code == ExitStatus.INTERNAL == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "unexpected RuntimeError: the parser fell over" in err
    assert "--debug" in err and "report" in err


def test_with_debug_the_traceback_is_shown() -> None:
    with pytest.raises(RuntimeError):
        run_reporting_errors(CommonOptions(debug=True), _boom)


class _NewKindOfError(ApilogsError):
    """An error class the exit-code table does not know yet."""


def test_an_error_class_the_table_does_not_know_is_internal_not_nothing_found() -> None:
    assert exit_status(_NewKindOfError("?")) is ExitStatus.INTERNAL
    assert exit_status(RequestNotFound(["abc"], 0, 1)) is ExitStatus.NOT_FOUND
    # A Logs Insights query that failed is AWS failing, not a bug.
    assert exit_status(InsightsError("Logs Insights refused the query")) is ExitStatus.AWS


def test_a_tui_that_crashed_exits_70(capsys: pytest.CaptureFixture[str]) -> None:
    _crashed_if(0)  # quit by the user: nothing to say
    with pytest.raises(SystemExit) as exited:
        _crashed_if(1)
    assert exited.value.code == 70
    assert "a bug in apilogs" in capsys.readouterr().err
