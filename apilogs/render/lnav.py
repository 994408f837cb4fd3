r"""An lnav format for `apilogs get -o json`, and the installer that puts it where lnav looks.

`apilogs get -o json > f.json && lnav f.json` then shows every line in time order, coloured by
level (`e`/`E` jump between errors, `w`/`W` between warnings), each line's API Gateway request
ID as its operation ID (`o`/`O` jump to the next/previous line of the same request), and a SQL
table `apilogs_json` with the JSON fields as columns (`;SELECT kind, count(*) FROM apilogs_json
GROUP BY kind`).

How lnav reads the fields (checked against lnav 0.11.1, `tests/test_lnav.py`):

- The time comes from `time` (ISO 8601 UTC with milliseconds).
- lnav takes a line's level from one field, matched against one regex per level; the JSON line
  has no level field (its fields are a documented contract, additions only), so the level is read
  from `message`, with patterns anchored where the line's own writer puts its marks: API Gateway's
  `(request-id) Execution failed …` / `Method completed with status: 5xx`, the runtimes'
  `[ERROR]` / `\tERROR\t` / `"level":"ERROR"`, `Task timed out`, `Runtime exited with error`,
  REPORT `Status: timeout`, and the access line's status. `lnav_level` is the same rule in Python.
  lnav tries the levels from the least severe up and takes the first match, so the warning
  patterns win over the error ones (a 429 from Lambda is a warning, not an error).
- The operation ID is `request_id`. lnav 0.11 reads it from the rendered line, so it must be in
  `line-format` in full; a line with no request ID renders JSON null as `null`, and lnav then
  treats those lines as one operation called `null`. Lambda lines carry no API Gateway request
  ID in `get -o json` (they carry `lambda_request_id`), so `o` follows a request through its
  execution and access lines.
- `group` has no value definition: lnav 0.11.1 does not quote column names, and `group` is an SQL
  keyword, so a definition would cost the whole `apilogs_json` table. It stays out of the view
  (`hide-extra`), like every field that is not in the line.

Where lnav keeps its configuration (`lnav_config_dir`, the same rule as lnav's
`src/base/paths.cc`): `~/.lnav` when that folder exists, else `$XDG_CONFIG_HOME/lnav` when
XDG_CONFIG_HOME names a folder, else `~/.config/lnav` when `~/.config` exists, else `~/.lnav`.
Formats are read from its `formats/*/` folders; `lnav -i` installs into `formats/installed/`,
naming the file after the format (`apilogs_json.json`), and so does `install_lnav_format`, so
either way there is one copy.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from apilogs.errors import ApilogsError
from apilogs.times import iso_utc

__all__ = [
    "FORMAT_FILE",
    "FORMAT_NAME",
    "LEVEL_PATTERNS",
    "InstallAction",
    "LnavFormatConflict",
    "LnavInstall",
    "NoLnavHome",
    "install_lnav_format",
    "is_our_format",
    "lnav_config_dir",
    "lnav_format",
    "lnav_format_path",
    "lnav_format_text",
    "lnav_level",
]

FORMAT_NAME = "apilogs_json"  # also the SQL table lnav makes
FORMAT_FILE = f"{FORMAT_NAME}.json"  # what `lnav -i` would name it
# What tells a file in lnav's formats folder is ours: the description of our format says it.
_MARK = "Written by apilogs (apilogs lnav-format)"

# -- levels ------------------------------------------------------------------------------------

# API Gateway's execution log prefix: `(request-id) `.
_RID = r"^\([^()\s]+\) "
# The Node (and .NET) runtime line: `{time}\t{request id}\t{LEVEL}\t`.
_NODE = r"^\d{4}-\d\d-\d\dT[^\t]*\t[^\t]*\t"
# A JSON record (Lambda's JSON log format, Powertools, a JSON access log).
_JSON = r"^\s*\{"


def _level_word(words: str) -> str:
    """The level of a Lambda runtime line, in each place a runtime writes it."""
    return "|".join(
        (
            rf"^\[(?:{words})\]",  # Python: [ERROR]\t… / [ERROR] KeyError: …
            rf"{_NODE}(?:{words})\t",  # Node: …\tERROR\t…
            rf'{_JSON}[\s\S]*"level"\s*:\s*"(?i:{words})"',  # JSON: "level":"ERROR"
        )
    )


# Severity order, least first: the order lnav tries them in (its level map is ordered by level).
LEVEL_PATTERNS: Mapping[str, str] = {
    "debug": "|".join((_level_word("DEBUG|TRACE"), rf'{_JSON}[\s\S]*"level"\s*:\s*(?:10|20)\b')),
    "warning": "|".join(
        (
            rf"{_RID}Method completed with status: 4\d\d\b",
            rf"{_RID}(?:Unauthorized request|The client is not authorized)",
            rf"{_RID}Key throttle limit exceeded",
            rf"{_RID}Lambda invocation failed with status: 429\b",
            rf"{_RID}Execution failed due to configuration error: Rate Exceeded",
            _level_word("WARN|WARNING"),
            rf'{_JSON}[\s\S]*"level"\s*:\s*40\b',
            # Access logs: JSON (`"status":"404"`) or CLF (`… "GET / HTTP/1.1" 404 …`).
            rf'{_JSON}[\s\S]*"status"\s*:\s*"?4\d\d\b',
            r'^\S+ \S+ \S+ \[[^\]]*\] "[^"]*" 4\d\d\b',
        )
    ),
    "error": "|".join(
        (
            rf"{_RID}(?:Execution failed|Lambda execution failed|Lambda invocation failed)",
            rf"{_RID}Method completed with status: 5\d\d\b",
            _level_word("ERROR|FATAL|CRITICAL"),
            rf'{_JSON}[\s\S]*"level"\s*:\s*(?:50|60)\b',
            rf'{_JSON}[\s\S]*"errorType"\s*:',  # an error object, or a platform record with one
            rf'{_JSON}(?=[\s\S]*"type"\s*:\s*"platform\.)[\s\S]*"status"\s*:\s*"(?:timeout|error|failure)"',
            r'^\s*\{[\s\S]*"type"\s*:\s*"platform\.fault"',
            r"^(?:\S+\s+){0,2}Task timed out after\b",
            r"^RequestId: \S+ (?:Error: |Process exited before completing request)",
            r"^(?:Runtime exited with error|Runtime\.[A-Za-z]+\s*$)",
            r"^REPORT RequestId: [\s\S]*\bStatus: (?:timeout|error)\b",
            r"^Traceback \(most recent call last\):",
            rf'{_JSON}[\s\S]*"status"\s*:\s*"?5\d\d\b',
            r'^\S+ \S+ \S+ \[[^\]]*\] "[^"]*" 5\d\d\b',
        )
    ),
}


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((level, re.compile(pattern)) for level, pattern in LEVEL_PATTERNS.items())


def lnav_level(message: str) -> str:
    """The level lnav gives a line of `get -o json` with this message: the first level, least
    severe first, whose pattern is found in it; `info` when none is."""
    for level, pattern in _compiled():
        if pattern.search(message):
            return level
    return "info"


# -- the format --------------------------------------------------------------------------------

_SAMPLE_RID = "6605b081-6f04-11e6-97ac-c34deb0b3dd9"
_SAMPLE_LAMBDA_ID = "3e2b3f6a-7c1e-4a8b-9d2f-5a6b7c8d9e0f"


def _sample(offset_ms: int, source: str, function: str | None, message: str, **ids: Any) -> str:
    """One line as `get -o json` writes it."""
    ms = 1_700_000_000_000 + offset_ms
    group = f"/aws/lambda/{function}" if function else "API-Gateway-Execution-Logs_a1b2c3/prod"
    doc = {
        "timestamp": ms,
        "time": iso_utc(ms),
        "ingestion_time": ms + 40,
        "group": group,
        "stream": "2023/11/14/[$LATEST]0123456789abcdef" if function else "0123456789abcdef",
        "event_id": f"3792{offset_ms:04d}",
        "source": source,
        "function": function,
        "message": message,
        "request_id": ids.get("request_id"),
        "lambda_request_id": ids.get("lambda_request_id"),
        "trace_id": None,
        "kind": ids["kind"],
    }
    return json.dumps(doc, separators=(",", ":"))


def _samples() -> list[dict[str, str]]:
    rid, lid = _SAMPLE_RID, _SAMPLE_LAMBDA_ID
    return [
        {
            "line": _sample(0, "execution", None, f"({rid}) Starting execution for request: {rid}",
                            request_id=rid, kind="apigw.start"),
            "level": "info",
        },
        {
            "line": _sample(5, "lambda", "orders", f"START RequestId: {lid} Version: $LATEST\n",
                            lambda_request_id=lid, kind="lambda.start"),
            "level": "info",
        },
        {
            "line": _sample(3005, "lambda", "orders",
                            f"2023-11-14T22:13:23.005Z {lid} Task timed out after 3.00 seconds\n",
                            lambda_request_id=lid, kind="lambda.timeout"),
            "level": "error",
        },
        {
            "line": _sample(3010, "execution", None, f"({rid}) Method completed with status: 502",
                            request_id=rid, kind="apigw.completed"),
            "level": "error",
        },
        {
            "line": _sample(4000, "execution", None,
                            f"({rid}) Unauthorized request: {rid}", request_id=rid,
                            kind="apigw.unauthorized"),
            "level": "warning",
        },
    ]  # fmt: skip


def _value(kind: str, *, identifier: bool = False, hidden: bool = True) -> dict[str, Any]:
    value: dict[str, Any] = {"kind": kind}
    if identifier:
        value["identifier"] = True
    if hidden:
        value["hidden"] = True
    return value


def lnav_format() -> dict[str, Any]:
    """The lnav format definition for `get -o json` (what `apilogs lnav-format` prints), as a
    new dict each call."""
    return {
        "$schema": "https://lnav.org/schemas/format-v1.schema.json",
        FORMAT_NAME: {
            "title": "apilogs get -o json",
            "description": (
                "API Gateway and Lambda logs merged by apilogs, one JSON object per line "
                f"(apilogs get -o json). {_MARK}."
            ),
            "json": True,
            "hide-extra": True,
            "timestamp-field": "time",
            "body-field": "message",
            "opid-field": "request_id",
            "level-field": "message",
            "level": dict(LEVEL_PATTERNS),
            # Like `apilogs get -o short`: time, where the line comes from, then the message,
            # with the request ID between them. lnav 0.11 reads the operation ID from the
            # rendered line, padding included: the request ID is never padded nor cut.
            "line-format": [
                {"field": "__timestamp__"},
                " ",
                {"field": "source", "min-width": 10},
                " ",
                {"field": "function", "min-width": 12},
                " ",
                {"field": "request_id"},
                " ",
                {"field": "message"},
            ],
            "value": {
                "timestamp": _value("integer"),
                "ingestion_time": _value("integer"),
                "stream": _value("string"),
                "event_id": _value("string"),
                "source": _value("string", identifier=True, hidden=False),
                "function": _value("string", identifier=True, hidden=False),
                "message": _value("string", hidden=False),
                "request_id": _value("string", identifier=True, hidden=False),
                "lambda_request_id": _value("string", identifier=True),
                "trace_id": _value("string", identifier=True),
                "kind": _value("string", identifier=True),
                "late": _value("boolean"),
            },
            "sample": _samples(),
        },
    }


def lnav_format_text() -> str:
    """`lnav_format()` as the JSON text of a format file (ASCII, ends with a newline)."""
    return json.dumps(lnav_format(), indent=2) + "\n"


# -- where it goes -----------------------------------------------------------------------------


class NoLnavHome(ApilogsError):
    """HOME is not set or not a folder: lnav itself would then use the current folder."""


class LnavFormatConflict(ApilogsError):
    """The format file's place holds a file apilogs did not write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path} exists and was not written by apilogs: left as it is",
            hint="move it away, or replace it on purpose",
        )


