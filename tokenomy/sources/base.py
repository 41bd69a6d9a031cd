"""What every source shares: the per-file read report, the line reader, the registry.

A source turns one file into ``Call`` records. Line-oriented sources (JSONL logs) read from a
byte offset, so an appended file is read from where the last import stopped; only whole lines
are consumed, so a line still being written is left for the next import, never lost.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from tokenomy.calls import Call

__all__ = [
    "CONFLICT",
    "EARLIEST",
    "LATEST",
    "MAX_TOKENS",
    "BadUsage",
    "FileReport",
    "Source",
    "anthropic_cache_writes",
    "anthropic_tier",
    "iter_json_lines",
    "parse_time",
    "read_bytes",
    "register",
    "registry",
    "same_call",
    "token_count",
]


@dataclass(slots=True)
class FileReport:
    """What reading one file found: counts, never content."""

    path: str
    source: str = ""
    start: int = 0  # byte offset the read began at
    end: int = 0  # byte offset after the last whole line consumed
    lines: int = 0
    calls: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> lines
    pending_bytes: int = 0  # an incomplete last line, left for the next import
    duplicates: int = 0  # records merged into another record of the same call

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n


class Source(Protocol):
    """A log or payload format. Register an instance with ``@register``."""

    name: str
    incremental: bool  # True: ``read`` honours ``offset`` (append-only line logs)

    def detect(self, path: Path, head: bytes) -> bool:
        """Whether ``path`` (whose first bytes are ``head``) is in this format. When no source
        claims a file by its first bytes, this is asked again with ``head`` a skeleton of its
        first records (one JSON object a line: keys, short values) and ``path`` renamed to
        the suffix its content implies (``.jsonl`` for lines of JSON, ``.json`` for one
        document): decide from keys and values, not from where they fall."""
        ...

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        """Yield the calls in ``path`` from byte ``offset``; fill ``report``."""
        ...


_REGISTRY: dict[str, Source] = {}


def register(cls: Callable[[], Source]) -> Callable[[], Source]:
    """Class decorator: instantiate and register a source (third parties can do the same)."""
    source = cls()
    _REGISTRY[source.name] = source
    return cls


def registry() -> dict[str, Source]:
    return _REGISTRY


def iter_json_lines(
    path: Path, offset: int, report: FileReport, needle: bytes | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file from ``offset``, whole lines only.

    ``needle``: lines without these bytes are counted but not parsed (most of an agent log is
    tool output; the byte search is far cheaper than a JSON parse).
    """
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read()
        start = data[:2] if offset == 0 else os.pread(fh.fileno(), 2, 0)
    if start == b"\x1f\x8b":
        offset = 0  # a compressed log is re-read whole; call ids make that idempotent
        data = read_bytes(path, report)
    report.start = offset
    last_newline = data.rfind(b"\n")
    whole = data[: last_newline + 1] if last_newline >= 0 else b""
    report.pending_bytes = len(data) - len(whole)
    report.end = offset + len(whole)
    report.lines += whole.count(b"\n")
    if needle is not None:
        yield from _needle_lines(whole, needle, report)
        return
    for line in whole.split(b"\n"):
        if line.strip():
            obj = _loads(line, report)
            if obj is not None:
                yield obj


def _needle_lines(data: bytes, needle: bytes, report: FileReport) -> Iterator[dict[str, Any]]:
    pos = data.find(needle)
    while pos >= 0:
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos)
        obj = _loads(data[start:end], report)
        if obj is not None:
            yield obj
        pos = data.find(needle, end)


def _loads(line: bytes, report: FileReport) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            report.skip("invalid UTF-8")
            return None
        report.skip("invalid JSON")
        return None
    if not isinstance(obj, dict):
        report.skip("not a JSON object")
        return None
    return obj


# Calls outside these years are junk (a zeroed clock, a typo, an attack), not history: their
# timestamp is refused like an unparsable one.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string or epoch seconds/milliseconds as an aware UTC datetime; ``None``
    for anything else, including times outside 1990-2199 (never an exception)."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 1e11 else value
            parsed = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
            parsed = parsed.astimezone(UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):  # year 1 with an offset, epoch 1e20, NaN
        return None
    return parsed if EARLIEST <= parsed < LATEST else None


