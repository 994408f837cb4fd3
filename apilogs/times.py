"""Times as people type them ('1h ago', 'yesterday', ISO 8601, epoch) → epoch milliseconds UTC,
and durations both ways ('1.5s' → 1.5; 123456 ms → '2m 03s').

Everything here is pure: the current time and the zone come in as arguments (`now`, `tz`), so the
relative forms are testable and the CLI decides what "local" means (`--utc` passes `tz=UTC`).
"""

from __future__ import annotations

import functools
import math
import re
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime

from dateutil import parser as _dateutil_parser

from apilogs.errors import InvalidInput

__all__ = [
    "MAX_MS",
    "MIN_MS",
    "TimeArg",
    "TimeParseError",
    "format_duration_ms",
    "invalid_time",
    "is_valid_ms",
    "iso_utc",
    "iso_utc_or_none",
    "parse_duration",
    "parse_time",
    "parse_time_noted",
    "resolve_time",
    "resolve_window",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

_TIME_FORMS = (
    "use 5m, 1h ago, 2 days ago, yesterday, now, "
    "ISO 8601 (2024-05-01T10:00:00Z) or epoch seconds/ms"
)
_DURATION_FORMS = "use 500ms, 1.5s, 2m or 1h30m"


class TimeParseError(InvalidInput, ValueError):
    """A time or duration we could not read. The message is one line, fit for a CLI error."""


def _fail(what: str, text: str, forms: str, detail: str = "") -> TimeParseError:
    # repr() keeps the message on one line whatever the input holds; the cut keeps it short.
    shown = text if len(text) <= 60 else text[:57] + "..."
    extra = f" ({detail})" if detail else ""
    return TimeParseError(f"unparsable {what} {shown!r}{extra}: {forms}")


# --- relative amounts: "5m", "1h ago", "1 hour 30 minutes ago", "an hour ago", "1h30m" ---

_UNIT_SECONDS: dict[str, float] = {}
for _names, _seconds in (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    (("s", "sec", "secs", "second", "seconds"), 1.0),
    (("m", "min", "mins", "minute", "minutes"), 60.0),
    (("h", "hr", "hrs", "hour", "hours"), 3600.0),
    (("d", "day", "days"), 86400.0),
    (("w", "wk", "wks", "week", "weeks"), 604800.0),
):
    for _name in _names:
        _UNIT_SECONDS[_name] = _seconds

# Longest names first so "mins" is not read as "m" followed by junk. "m" is always minutes: months
# have no fixed length, and nobody wants `5m` to mean five months of logs.
_UNIT_RE = "|".join(sorted(_UNIT_SECONDS, key=len, reverse=True))
# "a"/"an" need a space after them, or "am" would read as "one minute".
_PART = r"(?:(?P<num>\d+(?:\.\d+)?)\s*|(?P<article>an?)\s+)(?P<unit>{units})(?![a-z])"
_PART_RE = re.compile(_PART.format(units=_UNIT_RE))
# The same part without group names, repeated: '1 hour, 30 minutes', '1h and 30m', '1h30m'.
_BARE_PART = re.sub(r"\?P<\w+>", "", _PART).format(units=_UNIT_RE)
_AMOUNT_RE = re.compile(rf"{_BARE_PART}(?:\s*,?\s*(?:and\s+)?{_BARE_PART})*")
_AGO_RE = re.compile(r"\s*\bago$")


def _amount_seconds(text: str) -> float | None:
    """Seconds in '1h 30m' / '2 days' / 'an hour'; None when `text` is not such an amount."""
    if not _AMOUNT_RE.fullmatch(text):
        return None
    total = 0.0
    for part in _PART_RE.finditer(text):
        count = 1.0 if part["article"] else float(part["num"])
        total += count * _UNIT_SECONDS[part["unit"]]
    return total


# --- absolute forms ---

_EPOCH_S_RE = re.compile(r"\d{10}(?:\.\d+)?")
_EPOCH_MS_RE = re.compile(r"\d{13}")
_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UT"})
# dateutil reads nearly anything as *some* date ('-5m' → today 00:05, '1.5' → May 1st), so it only
# gets text that has a clock time, a 4-digit year or a month name, and never a number+unit that
# was meant as a relative amount.
_PLAUSIBLE_ABSOLUTE_RE = re.compile(
    r"\d:\d\d|(?<!\d)\d{4}(?!\d)|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", re.IGNORECASE
)
_LOOKS_RELATIVE_RE = re.compile(rf"\d\s*(?:{_UNIT_RE})(?![a-z])", re.IGNORECASE)


class _UnknownZone(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _zone_names(name: str | None, offset: int | None) -> int | None:
    """dateutil's tzinfos hook: numeric offsets and UTC only.

    Left alone, dateutil drops a zone name it does not know ('EST', 'CET') with a warning and
    returns a naive time, which we would then read as local: silently wrong by hours. Zone
    abbreviations are ambiguous anyway (IST, CST), so we refuse them."""
    if offset is not None:
        return offset
    if name is None:
        return None
    if name.upper() in _UTC_NAMES:
        return 0
    raise _UnknownZone(name)


def _to_ms(moment: datetime) -> int:
    # Integer arithmetic: timestamp() goes through a float and can be off by one ms.
    return (moment - _EPOCH) // _ONE_MS


def _localize(naive: datetime, tz: tzinfo | None, seen: list[datetime] | None = None) -> datetime:
    if seen is not None:
        seen.append(naive)
    if tz is not None:
        return naive.replace(tzinfo=tz)
    # A naive datetime's astimezone() reads it as system local time, DST included.
    return naive.astimezone()


def _local_midnight(day: date, tz: tzinfo | None, seen: list[datetime] | None = None) -> datetime:
    return _localize(datetime.combine(day, dtime()), tz, seen)


def _local_date(moment: datetime, tz: tzinfo | None) -> date:
    return moment.astimezone(tz).date() if tz is not None else moment.astimezone().date()


def parse_time(text: str, *, now: datetime | None = None, tz: tzinfo | None = None) -> int:
    """Read a point in time; return epoch milliseconds (UTC).

    Accepted (case-insensitive, surrounding blanks ignored):

    - ``now``; ``today`` / ``yesterday`` (midnight, local or `tz`);
    - an amount meaning *that long ago*, with or without ``ago``: ``5m``, ``90s``, ``2h``, ``3d``,
      ``1w``, ``1.5h``, ``1h ago``, ``2 days ago``, ``an hour ago``, ``1 hour 30 minutes ago``,
      ``1h30m``. ``m`` is minutes, never months;
    - epoch seconds (10 digits, optional fraction) or milliseconds (13 digits);
    - ISO 8601 with or without a zone (``2024-05-01T10:00:00Z``, ``2024-05-01 10:00``,
      ``2024-05-01``), and what dateutil reads beyond that (``May 1 2024 10:00``, ``10:00`` for
      today; numeric dates other than ISO are read month first, as dateutil does).
      A time without a zone is local time, or in `tz` when given. Zone abbreviations
      other than UTC/GMT/Z are refused: they are ambiguous and dateutil would ignore them.

    `now` defaults to the current time; a naive `now` is read like a naive input (local or `tz`).
    Raises TimeParseError with a one-line message otherwise.

    A local time that happens twice (the clocks go back) is read as the first; one that does
    not exist (the clocks go forward) as whatever `tz` (or the system, for local time) makes of
    it. `parse_time_noted` says which reading was taken.
    """
    return _parse_time(text, now, tz, None)


def parse_time_noted(
    text: str, *, now: datetime | None = None, tz: tzinfo | None = None
) -> tuple[int, str | None]:
    """`parse_time`, and a one-line note when the text named a local time that is ambiguous or
    does not exist in the zone (a DST change), saying which reading was taken:

    - ``2026-11-01 01:30 happens twice in America/New_York (DST ends): took the first,
      01:30-04:00``
    - ``2026-03-08 02:30 does not exist in America/New_York (DST starts): took 03:30-04:00``

    The note is None for every other input (a zone in the text, UTC, an epoch, an amount ago).
    The reading is exactly `parse_time`'s: the note never changes the result."""
    seen: list[datetime] = []
    ms = _parse_time(text, now, tz, seen)
    note = None
    for naive in seen:
        note = _reading_note(naive, tz)
        if note is not None:
            break
    return ms, note


def _parse_time(
    text: str, now: datetime | None, tz: tzinfo | None, seen: list[datetime] | None
) -> int:
    raw = text
    text = text.strip()
    lowered = text.lower()
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = _localize(now, tz)

    if lowered == "now":
        return _to_ms(now)
    if lowered in ("today", "yesterday"):
        day = _local_date(now, tz)
        if lowered == "yesterday":
            day -= timedelta(days=1)
        return _to_ms(_local_midnight(day, tz, seen))

    seconds = _amount_seconds(_AGO_RE.sub("", lowered))
    if seconds is not None:
        try:
            return _to_ms(now - timedelta(seconds=seconds))
        except OverflowError:
            raise _fail("time", raw, _TIME_FORMS, "too far back") from None

    if _EPOCH_MS_RE.fullmatch(text):
        return int(text)
    if _EPOCH_S_RE.fullmatch(text):
        whole, _, frac = text.partition(".")
        return int(whole) * 1000 + int((frac + "000")[:3])
    if text.isdigit():
        # 8 or 12 digits could be a compact date, anything else a truncated epoch: refuse to guess.
        raise _fail("time", raw, _TIME_FORMS, "a bare number must be 10 or 13 digits")

    return _to_ms(_parse_absolute(raw, text, now, tz, seen))


def _parse_absolute(
    raw: str, text: str, now: datetime, tz: tzinfo | None, seen: list[datetime] | None
) -> datetime:
    moment: datetime
    try:
        # Strict ISO 8601 first: no guessing of day/month order.
        moment = _dateutil_parser.isoparse(text)
    except (ValueError, OverflowError):
        plausible = any(ch.isdigit() for ch in text) and _PLAUSIBLE_ABSOLUTE_RE.search(text)
        if not plausible or _LOOKS_RELATIVE_RE.search(text):
            raise _fail("time", raw, _TIME_FORMS) from None
        # Fields the text leaves out come from today's local midnight ('10:00' is today).
        default = datetime.combine(_local_date(now, tz), dtime())
        try:
            moment = _dateutil_parser.parse(text, default=default, tzinfos=_zone_names)
        except _UnknownZone as exc:
            raise _fail("time", raw, _TIME_FORMS, f"unknown zone {exc.name!r}") from None
        except (ValueError, OverflowError):
            raise _fail("time", raw, _TIME_FORMS) from None
    if moment.tzinfo is None:
        try:
            moment = _localize(moment, tz, seen)
        except (OverflowError, OSError, ValueError):
            # The platform's mktime() gives up on years like 0001 or 9999 in local time.
            raise _fail("time", raw, _TIME_FORMS, "out of range") from None
    else:
        try:
            moment.utcoffset()  # dateutil keeps an offset of 24 h or more; Python refuses it here
        except ValueError:
            raise _fail("time", raw, _TIME_FORMS, "a zone offset of 24 hours or more") from None
    return moment


# --- which reading of a local time ---


def _reading_note(naive: datetime, tz: tzinfo | None) -> str | None:
    """What `_localize` made of a wall-clock time that is ambiguous or skipped in its zone."""
    try:
        taken = _localize(naive, tz)
        first, second = sorted(
            (_localize(naive.replace(fold=0), tz), _localize(naive.replace(fold=1), tz)),
            key=_to_ms,
        )
        back = _in_zone(taken, tz)
    except (OverflowError, OSError, ValueError):
        return None
    when = _wall(naive)
    where = _zone_label(tz, naive)
    if back.replace(tzinfo=None, fold=0) != naive.replace(fold=0):
        # Skipped: no instant shows this wall time. Say the instant taken, as the zone shows it.
        why = (
            "DST starts" if _is_dst(second, tz) and not _is_dst(first, tz) else "clocks go forward"
        )
        return f"{when} does not exist in {where} ({why}): took {_wall_offset(back)}"
    if _to_ms(first) == _to_ms(second):
        return None
    why = "DST ends" if _is_dst(first, tz) and not _is_dst(second, tz) else "clocks go back"
    which = "the first" if _to_ms(taken) == _to_ms(first) else "the second"
    return f"{when} happens twice in {where} ({why}): took {which}, {_wall_offset(back)}"


def _in_zone(moment: datetime, tz: tzinfo | None) -> datetime:
    return moment.astimezone(UTC).astimezone(tz) if tz is not None else moment.astimezone()


def _is_dst(moment: datetime, tz: tzinfo | None) -> bool:
    if tz is not None:
        return bool(_in_zone(moment, tz).dst())
    return time.localtime(_to_ms(moment) // 1000).tm_isdst > 0


def _zone_label(tz: tzinfo | None, naive: datetime) -> str:
    if tz is None:
        return f"local time {'/'.join(time.tzname)}"
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) and key else str(tz.tzname(naive) or tz)


def _wall(naive: datetime) -> str:
    text = naive.strftime("%Y-%m-%d %H:%M")
    return text + _clock_seconds(naive)


def _clock_seconds(moment: datetime) -> str:
    if moment.microsecond:
        return f":{moment.second:02d}.{moment.microsecond // 1000:03d}"
    return f":{moment.second:02d}" if moment.second else ""


def _wall_offset(moment: datetime) -> str:
    """01:30-04:00: the wall time and its UTC offset."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{moment.strftime('%H:%M')}{_clock_seconds(moment)}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# --- durations ---


def parse_duration(text: str) -> float:
    """Seconds in ``500ms``, ``1.5s``, ``2s``, ``1m``, ``1h30m``, ``2 minutes``.

    A unit is required: a bare ``500`` could mean ms or s, and a slow-request threshold that is
    off by a factor of 1000 is worse than an error. Raises TimeParseError otherwise."""
    seconds = _amount_seconds(text.strip().lower())
    if seconds is None:
        raise _fail("duration", text, _DURATION_FORMS)
    return seconds


_ABSURD_MS = 100_000 * 86_400_000  # 100,000 days: `99999d 23h` is as wide as a duration gets


def format_duration_ms(ms: float) -> str:
    """A duration for people: ``0.4 ms``, ``850 ms``, ``1.2 s``, ``2m 03s``, ``1h 05m``, ``2d 03h``.

    Sub-10 ms values keep one decimal (warm Lambda durations live there). Rounding happens before
    the unit is picked, so 999.7 ms reads ``1.0 s``, not ``1000 ms``. Non-finite input, and
    anything of 100,000 days or more (no log covers that: a number that is not a duration), gives
    ``?`` rather than an exception or a column-breaking width: this is for display only."""
    try:
        finite = math.isfinite(ms) and abs(ms) < _ABSURD_MS
    except OverflowError:  # an int past any float: from a timestamp that is not a time
        finite = False
    if not finite:
        return "?"
    if ms < 0:
        return "-" + format_duration_ms(-ms)
    if round(ms, 1) < 10:
        text = f"{ms:.1f}"
        return f"{text.removesuffix('.0')} ms"
    if round(ms) < 1000:
        return f"{round(ms)} ms"
    tenths = round(ms / 100)  # in 0.1 s
    if tenths < 600:
        return f"{tenths / 10:.1f} s"
    seconds = round(ms / 1000)
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    minutes = round(ms / 60_000)
    if minutes < 24 * 60:
        return f"{minutes // 60}h {minutes % 60:02d}m"
    hours = round(ms / 3_600_000)
    return f"{hours // 24}d {hours % 24:02d}h"


@functools.lru_cache(maxsize=4096)
def _utc_second(second: int) -> str:
    # Events come in time order: one second's prefix serves many events.
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))


# The times a datetime can hold (years 1 to 9999). An event's timestamp outside them comes from
# a broken or hostile endpoint: it is shown as its number, never converted (which would raise).
MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def is_valid_ms(ms: int) -> bool:
    return isinstance(ms, int) and MIN_MS <= ms <= MAX_MS


def invalid_time(ms: object) -> str:
    """What people see for a timestamp that is not a time: the number, marked."""
    return f"invalid time {ms!r}"


def iso_utc_or_none(ms: int) -> str | None:
    """`iso_utc`, or None for a timestamp that is not a time (JSON's `time` is then null)."""
    # Inline, not is_valid_ms(): this runs for every event of `get -o json`.
    if not (isinstance(ms, int) and MIN_MS <= ms <= MAX_MS):
        return None
    second, milli = divmod(ms, 1000)
    return f"{_utc_second(second)}{milli:03d}Z"


def iso_utc(ms: int) -> str:
    """2024-01-01T00:00:00.000Z: epoch ms in ISO 8601 UTC with milliseconds; `invalid time …`
    for a timestamp outside the years 1 to 9999."""
    text = iso_utc_or_none(ms)
    return invalid_time(ms) if text is None else text


# What the public API takes for a time: what the CLI takes, or epoch ms, or a datetime.
TimeArg = str | int | datetime


def resolve_time(
    value: TimeArg, *, now: datetime | None = None, tz: tzinfo | None = None, name: str = "time"
) -> int:
    """A time as the API takes it → epoch ms. Ints are epoch milliseconds; a naive datetime is
    local time (or in `tz`)."""
    if isinstance(value, bool):
        raise TimeParseError(f"bad {name} {value!r}", name=name)
    if isinstance(value, int):
        ms = value
    elif isinstance(value, datetime):
        ms = _to_ms(value if value.tzinfo else _localize(value, tz))
    elif isinstance(value, str):
        try:
            ms = parse_time(value, now=now, tz=tz)
        except TimeParseError as exc:
            raise TimeParseError(exc.message, name=name) from None
    else:
        raise TimeParseError(
            f"bad {name} {value!r}: give a string, epoch ms or a datetime", name=name
        )
    if ms < 0:
        raise TimeParseError(
            f"{name} {value!r} is before 1970: CloudWatch Logs has nothing there", name=name
        )
    return ms


def resolve_window(
    start: TimeArg,
    end: TimeArg | None = None,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> tuple[int, int | None]:
    """(start_ms, end_ms or None for "until now / follow")."""
    if now is None:
        now = datetime.now(UTC)
    start_ms = resolve_time(start, now=now, tz=tz, name="start")
    end_ms = None if end is None else resolve_time(end, now=now, tz=tz, name="end")
    if end_ms is not None and end_ms < start_ms:
        raise InvalidInput(f"the end ({end}) is before the start ({start})", name="end")
    return start_ms, end_ms
