"""The base of the TUI's line views: a `ScrollView` on the Line API (only visible lines are
drawn, from an LRU cache of strips) that follows new content while it sits at the bottom, and
otherwise stays put and counts what arrived below ("N new ↓")."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget


def move_keys(
    down: str,
    up: str,
    page_down: str,
    page_up: str,
    first: str,
    last: str,
    *,
    sideways: bool = False,
    ends: tuple[str, str] = ("First", "Last/follow"),
) -> list[BindingType]:
    """The keys every pane moves with (vi's and the arrows), bound to the pane's own actions."""
    keys: list[BindingType] = [
        Binding("j,down", down, "Down", show=False),
        Binding("k,up", up, "Up", show=False),
    ]
    if sideways:
        keys += [
            Binding("h,left", "scroll_left", "Left", show=False),
            Binding("l,right", "scroll_right", "Right", show=False),
        ]
    return [
        *keys,
        Binding("pagedown", page_down, "Page down", show=False),
        Binding("pageup", page_up, "Page up", show=False),
        Binding("g,home", first, ends[0], show=False),
        Binding("G,end", last, ends[1], show=False),
    ]


def _side(extent: int, room: int, bar: int) -> int:
    """Where content of `extent` cells stands against `room` cells that a scrollbar of `bar`
    cells may narrow: fits either way (0), fits only without that bar (1), overflows (2)."""
    return 0 if extent <= room - bar else 1 if extent <= room else 2


def _bars_may_change(widget: Widget, size: Size) -> bool:
    """Whether content of `size` may show or hide a scrollbar of `widget` (overflow `auto`):
    it overflows the room left with the other bar shown and not, differently, or not as the
    bar's current state says."""
    styles = widget.styles
    width, height = widget.container_size
    if styles.overflow_y == "auto":
        room = (height - styles.scrollbar_size_horizontal, height)
        over = {size.height > r for r in room}
        if over != {widget.show_vertical_scrollbar}:
            return True
    if styles.overflow_x == "auto":
        room = (width - styles.scrollbar_size_vertical, width)
        over = {size.width > r for r in room}
        if over != {widget.show_horizontal_scrollbar}:
            return True
    return False


def set_virtual_size(widget: Widget, size: Size) -> bool:
    """Set how much a Line API widget scrolls over, without a layout of the whole screen when
    no scrollbar comes or goes (assigning `virtual_size` lays the screen out: tens of ms, on
    every batch or key). Then the size is set as a reactive without its layout, and the
    scrollbars shown are told the new extent (both public: `set_reactive`, a scrollbar's
    `window_virtual_size`). True when a layout is due: a view that must sit at the very end
    scrolls there again once it is done (a scrollbar that came may have taken a row)."""
    if widget.virtual_size == size:
        return False
    if _bars_may_change(widget, size):
        widget.virtual_size = size  # laid out on the next refresh, which tells the scrollbars
        return True
    widget.set_reactive(Widget.virtual_size, size)
    if widget.show_vertical_scrollbar:
        widget.vertical_scrollbar.window_virtual_size = size.height
    if widget.show_horizontal_scrollbar:
        widget.horizontal_scrollbar.window_virtual_size = size.width
    widget.refresh()
    return False


class LineScrollView(ScrollView):
    """A `ScrollView` whose scrollbars start where the view is when they appear.

    Textual's `ScrollView` moves a scrollbar's thumb when the view scrolls, and only while that
    scrollbar is shown. The virtual size is set before the layout that shows the scrollbar, and
    a view that follows scrolls to its end at once: the scrollbar then appears with its thumb at
    the top, under content shown from the bottom, until the next scroll."""

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        if shown:
            self.vertical_scrollbar.position = self.scroll_y

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        if shown:
            self.horizontal_scrollbar.position = self.scroll_x


class TailView(LineScrollView, can_focus=True):
    """Subclasses call `content_grew(n)` after appending n lines (or rows)."""

    DEFAULT_CSS = """
    TailView {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $warning;
        border-subtitle-style: bold;
    }
    TailView:focus {
        border: round $accent;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.following = True
        self.new_below = 0
        self._title_shown: tuple[str, tuple[object, ...]] | None = None

    def show_title(self, title: Text) -> None:
        """Set the border title only when it changed: setting one redraws the whole widget."""
        seen = (title.plain, tuple(title.spans))
        if seen != self._title_shown:
            self._title_shown = seen
            self.border_title = title

    def resize_content(self, size: Size) -> None:
        """Set the virtual size; a following view is at the very end once a scrollbar that
        came or went is laid out."""
        if set_virtual_size(self, size):
            self.call_after_refresh(self._end_if_following)

    def _end_if_following(self) -> None:
        if self.following:
            self.to_end()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        at_end = new_value >= self.max_scroll_y
        if at_end != self.following or (at_end and self.new_below):
            self.set_following(at_end)

    def scroll_to_line(self, y: int) -> None:
        """Scroll at once (forced: the scrollbars may not be laid out yet), and know whether
        this is the bottom even when the offset did not change."""
        self.scroll_to(y=max(0, y), animate=False, immediate=True, force=True)
        self.set_following(self.scroll_offset.y >= self.max_scroll_y)

    def set_following(self, following: bool) -> None:
        """Follow new content (the count of what arrived below starts over) or stay put."""
        if following == self.following and not (following and self.new_below):
            return
        self.following = following
        if following:
            self.new_below = 0
        self.update_subtitle()

    def to_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)

    def content_grew(self, added: int) -> None:
        if self.following:
            self.to_end()
        elif added > 0:
            self.new_below += added
            self.update_subtitle()

    def follow(self) -> None:
        """Jump to the newest and follow again."""
        self.to_end()
        self.set_following(True)

    def subtitle_text(self) -> Text:
        if not self.following and self.new_below:
            return Text(f" {self.new_below:,} new ↓  (G: follow) ")
        return Text("")

    def update_subtitle(self) -> None:
        self.border_subtitle = self.subtitle_text()
