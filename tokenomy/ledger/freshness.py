"""Knowing that nothing changed since the last import without opening the ledger.

After each import the ledger writes a snapshot of the size and mtime of every file it has read,
with a version that changes whenever the ledger's contents change. A re-run over the same
paths first compares the tree with the snapshot (one ``stat`` per file); when nothing changed,
a report computed earlier for the same version and arguments is still exact, and is reused
without loading DuckDB at all. Any new or changed file, any repricing, any other argument
misses the cache and goes the normal way.

Cached reports are JSON (money as exact decimal strings): a file placed in the cache is data,
never code. A cache whose ledger file is gone is not used.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokenomy.sources import walk_files

__all__ = [
    "cached_report",
    "known_files",
    "new_version",
    "read_version",
    "store_report",
    "unchanged_version",
    "write_snapshot",
]

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


def known_files(home: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of each file the last snapshot saw."""
    data = _load(home)
    return {} if data is None else dict(data["files"])


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


LEDGER_FILE = "ledger.duckdb"


def _key(version: str, args: Any) -> str:
    return hashlib.sha256(repr((version, args)).encode()).hexdigest()[:32]


def _cache_args(targets: Sequence[Path | str], prices: Path | None, args: Any) -> Any:
    prices_hash = hashlib.sha256(prices.read_bytes()).hexdigest() if prices else ""
    return ([str(t) for t in targets], prices_hash, args)


def cached_report(
    home: Path, targets: Sequence[Path | str], prices: Path | None, args: Any
) -> Any | None:
    """A report's data stored earlier for these arguments, if no file under ``targets``
    changed since; ``None`` otherwise."""
    try:
        if not (home / LEDGER_FILE).exists():
            return None
        version = unchanged_version(home, targets)
        if version is None:
            return None
        key = _key(version, _cache_args(targets, prices, args))
        text = (home / CACHE_DIR / key).read_text(encoding="utf-8")
        return json.loads(text, object_hook=_decode)
    except (OSError, ValueError, TypeError):
        return None


def store_report(
    home: Path, targets: Sequence[Path | str], prices: Path | None, args: Any, data: Any
) -> None:
    """Keep a report's data (JSON values and ``Decimal``) for ``cached_report``."""
    version = read_version(home)
    if version is None:
        return
    folder = home / CACHE_DIR
    folder.mkdir(exist_ok=True)
    entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    for stale in entries[: max(0, len(entries) - MAX_CACHED + 1)]:
        stale.unlink(missing_ok=True)
    key = _key(version, _cache_args(targets, prices, args))
    tmp = folder / (key + ".tmp")
    tmp.write_text(json.dumps(data, default=_encode), encoding="utf-8")
    tmp.replace(folder / key)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    return Decimal(obj["$decimal"]) if obj.keys() == {"$decimal"} else obj
