"""A window's sums, as `Api.stats` gives them: summed here from every request read (`WindowStats`),
or by Logs Insights server-side when the engine sums (`InsightsSummary`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from apilogs.cancel import StopSignal
from apilogs.diagnosis.summary import WindowStats
from apilogs.errors import Cancelled, IncompleteRead, InvalidInput
from apilogs.fetch.engines import Reading, WindowEngine
from apilogs.model import Request, Source
from apilogs.stream import RequestFilter

if TYPE_CHECKING:
    from apilogs.fetch.insights import InsightsSummary

__all__ = ["summed", "summed_by"]


def summed(requests: Iterable[Request], stop: StopSignal | None) -> WindowStats:
    """The sums of `requests`, read to the end; Cancelled once `stop` is set."""
    summary = WindowStats()
    try:
        for request in requests:
            summary.add(request)
    except IncompleteRead as exc:
        # The other groups were read to the end: their sums still hold, and go with the error.
        exc.partial = summary
        raise
    if stop is not None and stop.is_set():
        raise Cancelled()
    return summary


def summed_by(
    engine: WindowEngine,
    reading: Reading,
    sources: Sequence[Source],
    where: RequestFilter | None,
) -> InsightsSummary:
    """The sums of `sources` as an engine that `summarizes` computes them; its notices go to
    the reading's stats."""
    if where is not None and where != RequestFilter():
        raise InvalidInput(
            "Logs Insights sums the whole API: the requests under a path need --engine filter",
            name="engine",
        )
    found = engine.summarize(reading, sources)
    if found is None:
        raise Cancelled()
    for notice in found.notices:
        reading.stats.notice(notice)
    return found
