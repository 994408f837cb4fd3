"""apilogs: what happened to this API request?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("apilogs")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