def _is_dir(path: Path) -> bool:
    return path.is_dir()


def lnav_config_dir(
    env: Mapping[str, str] | None = None, *, is_dir: Callable[[Path], bool] = _is_dir
) -> Path:
    """The folder lnav reads its configuration and formats from (lnav's own rule, module doc).

    `env` defaults to os.environ; `is_dir` is for tests. Raises NoLnavHome without a HOME."""
    env = os.environ if env is None else env
    home_text = env.get("HOME", "")
    home = Path(home_text)
    if not home_text or not is_dir(home):
        raise NoLnavHome("HOME is not set to a folder: cannot tell where lnav keeps its formats")
    dot_lnav = home / ".lnav"
    if is_dir(dot_lnav):
        return dot_lnav
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg and is_dir(Path(xdg)):
        return Path(xdg) / "lnav"
    if is_dir(home / ".config"):
        return home / ".config" / "lnav"
    return dot_lnav


def lnav_format_path(
    env: Mapping[str, str] | None = None, *, is_dir: Callable[[Path], bool] = _is_dir
) -> Path:
    """Where `install_lnav_format` writes: `{lnav config}/formats/installed/apilogs_json.json`."""
    return lnav_config_dir(env, is_dir=is_dir) / "formats" / "installed" / FORMAT_FILE


