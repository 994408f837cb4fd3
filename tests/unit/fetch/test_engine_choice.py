"""`--engine auto`: a pure choice from the window's length and the groups' stored bytes."""

from __future__ import annotations

from apilogs.fetch.auto import choose_engine, estimate_window_bytes
from apilogs.model import Role, Source

HOUR = 3_600_000
GB = 2**30


def group(name: str, stored: int | None, retention: int | None = 30) -> Source:
    return Source(Role.LAMBDA, name, "us-east-1", stored_bytes=stored, retention_days=retention)


def test_a_short_window_is_read_with_filter_log_events_whatever_the_size() -> None:
    choice = choose_engine([group("/a", 500 * GB)], 0, 4 * 60_000)
    assert choice.engine == "filter"
    assert choice.reason == "engine auto: FilterLogEvents (a 4 min window is read quickly)"


def test_a_long_window_goes_to_insights_with_the_estimated_scan_and_cost() -> None:
    choice = choose_engine([group("/a", 30 * GB, 30), group("/b", None)], 0, 7 * 24 * HOUR)
    assert choice.engine == "insights"
    # 30 GB over 30 days of retention: 7 GB in a week.
    assert choice.estimated_bytes == 7 * GB
    assert choice.reason.startswith("engine auto: Logs Insights (a 7.0 days window, est. 7.0 GB")
    assert "$0.0350" in choice.reason and "list price" in choice.reason


def test_a_window_too_big_for_filter_log_events_goes_to_insights() -> None:
    # 300 GB over 30 days: ~427 MB an hour, ~85 s at 5 requests/s of 1 MB pages.
    choice = choose_engine([group("/a", 300 * GB)], 0, HOUR)
    assert choice.engine == "insights"
    assert choice.reason == (
        "engine auto: Logs Insights (~426.7 MB in the window would take FilterLogEvents ~85 s "
        "at 5 requests/s; scanning it costs ~$0.0021 at the us-east-1 list price)"
    )
    # Twice the rate: ~43 s, under the minute: FilterLogEvents.
    assert choose_engine([group("/a", 300 * GB)], 0, HOUR, rps=10).engine == "filter"


def test_small_groups_and_unknown_sizes_stay_with_filter_log_events() -> None:
    choice = choose_engine([group("/a", 2 * GB)], 0, HOUR)
    assert choice.engine == "filter"
    assert choice.reason == "engine auto: FilterLogEvents (~2.8 MB in a 1.0 h window)"
    unknown = choose_engine([group("/a", None)], 0, 2 * HOUR)
    assert (unknown.engine, unknown.estimated_bytes) == ("filter", None)
    assert unknown.reason == "engine auto: FilterLogEvents (a 2.0 h window)"
    assert choose_engine([group("/a", 900 * GB)], 0, 10 * HOUR, rps=0).engine == "filter"


def test_the_estimate_never_exceeds_what_a_group_holds_and_counts_a_group_once() -> None:
    never_expire = group("/a", 10 * GB, retention=None)
    assert estimate_window_bytes([never_expire], 90 * 24 * HOUR) == 10 * GB
    shared = [group("/a", 3 * GB, 3), group("/a", 3 * GB, 3)]  # two functions, one group
    assert estimate_window_bytes(shared, 24 * HOUR) == 1 * GB
