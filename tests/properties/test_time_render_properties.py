"""No timestamp can crash an event renderer: any int a broken or hostile endpoint sends as a
timestamp or ingestion time gives a line (plain, short, JSON), never an exception."""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.model import RawEvent, Role, Source
from apilogs.parse import parse_event
from apilogs.render.events import EventFormatter, RenderOptions, event_to_dict
from apilogs.render.style import Painter
from apilogs.times import MAX_MS, MIN_MS, format_duration_ms, iso_utc, iso_utc_or_none

SOURCE = Source(Role.LAMBDA, "/aws/lambda/f", "us-east-1", function_name="f")
ZONES = [None, UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]

# Every int, with the edges of the datetime range (and just past them) drawn often.
stamps = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([MIN_MS - 1, MIN_MS, MAX_MS, MAX_MS + 1, 0, -1, 10**23, -(10**23)]),
)


@settings(max_examples=300, deadline=None)
@given(
    timestamp=stamps,
    ingested=stamps,
    output=st.sampled_from(["plain", "short", "json"]),
    tz=st.sampled_from(ZONES),
    dated=st.booleans(),
    show_times=st.booleans(),
)
def test_no_timestamp_crashes_an_event_renderer(
    timestamp: int,
    ingested: int,
    output: str,
    tz: timezone | None,
    dated: bool,
    show_times: bool,
) -> None:
    raw = RawEvent(timestamp, ingested, SOURCE.log_group, "s", "1", "hello", SOURCE)
    event = parse_event(raw)
    options = RenderOptions(
        output=output,
        tz=tz,
        dated=dated,
        show_timestamp=show_times,
        show_ingestion_time=show_times,
    )
    line = EventFormatter(options, Painter(False), [SOURCE]).format(event, False)
    assert line.endswith("hello") or output == "json"
    if output == "json":
        doc = json.loads(line)
        assert doc == {**event_to_dict(event), "time": doc["time"]}
        assert doc["timestamp"] == timestamp and type(doc["timestamp"]) is int
        assert doc["ingestion_time"] == ingested
        valid = MIN_MS <= timestamp <= MAX_MS
        assert (doc["time"] is None) is not valid
        assert doc["time"] == event_to_dict(event)["time"] == iso_utc_or_none(timestamp)
    elif (output == "short" or show_times) and not MIN_MS <= timestamp <= MAX_MS:
        # People see the number they were sent (plain lines show times when asked).
        assert f"invalid time {timestamp}" in line


@given(stamps)
def test_time_helpers_never_raise(ms: int) -> None:
    text = iso_utc(ms)
    assert text.endswith("Z") or text == f"invalid time {ms}"
    format_duration_ms(ms)
