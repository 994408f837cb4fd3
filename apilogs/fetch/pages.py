"""FilterLogEvents pages decoded once, by orjson, instead of twice by botocore.

botocore decodes a JSON response with the standard library and then walks the output shape,
building every event's dict a second time: about 14 µs an event of a 1 MB page, more than the
rest of our per-event path costs. An event of FilterLogEvents is plain JSON (strings and
integers, no timestamps or blobs to convert), so the decoded objects are already what botocore
would return. A `before-parse` hook (botocore's own extension point) decodes the page with
orjson (about 1.2 µs an event), takes its events out and gives botocore the small remainder
(the next token, the searched streams) to parse as usual; botocore then merges the events back
into its result.

Anything unusual is left to botocore untouched: an error status, another protocol, a body
orjson will not decode (a lone surrogate, which the standard library accepts), events that are
not a list of objects, a timestamp that is not a 64-bit integer (orjson would make it a float;
the standard library keeps the number sent).

A page that is not UTF-8 (a broken or hostile endpoint) would make botocore raise and end the
read: it is decoded here instead, each byte that is not UTF-8 becoming U+FFFD, and the page
says which events were touched under `REPLACED_KEY` (event index → bytes replaced), for the
reader to tell the user. Nothing is dropped. Logs Insights' GetQueryResults answers are decoded
the same way when they are not UTF-8 (`REPLACED_KEY`: result row index → bytes replaced), and
left to botocore otherwise."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = [
    "FILTER_PAGE_EVENT",
    "QUERY_RESULTS_EVENT",
    "REPLACED_KEY",
    "decode_filter_page",
    "decode_query_results",
    "install",
]

FILTER_PAGE_EVENT = "before-parse.cloudwatch-logs.FilterLogEvents"
QUERY_RESULTS_EVENT = "before-parse.cloudwatch-logs.GetQueryResults"
# Not a name of the API's: botocore merges it into the page it returns.
REPLACED_KEY = "apilogs:replacedBytes"
_REPLACEMENT = "\ufffd"
# What `surrogateescape` makes of a byte that is not UTF-8.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def decode_filter_page(
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    operation_model: Any = None,
    **_: Any,
) -> None:
    if not _ours(response_dict, operation_model):
        return
    body = response_dict.get("body")
    if not body:
        return
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        if isinstance(body, bytes):
            _decode_leniently(body, response_dict, customized_response_dict, "events")
        return
    if not isinstance(doc, dict):
        return
    events = doc.get("events")
    if not isinstance(events, list) or not all(
        type(e) is dict
        and type(e.get("timestamp")) is int
        and type(e.get("ingestionTime", 0)) is int
        for e in events
    ):
        return
    del doc["events"]
    customized_response_dict["events"] = events
    response_dict["body"] = orjson.dumps(doc)


def decode_query_results(
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    operation_model: Any = None,
    **_: Any,
) -> None:
    """A GetQueryResults answer that is not UTF-8: its rows with every such byte as U+FFFD
    (botocore would raise UnicodeDecodeError). Any other answer is left to botocore."""
    if not _ours(response_dict, operation_model):
        return
    body = response_dict.get("body")
    if isinstance(body, bytes) and not body.isascii():
        _decode_leniently(body, response_dict, customized_response_dict, "results")


def _ours(response_dict: dict[str, Any], operation_model: Any) -> bool:
    """A successful answer in the JSON protocol: anything else is botocore's alone."""
    if response_dict.get("status_code") != 200:
        return False
    if operation_model is not None:
        service = operation_model.service_model
        protocol = getattr(service, "resolved_protocol", None) or service.protocol
        if protocol != "json":
            return False
    return True


def _decode_leniently(
    body: bytes,
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    list_key: str,
) -> None:
    """A body that is not UTF-8: the items of its `list_key` list (events, result rows) with
    every such byte as U+FFFD. A body that is UTF-8 (orjson refused it for another reason) is
    left to botocore."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return
    # Each byte that is not UTF-8 becomes one lone surrogate here, and can only sit inside a
    # JSON string (anywhere else the body is not JSON at all). A `\\udcff` escape would give
    # the same character once parsed: each such byte is swapped for a character the text holds
    # in no form, so that the events it lands in are known exactly.
    text = body.decode("utf-8", "surrogateescape")
    marker = _unused_char(text)
    try:
        doc = json.loads(_ESCAPED_BYTE.sub(marker, text))
    except ValueError:
        # Not JSON either: botocore says so, with the bytes as readable text.
        response_dict["body"] = _ESCAPED_BYTE.sub(_REPLACEMENT, text).encode()
        return
    replaced: dict[int, int] = {}
    if isinstance(doc, dict) and isinstance(doc.get(list_key), list):
        for index, item in enumerate(doc[list_key]):
            count = _count_in(item, marker)
            if count:
                replaced[index] = count
    doc = _replace_in(doc, marker)
    if isinstance(doc, dict) and isinstance(doc.get(list_key), list):
        customized_response_dict[list_key] = doc.pop(list_key)
        customized_response_dict[REPLACED_KEY] = replaced
    # ensure_ascii: the rest (a token, the searched streams) may hold a lone surrogate.
    response_dict["body"] = json.dumps(doc).encode()


def _unused_char(text: str) -> str:
    """A private-use character `text` holds neither as itself nor as a JSON escape."""
    # Sets, not a search per candidate: a hostile page may hold many private-use characters.
    used = set(text)
    used.update(chr(int(code, 16)) for code in _JSON_ESCAPE.findall(text))
    code = 0xE000
    while chr(code) in used:
        code += 1
    return chr(code)


def _count_in(value: Any, marker: str) -> int:
    if isinstance(value, str):
        return value.count(marker)
    if isinstance(value, dict):
        return sum(_count_in(k, marker) + _count_in(v, marker) for k, v in value.items())
    if isinstance(value, list):
        return sum(_count_in(v, marker) for v in value)
    return 0


def _replace_in(value: Any, marker: str) -> Any:
    if isinstance(value, str):
        return value.replace(marker, _REPLACEMENT) if marker in value else value
    if isinstance(value, dict):
        return {_replace_in(k, marker): _replace_in(v, marker) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_in(v, marker) for v in value]
    return value


def install(client: Any) -> None:
    """Decode `client`'s FilterLogEvents pages with orjson, and its GetQueryResults answers
    that are not UTF-8 leniently (a CloudWatch Logs client)."""
    events = client.meta.events
    events.register(FILTER_PAGE_EVENT, decode_filter_page, unique_id="apilogs-pages")
    events.register(QUERY_RESULTS_EVENT, decode_query_results, unique_id="apilogs-query-results")
