"""`apilogs tui`: requests stream in as rows; filter, open one, read its whole story.

`TuiApp` is the screen and its keys: it lays the panes out, binds the keys to actions, and routes
the widgets' messages between the panes. The data flow under it (the read, the stores, filter
and sort, X-Ray reads) is `FlowApp`'s (flow.py); the reader thread posts batches, the widgets
post what the user did, nothing calls across."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.events import DescendantFocus
from textual.widgets import ContentSwitcher, Footer

from apilogs.diagnosis.story import untraced_note
from apilogs.model import Source, Topology
from apilogs.render.sanitize import sanitize
from apilogs.tui.detail import DetailView
from apilogs.tui.feed import Feed, trace_reader
from apilogs.tui.filter_bar import FilterBar
from apilogs.tui.flow import FlowApp, TuiOptions
from apilogs.tui.header import HeaderBar
from apilogs.tui.help import HelpScreen
from apilogs.tui.messages import FilterClosed, JumpToRequest, RequestChosen, RequestHighlighted
from apilogs.tui.requests_view import RequestList
from apilogs.tui.store import Sort, is_server_error
from apilogs.tui.stream_view import StreamView
from apilogs.tui.text import cell, label_width_for, spans_days
from apilogs.tui.traces import request_key

__all__ = ["TuiApp", "TuiOptions", "run_tui"]

# A second Esc within this many seconds of the first clears the filter.
CLEAR_AGAIN_S = 3.0


class TuiApp(FlowApp):
    TITLE = "apilogs"
    CSS = """
    Screen {
        layout: vertical;
    }
    #switcher {
        height: 1fr;
    }
    #requests-view {
        height: 1fr;
    }
    #requests {
        height: 3fr;
        min-height: 6;
    }
    #detail {
        height: 2fr;
        min-height: 6;
    }
    #stream {
        height: 1fr;
    }
    """
    # When the first Esc of two that clear the filter was pressed (monotonic s).
    _clear_armed_at: float = float("-inf")

    # In the footer's order: what an 80-column footer drops first comes last.
    BINDINGS: ClassVar[list[BindingType]] = [
        # Esc is "back" (see `back_step`) before it ever clears the filter, and that takes two.
        Binding("escape", "go_back", "Back"),
        Binding("escape", "clear_filter", "Clear filter"),
        # At the top of the Esc ladder, opened from the list of APIs: Esc says where `b` goes
        # (it does not go there itself: a held Esc must not drop the API being read).
        Binding("escape", "back_hint", "Back", show=False),
        Binding("b", "back_to_list", "APIs"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("e", "next_error(1)", "Next 5xx"),
        Binding("E", "next_error(-1)", "Prev 5xx", show=False),
        Binding("c", "copy", "Copy ID"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("v", "switch_view", "Stream/requests"),
        Binding("s", "sort", "Sort"),
        Binding("t", "zone", "UTC/local"),
        Binding("p", "pause", "Pause"),
        Binding("X", "trace", "X-Ray"),
        Binding("x", "pretty", "JSON", show=False),
        Binding("w", "wrap", "Wrap", show=False),
        Binding("z", "zoom", "Zoom", show=False),
    ]

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(self.window, self.fmt, id="header")
        with ContentSwitcher(initial="requests-view", id="switcher"):
            with Vertical(id="requests-view"):
                yield RequestList(self.store, self.fmt, id="requests")
                yield DetailView(
                    self.fmt,
                    sources=self.sources,
                    highlights=self.options.highlights,
                    phase_sources=(*self.options.phase_sources, self.trace_cache.phases),
                    traces=self.trace_cache,
                    id="detail",
                )
            yield StreamView(
                self.log_store,
                self.fmt,
                label_width_for(self.sources),
                highlights=self.options.highlights,
                id="stream",
            )
        yield FilterBar(id="filter")
        # Ctrl+P still opens Textual's palette; its hint would take a key's room at 80 columns.
        yield Footer(show_command_palette=False)

    @property
    def switcher(self) -> ContentSwitcher:
        return self.query_one("#switcher", ContentSwitcher)

    @property
    def stream_shown(self) -> bool:
        return self.switcher.current == "stream"

    def on_mount(self) -> None:
        for notice in self.options.notices:
            self._tell(notice)
        if self.options.initial_filter:
            self._set_filter(self.options.initial_filter)
        self._update_titles()
        self.refresh_header()
        self.set_interval(0.5, self.refresh_header)
        self.requests.focus()
        self._read()

    # -- keys ----------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one(FilterBar).open(self.query_text)

    def on_filter_closed(self, message: FilterClosed) -> None:
        self._stop_filter_timer()
        if message.restore is not None and message.restore != self.query_text:
            self._set_filter(message.restore)
        self.focus_main()

    def action_sort(self) -> None:
        self.sort = Sort.LATENCY if self.sort is Sort.TIME else Sort.TIME
        if self.sort is Sort.LATENCY:
            self.requests.following = False
        self._rebuild()
        if self.sort is Sort.LATENCY:
            self.requests.scroll_to_line(0)
        else:
            self.requests.follow()
        self._update_titles()
        self.notify(
            "sorted by latency, slowest first" if self.sort is Sort.LATENCY else "sorted by time",
            timeout=2,
        )

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_next_error(self, direction: int) -> None:
        if self.stream_shown:
            if not self.stream.next_error(direction):
                self.notify(f"no error line {'below' if direction > 0 else 'above'}", timeout=2)
            return
        requests = self.requests
        if requests.selected is None or requests.auto_cursor:
            # Nothing selected yet: the newest 5xx, the one that matters on call.
            key = requests.find(is_server_error, -1, start=len(requests.index) - 1)
        else:
            key = requests.find(is_server_error, direction)
            if key is None:
                # Around the end, as a search in an editor wraps.
                start = 0 if direction > 0 else len(requests.index) - 1
                key = requests.find(is_server_error, direction, start=start)
                if key is not None and key != requests.selected:
                    self.notify(
                        f"no more 5xx {'below' if direction > 0 else 'above'}: wrapped around",
                        timeout=2,
                    )
        if key is None:
            self.notify("no 5xx in view", timeout=2)
            return
        requests.select(key)

    def action_switch_view(self) -> None:
        self.switcher.current = "requests-view" if self.stream_shown else "stream"
        self.focus_main()

    def focus_main(self) -> None:
        if self.stream_shown:
            self.stream.focus()
        else:
            self.requests.focus()

    def action_zone(self) -> None:
        self.fmt.tz = None if self.fmt.tz is UTC else UTC
        now_ms = self._now_ms()
        self.fmt.with_date = spans_days(self.options.start_ms, now_ms, self.fmt.tz)
        self._times_changed()
        self.refresh_header()
        self.notify(f"times in {self.fmt.zone_name}", timeout=2)

    def action_copy(self) -> None:
        request_id: str | None = None
        if self.stream_shown:
            # The line's request, as the requests view would copy it: its API Gateway ID is
            # what every other line of it is labelled and grepped with.
            key = self._key_of(self.stream.selected_ids())
            request = self.store.get(key) if key else None
            if request is not None and request.request_id:
                request_id = request.request_id
            elif (event := self.stream.current_event()) is not None:
                line = event.line
                request_id = line.request_id or line.lambda_request_id or line.trace_id
        else:
            key = self.requests.selected
            request = self.store.get(key) if key else None
            if request is not None:
                request_id = request.request_id or (request.ids[0] if request.ids else None)
        if not request_id:
            self.notify("nothing selected to copy", timeout=2)
            return
        # IDs are trusted by shape; sanitised all the same before they reach the terminal.
        safe = sanitize(request_id, keep_newlines=False)
        self.copy_to_clipboard(safe)
        self.notify(f"copied {safe}", timeout=3, markup=False)

    def action_pause(self) -> None:
        self.set_paused(not self.paused)

    def action_trace(self) -> None:
        """X: read the shown request's X-Ray trace in a worker (once per trace ID). In the
        stream, the selected line's request: it is opened, for the trace shows in its story."""
        if self.stream_shown:
            ids = self.stream.selected_ids()
            if not ids:
                self.notify("select a line first: X reads its request's X-Ray trace", timeout=3)
                return
            key = self._key_of(ids)
            if key is None:
                self._not_in_view()
                return
            self._open_request(key)
        request = self.detail.request
        if request is None:
            self.notify("select a request first: its X-Ray trace is read on X", timeout=3)
            return
        cache = self.trace_cache
        trace_id = request.trace_id
        why = untraced_note(request)
        reader = trace_reader(self.feed)
        if why is None and reader is None:
            why = "this feed cannot read X-Ray traces"
        if why is not None or trace_id is None or reader is None:
            cache.notes[request_key(request)] = why or "no trace ID"
            self.detail.redraw()
            self.notify(cell(why or "no trace ID"), timeout=4, markup=False)
            return
        if trace_id in cache.traces:
            self.detail.redraw()
            self.notify("X-Ray trace already read: shown in the detail pane", timeout=2)
            return
        if trace_id in cache.reading:
            return
        cache.reading.add(trace_id)
        cache.notes.pop(trace_id, None)
        self.detail.redraw()
        self._read_trace(reader, request, trace_id)

    def action_pretty(self) -> None:
        self.detail.toggle_pretty()
        self.notify(
            "JSON messages pretty-printed" if self.detail.pretty else "JSON messages as logged",
            timeout=2,
        )

    def action_wrap(self) -> None:
        self.detail.set_wrap(not self.detail.wrap)
        self.notify(
            "long lines wrapped" if self.detail.wrap else "long lines not wrapped", timeout=2
        )

    def action_zoom(self) -> None:
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            self.refresh_bindings()
            return
        focused = self.focused
        if isinstance(focused, RequestList | DetailView | StreamView):
            screen.maximize(focused)
        self.refresh_bindings()

    # -- Esc: back, one step at a time -------------------------------------------------------

    def back_step(self) -> str | None:
        """What Esc goes back from now, or None: a zoomed pane, then the focused detail pane
        (back to the requests), then the stream (back to the requests view). The filter bar
        and the help screen take Esc themselves (undo the edit and leave, close)."""
        try:
            if self.screen.maximized is not None:
                return "zoom"
            if self.focused is self.detail:
                return "detail"
            if self.stream_shown:
                return "stream"
        except NoMatches:  # asked before the panes are composed
            pass
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go_back":
            return self.back_step() is not None
        if action == "clear_filter":
            return self.back_step() is None and not self.query_.empty
        if action == "back_hint":
            return self.options.back_to is not None and self.back_step() is None
        if action == "back_to_list":
            return self.options.back_to is not None
        return True

    def action_go_back(self) -> None:
        step = self.back_step()
        if step == "zoom":
            self.screen.minimize()
        elif step == "detail":
            self.requests.focus()
        elif step == "stream":
            self.action_switch_view()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        """Esc with nothing to go back from: the first says what a second would do."""
        if self.query_.empty:
            return
        now = time.monotonic()
        if now - self._clear_armed_at > CLEAR_AGAIN_S:
            self._clear_armed_at = now
            self.notify(
                f"filter {cell(self.query_text)}: Esc again clears it", timeout=CLEAR_AGAIN_S
            )
            return
        self._clear_armed_at = 0.0
        self._set_filter("")
        self.notify("filter cleared", timeout=2)

    def action_back_hint(self) -> None:
        self.notify(f"b: back to {self.options.back_to}", timeout=3, markup=False)

    def action_back_to_list(self) -> None:
        """b: leave this API for the list it was opened from (the read is stopped)."""
        if self.options.back_to is None:
            return
        self.went_back = True
        self.stop_event.set()
        self.exit()

    async def action_quit(self) -> None:
        self.stop_event.set()
        self.exit()

    def on_unmount(self) -> None:
        self.stop_event.set()
        self.collector.release()

    # -- between the panes ---------------------------------------------------------------------

    def on_request_highlighted(self, message: RequestHighlighted) -> None:
        key = message.key
        self.detail.show(self.store.get(key) if key else None)

    def on_request_chosen(self, message: RequestChosen) -> None:
        self.requests.pin()
        self.detail.focus()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if event.widget is self.detail:
            # Read, the request must not change under the reader (the cursor stops riding).
            self.requests.pin()
        self.refresh_bindings()

    def on_jump_to_request(self, message: JumpToRequest) -> None:
        key = self._key_of(message.ids)
        if key is None:
            self._not_in_view()
            return
        self._open_request(key)

    def _key_of(self, ids: Iterable[str]) -> str | None:
        """The store's key for the request these IDs name (None: it is not in the store)."""
        store = self.store
        return next(
            (k for i in ids if (k := i if i in store.requests else store.by_id.get(i))), None
        )

    def _not_in_view(self) -> None:
        self.notify(
            "its request is not in view (no API Gateway line named it, or it was dropped)",
            timeout=3,
        )

    def _open_request(self, key: str) -> None:
        """The requests view, with this request selected and its story in the detail pane."""
        store = self.store
        self.switcher.current = "requests-view"
        if key not in self.requests.index:
            self.notify("the filter hides its request: shown in the detail pane", timeout=3)
        self.requests.select(key, center=True)
        self.detail.show(store.get(key))
        self.requests.focus()


def run_tui(feed: Feed, topology: Topology, sources: Sequence[Source], options: TuiOptions) -> int:
    """Run the TUI until the user quits; the read is stopped and its thread ended. Returns
    Textual's return code: non-zero when the app stopped on an exception of its own (Textual
    has printed the traceback by then)."""
    app = TuiApp(feed, topology, sources, options)
    try:
        app.run()
    finally:
        app.stop_event.set()
        app.reader_done.wait(2.0)
    return app.return_code or 0
