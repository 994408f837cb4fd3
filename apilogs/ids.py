"""What each ID apilogs joins requests by looks like. Pure predicates on text, no I/O.

Log lines are written by whoever called the API, so a value found where an ID should be is only
trusted as one when it has that ID's shape. The shapes, as API Gateway, Lambda and X-Ray write
them (and as `apilogs.demo.traffic` generates them):

- API Gateway REST request ID: a UUID, ``6605b081-6f04-11e6-97ac-c34deb0b3dd9``.
- HTTP API and WebSocket request IDs, and every extended request ID: a short base64 token of
  about 16 characters, ``JjGvEiWsoAMEPaA=``, ``Vwc2MGFUrPEFV_g=``, ``GqT38H-FFiAFhLQ=``, with
  ``+``/``/`` or ``-``/``_`` and up to two ``=``. Accepted: 10 to 32 of ``[A-Za-z0-9+/_-]``
  then at most two ``=``, which also takes the word-like IDs of test invocations
  (``test-invoke-request``) and leaves room for a longer form, while refusing every space,
  quote, bracket, control or format character.
- Lambda request ID: a UUID.
- X-Ray trace ID: ``1-`` + 8 hex digits (the epoch second) + ``-`` + 24 hex digits,
  ``1-5c7674f4-a3491d0a9c8012c191821b83``.

UUIDs are lower case, as Lambda and API Gateway write them (and as the parsers have always
matched them). Every accepted ID is printable ASCII without spaces, so it is safe on a
terminal and in a table column as it is.
"""

from __future__ import annotations

import re

__all__ = [
    "is_api_request_id",
    "is_extended_request_id",
    "is_lambda_request_id",
    "is_short_id",
    "is_trace_id",
    "is_uuid",
]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHORT = re.compile(r"[A-Za-z0-9+/_-]{10,32}={0,2}")
_TRACE = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")


# IDs that passed a check: a request's ID is on most of its lines, one after another, and a
# set lookup costs a tenth of the match. Bounded: emptied when full (a miss only costs a match).
_PASSED_MAX = 4_096
_uuids: set[str] = set()
_short_ids: set[str] = set()
_trace_ids: set[str] = set()


def _passed(seen: set[str], text: str) -> bool:
    if len(seen) >= _PASSED_MAX:
        seen.clear()
    seen.add(text)
    return True


def is_uuid(text: str) -> bool:
    """``8-4-4-4-12`` lower-case hex digits, nothing around them."""
    if text in _uuids:
        return True
    return len(text) == 36 and _UUID.fullmatch(text) is not None and _passed(_uuids, text)


def is_short_id(text: str) -> bool:
    """API Gateway's short base64 form (`JjGvEiWsoAMEPaA=`)."""
    if text in _short_ids:
        return True
    return (
        10 <= len(text) <= 34 and _SHORT.fullmatch(text) is not None and _passed(_short_ids, text)
    )


def is_api_request_id(text: str) -> bool:
    """An API Gateway request ID: a UUID (REST) or the short form (HTTP, WebSocket)."""
    return is_uuid(text) or is_short_id(text)


def is_extended_request_id(text: str) -> bool:
    """An extended request ID: the short form."""
    return is_short_id(text)


def is_lambda_request_id(text: str) -> bool:
    """A Lambda request ID (also an authorizer's invocation): a UUID."""
    return is_uuid(text)


def is_trace_id(text: str) -> bool:
    """An X-Ray trace ID (the `Root=` value): `1-{8 hex}-{24 hex}`."""
    if text in _trace_ids:
        return True
    return len(text) == 35 and _TRACE.fullmatch(text) is not None and _passed(_trace_ids, text)
