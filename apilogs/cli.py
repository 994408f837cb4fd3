"""Every command and option, declared once; each command only wires options into the core and a
renderer. Nothing here fetches, parses or formats by itself."""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from apilogs import __version__
from apilogs.aws import AwsContext, describe_aws_error, make_context
from apilogs.errors import ApilogsError
from apilogs.render.style import Painter, color_enabled

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@dataclass
class CommonOptions:
    profile: str | None
    region: str | None
    endpoint_url: str | None
    color: str
    verbose: bool
    debug: bool

    def context(self, max_rps: float = 5.0) -> AwsContext:
        return make_context(
            profile=self.profile,
            region=self.region,
            endpoint_url=self.endpoint_url,
            max_rps=max_rps,
        )

    def painter(self, stream: Any = None) -> Painter:
        return Painter(color_enabled(self.color, stream or sys.stdout))


def common_options(func: F) -> F:
    """The options every AWS tool has; they work after any command."""
    options = [
        click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: AWS_PROFILE)."),
        click.option("--region", help="AWS region (default: AWS_REGION or the profile's)."),
        click.option(
            "--endpoint-url",
            help="Send every AWS call here (a local emulator, a VPC endpoint). boto3's own "
            "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> apply when this is not given.",
        ),
        click.option(
            "--color",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour output. auto: only on a terminal; NO_COLOR and FORCE_COLOR are honoured.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Say more on stderr."),
        click.option("--debug", is_flag=True, help="Show tracebacks and botocore's debug log."),
    ]
    for option in reversed(options):
        func = option(func)

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        profile: str | None,
        region: str | None,
        endpoint_url: str | None,
        color: str,
        verbose: bool,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        common = CommonOptions(profile, region, endpoint_url, color, verbose, debug)
        if debug:
            logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
        elif verbose:
            logging.basicConfig(
                level=logging.INFO, stream=sys.stderr, format="apilogs: %(message)s"
            )
        return _run_reporting_errors(common, lambda: func(*args, common=common, **kwargs))

    return wrapper  # type: ignore[return-value]


def _run_reporting_errors(common: CommonOptions, action: Callable[[], Any]) -> Any:
    """Turn every failure into one line on stderr and an exit code; tracebacks only with --debug."""
    try:
        return action()
    except KeyboardInterrupt:
        if common.debug:
            raise
        _exit_quietly(130)
    except BrokenPipeError:
        # `apilogs get | head`: the reader left; nothing to say.
        _exit_quietly(0)
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except Exception as exc:
        if common.debug:
            raise
        error = describe_aws_error(exc)
        if error is None:
            error = ApilogsError(
                f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)"
            )
        _fail(error)


def _fail(error: ApilogsError) -> None:
    paint = Painter(color_enabled("auto", sys.stderr))
    message = str(error).replace("\n", " ")
    click.echo(f"{paint('apilogs: error:', '31', '1')} {message}", err=True)
    sys.exit(error.exit_code)


def _exit_quietly(code: int) -> None:
    # Point stdout at devnull so the interpreter's final flush cannot raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(code)


api_id_option = click.option(
    "--api-id",
    "-a",
    "api_id",
    required=True,
    metavar="ID|NAME",
    help="REST, HTTP or WebSocket API: its ID, or its name when unambiguous.",
)
stage_option = click.option(
    "--stage",
    "-t",
    metavar="STAGE",
    help="The stage (HTTP APIs: default $default).",
)


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="apilogs")
def cli() -> None:
    """What happened to this API request?

    apilogs finds every CloudWatch log group behind an API Gateway API and stage (execution log,
    access log, each Lambda integration and authorizer), reads them, merges them into one
    time-ordered stream and joins each request's lines across services.

    \b
    Examples:
      apilogs groups --api-id xyz123 --stage prod
      apilogs get --api-id xyz123 --stage prod --watch
      apilogs get --api-id xyz123 --stage prod --start '1h ago' | grep 6605b081
    """


@cli.command(context_settings=CONTEXT_SETTINGS)
@api_id_option
@stage_option
@click.option(
    "-o",
    "--output",
    type=click.Choice(["plain", "json"]),
    default="plain",
    show_default=True,
    help="plain: a table for people; json: one JSON document.",
)
@common_options
def groups(api_id: str, stage: str | None, output: str, common: CommonOptions) -> None:
    """Show which log groups hold an API's evidence, and what is missing.

    One row per source: role (execution, access, lambda, authorizer), log group, function and
    qualifier, the routes that use it, whether the group exists, its retention and size. Then
    every problem found (logging off, no access log, a group that does not exist) with the
    command that fixes it. Exits 0 when at least one log group exists, 1 otherwise.

    \b
    Examples:
      apilogs groups --api-id xyz123 --stage prod
      apilogs groups --api-id my-api-name --stage prod -o json | jq '.sources[].log_group'
    """
    from apilogs.discover import discover_topology
    from apilogs.render.topology import topology_json, topology_lines

    topology = discover_topology(common.context(), api_id, stage)
    if output == "json":
        click.echo(topology_json(topology))
    else:
        for line in topology_lines(topology, common.painter()):
            click.echo(line)
    if not any(s.exists for s in topology.sources):
        sys.exit(1)


def main() -> None:
    # Python's default SIGPIPE handling turns `| head` into a BrokenPipeError on flush; we handle
    # it ourselves above, but restoring SIG_DFL would also kill the TUI's children: keep Python's.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cli(prog_name="apilogs")


if __name__ == "__main__":  # pragma: no cover
    main()
