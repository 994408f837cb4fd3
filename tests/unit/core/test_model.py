"""The per-event model classes keep every promise of a frozen dataclass with their quick init."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from apilogs.join.label import LabeledEvent
from apilogs.model import EMPTY_FIELDS, Line, LineKind, LogEvent, RawEvent, Role, Source

SOURCE = Source(role=Role.EXECUTION, log_group="g", region="us-east-1")


def test_positional_keyword_and_default_arguments_fill_the_same_fields() -> None:
    raw = RawEvent(1, 2, "g", "s", "e", "m", SOURCE)
    assert raw == RawEvent(
        timestamp=1,
        ingestion_time=2,
        group="g",
        stream="s",
        event_id="e",
        message="m",
        source=SOURCE,
    )
    line = Line(LineKind.ACCESS, "r", fields={"status": 200})
    assert (line.kind, line.request_id, line.lambda_request_id, line.fields) == (
        LineKind.ACCESS,
        "r",
        None,
        {"status": 200},
    )
    assert Line().fields is EMPTY_FIELDS  # the default factory still runs
    event = LogEvent(raw)
    assert event.line == Line()
    assert LabeledEvent(event).request_id is None
    assert LabeledEvent(event, "r", probable=True).probable


@pytest.mark.parametrize("cls", [RawEvent, Line, LogEvent, LabeledEvent])
def test_still_frozen_and_with_the_dataclass_signature(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(inspect.signature(cls).parameters) == names
    instance = {
        RawEvent: lambda: RawEvent(1, 2, "g", "s", "e", "m", SOURCE),
        Line: lambda: Line(LineKind.ACCESS),
        LogEvent: lambda: LogEvent(RawEvent(1, 2, "g", "s", "e", "m", SOURCE)),
        LabeledEvent: lambda: LabeledEvent(LogEvent(RawEvent(1, 2, "g", "s", "e", "m", SOURCE))),
    }[cls]()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, names[0], None)
    assert dataclasses.replace(instance) == instance
    with pytest.raises(TypeError):
        cls(*range(len(names) + 1))


def test_a_source_is_the_same_before_and_after_discovery_saw_its_group() -> None:
    seen = dataclasses.replace(SOURCE, exists=True, retention_days=30, stored_bytes=10)
    assert seen == SOURCE and hash(seen) == hash(SOURCE) and seen in {SOURCE}
    # What it is still tells Sources apart.
    assert dataclasses.replace(SOURCE, role=Role.ACCESS) != SOURCE
    assert dataclasses.replace(SOURCE, log_format="JSON") != SOURCE


def test_a_rebuilt_line_is_what_dataclasses_replace_makes() -> None:
    line = Line(LineKind.ACCESS, "r", "l", "1-t", "x", fields={"status": 200})
    fields = {"status": 500}
    assert line.rebuilt(LineKind.UNKNOWN, fields) == dataclasses.replace(
        line, kind=LineKind.UNKNOWN, fields=fields
    )
