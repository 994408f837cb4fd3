"""Every command and every option a user can type is in README: a flag missing there is a flag
nobody finds."""

from __future__ import annotations

from pathlib import Path

import click

from apilogs.cli import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, str]]:
    """(command path, what must be in README) for the command and each of its long options."""
    wanted = [(" ".join(path), f"apilogs {' '.join(path)}")] if path else []
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            wanted += [
                (" ".join(path), o) for o in param.opts + param.secondary_opts if o.startswith("--")
            ]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if not sub.hidden:
                wanted += _walk(sub, (*path, name))
    return wanted


def test_every_command_and_option_is_in_readme() -> None:
    wanted = _walk(cli, ())
    assert len(wanted) > 100  # the walk reaches every command's options
    missing = [f"{where or 'apilogs'}: {what}" for where, what in wanted if what not in README]
    assert not missing, "not in README: " + ", ".join(missing)
