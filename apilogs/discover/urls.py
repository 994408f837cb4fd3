"""A URL in place of an API ID and a stage: what an alert or a customer gives an on-call engineer.

`https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod/orders/7` names its API, region
and stage in the host and the first path segment (an HTTP API's `$default` stage has no segment).
A custom domain (`https://api.example.com/v1/orders/7`) is resolved through its mappings: REST
base path mappings (`GetBasePathMappings`) and API mappings (`GetApiMappings`, which also map
REST APIs to domains made with API Gateway v2), the longest base path that starts the URL's path
winning, `(none)` / the empty key standing for the whole domain. A domain whose routing mode
(`GetDomainName`) uses routing rules is resolved by them first (`ListRoutingRules`: in priority
order, the first whose base path starts the URL; a rule that also asks for a header is one the
URL alone cannot settle, said in `how`). What follows the stage or the base path is the path
inside the API, which `requests` narrows to (`path_under`).

Pure parsing (`parse_url`) is apart from the lookups (`resolve_url`), which go through discovery's
`attempt` (the call policy, the missing and failed marks)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from apilogs.aws import AwsContext
from apilogs.discover.calls import (
    MISSING,
    Failed,
    all_pages,
    answered,
    attempt,
    failure_reason,
    v2_pages,
)
from apilogs.errors import InvalidInput, NotFound
from apilogs.model import ApiKind

__all__ = [
    "ApiUrl",
    "PathUnder",
    "UrlNotResolved",
    "UrlTarget",
    "looks_like_url",
    "parse_url",
    "resolve_url",
    "resolve_url_cached",
]

# `{api id}.execute-api.{region}.amazonaws.com`, and a private API's
# `{api id}-{vpce id}.execute-api.{region}.vpce.amazonaws.com` / `...-{vpce id}.execute-api...`.
_DEFAULT_HOST = re.compile(
    r"(?P<api>[a-z0-9]+)(?:-vpce-[a-z0-9]+)?\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r"\.(?:vpce\.)?amazonaws\.com(?:\.cn)?"
)
# A base path as API Gateway stores "no base path".
_NO_BASE_PATH = ("", "(none)", "/")


class UrlNotResolved(NotFound):
    """No API answers for this URL: what was looked at is said, so the user knows where not to
    look again (another region, another account, a domain of another API Gateway)."""

    def __init__(self, url: str, looked_at: list[str]) -> None:
        self.url = url
        self.looked_at = tuple(looked_at)
        super().__init__(f"no API found for {url}: looked at {'; '.join(looked_at)}")


@dataclass(frozen=True, slots=True)
class ApiUrl:
    """A URL as typed, taken apart: no lookup made yet."""

    text: str
    host: str
    segments: tuple[str, ...]  # the path's segments, decoded, empty ones dropped

    @property
    def default_host(self) -> re.Match[str] | None:
        return _DEFAULT_HOST.fullmatch(self.host)


@dataclass(frozen=True, slots=True)
class UrlTarget:
    """What a URL stands for: the API and stage to read, and the path inside the API that
    requests are narrowed to (`/` for the whole API); `how`: one line, for `groups`."""

    url: str
    api_id: str
    stage: str
    region: str | None  # from the host (execute-api); None: the session's
    path: str
    how: str
    kind: ApiKind | None = None

    # What API Gateway's `$context.path` may put before the path inside the API: the stage
    # (the execute-api host), the base path (a custom domain). A request reached through the
    # other entry is still under the URL.
    sent_prefixes: tuple[str, ...] = ()

    @property
    def narrows(self) -> bool:
        return self.path != "/"

    @property
    def under(self) -> PathUnder:
        return PathUnder(self.path, self.sent_prefixes)


@dataclass(frozen=True, slots=True)
class PathUnder:
    """Whether a request is under a URL's path: the path it sent (`$context.path`, which may
    start with the stage or the base path, `sent_prefixes`) equal to it or below it; without a path sent, its route template (`/orders/{id}`, `/{proxy+}`) matching it
    segment by segment."""

    path: str
    sent_prefixes: tuple[str, ...] = ()

    def __call__(self, sent: str | None, route: str | None) -> bool:
        want = _segments(self.path)
        if not want:
            return True
        if sent:
            # The path sent is exact; a template is not (`{id}` is 7 and 70 alike).
            got = _segments(sent)
            inner = [got]
            for prefix in map(_segments, self.sent_prefixes):
                if prefix and got[: len(prefix)] == prefix:
                    inner.append(got[len(prefix) :])
            return any(path[: len(want)] == want for path in inner)
        return bool(route) and _route_covers(_segments(route or ""), want)


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


def _route_covers(route: tuple[str, ...], want: tuple[str, ...]) -> bool:
    """A route template serves the wanted path, or paths below it: `{x}` stands for one segment,
    `{x+}` for the rest."""
    for index, part in enumerate(route):
        if part.startswith("{") and part.endswith("+}"):
            return True
        if index >= len(want):
            return True  # the route is below the wanted path
        if not (part.startswith("{") and part.endswith("}")) and part != want[index]:
            return False
    return len(route) >= len(want)


def looks_like_url(text: str) -> bool:
    """Whether an argument is meant as a URL rather than an API ID or name."""
    lowered = text.strip().lower()
    if lowered.startswith(("http://", "https://")):
        return True
    host = lowered.split("/", 1)[0]
    return "." in host and bool(_DEFAULT_HOST.fullmatch(host) or re.fullmatch(r"[a-z0-9.-]+", host))


def parse_url(text: str) -> ApiUrl:
    """`text` taken apart; InvalidInput when it has no host."""
    raw = text.strip()
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not a URL: {text!r} (e.g. https://api.example.com/v1/orders)")
    segments = tuple(unquote(s) for s in parts.path.split("/") if s)
    return ApiUrl(raw, parts.hostname.lower().rstrip("."), segments)


def _path(segments: tuple[str, ...]) -> str:
    return "/" + "/".join(segments)


def resolve_url(ctx: AwsContext, text: str) -> UrlTarget:
    """The API, stage and inner path `text` stands for. NotFound (`UrlNotResolved`) when nothing
    maps it, saying what was looked at."""
    url = parse_url(text)
    match = url.default_host
    if match is not None:
        return _default_host(ctx, url, match["api"], match["region"])
    return _custom_domain(ctx, url)


def resolve_url_cached(
    ctx: AwsContext, text: str, *, profile: str | None, cache: bool, refresh: bool = False
) -> UrlTarget:
    """`resolve_url`, kept like topologies are (`apilogs.discover.cache`, a day): a URL pasted
    again during an incident resolves without a round trip. `refresh`: resolve again."""
    from apilogs.discover import cache as store

    if not cache:
        return resolve_url(ctx, text)
    url = parse_url(text)
    key = store.cache_key(
        profile, ctx.region, ctx.endpoint_url, f"url:{url.host}{_path(url.segments)}", None
    )
    kept = None if refresh else store.load_resolution(key)
    if kept is not None:
        with contextlib.suppress(TypeError, ValueError, KeyError):
            kind = kept.get("kind")
            kept |= {"kind": ApiKind(kind) if kind else None, "url": text}
            return UrlTarget(**(kept | {"sent_prefixes": tuple(kept["sent_prefixes"])}))
    target = resolve_url(ctx, text)
    store.store_resolution(
        key, asdict(target) | {"kind": str(target.kind) if target.kind else None}
    )
    return target


def _default_host(ctx: AwsContext, url: ApiUrl, api_id: str, region: str) -> UrlTarget:
    rest = attempt(ctx.client("apigateway", region).get_rest_api, restApiId=api_id)
    if answered(rest):
        if not url.segments:
            raise InvalidInput(
                f"{url.text} names REST API {api_id} but no stage: a REST API's URL is "
                f"https://{url.host}/STAGE/…",
                name="url",
            )
        return _on_host(
            url, api_id, region, ApiKind.REST, url.segments[0], "the first path segment"
        )
    v2 = ctx.client("apigatewayv2", region)
    api = attempt(v2.get_api, ApiId=api_id)
    if not answered(api):
        looked = [f"REST, HTTP and WebSocket API {api_id} in {region}"]
        for found in (rest, api):
            if isinstance(found, Failed):
                looked.append(f"({failure_reason(found)})")
        raise UrlNotResolved(url.text, looked)
    kind = ApiKind.WEBSOCKET if api.get("ProtocolType") == "WEBSOCKET" else ApiKind.HTTP
    stages = attempt(v2.get_stages, ApiId=api_id)
    names = {s.get("StageName") for s in stages.get("Items", [])} if answered(stages) else set()
    if url.segments and url.segments[0] in names:
        return _on_host(url, api_id, region, kind, url.segments[0], "the first path segment")
    if "$default" in names or not names:
        # `$default` is served at the root; with the stages unknown it is the likelier guess.
        why = "no stage in the path" if names else "the stages could not be read"
        return _on_host(url, api_id, region, kind, "$default", why)
    raise UrlNotResolved(
        url.text,
        [
            f"the stages of {kind.value} API {api_id} ({', '.join(sorted(names))}): none is "
            f"{url.segments[0] if url.segments else 'in the path'}, and it has no $default stage"
        ],
    )


def _on_host(
    url: ApiUrl, api_id: str, region: str, kind: ApiKind, stage: str, why: str
) -> UrlTarget:
    """An execute-api URL's target: the stage is its first segment, but `$default`'s."""
    inner = url.segments if stage == "$default" else url.segments[1:]
    return UrlTarget(
        url.text,
        api_id,
        stage,
        region,
        _path(inner),
        f"{kind.value} API {api_id} in {region}, stage {stage} ({why})",
        kind,
        sent_prefixes=() if stage == "$default" else (f"/{stage}",),
    )


@dataclass(frozen=True, slots=True)
class _Mapping:
    base_path: tuple[str, ...]  # its segments; () for the whole domain
    api_id: str
    stage: str
    source: str  # which call said so


def _base(key: str | None) -> tuple[str, ...]:
    if key is None or key in _NO_BASE_PATH:
        return ()
    return tuple(s for s in key.split("/") if s)


# A custom domain's routing modes (GetDomainName's RoutingMode; API Gateway v1 calls the
# mapping modes BASE_PATH_MAPPING_ONLY and ROUTING_RULE_THEN_BASE_PATH_MAPPING).
_RULES_ONLY = "ROUTING_RULE_ONLY"
_RULES_FIRST = ("ROUTING_RULE_THEN_API_MAPPING", "ROUTING_RULE_THEN_BASE_PATH_MAPPING")


@dataclass(frozen=True, slots=True)
class _Rule:
    priority: int
    base_paths: tuple[tuple[str, ...], ...]  # any of these; () for any path
    headers: tuple[str, ...]  # `Name: glob` the request must also have
    api_id: str
    stage: str
    strip: bool

    def base_of(self, url: ApiUrl) -> tuple[str, ...] | None:
        """The base path of the rule that starts the URL's path (the longest), or None."""
        if not self.base_paths:
            return ()
        fitting = [b for b in self.base_paths if url.segments[: len(b)] == b]
        return max(fitting, key=len) if fitting else None


