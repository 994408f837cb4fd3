"""Time parsing: every accepted form against a pinned `now`, local-zone and DST handling, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.times import (
    TimeParseError,
    format_duration_ms,
    parse_duration,
    parse_time,
    parse_time_noted,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_MS = 1_714_564_800_000
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ago(**delta: float) -> int:
    return NOW_MS - int(timedelta(**delta) / timedelta(milliseconds=1))


@pytest.fixture
def local_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the process's local zone New York, whatever the machine says."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_pinned_now_matches_constant() -> None:
    assert ms(NOW) == NOW_MS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW_MS),
        ("NOW", NOW_MS),
        ("  now  ", NOW_MS),
        ("5m", ago(minutes=5)),
        ("90s", ago(seconds=90)),
        ("2h", ago(hours=2)),
        ("3d", ago(days=3)),
        ("1w", ago(weeks=1)),
        ("1.5h", ago(minutes=90)),
        ("500ms", ago(milliseconds=500)),
        ("1h ago", ago(hours=1)),
        ("5m ago", ago(minutes=5)),
        ("5 m ago", ago(minutes=5)),
        ("2 days ago", ago(days=2)),
        ("2 days", ago(days=2)),
        ("10 minutes ago", ago(minutes=10)),
        ("10 mins ago", ago(minutes=10)),
        ("1 hour 30 minutes ago", ago(hours=1, minutes=30)),
        ("1 hour, 30 minutes ago", ago(hours=1, minutes=30)),
        ("1 hour and 30 minutes ago", ago(hours=1, minutes=30)),
        ("1h30m", ago(hours=1, minutes=30)),
        ("1h 30m ago", ago(hours=1, minutes=30)),
        ("an hour ago", ago(hours=1)),
        ("a minute ago", ago(minutes=1)),
        ("2 Weeks Ago", ago(weeks=2)),
    ],
)
def test_relative(text: str, expected: int) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),
        ("2024-05-01T10:00:00.123Z", ms(datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC))),
        ("2024-05-01T10:00:00+02:00", ms(datetime(2024, 5, 1, 8, tzinfo=UTC))),
        ("2024-05-01T10:00:00-0530", ms(datetime(2024, 5, 1, 15, 30, tzinfo=UTC))),
        ("2024-05-01 10:00", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),
        ("2024-05-01", ms(datetime(2024, 5, 1, tzinfo=UTC))),
        ("20240501T100000Z", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),
        ("May 1 2024 10:00", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),
        ("Wed, 01 May 2024 10:00:00 GMT", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),
        ("2024/05/01 10:00 UTC", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),
        ("10:00", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),  # today
        ("1714557600", ms(datetime(2024, 5, 1, 10, tzinfo=UTC))),
        ("1714557600.25", ms(datetime(2024, 5, 1, 10, tzinfo=UTC)) + 250),
        ("1714557600123", ms(datetime(2024, 5, 1, 10, tzinfo=UTC)) + 123),
    ],
)
def test_absolute_in_utc(text: str, expected: int) -> None:
    assert parse_time(text, now=NOW, tz=UTC) == expected


def test_naive_iso_uses_given_zone() -> None:
    # Summer in Berlin is UTC+2; winter UTC+1: the zone's rules apply, not a fixed offset.
    summer = parse_time("2024-07-01 10:00", now=NOW, tz=BERLIN)
    winter = parse_time("2024-01-01 10:00", now=NOW, tz=BERLIN)
    assert summer == ms(datetime(2024, 7, 1, 8, tzinfo=UTC))
    assert winter == ms(datetime(2024, 1, 1, 9, tzinfo=UTC))


def test_explicit_offset_wins_over_zone() -> None:
    assert parse_time("2024-05-01T10:00:00Z", now=NOW, tz=BERLIN) == ms(
        datetime(2024, 5, 1, 10, tzinfo=UTC)
    )


def test_naive_iso_without_zone_is_local(local_new_york: None) -> None:
    assert parse_time("2024-01-01 10:00", now=NOW) == ms(datetime(2024, 1, 1, 15, tzinfo=UTC))
    assert parse_time("2024-07-01 10:00", now=NOW) == ms(datetime(2024, 7, 1, 14, tzinfo=UTC))


def test_today_and_yesterday_in_zone() -> None:
    # 12:00 UTC is 14:00 in Berlin: same calendar day.
    assert parse_time("today", now=NOW, tz=BERLIN) == ms(datetime(2024, 4, 30, 22, tzinfo=UTC))
    assert parse_time("yesterday", now=NOW, tz=BERLIN) == ms(datetime(2024, 4, 29, 22, tzinfo=UTC))
    assert parse_time("Today", now=NOW, tz=UTC) == ms(datetime(2024, 5, 1, tzinfo=UTC))
    assert parse_time("yesterday", now=NOW, tz=UTC) == ms(datetime(2024, 4, 30, tzinfo=UTC))


def test_today_uses_the_local_calendar_day() -> None:
    # 23:30 UTC is already tomorrow in Berlin.
    late = datetime(2024, 5, 1, 23, 30, tzinfo=UTC)
    assert parse_time("today", now=late, tz=BERLIN) == ms(datetime(2024, 5, 1, 22, tzinfo=UTC))


def test_yesterday_across_dst_change_in_zone() -> None:
    # US clocks went forward on 2024-03-10: yesterday's midnight was EST, today's is EDT.
    now = datetime(2024, 3, 11, 16, tzinfo=UTC)
    assert parse_time("today", now=now, tz=NEW_YORK) == ms(datetime(2024, 3, 11, 4, tzinfo=UTC))
    assert parse_time("yesterday", now=now, tz=NEW_YORK) == ms(datetime(2024, 3, 10, 5, tzinfo=UTC))


def test_yesterday_across_dst_change_local(local_new_york: None) -> None:
    now = datetime(2024, 3, 11, 16, tzinfo=UTC)
    assert parse_time("today", now=now) == ms(datetime(2024, 3, 11, 4, tzinfo=UTC))
    assert parse_time("yesterday", now=now) == ms(datetime(2024, 3, 10, 5, tzinfo=UTC))


def test_naive_now_is_read_in_zone() -> None:
    naive = datetime(2024, 5, 1, 14, 0)
    assert parse_time("now", now=naive, tz=BERLIN) == NOW_MS


def test_default_now_is_current_time() -> None:
    before = int(time.time() * 1000)
    got = parse_time("now")
    after = int(time.time() * 1000)
    assert before - 1 <= got <= after + 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "yesterdayy",
        "tomorrow",
        "ago",
        "5",
        "123",
        "2024",
        "17145576001234",  # 14 digits
        "1.5",
        "12/13",
        "-5m",
        "+5m",
        "in 5m",
        "5x",
        "am",
        "1h 30",
        "5m ago ago",
        "may",
        "monday",
        "2024-13-01",
        "2024-05-01 25:00",
        "2024-05-01 10:00 EST",  # ambiguous abbreviation: refused, never silently ignored
        "99999999999999d",
        "\x1b[31m2024-05-01",
    ],
)
def test_rejects_with_one_line_message(text: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time(text, now=NOW, tz=UTC)
    message = str(info.value)
    assert "\n" not in message and "\x1b" not in message
    assert message.startswith("unparsable time ")
    assert repr(text) in message  # the input, verbatim but escaped
    assert "2 days ago" in message and "epoch" in message


def test_error_message_shape() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time("yesterdayy", now=NOW)
    assert str(info.value) == (
        "unparsable time 'yesterdayy': use 5m, 1h ago, 2 days ago, yesterday, now, "
        "ISO 8601 (2024-05-01T10:00:00Z) or epoch seconds/ms"
    )


def test_unknown_zone_is_named() -> None:
    with pytest.raises(TimeParseError, match="unknown zone 'EST'"):
        parse_time("2024-05-01 10:00 EST", now=NOW)


def test_long_input_is_cut_in_message() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_time("x" * 10_000, now=NOW)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31 23:59"])
def test_extreme_local_dates_do_not_crash(local_new_york: None, text: str) -> None:
    # mktime() cannot place year 1 in local time on every platform: an error, never a crash.
    try:
        assert isinstance(parse_time(text, now=NOW), int)
    except TimeParseError as exc:
        assert "out of range" in str(exc)


def test_time_parse_error_is_value_error() -> None:
    assert issubclass(TimeParseError, ValueError)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        # Near misses: pieces of valid forms glued together at random.
        st.lists(
            st.sampled_from(
                ["1", "2024", "-", "05", ":", "T", "Z", "+02:00", " ", "h", "m", "ago", "May", "."]
            ),
            max_size=8,
        ).map("".join),
    ),
    st.sampled_from([None, UTC, BERLIN]),
)
def test_never_crashes_with_anything_but_time_parse_error(text: str, tz: ZoneInfo | None) -> None:
    try:
        result = parse_time(text, now=NOW, tz=tz)
    except TimeParseError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, int)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(["s", "m", "h", "d", "w", " seconds ago", " minutes ago", " hours ago"]),
)
def test_relative_amounts_go_back_exactly(count: int, unit: str) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit.split()[0][0]]
    assert parse_time(f"{count}{unit}", now=NOW) == NOW_MS - count * seconds * 1000


# --- durations ---


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("2s", 2.0),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("250 ms", 0.25),
        ("2 minutes", 120.0),
        ("0s", 0.0),
        (" 3S ", 3.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "500", "1.5", "-1s", "fast", "1s ago", "1x", "ms"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_duration(text)
    assert str(info.value).startswith("unparsable duration ")
    assert "500ms" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("ms_value", "text"),
    [
        (0, "0 ms"),
        (0.4, "0.4 ms"),
        (1.25, "1.2 ms"),
        (9.96, "10 ms"),  # rounds up into the next format
        (15.74, "16 ms"),
        (850, "850 ms"),
        (999.4, "999 ms"),
        (999.6, "1.0 s"),
        (1234, "1.2 s"),
        (59_940, "59.9 s"),
        (59_960, "1m 00s"),
        (123_456, "2m 03s"),
        (3_599_600, "1h 00m"),
        (3_725_000, "1h 02m"),
        (90_000_000, "1d 01h"),
        (-850, "-850 ms"),
        (float("nan"), "?"),
        (float("inf"), "?"),
    ],
)
def test_format_duration_ms(ms_value: float, text: str) -> None:
    assert format_duration_ms(ms_value) == text


# --- which reading of an ambiguous or skipped local time was taken ---


def test_a_time_that_happens_twice_says_it_took_the_first() -> None:
    text = "2026-11-01 01:30"
    got, note = parse_time_noted(text, tz=NEW_YORK)
    assert got == parse_time(text, tz=NEW_YORK) == ms(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))
    assert note == (
        "2026-11-01 01:30 happens twice in America/New_York (DST ends): took the first, 01:30-04:00"
    )


def test_a_time_that_does_not_exist_says_what_was_taken() -> None:
    text = "2026-03-08 02:30:15"
    got, note = parse_time_noted(text, tz=NEW_YORK)
    assert got == parse_time(text, tz=NEW_YORK) == ms(datetime(2026, 3, 8, 7, 30, 15, tzinfo=UTC))
    assert note == (
        "2026-03-08 02:30:15 does not exist in America/New_York (DST starts): took 03:30:15-04:00"
    )


def test_a_skipped_midnight_is_noted_for_today_and_yesterday() -> None:
    # Cuba moves its clocks at midnight: 2024-03-10 00:00 never happened in Havana.
    havana = ZoneInfo("America/Havana")
    for text, now in (
        ("today", datetime(2024, 3, 10, 12, tzinfo=UTC)),
        ("yesterday", datetime(2024, 3, 11, 12, tzinfo=UTC)),
    ):
        got, note = parse_time_noted(text, now=now, tz=havana)
        assert got == parse_time(text, now=now, tz=havana)
        assert (
            note
            == "2024-03-10 00:00 does not exist in America/Havana (DST starts): took 01:00-04:00"
        )


@pytest.mark.parametrize(
    "text",
    ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30Z", "2026-11-01 01:30 UTC", "1793511000",
     "5m", "now", "2026-11-01 02:30", "2026-11-01 00:59", "2026-03-08 03:00", "2026-03-08 01:59",
     "today"],
)  # fmt: skip
def test_no_note_when_the_reading_is_certain(text: str) -> None:
    got, note = parse_time_noted(text, now=NOW, tz=NEW_YORK)
    assert got == parse_time(text, now=NOW, tz=NEW_YORK)
    assert note is None


def test_a_naive_now_is_not_noted() -> None:
    # `now` is the caller's clock, not the user's text.
    assert parse_time_noted("5m", now=datetime(2026, 11, 1, 1, 30), tz=NEW_YORK)[1] is None


_TRANSITIONS = [datetime(2026, 3, 8, 1), datetime(2026, 11, 1, 0), datetime(2025, 3, 30, 1),
                datetime(2025, 10, 26, 1), datetime(2024, 3, 10, 0)]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    start=st.sampled_from(_TRANSITIONS),
    minutes=st.integers(0, 180),
    zone=st.sampled_from(["America/New_York", "Europe/Berlin", "America/Havana", "UTC",
                          "Australia/Lord_Howe"]),
)  # fmt: skip
def test_a_note_exactly_when_the_wall_time_is_ambiguous_or_skipped(
    start: datetime, minutes: int, zone: str
) -> None:
    tz = ZoneInfo(zone)
    naive = start + timedelta(minutes=minutes)
    text = naive.strftime("%Y-%m-%d %H:%M")
    got, note = parse_time_noted(text, tz=tz)
    assert got == parse_time(text, tz=tz)
    # PEP 495: the two folds of a wall time disagree exactly when it is ambiguous or skipped.
    uncertain = naive.replace(tzinfo=tz).utcoffset() != naive.replace(fold=1, tzinfo=tz).utcoffset()
    assert (note is not None) == uncertain
    if note is not None:
        assert note.startswith(f"{text} ") and zone in note and "\n" not in note
        # The note names the instant taken, as the zone shows it.
        assert note.endswith(_shown(got, tz))


def _shown(got_ms: int, tz: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(got_ms / 1000, UTC).astimezone(tz)
    offset = moment.isoformat()[-6:]
    return f"{moment:%H:%M}{offset}"


def test_local_time_notes(local_new_york: None) -> None:
    got, note = parse_time_noted("2026-11-01 01:30")
    assert got == parse_time("2026-11-01 01:30") == ms(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))
    assert note == (
        "2026-11-01 01:30 happens twice in local time EST/EDT (DST ends): took the first, "
        "01:30-04:00"
    )
    # What the system makes of a skipped time is its business; the note says what it was.
    got, note = parse_time_noted("2026-03-08 02:30")
    assert got == parse_time("2026-03-08 02:30")
    assert note is not None and note.startswith(
        "2026-03-08 02:30 does not exist in local time EST/EDT (DST starts): took "
    )
    assert note.endswith(_shown(got, NEW_YORK))
    assert parse_time_noted("2026-07-01 10:00") == (parse_time("2026-07-01 10:00"), None)


@pytest.mark.parametrize("text", ["2024-01-01T00:00:00+24:00", "2024-01-01 00:00 -9999"])
def test_an_offset_of_a_day_or_more_is_one_clear_error(text: str) -> None:
    """Found by the property above: dateutil keeps such an offset, Python then refuses it."""
    with pytest.raises(TimeParseError, match="a zone offset of 24 hours or more"):
        parse_time(text, now=NOW)
