"""Knowing that nothing changed since the last import without opening the ledger.

After each import the ledger writes a snapshot of the size and mtime of every file it has read,
with a version that changes whenever the ledger's contents change. A re-run over the same
paths first compares the tree with the snapshot (one ``stat`` per file); when nothing changed,
a report computed earlier for the same version and arguments is still exact, and is reused
without loading DuckDB at all. Any new or changed file, any repricing, any other argument
misses the cache and goes the normal way.
"""

from __future__ import annotations

import hashlib
import marshal
import pickle
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tokenomy.sources import walk_files

__all__ = ["cached_result", "new_version", "store_result", "unchanged_version", "write_snapshot"]

SNAPSHOT = "files.snapshot"
CACHE_DIR = "report-cache"
MAX_CACHED = 64


def new_version() -> str:
    return uuid.uuid4().hex


def write_snapshot(home: Path, files: dict[str, tuple[int, int]], version: str) -> None:
    tmp = home / (SNAPSHOT + ".tmp")
    tmp.write_bytes(marshal.dumps({"version": version, "files": files}))
    tmp.replace(home / SNAPSHOT)


def read_version(home: Path) -> str | None:
    data = _load(home)
    return None if data is None else str(data["version"])


def _load(home: Path) -> dict[str, Any] | None:
    try:
        data = marshal.loads((home / SNAPSHOT).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return data if isinstance(data, dict) and "version" in data else None


def unchanged_version(home: Path, paths: Iterable[Path | str]) -> str | None:
    """The ledger's version if every file under ``paths`` is as the last import left it."""
    data = _load(home)
    if data is None:
        return None
    known: dict[str, tuple[int, int]] = data["files"]
    seen = 0
    for path, st in walk_files(paths):
        entry = known.get(path)
        if entry is None:
            # Not a file the ledger read: only new *log* files matter, but telling them apart
            # needs format detection, so any unknown file sends us down the normal path.
            return None
        if entry != (st.st_size, st.st_mtime_ns):
            return None
        seen += 1
    return str(data["version"]) if seen else None


def _key(version: str, args: Any) -> str:
    return hashlib.sha256(repr((version, args)).encode()).hexdigest()[:32]


def cached_result(home: Path, version: str, args: Any) -> Any | None:
    try:
        return pickle.loads((home / CACHE_DIR / _key(version, args)).read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None


def store_result(home: Path, version: str, args: Any, result: Any) -> None:
    folder = home / CACHE_DIR
    folder.mkdir(exist_ok=True)
    entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    for stale in entries[: max(0, len(entries) - MAX_CACHED + 1)]:
        stale.unlink(missing_ok=True)
    (folder / _key(version, args)).write_bytes(pickle.dumps(result))
