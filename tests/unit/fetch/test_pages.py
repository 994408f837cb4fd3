"""FilterLogEvents pages decoded by orjson: the same events botocore gives, and botocore's own
parse wherever the page is unusual."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

import apilogs
from apilogs.aws import AwsContext, RateLimiter
from apilogs.fetch import FetchStats, pages
from apilogs.fetch.filter import GroupQuery, read_window
from apilogs.model import Role, Source
from tests.support.builders import make_log_group, make_rest_api, put_event

BASE_MS = (int(time.time()) - 600) * 1000
RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
MESSAGES = [
    "plain line",
    'quotes " and \\ backslashes',
    "tabs\tand\nnewlines",
    "control \x1b[31mred\x1b[0m \x07 bell",
    "unicode: é 漢字 🙂",
    '{"requestId":"abc","status":"200"}',
    "",
]


def _put(logs: Any, group: str, messages: list[str]) -> None:
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": BASE_MS + i, "message": m or " "} for i, m in enumerate(messages)],
    )


def _read_all(logs: Any, group: str, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    events: list[dict[str, Any]] = []
    calls = 0
    while True:
        page = logs.filter_log_events(logGroupName=group, **kwargs)
        calls += 1
        assert page["ResponseMetadata"]["HTTPStatusCode"] == 200
        events += page["events"]
        if not page.get("nextToken"):
            return events, calls
        kwargs["nextToken"] = page["nextToken"]


def _decoded_by_hook(logs: Any) -> list[int]:
    """Counts the pages whose events the hook took out (it runs before this)."""
    taken: list[int] = []

    def spy(customized_response_dict: dict[str, Any], **_: Any) -> None:
        if "events" in customized_response_dict:
            taken.append(len(customized_response_dict["events"]))

    logs.meta.events.register_last(pages.FILTER_PAGE_EVENT, spy)
    return taken


def test_the_hook_gives_the_events_botocore_gives(client) -> None:  # type: ignore[no-untyped-def]
    plain = client("logs")
    _put(plain, "/pages", MESSAGES)
    fast = client("logs")
    pages.install(fast)
    taken = _decoded_by_hook(fast)

    expected, _ = _read_all(plain, "/pages")
    got, _ = _read_all(fast, "/pages")

    assert got == expected
    assert [e["message"] for e in got] == [m or " " for m in MESSAGES]
    assert taken == [len(MESSAGES)]


def test_the_next_token_survives_the_hook(client) -> None:  # type: ignore[no-untyped-def]
    plain = client("logs")
    _put(plain, "/paged", [f"line {i}" for i in range(25)])
    fast = client("logs")
    pages.install(fast)
    taken = _decoded_by_hook(fast)

    expected, plain_calls = _read_all(plain, "/paged", limit=10)
    got, fast_calls = _read_all(fast, "/paged", limit=10)

    assert plain_calls == fast_calls >= 3
    assert got == expected
    assert sum(taken) == 25


def test_installing_twice_decodes_once(client) -> None:  # type: ignore[no-untyped-def]
    logs = client("logs")
    _put(logs, "/twice", ["a", "b"])
    pages.install(logs)
    pages.install(logs)
    taken = _decoded_by_hook(logs)
    events, _ = _read_all(logs, "/twice")
    assert [e["message"] for e in events] == ["a", "b"]
    assert taken == [2]


def test_an_error_still_raises_botocore_s_error(client) -> None:  # type: ignore[no-untyped-def]
    logs = client("logs")
    pages.install(logs)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.filter_log_events(logGroupName="/missing")


def _output_shape() -> Any:
    model = botocore.session.get_session().get_service_model("logs")
    return model.operation_model("FilterLogEvents")


def _hooked(body: bytes, status: int = 200) -> tuple[dict[str, Any], dict[str, Any]]:
    response = {"status_code": status, "headers": {}, "body": body}
    custom: dict[str, Any] = {}
    pages.decode_filter_page(response, custom, _output_shape())
    return response, custom


@pytest.mark.parametrize(
    "body",
    [
        # orjson refuses a lone surrogate; the standard library (botocore) takes it.
        b'{"events":[{"timestamp":1,"message":"a\\ud800b"}]}',
        b'{"events":"not a list"}',
        b'{"events":[1, 2]}',
        b"[1, 2]",
        b"not json",
        b"",
    ],
)
def test_an_unusual_page_is_left_to_botocore(body: bytes) -> None:
    response, custom = _hooked(body)
    assert custom == {}
    assert response["body"] == body


def test_an_error_status_is_left_to_botocore() -> None:
    body = b'{"__type":"ThrottlingException","message":"Rate exceeded","events":[]}'
    response, custom = _hooked(body, status=400)
    assert custom == {}
    assert response["body"] == body


def test_the_remainder_keeps_every_other_field() -> None:
    page = {
        "events": [{"timestamp": 1, "message": "m", "eventId": "e", "logStreamName": "s"}],
        "nextToken": "tok",
        "searchedLogStreams": [{"logStreamName": "s", "searchedCompletely": True}],
    }
    response, custom = _hooked(json.dumps(page).encode())
    assert custom == {"events": page["events"]}
    assert json.loads(response["body"]) == {
        "nextToken": "tok",
        "searchedLogStreams": page["searchedLogStreams"],
    }


def test_a_lone_surrogate_page_reads_through_botocore(client) -> None:  # type: ignore[no-untyped-def]
    logs = client("logs")
    _put(logs, "/lone", ["x\ud800y", "fine"])
    pages.install(logs)
    taken = _decoded_by_hook(logs)
    events, _ = _read_all(logs, "/lone")
    assert [e["message"] for e in events] == ["x\ud800y", "fine"]
    assert taken == []


def test_apilogs_reads_its_pages_through_the_hook(client, endpoint) -> None:  # type: ignore[no-untyped-def]
    api_id = make_rest_api(client)
    group = f"API-Gateway-Execution-Logs_{api_id}/prod"
    make_log_group(client, group)
    messages = [f"({RID}) line {i}" for i in range(30)]
    for i, message in enumerate(messages):
        put_event(client, group, "s", BASE_MS + i, message)
    api = apilogs.open_api(api_id, "prod", endpoint_url=endpoint, max_rps=0, cache=False)
    taken = _decoded_by_hook(api.context.reader_client())

    events = list(api.events(start=BASE_MS - 1000, end=BASE_MS + 60_000))

    assert [e.raw.message for e in events] == messages
    assert sum(taken) == len(messages)


def test_events_without_a_timestamp_or_a_message_are_kept_and_said() -> None:
    """A page of a broken endpoint whose events lack a field the API always sends: the read
    goes on, every event is kept, and each lack is said once (no KeyError)."""
    ctx = AwsContext(session=boto3.Session(region_name="us-east-1"), logs_limiter=RateLimiter(0))
    sources = tuple(
        Source(Role.LAMBDA, "/shared", "us-east-1", function_name=name) for name in ("a", "b")
    )
    page = {
        "events": [
            {"timestamp": BASE_MS, "message": "whole", "logStreamName": "2024/01/01/b[1]x"},
            {"message": "no time", "logStreamName": "2024/01/01/b[1]x", "eventId": "2"},
            {"timestamp": BASE_MS + 2, "logStreamName": "2024/01/01/a[1]x", "eventId": "3"},
        ]
    }
    stats = FetchStats()
    with Stubber(ctx.reader_client("us-east-1")) as stubber:
        stubber.add_response("filter_log_events", page)
        read = list(
            read_window(
                ctx,
                GroupQuery("/shared", "us-east-1", sources),
                0,
                None,
                stats,
                stop=threading.Event(),
            )
        )
        stubber.assert_no_pending_responses()
    events = [e for got in read for e in got]
    assert [(e.timestamp, e.message, e.source.function_name) for e in events] == [
        (BASE_MS, "whole", "b"),
        (0, "no time", "b"),
        (BASE_MS + 2, "", "a"),
    ]
    assert any(
        "/shared: CloudWatch Logs sent 1 event without a message" in n for n in stats.notices
    )
    assert any("not a time (e.g. None)" in n for n in stats.notices)
