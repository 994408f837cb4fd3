"""The `apilogs` group, the one place errors become a line and an exit code, and what every
reading command does around its read: open the API, tell the user what they must know."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO, cast

import click

from apilogs.api import Api, FirstRead, open_api
from apilogs.aws import CallPolicy, CallTrouble, describe_aws_error
from apilogs.cli.options import (
    CONTEXT_SETTINGS,
    CommonOptions,
    WindowOptions,
    group_common_options,
    remember_group_options,
)
from apilogs.cli.redact import RedactingFormatter
from apilogs.cli.status import ExitStatus, describe, exit_status, unexpected_message
from apilogs.errors import ApilogsError
from apilogs.fetch import FetchStats
from apilogs.model import Severity
from apilogs.parse.vet import left_out_notice
from apilogs.render.env import Terminal
from apilogs.render.progress import CLEAR, Announced, Progress, may_reach_terminal
from apilogs.render.sanitize import sanitize
from apilogs.render.style import Painter
from apilogs.spec import ReadSpec
from apilogs.times import parse_time_noted


class ApilogsGroup(click.Group):
    """Runs like any click group, but every usage error is one line and exit 2, also when
    invoked in-process (tests, `python -m apilogs`)."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        tune_collector()
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            # `apilogs` alone: the help, as a newcomer expects, not an error.
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "apilogs"
            fail_line(f"{exc.format_message()} (see '{command} --help')", ExitStatus.USAGE)
        except (click.exceptions.Abort, KeyboardInterrupt):
            exit_quietly(ExitStatus.INTERRUPTED)
        except click.ClickException as exc:
            fail_line(exc.format_message(), exc.exit_code)
        except BrokenPipeError:
            exit_quietly(ExitStatus.OK)
        sys.exit(code if isinstance(code, int) else 0)


# A pass of the cycle collector every 50,000 allocations instead of 700 (Python's default).
GC_THRESHOLDS = (50_000, 20, 20)


def tune_collector() -> None:
    """For a process that is one `apilogs` run (not for a program using the library).

    A read allocates millions of small objects that live for seconds (pages, events waiting
    to be merged or labelled): at the default threshold the collector walks those survivors
    again and again, about a fifth of a labelled `get`'s CPU. What is loaded by now (modules,
    botocore) lives as long as the process and is frozen out of every pass. Reference cycles
    are still collected, only less often."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    limit_malloc_arenas()


# glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena (up to 8 a core). Messages
    are mostly larger than what Python's own allocator serves, so every reader thread decodes
    its pages into an arena of its own, and what one arena frees the others cannot reuse: peak
    RSS grew with the window's length (194 MiB at 294k events, 151 MiB with two arenas, for the
    same CPU). Must run before the first thread; a no-op off glibc, or when MALLOC_ARENA_MAX
    says otherwise."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl has no arenas to limit)
    mallopt(_M_ARENA_MAX, MALLOC_ARENAS)


@click.group(name="apilogs", cls=ApilogsGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(None, "-V", "--version", package_name="apilogs", prog_name="apilogs")
@group_common_options
@click.pass_context
def cli(ctx: click.Context, /, **common: Any) -> None:
    """What happened to this API request?

    apilogs finds every CloudWatch log group behind an API Gateway API and stage (execution log,
    access log, each Lambda integration and authorizer), reads them, merges them into one
    time-ordered stream and joins each request's lines across services.

    \b
    Examples:
      apilogs groups --api-id xyz123 --stage prod
      apilogs get --api-id xyz123 --stage prod --watch
      apilogs get --api-id xyz123 --stage prod --start '1h ago' | grep 6605b081
      apilogs --profile prod --region eu-west-1 requests -a xyz123 -t prod --errors
    """
    remember_group_options(ctx, common)


def run_reporting_errors(common: CommonOptions, action: Callable[[], Any]) -> Any:
    """Turn every failure into one line on stderr and an exit code; tracebacks only with --debug."""
    if common.debug:
        log_to_stderr(logging.DEBUG, logging.BASIC_FORMAT)
    elif common.verbose:
        log_to_stderr(logging.INFO, "apilogs: %(message)s")
    try:
        return action()
    except KeyboardInterrupt:
        if common.debug:
            raise
        exit_quietly(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # `apilogs get | head`: the reader left; nothing to say.
        exit_quietly(ExitStatus.OK)
    except (click.exceptions.Exit, click.ClickException):
        raise
    except Exception as exc:
        if common.debug:
            raise
        error = describe_aws_error(exc)
        if error is None:
            fail_line(unexpected_message(exc), ExitStatus.INTERNAL)
            return None
        fail(error)
    return None


def log_to_stderr(level: int, fmt: str) -> None:
    """The log on stderr, every record's text with its credentials masked: botocore's debug
    log prints each request's session token and signature."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])


