"""The stream view: every event merged in time order, as `apilogs get -o short` prints it, with
the same highlights. A million lines scroll smoothly: only the visible ones are drawn, from an LRU
cache of strips, and line y is found by bisection over each event's line count."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.strip import Strip

from apilogs.model import LineKind, LogEvent
from apilogs.render.spans import ERROR_KINDS
from apilogs.tui.messages import JumpToRequest
from apilogs.tui.store import EventLog
from apilogs.tui.tail_view import TailView, move_keys
from apilogs.tui.text import TimeFormat, event_lines, fit_label_width, shorten_ids

_FINAL = (LineKind.ACCESS, LineKind.APIGW_COMPLETED)


def is_error_line(event: LogEvent) -> bool:
    if event.line.kind in ERROR_KINDS:
        return True
    if event.line.kind in _FINAL:
        status = event.line.fields.get("status")
        return isinstance(status, int | str) and str(status)[:1] == "5"
    return False


class StreamView(TailView):
    BINDINGS: ClassVar[list[BindingType]] = [
        *move_keys(
            "cursor(1)", "cursor(-1)", "page(1)", "page(-1)", "first", "last", sideways=True
        ),
        Binding("enter", "jump", "Its request", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"stream-view--cursor"}
    DEFAULT_CSS = """
    StreamView {
        scrollbar-gutter: stable;
    }
    StreamView > .stream-view--cursor {
        background: $accent 30%;
    }
    """

    def __init__(
        self,
        log: EventLog,
        fmt: TimeFormat,
        label_width: int,
        *,
        highlights: Sequence[re.Pattern[str]] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.lines_log = log
        self.fmt = fmt
        self.label_width = label_width
        self._drawn_label_width = label_width
        self._drawn_short_ids = False
        self.highlights: tuple[re.Pattern[str], ...] = tuple(highlights)
        self.extra_highlights: tuple[re.Pattern[str], ...] = ()
        self.cursor: int | None = None  # absolute index of the event under the cursor
        self._cache: LRUCache[int, list[Strip]] = LRUCache(2048)
        self._width = 80

    # -- content -----------------------------------------------------------------------------

    def grew(self, added_lines: int, dropped: int, dropped_lines: int) -> None:
        """The log got `added_lines` and lost `dropped` events (`dropped_lines` lines) in front."""
        if dropped and not self.following:
            y = self.scroll_offset.y
            self.scroll_to_line(max(0, y - dropped_lines))
        if self.cursor is not None and self.cursor < self.lines_log.base_index:
            self.cursor = None
        if self.following and self.cursor is not None and len(self.lines_log):
            # A following view's cursor rides on the newest line, so what c, X and Enter act
            # on is the line in sight, not one long scrolled away.
            self.cursor = self.lines_log.base_index + len(self.lines_log) - 1
        self.resize_content(Size(max(self._width, self.size.width), self.lines_log.lines))
        self.content_grew(added_lines)
        self.refresh()

    def show_counts(self) -> None:
        title = Text(no_wrap=True, end="")
        title.append("Stream", "bold")
        title.append(f" · {self.lines_log.lines:,} lines, every group merged")
        self.show_title(title)

    def set_highlights(self, extra: Sequence[re.Pattern[str]]) -> None:
        self.extra_highlights = tuple(extra)
        self.clear_cache()

    def clear_cache(self) -> None:
        self._cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def _label_width(self) -> int:
        # On a narrow pane the source column gives way to the message (as in the detail pane).
        return fit_label_width(self.label_width, self.size.width)

    # -- drawing -----------------------------------------------------------------------------

    def _strips(self, index: int) -> list[Strip]:
        # What the pane's width decides: cached strips drawn for another width are stale.
        label_width = self._label_width()
        short_ids = shorten_ids(self.fmt, label_width, self.size.width)
        if (label_width, short_ids) != (self._drawn_label_width, self._drawn_short_ids):
            self._drawn_label_width, self._drawn_short_ids = label_width, short_ids
            self._cache.clear()
        absolute = self.lines_log.base_index + index
        strips = self._cache.get(absolute)
        if strips is None:
            event = self.lines_log.events[index]
            texts = event_lines(
                event,
                self.fmt,
                label_width,
                late=self.lines_log.is_late(index),
                highlights=self.highlights + self.extra_highlights,
                short_id=short_ids,
            )
            console = self.app.console
            strips = [Strip(t.render(console)) for t in texts]
            widest = max(s.cell_length for s in strips)
            if widest > self._width:
                self._width = widest
                self.resize_content(Size(widest, self.lines_log.lines))
            self._cache[absolute] = strips
        return strips

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        found = self.lines_log.locate(scroll_y + y)
        if found is None:
            return Strip.blank(width, base)
        index, sub = found
        strips = self._strips(index)
        strip = strips[sub] if sub < len(strips) else Strip.blank(0)
        strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        if self.cursor is not None and self.cursor == self.lines_log.base_index + index:
            strip = strip.apply_style(self.get_component_rich_style("stream-view--cursor"))
        return strip.apply_style(base)

    # -- the cursor --------------------------------------------------------------------------

    def _cursor_index(self) -> int | None:
        if self.cursor is None:
            return None
        index = self.cursor - self.lines_log.base_index
        return index if 0 <= index < len(self.lines_log) else None

    def _visible_top_index(self, bottom: bool = True) -> int:
        height = max(1, self.scrollable_content_region.height)
        y = self.scroll_offset.y + (height - 1 if bottom else 0)
        found = self.lines_log.locate(min(y, self.lines_log.lines - 1))
        return found[0] if found else 0

    def move_to(self, index: int) -> None:
        if not len(self.lines_log):
            return
        index = max(0, min(len(self.lines_log) - 1, index))
        self.cursor = self.lines_log.base_index + index
        first = self.lines_log.first_line(index)
        count = len(self._strips(index))
        top = self.scroll_offset.y
        height = max(1, self.scrollable_content_region.height)
        if first < top:
            self.scroll_to_line(first)
        elif first + count > top + height:
            self.scroll_to_line(first + count - height)
        # The view follows only while its cursor is on the newest line: a line chosen above it
        # stays where it is as new ones arrive (they are counted), and j onto the last resumes.
        on_last = index == len(self.lines_log) - 1
        self.set_following(on_last and self.scroll_offset.y >= self.max_scroll_y)
        self.refresh()

    def action_cursor(self, step: int) -> None:
        index = self._cursor_index()
        if index is None:
            index = self._visible_top_index(bottom=step < 0 or self.following)
            self.move_to(index)
            return
        self.move_to(index + step)

    def action_page(self, direction: int) -> None:
        height = max(1, self.scrollable_content_region.height)
        index = self._cursor_index()
        if index is None:
            index = self._visible_top_index(bottom=True)
        line = self.lines_log.first_line(index) + direction * height
        found = self.lines_log.locate(max(0, min(self.lines_log.lines - 1, line)))
        if found is not None:
            self.move_to(found[0])

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.lines_log) - 1)
        self.follow()

    def next_error(self, direction: int) -> bool:
        """Move to the next (or previous) error line; False when there is none that way."""
        index = self._cursor_index()
        if index is None:
            index = self._visible_top_index(bottom=direction < 0) - direction
        events_ = self.lines_log.events
        rows = range(index + 1, len(events_)) if direction > 0 else range(index - 1, -1, -1)
        for i in rows:
            if is_error_line(events_[i]):
                self.move_to(i)
                return True
        return False

    def action_jump(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.post_message(JumpToRequest(ids))

    def selected_ids(self) -> tuple[str, ...]:
        """The IDs that name the request of the line under the cursor (none without one)."""
        index = self._cursor_index()
        return self.ids_of(index) if index is not None else ()

    def ids_of(self, index: int, look: int = 5_000) -> tuple[str, ...]:
        """The IDs that name the request of events[index]. A Lambda line without one (a print,
        a traceback) belongs to the invocation open in its log stream: the nearest line before
        it in the same stream that names one. An init phase (`INIT_START`, and what the
        function prints while it initialises) belongs to the invocation that follows it: the
        nearest line after it that names one (the correlator's rules)."""
        events_ = self.lines_log.events
        event = events_[index]
        where = (event.raw.group, event.raw.stream)
        for i in range(index, max(-1, index - look), -1):
            other = events_[i]
            if i != index and (other.raw.group, other.raw.stream) != where:
                continue
            ids = _ids(other)
            if ids:
                return ids
            if other.line.kind is LineKind.LAMBDA_INIT:
                break  # in an init phase: its invocation starts later
        # Also when no line before it names one: its START came before the lines in view, and
        # its END and REPORT name the same invocation.
        for i in range(index + 1, min(len(events_), index + look)):
            other = events_[i]
            if (other.raw.group, other.raw.stream) == where and (ids := _ids(other)):
                return ids
        return ()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        found = self.lines_log.locate(self.scroll_offset.y + offset.y)
        if found is not None:
            self.move_to(found[0])
            if event.chain >= 2:
                self.action_jump()

    def current_event(self) -> LogEvent | None:
        index = self._cursor_index()
        return self.lines_log.events[index] if index is not None else None


def plain(texts: Sequence[Text]) -> list[str]:
    return [t.plain for t in texts]


def _ids(event: LogEvent) -> tuple[str, ...]:
    line = event.line
    return tuple(i for i in (line.request_id, line.lambda_request_id, line.trace_id) if i)
