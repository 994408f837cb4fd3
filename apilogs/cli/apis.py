"""`apilogs apis`: which API of the account is failing — every API and stage, worst first.

Its own options module because it is the one command that takes several `--profile` and
`--region` values (one survey fans out over accounts and regions); the others take one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from apilogs.cli.app import Reporter, cli, run_reporting_errors, terminal
from apilogs.cli.commands import progress_line
from apilogs.cli.options import (
    CONTEXT_SETTINGS,
    ENDPOINT_URL_OPTION,
    CommonOptions,
    apply_options,
    load_defaults,
    output_option,
    speaking_options,
)
from apilogs.cli.params import TIME
from apilogs.fetch.engines import ENGINES, EngineName

__all__ = ["apis"]


def speaking(func: Callable[..., Any]) -> Callable[..., Any]:
    return apply_options(func, speaking_options())


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    help="AWS profile (repeatable: one table over several accounts; default: AWS_PROFILE).",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="AWS region (repeatable: one table over several regions; default: AWS_REGION).",
)
@ENDPOINT_URL_OPTION
@click.option(
    "-s", "--start", "--since", "start", type=TIME, default="15m", show_default=True,
    metavar="TIME", help="Window start: 15m, 1h ago, ISO 8601, epoch s/ms.",
)  # fmt: skip
@click.option("-e", "--end", "--until", "end", type=TIME, metavar="TIME", help="Window end.")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="How each API's window is read (auto: Logs Insights for long windows on AWS).",
)
@click.option(
    "--max-rps", type=click.FloatRange(min=0), default=5.0, show_default=True,
    help="CloudWatch Logs reads per second, shared by every API of an account (0: no limit).",
)  # fmt: skip
@output_option(["plain", "json"], "plain: a table for people; json: one JSON object per API stage.")
@speaking
def apis(
    profiles: tuple[str, ...],
    regions: tuple[str, ...],
    endpoint_url: str | None,
    start: str,
    end: str | None,
    engine: EngineName,
    max_rps: float,
    output: str,
    color: str,
    no_color: bool,
    verbose: bool,
    debug: bool,
) -> None:
    """List every API and stage of the account and region, worst first over the window: requests,
    4xx, 5xx, p50/p99 latency and the top cause. Then `apilogs requests -a ID -t STAGE --errors`.

    \b
    Examples:
      apilogs apis
      apilogs apis -s 1h --region eu-west-1 --region us-east-1
      apilogs apis --profile prod --profile staging -o json | jq 'select(.status_5xx > 0)'
    """
    defaults = load_defaults()
    profiles = profiles or ((str(defaults["profile"]),) if "profile" in defaults else (None,))  # type: ignore[assignment]
    regions = regions or ((str(defaults["region"]),) if "region" in defaults else (None,))  # type: ignore[assignment]
    endpoint_url = endpoint_url or (
        str(defaults["endpoint_url"]) if "endpoint_url" in defaults else None
    )
    common = CommonOptions(
        profile=profiles[0],
        region=regions[0],
        endpoint_url=endpoint_url,
        color="never" if no_color else color,
        verbose=verbose,
        debug=debug,
    )
    run_reporting_errors(
        common,
        lambda: _apis(common, profiles, regions, start, end, engine, max_rps, output),
    )


def _apis(
    common: CommonOptions,
    profiles: tuple[str | None, ...],
    regions: tuple[str | None, ...],
    start: str,
    end: str | None,
    engine: EngineName,
    max_rps: float,
    output: str,
) -> None:
    from apilogs.aws import make_context
    from apilogs.render.apis import apis_json, apis_lines
    from apilogs.render.style import Painter
    from apilogs.spec import ReadSpec
    from apilogs.survey import Place, survey_places

    reporter = Reporter(terminal(common))
    term = reporter.term
    spec = ReadSpec.build(start, end, engine=engine)
    places = []
    for profile in profiles:
        for region in regions:
            context = make_context(
                profile=profile,
                region=region,
                endpoint_url=common.endpoint_url,
                max_rps=max_rps,
                on_trouble=reporter.trouble,
            )
            places.append(Place(context, profile, context.region))
    with progress_line(reporter, beside_output=False):
        rows = list(survey_places(places, spec, reporter.stats))
    if output == "json":
        for line in apis_json(rows):
            term.out.write(line + "\n")
    else:
        for line in apis_lines(rows, Painter(term.color), term.width):
            term.out.write(line + "\n")
    term.out.flush()
    reporter.finish(len(rows), "APIs", exit_if_none=True)
    failing = [r for r in rows if r.status_5xx]
    if failing and output != "json":
        worst = failing[0]
        where = f" --region {worst.region}" if worst.region else ""
        reporter.warn_info(
            f"next: apilogs requests -a {worst.stage.api_id} -t {worst.stage.stage}{where} "
            f"-s {start} --errors"
        )
