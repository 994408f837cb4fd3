"""The errors the core raises. Each carries the data a front end needs (which API, which stage,
the stages that exist, the missing IAM action …) and says itself in one line with no CLI words.

Front ends decide the rest: `apilogs.cli.status` maps each class to an exit code and adds the
option to try (`--start`, `--region` …); a script catches the class it cares about.

The families:
- `InvalidInput`: what was asked cannot be right (a bad time, an unknown source, no region).
- `NotFound`: what was asked for does not exist (API, stage, request, any log group to read).
- `AwsAccessError`: AWS could not be reached, or would not let us in or keep up.
- `Cancelled`: the caller's `stop` was set before the answer was complete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class ApilogsError(Exception):
    """A failure the user can act on. `str(err)` is one line."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


# --- what was asked cannot be right ----------------------------------------------------------


class InvalidInput(ApilogsError):
    """A value the caller gave is wrong; `name` says which (an argument or option name)."""

    def __init__(self, message: str, *, name: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.name = name


class UnknownSource(InvalidInput):
    def __init__(self, selector: str, choices: Sequence[str]) -> None:
        self.selector = selector
        self.choices = tuple(choices)
        super().__init__(
            f"unknown source {selector!r}: choose from {', '.join(self.choices)}", name="source"
        )


class AmbiguousApi(InvalidInput):
    """A name that more than one API carries. `candidates` holds (api id, kind) pairs."""

    def __init__(self, name: str, region: str, candidates: Sequence[tuple[str, str]]) -> None:
        self.api_name = name
        self.region = region
        self.candidates = tuple(candidates)
        listed = ", ".join(f"{api_id} ({kind})" for api_id, kind in self.candidates)
        super().__init__(
            f"API name {name!r} is ambiguous in {region}: {listed}; pass one ID", name="api"
        )


class StageRequired(InvalidInput):
    def __init__(self, api_id: str, stages: Sequence[str]) -> None:
        self.api_id = api_id
        self.stages = tuple(sorted(stages))
        super().__init__(
            f"a stage is required; stages of {api_id}: {', '.join(self.stages) or 'none'}",
            name="stage",
        )


class AmbiguousRequestId(InvalidInput):
    """An ID prefix that several requests' IDs start with."""

    def __init__(self, prefix: str, candidates: Sequence[Any]) -> None:
        self.prefix = prefix
        self.candidates = tuple(candidates)
        shown = []
        for request in self.candidates[:8]:
            full = next((i for i in request.ids if i.startswith(prefix)), prefix)
            what = " ".join(
                str(x) for x in (request.method, request.path or request.route, request.status) if x
            )
            shown.append(f"{full} ({what})" if what else full)
        more = f" and {len(self.candidates) - 8} more" if len(self.candidates) > 8 else ""
        super().__init__(
            f"{prefix} is the start of the IDs of {len(self.candidates)} requests: "
            f"{', '.join(shown)}{more}; give more of it",
            name="request_id",
        )


class NoRegion(InvalidInput):
    def __init__(self) -> None:
        super().__init__("no AWS region: set AWS_REGION or a region in your profile", name="region")


class ProfileNotFound(InvalidInput):
    def __init__(self, profile: str) -> None:
        self.profile = profile
        super().__init__(f"AWS profile {profile!r} not found in your AWS config", name="profile")


# --- what was asked for does not exist --------------------------------------------------------


class NotFound(ApilogsError):
    pass


class ApiNotFound(NotFound):
    def __init__(self, ref: str, region: str) -> None:
        self.ref = ref
        self.region = region
        super().__init__(
            f"no API with ID or name {ref!r} in {region} (looked at REST, HTTP and WebSocket APIs)"
        )


class StageNotFound(NotFound):
    def __init__(self, api_id: str, stage: str, stages: Sequence[str]) -> None:
        self.api_id = api_id
        self.stage = stage
        self.stages = tuple(sorted(stages))
        super().__init__(
            f"stage {stage!r} not found on API {api_id}; its stages: "
            f"{', '.join(self.stages) or 'none'}"
        )


class NothingToRead(NotFound):
    def __init__(self, api_id: str, stage: str, selectors: Sequence[str] = ()) -> None:
        self.api_id = api_id
        self.stage = stage
        self.selectors = tuple(selectors)
        which = f" among the sources chosen ({', '.join(self.selectors)})" if selectors else ""
        super().__init__(
            f"nothing to read: no log group of API {api_id} stage {stage} exists{which}"
        )


class RequestNotFound(NotFound):
    def __init__(self, ids: Sequence[str], start_ms: int, end_ms: int | None) -> None:
        self.ids = tuple(ids)
        self.start_ms = start_ms
        self.end_ms = end_ms
        super().__init__(f"no request with ID {', '.join(self.ids)} in this window")


# --- AWS could not be reached, or would not let us in -----------------------------------------


class AwsAccessError(ApilogsError):
    pass


class NoCredentials(AwsAccessError):
    def __init__(self) -> None:
        super().__init__(
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or run 'aws configure' / 'aws sso login'"
        )


class CredentialsExpired(AwsAccessError):
    def __init__(self) -> None:
        super().__init__(
            "your AWS session token has expired: refresh your credentials "
            "(e.g. 'aws sso login') and try again"
        )


class LoginRequired(AwsAccessError):
    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"AWS SSO login needed: run 'aws sso login' ({detail})")


class CredentialsRejected(AwsAccessError):
    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"AWS rejected your credentials ({code}): {detail}".rstrip(": "))


class AccessDenied(AwsAccessError):
    def __init__(self, action: str, operation: str, detail: str = "") -> None:
        self.action = action
        self.operation = operation
        self.detail = detail
        super().__init__(
            f"access denied: your identity lacks {action} (calling {operation}). {detail}".strip()
        )


class EndpointUnreachable(AwsAccessError):
    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"cannot reach the AWS endpoint: {detail}")


class AwsThrottled(AwsAccessError):
    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(f"AWS kept throttling {operation} after retries")


class AwsServiceError(AwsAccessError):
    """Any other error AWS answered with."""

    def __init__(self, operation: str, code: str, detail: str) -> None:
        self.operation = operation
        self.code = code
        self.detail = detail
        super().__init__(f"AWS error in {operation}: {code}: {detail}".rstrip(": "))


@dataclass(frozen=True, slots=True)
class GroupFailure:
    """A log group a window read gave up on: read up to `read_until_ms` (None: nothing)."""

    group: str
    reason: str
    failing_for_s: float
    read_until_ms: int | None


class IncompleteRead(AwsAccessError):
    """Raised after every readable event was delivered, when some group could not be read to
    the end of the window. Nothing is cut off silently."""

    def __init__(self, failures: Sequence[GroupFailure]) -> None:
        self.failures = tuple(failures)
        # What was made of the events that were read (`Api.stats`'s summary), so a caller can
        # show it with the error rather than lose it; None when the raiser kept nothing.
        self.partial: object | None = None
        groups = ", ".join(f.group for f in self.failures)
        super().__init__(f"could not read {len(self.failures)} log group(s) to the end: {groups}")


# --- the caller stopped us ---------------------------------------------------------------------


class Cancelled(ApilogsError):
    def __init__(self) -> None:
        super().__init__("stopped before the answer was complete")


class InvalidResponse(AwsAccessError):
    """AWS (or what stands in for it) sent an answer that cannot be read."""

    def __init__(self, group: str, detail: str) -> None:
        self.group = group
        self.detail = detail
        super().__init__(f"CloudWatch Logs sent an unreadable answer for {group}: {detail}")