def fail(error: ApilogsError) -> None:
    fail_line(describe(error), exit_status(error))


def fail_line(message: str, code: int) -> None:
    paint = Painter(Terminal.detect().err_color)
    line = sanitize(message, keep_newlines=False)
    with contextlib.suppress(OSError, ValueError):
        click.echo(f"{paint('apilogs: error:', '31', '1')} {line}", err=True)
    sys.exit(code)


def exit_quietly(code: int) -> None:
    # Ctrl-C: what was written but is still buffered goes out first. A closed pipe: that
    # flush fails, and stdout then points at devnull so the interpreter's final flush cannot
    # raise again.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(code)


def terminal(common: CommonOptions) -> Terminal:
    term = Terminal.detect(common.color)
    term.prepare()
    return term


@dataclass
class Reporter:
    """What a reading command tells the user on stderr, besides its output on stdout."""

    term: Terminal
    stats: FetchStats = field(default_factory=FetchStats)
    # Warnings come from the calling thread and from discovery's and readers' threads alike.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _deferred: ApilogsError | None = field(default=None, repr=False)
    _progress: Progress | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Said while it happens, on any stderr: not when the main thread next looks.
        self.stats.listen(self.warn)
        if self.term.err_tty and may_reach_terminal(self.term.out):
            # `apilogs requests | head`: head prints the rows on the terminal the progress line
            # is on. Every write to stdout wipes that line first.
            out = cast(TextIO, Announced(self.term.out, self._before_output))
            self.term = replace(self.term, out=out)

    def progress(self, *, beside_output: bool = True) -> Progress:
        """The read's progress on stderr, on a terminal. `beside_output`: the command prints
        while it reads, so there is none when stdout is that terminal too (the output shows
        progress)."""
        term = self.term
        # --verbose and --debug log on stderr from any thread, in the middle of the line.
        logging_on = logging.getLogger().isEnabledFor(logging.INFO)
        self._progress = Progress(
            self.stats,
            term.err,
            enabled=term.err_tty and not (beside_output and term.out_tty) and not logging_on,
            width=term.err_width,
            lock=self._lock,
        )
        return self._progress

    def _before_output(self) -> None:
        progress = self._progress
        if progress is not None:
            progress.hide()

    def warn(self, message: str) -> None:
        self._say(message, "apilogs: warning:", "33", "1")

    def defer(self, error: ApilogsError) -> None:
        """An error to raise once what was read has been shown (`raise_deferred`)."""
        self._deferred = error

    def raise_deferred(self) -> None:
        error, self._deferred = self._deferred, None
        if error is not None:
            raise error

    def trouble(self, trouble: CallTrouble) -> None:
        """An AWS call that keeps failing, said while it is retried."""
        self.warn(trouble.describe())

    def warn_info(self, message: str) -> None:
        """Something done, for stderr (stdout stays the command's output)."""
        self._say(message, "apilogs:", "2")

    def _say(self, message: str, prefix: str, *codes: str) -> None:
        """One line on stderr: `prefix` painted with `codes`, then the message."""
        paint = Painter(self.term.err_color)
        text = sanitize(message, keep_newlines=False)
        # On a terminal, the progress line may stand where this line starts: clear it first.
        clear = CLEAR if self.term.err_tty else ""
        with self._lock:
            self.term.err.write(f"{clear}{paint(prefix, *codes)} {text}\n")
            self.term.err.flush()
            if self._progress is not None:
                self._progress.wiped()

    def notices(self) -> None:
        """The notices the readers raised since the last call, as they happen."""
        for notice in self.stats.take_notices():
            self.warn(notice)

    def finish(
        self,
        shown: int,
        what: str = "events",
        *,
        filter_pattern: str | None = None,
        exit_if_none: bool = False,
    ) -> None:
        """The end of a read: what the user must still be told. `exit_if_none`: nothing shown
        exits 1 (nothing found), as grep does."""
        self.notices()
        stats = self.stats
        left_out = left_out_notice(stats.left_out)
        if left_out:
            self.warn(left_out)
        if stats.throttles:
            self.warn(
                f"CloudWatch Logs throttled {stats.throttles} reads; apilogs slowed down"
                + ("" if stats.failures else " and read every event")
            )
        if stats.late_beyond_lookback:
            self.warn(
                f"{stats.late_beyond_lookback} events arrived later than the look-back of the "
                f"polls (ingestion lag up to {stats.max_lag_ms / 1000:.0f} s): found by the "
                "periodic re-read and printed late"
            )
        if shown == 0 and not stats.failures:
            if filter_pattern and stats.events == 0:
                self.warn(f"the filter pattern {filter_pattern!r} matched no event in this window")
            elif stats.events:
                self.warn(f"no {what} matched among {stats.events:,} events read")
            else:
                self.warn(f"no {what} in this window (widen it with --start, e.g. --start 1h)")
        if shown == 0 and exit_if_none and not stats.failures:
            raise SystemExit(ExitStatus.NOT_FOUND)


