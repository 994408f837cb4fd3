"""The TUI's data flow: the read, the stores, filter and sort, X-Ray reads, and the facts the
header shows. `TuiApp` (app.py) adds the screen, the keys and the routing between panes.

The UI thread never waits on the network: one thread worker runs the core's read, hands each
batch over as a message, and waits (a few batches in flight at most) while the UI catches up."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import tzinfo

from textual import work
from textual.app import App
from textual.timer import Timer

from apilogs.aws import describe_aws_error
from apilogs.diagnosis.story import DEFAULT_PHASE_SOURCES, PhaseSource
from apilogs.errors import ApilogsError
from apilogs.fetch import FetchStats
from apilogs.model import Request, Source, Topology
from apilogs.parse.vet import left_out_notice
from apilogs.tui.detail import DetailView
from apilogs.tui.feed import Batch, Feed, TraceReader
from apilogs.tui.filter_bar import FilterBar
from apilogs.tui.header import HeaderBar, Notices, Window
from apilogs.tui.memory import Collector
from apilogs.tui.messages import FeedBatch, FeedEnded, FilterComputed, FilterEdited, TraceRead
from apilogs.tui.query import Query, QueryError, parse_query
from apilogs.tui.requests_view import RequestList
from apilogs.tui.store import EventLog, Histogram, RequestStore, Sort, build_entries, nice_bucket_ms
from apilogs.tui.stream_view import StreamView
from apilogs.tui.text import TimeFormat, cell, spans_days
from apilogs.tui.traces import TraceCache, report_note

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
    # Opened from the list of APIs (`apilogs tui` with no API): what `b` goes back to.
    back_to: str | None = None

    @property
    def line_cap(self) -> int:
        return self.max_lines or LINES_PER_REQUEST * self.max_requests


class FlowApp(App[None]):
    """Owns the data (`RequestStore`, `EventLog`) and moves it from the reader into the panes."""

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
        self.window = Window(topology, options.start_ms, options.end_ms)
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
        self._filter_timer: Timer | None = None
        self._told: list[str] = []
        self._error: str | None = None
        self._told_drop = False
        self._left_out_said: str | None = None
        self._last_heartbeat = 0.0
        self.batches_applied = 0
        self.lines_seen = 0
        self.collector = Collector()
        self.trace_cache = TraceCache()
        # `b` left for the list of APIs (`TuiOptions.back_to`) rather than quitting.
        self.went_back = False

    def _wall_ms(self) -> int:
        clock = self.options.clock
        return clock() if clock is not None else int(time.time() * 1000)

    def _now_ms(self) -> int:
        """Where the window ends: its end, or how far the read got, or now."""
        if self.options.end_ms is not None:
            return self.options.end_ms
        return self.clock_ms if self.clock_ms is not None else self._wall_ms()

    @property
    def requests(self) -> RequestList:
        return self.query_one("#requests", RequestList)

    @property
    def detail(self) -> DetailView:
        return self.query_one("#detail", DetailView)

    @property
    def stream(self) -> StreamView:
        return self.query_one("#stream", StreamView)

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
                self.set_paused(False)
            return
        self._apply(batch)

    def set_paused(self, paused: bool) -> None:
        """Pause (what arrives is held) or resume (what was held is shown)."""
        if self.paused and not paused:
            self.paused = False
            held, self._held, self._held_lines = self._held, [], 0
            for batch in held:
                self._apply(batch)
        else:
            self.paused = paused
        self.refresh_header()

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
            self._error = message.error
            self.notify(message.error, title="read failed", severity="error", markup=False)
        else:
            self.state = "done"
        self.refresh_header()

    # -- what the header and the pane titles show ----------------------------------------------

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
        header.state = self.state
        header.held_lines = self._held_lines if self.paused else None
        header.zone = (self.fmt.zone_name, self.fmt.with_date)
        header.counts = replace(self.store.counts)
        header.lines_seen = self.lines_seen
        now = time.monotonic()
        header.notices = Notices(
            error=self._error,
            failing=tuple(
                (group, now - since, reason)
                for group, (since, reason) in sorted(stats.failing.items())
            ),
            throttles=stats.throttles,
            dropped_requests=self.store.dropped,
            max_requests=self.store.max_requests,
            dropped_lines=self.log_store.dropped,
            left_out=self._left_out(stats),
            told=tuple(self._told),
        )
        requests, errors = self.store.histogram.series(header.spark_bins, now_ms)
        header.series = (tuple(requests), tuple(errors))
        self._update_titles()

    def _left_out(self, stats: FetchStats) -> str | None:
        """The values left out so far, in a line (the reader thread counts them as it parses:
        a copy taken while it adds a name is taken again at the next refresh)."""
        try:
            counts = dict(stats.left_out)
        except RuntimeError:  # the Counter grew during the copy
            return self._left_out_said
        said = left_out_notice(counts)
        if said is not None and self._left_out_said is None:
            # Once as a toast; the header keeps it (and its count) in view.
            self.notify(cell(said), severity="warning", markup=False, timeout=8)
        self._left_out_said = said
        return said

    def _tell(self, notice: str) -> None:
        self._told.append(notice)
        self.notify(cell(notice), severity="warning", markup=False, timeout=8)

    def _update_titles(self) -> None:
        self.requests.show_counts(
            len(self.store), self.sort, "" if self.query_.empty else self.query_text
        )
        self.stream.show_counts()

    def _times_changed(self) -> None:
        self.fmt.clear()
        self.requests.clear_cache()
        self.stream.clear_cache()
        self.detail.redraw()

    # -- filter and sort -----------------------------------------------------------------------

    def on_filter_edited(self, message: FilterEdited) -> None:
        if message.final:
            if self._set_filter(message.text):
                self.query_one(FilterBar).close(cancel=False)
            return
        # As you type: at once for a small store, after a pause in typing for a big one.
        self._stop_filter_timer()
        if len(self.store) < SYNC_REBUILD_LIMIT:
            self._set_filter(message.text, quiet=True)
        else:
            text = message.text
            self._filter_timer = self.set_timer(0.3, lambda: self._set_filter(text, quiet=True))

    def _stop_filter_timer(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None

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
        self.refresh_bindings()  # Esc clears a filter, and only when there is one
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

    # -- X-Ray ---------------------------------------------------------------------------------

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
