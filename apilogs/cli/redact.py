"""Credentials out of `--debug`'s log: botocore logs every request's headers and URL (session
token, Authorization with the access key ID and the signature, presigned query strings), and
such a log gets pasted into bug reports."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping

MASK = "[REDACTED]"

# Values of these variables are secrets wherever they show up, whatever the text around them.
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Headers as botocore logs them: `'X-Amz-Security-Token': b'…'`, `X-Amz-Security-Token: …`.
    (
        re.compile(r"""(?i)(x-amz-security-token['"]?\s*[:=]\s*b?['"]?)[^'"\s,}&]+"""),
        r"\1" + MASK,
    ),
    # Authorization: the access key ID in Credential=, the signature in Signature=.
    (re.compile(r"(?i)(\bCredential=)[^,\s'\"&]+"), r"\1" + MASK),
    (re.compile(r"(?i)(\bSignature=)[^,\s'\"&]+"), r"\1" + MASK),
    # Presigned URLs and query strings.
    (re.compile(r"(?i)(\bX-Amz-(?:Signature|Credential|Security-Token)=)[^&\s'\"]+"), r"\1" + MASK),
    # A secret key by its name, in config-file, JSON or Python-repr form.
    (
        re.compile(r"""(?i)(['"]?(?:aws_)?secret_?access_?key['"]?\s*[:=]\s*b?['"]?)[^'"\s,}]+"""),
        r"\1" + MASK,
    ),
    (
        re.compile(r"""(?i)(['"]?(?:aws_)?session_?token['"]?\s*[:=]\s*b?['"]?)[^'"\s,}]+"""),
        r"\1" + MASK,
    ),
    # Access key IDs, long-term (AKIA) and temporary (ASIA), wherever they stand.
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
)

# Shorter values would mask ordinary words ("testing", "demo"): they are left to the patterns.
_MIN_LITERAL = 8


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every credential replaced by MASK: the `secrets` given (literal values, e.g.
    from the environment), then whatever looks like one."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_LITERAL}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def env_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    env = os.environ if environ is None else environ
    return tuple(value for name in SECRET_ENV if (value := env.get(name)))


class RedactingFormatter(logging.Formatter):
    """Formats a record as its base formatter would, then redacts the final text: the
    message, its arguments and any traceback alike."""

    def __init__(self, fmt: str | None = None, secrets: Iterable[str] | None = None) -> None:
        super().__init__(fmt)
        self._secrets = tuple(secrets) if secrets is not None else None

    def format(self, record: logging.LogRecord) -> str:
        secrets = self._secrets if self._secrets is not None else env_secrets()
        return redact(super().format(record), secrets)
