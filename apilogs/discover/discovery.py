"""One discovery's shared state and lookups: its calls (each asked once, all at once, on a pool),
its findings, the caller's account, each function's configuration and each log group's facts.
The API kinds' own discoveries (rest, v2, inferred) stand on it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from apilogs.aws import AwsContext
from apilogs.discover.advice import missing_group_advice
from apilogs.discover.cache import Fingerprint
from apilogs.discover.calls import (
    DENIED,
    MISSING,
    Failed,
    all_pages,
    attempt,
    failure_reason,
)
from apilogs.discover.names import FunctionRef, function_from_uri, log_group_from_arn
from apilogs.errors import AccessDenied
from apilogs.model import ApiKind, Finding, Role, Severity, Source, Topology


@dataclass
class Usage:
    """Which routes use a function, in which role; collected before the sources are built."""

    ref: FunctionRef
    role: Role
    routes: list[str] = field(default_factory=list)


class Discovery:
    """The calls of one discovery. Independent calls go out at once (a thread pool, each call
    asked for once and shared): discovery takes two or three round trips, not thirty. Warnings
    are made in the calling thread, in a fixed order, so the findings read the same each run."""

    def __init__(
        self,
        ctx: AwsContext,
        pool: ThreadPoolExecutor,
        scan_window: tuple[int, int | None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.scan_window = scan_window
        self.region = ctx.region
        self.findings: list[Finding] = []
        self.pool = pool
        self._futures: dict[tuple[object, ...], Future[Any]] = {}
        self._lock = threading.Lock()
        self.soon(("account",), self._caller_account)
        self.stage_facts: tuple[str | None, str | None] = (None, None)

    def soon(self, key: tuple[object, ...], call: Callable[..., Any], *args: Any) -> Future[Any]:
        """`call(*args)` started now (or earlier, by the same key): its future."""
        with self._lock:
            found = self._futures.get(key)
            if found is None:
                found = self._futures[key] = self.pool.submit(call, *args)
            return found

    def now(self, key: tuple[object, ...], call: Callable[..., Any], *args: Any) -> Any:
        return self.soon(key, call, *args).result()

    def warn(
        self, message: str, fix: str | None = None, severity: Severity = Severity.WARNING
    ) -> None:
        self.findings.append(Finding(severity, message, fix))

    # -- shared pieces -------------------------------------------------------------------------

    def access_source(
        self, sources: list[Source], destination: str | None, fmt: str | None, *, fix: str
    ) -> str | None:
        if not destination:
            self.warn(
                "no access log on this stage: one line per request with status and latencies "
                "is missing",
                fix,
            )
            return None
        group = log_group_from_arn(destination)
        if group is None:
            self.warn(
                f"access logs go to {destination}, which is not a CloudWatch log group "
                "(Firehose?): apilogs cannot read them",
                None,
            )
            return fmt
        arn_region = destination.split(":")[3] if destination.count(":") > 3 else self.region
        sources.append(Source(Role.ACCESS, group, arn_region or self.region, log_format=fmt))
        return fmt

    def use_function(
        self,
        usages: dict[tuple[Role, str, str], Usage],
        role: Role,
        uri: str,
        variables: dict[str, str],
        *routes: str,
    ) -> None:
        ref, why = function_from_uri(uri, self.region, variables)
        if ref is None:
            if why:
                self.warn(
                    f"cannot resolve the Lambda behind {', '.join(routes) or role}: {why}",
                    "set the stage variable: aws apigateway update-stage ... "
                    "--patch-operations op=replace,path=/variables/NAME,value=FUNCTION",
                )
            return
        usage = usages.setdefault((role, ref.region, ref.arn), Usage(ref, role))
        usage.routes.extend(r for r in routes if r not in usage.routes)

    def function_sources(self, usages: dict[tuple[Role, str, str], Usage]) -> list[Source]:
        for usage in usages.values():
            ref = usage.ref
            if not (ref.account and self.account_id() and ref.account != self.account_id()):
                self.soon(("config", ref.region, ref.name), self._function_config, ref)
        account = self.account_id()
        configs: dict[tuple[str, str], dict[str, Any] | None] = {}
        sources: list[Source] = []
        for usage in usages.values():
            ref = usage.ref
            if account and ref.account and ref.account != account:
                self.warn(
                    f"function {ref.name} lives in account {ref.account}, not {account}: "
                    "its logs must be read with that account's credentials",
                    f"apilogs get --profile <profile-for-{ref.account}> --log-group "
                    f"/aws/lambda/{ref.name} ...",
                    Severity.INFO,
                )
                sources.append(
                    Source(
                        usage.role,
                        f"/aws/lambda/{ref.name}",
                        ref.region,
                        function_name=ref.name,
                        function_arn=ref.arn,
                        qualifier=ref.qualifier,
                        routes=tuple(usage.routes),
                        foreign_account=ref.account,
                    )
                )
                continue
            key = (ref.region, ref.name)
            if key not in configs:
                configs[key] = self.function_config(ref)
            config = configs[key]
            logging = (config or {}).get("LoggingConfig") or {}
            sources.append(
                Source(
                    usage.role,
                    logging.get("LogGroup") or f"/aws/lambda/{ref.name}",
                    ref.region,
                    function_name=ref.name,
                    function_arn=ref.arn,
                    qualifier=ref.qualifier,
                    routes=tuple(usage.routes),
                    log_format=logging.get("LogFormat") or "Text",
                )
            )
        return sources

    def _function_config(self, ref: FunctionRef) -> Any:
        client = self.ctx.client("lambda", ref.region)
        found = attempt(client.get_function_configuration, FunctionName=ref.name)
        if isinstance(found, Failed) and isinstance(found.error, AccessDenied):
            return DENIED
        return found

    def function_config(self, ref: FunctionRef) -> dict[str, Any] | None:
        found = self.now(("config", ref.region, ref.name), self._function_config, ref)
        if found is MISSING:
            self.warn(
                f"function {ref.name} ({ref.region}) does not exist: the API points at a "
                "deleted or misspelled function, and every request to its routes fails",
                "fix the integration URI or deploy the function",
                Severity.ERROR,
            )
            return None
        if found is DENIED:
            self.warn(
                f"not allowed to read the configuration of {ref.name}: assuming its log group "
                f"is /aws/lambda/{ref.name}",
                "grant lambda:GetFunctionConfiguration",
                Severity.INFO,
            )
            return None
        if isinstance(found, Failed):
            self.warn(
                f"could not read the configuration of {ref.name} ({failure_reason(found)}): assuming "
                f"its log group is /aws/lambda/{ref.name}",
                None,
            )
            return None
        config: dict[str, Any] = found
        return config

    def with_group_facts(self, sources: list[Source]) -> Iterator[Source]:
        """Check each log group once (all at once): does it exist, its retention, size, class."""
        for source in sources:
            if not source.foreign_account:
                asked = ("group", source.region, source.log_group)
                self.soon(asked, self.ask_group, source.region, source.log_group)
        facts: dict[tuple[str, str], dict[str, Any] | bool | None] = {}
        for source in sources:
            if source.foreign_account:
                yield source
                continue
            key = (source.region, source.log_group)
            if key not in facts:
                facts[key] = self.describe_group(source.region, source.log_group)
            found = facts[key]
            if found is False:
                yield source  # not allowed to look: exists stays unknown
                continue
            if found is None:
                self.warn(*missing_group_advice(source, self.account_id()), Severity.WARNING)
                yield replace(source, exists=False)
                continue
            assert isinstance(found, dict)
            yield replace(
                source,
                exists=True,
                retention_days=found.get("retentionInDays"),
                stored_bytes=found.get("storedBytes"),
                log_class=found.get("logGroupClass"),
            )

    def ask_group(self, region: str, name: str) -> Any:
        logs = self.ctx.client("logs", region)

        def find() -> Any:
            for group in all_pages(
                logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name
            ):
                if group.get("logGroupName") == name:
                    return group
            return None

        found = attempt(find)
        if isinstance(found, Failed) and isinstance(found.error, AccessDenied):
            return DENIED
        return None if found is MISSING else found

    def describe_group(self, region: str, name: str) -> dict[str, Any] | bool | None:
        """The group's description; None if it does not exist; False if we may not look."""
        found = self.now(("group", region, name), self.ask_group, region, name)
        if found is DENIED:
            self.warn(
                f"not allowed to describe log group {name}",
                "grant logs:DescribeLogGroups (and logs:FilterLogEvents to read it)",
                Severity.INFO,
            )
            return False
        if isinstance(found, Failed):
            self.warn(
                f"could not describe log group {name} ({failure_reason(found)}): reading it anyway",
                None,
                Severity.INFO,
            )
            return False
        result: dict[str, Any] | None = found
        return result

    def _caller_account(self) -> str | None:
        try:
            return str(self.ctx.client("sts").get_caller_identity()["Account"])
        except Exception:
            return None  # not knowing the account only weakens the foreign check

    def account_id(self) -> str | None:
        found: str | None = self.now(("account",), self._caller_account)
        return found

    def topology(
        self,
        api_id: str,
        api_name: str,
        kind: ApiKind,
        stage: str,
        sources: list[Source],
        **settings: Any,
    ) -> Topology:
        """The topology found: each source with its group's facts, the findings in the order
        they were made, the stage's `settings` (Topology's fields)."""
        return Topology(
            api_id=api_id,
            api_name=api_name,
            kind=kind,
            stage=stage,
            region=self.region,
            sources=tuple(self.with_group_facts(sources)),
            findings=tuple(self.findings),
            account_id=self.account_id(),
            **settings,
        )

    def fingerprint(self, topology: Topology) -> Fingerprint:
        """What this topology was discovered from, for the cache (no call made)."""
        functions = []
        for region, name in sorted(
            {(s.region, s.function_name) for s in topology.sources if s.function_name}
        ):
            future = self._futures.get(("config", region, name))
            config = future.result() if future is not None and future.done() else None
            if isinstance(config, dict):
                group = (config.get("LoggingConfig") or {}).get("LogGroup")
                functions.append((region, name, config.get("LastModified"), group))
            elif future is not None:
                functions.append((region, name, None, None))
        missing = sorted({(s.region, s.log_group) for s in topology.sources if s.exists is False})
        return Fingerprint(self.account_id(), *self.stage_facts, tuple(functions), tuple(missing))