def reads_execution(sources: tuple[str, ...]) -> bool:
    """Whether a read narrowed by --source reads the execution log."""
    return not sources or "execution" in sources


def open_for(
    common: CommonOptions,
    api_id: str,
    stage: str | None,
    on_trouble: Callable[[CallTrouble], None],
    window: WindowOptions | None = None,
    spec: ReadSpec | None = None,
    first_read: FirstRead | None = None,
) -> Api:
    """`open_api` with the command's options. Without `window` (a command that reads no
    window) the library's defaults hold for the rest."""
    opened = functools.partial(
        open_api,
        api_id,
        stage,
        profile=common.profile,
        region=common.region,
        endpoint_url=common.endpoint_url,
        on_trouble=on_trouble,
    )
    if window is None or spec is None:
        return opened()
    return opened(
        max_rps=window.max_rps,
        tz=window.tz,
        refresh=common.refresh,
        first_read=first_read,
        call_policy=CallPolicy(give_up_after_s=spec.window_fail_after_s),
    )


def say_url(common: CommonOptions, reporter: Reporter, *, by_path: bool) -> None:
    """How a URL given in place of the API was read: on stderr, once. `by_path`: the command
    keeps to the requests under the URL's path (the others read the whole API: said)."""
    url = common.url_target
    if url is None:
        return
    inner = ""
    if url.narrows:
        inner = (
            f"; requests under {url.path}"
            if by_path
            else f"; the whole API is read (requests and stats keep to {url.path})"
        )
    reporter.warn_info(f"{url.url} → {url.how}{inner}")


def open_target(
    common: CommonOptions,
    window: WindowOptions,
    spec: ReadSpec,
    api_id: str,
    stage: str | None,
    reporter: Reporter,
    *,
    window_read: bool = False,
    by_path: bool = False,
) -> Api:
    """Discover the API; tell what is missing in its logging setup. `window_read`: the command
    reads `spec` next, the execution log among the groups, so that read may begin while
    discovery runs. `by_path`: see `say_url`."""
    first_read = None
    if window_read and spec.engine != "insights":
        first_read = FirstRead.of(spec, reporter.stats)
    api = open_for(common, api_id, stage, reporter.trouble, window, spec, first_read)
    say_url(common, reporter, by_path=by_path)
    for finding in api.topology.findings:
        if finding.severity is not Severity.INFO or common.verbose:
            reporter.warn(finding.message)
    try:
        # Bad --end or --source: said before any read. The selection's notices (a group that
        # does not exist) reach the reporter through the read's stats.
        api.window(spec.start, spec.end)
        for option, value in (("--start", window.start), ("--end", window.end)):
            if value:
                _, note = parse_time_noted(value, tz=window.tz)
                if note:
                    reporter.warn(f"{option}: {note}")
        api.select(spec.sources, spec.log_groups)
    except BaseException:
        api.close()  # no read follows: the one begun during discovery stops now
        raise
    return api
