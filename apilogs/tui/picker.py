"""`apilogs tui` with no API: every API and stage of the account and region, worst first — the
list `apilogs apis` prints, to pick from. Enter opens the row's API in the TUI (`PickerApp`
exits with its `ApiStage`; the command runs the TUI, whose `b` comes back here).

The stages are listed, then summed a few at once in a thread worker (`apilogs.survey`, the sums
`apilogs apis` shows); each row shows up as its stage is summed, in worst-first order. What was
summed is kept in a `SurveyState` the command holds, so coming back from an API does not sum
the account again (`r` does)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Click
from textual.message import Message
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import CellDoesNotExist

from apilogs.aws import AwsContext
from apilogs.discover.catalog import ApiStage, Catalog, list_api_stages
from apilogs.fetch import FetchStats
from apilogs.render.apis import COLUMNS, PLAN, cells  # the table `apilogs apis` prints
from apilogs.render.table import cut, fit
from apilogs.spec import ReadSpec
from apilogs.survey import PARALLEL_STAGES, ApiHealth, Place, SurveyRun, survey
from apilogs.times import resolve_window
from apilogs.tui.flow import describe_error
from apilogs.tui.text import TimeFormat, cell, duration, spans_days

__all__ = ["AccountSurvey", "PickerApp", "SurveyState", "window_label"]

# DataTable pads each cell by one column on each side: the two columns `fit` puts between cells.
_CELL_PADDING = 1
_SCROLLBAR = 2
_STYLES = {"5XX": "bold red", "4XX": "yellow"}


@dataclass
class AccountSurvey:
    """The stages of one account and region, and each one's health over the window."""

    context: AwsContext
    spec: ReadSpec
    _: KW_ONLY
    profile: str | None = None
    tz: tzinfo | None = None
    stats: FetchStats = field(default_factory=FetchStats)

    def list(self) -> Catalog:
        return list_api_stages(self.context, self.context.region)

    def health(self, stage: ApiStage, stop: threading.Event) -> ApiHealth:
        """One stage summed (`apilogs.survey.survey`: a stage that cannot be read is a row
        that says why)."""
        place = Place(self.context, self.profile, self.context.region)
        rows = survey(place, [stage], SurveyRun(self.spec, self.stats, self.tz, stop))
        return next(iter(rows))


@dataclass
class SurveyState:
    """What the picker has found so far; outlives one `PickerApp` (the TUI runs in between)."""

    stages: tuple[ApiStage, ...] | None = None  # None: not listed yet
    problems: tuple[str, ...] = ()
    summed: dict[ApiStage, ApiHealth] = field(default_factory=dict)
    finished_at: float | None = None  # epoch s, once every stage is summed
    error: str | None = None  # the listing or the sums failed: why
    notices: list[str] = field(default_factory=list)  # what the reads told (throttled, …)

    @property
    def rows(self) -> list[ApiHealth]:
        return sorted(self.summed.values(), key=lambda h: h.rank)

    @property
    def complete(self) -> bool:
        return self.stages is not None and len(self.summed) >= len(self.stages)


@dataclass
class StagesListed(Message):
    catalog: Catalog


@dataclass
class StageSummed(Message):
    health: ApiHealth


@dataclass
class SurveyEnded(Message):
    error: str | None = None


_RELATIVE = re.compile(r"\s*\d+\s*[a-z]+(\s+ago)?\s*", re.IGNORECASE)


def window_label(start: str, end: str | None, tz: tzinfo | None) -> str:
    """The window the list sums, for its title: `last 15m`, or its times in the zone shown
    (an epoch or an ISO time as typed says little at a glance)."""
    if end is None and _RELATIVE.fullmatch(start) and not start.strip().isdigit():
        return "last " + re.sub(r"\s+ago$", "", start.strip(), flags=re.IGNORECASE)
    start_ms, end_ms = resolve_window(start, end, tz=tz)
    until = end_ms if end_ms is not None else int(time.time() * 1000)
    fmt = TimeFormat(tz, spans_days(start_ms, until, tz))
    pattern = "%Y-%m-%d %H:%M:%S" if fmt.with_date else "%H:%M:%S"
    first = fmt.moment(start_ms).strftime(pattern)
    if end_ms is None:
        return f"since {first} {fmt.zone_name}"
    return f"{first} → {fmt.moment(end_ms).strftime(pattern)} {fmt.zone_name}"


def row_key(stage: ApiStage) -> str:
    return f"{stage.api_id}\0{stage.stage}"


def _moving(action: Callable[[DataTable[Text]], None]) -> Callable[[ApiTable], None]:
    """`action`, after noting that the user moved the cursor."""

    def moved(table: ApiTable) -> None:
        table.moved = True
        action(table)

    return moved


