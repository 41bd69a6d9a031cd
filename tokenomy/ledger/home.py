"""Where the ledger lives (cheap to import: the warm path finds cached reports through it)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_home"]


def default_home() -> Path:
    """``$TOKENOMY_HOME``, else the platform's user data directory."""
    env = os.environ.get("TOKENOMY_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tokenomy"
