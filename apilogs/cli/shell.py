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
