"""A read's lines labelled with their request, as `Api.labeled_events` (a window) and
`Api.follow(label=True)` deliver them: every group is read, since only the execution and access
logs tell which request a Lambda line belongs to, and what is delivered is narrowed afterwards
(`shown_by`). The hold-back itself is `apilogs.join.label`'s."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from apilogs.fetch import FetchStats
from apilogs.join.label import LabeledEvent, Labeller
from apilogs.model import LogEvent
from apilogs.spec import ReadSpec

__all__ = ["Shows", "label_window", "say_unlabelled", "shown_by"]

# Whether a line read is one delivered.
Shows = Callable[[LogEvent], bool]


def shown_by(narrowing: Shows | None, spec: ReadSpec) -> Shows | None:
    """The lines delivered: those of the sources shown (`narrowing`, from
    `Selection.narrowing`) that the spec's `grep`/`exclude` keep. None when every line is."""
    if narrowing is None and not spec.filters_lines:
        return None
    if narrowing is None:
        return spec.keeps
    if not spec.filters_lines:
        return narrowing
    return lambda event: narrowing(event) and spec.keeps(event)


def _shown(items: list[LabeledEvent], shows: Shows | None) -> Iterable[LabeledEvent]:
    # Runs for every line: nothing is made for it when nothing is filtered.
    return items if shows is None else [item for item in items if shows(item.event)]


def label_window(
    events: Iterable[LogEvent], labeller: Labeller, shows: Shows | None, stats: FetchStats
) -> Iterator[LabeledEvent]:
    """A window's events (time order), each with its request's ID, in the same order; those
    `shows` keeps."""
    try:
        for event in events:
            ready = labeller.add(event)
            if ready:
                yield from _shown(ready, shows)
    except (Exception, KeyboardInterrupt):
        # A group given up on (IncompleteRead), another error, Ctrl-C: the lines read and held
        # for their label are delivered all the same, before the error.
        yield from _shown(labeller.flush(), shows)
        raise
    yield from _shown(labeller.flush(), shows)
    say_unlabelled(labeller, stats, 0)


def say_unlabelled(labeller: Labeller, stats: FetchStats, told: int) -> int:
    """Lines let go without their request's ID, though one might have come, are said: first
    when it happens, then each time their count doubles (following), or once (a window).
    Returns the count said so far."""
    count = labeller.released_unknown
    if not count or count < 2 * told:
        return told
    lines = f"{count:,} {'line was' if count == 1 else 'lines were'} printed without a request"
    if labeller.crowded:
        stats.notice(
            f"{lines}: {labeller.max_held:,} lines waited for theirs at once, the most the "
            "hold-back keeps"
        )
    else:
        # API Gateway waits 29 s for an integration by default: a request that has not named
        # an invocation by then never will, unless its timeout was raised past the hold-back.
        stats.notice(
            f"{lines}: no request named {'its' if count == 1 else 'their'} invocation within "
            f"{labeller.hold_ms / 1000:g} s (the function was called from elsewhere, or a "
            "request waited longer for it: --hold-back)"
        )
    return count
