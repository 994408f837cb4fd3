"""The renderers: the fast JSON line equals the documented object; plain output is safe."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.model import RawEvent, Role, Source
from apilogs.parse import parse_event
from apilogs.render.events import EventFormatter, RenderOptions, event_to_dict, iso_utc
from apilogs.render.style import Painter

SOURCES = [
    Source(Role.LAMBDA, "/aws/lambda/f", "us-east-1", function_name='f\u202e"x'),
    Source(Role.ACCESS, "/access\x1b", "us-east-1"),
    Source(Role.EXECUTION, "API-Gateway-Execution-Logs_a/prod", "us-east-1"),
]
JSON = EventFormatter(RenderOptions(output="json"), Painter(False), SOURCES)
PLAIN = EventFormatter(RenderOptions(output="plain"), Painter(True), SOURCES)


@settings(max_examples=300, deadline=None)
@given(
    message=st.one_of(
        st.text(),
        st.just("(6605b081-6f04-11e6-97ac-c34deb0b3dd9) Method completed with status: 200"),
    ),
    stream=st.text(max_size=20),
    timestamp=st.integers(0, 2**42),
    which=st.integers(0, len(SOURCES) - 1),
    late=st.booleans(),
)
def test_fast_json_line_is_the_documented_object(
    message: str, stream: str, timestamp: int, which: int, late: bool
) -> None:
    source = SOURCES[which]
    event = parse_event(
        RawEvent(timestamp, timestamp + 7, source.log_group, stream, "42", message, source)
    )
    line = JSON.format(event, late)
    assert line.isascii() and "\n" not in line
    assert json.loads(line) == json.loads(json.dumps(event_to_dict(event, late=late)))


@settings(max_examples=300, deadline=None)
@given(message=st.text())
def test_plain_line_never_carries_a_raw_control_character(message: str) -> None:
    source = SOURCES[0]
    event = parse_event(RawEvent(0, 0, source.log_group, "s", "1", message, source))
    line = PLAIN.format(event, False)
    # The renderer's own SGR codes are the only escapes: strip them, nothing else may remain.
    import re

    stripped = re.sub(r"\x1b\[[0-9;]*m", "", line)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in stripped)
    assert not any(0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E for c in stripped)


def test_iso_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"


@settings(max_examples=300, deadline=None)
@given(
    message=st.text(alphabet=st.sampled_from("ab1;m[7\x1b ERROR status 200"), max_size=40),
    patterns=st.lists(st.sampled_from(["a", "b+", "1", ";", "m", r"\[", "7", r"\x1b", "ab|ba",
                                       "ERROR", "status", "x*", "."]), min_size=1, max_size=5),
)  # fmt: skip
def test_several_highlights_never_break_each_others_codes(
    message: str, patterns: list[str]
) -> None:
    import re

    from tests.support.hostile import assert_terminal_safe, strip_own_sgr

    options = RenderOptions(output="plain", highlights=tuple(re.compile(p) for p in patterns))
    source = SOURCES[2]
    event = parse_event(RawEvent(0, 0, source.log_group, "s", "1", message, source))
    line = EventFormatter(options, Painter(True), SOURCES).format(event, False)
    assert_terminal_safe(line)
    # Only colour was added: the text read is the plain line's.
    plain = EventFormatter(RenderOptions(output="plain"), Painter(False), SOURCES).format(
        event, False
    )
    assert strip_own_sgr(line) == plain