class ApiTable(DataTable[Text]):
    """The rows; Enter (DataTable's own, here shown in the footer) opens the row's API. Until
    the user moves the cursor it stays on the worst row, as rows arrive above it; then it
    stays on the row the user chose (`moved`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open API", key_display="⏎"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First", show=False),
        Binding("G", "scroll_bottom", "Last", show=False),
    ]
    moved = False

    # The keys that move the cursor: the user's choice from then on.
    action_cursor_down = _moving(DataTable.action_cursor_down)
    action_cursor_up = _moving(DataTable.action_cursor_up)
    action_page_down = _moving(DataTable.action_page_down)
    action_page_up = _moving(DataTable.action_page_up)
    action_scroll_top = _moving(DataTable.action_scroll_top)
    action_scroll_bottom = _moving(DataTable.action_scroll_bottom)

    async def _on_click(self, event: Click) -> None:
        self.moved = True
        await super()._on_click(event)


class PickerApp(App[ApiStage | None]):
    """The list of APIs. Exits with the chosen stage, or None when the user quits."""

    TITLE = "apilogs"
    CSS = """
    #picker-head {
        height: auto;
        background: $panel;
        padding: 0 1;
    }
    #picker-title, #picker-status, #picker-notice {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #picker-notice {
        color: $warning;
    }
    #apis {
        height: 1fr;
    }
    #picker-selected {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "resum", "Sum again"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
    ]

    def __init__(
        self,
        source: AccountSurvey,
        state: SurveyState,
        *,
        where: str,
        window_label: str,
        notice: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.tz = source.tz  # the survey's zone: None, local time
        self.clock = clock  # epoch s; tests fix it
        self.source = source
        self.state = state
        self.where = where
        self.window_label = window_label
        self.notice = notice
        self.stop = threading.Event()
        self.running = False
        self._widths: list[int] = []
        self._keys: dict[str, ApiStage] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-head"):
            yield Static(id="picker-title", markup=False)
            yield Static(id="picker-status", markup=False)
            yield Static(id="picker-notice", markup=False)
        table = ApiTable(
            id="apis", cursor_type="row", zebra_stripes=False, cell_padding=_CELL_PADDING
        )
        yield table
        # The highlighted row whole: its name and kind give way in the table at 80 columns,
        # and its cause is cut there.
        yield Static(id="picker-selected", markup=False)
        yield Footer(show_command_palette=False)

    @property
    def table(self) -> ApiTable:
        return self.query_one("#apis", ApiTable)

    def on_mount(self) -> None:
        title = f"APIs of {self.where} · {self.window_label} · worst first (5xx, 4xx)"
        self.query_one("#picker-title", Static).update(Text(cell(title), style="bold"))
        self._layout(self.size.width)
        self._show_status()
        self.table.focus()
        if not self.state.complete:
            self._start()

    def on_resize(self) -> None:
        self._layout(self.size.width)

    def on_unmount(self) -> None:
        self.stop.set()

    # -- the survey ----------------------------------------------------------------------------

    def _start(self) -> None:
        self.running = True
        self.state.error = None
        self._show_status()
        self._survey(self.state.stages, frozenset(self.state.summed))

    @work(thread=True, exclusive=True, group="survey")
    def _survey(self, stages: tuple[ApiStage, ...] | None, done: frozenset[ApiStage]) -> None:
        stop = self.stop
        try:
            if stages is None:
                catalog = self.source.list()
                self.post_message(StagesListed(catalog))
                stages = catalog.stages
            todo = [s for s in stages if s not in done]
            with ThreadPoolExecutor(PARALLEL_STAGES, thread_name_prefix="picker") as pool:
                pending: set[Future[ApiHealth]] = {
                    pool.submit(self.source.health, s, stop) for s in todo
                }
                while pending and not stop.is_set():
                    finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in finished:
                        health = future.result()
                        # A sum cut short by the stop would show too few requests: dropped.
                        if stop.is_set():
                            return
                        self.post_message(StageSummed(health))
                for future in pending:
                    future.cancel()
        except Exception as exc:  # said in the status line: never a traceback over the screen
            if not stop.is_set():
                self.post_message(SurveyEnded(describe_error(exc).splitlines()[0]))
            return
        if not stop.is_set():
            self.post_message(SurveyEnded())

    def on_stages_listed(self, message: StagesListed) -> None:
        self.state.stages = message.catalog.stages
        self.state.problems = message.catalog.problems
        self._show_status()

    def on_stage_summed(self, message: StageSummed) -> None:
        health = message.health
        self.state.summed[health.stage] = health
        self._take_notices()
        self._fill()
        self._show_status()

    def _take_notices(self) -> None:
        self.state.notices.extend(self.source.stats.take_notices())

    def on_survey_ended(self, message: SurveyEnded) -> None:
        self._take_notices()
        self.running = False
        self.state.error = message.error
        if message.error is None and self.state.complete:
            self.state.finished_at = self.clock()
        self._show_status()
        self.refresh_bindings()

    # -- the table -----------------------------------------------------------------------------

    def _layout(self, width: int) -> None:
        """The columns `apilogs apis` keeps at this width: at 80, the ID, stage, counts, p99
        and cause stay; the name and the kind give way."""
        room = max(20, width - _SCROLLBAR - 2 * _CELL_PADDING)
        widths = fit(COLUMNS, PLAN, room)
        if widths == self._widths:
            return
        self._widths = widths
        table = self.table
        table.clear(columns=True)
        for column, w in zip(COLUMNS, widths, strict=True):
            if w:
                table.add_column(Text(column.title, style="bold"), width=w, key=column.title)
        self._fill()

    def _fill(self) -> None:
        """Every summed row, worst first; the cursor stays on the row it was on."""
        table = self.table
        chosen = self._chosen_key()
        table.clear()
        self._keys = {}
        for health in self.state.rows:
            key = row_key(health.stage)
            self._keys[key] = health.stage
            table.add_row(*self._row(health), key=key)
        if table.moved and chosen in self._keys:
            table.move_cursor(row=table.get_row_index(chosen), animate=False)
        elif self._keys:
            table.move_cursor(row=0, animate=False)
        self._show_selected()

    def _row(self, health: ApiHealth) -> list[Text]:
        out = []
        # `cells` has sanitised every untrusted value (name, stage, cause, problem); Text is
        # never read as markup.
        for column, value, w in zip(COLUMNS, cells(health), self._widths, strict=True):
            if not w:
                continue
            style = _STYLES.get(column.title, "") if value not in ("0", "") else ""
            if column.title == "TOP CAUSE" and health.problem:
                style = "dim"
            out.append(Text(cut(value, w), style=style, no_wrap=True, end=""))
        return out

    def _chosen_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:  # no cursor row yet
            return None
        return key

    @property
    def chosen(self) -> ApiStage | None:
        key = self._chosen_key()
        return self._keys.get(key) if key is not None else None

    def _show_status(self) -> None:
        state = self.state
        if state.error is not None:
            status = Text(cell(f"stopped: {state.error} (r tries again)"), style="bold red")
        elif state.stages is None:
            status = Text("listing the APIs and stages…")
        elif not state.stages:
            status = Text(cell(f"no API or stage in {self.where}"))
        elif not state.complete:
            status = Text(
                f"summing {len(state.summed)} of {len(state.stages)} stages… "
                "(Enter opens a row already)"
            )
        else:
            failing = sum(1 for h in state.summed.values() if h.status_5xx)
            at = (
                datetime.fromtimestamp(state.finished_at, self.tz).strftime(" at %H:%M:%S")
                if state.finished_at
                else ""
            )
            status = Text(
                f"{len(state.stages)} stages summed{at}; {failing} with 5xx · r sums again"
            )
        self.query_one("#picker-status", Static).update(status)
        notices = [*([self.notice] if self.notice else []), *state.problems]
        if state.notices:
            # The newest read notice; how many there were, when more than one.
            many = len(state.notices) > 1
            notices.append(
                (f"{len(state.notices)} notices, newest: " if many else "") + state.notices[-1]
            )
        line = self.query_one("#picker-notice", Static)
        line.update(Text(cell(" · ".join(notices))))
        line.display = bool(notices)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        stage = self.chosen
        health = self.state.summed.get(stage) if stage is not None else None
        text = Text(no_wrap=True, end="")
        if health is not None:
            text.append(cell(health.stage.name) or "(no name)", "bold")
            text.append(f"  {health.stage.kind} {cell(health.stage.api_id)}", "dim")
            text.append(f" · stage {cell(health.stage.stage)}")
            text.append(f" · p50 {duration(health.p50_ms)} · p99 {duration(health.p99_ms)}")
            if health.problem or health.top_cause:
                text.append(" · ")
                text.append(
                    cell(health.problem or health.top_cause), "dim" if health.problem else ""
                )
        self.query_one("#picker-selected", Static).update(text)

    # -- keys ----------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        stage = self.chosen
        if stage is None:
            self.notify("no API summed yet: wait for a row", timeout=2)
            return
        self.stop.set()
        self.exit(stage)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resum":
            return not self.running
        return True

    def action_resum(self) -> None:
        if self.running:
            return
        self.state.stages = None
        self.state.problems = ()
        self.state.summed.clear()
        self.state.finished_at = None
        self.notice = None
        self.stop = threading.Event()
        self._fill()
        self._start()
        self.refresh_bindings()
