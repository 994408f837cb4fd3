"""`apilogs completion SHELL`: the script that teaches bash, zsh or fish to complete apilogs —
commands, options, choices, and from the account API IDs, names and stages."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from apilogs.cli.app import cli
from apilogs.cli.options import CONTEXT_SETTINGS

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_APILOGS_COMPLETE"


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    Install it:
      bash:  apilogs completion bash > ~/.local/share/bash-completion/completions/apilogs
      zsh:   apilogs completion zsh > "${fpath[1]}/_apilogs"   (then: compinit)
      fish:  apilogs completion fish > ~/.config/fish/completions/apilogs.fish
    Or, for the current shell only:  eval "$(apilogs completion bash)"

    API IDs and stages are completed from the account (the --profile/--region on the line, a
    short time-out, and nothing shown rather than an error when AWS cannot be reached).
    """
    completer = get_completion_class(shell)
    if completer is None:  # pragma: no cover - click knows every shell we list
        raise click.UsageError(f"no completion for {shell}")
    click.echo(completer(cli, {}, "apilogs", COMPLETE_VAR).source())


@cli.command("lnav-format", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--install", is_flag=True, help="Put it in lnav's formats folder instead of printing it."
)
@click.option(
    "--force", is_flag=True, help="With --install: replace a file there that apilogs did not write."
)
def lnav_format(install: bool, force: bool) -> None:
    """Print (or --install) the lnav format for `apilogs get -o json`.

    lnav then reads apilogs's JSON lines as one log: times, levels, and each request's
    lines as one operation (its API Gateway request ID).

    \b
    Examples:
      apilogs lnav-format --install
      apilogs get -a xyz123 -t prod -s 1h -o json > api.log && lnav api.log
    """
    from apilogs.cli.app import run_reporting_errors
    from apilogs.cli.options import CommonOptions
    from apilogs.render.lnav import install_lnav_format, lnav_format_text

    def run() -> None:
        if not install:
            click.echo(lnav_format_text())
            return
        done = install_lnav_format(replace_foreign=force)
        click.echo(done.describe())

    run_reporting_errors(CommonOptions(), run)
