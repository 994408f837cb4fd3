"""The filter bar's small language, parsed into a predicate on requests. Pure: no Textual.

    status:5xx  status:502  status:4xx,429   path:/users/*   cold   slow:>1s   slow:<50ms
    error   fn:primes   method:POST   6605b081   "out of memory"   -path:/health

Terms are separated by spaces and all must hold (AND). A leading `-` or `!` negates a term.
Anything that is not `name:value` or a keyword is free text: a case-insensitive substring of the
request's row (method, path, route, status, cause, error), any of its IDs, a function name, or
any line it logged. Quotes keep spaces inside one term."""

from __future__ import annotations

import difflib
import fnmatch
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from apilogs.errors import ApilogsError
from apilogs.model import Request
from apilogs.stream import RequestFilter
from apilogs.times import parse_duration

__all__ = ["SYNTAX_HELP", "Query", "QueryError", "Term", "parse_query"]

SYNTAX_HELP: tuple[tuple[str, str], ...] = (
    ("status:5xx", "status class; also status:502, status:4xx,429"),
    ("path:/users/*", "path or route, shell-style glob"),
    ("method:POST", "HTTP method"),
    ("cold", "served by a cold start"),
    ("slow:>1s", "response latency above (or slow:<50ms below) a duration"),
    ("error", "failed, whatever the cause (as `requests --errors`)"),
    ("fn:NAME", "a Lambda it invoked (substring, or a glob)"),
    ("text", "free text: row, IDs, function names, every line it logged"),
    ("-term", "negates any term (also !term); terms combine with AND"),
)


class QueryError(ValueError):
    """A term the filter language does not accept; says which and why."""


@dataclass(frozen=True, slots=True)
class Term:
    """One condition, ready to test. `text` is the term as typed."""

    text: str
    test: Callable[[Request], bool]
    negated: bool = False

    def __call__(self, request: Request) -> bool:
        return self.test(request) is not self.negated


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter. The empty query keeps every request API Gateway saw."""

    text: str = ""
    terms: tuple[Term, ...] = ()
    # Free-text needles (lower-cased, without negated ones): the stream view highlights them.
    needles: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.terms

    def __call__(self, request: Request) -> bool:
        if not request.seen_by_api_gateway:
            return False
        return all(term(request) for term in self.terms)


_SLOW = re.compile(r"(?P<op>>=|<=|>|<)?\s*(?P<amount>.+)")


def parse_query(text: str) -> Query:
    """`text` as typed in the filter bar → a Query. Raises QueryError naming the bad term."""
    try:
        words = shlex.split(text, posix=True)
    except ValueError as exc:
        raise QueryError(f"{exc} (close the quote)") from None
    terms: list[Term] = []
    needles: list[str] = []
    for word in words:
        negated = False
        body = word
        if len(body) > 1 and body[0] in "-!":
            negated, body = True, body[1:]
        test = _term(body)
        if test is None:
            needle = body.lower()
            test = _free_text(needle)
            if not negated:
                needles.append(needle)
        terms.append(Term(word, test, negated))
    return Query(text.strip(), tuple(terms), tuple(needles))


def _term(body: str) -> Callable[[Request], bool] | None:
    lowered = body.lower()
    if lowered == "cold":
        return lambda r: r.cold_start
    if lowered in ("error", "errors"):
        return lambda r: r.outcome.is_error
    name, sep, value = body.partition(":")
    if not sep or not name.isalpha():
        return None
    name = name.lower()
    if name not in _NAMED:
        # A typo of a filter name is an error; anything else (`KeyError:`, `http://…`) is text.
        close = difflib.get_close_matches(name, list(_NAMED), n=1, cutoff=0.6)
        if close and value:
            raise QueryError(f"unknown filter {name}: in {body!r} (did you mean {close[0]}:?)")
        return None
    if not value:
        raise QueryError(f"{name}: needs a value, e.g. {_EXAMPLES[name]}")
    return _NAMED[name](value)


def _status(value: str) -> Callable[[Request], bool]:
    try:
        ranges = RequestFilter.status_ranges([value])
    except ApilogsError as exc:
        raise QueryError(str(exc).replace("bad status", "bad status:")) from None

    def test(request: Request) -> bool:
        status = request.status
        return status is not None and any(lo <= status <= hi for lo, hi in ranges)

    return test


def _path(value: str) -> Callable[[Request], bool]:
    def test(request: Request) -> bool:
        return fnmatch.fnmatchcase(request.path or "", value) or fnmatch.fnmatchcase(
            _route_path(request.route), value
        )

    return test


def _route_path(route: str | None) -> str:
    # "GET /primes/{n}" → "/primes/{n}"; a bare path stays.
    if not route:
        return ""
    return route.split(" ", 1)[1] if " " in route else route


def _method(value: str) -> Callable[[Request], bool]:
    wanted = value.upper()
    return lambda r: (r.method or "").upper() == wanted


def _slow(value: str) -> Callable[[Request], bool]:
    match = _SLOW.fullmatch(value.strip())
    if not match:
        raise QueryError(f"bad slow:{value} (use slow:>1s, slow:500ms, slow:<50ms)")
    try:
        seconds = parse_duration(match.group("amount"))
    except ApilogsError:
        raise QueryError(
            f"bad slow:{value}: a duration with its unit, e.g. slow:>1s, slow:>250ms"
        ) from None
    limit = seconds * 1000
    op = match.group("op") or ">="

    def latency(request: Request) -> float | None:
        if request.response_latency_ms is not None:
            return float(request.response_latency_ms)
        integration = request.integration
        return integration.duration_ms if integration else None

    if op in (">", ">="):
        strict = op == ">"
        return lambda r: (v := latency(r)) is not None and (v > limit if strict else v >= limit)
    strict = op == "<"
    return lambda r: (v := latency(r)) is not None and (v < limit if strict else v <= limit)


def _function(value: str) -> Callable[[Request], bool]:
    if any(c in value for c in "*?["):
        pattern = value.lower()
        return lambda r: any(
            fnmatch.fnmatchcase((i.function or "").lower(), pattern) for i in r.invocations
        )
    needle = value.lower()
    return lambda r: any(needle in (i.function or "").lower() for i in r.invocations)


def _free_text(needle: str) -> Callable[[Request], bool]:
    search = re.compile(re.escape(needle), re.IGNORECASE).search

    def test(request: Request) -> bool:
        fields = (
            request.method,
            request.path,
            request.route,
            request.cause,
            request.error_type,
            request.error_message,
            str(request.status) if request.status is not None else None,
            *request.ids,
            *(i.function for i in request.invocations),
        )
        if any(f and search(f) for f in fields):
            return True
        return any(search(event.raw.message) for event in request.events)

    return test


_NAMED: dict[str, Callable[[str], Callable[[Request], bool]]] = {
    "status": _status,
    "path": _path,
    "method": _method,
    "slow": _slow,
    "fn": _function,
}
_EXAMPLES = {
    "status": "status:5xx",
    "path": "path:/users/*",
    "method": "method:POST",
    "slow": "slow:>1s",
    "fn": "fn:primes",
}
