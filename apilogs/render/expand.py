"""`--expand`: a JSON message pretty-printed for people, within bounds whatever the message holds.

A log message is written by whoever called the API, and CloudWatch Logs keeps up to 256 KB of
it. Pretty-printing multiplies it: every value gets a line and an indent as deep as it is nested,
so `[[[[…[{},{},…]…]]]]` grows by hundreds of times (a 255 KB message once made 219 MB), and a
recursive printer dies on ~1000 levels (RecursionError). So the expansion is capped twice:

- by depth, `MAX_DEPTH` = 32 levels. Real log records nest a handful of levels; 32 leaves room for
  anything a program logs on purpose, and bounds an indent at 64 spaces. A message nested deeper
  is printed as logged, after a marker line saying why (the message is never lost, never
  half-expanded in a misleading way, and the run goes on).
- by output, `MAX_OUTPUT` = 64 KiB (counted in characters). That is over a thousand lines, far
  more than anyone reads of one event, and 64 KiB is a quarter of the largest event, so
  the worst case stays close to the message's own size: once the expansion reaches the cap, a
  marker line follows and then the rest of the message as logged, from where it stopped.

So the result is at most `len(message) + MAX_OUTPUT` plus one indent, one token and a marker line.

The printer walks the message's tokens (no tree, no recursion), after `json.loads` says the whole
message is valid JSON. Its layout is `json.dumps(…, indent=2)`'s; strings are shown decoded
(`\\u00e9` as `é`), which never makes them longer; numbers as written. Control and format
characters in strings are left for `sanitize`, which runs on the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

__all__ = ["MAX_DEPTH", "MAX_OUTPUT", "expand_json"]

MAX_DEPTH = 32
MAX_OUTPUT = 64 * 1024
INDENT = "  "

DEEP_MARK = f"… not expanded: JSON nested deeper than {MAX_DEPTH} levels; as logged:"
SIZE_MARK = f"… expansion stopped at {MAX_OUTPUT // 1024} KiB; the rest as logged:"

# One JSON token of an already validated document: a string, a structural character, a scalar.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"]+')
_CLOSE = {"{": "}", "[": "]"}
_SLACK = 4096


def expand_json(message: str) -> str:
    """`message` pretty-printed when it is one JSON object, within the caps; else as it is."""
    stripped = message.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return message
    try:
        json.loads(stripped)
    except RecursionError:
        return f"{DEEP_MARK}\n{message}"
    except ValueError:
        return message
    if _deeper_than(stripped, MAX_DEPTH):
        return f"{DEEP_MARK}\n{message}"
    return _pretty(stripped)


def _deeper_than(text: str, limit: int) -> bool:
    depth = 0
    for m in _TOKEN.finditer(text):
        char = m.group()
        if char == "{" or char == "[":
            depth += 1
            if depth > limit:
                return True
        elif char == "}" or char == "]":
            depth -= 1
    return False


def _tokens(text: str) -> Iterator[re.Match[str]]:
    return _TOKEN.finditer(text)


def _pretty(text: str) -> str:
    out: list[str] = []
    size = 0
    depth = 0
    tokens = _tokens(text)
    pending: re.Match[str] | None = None
    starts_element = False
    while True:
        m = pending if pending is not None else next(tokens, None)
        pending = None
        if m is None:
            break
        token = m.group()
        # Stop at the cap where an element begins (after `,`, `{` or `[`), so the rest as logged
        # starts with a key or a value; at the latest one slack later (a run of closings).
        if size >= MAX_OUTPUT and (starts_element or size >= MAX_OUTPUT + _SLACK):
            out[-1] = out[-1].rstrip()
            out.append(f"\n{SIZE_MARK}\n{text[m.start() :]}")
            break
        if token in _CLOSE:
            after = next(tokens, None)
            if after is not None and after.group() == _CLOSE[token]:
                piece = token + after.group()  # {} and [] stay on one line, as json.dumps does
            else:
                pending = after
                depth += 1
                piece = token + "\n" + INDENT * depth
        elif token == "}" or token == "]":
            depth -= 1
            piece = "\n" + INDENT * depth + token
        elif token == ",":
            piece = ",\n" + INDENT * depth
        elif token == ":":
            piece = ": "
        elif token.startswith('"'):
            piece = _string(token)
        else:
            piece = token
        out.append(piece)
        size += len(piece)
        starts_element = token == "," or (token in _CLOSE and pending is not None)
    return "".join(out)


def _string(token: str) -> str:
    """A string token shown decoded (`\\u00e9` → `é`); never longer than as written."""
    if "\\" not in token:
        return token
    try:
        value = json.loads(token)
    except ValueError:  # pragma: no cover - the document was validated
        return token
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else token
