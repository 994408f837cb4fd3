"""The one error type the front ends turn into a one-line message and an exit code."""

from __future__ import annotations


class ApilogsError(Exception):
    """A failure the user can act on. `str(err)` is one line; `exit_code` is what the CLI returns."""

    def __init__(self, message: str, *, exit_code: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.hint = hint

    def __str__(self) -> str:
        message = str(self.args[0]) if self.args else ""
        return f"{message} ({self.hint})" if self.hint else message
