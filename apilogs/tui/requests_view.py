"""The requests pane: one row per request, drawn on the Line API from a strip cache, rows keyed
by request ID and updated in place. The newest row is at the bottom while following.

A row is always selected once there is one, so that Enter opens something from the first
screen: until the person moves the cursor, it is the app's and rides on the newest row while
the pane follows (the detail pane shows the newest request). Moving it, opening a row or
focusing the detail pane makes it the person's: it stays on its request, and the pane stops
following so that the row does not scroll away (G takes the ride up again)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.strip import Strip

from apilogs.model import Request
from apilogs.tui.messages import RequestChosen, RequestHighlighted
from apilogs.tui.store import Change, Entry, RequestIndex, RequestStore, Sort, sort_entry
from apilogs.tui.tail_view import TailView, move_keys
from apilogs.tui.text import Columns, TimeFormat, cell, header_row, request_row


class RequestList(TailView):
    """Shows `store`'s requests that `keep` keeps, in the index's order."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *move_keys("cursor(1)", "cursor(-1)", "page(1)", "page(-1)", "first", "last"),
        Binding("enter", "choose", "Open", key_display="⏎"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"request-list--cursor", "request-list--header"}
    DEFAULT_CSS = """
    RequestList {
        overflow-x: hidden;
        scrollbar-gutter: stable;
        /* A column more for the cause at 80 columns. */
        scrollbar-size-vertical: 1;
    }
    RequestList > .request-list--cursor {
        background: $accent 35%;
        text-style: bold;
    }
    RequestList:focus > .request-list--cursor {
        background: $accent 60%;
    }
    RequestList > .request-list--header {
        background: $panel;
    }
    """

    def __init__(
        self,
        store: RequestStore,
        fmt: TimeFormat,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.fmt = fmt
        self.index = RequestIndex()
        self.keep: Callable[[Request], bool] = lambda r: r.seen_by_api_gateway
        self.selected: str | None = None
        # The cursor is the app's (it rides on the newest row while following), not the
        # person's: see the module doc.
        self.auto_cursor = True
        self._cache: LRUCache[str, Strip] = LRUCache(1024)
        self._cache_width = 0
        self._header: Strip | None = None

    # -- content -----------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        return len(self.index)

    def _resize_virtual(self) -> None:
        self.resize_content(Size(self.size.width, len(self.index) + 1))

    def apply(self, change: Change) -> None:
        """Show what one store update did: rows appear, change in place, or go."""
        store = self.store
        index = self.index
        top = self._top_key()
        top_pos = self.scroll_offset.y
        bottom = top_pos + self._visible_rows()
        added_below = 0
        # Redraw only what is in view and changed; a row that appeared or went in view moves
        # every row under it: then all of them.
        moved_in_view = bool(change.dropped)
        changed_rows: list[int] = []
        if change.dropped:
            removed_above = 0
            if top is not None and not self.following:
                for key in change.dropped:
                    pos = index.position(key)
                    if pos is not None and pos < top_pos:
                        removed_above += 1
            index.remove_many(change.dropped)
            for key in change.dropped:
                self._cache.discard(key)
            if self.selected in change.dropped:
                self.selected = None
                self.post_message(RequestHighlighted(None))
            if removed_above and not self.following:
                self.scroll_to_line(max(0, top_pos - removed_above))
        keep = self.keep
        for key in change.new:
            request = store.requests[key]
            if index.put(key, store.seq[key], request, keep(request)):
                pos = index.position(key)
                if pos is not None and pos >= top_pos:
                    added_below += 1
                if pos is not None and pos < bottom:
                    moved_in_view = True
        for key in change.changed:
            self._cache.discard(key)
            request = store.requests[key]
            before = index.position(key)
            if index.put(key, store.seq[key], request, keep(request)):
                moved_in_view = moved_in_view or (before is not None and before < bottom)
                after = index.position(key)
                moved_in_view = moved_in_view or (after is not None and after < bottom)
            elif before is not None and top_pos <= before < bottom:
                changed_rows.append(before)
        if index.sort is not Sort.TIME and top is not None and not self.following:
            # Rows moved around: keep the one at the top in place.
            pos = index.position(top)
            if pos is not None and pos != top_pos:
                self.scroll_to_line(pos)
        self._resize_virtual()
        self.content_grew(added_below)
        self._place_cursor()
        if moved_in_view:
            self.refresh()
        else:
            for row in changed_rows:
                self.refresh_lines(row + 1)

    def reset(self, entries: list[Entry], sort: Sort) -> None:
        """A new order (filter or sort changed): keep the selected row in view."""
        self.index.reset(entries, sort)
        self._resize_virtual()
        self._cache.clear()
        pos = self.index.position(self.selected) if self.selected else None
        if pos is not None and not self.following:
            self._show_row(pos, center=True)
        elif self.following:
            self.to_end()
        self._place_cursor()
        self.refresh()

    def clear_cache(self) -> None:
        self._cache.clear()
        self._header = None
        self.refresh()

    def show_counts(self, total: int, sort: Sort, filter_text: str) -> None:
        """The title: how many rows of the `total` requests, their order, the filter."""
        title = Text(no_wrap=True, end="")
        title.append("Requests", "bold")
        shown = len(self.index)
        title.append(f" · {shown:,}" + (f" of {total:,}" if shown != total else ""))
        title.append(f" · by {sort}" + (" (slowest first)" if sort is Sort.LATENCY else ""))
        if filter_text:
            title.append(" · filter: ")
            title.append(cell(filter_text), "bold yellow")
        self.show_title(title)

    def _top_key(self) -> str | None:
        return self.index.key_at(self.scroll_offset.y)

    # -- drawing -----------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._header = None

    def _columns(self) -> Columns:
        return Columns.fit(self.scrollable_content_region.width, self.fmt.width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._cache_width:
            self._cache.clear()
            self._header = None
            self._cache_width = width
        base = self.rich_style
        if y == 0:
            if self._header is None:
                style = self.get_component_rich_style("request-list--header")
                text = header_row(self._columns())
                strip = Strip(text.render(self.app.console)).crop_extend(0, width, base)
                self._header = strip.apply_style(base).apply_style(style)
            return self._header
        row = self.scroll_offset.y + y - 1
        key = self.index.key_at(row)
        if key is None:
            return Strip.blank(width, base)
        cached = self._cache.get(key)
        if cached is not None:
            strip = cached
        else:
            request = self.store.requests.get(key)
            if request is None:
                return Strip.blank(width, base)
            text = request_row(request, self.fmt, self._columns())
            # Cached without the widget's style: the cursor's background goes under the text's
            # colours and over the widget's.
            strip = Strip(text.render(self.app.console)).crop_extend(0, width, None)
            self._cache[key] = strip
        if key == self.selected:
            strip = strip.apply_style(self.get_component_rich_style("request-list--cursor"))
        return strip.apply_style(base)

    # -- the cursor --------------------------------------------------------------------------

    @property
    def cursor_row(self) -> int | None:
        return self.index.position(self.selected) if self.selected else None

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _show_row(self, row: int, *, center: bool = False) -> None:
        top = self.scroll_offset.y
        height = self._visible_rows()
        if center:
            self.scroll_to_line(max(0, row - height // 2))
        elif row < top:
            self.scroll_to_line(row)
        elif row >= top + height:
            self.scroll_to_line(row - height + 1)

    def _place_cursor(self) -> None:
        """Select a row when none is, and ride on the newest while the cursor is the app's."""
        count = len(self.index)
        if not count:
            return
        if self.following and (self.auto_cursor or self.selected is None):
            key = self.index.key_at(count - 1)
        elif self.selected is None:
            key = self.index.key_at(min(count - 1, self.scroll_offset.y))
        else:
            return
        if key is not None and key != self.selected:
            self.select(key, auto=True)

    def pin(self) -> None:
        """The person reads the selected request: it stays selected and in view."""
        self.auto_cursor = False
        if self.following:
            self.set_following(False)

    def select(self, key: str | None, *, center: bool = False, auto: bool = False) -> None:
        """Move the cursor to `key`; `auto`: the app moved it, not the person."""
        self.auto_cursor = auto
        if key == self.selected:
            if key is not None:
                pos = self.index.position(key)
                if pos is not None:
                    self._show_row(pos, center=center)
            return
        old = self.selected
        old_pos = self.index.position(old) if old else None
        self.selected = key
        pos = self.index.position(key) if key else None
        top = self.scroll_offset.y
        if pos is not None and not auto:
            # The app's cursor is on a row in view already (the newest, or the top one): the
            # view keeps its own scroll (it may not even be laid out yet).
            self._show_row(pos, center=center)
        if self.scroll_offset.y == top:
            # Not scrolled: only the two rows the cursor left and reached change.
            for row in (old_pos, pos):
                if row is not None:
                    self.refresh_lines(row + 1)
        if pos is not None and pos < len(self.index) - 1 and self.following:
            # The person is reading a row: it must not scroll away under them.
            self.set_following(False)
        self.post_message(RequestHighlighted(key))

    def select_row(self, row: int) -> None:
        if not len(self.index):
            return
        row = max(0, min(len(self.index) - 1, row))
        self.select(self.index.key_at(row))

    def _anchor_row(self, step: int) -> int:
        """Where the cursor moves from: its row, or where the selected request (hidden by the
        filter) would sit, or the bottom row in view when nothing is selected."""
        pos = self.cursor_row
        if pos is not None:
            return pos + step
        if self.selected is not None:
            request = self.store.requests.get(self.selected)
            seq = self.store.seq.get(self.selected)
            if request is not None and seq is not None:
                entry = sort_entry(self.index.sort, self.selected, seq, request)
                at = bisect.bisect_left(self.index.entries, entry)
                return at if step > 0 else at - 1
        top = self.scroll_offset.y
        return min(len(self.index) - 1, top + self._visible_rows() - 1)

    def action_cursor(self, step: int) -> None:
        self.select_row(self._anchor_row(step))

    def action_page(self, direction: int) -> None:
        height = self._visible_rows()
        pos = self.cursor_row
        if pos is None:
            pos = self._anchor_row(0)
        self.select_row(pos + direction * height)

    def action_first(self) -> None:
        self.select_row(0)

    def action_last(self) -> None:
        self.select_row(len(self.index) - 1)
        self.follow()
        # G: follow, and the cursor rides on the newest row again.
        self.auto_cursor = True

    def action_choose(self) -> None:
        if self.selected is not None:
            self.pin()
            self.post_message(RequestChosen(self.selected))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return  # the border, the scrollbar
        row = self.scroll_offset.y + offset.y - 1  # the header row is line 0
        if offset.y >= 1 and 0 <= row < len(self.index):
            key = self.index.key_at(row)
            self.select(key)
            if event.chain >= 2 and key is not None:
                self.post_message(RequestChosen(key))

    # -- search ------------------------------------------------------------------------------

    def find(
        self, test: Callable[[Request], bool], direction: int, start: int | None = None
    ) -> str | None:
        """The next row (after the cursor, or before; or from `start`) whose request `test`
        accepts."""
        index = self.index
        if not len(index):
            return None
        if start is None:
            start = self._anchor_row(direction)
        requests = self.store.requests
        rows: Sequence[int] = (
            range(max(0, start), len(index))
            if direction > 0
            else range(min(start, len(index) - 1), -1, -1)
        )
        for row in rows:
            key = index.entries[row][2]
            request = requests.get(key)
            if request is not None and test(request):
                return key
        return None
