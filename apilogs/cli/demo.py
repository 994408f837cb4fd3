"""`apilogs demo` and `apilogs demo serve`: the embedded emulator, the sample API, live traffic.

Of the options every command has, the demo takes --color/--no-color, --verbose and --debug;
--profile, --region and --endpoint-url do not apply (it never talks to AWS)."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from apilogs.cli.app import cli, run_reporting_errors, terminal
from apilogs.cli.options import (
    CONTEXT_SETTINGS,
    CommonOptions,
    apply_options,
    common_options,
    output_option,
)
from apilogs.cli.params import DurationParam
from apilogs.errors import InvalidInput
from apilogs.render.style import DIM, Painter

F = TypeVar("F", bound=Callable[..., Any])

# How the demo's history and traffic are made: on `demo` and on `demo serve` alike.
_TRAFFIC_OPTIONS = [
    click.option(
        "--rps",
        type=click.FloatRange(0.1, 500),
        default=3.0,
        show_default=True,
        help="Requests per second of generated traffic.",
    ),
    click.option("--seed", type=int, help="Make the traffic reproducible."),
    click.option(
        "--backfill",
        type=DurationParam(),
        metavar="DURATION",
        help="First write this much past traffic, e.g. 1h, so requests and stats have data.",
    ),
]


def traffic_options(func: F) -> F:
    return apply_options(func, _TRAFFIC_OPTIONS)


def _no_aws_options(common: CommonOptions) -> None:
    given = [
        name
        for name, value in (
            ("--profile", common.profile),
            ("--region", common.region),
            ("--endpoint-url", common.endpoint_url),
        )
        if value
    ]
    if given:
        raise InvalidInput(
            f"the demo never talks to AWS: {', '.join(given)} do not apply "
            "(it takes --color, --no-color, --verbose and --debug)"
        )


@cli.group(context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@traffic_options
@click.option(
    "--plain", is_flag=True, help="Line output instead of the TUI (the default off a terminal)."
)
@output_option(["plain", "short", "json"], "How to print the followed lines.", default="short")
@common_options
@click.pass_context
def demo(
    ctx: click.Context,
    rps: float,
    seed: int | None,
    backfill: float | None,
    plain: bool,
    output: str,
    common: CommonOptions,
) -> None:
    """Try apilogs without AWS: an embedded serverless API with live, realistic traffic.

    Starts moto's AWS emulator in this process on 127.0.0.1, deploys the sample API
    "Eratosthenes" (REST API erat0s7hen, stage prod: execution and access logs, a Lambda
    authorizer, six functions, some in the JSON log format, three sharing a log group) and an
    HTTP API beside it, writes live traffic with the failures people chase (each once in the
    first half minute: Lambda timeouts, out of memory, unhandled exceptions, authorizer denies,
    throttling), and follows it in the TUI
    (`apilogs tui`) when stdout is a terminal, else (or with --plain) like `apilogs get --watch`.
    q or Ctrl-C stops everything.

    \b
    Examples:
      apilogs demo
      apilogs demo --rps 10 --seed 42 --plain -o plain
      apilogs demo serve --backfill 1h      # then query it from another terminal
    """
    if ctx.invoked_subcommand is not None:
        ctx.meta["apilogs.demo"] = {"rps": rps, "seed": seed, "backfill": backfill}
        return
    run_reporting_errors(common, lambda: _run_demo(rps, seed, backfill, output, common, plain))


def _run_demo(
    rps: float,
    seed: int | None,
    backfill: float | None,
    output: str,
    common: CommonOptions,
    plain: bool = False,
) -> None:
    from apilogs.api import Api
    from apilogs.demo.backend import start_demo
    from apilogs.discover import discover_topology
    from apilogs.fetch import FetchStats
    from apilogs.join.label import LabeledEvent
    from apilogs.render.events import EventFormatter, RenderOptions

    _no_aws_options(common)
    term = terminal(common)
    note = Painter(term.err_color)

    def say(text: str) -> None:
        term.err.write(note(f"apilogs demo: {text}", DIM) + "\n")
        term.err.flush()

    say("starting the embedded AWS emulator and the sample API…")
    with start_demo(rps=rps, seed=seed, backfill_ms=int((backfill or 0) * 1000)) as running:
        app = running.app
        say(
            f"{running.url} · REST API {app.rest_api_id} (stage {app.rest_stage})"
            f" · HTTP API {app.http_api_id} · {rps:g} requests/s · Ctrl-C to stop"
        )
        context = running.context()
        api = Api(context, discover_topology(context, app.rest_api_id, app.rest_stage))
        if not plain and term.out_tty and sys.stdin.isatty():
            from apilogs.cli.tui import run_demo_tui

            run_demo_tui(api, int(time.time() * 1000) - int((backfill or 60) * 1000))
            return
        # A person at a terminal reads compact lines (an 8-character ID prefix: 80 columns);
        # a pipe gets each line with its request's whole ID, for `| grep ID`.
        compact = term.out_tty and output != "json"
        options = RenderOptions(
            output="plain" if compact else output,
            show_group=False,
            late_slot=True,
            request_ids=True,
            compact=compact,
        )
        labeled = EventFormatter(options, Painter(term.color), api.select().sources).format_labeled
        base = f"--endpoint-url {running.url} -a {app.rest_api_id} -t {app.rest_stage}"
        stats = FetchStats()
        hinted_at: float | None = None
        started = time.monotonic()
        # As `get --watch` prints: every line with its request's ID (grep one request).
        for batch in api.follow(
            int(time.time() * 1000) - 10_000,
            correlate=False,
            label=True,
            interval=0.5,
            stats=stats,
        ):
            if batch.events:
                term.out.write(
                    "".join(
                        labeled(LabeledEvent(f.event, f.request_id, f.probable, f.late, f.phase))
                        + "\n"
                        for f in batch.events
                    )
                )
                term.out.flush()
                if hinted_at is None:
                    hinted_at = time.monotonic()
            if hinted_at is not None and time.monotonic() - hinted_at > 5 and started:
                started = 0.0
                say(
                    "try, from another terminal (run `apilogs demo serve "
                    "--backfill 1h` there for an hour of history): "
                    "AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo "
                    f"apilogs requests {base} --errors · apilogs show ID {base} · "
                    f"apilogs stats {base}"
                )


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise InvalidInput(
                f"port {port} on {host} is not free: {exc.strerror}", name="port"
            ) from None


@demo.command("serve", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one)."
)
@traffic_options
@common_options
@click.pass_context
def demo_serve(
    ctx: click.Context,
    port: int,
    rps: float,
    seed: int | None,
    backfill: float | None,
    common: CommonOptions,
) -> None:
    """Run only the demo backend and print how to query it from another terminal.

    \b
    Examples:
      apilogs demo serve --backfill 1h
      apilogs demo serve --port 5555 --rps 10 --seed 7
    """
    from apilogs.demo.backend import start_demo

    # Traffic options may come before `serve` too (`apilogs demo --rps 10 serve`).
    before: dict[str, Any] = ctx.meta.get("apilogs.demo") or {}

    def given(name: str, value: Any) -> Any:
        default = ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT
        return before.get(name, value) if default and before.get(name) is not None else value

    rps, seed, backfill = given("rps", rps), given("seed", seed), given("backfill", backfill)

    def serve() -> None:
        _no_aws_options(common)
        _check_port("127.0.0.1", port)
        with start_demo(
            rps=rps, seed=seed, backfill_ms=int((backfill or 0) * 1000), port=port
        ) as running:
            app = running.app
            env = "AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1"
            base = (
                f"--endpoint-url {running.url} --api-id {app.rest_api_id} --stage {app.rest_stage}"
            )
            lines = [
                f"endpoint     {running.url}",
                f"REST API     {app.rest_api_id} ({app.rest_api_name}), stage {app.rest_stage}",
                f"HTTP API     {app.http_api_id} ({app.http_api_name}), stage {app.http_stage}",
            ]
            if running.backfilled_events:
                lines.append(f"backfilled   {running.backfilled_events:,} events")
            lines += ["", "Try, in another terminal:", f"  export {env}"]
            lines += [
                f"  {command}"
                for command in (
                    f"apilogs groups {base}",
                    f"apilogs get {base} --watch",
                    f"apilogs requests {base} -s 1h --errors",
                    f"apilogs stats {base} -s 1h",
                )
            ]
            lines += ["", "Ctrl-C stops the backend."]
            click.echo("\n".join(lines))
            with contextlib.suppress(OSError):
                sys.stdout.flush()
            threading.Event().wait()

    run_reporting_errors(common, serve)
