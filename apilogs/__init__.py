"""apilogs: what happened to this API request?

The public Python API (documented in README, "Python API"):

    import apilogs
    api = apilogs.open_api("xyz123", "prod")
    for request in api.requests(start="1h"):
        ...

Everything named in `__all__` is kept stable across versions (additions only)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("apilogs")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

from apilogs.api import Api, FollowBatch, FollowedEvent, lines_of, open_api
from apilogs.errors import (
    AccessDenied,
    ApilogsError,
    ApiNotFound,
    AwsAccessError,
    Cancelled,
    IncompleteRead,
    InvalidInput,
    NotFound,
    RequestNotFound,
    StageNotFound,
)
from apilogs.fetch import FetchStats
from apilogs.model import (
    Invocation,
    LineKind,
    LogEvent,
    Outcome,
    RawEvent,
    Request,
    RequestUpdate,
    Role,
    Source,
    Topology,
    UpdateKind,
)
from apilogs.stream import RequestFilter
from apilogs.summary import WindowStats

__all__ = [
    "AccessDenied",
    "Api",
    "ApiNotFound",
    "ApilogsError",
    "AwsAccessError",
    "Cancelled",
    "FetchStats",
    "FollowBatch",
    "FollowedEvent",
    "IncompleteRead",
    "InvalidInput",
    "Invocation",
    "LineKind",
    "LogEvent",
    "NotFound",
    "Outcome",
    "RawEvent",
    "Request",
    "RequestFilter",
    "RequestNotFound",
    "RequestUpdate",
    "Role",
    "Source",
    "StageNotFound",
    "Topology",
    "UpdateKind",
    "WindowStats",
    "__version__",
    "lines_of",
    "open_api",
]
