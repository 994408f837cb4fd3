"""The rig one part of a run measures with: moto's server (and, in AWS's shape, the proxy in front
of it), the launcher, a workdir and a cache dir, the sample API's groups, the tools' command lines,
and the CPU accounting around each measured process."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.data import Window, logs_client
from bench.procs import (
    CHILD_DIR,
    REGION,
    ChildResult,
    Launcher,
    Proxy,
    Server,
    child_env,
    log,
    machine_busy_seconds,
    process_cpu_seconds,
)
from bench.samples import Sample, summarize_calls

if TYPE_CHECKING:
    from apilogs.demo.sample import SampleApp


class Rig:
    def __init__(
        self,
        args: argparse.Namespace,
        server: Server,
        workdir: Path,
        launcher: Launcher,
        *,
        proxy: Proxy | None = None,
        awslogs: Path | None = None,
    ) -> None:
        self.args = args
        self.server = server
        # What the measured tools talk to: moto itself, or the AWS-shaped proxy in front of it.
        # The bench's own reads (the reference) always go to moto directly.
        self.proxy = proxy
        self.endpoint = proxy.url if proxy else server.url
        self.workdir = workdir
        self.env = child_env()
        # A cache dir of the bench's own (a topology cache must not come from, or land in, the
        # user's): kept from run to run, so a cache is warm after the warm-up.
        self.warm_cache = workdir / f"cache-{'aws' if proxy else 'loopback'}"
        self.env["XDG_CACHE_HOME"] = str(self.warm_cache)
        self.client = logs_client(server.url)
        self.launcher = launcher
        self.awslogs = awslogs
        self.app: SampleApp | None = None
        self.groups: list[str] = []
        self._n = 0

    # -- running one process -----------------------------------------------------------------

    def paths(self, name: str) -> tuple[Path, Path]:
        """Numbered stdout and stderr files in the workdir."""
        self._n += 1
        return (
            self.workdir / f"{self._n:03d}-{name}.out",
            self.workdir / f"{self._n:03d}-{name}.err",
        )

    def run(
        self,
        argv: Sequence[str],
        name: str,
        *,
        pipe: bool = False,
        env: dict[str, str] | None = None,
    ) -> ChildResult:
        out, err = self.paths(name)
        return self.launcher.run(
            argv,
            stdout=out,
            stderr=err,
            timeout=self.args.timeout,
            env=self.env | (env or {}),
            pipe=pipe,
        )

    def cold_cache_env(self) -> dict[str, str]:
        """An empty cache dir of its own: a first run on this machine."""
        path = Path(tempfile.mkdtemp(prefix="cache-cold-", dir=self.workdir))
        return {"XDG_CACHE_HOME": str(path)}

    # -- the CPU everyone used meanwhile, the proxy's counts ------------------------------------

    def cpu_mark(self) -> tuple[float, float, float]:
        proxy = process_cpu_seconds(self.proxy.proc.pid) if self.proxy else 0.0
        return machine_busy_seconds(), process_cpu_seconds(self.server.proc.pid), proxy

    def finish(
        self,
        mark: tuple[float, float, float],
        seconds: float,
        events: int,
        rss: int | None,
        client_cpu: float,
        problems: list[str],
    ) -> Sample:
        machine, server, proxy = (b - a for a, b in zip(mark, self.cpu_mark(), strict=True))
        other = max(0.0, machine - server - proxy - client_cpu)
        sample = Sample(seconds, events, rss, client_cpu, server, other, problems)
        sample.proxy_cpu_seconds = proxy
        return sample

    def finish_child(
        self, mark: tuple[float, float, float], result: ChildResult, problems: list[str]
    ) -> Sample:
        """A measured process's sample, with the proxy's counts when there is one."""
        sample = self.finish(
            mark, result.seconds, 0, result.peak_rss_kib, result.cpu_seconds, problems
        )
        self.proxy_counts(sample, result)
        return sample

    def proxy_reset(self) -> bool:
        """Through the proxy: zero its counters, fill its bucket (an account idle until now).
        True when there is a proxy: the run's stdout then goes through a pipe (first byte)."""
        if self.proxy is None:
            return False
        self.proxy.reset()
        return True

    def proxy_counts(self, sample: Sample, result: ChildResult) -> None:
        if self.proxy is None:
            return
        sample.first_line_s = result.first_byte_seconds
        sample.calls = summarize_calls(self.proxy.stats(), result.spawned_at)
        if sample.calls["pages_cut"]:
            # Not apilogs's doing: the embedded server no longer cuts at 1 MiB. The proxy did.
            log(
                f"    note: the proxy cut {sample.calls['pages_cut']} FilterLogEvents pages of "
                "over 1 MiB that moto sent (apilogs.demo.server should cut them)"
            )

    # -- the tools' command lines --------------------------------------------------------------

    def discover_groups(self) -> list[str]:
        """The API's groups, from `apilogs groups -o json` itself."""
        result = self.run(
            [*self.apilogs_argv(), "groups", *self.common_options(), "-o", "json"], "groups"
        )
        if result.exit_code != 0:
            raise RuntimeError(f"apilogs groups failed: {result.stderr_text()}")
        topology = json.loads(result.stdout.read_text())
        groups = [s["log_group"] for s in topology["sources"] if s.get("exists")]
        return list(dict.fromkeys(groups))

    def apilogs_argv(self) -> list[str]:
        return [sys.executable, "-m", "apilogs"]

    def common_options(self) -> list[str]:
        """The endpoint and region, and which API: the sample's REST API and stage."""
        from apilogs.demo.sample import REST_API_ID, REST_STAGE

        return [
            "--endpoint-url",
            self.endpoint,
            "--region",
            REGION,
            "-a",
            REST_API_ID,
            "-t",
            REST_STAGE,
        ]

    def apilogs_get_argv(self, window: Window) -> list[str]:
        """On loopback `--max-rps 0` (no quota to keep); in AWS's shape the user's own command,
        with the default --max-rps (5)."""
        return [
            *self.apilogs_argv(),
            "get",
            *self.common_options(),
            "-s",
            str(window.start_ms),
            "-e",
            str(window.end_ms),
            "-o",
            "json",
            *([] if self.proxy else ["--max-rps", "0"]),
            *self.args.get_arg,
        ]

    def apilogs_follow_argv(self, since_ms: int, interval: float | None) -> list[str]:
        return [
            *self.apilogs_argv(),
            "get",
            *self.common_options(),
            "--watch",
            "-s",
            str(since_ms),
            "-o",
            "json",
            *(["--watch-interval", str(interval)] if interval is not None else []),
            *self.args.get_arg,
        ]

    def awslogs_argv(self, group: str, window: Window) -> list[str]:
        assert self.awslogs is not None
        return [
            str(self.awslogs),
            "get",
            group,
            "ALL",
            "-s",
            window.iso(window.start_ms),
            "-e",
            window.iso(window.end_ms),
            "--aws-endpoint-url",
            self.endpoint,
            "--aws-region",
            REGION,
            "--color",
            "never",
        ]

    def bare_loop_argv(self, window: Window) -> list[str]:
        """(a) as a whole process. Through the proxy: boto3's standard retry mode, as a plain
        boto3 user would set it (it retries throttles, 3 attempts), and a line on stdout at the
        first page."""
        spec: dict[str, Any] = {
            "url": self.endpoint,
            "groups": self.groups,
            "start_ms": window.start_ms,
            "end_ms": window.end_ms,
            "aws_shaped": self.proxy is not None,
        }
        return [sys.executable, str(CHILD_DIR / "bare_loop.py"), json.dumps(spec)]
