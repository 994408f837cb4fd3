r"""CloudWatch console deep links for a request (`apilogs show ID --link`): a Logs Insights query
for its IDs over its window across the API's log groups, and each group's events filtered by the
same IDs.

The console keeps its state in the URL fragment, in its own encoding; nothing of it is
documented by AWS, so the shapes below come from URLs the console itself wrote, and from the
encoders people keep for them:

- Logs Insights: ``#logsV2:logs-insights`` + ``$3FqueryDetail$3D`` + the query's settings as a
  JSURL document (`jsurl`): ``~(end~'2023-03-30T08*3a20*3a41.000Z~start~'…~timeType~'ABSOLUTE
  ~tz~'UTC~editorString~'fields*20*40timestamp…~source~(~'group-a~'group-b)~lang~'CWLI)``.
  JSURL is Sage's `jsurl` (github.com/Sage/jsurl, `lib/jsurl.js`): ``~(`` … ``)`` an object or
  array, ``~'`` a string, ``~`` between members; in strings every character but ``A-Z a-z 0-9 _
  - .`` is ``*xx`` (two lower-case hex digits of its UTF-16 code unit) or ``**xxxx`` above 0xFF,
  and ``$`` is ``!``. The part after ``logs-insights`` is then escaped as by JavaScript's
  encodeURIComponent with ``%`` written ``$`` (``?`` → ``$3F``, ``=`` → ``$3D``; JSURL's own
  characters are left as they are). Console-written examples: web3-storage/backup-progress
  (README.md, 2023: ``…$3FqueryDetail$3D~(end~'…~queryId~'…~source~(~'prod-backup-ipfs-cluster))``),
  and the 2025 console form with ``~lang~'CWLI`` quoted in a test of a CloudWatch alarm
  notifier. Older links (naomichi-y/cloudwatch-insights-url-builder) escaped the JSURL text a
  second time (``$257E$2528end…``); the console reads both, and writes the first.
- A group's events: ``#logsV2:log-groups/log-group/{group}/log-events`` + ``$3FfilterPattern$3D
  {pattern}$26start$3D{epoch ms}$26end$3D{epoch ms}``, where the group and the pattern are
  percent-encoded twice with ``%`` written ``$`` (``/`` → ``$252F``, ``"`` → ``$2522``), as in
  sinofseven/cloudwatch_logs_url (``src/lib.rs``, ``create_url_log_events``).

What the links find: every line that carries one of the request's IDs. A Lambda `print` line
carries none (apilogs ties it to its invocation by its place in the stream), so the console
shows it only around the invocation's other lines, not in these results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from apilogs.errors import InvalidInput
from apilogs.model import Request, Role, Source
from apilogs.times import iso_utc

__all__ = [
    "INSIGHTS_MAX_GROUPS",
    "ConsoleLink",
    "console_home",
    "filter_pattern",
    "insights_link",
    "insights_query",
    "jsurl",
    "log_events_link",
    "log_events_url",
    "request_links",
]

# Logs Insights reads at most 50 log groups per query.
INSIGHTS_MAX_GROUPS = 50
# The window of a request's links: its lines, and this much on either side for clock skew.
DEFAULT_MARGIN_MS = 60_000

JsurlValue = None | bool | int | str | Sequence["JsurlValue"] | Mapping[str, "JsurlValue"]

_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
# An ID that may go inside a quoted query or filter term as it is: every ID apilogs trusts
# (UUIDs, API Gateway's `JjGvEiWsoAMEPaA=`, X-Ray's `1-…-…`) is made of these.
_SAFE_ID = re.compile(r"[A-Za-z0-9+/=_.:-]{1,128}")
_JSURL_ESCAPE = re.compile(r"[^A-Za-z0-9_.\-]")
# encodeURIComponent leaves these as they are.
_URI_COMPONENT_SAFE = "-_.!~*'()"


def _jsurl_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "$":
        return "!"
    data = char.encode("utf-16-be", "surrogatepass")
    units = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return "".join(f"*{u:02x}" if u < 0x100 else f"**{u:04x}" for u in units)


def _jsurl_text(text: str) -> str:
    return _JSURL_ESCAPE.sub(_jsurl_char, text)


def jsurl(value: JsurlValue) -> str:
    """`value` in JSURL, as Sage's jsurl `stringify` writes it (module doc)."""
    if value is None:
        return "~null"
    if isinstance(value, bool):
        return "~true" if value else "~false"
    if isinstance(value, int):
        return f"~{value}"
    if isinstance(value, str):
        return "~'" + _jsurl_text(value)
    if isinstance(value, Mapping):
        members = [_jsurl_text(str(k)) + jsurl(v) for k, v in value.items()]
        return "~(" + "~".join(members) + ")"
    return "~(" + ("".join(jsurl(v) for v in value) or "~") + ")"


def _dollar_component(text: str) -> str:
    """encodeURIComponent, with `%` written `$`: how the console escapes its fragment's query."""
    return quote(text, safe=_URI_COMPONENT_SAFE).replace("%", "$")


def _dollar_twice(text: str) -> str:
    """Percent-encoded twice, `%` written `$`: a group name or a filter pattern in the fragment."""
    return quote(text, safe="").replace("%", "$25")


def console_home(region: str) -> str:
    """`https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}`, or the China
    or GovCloud console's."""
    if not _REGION.fullmatch(region):
        raise InvalidInput(f"not an AWS region: {region!r}", name="region")
    if region.startswith("cn-"):
        host = "console.amazonaws.cn"
    elif region.startswith("us-gov-"):
        host = "console.amazonaws-us-gov.com"
    else:
        host = f"{region}.console.aws.amazon.com"
    return f"https://{host}/cloudwatch/home?region={region}"


