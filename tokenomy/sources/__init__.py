"""Log and payload formats, one module each, auto-detected from a file's path and first bytes.

Adding a format is one new module that decorates its class with ``@register`` and is imported
below (or, from another package, imported before use).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenomy.calls import Call
from tokenomy.sources import claude_code, codex  # noqa: F401  (registers the built-in sources)

# isort: split
# After the two agent-log formats, so they keep first claim in detection order.
from tokenomy.sources import anthropic, gemini, gemini_cli, llm_sqlite, openai, otel  # noqa: F401
from tokenomy.sources.base import FileReport, Source, register, registry

__all__ = [
    "FileReport",
    "Source",
    "default_locations",
    "detect",
    "has_logs",
    "iter_files",
    "read_file",
    "read_paths",
    "register",
    "registry",
    "walk_files",
]

HEAD_BYTES = 4096
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv"}


def detect(path: Path, head: bytes | None = None) -> Source | None:
    """The source that reads ``path``, or ``None``."""
    if head is None:
        try:
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError:
            return None
    for source in registry().values():
        if source.detect(path, head):
            return source
    return None


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every regular file under ``paths`` (files given directly are kept), sorted per directory."""
    for path, _ in walk_files(paths):
        yield Path(path)


def walk_files(paths: Iterable[Path | str]) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of every regular file under ``paths``: the ledger's hot path on a warm
    re-run, so plain strings and ``scandir``'s entries rather than ``Path`` objects."""
    for root in paths:
        root = os.fspath(root)
        try:
            st = os.stat(root)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            yield root, st
        elif stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root)


def _walk_dir(folder: str) -> Iterator[tuple[str, os.stat_result]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in _SKIP_DIRS:
                yield from _walk_dir(entry.path)
        elif entry.is_file():
            yield entry.path, entry.stat()


def has_logs(paths: Iterable[Path | str]) -> bool:
    """Whether any file under ``paths`` is a log a source reads (an agent CLI's folder can
    exist with nothing in it yet)."""
    return any(detect(Path(path)) is not None for path, _ in walk_files(paths))


def read_file(
    path: Path, offset: int = 0, source: Source | None = None
) -> tuple[list[Call], FileReport]:
    """Read one file without a ledger (no dedupe across files)."""
    report = FileReport(str(path))
    src = source or detect(path)
    if src is None:
        report.skip("unrecognised format")
        return [], report
    report.source = src.name
    return list(src.read(path, offset if src.incremental else 0, report)), report


def read_paths(paths: Iterable[Path | str]) -> tuple[list[Call], list[FileReport]]:
    """Read every recognised file under ``paths`` into calls, deduplicated by (source, id)."""
    calls: dict[tuple[str, str], Call] = {}
    reports: list[FileReport] = []
    for path in iter_files(Path(p) for p in paths):
        src = detect(path)
        if src is None:
            continue
        found, report = read_file(path, 0, src)
        for call in found:
            key = (call.source, call.id)
            kept = calls.get(key)
            if kept is not None:
                report.duplicates += 1
                if (call.output, call.total) <= (kept.output, kept.total):
                    continue
            calls[key] = call
        reports.append(report)
    return sorted(calls.values(), key=lambda c: c.time), reports


def default_locations() -> list[Path]:
    """Where the agent CLIs keep their logs on this machine (only those that exist)."""
    home = Path.home()
    found: list[Path] = []
    claude = os.environ.get("CLAUDE_CONFIG_DIR")
    claude_dirs = (
        [Path(p) / "projects" for p in claude.split(",")]
        if claude
        else [
            home / ".claude" / "projects",
            home / ".config" / "claude" / "projects",
        ]
    )
    codex_home = Path(os.environ.get("CODEX_HOME", home / ".codex"))
    candidates = [
        *claude_dirs,
        codex_home / "sessions",
        codex_home / "archived_sessions",
        home / ".gemini" / "tmp",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            found.append(candidate)
    return found
