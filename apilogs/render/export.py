"""One request's story as a file for a bug report (`apilogs show ID --export FILE`): Markdown or
JSON.

Markdown: a title, the facts (when, status, cause, latencies, Lambda, IDs), the timeline of its
phases and every line, then its X-Ray traces when they were read. Every piece of text that came
from a log line is inert: in an inline code span or a fenced code block (so no link, image,
emphasis or HTML is ever made of it), with a fence longer than any run of backticks it holds,
and with every control, bidi and invisible character shown as an escape (`sanitize`), as on a
terminal. JSON: the object of `show -o json` (`request_to_dict(request, with_events=True)`),
with its `trace` when the trace was read (`show --traces --export`), ASCII-only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import tzinfo
from pathlib import PurePath
from typing import Literal, get_args

from apilogs.diagnosis.story import Story, tell
from apilogs.errors import InvalidInput
from apilogs.model import Request, Trace
from apilogs.render.events import Clock, EventFormatter, RenderOptions
from apilogs.render.requests import request_to_dict
from apilogs.render.sanitize import sanitize
from apilogs.render.style import Painter
from apilogs.times import format_duration_ms

__all__ = [
    "EXPORT_FORMATS",
    "ExportFormat",
    "export_format_for",
    "export_request",
    "md_code",
    "md_fence",
]

ExportFormat = Literal["markdown", "json"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
_BY_EXTENSION: dict[str, ExportFormat] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
}


def export_format_for(path: str | os.PathLike[str], explicit: str | None = None) -> ExportFormat:
    """The format to export to: `explicit` when given, else the file's extension (.md,
    .markdown, .json). Raises InvalidInput when neither says."""
    if explicit is not None:
        wanted = explicit.lower()
        for fmt in EXPORT_FORMATS:
            if wanted == fmt or (wanted == "md" and fmt == "markdown"):
                return fmt
        raise InvalidInput(
            f"unknown export format {explicit!r}: choose from {', '.join(EXPORT_FORMATS)}",
            name="export_format",
        )
    suffix = PurePath(os.fspath(path)).suffix.lower()
    found = _BY_EXTENSION.get(suffix)
    if found is None:
        raise InvalidInput(
            f"cannot tell the export format of {os.fspath(path)!r}: name it .md or .json, "
            "or give the format",
            name="export",
        )
    return found


def export_request(
    request: Request, fmt: ExportFormat, *, tz: tzinfo | None, traces: Sequence[Trace] = ()
) -> str:
    """The request as a Markdown or JSON document (the text of the file, ending in a newline).

    `tz` is the zone times are shown in (None: local time, with its offset); JSON keeps epoch ms
    and UTC as `show -o json` does."""
    if fmt == "json":
        doc = request_to_dict(
            request, with_events=True, trace=traces[0] if traces else None, with_trace=bool(traces)
        )
        return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
    if fmt == "markdown":
        return "\n".join(_markdown(request, tz, traces)) + "\n"
    raise InvalidInput(f"unknown export format {fmt!r}", name="export_format")


# --- Markdown -----------------------------------------------------------------------------------

_BACKTICKS = re.compile(r"`+")


def _longest_backtick_run(text: str) -> int:
    return max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)


def md_code(value: object) -> str:
    """`value` as an inline code span: one line, every unsafe character escaped, delimited by
    more backticks than it holds. Nothing inside a code span is Markdown, links and HTML
    included."""
    text = sanitize(str(value), keep_newlines=False)
    if not text:
        return "` `"
    ticks = "`" * (_longest_backtick_run(text) + 1)
    # CommonMark strips one space from each end of a span that starts and ends with one: pad
    # when the text would otherwise touch the delimiter with a backtick, or lose its own spaces.
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")):
        text = f" {text} "
    return f"{ticks}{text}{ticks}"


def md_fence(lines: Iterable[str], info: str = "text") -> list[str]:
    """`lines` (already sanitised) as a fenced code block that none of them can close."""
    body = list(lines)
    ticks = "`" * max(3, _longest_backtick_run("\n".join(body)) + 1)
    return [f"{ticks}{info}", *body, ticks]


def _ms(value: float | None) -> str:
    return "-" if value is None else format_duration_ms(value)


def _offset(delta_ms: float) -> str:
    """`+12 ms` after the request's start, `-3 ms` before it; right-aligned."""
    sign = "-" if delta_ms < 0 else "+"
    return f"{sign}{format_duration_ms(abs(delta_ms))}".rjust(10)


