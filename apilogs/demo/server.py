"""moto's standalone server, in this process, on a free loopback port.

Used by `apilogs demo`, by the test suite and by the benchmark, so all three talk to the same
real HTTP endpoint."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

_PATCHED = False


def _teach_moto_logging_config() -> None:
    """moto 5 drops Lambda's LoggingConfig; real Lambda always returns it (LogFormat, LogGroup).

    We add it on the *server* side so discovery sees what AWS would send. This changes the fake
    service, not boto3: the client still parses a real HTTP response."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_get = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    def __init__(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kw: Any) -> None:
        original_init(self, account_id, spec, *args, **kw)
        self._apilogs_logging_config = dict(spec.get("LoggingConfig") or {})

    def get_configuration(self: Any, *args: Any, **kw: Any) -> dict[str, Any]:
        config: dict[str, Any] = original_get(self, *args, **kw)
        custom = getattr(self, "_apilogs_logging_config", {})
        config["LoggingConfig"] = {
            "LogFormat": custom.get("LogFormat", "Text"),
            "LogGroup": custom.get("LogGroup") or f"/aws/lambda/{self.function_name}",
        }
        if config["LoggingConfig"]["LogFormat"] == "JSON":
            config["LoggingConfig"]["ApplicationLogLevel"] = custom.get(
                "ApplicationLogLevel", "INFO"
            )
            config["LoggingConfig"]["SystemLogLevel"] = custom.get("SystemLogLevel", "INFO")
        return config

    def update_configuration(self: Any, updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in updates:
            self._apilogs_logging_config.update(updates["LoggingConfig"])
        result: dict[str, Any] = original_update(self, updates)
        return result

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign,assignment]
    _PATCHED = True


# CloudWatch Logs cuts a FilterLogEvents page at 10,000 events or 1 MB, whichever comes first;
# the size counts each message's UTF-8 bytes plus 26 bytes. A message may hold a lone surrogate
# (a JSON `\ud800` escape decodes to one): counted as the 3 bytes it takes, never an exception.
PAGE_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
_PAGE_CAP_PATCHED = False


