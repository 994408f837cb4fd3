"""`--expand` stays within bounds whatever the message: depth and size caps, never an exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apilogs.render.expand import DEEP_MARK, MAX_DEPTH, MAX_OUTPUT, SIZE_MARK, expand_json

EVENT_MAX = 256 * 1024 - 26  # the largest message CloudWatch Logs stores
SLACK = 4096 + 2 * MAX_DEPTH + len(SIZE_MARK) + len(DEEP_MARK) + 16  # a run of closings, a marker


def nested(depth: int, inner: str = "1") -> str:
    return '{"a":' * depth + inner + "}" * depth


json_docs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.dictionaries(st.text(max_size=6), json_docs, max_size=5))
def test_laid_out_as_json_dumps_indent_2(doc: dict[str, Any]) -> None:
    for message in (
        json.dumps(doc),
        json.dumps(doc, ensure_ascii=False),
        json.dumps(doc, indent=4),
    ):
        assert expand_json(message) == json.dumps(doc, indent=2, ensure_ascii=False)


@pytest.mark.parametrize(
    "message", ["", "plain text", "{not json}", '{"a":1', '{"a":1}}', "[1,2]", '{"a":"\x1b"}']
)
def test_what_is_not_one_json_object_is_left_alone(message: str) -> None:
    assert expand_json(message) is message


def test_the_depth_cap() -> None:
    assert expand_json(nested(MAX_DEPTH)).count("\n") == 2 * MAX_DEPTH
    for depth in (MAX_DEPTH + 1, 500, 1000, 5000, 50_000):
        message = nested(depth)
        # Printed unexpanded, as logged, after a line that says why: nothing lost, no exception.
        assert expand_json(message) == f"{DEEP_MARK}\n{message}"
    arrays = '{"a":' + "[" * 2000 + "]" * 2000 + "}"
    assert expand_json(arrays) == f"{DEEP_MARK}\n{arrays}"


def test_the_size_cap_shows_the_rest_as_logged() -> None:
    message = json.dumps({f"k{i}": i for i in range(20_000)})
    out = expand_json(message)
    head, mark, rest = out.partition(f"\n{SIZE_MARK}\n")
    assert mark
    assert MAX_OUTPUT <= len(head) < MAX_OUTPUT + 64
    assert head.endswith(",")
    assert message.endswith(rest) and rest.startswith('"k')
    # What was expanded plus what follows is the whole message: nothing lost.
    assert "".join(head.split()) + "".join(rest.split()) == "".join(message.split())


def _adversarial() -> list[str]:
    deep = MAX_DEPTH - 2  # the container below, and an empty one in it, are the last levels
    room = EVENT_MAX - 6 * deep - 20
    return [
        # As deep as allowed, then as wide as the event allows.
        '{"a":' * deep + "[" + ",".join(["{}"] * (room // 3)) + "]" + "}" * deep,
        '{"a":' * deep + "[" + ",".join(["[]"] * (room // 3)) + "]" + "}" * deep,
        '{"a":' * deep + "[" + ",".join(["0"] * (room // 2)) + "]" + "}" * deep,
        '{"a":' * deep + "{" + ",".join(f'"{i}":0' for i in range(room // 12)) + "}" + "}" * deep,
        # A staircase: every level holds a value and the next level.
        "{" + "".join('"k":1,"n":{' for _ in range(deep)) + "}" * (deep + 1),
        # Long strings, with and without escapes.
        json.dumps({"s": "x" * room}),
        json.dumps({"s": "\u00e9\u202e\x1b" * (room // 20)}),
        json.dumps({"s": ["y" * 1000] * (room // 1010)}),
        # Too deep: printed as logged.
        nested(EVENT_MAX // 6),
        '{"a":' + "[" * (EVENT_MAX // 2 - 4) + "]" * (EVENT_MAX // 2 - 4) + "}",
    ]


@pytest.mark.parametrize("index", range(len(_adversarial())))
def test_output_is_bounded_by_the_input_plus_the_cap(index: int) -> None:
    message = _adversarial()[index]
    assert len(message) <= EVENT_MAX
    out = expand_json(message)
    assert len(out) <= len(message) + MAX_OUTPUT + SLACK, (len(message), len(out))
    if index < 4:
        # Uncapped, the same layout is many times larger: this is what the cap saves.
        uncapped = json.dumps(json.loads(message), indent=2)
        assert len(uncapped) > 4 * len(out)
        assert SIZE_MARK in out
