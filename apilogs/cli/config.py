"""Named targets and defaults, so the same flags are not typed all day.

`~/.config/apilogs/config.toml` (or `$XDG_CONFIG_HOME/apilogs/config.toml`, or the file named by
`APILOGS_CONFIG`):

    [defaults]              # any of: profile, region, endpoint_url, engine, max_rps
    region = "eu-west-1"

    [api.orders]            # `apilogs get @orders`
    api_id = "xyz123"
    stage = "prod"
    profile = "prod"        # optional: profile, region, endpoint_url
    region = "eu-west-1"

What the command line says wins, then the target, then `APILOGS_API_ID`/`APILOGS_STAGE`, then
`[defaults]`.

A file that is there but cannot be used is one error naming it (and the line, for a TOML syntax
error), exit 2, for every command that reads it: never ignored, never a traceback. It is read
bounded: a regular file only (a FIFO or a device is refused before it is opened, and opened
without blocking), at most `MAX_CONFIG_BYTES`, strict UTF-8; every key is checked for its type
and range, and a key apilogs does not know is refused with the ones it does. The default path
not existing means no config; a file `APILOGS_CONFIG` names must exist (`/dev/null`: no config)."""

from __future__ import annotations

import math
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from apilogs.cli.params import ENDPOINT_URL
from apilogs.errors import InvalidInput
from apilogs.fetch.engines import ENGINES

TARGET_KEYS = frozenset({"api_id", "stage", "profile", "region", "endpoint_url"})
DEFAULT_KEYS = frozenset({"profile", "region", "endpoint_url", "engine", "max_rps"})