def _rules(found: list[dict[str, Any]]) -> list[_Rule]:
    rules = []
    for rule in found:
        invoke = next(
            (a["InvokeApi"] for a in rule.get("Actions") or [] if a.get("InvokeApi")), None
        )
        if not invoke or not invoke.get("ApiId"):
            continue
        conditions = rule.get("Conditions") or []
        rules.append(
            _Rule(
                int(rule.get("Priority") or 0),
                tuple(
                    _base(path)
                    for c in conditions
                    for path in (c.get("MatchBasePaths") or {}).get("AnyOf") or []
                ),
                tuple(
                    f"{h.get('Header')}: {h.get('ValueGlob')}"
                    for c in conditions
                    for h in (c.get("MatchHeaders") or {}).get("AnyOf") or []
                ),
                invoke["ApiId"],
                invoke.get("Stage") or "",
                bool(invoke.get("StripBasePath")),
            )
        )
    return sorted(rules, key=lambda r: r.priority)


def _by_rules(url: ApiUrl, rules: list[_Rule]) -> UrlTarget | None:
    """The API the first rule that takes the URL invokes (API Gateway stops at the first that
    matches). A rule that also asks for headers may or may not take the request: the first that
    asks for none decides, and those before it are said; with none, the first is taken."""
    maybe: list[tuple[_Rule, tuple[str, ...]]] = []
    chosen: tuple[_Rule, tuple[str, ...]] | None = None
    for rule in rules:
        base = rule.base_of(url)
        if base is None:
            continue
        if not rule.headers:
            chosen = (rule, base)
            break
        maybe.append((rule, base))
    if chosen is None and maybe:
        chosen = maybe.pop(0)
        maybe = []
    if chosen is None:
        return None
    rule, base = chosen
    inner = url.segments[len(base) :] if rule.strip else url.segments
    how = f"custom domain {url.host}, routing rule of priority {rule.priority}"
    if rule.headers:
        how += f" (if the request has {' and '.join(rule.headers)})"
    how += f" → API {rule.api_id}, stage {rule.stage}"
    if maybe:
        others = "; ".join(
            f"with {' and '.join(r.headers)}: API {r.api_id}, stage {r.stage}" for r, _ in maybe
        )
        how += f" (a request with other headers may go elsewhere: {others})"
    prefixes = (_path(base), f"/{rule.stage}") if base and rule.strip else (f"/{rule.stage}",)
    return UrlTarget(
        url.text,
        rule.api_id,
        rule.stage,
        None,
        _path(inner),
        how,
        ApiKind.REST,  # routing rules invoke REST APIs only
        sent_prefixes=prefixes,
    )


