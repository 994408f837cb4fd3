"""LogEvent → one output line: plain (for people, colour optional), short, or JSON.

Like httpie, a formatter is a chain picked by the options once, then applied to every event;
the core never prints. Every message is sanitised before it reaches a terminal; JSON keeps it
verbatim (json.dumps escapes control characters itself)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apilogs.join.label import LabeledEvent
from apilogs.model import LineKind, LogEvent, RawEvent, Role, Source
from apilogs.parse.lambda_ import lambda_phase
from apilogs.render.expand import expand_json
from apilogs.render.sanitize import sanitize
from apilogs.render.spans import message_spans, paint_ansi
from apilogs.render.style import (
    BOLD,
    BRIGHT_YELLOW,
    CYAN,
    DIM,
    YELLOW,
    Painter,
    palette_color,
)
from apilogs.times import MAX_MS, MIN_MS, invalid_time, is_valid_ms, iso_utc_or_none
from apilogs.times import iso_utc as iso_utc  # tests and older callers import it from here

ROLE_COLORS = {Role.EXECUTION: CYAN, Role.ACCESS: BRIGHT_YELLOW, Role.OTHER: DIM}


@dataclass(frozen=True, slots=True)
class RenderOptions:
    output: str = "plain"  # plain | short | json
    show_group: bool = True
    show_stream: bool = True
    show_timestamp: bool = False
    show_ingestion_time: bool = False
    tz: tzinfo | None = None  # None: local time with its offset
    expand_json: bool = False
    highlights: tuple[re.Pattern[str], ...] = ()
    # short output: times with the date (a window that spans more than a day)
    dated: bool = False
    # following: a fixed-width place for the (late) mark, so it never shifts the message
    late_slot: bool = False
    # Plain and short lines show each line's request (API Gateway's request ID, `-` when not
    # known, `~` before one joined by timing): `format_labeled` and `format` both print it.
    request_ids: bool = False
    request_id_width: int = 36  # a UUID (REST); HTTP and WebSocket IDs are shorter
    # Plain lines on a terminal: the time, a short source, the ID's first 8 characters, the
    # message, so that a line fits 80 columns where it can. A pipe keeps the whole line.
    compact: bool = False


# The ID's first characters in compact lines: every command takes them for the ID.
COMPACT_ID = 8
# A compact source name is cut to this.
COMPACT_LABEL = 16


LATE_MARK = "(late)"


def label_for(source: Source) -> str:
    if source.role is Role.AUTHORIZER:
        return f"{source.label} (auth)"
    return source.label


_ROLE_SHORT = {Role.EXECUTION: "exec", Role.ACCESS: "access", Role.OTHER: "other"}


def short_labels(sources: Sequence[Source]) -> dict[str, str]:
    """Each function's name for compact lines: without the start every function of the API
    shares (`shop-orders`, `shop-users` → `orders`, `users`), which says nothing on a line."""
    names = sorted({s.function_name for s in sources if s.function_name})
    common = ""
    if len(names) > 1:
        first, last = names[0], names[-1]  # sorted: their common start is everyone's
        length = next(
            (i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first)
        )
        common = first[:length]
    # Only up to a word's end: `order-a`, `order-b` keep their names.
    cut_at = max(common.rfind("-"), common.rfind("_"), common.rfind("."), common.rfind("/")) + 1
    return {name: name[cut_at:] or name for name in names}


def compact_label(source: Source, shorts: dict[str, str]) -> str:
    name = source.function_name
    if not name:
        return _ROLE_SHORT.get(source.role, str(source.role))
    short = shorts.get(name, name)
    if source.role is Role.AUTHORIZER and "auth" not in short.lower():
        short = f"{short} (auth)"
    return short if len(short) <= COMPACT_LABEL else short[: COMPACT_LABEL - 1] + "…"


# json's own C encoder for strings: ASCII-only output, so C1 controls and bidi overrides never
# reach a terminal raw even in JSON.
_encode_str: Callable[[str], str] = json.encoder.encode_basestring_ascii


# A kind's text for every event's JSON: `kind.value` is a Python-level property on 3.11.
_KIND_TEXT = {kind: kind.value for kind in LineKind}


def _json_str(value: str | None) -> str:
    return "null" if value is None else _encode_str(value)


def _json_time(ms: int) -> str:
    text = iso_utc_or_none(ms)
    return "null" if text is None else f'"{text}"'


class Clock:
    """Formats epoch ms in the chosen zone. A timestamp that is not a time (a broken or hostile
    endpoint's) is shown as its number: one such event must not end the stream."""

    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz

    def _moment(self, ms: int) -> datetime | None:
        if not is_valid_ms(ms):
            return None
        try:
            moment = datetime.fromtimestamp(ms / 1000, self.tz or UTC)
            # Local time of the first or last day a datetime holds can fall outside it.
            return moment.astimezone() if self.tz is None else moment
        except (OverflowError, OSError, ValueError):
            return None

    def full(self, ms: int) -> str:
        moment = self._moment(ms)
        if moment is None:
            return invalid_time(ms)
        text = moment.isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) else text

    def short(self, ms: int) -> str:
        moment = self._moment(ms)
        if moment is None:
            return invalid_time(ms)
        return moment.strftime("%H:%M:%S.") + f"{ms % 1000:03d}"

    def dated(self, ms: int) -> str:
        """`2026-11-30 12:00:00.000`: for windows that span more than a day."""
        moment = self._moment(ms)
        if moment is None:
            return invalid_time(ms)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def event_to_dict(
    event: LogEvent,
    *,
    late: bool = False,
    request_id: str | None = None,
    probable: bool = False,
    phase: str | None = None,
) -> dict[str, Any]:
    """The documented JSON object (README, 'JSON output'); additions only across versions.
    `request_id`: the request's API Gateway request ID when known from the join (a Lambda line
    carries none itself); `probable`: that join was by timing; `phase`: `init` / `restore`
    when the join placed the line in its environment's start (else what the line says)."""
    raw = event.raw
    line = event.line
    doc: dict[str, Any] = {
        "timestamp": raw.timestamp,
        # null for a timestamp that is not a time: `timestamp` keeps the number sent.
        "time": iso_utc_or_none(raw.timestamp),
        "ingestion_time": raw.ingestion_time,
        "group": raw.group,
        "stream": raw.stream,
        "event_id": raw.event_id,
        "source": str(raw.source.role),
        "function": raw.source.function_name,
        "message": raw.message,
        "request_id": request_id or line.request_id,
        "lambda_request_id": line.lambda_request_id,
        "trace_id": line.trace_id,
        "kind": str(line.kind),
    }
    if probable:
        doc["probable"] = True
    phase = phase or _phase_of(event)
    if phase:
        doc["phase"] = phase
    if late:
        doc["late"] = True
    return doc