class BadUsage(ValueError):
    """A usage block with a token field that is not a plausible count: the whole call is
    skipped (and counted by reason), never guessed."""


# One call's tokens of one kind. The largest context windows hold a few million tokens; a
# count a thousand times that is a corrupt or forged record, and summing such counts could
# overflow the ledger's 64-bit columns.
MAX_TOKENS = 10**9


def token_count(usage: dict[str, Any], key: str, nullable: bool = False) -> int:
    """A token field as a non-negative int (absent = 0). Junk raises ``BadUsage``: negative,
    fractional, non-numeric, above ``MAX_TOKENS``, or ``null`` unless ``nullable`` (fields some
    providers send as ``null`` for "none"). A broken record is skipped and counted, it never
    changes a total."""
    value = usage.get(key)
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value  # the common case first: a hot path (every field of every call)
    if value is None:
        if nullable or key not in usage:
            return 0
        raise BadUsage(f"null token field {key!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadUsage(f"bad token field {key!r}")
    if value < 0:
        raise BadUsage(f"bad token field {key!r}")  # negative
    if isinstance(value, float) and not value.is_integer():
        raise BadUsage(f"fractional token field {key!r}")  # never truncated
    if value > MAX_TOKENS:
        raise BadUsage(f"token field {key!r} above {MAX_TOKENS:,} (implausible for one call)")
    return int(value)


CONFLICT = "record repeating a known call id with another model or session (first kept)"


def same_call(kept: Call, new: Call) -> bool:
    """Whether two records of one call id can be rows of the same call. Streamed rows of one
    call differ only in their counts; a record that names another model or session is a copy
    or a forgery, and must not replace the call (keeping the fuller usage would let it)."""
    return kept.model == new.model and kept.session == new.session


def anthropic_cache_writes(usage: dict[str, Any]) -> tuple[int, int]:
    """(5-minute, 1-hour) cache writes of an Anthropic usage block (Messages API, Claude Code).

    ``cache_creation_input_tokens`` is the total; ``cache_creation`` splits it by TTL. An older
    or partial split can miss tokens: what it misses was billed at the 5-minute rate."""
    cache_write = token_count(usage, "cache_creation_input_tokens", nullable=True)
    split = usage.get("cache_creation")
    if not isinstance(split, dict):
        return cache_write, 0
    write_1h = token_count(split, "ephemeral_1h_input_tokens", nullable=True)
    write_5m = token_count(split, "ephemeral_5m_input_tokens", nullable=True)
    if write_5m + write_1h > cache_write and "cache_creation_input_tokens" in usage:
        # The split is part of the total: a larger split is a broken record (the OpenAI
        # readers reject cached > prompt the same way).
        raise BadUsage("inconsistent cache split (5m + 1h writes > cache_creation_input_tokens)")
    return write_5m + max(0, cache_write - write_5m - write_1h), write_1h


def anthropic_tier(usage: dict[str, Any]) -> str:
    """The price tier of an Anthropic usage block: fast mode, or a non-standard service tier."""
    if usage.get("speed") == "fast":
        return "fast"
    tier = usage.get("service_tier")
    return tier if tier in ("priority", "batch", "flex") else ""


def is_gzip(path: Path) -> bool:
    """Whether ``path`` is gzip-compressed (a rotated log), by its magic bytes."""
    try:
        with path.open("rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError:
        return False


MAX_GUNZIP_BYTES = 2 * 1024**3  # a log that inflates beyond this is a bomb, not a log


def read_bytes(path: Path, report: FileReport | None = None) -> bytes:
    """The file's bytes, decompressed if it is gzip (rotated logs are often compressed).
    A corrupt or oversized archive is not read, and counted in ``report``."""
    data = path.read_bytes()
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, MAX_GUNZIP_BYTES)
        while inflater.eof and inflater.unused_data:  # concatenated gzip members
            rest = inflater.unused_data
            inflater = zlib.decompressobj(wbits=31)
            out += inflater.decompress(rest, MAX_GUNZIP_BYTES - len(out))
    except zlib.error:
        if report is not None:
            report.skip("corrupt gzip data (file not read)")
        return b""
    if inflater.unconsumed_tail and report is not None:
        report.skip(f"gzip data inflating beyond {MAX_GUNZIP_BYTES:,} bytes (not read)")
        return b""
    return out
