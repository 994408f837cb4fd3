"""What changed in the correlator's requests since someone last asked: a version number for
readers of slots (`apilogs.join.label`), and request updates for front ends that show requests as
they happen."""

from __future__ import annotations

from apilogs.diagnosis import build_request
from apilogs.join.builder import Builder
from apilogs.model import Request, RequestUpdate, UpdateKind

__all__ = ["UpdateLog"]


class UpdateLog:
    """`version` grows whenever what any builder is, or whom it belongs to, may have changed:
    a reader of slots asks again only then.

    With `track`: a request is reported NEW once API Gateway has named it, UPDATED (at most
    once per `take`) when lines joined it, CLOSED when it closes."""

    __slots__ = ("_changed", "_closed", "track", "version")

    def __init__(self, track: bool) -> None:
        self.track = track
        self.version = 0
        self._changed: dict[int, Builder] = {}
        self._closed: list[RequestUpdate] = []

    def touch(self, builder: Builder) -> None:
        """Lines joined the builder (with `track`)."""
        if self.track:
            owner = builder.probable_owner
            # An invocation joined by timing is shown as part of its request.
            target = owner.root() if owner is not None else builder
            self._changed[id(target)] = target

    def folded(self, builder: Builder) -> None:
        """The builder was folded into another: that one is reported instead."""
        self._changed.pop(id(builder), None)

    def closed(self, builder: Builder, request: Request) -> None:
        """The builder closed as `request` (with `track`)."""
        if not self.track:
            return
        self._changed.pop(id(builder), None)
        if not builder.reported and request.seen_by_api_gateway:
            builder.reported = True
            self._closed.append(RequestUpdate(UpdateKind.NEW, request))
        if builder.reported:
            self._closed.append(RequestUpdate(UpdateKind.CLOSED, request))

    def take(self) -> list[RequestUpdate]:
        """What changed since the last call: NEW, UPDATED and CLOSED, one update per request and
        kind, in the order the changes happened."""
        out: list[RequestUpdate] = []
        for builder in self._changed.values():
            if builder.merged_into is not None or builder.probable_owner is not None:
                continue
            if builder.closed and not builder.reported:
                continue  # closes below: NEW then CLOSED
            if builder.request_id is None and not builder.reported:
                continue  # Lambda lines no API Gateway line has claimed yet
            kind = UpdateKind.UPDATED if builder.reported else UpdateKind.NEW
            builder.reported = True
            out.append(RequestUpdate(kind, build_request(builder, in_progress=not builder.closed)))
        self._changed.clear()
        out.extend(self._closed)
        self._closed = []
        return out
