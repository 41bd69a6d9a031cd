"""What every source shares: the per-file read report, the line reader, the registry.

A source turns one file into ``Call`` records. Line-oriented sources (JSONL logs) read from a
byte offset, so an appended file is read from where the last import stopped; only whole lines
are consumed, so a line still being written is left for the next import, never lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from tokenomy.calls import Call

__all__ = [
    "BadUsage",
    "FileReport",
    "Source",
    "anthropic_cache_writes",
    "anthropic_tier",
    "iter_json_lines",
    "parse_time",
    "register",
    "registry",
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
        """Whether ``path`` (whose first bytes are ``head``) is in this format."""
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


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string or epoch seconds/milliseconds as an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class BadUsage(ValueError):
    """A usage block with a negative or non-numeric token field: the whole call is skipped."""


def token_count(usage: dict[str, Any], key: str) -> int:
    """A token field as a non-negative int (absent = 0). Junk raises ``BadUsage``: a broken
    record is skipped and counted, it never changes a total."""
    value = usage.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadUsage(f"bad token field {key!r}")
    return int(value)


def anthropic_cache_writes(usage: dict[str, Any]) -> tuple[int, int]:
    """(5-minute, 1-hour) cache writes of an Anthropic usage block (Messages API, Claude Code).

    ``cache_creation_input_tokens`` is the total; ``cache_creation`` splits it by TTL. An older
    or partial split can miss tokens: what it misses was billed at the 5-minute rate."""
    cache_write = token_count(usage, "cache_creation_input_tokens")
    split = usage.get("cache_creation")
    if not isinstance(split, dict):
        return cache_write, 0
    write_1h = token_count(split, "ephemeral_1h_input_tokens")
    write_5m = token_count(split, "ephemeral_5m_input_tokens")
    return write_5m + max(0, cache_write - write_5m - write_1h), write_1h


def anthropic_tier(usage: dict[str, Any]) -> str:
    """The price tier of an Anthropic usage block: fast mode, or a non-standard service tier."""
    if usage.get("speed") == "fast":
        return "fast"
    tier = usage.get("service_tier")
    return tier if tier in ("priority", "batch", "flex") else ""
