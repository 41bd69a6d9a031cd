"""Where the gateway leaves the calls it could not store yet: its journal and spool files in
the ledger's home. Cheap to import (every ledger command looks here before opening it)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["JOURNAL_PREFIX", "SPOOL_PREFIX", "spool_files"]

SPOOL_PREFIX = "gateway-spool-"
JOURNAL_PREFIX = "gateway-journal-"


def spool_files(home: Path) -> list[Path]:
    """Spool files (journals handed over, and journals of processes that died), oldest first."""
    return sorted(home.glob(f"{SPOOL_PREFIX}*.jsonl")) + sorted(
        home.glob(f"{JOURNAL_PREFIX}*.jsonl")
    )
