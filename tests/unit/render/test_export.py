"""`show --export FILE`: one request as Markdown or JSON for a bug report. The Markdown is read
back by a GFM-like renderer (markdown-it with tables and linkify, raw HTML allowed, as GitHub
would) to check what a reader of the bug report sees: the facts, the timeline, every line, the
traces, and nothing that log text made into a link, an image, HTML or markup."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC

import pytest

from apilogs.errors import InvalidInput
from apilogs.join.correlate import correlate
from apilogs.model import (
    Invocation,
    Line,
    LineKind,
    LogEvent,
    Outcome,
    RawEvent,
    Request,
    Role,
    Source,
    SpanKind,
    Trace,
    TraceSpan,
)
from apilogs.render.events import EventFormatter, RenderOptions
from apilogs.render.export import (
    export_format_for,
    export_request,
    md_code,
    md_fence,
)
from apilogs.render.requests import request_to_dict
from apilogs.render.sanitize import sanitize
from apilogs.render.style import Painter
from tests.support.demo_events import demo_events, demo_traffic
from tests.support.hostile import FORGED_ID, PAYLOAD, assert_terminal_safe

markdown_it = pytest.importorskip("markdown_it")

# What Markdown readers fall for: fences, links, images, HTML, autolinks, tables, headings.
MARKDOWN_TRICKS = (
    "``` ```` ~~~ [click](https://evil.example/x) ![img](https://evil.example/a.png) "
    "<script>alert(1)</script> <img src=x onerror=alert(1)> <a href='https://evil.example'>a</a> "
    "https://evil.example/auto www.evil.example a@evil.example | pipe | # heading *em* __strong__ "
    "&amp; &lt;b&gt; \\`escaped\\` <!-- comment --> [ref]: https://evil.example"
)
TEXT = f"{MARKDOWN_TRICKS} {PAYLOAD}"
# A message whose own lines try to close the code block and start Markdown of their own.
CLOSER = "boom\n```\n# Owned\n[x](https://evil.example)\n````\n<img src=x>\n~~~"


def render(markdown: str) -> str:
    md = markdown_it.MarkdownIt("gfm-like", {"html": True, "linkify": True})
    return str(md.render(markdown))


def tags(rendered: str) -> set[str]:
    return set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", rendered))


def blocks(rendered: str) -> list[str]:
    """The text of each <pre><code> block, unescaped."""
    found = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", rendered, flags=re.S)
    return [html.unescape(b) for b in found]


def hostile_request() -> Request:
    source = Source(Role.LAMBDA, f"/aws/lambda/{TEXT}", "us-east-1", function_name=f"fn{TEXT}")
    events = tuple(
        LogEvent(
            RawEvent(1_700_000_000_000 + i, 1_700_000_000_001, source.log_group, TEXT, str(i),
                     message, source),
            Line(LineKind.LAMBDA_LOG, lambda_request_id=FORGED_ID),
        )
        for i, message in enumerate((TEXT, CLOSER, "plain"))
    )  # fmt: skip
    invocation = Invocation(FORGED_ID, Role.LAMBDA, function=f"fn{TEXT}",
                            start_ms=1_700_000_000_000, end_ms=1_700_000_000_100,
                            duration_ms=12.5, memory_mb=128, max_memory_mb=64, init_ms=100.0,
                            status=TEXT)  # fmt: skip
    return Request(
        request_id=FORGED_ID,
        start_ms=1_700_000_000_000,
        end_ms=1_700_000_000_200,
        outcome=Outcome.UNHANDLED_EXCEPTION,
        cause=TEXT,
        extended_request_id=FORGED_ID,
        trace_id=FORGED_ID,
        lambda_request_ids=(FORGED_ID, "`tick`"),
        method=TEXT,
        path=TEXT,
        route=f"/r/{TEXT}",
        status=502,
        response_latency_ms=31,
        integration_latency_ms=20,
        error_type=TEXT,
        error_message=CLOSER,
        invocations=(invocation,),
        events=events,
        in_progress=True,
    )


HOSTILE_TRACE = Trace(
    FORGED_ID,
    (
        TraceSpan("s1", TEXT, SpanKind.SEGMENT, 1_700_000_000_000, 1_700_000_000_150,
                  origin=TEXT, status=502, fault=True, cause=CLOSER),
        TraceSpan("s2", f"sub {TEXT}", SpanKind.HTTP_CALL, 1_699_999_999_990, None, depth=1,
                  parent_id="s1", operation="GET", resource=TEXT, error=True),
    ),
)  # fmt: skip


def test_hostile_markdown_stays_inert() -> None:
    request = hostile_request()
    markdown = export_request(request, "markdown", tz=UTC, traces=[HOSTILE_TRACE])
    assert_terminal_safe(markdown, "markdown export")
    rendered = render(markdown)
    # Only the structure the exporter writes: no link, image, script or HTML from log text.
    assert tags(rendered) <= {"h1", "h2", "h3", "p", "strong", "em", "code", "pre", "ul", "li"}
    assert "evil.example" not in re.sub(r"<code[^>]*>.*?</code>", "", rendered, flags=re.S)
    headings = re.findall(r"<(h[123])>(.*?)</\1>", rendered)
    assert [h for h, _ in headings] == ["h1", "h2", "h2", "h2", "h3"]
    assert [html.unescape(t) for h, t in headings if h == "h2"] == [
        "Timeline", "Lines (3)", "Traces"
    ]  # fmt: skip
    # The code blocks are the exporter's, none closed early by a line: the timeline, the lines
    # (one block holding all three messages, the fence-closer whole) and the trace.
    timeline, lines, trace = blocks(rendered)
    assert "received" in timeline and "responded" in timeline
    assert sanitize(TEXT) in lines
    block_lines = lines.splitlines()
    assert len(block_lines) == 2 + len(CLOSER.splitlines())
    first, *rest = sanitize(CLOSER).splitlines()
    assert block_lines[1].endswith(f"  {first}")
    for line, part in zip(block_lines[2:-1], rest, strict=True):  # indented under the message
        assert line.startswith(" ") and line.strip() == part
    assert lines.rstrip("\n").endswith("plain")
    assert "fault" in trace and "in progress" in trace
    assert sanitize(CLOSER, keep_newlines=False) in trace
    # Text outside the blocks is in code spans whole: the title, the cause, the ID.
    title = html.unescape(headings[0][1])
    assert f"<code>{sanitize(f'{TEXT} {TEXT}', keep_newlines=False)}</code>" in title
    assert f"<code>{html.escape(sanitize(FORGED_ID), quote=False)}</code>" in rendered


def test_markdown_of_a_real_request_reads_like_show() -> None:
    requests = list(correlate(demo_events(demo_traffic())))
    request = next(
        r for r in requests if r.outcome is Outcome.LAMBDA_TIMEOUT and r.trace_id is not None
    )
    markdown = export_request(request, "markdown", tz=UTC)
    rendered = render(markdown)
    h1 = re.search(r"<h1>(.*?)</h1>", rendered)
    assert h1 is not None
    assert html.unescape(h1.group(1)) == (
        f"<code>{request.method} {request.path}</code> → {request.status}"
    )
    assert f"<strong><code>{html.escape(request.cause, quote=False)}</code></strong>" in rendered
    facts = dict(
        re.findall(r"<li><strong>([^<]+):</strong> (.*?)</li>", rendered, flags=re.S)
    )  # fmt: skip
    assert facts["status"].startswith(str(request.status))
    assert facts["outcome"] == "<code>lambda_timeout</code>"
    assert facts["request id"] == f"<code>{request.request_id}</code>"
    assert facts["trace id"] == f"<code>{request.trace_id}</code>"
    integration = request.integration
    assert integration is not None and integration.function is not None
    assert facts["lambda"].startswith(f"<code>{integration.function}</code>")
    assert facts["when"].startswith("<code>20")
    timeline, lines = blocks(rendered)
    assert timeline.splitlines()[0].split()[:3] == ["+0", "ms", "received"]
    assert "lambda" in timeline and "responded" in timeline
    # Every line of the request, as `show` prints it (short format, no colour).
    sources = list(dict.fromkeys(e.source for e in request.events))
    short = EventFormatter(RenderOptions(output="short", tz=UTC), Painter(False), sources)
    assert lines == "".join(short.format(e, False) + "\n" for e in request.events)
    assert f"<h2>Lines ({len(request.events)})</h2>" in rendered
    assert "Traces" not in rendered


def test_json_export_is_show_json_with_traces_when_read() -> None:
    request = hostile_request()
    plain = json.loads(export_request(request, "json", tz=None))
    assert plain == json.loads(json.dumps(request_to_dict(request, with_events=True)))
    assert [e["message"] for e in plain["events"]] == [e.message for e in request.events]
    assert "trace" not in plain
    text = export_request(request, "json", tz=None, traces=[HOSTILE_TRACE])
    assert text.isascii()
    assert_terminal_safe(text, "json export")
    traced = json.loads(text)
    # The `trace` object of `show -o json --traces`, the same fields.
    shown = request_to_dict(request, with_events=True, trace=HOSTILE_TRACE, with_trace=True)
    assert traced == json.loads(json.dumps(shown))
    assert traced["trace"]["trace_id"] == FORGED_ID
    span = traced["trace"]["spans"][0]
    assert (span["name"], span["status"], span["fault"], span["cause"]) == (
        TEXT, 502, True, CLOSER
    )  # fmt: skip
    assert traced["trace"]["spans"][1]["end_timestamp"] is None
    assert {k: v for k, v in traced.items() if k != "trace"} == plain


def test_an_empty_request_still_exports() -> None:
    request = Request(request_id=None, start_ms=0, end_ms=0, outcome=Outcome.UNKNOWN, cause="")
    markdown = export_request(request, "markdown", tz=UTC)
    assert "# `? ?` → ?" in markdown
    assert "No lines were read for this request." in markdown
    assert json.loads(export_request(request, "json", tz=UTC))["events"] == []


@pytest.mark.parametrize(
    ("path", "explicit", "fmt"),
    [
        ("story.md", None, "markdown"),
        ("STORY.MARKDOWN", None, "markdown"),
        ("/tmp/x/story.json", None, "json"),
        ("story.txt", "md", "markdown"),
        ("story.md", "json", "json"),
    ],
)
def test_export_format_from_the_name_or_as_told(path: str, explicit: str | None, fmt: str) -> None:
    assert export_format_for(path, explicit) == fmt


def test_export_format_that_cannot_be_told_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"name it \.md or \.json"):
        export_format_for("story.txt")
    with pytest.raises(InvalidInput, match="choose from markdown, json"):
        export_format_for("story.md", "html")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("`x`", "`` `x` ``"),
        ("``` fence", "```` ``` fence ````"),
        (" both ", "`  both  `"),
        ("", "` `"),
        ("two\nlines\x1b[31m", "`two⏎lines\\x1b[31m`"),
    ],
)
def test_code_spans_hold_any_text(value: str, shown: str) -> None:
    assert md_code(value) == shown
    rendered = render(md_code(value))
    (inner,) = re.findall(r"<code>(.*?)</code>", rendered)
    assert html.unescape(inner) == (sanitize(value, keep_newlines=False) or " ")


def test_fences_outlast_their_content() -> None:
    fenced = md_fence(["x", "````", "y"])
    assert fenced[0] == "`````text" and fenced[-1] == "`````"
    assert blocks(render("\n".join(fenced))) == ["x\n````\ny\n"]


def test_times_in_the_zone_asked() -> None:
    from zoneinfo import ZoneInfo

    request = replace(hostile_request(), events=())
    markdown = export_request(request, "markdown", tz=ZoneInfo("Asia/Tokyo"))
    assert "`2023-11-15T07:13:20.000+09:00`" in markdown