_PHASED_KINDS = frozenset({LineKind.LAMBDA_INIT, LineKind.LAMBDA_PRINT})


def _phase_of(event: LogEvent) -> str | None:
    """`init`, `restore` or `extension`, when the line says so itself."""
    kind = event.line.kind
    return lambda_phase(event.raw.message, kind) if kind in _PHASED_KINDS else None


class EventFormatter:
    """Built once per run from RenderOptions and the sources it will see."""

    def __init__(self, options: RenderOptions, paint: Painter, sources: Sequence[Source]) -> None:
        self.options = options
        self.paint = paint
        self.clock = Clock(options.tz)
        self._shorts = short_labels(sources) if options.compact else {}
        if options.compact:
            labels = [compact_label(s, self._shorts) for s in sources] or ["exec"]
        else:
            labels = [label_for(s) for s in sources] or ["execution"]
        self.label_width = min(32, max(len(label) for label in labels))
        # Keyed by the source's identity: a run's events share a few Source objects, and a
        # dataclass's hash would be computed again, field by field, for every event.
        self._labels: dict[int, tuple[Source, str]] = {}
        self._json_heads: dict[int, tuple[Source, str, str, str]] = {}
        # `-o json`: the second the last event's time fell in, and its text up to the millis.
        self._json_second: int | None = None
        self._json_second_text = ""
        self.id_width = COMPACT_ID if options.compact else options.request_id_width
        self._blank_id = self.paint("-".ljust(self.id_width + 1), DIM)
        self.format: Callable[[LogEvent, bool], str]
        self.format_labeled: Callable[[LabeledEvent], str]
        if options.output == "json":
            self.format = self._json
            self.format_labeled = self._json_labeled
        elif options.output == "short":
            self.format = self._short
            self.format_labeled = self._short_labeled
        elif options.compact:
            self.format = self._compact
            self.format_labeled = self._compact_labeled
        else:
            self.format = self._plain
            self.format_labeled = self._plain_labeled

    # -- pieces ---------------------------------------------------------------------------------

    def label(self, source: Source) -> str:
        cached = self._labels.get(id(source))
        if cached is not None and cached[0] is source:
            return cached[1]
        name = compact_label(source, self._shorts) if self.options.compact else label_for(source)
        text = sanitize(name, keep_newlines=False)[: self.label_width]
        padded = text.ljust(self.label_width)
        if source.function_name:
            color = palette_color(source.function_name)
        else:
            color = ROLE_COLORS.get(source.role, DIM)
        found = self.paint(padded, color, BOLD)
        # The source is kept with its label, so its id cannot be another's while cached.
        self._labels[id(source)] = (source, found)
        return found

    def message(self, event: LogEvent, indent: str, text: str | None = None) -> str:
        """`text`: the message, when a part of it is left out (compact lines)."""
        if text is None:
            text = event.raw.message
        text = text.rstrip("\n")
        if self.options.expand_json:
            text = expand_json(text)
        text = sanitize(text)
        if self.paint.enabled:
            text = paint_ansi(text, message_spans(event.line.kind, text, self.options.highlights))
        if "\n" in text:
            # Continuation lines are indented so each event still reads as one block.
            text = text.replace("\n", "\n" + indent)
        return text

    def request_cell(self, request_id: str | None, probable: bool = False) -> str:
        """The request column: the full ID (grep finds it), `~` before a probable one."""
        if not request_id:
            return self._blank_id
        if self.options.compact:
            request_id = request_id[:COMPACT_ID]
        text = ("~" if probable else " ") + request_id
        return self.paint(text.ljust(self.id_width + 1), DIM)

    # -- formats --------------------------------------------------------------------------------

    def _plain_labeled(self, item: LabeledEvent) -> str:
        return self._plain(item.event, item.late, self.request_cell(item.request_id, item.probable))

    def _short_labeled(self, item: LabeledEvent) -> str:
        return self._short(item.event, item.late, self.request_cell(item.request_id, item.probable))

    def _own_cell(self, event: LogEvent) -> str | None:
        if not self.options.request_ids:
            return None
        role = event.raw.source.role
        own = event.line.request_id if role is not Role.AUTHORIZER else None
        return self.request_cell(own)

    def _plain(self, event: LogEvent, late: bool, cell: str | None = None) -> str:
        raw = event.raw
        parts = [self.label(raw.source)]
        if cell is None:
            cell = self._own_cell(event)
        if cell is not None:
            parts.append(cell)
        if self.options.show_group:
            parts.append(self.paint(sanitize(raw.group, keep_newlines=False), DIM))
        if self.options.show_stream:
            parts.append(self.paint(sanitize(raw.stream, keep_newlines=False), DIM))
        if self.options.show_timestamp:
            parts.append(self.paint(self.clock.full(raw.timestamp), BOLD))
        if self.options.show_ingestion_time:
            parts.append(self.paint(self.clock.full(raw.ingestion_time), DIM))
        if late:
            parts.append(self.paint(LATE_MARK, YELLOW))
        elif self.options.late_slot:
            parts.append(" " * len(LATE_MARK))
        parts.append(self.message(event, "    "))
        return " ".join(parts)

    def _time(self, ms: int) -> str:
        if self.options.show_timestamp:
            return self.clock.full(ms)
        return self.clock.dated(ms) if self.options.dated else self.clock.short(ms)

    def _stamp(self, raw: RawEvent) -> tuple[str, int]:
        """The line's time (and when it was ingested, if asked), painted, and its width."""
        stamp = self._time(raw.timestamp)
        width = len(stamp)
        painted = self.paint(stamp, DIM)
        if self.options.show_ingestion_time:
            ingested = f"ingested {self._time(raw.ingestion_time)}"
            width += 2 + len(ingested)
            painted += "  " + self.paint(ingested, DIM)
        return painted, width

    def _short(self, event: LogEvent, late: bool, cell: str | None = None) -> str:
        raw = event.raw
        stamp, width = self._stamp(raw)
        head = f"{stamp}  {self.label(raw.source)}"
        width += 2 + self.label_width
        if late or self.options.late_slot:
            head += " " + (self.paint(LATE_MARK, YELLOW) if late else " " * len(LATE_MARK))
            width += 1 + len(LATE_MARK)
        if cell is None:
            cell = self._own_cell(event)
        if cell is None:
            return f"{head}  {self.message(event, ' ' * (width + 2))}"
        # The cell is the ID padded to its width, after a one-character probable mark.
        width += 1 + self.options.request_id_width + 1
        return f"{head} {cell} {self.message(event, ' ' * (width + 2))}"

    def _compact_labeled(self, item: LabeledEvent) -> str:
        cell = self.request_cell(item.request_id, item.probable)
        return self._compact(item.event, item.late, cell, item.request_id)

    def _compact(
        self, event: LogEvent, late: bool, cell: str | None = None, request_id: str | None = None
    ) -> str:
        """`HH:MM:SS.mmm  source  6605b081 message`: what `aws logs tail` users expect, with
        the request. An execution line's `(request ID) ` opening is the ID the line already
        shows: it is left out."""
        raw = event.raw
        if cell is None:
            cell = self._own_cell(event)
            if cell is not None and event.raw.source.role is not Role.AUTHORIZER:
                request_id = event.line.request_id
        head, width = self._stamp(raw)
        head += "  " + self.label(raw.source)
        width += 2 + self.label_width
        if cell is not None:
            head += " " + cell
            width += 1 + self.id_width + 1
        if late or self.options.late_slot:
            head += " " + (self.paint(LATE_MARK, YELLOW) if late else " " * len(LATE_MARK))
            width += 1 + len(LATE_MARK)
        text = raw.message
        if request_id and text.startswith(f"({request_id}) "):
            text = text[len(request_id) + 3 :]
        return f"{head} {self.message(event, ' ' * (width + 1), text)}"

    def _json_labeled(self, item: LabeledEvent) -> str:
        return self._json(item.event, item.late, item.request_id, item.probable, item.phase)

    def _json(
        self,
        event: LogEvent,
        late: bool,
        request_id: str | None = None,
        probable: bool = False,
        phase: str | None = None,
    ) -> str:
        # The same object as event_to_dict, written without building a dict: this runs for
        # every event, so what repeats (group, source, function; the time's second) is encoded
        # once, and the rest inline (a Python call per field costs more than the field).
        raw = event.raw
        line = event.line
        source = raw.source
        group = raw.group
        # Keyed by the source's identity (no tuple to build and hash per event); the source is
        # kept with its text, so its id cannot be another's while cached.
        head = self._json_heads.get(id(source))
        if head is None or head[0] is not source or head[1] != group:
            head = (
                source,
                group,
                f',"group":{_json_str(group)}',
                f',"source":"{source.role}","function":{_json_str(source.function_name)}',
            )
            self._json_heads[id(source)] = head
        timestamp = raw.timestamp
        if timestamp.__class__ is int and MIN_MS <= timestamp <= MAX_MS:
            # Events come in time order: one second's text serves the events of that second.
            second, milli = divmod(timestamp, 1000)
            if second != self._json_second:
                self._json_second = second
                self._json_second_text = f'"{iso_utc_or_none(second * 1000)}'[:-4]
            time_text = f'{self._json_second_text}{milli:03d}Z"'
        else:
            time_text = _json_time(timestamp)
        if not request_id:
            request_id = line.request_id
        if not phase and line.kind in _PHASED_KINDS:
            phase = lambda_phase(raw.message, line.kind)
        # None-checked as `_json_str` does: an endpoint may send a null where a string belongs.
        stream = raw.stream
        event_id = raw.event_id
        lambda_id = line.lambda_request_id
        trace_id = line.trace_id
        return (
            f'{{"timestamp":{timestamp},"time":{time_text},'
            f'"ingestion_time":{raw.ingestion_time}{head[2]},'
            f'"stream":{"null" if stream is None else _encode_str(stream)},'
            f'"event_id":{"null" if event_id is None else _encode_str(event_id)}{head[3]},'
            f'"message":{_encode_str(raw.message)},'
            f'"request_id":{"null" if request_id is None else _encode_str(request_id)},'
            f'"lambda_request_id":{"null" if lambda_id is None else _encode_str(lambda_id)},'
            f'"trace_id":{"null" if trace_id is None else _encode_str(trace_id)},'
            f'"kind":"{_KIND_TEXT[line.kind]}"'
            + (',"probable":true' if probable else "")
            + (f',"phase":"{phase}"' if phase else "")
            + (',"late":true}' if late else "}")
        )
