"""Log and payload formats, one module each, auto-detected from a file's path and first bytes,
else from its structure (see ``detect``).

Adding a format is one new module that decorates its class with ``@register`` and is imported
below (or, from another package, imported before use).
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from tokenomy.calls import Call
from tokenomy.sources import claude_code, codex  # noqa: F401  (registers the built-in sources)

# isort: split
# After the two agent-log formats, so they keep first claim in detection order.
from tokenomy.sources import anthropic, gemini, gemini_cli, llm_sqlite, openai, otel  # noqa: F401
from tokenomy.sources.base import CONFLICT, FileReport, Source, register, registry, same_call

__all__ = [
    "FileReport",
    "Source",
    "candidate_locations",
    "default_locations",
    "detect",
    "has_logs",
    "iter_files",
    "printable",
    "read_file",
    "read_paths",
    "register",
    "registry",
    "walk_files",
]

HEAD_BYTES = 4096
SNIFF_BYTES = 256 * 1024  # what structural detection reads at most, compressed or not
SNIFF_RECORDS = 32  # ... and how many of the first records it looks at
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv"}
_ROTATION = re.compile(r"(\.\d+)+$")  # x.jsonl.1, x.jsonl.2.gz


def detect(path: Path, head: bytes | None = None) -> Source | None:
    """The source that reads ``path``, or ``None``.

    Cheap first: each source looks at the name and the first bytes (``head``), which settles
    almost every real log. Only when none claims it is the file read by structure: up to
    ``SNIFF_BYTES`` (decompressed if gzip), its first records parsed and cut to their keys
    and short values, under the suffix its content implies. So a session that opens with a
    10 KB summary row, a payload saved with sorted keys, a rotated ``.jsonl.1`` or ``.gz``,
    and a log renamed ``.JSONL``, ``.json`` or ``.log`` are all still recognised.
    """
    if head is None:
        try:
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError:
            return None
    found = _claim(path, head)
    if found is not None:
        return found
    sniffed = _sniff(path)
    if sniffed is None:
        return None
    suffix, skeleton = sniffed
    return _claim(path.with_name("sniffed" + suffix), skeleton)


def _claim(path: Path, head: bytes) -> Source | None:
    for source in registry().values():
        if source.detect(path, head):
            return source
    return None


def _sniff(path: Path) -> tuple[str, bytes] | None:
    """(the suffix the content implies, a skeleton of its first records), or ``None`` for a
    file that is not JSON text (binary, unreadable, empty)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(SNIFF_BYTES)
            whole = not fh.read(1)
    except OSError:
        return None
    if raw.startswith(b"\x1f\x8b"):
        inflater = zlib.decompressobj(wbits=31)
        try:
            raw = inflater.decompress(raw, SNIFF_BYTES)
        except zlib.error:
            return None
        whole = whole and inflater.eof
    if not raw.strip() or b"\x00" in raw[:1024]:
        return None
    name = _ROTATION.sub("", _ROTATION.sub("", path.name.lower()).removesuffix(".gz"))
    stated = Path(name).suffix
    if whole:
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            items = document[:SNIFF_RECORDS] if isinstance(document, list) else [document]
            suffix = stated if stated in (".json", ".jsonl") else ".json"
            return suffix, b"\n".join(orjson.dumps(_skeleton(i)) for i in items)
    lines = raw.split(b"\n")
    if not whole:
        lines = lines[:-1]  # the read cut the last line
    records: list[bytes] = []
    shapes: set[tuple[Any, ...]] = set()  # 60 summary rows in a row are one shape, kept once
    sse = False
    for line in lines:
        line = line.strip()
        if line.startswith(b"data:"):
            line, sse = line[5:].strip(), True
        if not line.startswith(b"{"):
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(record, dict):
            continue
        shape = (*sorted(record), str(record.get("type")))
        if shape in shapes:
            continue
        shapes.add(shape)
        records.append(orjson.dumps(_skeleton(record)))
        if len(records) >= SNIFF_RECORDS:
            break
    if not records:
        return None
    return (stated if sse and stated in (".sse", ".txt") else ".jsonl"), b"\n".join(records)