def _markdown(request: Request, tz: tzinfo | None, traces: Sequence[Trace]) -> Iterator[str]:
    # The traces have a section of their own: the timeline is the lines' alone.
    story = tell(request)
    yield f"# {md_code(story.title)} → {request.status or '?'}"
    yield ""
    yield f"**{md_code(request.cause)}**"
    yield ""
    yield from _facts(story, Clock(tz))
    yield ""
    yield "## Timeline"
    yield ""
    width = max(len(moment.name) for moment in story.timeline)
    yield from md_fence(
        f"{_offset(m.at_ms - request.start_ms)}  {m.name:<{width}}  {sanitize(m.text, keep_newlines=False)}"
        for m in story.timeline
    )
    yield ""
    yield f"## Lines ({len(request.events)})"
    yield ""
    if request.events:
        sources = list(dict.fromkeys(e.source for e in request.events))
        formatter = EventFormatter(RenderOptions(output="short", tz=tz), Painter(False), sources)
        # The formatter sanitises and indents continuation lines itself; a line never ends a
        # block because the fence is longer than any backtick run in it.
        yield from md_fence(formatter.format(e, False) for e in request.events)
    else:
        yield "No lines were read for this request."
    if traces:
        yield ""
        yield "## Traces"
        for trace in traces:
            yield ""
            yield f"### {md_code(trace.trace_id)}"
            yield ""
            yield from md_fence(_span_lines(trace, request.start_ms))
    if request.in_progress:
        yield ""
        yield "_Still in progress when exported: more lines may have been written since._"


def _facts(story: Story, clock: Clock) -> Iterator[str]:
    def fact(label: str, value: str) -> str:
        return f"- **{label}:** {value}"

    request = story.request

    duration = format_duration_ms(request.end_ms - request.start_ms)
    yield fact("when", f"{md_code(clock.full(request.start_ms))} ({duration} until its last line)")
    status = str(request.status) if request.status is not None else "unknown"
    if request.integration_status is not None:
        status += f" (integration {request.integration_status})"
    yield fact("status", status)
    yield fact("outcome", md_code(request.outcome))
    if request.route and request.route != request.path:
        yield fact("route", md_code(request.route))
    yield fact("latency", ", ".join(f"{name} {value}" for name, value in story.latencies))
    for invocation in story.invocations:
        words = invocation.words(md_code, cold_start="cold start (init {})")
        yield fact(invocation.role, ", ".join(words))
    if story.error:
        yield fact("error", md_code(story.error))
    for named in story.ids:
        yield fact(named.name, md_code(named.value))
    if request.lambda_request_ids:
        yield fact("lambda request ids", ", ".join(md_code(i) for i in request.lambda_request_ids))


def _span_lines(trace: Trace, origin_ms: int) -> Iterator[str]:
    for span in trace.spans:
        offset = _offset(span.start_ms - origin_ms)
        duration = _ms(span.duration_ms).rjust(9)
        name = "  " * max(0, span.depth) + sanitize(span.name, keep_newlines=False)
        notes = []
        for text in (span.origin, span.operation, span.resource):
            if text:
                notes.append(sanitize(text, keep_newlines=False))
        if span.status is not None:
            notes.append(str(span.status))
        notes += [flag for flag, on in (("fault", span.fault), ("error", span.error),
                                        ("throttle", span.throttle)) if on]  # fmt: skip
        if span.end_ms is None:
            notes.append("in progress")
        if span.cause:
            notes.append(sanitize(span.cause, keep_newlines=False))
        yield f"{offset}  {duration}  {name}" + (f"  ({'; '.join(notes)})" if notes else "")