def _custom_domain(ctx: AwsContext, url: ApiUrl) -> UrlTarget:
    looked: list[str] = []
    v2 = ctx.client("apigatewayv2")
    domain = attempt(v2.get_domain_name, DomainName=url.host)
    mode = domain.get("RoutingMode") if answered(domain) else None
    if mode == _RULES_ONLY or mode in _RULES_FIRST:
        found: Any = attempt(
            lambda: list(v2_pages(v2.list_routing_rules, "RoutingRules", DomainName=url.host))
        )
        looked.append(_said("routing rules", found))
        if answered(found):
            target = _by_rules(url, _rules(found))
            if target is not None:
                return target
        if mode == _RULES_ONLY:
            where = f"of domain {url.host} in {ctx.region} (routing mode {mode})"
            raise UrlNotResolved(url.text, [f"{', '.join(looked)} {where}"])
    return _by_mappings(ctx, url, looked)


def _by_mappings(ctx: AwsContext, url: ApiUrl, looked: list[str]) -> UrlTarget:
    mappings: list[_Mapping] = []
    v1 = ctx.client("apigateway")
    found: Any = attempt(
        lambda: list(all_pages(v1, "get_base_path_mappings", "items", domainName=url.host))
    )
    if answered(found):
        mappings += [
            _Mapping(
                _base(m.get("basePath")), m["restApiId"], m.get("stage") or "", "base path mapping"
            )
            for m in found
            if m.get("restApiId")
        ]
    looked.append(_said("REST base path mappings", found))
    v2 = ctx.client("apigatewayv2")
    found = attempt(lambda: list(v2_pages(v2.get_api_mappings, DomainName=url.host)))
    if answered(found):
        mappings += [
            _Mapping(_base(m.get("ApiMappingKey")), m["ApiId"], m.get("Stage") or "", "API mapping")
            for m in found
            if m.get("ApiId")
        ]
    looked.append(_said("API mappings", found))
    # The longest base path that starts the URL's path: `v1/orders` before `v1` before none.
    fitting = [m for m in mappings if url.segments[: len(m.base_path)] == m.base_path]
    if not fitting:
        where = f"of domain {url.host} in {ctx.region}"
        if mappings:
            bases = sorted({"/" + "/".join(m.base_path) for m in mappings})
            looked.append(f"its base paths are {', '.join(bases)}")
        raise UrlNotResolved(url.text, [f"{', '.join(looked)} {where}"])
    best = max(fitting, key=lambda m: len(m.base_path))
    inner = url.segments[len(best.base_path) :]
    shown = "/" + "/".join(best.base_path) if best.base_path else "(none)"
    if not best.stage:
        raise UrlNotResolved(url.text, [f"{best.source} {shown} of {url.host} names no stage"])
    return UrlTarget(
        url.text,
        best.api_id,
        best.stage,
        None,
        _path(inner),
        f"custom domain {url.host}, {best.source} {shown} → API {best.api_id}, stage {best.stage}",
        sent_prefixes=(_path(best.base_path), f"/{best.stage}")
        if best.base_path
        else (f"/{best.stage}",),
    )


def _said(what: str, found: Any) -> str:
    if isinstance(found, Failed):
        return f"{what} ({failure_reason(found)})"
    if found is MISSING:
        return f"{what} (no such domain)"
    return what