def _skeleton(value: Any, depth: int = 0) -> Any:
    """``value`` with long strings cut and deep parts emptied: the keys and short values that
    identify a format, without a tool's arguments (which can hold any key at all)."""
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:40]
    if isinstance(value, dict):
        return {k: _skeleton(v, depth + 1) for k, v in value.items()} if depth < 4 else {}
    if isinstance(value, list):
        return [_skeleton(v, depth + 1) for v in value[:4]] if depth < 4 else []
    return value


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every regular file under ``paths`` (files given directly are kept), sorted per directory."""
    for path, _ in walk_files(paths):
        yield Path(path)


Problems = list[tuple[str, str]]  # (printable path, reason)


def walk_files(
    paths: Iterable[Path | str], problems: Problems | None = None
) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of every regular file under ``paths``: the ledger's hot path on a warm
    re-run, so plain strings and ``scandir``'s entries rather than ``Path`` objects.

    Symlinked directories are followed, each real directory once (so a link loop ends). What
    cannot be walked or stored is left out and, when ``problems`` is given, named there: an
    unreadable directory, a name that is not valid UTF-8 (the ledger stores paths as text)."""
    seen: set[tuple[int, int]] = set()
    for root in paths:
        root = os.fspath(root)
        try:
            st = os.stat(root)
        except OSError as exc:
            _note(problems, root, f"cannot be read ({exc.strerror or exc})")
            continue
        if stat.S_ISREG(st.st_mode):
            if _storable(root, problems):
                yield root, st
        elif stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, st, seen, problems)


def _walk_dir(
    folder: str, st: os.stat_result, seen: set[tuple[int, int]], problems: Problems | None
) -> Iterator[tuple[str, os.stat_result]]:
    if (st.st_dev, st.st_ino) in seen:
        return  # reached again through a symlink: walked once already
    seen.add((st.st_dev, st.st_ino))
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        _note(problems, folder, f"directory cannot be read ({exc.strerror or exc})")
        return
    for entry in entries:
        try:
            if entry.is_dir():
                if entry.name not in _SKIP_DIRS:
                    yield from _walk_dir(entry.path, entry.stat(), seen, problems)
            elif entry.is_file() and _storable(entry.path, problems):
                yield entry.path, entry.stat()
        except OSError as exc:  # a dangling symlink, a file deleted mid-walk
            if not entry.is_symlink():
                _note(problems, entry.path, f"cannot be read ({exc.strerror or exc})")


def _storable(path: str, problems: Problems | None) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        _note(problems, path, "file name is not valid UTF-8 (rename it to import it)")
        return False
    return True


def _note(problems: Problems | None, path: str, reason: str) -> None:
    if problems is not None:
        problems.append((printable(path), reason))


def printable(path: str) -> str:
    """A path as text that can always be printed or stored (undecodable bytes escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


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
            if kept is not None and not same_call(kept, call):
                report.skip(CONFLICT)
                continue
            if kept is not None:
                report.duplicates += 1
                if (call.output, call.total) <= (kept.output, kept.total):
                    continue
            calls[key] = call
        reports.append(report)
    return sorted(calls.values(), key=lambda c: c.time), reports


def default_locations() -> list[Path]:
    """Where the agent CLIs keep their logs on this machine (only those that exist)."""
    return [candidate for candidate in candidate_locations() if candidate.is_dir()]


def candidate_locations() -> list[Path]:
    """Every place the agent CLIs may keep their logs, whether it exists or not."""
    home = Path.home()
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
    return [
        *claude_dirs,
        codex_home / "sessions",
        codex_home / "archived_sessions",
        home / ".gemini" / "tmp",
    ]