def is_our_format(text: str) -> bool:
    """True when `text` is a format file apilogs wrote (any version of it)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    if not isinstance(doc, dict) or set(doc) - {"$schema", FORMAT_NAME}:
        return False
    ours = doc.get(FORMAT_NAME)
    return isinstance(ours, dict) and _MARK in str(ours.get("description", ""))


class InstallAction(StrEnum):
    INSTALLED = "installed"  # there was no file
    UPDATED = "updated"  # ours, from another version: rewritten
    UNCHANGED = "unchanged"  # ours, the same: left alone
    REPLACED = "replaced"  # someone else's, replaced because the caller said so


@dataclass(frozen=True, slots=True)
class LnavInstall:
    path: Path
    action: InstallAction

    def describe(self) -> str:
        """One line for people: `installed the lnav format: /home/me/.config/lnav/…`."""
        return f"{self.action} the lnav format: {self.path}"


def install_lnav_format(
    env: Mapping[str, str] | None = None, *, replace_foreign: bool = False
) -> LnavInstall:
    """Write the format into lnav's formats folder; say where and what was done.

    A file in that place that apilogs did not write is left alone (LnavFormatConflict) unless
    `replace_foreign`. The file is written whole or not at all (a temporary file, renamed)."""
    path = lnav_format_path(env)
    text = lnav_format_text()
    action = InstallAction.INSTALLED
    try:
        existing = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        existing = None
    if existing is not None:
        if existing == text:
            return LnavInstall(path, InstallAction.UNCHANGED)
        if is_our_format(existing):
            action = InstallAction.UPDATED
        elif replace_foreign:
            action = InstallAction.REPLACED
        else:
            raise LnavFormatConflict(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{FORMAT_FILE}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a config file is normally readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return LnavInstall(path, action)
