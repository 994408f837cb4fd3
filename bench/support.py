"""The test suite's support code the bench shares: the AWS-shaped proxy and the fault proxy.

This is the one place the bench imports them from. When they move (tests/support/), change the
import below and nothing else: the proxy runs as `python -m <its module name>` from the
repository's root, which is on sys.path whenever `bench` is importable."""

from __future__ import annotations

from pathlib import Path

from tests.support import awsproxy, faultproxy

REPO_DIR = Path(__file__).resolve().parent.parent

__all__ = ["REPO_DIR", "awsproxy", "faultproxy"]