def _teach_moto_page_size() -> None:
    """moto pages FilterLogEvents by count only; AWS also stops a page at 1 MB. Without this, a
    page of long messages holds several MB here and never does against AWS: tests and the
    benchmark would measure a client the service never makes."""
    global _PAGE_CAP_PATCHED
    if _PAGE_CAP_PATCHED:
        return
    from moto.logs.models import LogGroup

    original = LogGroup.filter_log_events

    def filter_log_events(self: Any, log_group_name: str, *args: Any, **kw: Any) -> Any:
        events, next_token, searched = original(self, log_group_name, *args, **kw)
        size = 0
        for index, event in enumerate(events):
            size += len(event["message"].encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES
            if size > PAGE_BYTES and index > 0:
                last = events[index - 1]
                # moto's own token format: the page resumes after this event.
                token = f"{log_group_name}@{last['logStreamName']}@{last['eventId']}"
                return events[:index], token, searched
        return events, next_token, searched

    LogGroup.filter_log_events = filter_log_events  # type: ignore[method-assign]
    _PAGE_CAP_PATCHED = True


_LIVE_TAIL_PATCHED = False


def _teach_moto_live_tail_arns() -> None:
    """moto's Live Tail looks each log group up by ARN in a loop that keeps the last group it
    visited whatever the ARN says: every session tails the newest group, once per identifier.
    AWS tails the group each ARN names, and refuses an ARN that names none (or ends in `:*`)."""
    global _LIVE_TAIL_PATCHED
    if _LIVE_TAIL_PATCHED:
        return
    import re

    from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.logs.models import LogsBackend

    def _find_live_tail_log_group(self: Any, identifier: str) -> Any:
        if not re.fullmatch(r"[\w#+=/:,.@-]*", identifier):
            raise InvalidParameterException(
                msg="1 validation error detected: Value at 'logGroupIdentifiers' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                "[\\w#+=/:,.@-]*"
            )
        for group in self.groups.values():
            if identifier in (group.arn, group.name):
                return group
        raise ResourceNotFoundException()

    LogsBackend._find_live_tail_log_group = _find_live_tail_log_group  # type: ignore[method-assign,assignment]
    _LIVE_TAIL_PATCHED = True


_EVENT_IDS_PATCHED = False


def _teach_moto_event_ids() -> None:
    """moto numbers events 0, 1, 2, … as text; AWS's event IDs are 56 digits, so in AWS their
    text order is their numeric order. Events of one stream in the same millisecond are put in
    order by that text: with moto's numbers `10` would come before `9`, and a Lambda's lines
    in one millisecond would be read out of the order they were written."""
    global _EVENT_IDS_PATCHED
    if _EVENT_IDS_PATCHED:
        return
    from moto.logs.logs_query import ParsedEvent
    from moto.logs.models import LogEvent

    _pad_event_id(LogEvent, "to_filter_dict", "eventId", attrgetter("event_id"))
    # Its Logs Insights hands the same number out as `@ptr`: keep the two in step, so the
    # emulator's engines agree on the order of one stream's events within a millisecond.
    # (AWS's `@ptr` is opaque: there, such ties are only as ordered as Insights returns them.)
    _pad_event_id(ParsedEvent, "_create_fields", "@ptr", attrgetter("event.event_id"))
    _EVENT_IDS_PATCHED = True


def _pad_event_id(cls: type, method: str, key: str, event_id: Callable[[Any], int]) -> None:
    """Wrap `cls.method` (which returns a dict) so that it puts at `key` the object's event number
    written as AWS writes event IDs: 56 digits."""
    original = getattr(cls, method)

    def padded(self: Any) -> dict[str, Any]:
        found: dict[str, Any] = original(self)
        found[key] = f"{event_id(self):056d}"
        return found

    setattr(cls, method, padded)


# Whether moto's FilterLogEvents understands `?"a" ?"b"` (any of these terms), as CloudWatch
# Logs does. Tests switch it off to read from an emulator that ignores such patterns.
OR_PATTERNS = True
_OR_PATCHED = False


def _teach_moto_or_patterns() -> None:
    """moto matches every event for a pattern it does not know, and `?"a" ?"b"` (CloudWatch's
    "any of these terms") is one: a lookup of several IDs at once would read whole windows."""
    global _OR_PATCHED
    if _OR_PATCHED:
        return
    import re

    from moto.logs import models

    original = models.EventMessageFilter  # type: ignore[attr-defined]
    term = re.compile(r'\?(?:"((?:[^"\\]|\\.)*)"|(\S+))')

    class AnyOf:
        def __init__(self, terms: list[str]) -> None:
            self.terms = terms

        def matches(self, message: str) -> bool:
            return any(t in message for t in self.terms)

    # moto builds a filter for every event it looks at: build each pattern's once.
    made: dict[tuple[str, bool], Any] = {}

    def event_message_filter(pattern: str) -> Any:
        key = (pattern or "", OR_PATTERNS)
        found = made.get(key)
        if found is None:
            text = key[0].strip()
            if OR_PATTERNS and text.startswith("?"):
                terms = [
                    m.group(1) if m.group(1) is not None else m.group(2)
                    for m in term.finditer(text)
                ]
                found = AnyOf([re.sub(r"\\(.)", r"\1", t) for t in terms if t])
            else:
                found = original(pattern)
            if len(made) > 10_000:
                made.clear()
            made[key] = found
        return found

    models.EventMessageFilter = event_message_filter  # type: ignore[attr-defined, assignment]
    _OR_PATCHED = True


@dataclass
class EmbeddedServer:
    """A running moto server; `stop()` frees the port."""

    url: str
    _server: Any

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every resource (moto's own reset endpoint)."""
        import urllib.request

        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass


def start_server(host: str = "127.0.0.1", port: int = 0) -> EmbeddedServer:
    """Start moto's server on a free port (port=0) and return its URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("the demo needs moto's server: pip install 'apilogs[demo]'") from exc
    _teach_moto_logging_config()
    _teach_moto_page_size()
    _teach_moto_live_tail_arns()
    _teach_moto_event_ids()
    _teach_moto_or_patterns()
    # werkzeug logs every request on stderr; the demo's stderr is for our progress and errors.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return EmbeddedServer(url=f"http://{bound_host}:{bound_port}", _server=server)
