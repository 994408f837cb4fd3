"""A scrollable list of `Text` lines on the Line API, wrapped to the width or not (then it
scrolls sideways). For content of modest size (one request's story); the stream view has its
own widget for a million lines."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.strip import Strip

from apilogs.tui.tail_view import LineScrollView, move_keys, set_virtual_size


class LineView(LineScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = move_keys(
        "scroll_down",
        "scroll_up",
        "page_down",
        "page_up",
        "scroll_home",
        "scroll_end",
        sideways=True,
        ends=("Top", "Bottom"),
    )
    DEFAULT_CSS = """
    LineView {
        border: round $panel-lighten-2;
        border-title-color: $text;
        scrollbar-gutter: stable;
    }
    LineView:focus {
        border: round $accent;
    }
    """

    def __init__(self, *, id: str | None = None, wrap: bool = False) -> None:
        super().__init__(id=id)
        self.wrap = wrap
        self._lines: list[Text] = []
        self._visual: list[Text] = []
        self._visual_width = -1
        self._cache: LRUCache[int, Strip] = LRUCache(512)

    @property
    def lines(self) -> list[Text]:
        return self._lines

    def set_lines(self, lines: list[Text], *, keep_scroll: bool = False) -> None:
        y = self.scroll_offset.y
        self._lines = lines
        self._visual_width = -1
        laying_out = self._layout()
        if keep_scroll:
            self._keep_y(y)
            if laying_out:
                # Until then the end may be off by a scrollbar that comes or goes.
                self.call_after_refresh(self._keep_y, y)
        else:
            self.scroll_to(0, 0, animate=False, immediate=True, force=True)
        self.refresh()

    def _keep_y(self, y: float) -> None:
        self.scroll_to(y=min(y, self.max_scroll_y), animate=False, immediate=True, force=True)

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._visual_width = -1
        self._layout()
        self.refresh()

    def _content_width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    def _layout(self) -> bool:
        """Lay the lines out for the width; True when the screen's layout is due as well."""
        width = self._content_width()
        if width == self._visual_width:
            return False
        self._visual_width = width
        self._cache.clear()
        if self.wrap:
            visual: list[Text] = []
            console = self.app.console
            for line in self._lines:
                if cell_len(line.plain) <= width:
                    visual.append(line)
                    continue
                wrapped = line.copy()
                wrapped.no_wrap = False
                wrapped.overflow = "fold"
                visual.extend(wrapped.wrap(console, width))
            self._visual = visual
            return set_virtual_size(self, Size(width, len(visual)))
        self._visual = self._lines
        longest = max((cell_len(line.plain) for line in self._lines), default=0)
        return set_virtual_size(self, Size(max(width, longest), len(self._lines)))

    def on_resize(self) -> None:
        self._layout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        self._layout()
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self._visual):
            return Strip.blank(width, base)
        strip = self._cache.get(index)
        if strip is None:
            strip = Strip(self._visual[index].render(self.app.console))
            self._cache[index] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)

    def plain_lines(self) -> list[str]:
        """Every line as plain text (what tests and the copy action read)."""
        return [line.plain for line in self._lines]
