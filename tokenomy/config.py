"""The user's config file: ``~/.config/tokenomy/config.toml`` (``$XDG_CONFIG_HOME``), or the
file named by ``--config`` or ``$TOKENOMY_CONFIG``. See docs/config.md.

```toml
timezone = "Europe/Paris"        # days and 5-hour blocks; default: the machine's zone
home = "~/tokenomy-ledger"       # the ledger directory (default: $XDG_DATA_HOME/tokenomy)
paths = ["~/.claude/projects"]   # logs imported when a command is given none
prices = "~/prices.toml"         # price overrides and model aliases (as --prices)

[budgets]                        # USD; the status line marks a budget that is passed
daily_usd = 20
monthly_usd = 400
block_usd = 10
```

Standard library only (``tomllib``): the status line's warm path reads it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BUDGET_KEYS", "Config", "ConfigError", "config_path", "load", "machine_zone"]

BUDGET_KEYS = ("daily_usd", "monthly_usd", "block_usd")
_KEYS = {"timezone", "home", "paths", "prices", "budgets", "teams"}


class ConfigError(ValueError):
    """The config file cannot be read or holds a value of the wrong kind."""


@dataclass(frozen=True)
class Config:
    """The settings of the config file; ``None`` (or empty) where it sets nothing."""

    timezone: str | None = None
    home: Path | None = None
    paths: tuple[Path, ...] = ()
    prices: Path | None = None
    budgets: dict[str, Decimal] = field(default_factory=dict)
    teams: dict[str, list[str]] = field(default_factory=dict)  # team -> its users
    file: Path | None = None  # where it was read from

    @property
    def zone(self) -> str:
        """The time zone to use: the file's, else the machine's."""
        return self.timezone or machine_zone()


def config_path(explicit: Path | str | None = None) -> Path:
    """``explicit``, else ``$TOKENOMY_CONFIG``, else ``$XDG_CONFIG_HOME/tokenomy/config.toml``."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("TOKENOMY_CONFIG")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tokenomy" / "config.toml"


_loaded: dict[str, Config] = {}


def load(explicit: Path | str | None = None) -> Config:
    """The config (an empty one when the default file does not exist; a file named by
    ``--config`` or ``$TOKENOMY_CONFIG`` must exist)."""
    path = config_path(explicit)
    if str(path) in _loaded:
        return _loaded[str(path)]
    named = bool(explicit or os.environ.get("TOKENOMY_CONFIG"))
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        if named:
            raise ConfigError(f"config file not found: {path}") from exc
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from exc
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    config = _parse(data, path)
    _loaded[str(path)] = config
    return config


def _parse(data: dict[str, Any], path: Path) -> Config:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(_KEYS))}")  # fmt: skip
    zone = data.get("timezone")
    if zone is not None and (not isinstance(zone, str) or not _valid_zone(zone)):
        raise ConfigError(f"{path}: timezone: unknown time zone {zone!r}")

    def a_path(key: str, value: Any) -> Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: {key}: expected a path (text), got {value!r}")
        return Path(value).expanduser()

    paths = data.get("paths", [])
    if not isinstance(paths, list):
        raise ConfigError(f"{path}: paths: expected a list of paths")
    budgets_raw = data.get("budgets", {})
    if not isinstance(budgets_raw, dict):
        raise ConfigError(f"{path}: budgets: expected a table")
    budgets: dict[str, Decimal] = {}
    for key, value in budgets_raw.items():
        if key not in BUDGET_KEYS:
            raise ConfigError(f"{path}: budgets.{key}: unknown; known: {', '.join(BUDGET_KEYS)}")
        amount = usd_amount(value)
        if amount is None:
            raise ConfigError(f"{path}: budgets.{key}: expected a positive amount, got {value!r}")
        budgets[key] = amount
    teams_raw = data.get("teams", {})
    if not isinstance(teams_raw, dict) or not all(
        isinstance(users, list) and all(isinstance(u, str) for u in users)
        for users in teams_raw.values()
    ):
        raise ConfigError(f"{path}: teams: expected a table of team = [user names]")
    return Config(
        timezone=zone,
        home=a_path("home", data["home"]) if "home" in data else None,
        paths=tuple(a_path("paths", p) for p in paths),
        prices=a_path("prices", data["prices"]) if "prices" in data else None,
        budgets=budgets,
        teams={str(k): list(v) for k, v in teams_raw.items()},
        file=path,
    )


def usd_amount(value: object) -> Decimal | None:
    """``value`` as a positive, finite amount of dollars (a number or its text), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def machine_zone() -> str:
    """The machine's IANA time zone: ``$TZ``, else the ``/etc/localtime`` link, else
    ``/etc/timezone``; UTC when none names a known zone."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if name and not name.startswith("/") and _valid_zone(name):
            return "UTC" if name in ("Etc/UTC", "Etc/Universal", "Universal", "Zulu") else name
    return "UTC"
