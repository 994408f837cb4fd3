"""A lookup that looks further back by itself: `show ID` / `get -r ID` without `--start`. An ID
from an incident an hour old is found without the user guessing a window; each wider read is
said, and where the request was found."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from apilogs.api import Api
from apilogs.cancel import StopSignal
from apilogs.fetch import FetchStats
from apilogs.lookup import Lookup
from apilogs.spec import ReadSpec

__all__ = ["LOOK_BACK", "lookup_looking_back"]

#: How far back a lookup in the default window goes by itself: an alert is minutes to hours
#: old; beyond a week the user knows better, and says `--start`.
LOOK_BACK = ("1h", "6h", "24h", "7d")


def lookup_looking_back(
    api: Api,
    ids: str | Iterable[str],
    spec: ReadSpec,
    *,
    spans: Sequence[str] = LOOK_BACK,
    on_widen: Callable[[str, str], None] | None = None,
    stop: StopSignal | None = None,
    stats: FetchStats | None = None,
) -> tuple[Lookup, ReadSpec]:
    """`Api.lookup` in `spec`'s window, then, while nothing is found, in each longer look-back of
    `spans` that reaches further back than the last (up to now). The widest windows suit Logs
    Insights, which `engine="auto"` picks for them. `on_widen(last, next)` is told before each
    wider read. Returns what was found and the window it was found in."""
    stats = stats if stats is not None else FetchStats()
    found = api.lookup(ids, spec, stop=stop, stats=stats)
    if found.requests or found.ambiguous or spec.end is not None:
        return found, spec
    start_ms, _ = api.window(spec.start, None)
    last = spec.start
    for span in spans:
        wider = replace(spec, start=span)
        wider_ms, _ = api.window(span, None)
        if wider_ms >= start_ms:
            continue  # no further back than what was read
        if stop is not None and stop.is_set():
            break
        if on_widen is not None:
            on_widen(str(last), span)
        found = api.lookup(ids, wider, stop=stop, stats=stats)
        if found.requests or found.ambiguous:
            return found, wider
        start_ms, last = wider_ms, span
    return found, replace(spec, start=last)
