"""apilogs: what happened to this API request?

The public Python API (documented in README, "Python API"):

    import apilogs
    api = apilogs.open_api("xyz123", "prod")
    for request in api.requests(start="1h"):
        ...

Everything named in `__all__` is kept stable across versions (additions only)."""

from apilogs.api import Api, FirstRead, FollowBatch, FollowedEvent, lines_of, open_api
from apilogs.diagnosis.summary import WindowStats
from apilogs.errors import (
    AccessDenied,
    AmbiguousRequestId,
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
from apilogs.fetch.xray import TraceReport
from apilogs.join.label import LabeledEvent
from apilogs.lookup import Lookup
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
    SpanKind,
    Topology,
    Trace,
    TraceSpan,
    UpdateKind,
)
from apilogs.spec import ReadSpec
from apilogs.stream import RequestFilter

__all__ = [
    "AccessDenied",
    "AmbiguousRequestId",
    "Api",
    "ApiNotFound",
    "ApilogsError",
    "AwsAccessError",
    "Cancelled",
    "FetchStats",
    "FirstRead",
    "FollowBatch",
    "FollowedEvent",
    "IncompleteRead",
    "InvalidInput",
    "Invocation",
    "LabeledEvent",
    "LineKind",
    "LogEvent",
    "Lookup",
    "NotFound",
    "Outcome",
    "RawEvent",
    "ReadSpec",
    "Request",
    "RequestFilter",
    "RequestNotFound",
    "RequestUpdate",
    "Role",
    "Source",
    "SpanKind",
    "StageNotFound",
    "Topology",
    "Trace",
    "TraceReport",
    "TraceSpan",
    "UpdateKind",
    "WindowStats",
    "__version__",
    "lines_of",
    "open_api",
]


def __getattr__(name: str) -> str:
    # The version is looked up when asked for: importlib.metadata costs every run ~40 ms.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("apilogs")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            return "0.0.0"
    raise AttributeError(f"module 'apilogs' has no attribute {name!r}")
