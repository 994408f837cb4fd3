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
`[defaults]`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apilogs.errors import InvalidInput

TARGET_KEYS = frozenset({"api_id", "stage", "profile", "region", "endpoint_url"})
DEFAULT_KEYS = frozenset({"profile", "region", "endpoint_url", "engine", "max_rps"})


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


def load_config(path: Path | None = None) -> Config:
    """The config file, or an empty config when there is none. A file that cannot be used is
    one clear error naming it and what is wrong, never a traceback."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=None)
    except OSError as exc:
        raise InvalidInput(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"config file {path}: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"config file {path} is not UTF-8") from None
    return _parse(path, data)


def _parse(path: Path, data: Mapping[str, Any]) -> Config:
    unknown = sorted(set(data) - {"api", "defaults"})
    if unknown:
        raise InvalidInput(
            f"config file {path}: unknown table [{unknown[0]}] (use [api.NAME] or [defaults])"
        )
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise InvalidInput(f"config file {path}: [defaults] must be a table")
    _known_keys(path, "defaults", defaults, DEFAULT_KEYS)
    targets: dict[str, Target] = {}
    apis = data.get("api", {})
    if not isinstance(apis, dict):
        raise InvalidInput(f"config file {path}: [api] must hold tables like [api.orders]")
    for name, table in apis.items():
        if not isinstance(table, dict):
            raise InvalidInput(f"config file {path}: [api.{name}] must be a table")
        _known_keys(path, f"api.{name}", table, TARGET_KEYS)
        values = {k: v for k, v in table.items()}
        if not isinstance(values.get("api_id"), str) or not values["api_id"].strip():
            raise InvalidInput(f'config file {path}: [api.{name}] needs api_id = "…"')
        for key, value in values.items():
            if not isinstance(value, str):
                raise InvalidInput(f"config file {path}: [api.{name}] {key} must be a string")
        targets[name] = Target(name=name, **values)
    return Config(path=path, targets=targets, defaults=dict(defaults))


def _known_keys(path: Path, where: str, table: Mapping[str, Any], known: frozenset[str]) -> None:
    """A key the table `[where]` may not hold is an error naming it and those it may."""
    bad = sorted(set(table) - known)
    if bad:
        raise InvalidInput(
            f"config file {path}: [{where}] has unknown key {bad[0]!r} "
            f"(known: {', '.join(sorted(known))})"
        )
