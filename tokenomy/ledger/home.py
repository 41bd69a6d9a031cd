"""Where the ledger lives (cheap to import: the warm path finds cached reports through it)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_home", "default_home", "is_postgres_url", "ledger_target"]


def cache_home() -> Path:
    """``$TOKENOMY_CACHE``, else the platform's user cache directory: what any ledger may reuse
    and anyone may delete (the day rates resolved from the installed prices)."""
    env = os.environ.get("TOKENOMY_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tokenomy"


def default_home() -> Path:
    """``$TOKENOMY_HOME``, else the platform's user data directory."""
    env = os.environ.get("TOKENOMY_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tokenomy"


_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    """Whether a ledger target names a PostgreSQL server rather than a DuckDB directory."""
    return isinstance(target, str) and target.lower().startswith(_SCHEMES)


def ledger_target(target: str | Path | None = None) -> str | Path | None:
    """The ledger to open: ``target``, else ``$TOKENOMY_LEDGER`` (a ``postgresql://`` URL or a
    DuckDB ledger directory), else None (the DuckDB ledger in ``default_home()``)."""
    if target:
        return target
    return os.environ.get("TOKENOMY_LEDGER") or None
