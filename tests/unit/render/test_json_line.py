"""`-o json`'s line, written without a dict, is `event_to_dict`'s object for labelled events
too, whatever the time (each second's text is kept from one event to the next) and whatever
an endpoint sent where a string or a time belongs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.join.label import LabeledEvent
from apilogs.model import LogEvent, RawEvent, Role, Source
from apilogs.parse import parse_event
from apilogs.render.events import EventFormatter, RenderOptions, event_to_dict
from apilogs.render.style import Painter
from apilogs.times import MAX_MS, MIN_MS

LAMBDA = Source(Role.LAMBDA, "/aws/lambda/f", "us-east-1", function_name="f")
EXECUTION = Source(Role.EXECUTION, "API-Gateway-Execution-Logs_a/prod", "us-east-1")
MESSAGES = [
    "INIT_START Runtime Version: python:3.12.v38",
    "[ext] extension says hello",
    "START RequestId: 5748a7e6-83e8-47e7-a3e4-1bcf4fcd7b21 Version: $LATEST",
    "(6605b081-6f04-11e6-97ac-c34deb0b3dd9) Method completed with status: 200",
    "plain print",
]


def formatter() -> EventFormatter:
    return EventFormatter(RenderOptions(output="json"), Painter(False), [LAMBDA, EXECUTION])


def documented(item: LabeledEvent) -> dict[str, Any]:
    doc = event_to_dict(
        item.event,
        late=item.late,
        request_id=item.request_id,
        probable=item.probable,
        phase=item.phase,
    )
    parsed: dict[str, Any] = json.loads(json.dumps(doc))
    return parsed


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.one_of(
                st.integers(MIN_MS - 2000, MIN_MS + 2000),
                st.integers(-3000, 3000),
                st.integers(1_700_000_000_000, 1_700_000_003_000),
                st.integers(MAX_MS - 2000, MAX_MS + 2000),
            ),
            st.sampled_from(MESSAGES),
            st.sampled_from([LAMBDA, EXECUTION]),
            st.sampled_from([None, "", "6605b081-6f04-11e6-97ac-c34deb0b3dd9"]),
            st.booleans(),
            st.sampled_from([None, "", "init", "restore"]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_labelled_json_lines_are_the_documented_objects(
    items: list[tuple[int, str, Source, str | None, bool, str | None, bool]],
) -> None:
    fmt = formatter()  # one formatter for the whole sequence, as a run uses it
    for timestamp, message, source, request_id, probable, phase, late in items:
        raw = RawEvent(
            timestamp, 7, source.log_group, "2024/01/01/[$LATEST]ab", "1", message, source
        )
        item = LabeledEvent(parse_event(raw), request_id, probable, late, phase)
        line = fmt.format_labeled(item)
        assert line.isascii() and "\n" not in line
        assert json.loads(line) == documented(item)


@pytest.mark.parametrize("timestamp", [2**70, -(2**70), MIN_MS - 1, MAX_MS + 1])
def test_a_timestamp_that_is_not_a_time_writes_a_null_time(timestamp: int) -> None:
    raw = RawEvent(timestamp, 0, EXECUTION.log_group, "s", "1", "m", EXECUTION)
    event = parse_event(raw)
    line = formatter().format(event, False)
    assert json.loads(line) == json.loads(json.dumps(event_to_dict(event)))


def test_a_null_stream_or_event_id_is_written_null() -> None:
    # What a broken endpoint may send: the line stays the documented object.
    raw = RawEvent(0, 0, EXECUTION.log_group, None, None, "m", EXECUTION)  # type: ignore[arg-type]
    event = LogEvent(raw)
    doc = json.loads(formatter().format(event, False))
    assert doc["stream"] is None and doc["event_id"] is None
    assert doc == json.loads(json.dumps(event_to_dict(event)))
