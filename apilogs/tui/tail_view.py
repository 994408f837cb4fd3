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


def set_virtual_size(widget: Widget, size: Size) -> bool:
    """Change how much a Line API widget scrolls over without a layout of the whole screen
    (assigning `virtual_size` lays out the screen: tens of ms, on every batch or keypress).
    Only a scrollbar that appears or goes needs a layout. Always False: the size is set at
    once (Textual's `_scroll_update`; no public call does this without a layout)."""
    if widget.virtual_size == size:
        return False
    bars = (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar)
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)
    if (widget.show_vertical_scrollbar, widget.show_horizontal_scrollbar) != bars:
        widget.refresh(layout=True)
    else:
        widget.refresh()
    return False


class TailView(ScrollView, can_focus=True):
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
