"""`apilogs tui`: requests stream in as rows; filter, open one, read its whole story.

The app owns the data (`RequestStore`, `EventLog`) and routes messages between its parts: the
reader thread posts batches, the widgets post what the user did, nothing calls across. The UI
thread never waits on the network: one thread worker runs the core's read, hands each batch over
as a message, and waits (a few batches in flight at most) while the UI catches up."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer

from apilogs.aws import describe_aws_error
from apilogs.errors import ApilogsError
from apilogs.model import Request, Source, Topology
from apilogs.render.requests import untraced_note
from apilogs.render.sanitize import sanitize
from apilogs.tui.detail import DetailView
from apilogs.tui.feed import Batch, Feed, TraceReader, trace_reader
from apilogs.tui.filter_bar import FilterBar
from apilogs.tui.header import HeaderBar
from apilogs.tui.help import HelpScreen
from apilogs.tui.memory import Collector
from apilogs.tui.messages import (
    FeedBatch,
    FeedEnded,
    FilterClosed,
    FilterComputed,
    FilterEdited,
    JumpToRequest,
    RequestChosen,
    RequestHighlighted,
    TraceRead,
)
from apilogs.tui.query import Query, QueryError, parse_query
from apilogs.tui.requests_view import RequestList
from apilogs.tui.store import (
    EventLog,
    Histogram,
    RequestStore,
    Sort,
    build_entries,
    is_server_error,
    nice_bucket_ms,
)
from apilogs.tui.stream_view import StreamView
from apilogs.tui.text import TimeFormat, cell, label_width_for, spans_days
from apilogs.tui.traces import TraceCache, report_note, request_key
from apilogs.tui.waterfall import DEFAULT_PHASE_SOURCES, PhaseSource

__all__ = ["TuiApp", "TuiOptions", "run_tui"]

DEFAULT_MAX_REQUESTS = 10_000
LINES_PER_REQUEST = 40  # the stream keeps this many lines per kept request
# Filtering or sorting this many requests or more runs in a thread worker.
SYNC_REBUILD_LIMIT = 5_000
# Batches handed to the UI and not yet applied: the reader waits beyond this.
IN_FLIGHT = 4


@dataclass(frozen=True)
class TuiOptions:
    start_ms: int
    end_ms: int | None = None
    follow: bool = True
    tz: tzinfo | None = None  # None: local time
    max_requests: int = DEFAULT_MAX_REQUESTS
    max_lines: int | None = None  # default: LINES_PER_REQUEST × max_requests
    initial_filter: str = ""
    highlights: tuple[re.Pattern[str], ...] = ()
    phase_sources: tuple[PhaseSource, ...] = DEFAULT_PHASE_SOURCES
    # Told before the read starts: the topology's findings, the selection's notices.
    notices: tuple[str, ...] = ()
    # The reader's idle batches are shown at most this often (they only move the clock).
    heartbeat_s: float = 1.0
    # The wall clock (epoch ms); tests fix it so that screens do not depend on the day.
    clock: Callable[[], int] | None = None

    @property
    def line_cap(self) -> int:
        return self.max_lines or LINES_PER_REQUEST * self.max_requests


@dataclass
class _Notices:
    told: list[str] = field(default_factory=list)
    error: str | None = None


class TuiApp(App[None]):
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
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("e", "next_error(1)", "Next 5xx"),
        Binding("E", "next_error(-1)", "Prev 5xx", show=False),
        Binding("v", "switch_view", "Stream/requests"),
        Binding("s", "sort", "Sort"),
        Binding("t", "zone", "UTC/local"),
        Binding("c", "copy", "Copy ID"),
        Binding("p", "pause", "Pause"),
        Binding("X", "trace", "X-Ray"),  # last shown: the first the footer drops when narrow
        Binding("x", "pretty", "JSON", show=False),
        Binding("w", "wrap", "Wrap", show=False),
        Binding("z", "zoom", "Zoom", show=False),
        Binding("escape", "escape", "Back", show=False),
    ]

    def __init__(
        self,
        feed: Feed,
        topology: Topology,
        sources: Sequence[Source],
        options: TuiOptions,
    ) -> None:
        super().__init__()
        self.feed = feed
        self.topology = topology
        self.sources = tuple(sources)
        self.options = options
        self.stop_event = threading.Event()
        self.reader_done = threading.Event()
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)
        end_or_now = options.end_ms if options.end_ms is not None else self._wall_ms()
        span = max(1_000, end_or_now - options.start_ms)
        self.store = RequestStore(
            options.max_requests,
            Histogram(
                options.start_ms, nice_bucket_ms(span + (3_600_000 if options.follow else 0))
            ),
        )
        self.log_store = EventLog(options.line_cap)
        self.fmt = TimeFormat(options.tz, spans_days(options.start_ms, end_or_now, options.tz))
        self.query_text = ""
        self.query_: Query = Query()
        self.sort = Sort.TIME
        self.paused = False
        self.state = "live" if options.follow else "reading"
        self.clock_ms: int | None = None
        self._held: list[Batch] = []
        self._held_lines = 0
        self._generation = 0
        self._since: set[str] | None = None  # keys changed while a worker filters a snapshot
        self._dropped_since: set[str] = set()
        self._filter_timer: object | None = None
        self._notices = _Notices()
        self._told_drop = False
        self._last_heartbeat = 0.0
        self.batches_applied = 0
        self.lines_seen = 0
        self.collector = Collector()
        self._titles: dict[int, tuple[str, tuple[object, ...]]] = {}
        self.trace_cache = TraceCache()

    def _wall_ms(self) -> int:
        clock = self.options.clock
        return clock() if clock is not None else int(time.time() * 1000)

    def _now_ms(self) -> int:
        """Where the window ends: its end, or how far the read got, or now."""
        if self.options.end_ms is not None:
            return self.options.end_ms
        return self.clock_ms if self.clock_ms is not None else self._wall_ms()

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
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
        yield Footer()

    @property
    def requests(self) -> RequestList:
        return self.query_one("#requests", RequestList)

    @property
    def detail(self) -> DetailView:
        return self.query_one("#detail", DetailView)

    @property
    def stream(self) -> StreamView:
        return self.query_one("#stream", StreamView)

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

    # -- the read ------------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, name="apilogs read", description="read the logs")
    def _read(self) -> None:
        error: str | None = None
        try:
            self.feed.run(self.stop_event, self._emit)
        except Exception as exc:
            error = describe_error(exc)
        finally:
            self.reader_done.set()
        if not self.stop_event.is_set():
            self.post_message(FeedEnded(error))

    def _emit(self, batch: Batch) -> None:
        """Runs in the reader thread: hand a batch over, waiting while the UI is behind."""
        if not batch.events and not batch.updates:
            now = time.monotonic()
            if now - self._last_heartbeat < self.options.heartbeat_s:
                return
            self._last_heartbeat = now
        while not self._slots.acquire(timeout=0.2):
            if self.stop_event.is_set():
                return
        if self.stop_event.is_set():
            self._slots.release()
            return
        self.post_message(FeedBatch(batch))

    def on_feed_batch(self, message: FeedBatch) -> None:
        self._slots.release()
        batch = message.batch
        if self.paused:
            self._held.append(batch)
            self._held_lines += len(batch.events)
            if self._held_lines > self.options.line_cap:
                self._tell(
                    "resumed by itself: more lines arrived while paused than the TUI keeps "
                    f"({self.options.line_cap:,})"
                )
                self.action_pause()
            return
        self._apply(batch)

    def _apply(self, batch: Batch) -> None:
        store = self.store
        if batch.now_ms is not None:
            self.clock_ms = batch.now_ms
        if batch.updates:
            change = store.apply(batch.updates)
            if self._since is not None:
                self._since.update(change.new)
                self._since.update(change.changed)
                self._dropped_since.update(change.dropped)
            self.requests.apply(change)
            selected = self.requests.selected
            if selected is not None and selected in change.changed:
                self.detail.show(store.get(selected), same=True)
            if change.dropped and not self._told_drop:
                self._told_drop = True
                self.notify(
                    f"Keeping the newest {store.max_requests:,} requests; older ones are dropped "
                    "from view (--max-requests).",
                    severity="warning",
                    markup=False,
                )
        if batch.events:
            log = self.log_store
            before_lines = log.lines + log.base_line
            base_line = log.base_line
            dropped = log.extend(batch.events)
            added = log.lines + log.base_line - before_lines
            self.stream.grew(added, dropped, log.base_line - base_line)
            self.lines_seen += len(batch.events)
        self.batches_applied += 1
        self._update_titles()
        if batch.events or batch.updates:
            self.collector.settle()

    def on_feed_ended(self, message: FeedEnded) -> None:
        if message.error:
            self.state = "stopped"
            self._notices.error = message.error
            self.notify(message.error, title="read failed", severity="error", markup=False)
        else:
            self.state = "done"
        self.refresh_header()

    # -- header --------------------------------------------------------------------------------

    def refresh_header(self) -> None:
        if not self.is_running or self.stop_event.is_set():
            return
        stats = self.feed.stats
        for notice in stats.take_notices():
            self._tell(notice)
        now_ms = self._now_ms()
        with_date = spans_days(self.options.start_ms, now_ms, self.fmt.tz)
        if with_date != self.fmt.with_date:
            self.fmt.with_date = with_date
            self._times_changed()
        header = self.query_one(HeaderBar)
        requests, errors = self.store.histogram.series(header.spark_bins, now_ms)
        header.show(self._title(), self._counts(), self._notice_line(), requests, errors)
        self._update_titles()

    def _tell(self, notice: str) -> None:
        self._notices.told.append(notice)
        self.notify(cell(notice), severity="warning", markup=False, timeout=8)

    def _title(self) -> Text:
        topo = self.topology
        text = Text(no_wrap=True, end="")
        state, style = self._state()
        text.append(state, style)
        text.append("  ")
        text.append("apilogs ", "bold")
        text.append(cell(topo.api_name), "bold cyan")
        text.append(f" ({topo.kind} {cell(topo.api_id)})", "dim")
        text.append(" · stage ")
        text.append(cell(topo.stage), "bold")
        text.append(" · ")
        start = self.fmt.short(self.options.start_ms)
        if self.options.end_ms is not None:
            text.append(f"{start} → {self.fmt.short(self.options.end_ms)}")
        else:
            text.append(f"since {start}")
        text.append(f" {self.fmt.zone_name}")
        return text

    def _state(self) -> tuple[str, str]:
        if self.paused:
            held = f" · {self._held_lines:,} lines held" if self._held_lines else ""
            return f"⏸ paused{held} (p resumes)", "bold yellow"
        if self.state == "live":
            return "● live", "bold green"
        if self.state == "reading":
            return "◌ reading…", "bold cyan"
        if self.state == "done":
            return "■ done", "bold"
        return "✖ stopped", "bold bright_red"

    def _counts(self) -> Text:
        counts = self.store.counts
        text = Text(no_wrap=True, end="")
        text.append(f"{counts.requests:,}", "bold")
        text.append(" requests · ")
        text.append(
            f"{counts.server_errors:,} 5xx", "bold bright_red" if counts.server_errors else "dim"
        )
        text.append(" · ")
        text.append(
            f"{counts.client_errors:,} 4xx", "bold yellow" if counts.client_errors else "dim"
        )
        text.append(" · ")
        text.append(
            f"{counts.cold_starts:,} cold", "bold bright_cyan" if counts.cold_starts else "dim"
        )
        if counts.in_progress:
            text.append(f" · {counts.in_progress:,} in progress", "dim")
        text.append(f" · {self.lines_seen:,} lines", "dim")
        return text

    def _notice_line(self) -> Text:
        stats = self.feed.stats
        parts: list[tuple[str, str]] = []
        if self._notices.error:
            parts.append((f"✖ {self._notices.error}", "bold bright_red"))
        now = time.monotonic()
        for group, (since, reason) in sorted(stats.failing.items()):
            parts.append(
                (f"⚠ {group} not answering for {now - since:.0f} s: {reason}", "bold bright_red")
            )
        if stats.throttles:
            parts.append(
                (
                    f"⚠ CloudWatch Logs throttled {stats.throttles:,} reads: slowed down, nothing lost",
                    "yellow",
                )
            )
        if self.store.dropped:
            parts.append(
                (
                    f"⚠ {self.store.dropped:,} older requests dropped from view "
                    f"(the newest {self.store.max_requests:,} are kept: --max-requests)",
                    "yellow",
                )
            )
        if self.log_store.dropped:
            parts.append(
                (f"⚠ {self.log_store.dropped:,} older lines dropped from the stream", "yellow")
            )
        if self._notices.told:
            count = len(self._notices.told)
            more = f" (+{count - 1} more)" if count > 1 else ""
            parts.append((f"⚠ {self._notices.told[-1]}{more}", "yellow"))
        text = Text(no_wrap=True, end="")
        if not parts:
            text.append("no notices", "dim")
            return text
        for i, (part, style) in enumerate(parts):
            if i:
                text.append("  ")
            text.append(cell(part), style)
        return text

    def _update_titles(self) -> None:
        requests = self.requests
        title = Text(no_wrap=True, end="")
        title.append("Requests", "bold")
        shown = len(requests.index)
        total = len(self.store)
        title.append(f" · {shown:,}" + (f" of {total:,}" if shown != total else ""))
        title.append(
            f" · by {self.sort}" + (" (slowest first)" if self.sort is Sort.LATENCY else "")
        )
        if not self.query_.empty:
            title.append(" · filter: ")
            title.append(cell(self.query_text), "bold yellow")
        self._set_title(requests, title)
        stream_title = Text(no_wrap=True, end="")
        stream_title.append("Stream", "bold")
        stream_title.append(f" · {self.log_store.lines:,} lines, every group merged")
        self._set_title(self.stream, stream_title)

    def _set_title(self, widget: Widget, title: Text) -> None:
        """Set a border title only when it changed: setting one redraws the whole widget."""
        seen = (title.plain, tuple(title.spans))
        if self._titles.get(id(widget)) != seen:
            self._titles[id(widget)] = seen
            widget.border_title = title

    # -- filter and sort -----------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one(FilterBar).open(self.query_text)

    def on_filter_edited(self, message: FilterEdited) -> None:
        if message.final:
            if self._set_filter(message.text):
                self.query_one(FilterBar).close(cancel=False)
            return
        # As you type: at once for a small store, after a pause in typing for a big one.
        if self._filter_timer is not None:
            self._filter_timer.stop()  # type: ignore[attr-defined]
            self._filter_timer = None
        if len(self.store) < SYNC_REBUILD_LIMIT:
            self._set_filter(message.text, quiet=True)
        else:
            text = message.text
            self._filter_timer = self.set_timer(0.3, lambda: self._set_filter(text, quiet=True))

    def on_filter_closed(self, message: FilterClosed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()  # type: ignore[attr-defined]
            self._filter_timer = None
        if message.restore is not None and message.restore != self.query_text:
            self._set_filter(message.restore)
        self.focus_main()

    def _set_filter(self, text: str, *, quiet: bool = False) -> bool:
        bar = self.query_one(FilterBar)
        try:
            query = parse_query(text)
        except QueryError as exc:
            bar.show_error(str(exc))
            if not quiet and not bar.is_open:
                self.notify(str(exc), severity="error", markup=False)
            return False
        bar.show_error(None)
        if text.strip() == self.query_text and not quiet:
            return True
        self.query_text = text.strip()
        self.query_ = query
        self.requests.keep = query
        self.stream.set_highlights(
            [re.compile(re.escape(n), re.IGNORECASE) for n in query.needles if n]
        )
        self._rebuild()
        return True

    def _rebuild(self) -> None:
        self._generation += 1
        keep = None if self.query_.empty else self.query_
        items = self.store.snapshot()
        if len(items) < SYNC_REBUILD_LIMIT:
            self._since = None
            self.requests.reset(build_entries(items, keep or _gateway_only, self.sort), self.sort)
            self._update_titles()
            return
        self._since = set()
        self._dropped_since = set()
        self._compute(self._generation, items, keep or _gateway_only, self.sort)

    # A description of our own: Textual would otherwise repr every argument (the whole store).
    @work(
        thread=True,
        exit_on_error=False,
        exclusive=True,
        group="filter",
        description="filter and sort the requests",
    )
    def _compute(
        self,
        generation: int,
        items: list[tuple[str, int, Request]],
        keep: Callable[[Request], bool],
        sort: Sort,
    ) -> None:
        entries = build_entries(items, keep, sort)
        self.post_message(FilterComputed(generation, entries, sort))

    def on_filter_computed(self, message: FilterComputed) -> None:
        if message.generation != self._generation:
            return
        requests = self.requests
        requests.reset(message.entries, message.sort)
        since, self._since = self._since or set(), None
        dropped, self._dropped_since = self._dropped_since, set()
        requests.index.remove_many(list(dropped))
        store = self.store
        for key in since:
            request = store.requests.get(key)
            if request is not None:
                requests.index.put(key, store.seq[key], request, requests.keep(request))
        requests.reset(requests.index.entries, message.sort)
        self._update_titles()

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

    # -- keys ----------------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_next_error(self, direction: int) -> None:
        if self.stream_shown:
            if not self.stream.next_error(direction):
                self.notify(f"no error line {'below' if direction > 0 else 'above'}", timeout=2)
            return
        requests = self.requests
        if requests.selected is None:
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

    def _times_changed(self) -> None:
        self.fmt.clear()
        self.requests.clear_cache()
        self.stream.clear_cache()
        self.detail.redraw()

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
        if self.paused:
            self.paused = False
            held, self._held, self._held_lines = self._held, [], 0
            for batch in held:
                self._apply(batch)
        else:
            self.paused = True
        self.refresh_header()

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

    @work(thread=True, exit_on_error=False, group="xray", description="read an X-Ray trace")
    def _read_trace(self, reader: TraceReader, request: Request, trace_id: str) -> None:
        report = None
        error: str | None = None
        try:
            report = reader([request], self.stop_event)
        except Exception as exc:
            error = describe_error(exc)
        if not self.stop_event.is_set():
            self.post_message(TraceRead(trace_id, report, error))

    def on_trace_read(self, message: TraceRead) -> None:
        cache = self.trace_cache
        trace_id = message.trace_id
        cache.reading.discard(trace_id)
        report = message.report
        if report is None:
            note = f"could not read the X-Ray trace: {message.error or 'no answer'}"
            cache.notes[trace_id] = note
            self._tell(note)
        else:
            trace = report.get(trace_id)
            if trace is not None:
                cache.traces[trace_id] = trace
                cache.notes.pop(trace_id, None)
            else:
                cache.notes[trace_id] = report_note(report, trace_id) or ""
            for notice in report.notices:
                # A trace not found is said in the detail pane; the rest (a refusal, where
                # traces are kept) in the header as well.
                if not notice.startswith("X-Ray returned no trace"):
                    self._tell(notice)
        shown = self.detail.request
        if shown is not None and shown.trace_id == trace_id:
            self.detail.redraw()

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
            return
        focused = self.focused
        if isinstance(focused, RequestList | DetailView | StreamView):
            screen.maximize(focused)

    def action_escape(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        elif self.focused is self.detail:
            self.requests.focus()
        elif not self.query_.empty:
            self._set_filter("")
            self.notify("filter cleared", timeout=2)

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
        self.detail.focus()

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


def _gateway_only(request: Request) -> bool:
    return request.seen_by_api_gateway


def describe_error(exc: BaseException) -> str:
    """A failed read, in one line for people."""
    if isinstance(exc, ApilogsError):
        return str(exc)
    typed = describe_aws_error(exc)
    if typed is not None:
        return str(typed)
    return f"unexpected {type(exc).__name__}: {exc}"


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
