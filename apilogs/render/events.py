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

from apilogs.model import LogEvent, Role, Source
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
from apilogs.times import iso_utc

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


LATE_MARK = "(late)"


def label_for(source: Source) -> str:
    if source.role is Role.AUTHORIZER:
        return f"{source.label} (auth)"
    return source.label


# json's own C encoder for strings: ASCII-only output, so C1 controls and bidi overrides never
# reach a terminal raw even in JSON.
_encode_str: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _json_str(value: str | None) -> str:
    return "null" if value is None else _encode_str(value)


class Clock:
    """Formats epoch ms in the chosen zone; caches the zone offset per hour (DST-safe enough)."""

    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz

    def full(self, ms: int) -> str:
        moment = datetime.fromtimestamp(ms / 1000, self.tz or UTC)
        if self.tz is None:
            moment = moment.astimezone()
        text = moment.isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) else text

    def short(self, ms: int) -> str:
        moment = datetime.fromtimestamp(ms / 1000, self.tz or UTC)
        if self.tz is None:
            moment = moment.astimezone()
        return moment.strftime("%H:%M:%S.") + f"{ms % 1000:03d}"

    def dated(self, ms: int) -> str:
        """`2026-11-30 12:00:00.000`: for windows that span more than a day."""
        moment = datetime.fromtimestamp(ms / 1000, self.tz or UTC)
        if self.tz is None:
            moment = moment.astimezone()
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def event_to_dict(event: LogEvent, *, late: bool = False) -> dict[str, Any]:
    """The documented JSON object (README, 'JSON output'); additions only across versions."""
    raw = event.raw
    line = event.line
    doc: dict[str, Any] = {
        "timestamp": raw.timestamp,
        "time": iso_utc(raw.timestamp),
        "ingestion_time": raw.ingestion_time,
        "group": raw.group,
        "stream": raw.stream,
        "event_id": raw.event_id,
        "source": str(raw.source.role),
        "function": raw.source.function_name,
        "message": raw.message,
        "request_id": line.request_id,
        "lambda_request_id": line.lambda_request_id,
        "trace_id": line.trace_id,
        "kind": str(line.kind),
    }
    if late:
        doc["late"] = True
    return doc


class EventFormatter:
    """Built once per run from RenderOptions and the sources it will see."""

    def __init__(self, options: RenderOptions, paint: Painter, sources: Sequence[Source]) -> None:
        self.options = options
        self.paint = paint
        self.clock = Clock(options.tz)
        labels = [label_for(s) for s in sources] or ["execution"]
        self.label_width = min(32, max(len(label) for label in labels))
        self._labels: dict[Source, str] = {}
        self._json_heads: dict[tuple[str, Source], tuple[str, str]] = {}
        self.format: Callable[[LogEvent, bool], str]
        if options.output == "json":
            self.format = self._json
        elif options.output == "short":
            self.format = self._short
        else:
            self.format = self._plain

    # -- pieces ---------------------------------------------------------------------------------

    def label(self, source: Source) -> str:
        found = self._labels.get(source)
        if found is None:
            text = sanitize(label_for(source), keep_newlines=False)[: self.label_width]
            padded = text.ljust(self.label_width)
            if source.function_name:
                color = palette_color(source.function_name)
            else:
                color = ROLE_COLORS.get(source.role, DIM)
            found = self.paint(padded, color, BOLD)
            self._labels[source] = found
        return found

    def message(self, event: LogEvent, indent: str) -> str:
        text = event.raw.message.rstrip("\n")
        if self.options.expand_json:
            text = expand_json(text)
        text = sanitize(text)
        if self.paint.enabled:
            text = paint_ansi(text, message_spans(event.line.kind, text, self.options.highlights))
        if "\n" in text:
            # Continuation lines are indented so each event still reads as one block.
            text = text.replace("\n", "\n" + indent)
        return text

    # -- formats --------------------------------------------------------------------------------

    def _plain(self, event: LogEvent, late: bool) -> str:
        raw = event.raw
        parts = [self.label(raw.source)]
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

    def _short(self, event: LogEvent, late: bool) -> str:
        raw = event.raw
        stamp = self._time(raw.timestamp)
        width = len(stamp)
        stamp = self.paint(stamp, DIM)
        if self.options.show_ingestion_time:
            ingested = f"ingested {self._time(raw.ingestion_time)}"
            width += 2 + len(ingested)
            stamp += "  " + self.paint(ingested, DIM)
        head = f"{stamp}  {self.label(raw.source)}"
        width += 2 + self.label_width
        if late or self.options.late_slot:
            head += " " + (self.paint(LATE_MARK, YELLOW) if late else " " * len(LATE_MARK))
            width += 1 + len(LATE_MARK)
        indent = " " * (width + 2)
        return f"{head}  {self.message(event, indent)}"

    def _json(self, event: LogEvent, late: bool) -> str:
        # The same object as event_to_dict, written without building a dict: this runs for
        # every event, and the parts that repeat (group, source, function) are encoded once.
        raw = event.raw
        line = event.line
        head = self._json_heads.get((raw.group, raw.source))
        if head is None:
            source = raw.source
            head = (
                f',"group":{_json_str(raw.group)}',
                f',"source":"{source.role}","function":{_json_str(source.function_name)}',
            )
            self._json_heads[(raw.group, raw.source)] = head
        return (
            f'{{"timestamp":{raw.timestamp},"time":"{iso_utc(raw.timestamp)}",'
            f'"ingestion_time":{raw.ingestion_time}{head[0]},"stream":{_json_str(raw.stream)},'
            f'"event_id":{_json_str(raw.event_id)}{head[1]},"message":{_encode_str(raw.message)},'
            f'"request_id":{_json_str(line.request_id)},'
            f'"lambda_request_id":{_json_str(line.lambda_request_id)},'
            f'"trace_id":{_json_str(line.trace_id)},"kind":"{line.kind}"'
            + (',"late":true}' if late else "}")
        )
