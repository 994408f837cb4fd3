"""The last step of every parser: an ID that does not look like an ID is not trusted as one.

A parser finds IDs by position (`({id}) …`, `START RequestId: {id}`, a JSON key); the text in that
position is written by whoever controls the line, so it may be anything. `vet` keeps each ID of a
`Line` only when it has its shape (`apilogs.ids`), and moves any other value into the line's
fields under ``untrusted_`` + its name, so it is kept visibly and never joins, names or labels a
request:

- `request_id` → `fields["untrusted_request_id"]` unless a UUID or API Gateway's short form,
- `extended_request_id` → `fields["untrusted_extended_request_id"]` unless the short form,
- `lambda_request_id` → `fields["untrusted_lambda_request_id"]` unless a UUID,
- `trace_id` → `fields["untrusted_trace_id"]` unless `1-{8 hex}-{24 hex}`,
- `fields["authorizer_request_id"]` (a Lambda request ID too) →
  `fields["untrusted_authorizer_request_id"]` unless a UUID.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apilogs.ids import (
    is_api_request_id,
    is_extended_request_id,
    is_lambda_request_id,
    is_trace_id,
)
from apilogs.model import Line

__all__ = ["vet"]

_CHECKS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("request_id", is_api_request_id),
    ("lambda_request_id", is_lambda_request_id),
    ("trace_id", is_trace_id),
    ("extended_request_id", is_extended_request_id),
)


def vet(line: Line) -> Line:
    """`line` itself when every ID it holds has its shape, else a copy with the misfits moved
    into its fields (see the module doc)."""
    # The common case first, in as few steps as possible: this runs for every line.
    rid, lid, trace = line.request_id, line.lambda_request_id, line.trace_id
    ext = line.extended_request_id
    authorizer = line.fields.get("authorizer_request_id") if line.fields else None
    if (
        (rid is None or is_api_request_id(rid))
        and (lid is None or is_lambda_request_id(lid))
        and (trace is None or is_trace_id(trace))
        and (ext is None or is_extended_request_id(ext))
        and (
            authorizer is None or (isinstance(authorizer, str) and is_lambda_request_id(authorizer))
        )
    ):
        return line
    fields: dict[str, Any] = dict(line.fields)
    kept: dict[str, str | None] = {
        "request_id": rid,
        "lambda_request_id": lid,
        "trace_id": trace,
        "extended_request_id": ext,
    }
    for name, fits in _CHECKS:
        value = kept[name]
        if value is not None and not fits(value):
            fields.setdefault(f"untrusted_{name}", value)
            kept[name] = None
    if authorizer is not None and not (
        isinstance(authorizer, str) and is_lambda_request_id(authorizer)
    ):
        fields.setdefault("untrusted_authorizer_request_id", fields.pop("authorizer_request_id"))
    return Line(
        line.kind,
        request_id=kept["request_id"],
        lambda_request_id=kept["lambda_request_id"],
        trace_id=kept["trace_id"],
        extended_request_id=kept["extended_request_id"],
        fields=fields,
    )