# A config file is a few lines: anything larger is not one (or not meant to be read whole).
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    api_id: str
    stage: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    targets: Mapping[str, Target] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def target(self, ref: str) -> Target:
        """`@orders` (or `orders`) → its target; a clear error naming the file otherwise."""
        name = ref.removeprefix("@")
        found = self.targets.get(name)
        if found is None:
            if self.path is None:
                raise InvalidInput(
                    f"no target @{name}: there is no config file ({config_path()}) with "
                    f"[api.{name}] in it",
                    name="api",
                )
            known = ", ".join(f"@{n}" for n in sorted(self.targets)) or "none"
            raise InvalidInput(f"no target @{name} in {self.path}; targets: {known}", name="api")
        return found


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("APILOGS_CONFIG"):
        return Path(env["APILOGS_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "apilogs" / "config.toml"


def load_config(path: Path | None = None, *, required: bool | None = None) -> Config:
    """The config file, or an empty config when there is none. A file that cannot be used is
    one clear error naming it and what is wrong (`InvalidInput`), never a traceback.

    `required`: a missing file is an error rather than no config. By default it is when `path`
    is the file `APILOGS_CONFIG` names (the user asked for that file); the default path
    (`~/.config/apilogs/config.toml`) may be absent."""
    path = path or config_path()
    if os.path.realpath(path) == os.devnull:
        return Config(path=None)  # `APILOGS_CONFIG=/dev/null`: no config, said so
    if required is None:
        required = bool(os.environ.get("APILOGS_CONFIG")) and path == config_path()
    raw = _read_bounded(path, required=required)
    if raw is None:
        return Config(path=None)
    try:
        text = raw.decode("utf-8-sig")  # strict; a leading BOM (Windows editors) is dropped
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"config file {path} is not UTF-8: byte 0x{raw[exc.start]:02x} on line {line}"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Its message ends "(at line N, column M)".
        raise InvalidInput(f"config file {path} is not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:
        # An integer of thousands of digits, arrays nested thousands deep.
        raise InvalidInput(f"config file {path} cannot be read as TOML: {exc}") from None
    return _parse(path, data)


def _read_bounded(path: Path, *, required: bool) -> bytes | None:
    """The file's bytes, or None when it does not exist and is not `required`. Only a regular
    file of at most `MAX_CONFIG_BYTES` is read: it is looked at before it is opened, opened
    without blocking (a FIFO swapped in meanwhile cannot hang the run) and looked at again."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if required:
            raise InvalidInput(
                f"config file {path} (named by APILOGS_CONFIG) does not exist: create it, or "
                "unset APILOGS_CONFIG"
            ) from None
        return None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the config file {path}: {_reason(exc)}") from None
    _check_regular(path, info)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return _read_bounded(path, required=required) if required else None
    except OSError as exc:
        raise InvalidInput(f"cannot read the config file {path}: {_reason(exc)}") from None
    try:
        _check_regular(path, os.fstat(fd))
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_CONFIG_BYTES:
            chunk = os.read(fd, MAX_CONFIG_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InvalidInput(f"cannot read the config file {path}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if size > MAX_CONFIG_BYTES:
        raise _too_big(path)
    return b"".join(chunks)


def _check_regular(path: Path, info: os.stat_result) -> None:
    if stat.S_ISREG(info.st_mode):
        if info.st_size > MAX_CONFIG_BYTES:
            raise _too_big(path)
        return
    kind = (
        "a directory"
        if stat.S_ISDIR(info.st_mode)
        else "a FIFO"
        if stat.S_ISFIFO(info.st_mode)
        else "a device"
        if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
        else "a socket"
        if stat.S_ISSOCK(info.st_mode)
        else "not a file"
    )
    raise InvalidInput(f"config file {path} is {kind}, not a regular file")


def _too_big(path: Path) -> InvalidInput:
    return InvalidInput(
        f"config file {path} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a config file"
    )


def _reason(exc: OSError | ValueError) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _parse(path: Path, data: Mapping[str, Any]) -> Config:
    unknown = sorted(set(data) - {"api", "defaults"})
    if unknown:
        key = unknown[0]
        where = (
            f"key {key!r} outside any table (put it under [defaults])"
            if key in DEFAULT_KEYS and not isinstance(data[key], dict)
            else f"table [{key}]"
            if isinstance(data[key], dict)
            else f"key {key!r}"
        )
        raise InvalidInput(f"config file {path}: unknown {where}; known: [defaults], [api.NAME]")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise InvalidInput(f"config file {path}: defaults must be a table: [defaults]")
    _known_keys(path, "defaults", defaults, DEFAULT_KEYS)
    for key, value in defaults.items():
        _check_value(path, "defaults", key, value)
    targets: dict[str, Target] = {}
    apis = data.get("api", {})
    if not isinstance(apis, dict):
        raise InvalidInput(f"config file {path}: api must hold tables like [api.orders]")
    for name, table in apis.items():
        if not isinstance(table, dict):
            raise InvalidInput(f"config file {path}: api.{name} must be a table: [api.{name}]")
        _known_keys(path, f"api.{name}", table, TARGET_KEYS)
        if "api_id" not in table:
            raise InvalidInput(f'config file {path}: [api.{name}] needs api_id = "…"')
        for key, value in table.items():
            _check_value(path, f"api.{name}", key, value)
        values = {k: v.strip() for k, v in table.items()}
        targets[name] = Target(name=name, **values)
    return Config(path=path, targets=targets, defaults=dict(defaults))


def _check_value(path: Path, where: str, key: str, value: object) -> None:
    """`key = value` in `[where]` has the type and range apilogs needs, or one error saying
    what it must be."""
    place = f"config file {path}: [{where}] {key}"
    if key == "max_rps":
        # TOML's booleans are Python ints: not a rate.
        rate = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if rate is None or not math.isfinite(rate) or rate < 0:
            raise InvalidInput(
                f"{place} must be a number of requests a second, 0 or more (0 = no limit), "
                f"not {_shown(value)}"
            )
        return
    if key == "engine":
        if value not in ENGINES:
            raise InvalidInput(f"{place} must be one of {', '.join(ENGINES)}, not {_shown(value)}")
        return
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f'{place} must be a non-empty string ({key} = "…"), not {_shown(value)}')
    if key == "endpoint_url":
        try:
            ENDPOINT_URL.convert(value, None, None)
        except click.BadParameter as exc:
            raise InvalidInput(f"{place}: {exc.message}") from None


def _shown(value: object) -> str:
    """A value as TOML spells it, cut short: for an error line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "an array"
    else:
        text = str(value)
    return text if len(text) <= 60 else f"{text[:57]}…"


def _known_keys(path: Path, where: str, table: Mapping[str, Any], known: frozenset[str]) -> None:
    """A key the table `[where]` may not hold is an error naming it and those it may."""
    bad = sorted(set(table) - known)
    if bad:
        raise InvalidInput(
            f"config file {path}: [{where}] has unknown key {bad[0]!r} "
            f"(known: {', '.join(sorted(known))})"
        )