def _ids(ids: Iterable[str]) -> list[str]:
    found = list(dict.fromkeys(ids))
    if not found:
        raise InvalidInput("a console link needs at least one request ID", name="request_id")
    for one in found:
        if not _SAFE_ID.fullmatch(one):
            raise InvalidInput(f"not a request ID: {one!r}", name="request_id")
    return found


def _window(start_ms: int, end_ms: int) -> None:
    if start_ms < 0 or end_ms < start_ms:
        raise InvalidInput(f"bad window {start_ms}..{end_ms} (epoch ms)", name="start")


def insights_query(ids: Iterable[str]) -> str:
    """The Logs Insights query for every line carrying one of `ids`, oldest first."""
    terms = " or ".join(f'@message like "{i}"' for i in _ids(ids))
    return (
        "fields @timestamp, @log, @logStream, @message\n"
        f"| filter {terms}\n"
        "| sort @timestamp asc\n"
        "| limit 10000"
    )


def insights_link(
    region: str, groups: Sequence[str], ids: Iterable[str], start_ms: int, end_ms: int
) -> str:
    """The console's Logs Insights page with `insights_query(ids)` over [start_ms, end_ms]
    (epoch ms, shown in UTC) across `groups` (all in `region`; at most 50)."""
    _window(start_ms, end_ms)
    names = list(dict.fromkeys(groups))
    if not names:
        raise InvalidInput("a Logs Insights link needs at least one log group", name="log_group")
    if len(names) > INSIGHTS_MAX_GROUPS:
        raise InvalidInput(
            f"Logs Insights reads at most {INSIGHTS_MAX_GROUPS} log groups per query, "
            f"not {len(names)}",
            name="log_group",
        )
    detail: dict[str, JsurlValue] = {
        "end": iso_utc(end_ms),
        "start": iso_utc(start_ms),
        "timeType": "ABSOLUTE",
        "tz": "UTC",
        "editorString": insights_query(ids),
        "source": names,
        "lang": "CWLI",
    }
    fragment = "logsV2:logs-insights" + _dollar_component("?queryDetail=" + jsurl(detail))
    return f"{console_home(region)}#{fragment}"


def filter_pattern(ids: Iterable[str]) -> str:
    """A CloudWatch Logs filter pattern matching any of `ids` as a literal term."""
    found = _ids(ids)
    if len(found) == 1:
        return f'"{found[0]}"'
    return " ".join(f'?"{i}"' for i in found)


def log_events_link(region: str, group: str, ids: Iterable[str], start_ms: int, end_ms: int) -> str:
    """The console's view of one group's events carrying one of `ids`, over [start_ms, end_ms]."""
    return log_events_url(region, group, filter_pattern(ids), start_ms, end_ms)


def log_events_url(region: str, group: str, pattern: str, start_ms: int, end_ms: int) -> str:
    """The console's view of one group's events matching a filter pattern, over [start_ms,
    end_ms] (epoch ms)."""
    _window(start_ms, end_ms)
    if not group:
        raise InvalidInput("a log group name is required", name="log_group")
    query = f"$3FfilterPattern$3D{_dollar_twice(pattern)}$26start$3D{start_ms}$26end$3D{end_ms}"
    path = f"logsV2:log-groups/log-group/{_dollar_twice(group)}/log-events"
    return f"{console_home(region)}#{path}{query}"


@dataclass(frozen=True, slots=True)
class ConsoleLink:
    """A link and what it opens: `Logs Insights (us-east-1)` or a log group's name."""

    label: str
    url: str


def request_links(
    request: Request, sources: Sequence[Source], *, margin_ms: int = DEFAULT_MARGIN_MS
) -> tuple[ConsoleLink, ...]:
    """The links for one request: a Logs Insights query per region first, then each group.

    `sources`: the API's readable sources (`Topology.readable_sources`). Lambda groups are those
    of the functions the request invoked when its invocations are known; all of them otherwise.
    The window is the request's, widened by `margin_ms` on either side."""
    ids = request.ids
    if not ids:
        raise InvalidInput("the request has no ID to search for", name="request_id")
    invoked = {i.function for i in request.invocations if i.function}
    by_region: dict[str, list[str]] = {}
    for source in sources:
        lambda_group = source.role in (Role.LAMBDA, Role.AUTHORIZER)
        if lambda_group and invoked and source.function_name not in invoked:
            continue
        groups = by_region.setdefault(source.region, [])
        if source.log_group not in groups:
            groups.append(source.log_group)
    start_ms = max(0, request.start_ms - margin_ms)
    end_ms = request.end_ms + margin_ms
    links = []
    for region, groups in by_region.items():
        # More groups than one query reads: one link per 50, each saying which.
        step = INSIGHTS_MAX_GROUPS
        for at in range(0, len(groups), step):
            label = f"Logs Insights ({region})"
            if len(groups) > step:
                label = f"Logs Insights ({region}, groups {at + 1}-{min(at + step, len(groups))})"
            url = insights_link(region, groups[at : at + step], ids, start_ms, end_ms)
            links.append(ConsoleLink(label, url))
    links += [
        ConsoleLink(group, log_events_link(region, group, ids, start_ms, end_ms))
        for region, groups in by_region.items()
        for group in groups
    ]
    return tuple(links)
