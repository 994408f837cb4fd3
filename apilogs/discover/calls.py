"""How discovery calls AWS: every lookup answers, is missing (AWS says there is no such thing),
or failed (denied, or still failing after the call policy's retries) — and a failed lookup only
makes its answer unknown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import botocore.exceptions

from apilogs.aws import describe_aws_error, error_code
from apilogs.errors import (
    AccessDenied,
    ApilogsError,
    AwsServiceError,
    AwsThrottled,
    EndpointUnreachable,
)
from apilogs.model import ApiKind

_NOT_FOUND = frozenset({"NotFoundException", "ResourceNotFoundException"})


def all_pages(
    client: Any, operation: str, key: str, page_size: int | None = None, **kwargs: Any
) -> Iterator[Any]:
    """Every item of a paginated call, through boto3's paginator."""
    config = {"PageSize": page_size} if page_size else {}
    for page in client.get_paginator(operation).paginate(**kwargs, PaginationConfig=config):
        yield from page.get(key, [])


def v2_pages(call: Callable[..., Any], key: str = "Items", **kwargs: Any) -> Iterator[Any]:
    """Every item of an API Gateway v2 call that boto3 has no paginator for (GetStages,
    GetApiMappings): its NextToken followed by hand."""
    while True:
        page = call(**kwargs)
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return
        kwargs = {**kwargs, "NextToken": token}


DENIED = object()  # a lookup we were not allowed to make
MISSING = object()  # a lookup of something that does not exist


class Failed:
    """A lookup that failed for good (denied) or after every retry (throttled, 5xx, no answer):
    what it would have found is unknown, and the rest of discovery goes on."""

    __slots__ = ("error",)

    def __init__(self, error: ApilogsError) -> None:
        self.error = error


class Unreadable(Exception):
    """The API's configuration cannot be read: its topology is to be inferred. `kind`: what
    the lookups that did answer allow (None: not known)."""

    def __init__(self, error: ApilogsError, kind: ApiKind | None, name: str | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.kind = kind
        self.name = name


# Failures discovery works around: each lookup's answer is then unknown. Credentials, a region
# or an endpoint that refuses connections fail every call alike, and still end the run.
_TOLERATED = (AccessDenied, AwsThrottled, AwsServiceError, EndpointUnreachable)


def _as_failure(exc: Exception) -> Failed | None:
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return None
    typed = describe_aws_error(exc)
    return Failed(typed) if isinstance(typed, _TOLERATED) else None


def attempt(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call(...)`, the missing mark when AWS says there is no such thing, or `Failed`."""
    try:
        return call(*args, **kwargs)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in _NOT_FOUND | {"BadRequestException"}:
            return MISSING
        failed = _as_failure(exc)
        if failed is None:
            raise
        return failed
    except botocore.exceptions.BotoCoreError as exc:
        failed = _as_failure(exc)
        if failed is None:
            raise
        return failed


def answered(result: Any) -> bool:
    return result is not MISSING and not isinstance(result, Failed)


def failure_reason(failed: Failed) -> str:
    error = failed.error
    if isinstance(error, AccessDenied):
        return f"access denied: {error.action}"
    if isinstance(error, AwsThrottled):
        return "throttled"
    if isinstance(error, AwsServiceError):
        return error.code or "AWS error"
    return error.message
