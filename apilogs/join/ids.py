"""The joins by ID: every open request under each ID its lines carry (API Gateway's request ID,
the extended request ID, the X-Ray trace ID, its Lambda request IDs), and the closed requests a
late line may still join. A line carrying two IDs links what each already gathered, so the
order in which the IDs show up does not matter."""

from __future__ import annotations

import itertools
from collections.abc import Collection

from apilogs.join.builder import Builder
from apilogs.join.updates import UpdateLog

__all__ = ["IdIndex"]


class IdIndex:
    """Open builders by ID (`by_id`), closed ones by ID (`recent`, oldest first): only this
    class writes them; the correlator's per-event path reads them directly."""

    __slots__ = ("_log", "_serials", "by_id", "recent")

    def __init__(self, log: UpdateLog) -> None:
        self.by_id: dict[str, Builder] = {}
        self.recent: dict[str, Builder] = {}
        self._log = log
        self._serials = itertools.count()

    def open_builders(self) -> list[Builder]:
        """Each open builder once, in the order its first ID was indexed."""
        return list({id(b): b for b in self.by_id.values()}.values())

    def late_builder(self, ids: list[str], request_id: str | None) -> Builder | None:
        """The closed request a late line belongs to, if no open one claims its IDs."""
        recent = self.recent
        if not recent:
            return None
        by_id = self.by_id
        for i in ids:
            if i in by_id:
                return None
        for i in ids:
            found = recent.get(i)
            if found is not None and (request_id is None or found.request_id in (None, request_id)):
                return found
        return None

    def rejoined(self, late: Builder, ids: list[str]) -> None:
        """A late line joined the closed `late`: its new IDs find it too."""
        for i in ids:
            if i not in late.ids:
                late.ids.add(i)
                self.recent[i] = late

    def link(self, ids: list[str], request_id: str | None) -> Builder:
        """The open builder the IDs name, the builders they name folded into one (a new one
        when they name none)."""
        by_id = self.by_id
        # Closed builders are not in `by_id`: what is found is open.
        first: Builder | None = None
        builders: list[Builder] | None = None
        for i in ids:
            found = by_id.get(i)
            if found is None or found is first:
                continue
            if first is None:
                first = found
            elif builders is None:
                builders = [first, found]
            elif all(found is not b for b in builders):
                builders.append(found)
        if builders is None and (
            first is None or not request_id or first.request_id in (None, request_id)
        ):
            # The common case: the IDs name one request or none yet.
            builder = first if first is not None else self._new_builder()
        else:
            if builders is None:
                # `first` alone, a request API Gateway tells apart from this line's.
                builders = [first] if first is not None else []
            builder = self._fold(builders, request_id)
        for i in ids:
            if by_id.get(i) is not builder:
                by_id[i] = builder
                builder.ids.add(i)
                self._log.version += 1
        return builder

    def _fold(self, builders: list[Builder], request_id: str | None) -> Builder:
        """The IDs of one line name several requests (or one API Gateway tells apart from
        this line's): the one they all become."""
        self._log.version += 1
        # Two requests API Gateway told apart stay apart, whatever else they share (a client
        # may send the same trace header twice).
        owner = request_id or next((b.request_id for b in builders if b.request_id), None)
        if owner:
            builders = [b for b in builders if b.request_id in (None, owner)]
        if not builders:
            return self._new_builder()
        # Keep the builder already reported (front ends know it), else the one with the most
        # lines; fold the others into it.
        builders.sort(key=lambda b: (b.reported, len(b.events), -b.serial), reverse=True)
        builder = builders[0]
        for other in builders[1:]:
            self._merge(builder, other)
        return builder

    def retire(self, builders: Collection[Builder], clock_ms: int, remember: bool) -> None:
        """The builders closed at `clock_ms`; `remember`: a late line may still join them."""
        by_id = self.by_id
        for builder in builders:
            for key in builder.ids:
                if by_id.get(key) is builder:
                    del by_id[key]
        for builder in builders:
            builder.closed = True
            builder.closed_at = clock_ms
            if remember:
                for key in builder.ids:
                    # Moved to the end: the dict stays in closing order, oldest first.
                    self.recent.pop(key, None)
                    self.recent[key] = builder

    def forget_recent(self, horizon_ms: int) -> None:
        """Closed requests closed before the horizon: a late line no longer joins them."""
        recent = self.recent
        # One pass, then the deletions: asking for the first item again after each deletion
        # walks every slot already deleted at the front of the dict, each time.
        stale = []
        for key, builder in recent.items():
            if builder.closed_at >= horizon_ms:
                break
            stale.append(key)
        for key in stale:
            del recent[key]

    def _new_builder(self) -> Builder:
        self._log.version += 1
        return Builder(next(self._serials))

    def _merge(self, keep: Builder, other: Builder) -> None:
        """Fold `other` into `keep`; a join by timing that an ID now confirms stops being a
        guess, one an ID gives to another request is dropped."""
        links: list[tuple[Builder, Builder]] = []
        for b in (keep, other):
            if b.probable is not None:
                links.append((b, b.probable))
            if b.probable_owner is not None:
                links.append((b.probable_owner, b))
        for request, invocation in links:
            request.probable = None
            invocation.probable_owner = None
        keep.absorb(other)
        other.merged_into = keep
        self._log.folded(other)
        for key in other.ids:
            self.by_id[key] = keep
        for request, invocation in links:
            owner, inv = request.root(), invocation.root()
            if owner is inv or inv.request_id is not None:
                continue  # confirmed by an ID, or claimed by another request's ID
            owner.probable = inv
            inv.probable_owner = owner
