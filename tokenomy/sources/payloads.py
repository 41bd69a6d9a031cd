"""Reading saved provider payloads: one JSON document, a JSON array, JSONL, or SSE text.

People save API responses every way there is: the whole response (``.json``), a list of
streamed chunks (``[...]``), one event per line (``.jsonl``), or the raw server-sent-event
text (``event: ...`` / ``data: {...}``). ``iter_payloads`` yields the JSON objects of any of
these in file order, so each API source only has to recognise its own objects.

Provider payloads carry no file-independent timestamp in several formats (an Anthropic
message, a Gemini ``generateContent`` response): ``file_time`` is the fallback, the moment the
file was last written, which is when the payload was saved.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tokenomy.sources.base import BadUsage, FileReport, parse_time, read_bytes

__all__ = ["content_id", "file_time", "iter_payloads", "mentions", "payload_time"]


def iter_payloads(path: Path, report: FileReport) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``path``, in order; what cannot be parsed is counted in ``report``."""
    data = read_bytes(path, report)
    report.start = 0
    report.end = len(data)
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        yield from _lines(data, report)
        return
    report.lines += 1
    if isinstance(whole, dict):
        yield whole
    elif isinstance(whole, list):
        for item in whole:
            if isinstance(item, dict):
                yield item
            else:
                report.skip("not a JSON object")
    else:
        report.skip("not a JSON object")


def _lines(data: bytes, report: FileReport) -> Iterator[dict[str, Any]]:
    for raw in data.split(b"\n"):
        line = raw.strip()
        if not line:
            continue
        report.lines += 1
        if line.startswith(b"data:"):
            line = line[5:].strip()
            if line == b"[DONE]":
                continue
        elif line.startswith((b"event:", b"id:", b"retry:", b":")):
            continue  # SSE framing, not a payload
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            report.skip("invalid JSON")
            continue
        if isinstance(obj, dict):
            yield obj
        else:
            report.skip("not a JSON object")


def mentions(head: bytes, key: str, value: str | None = None) -> bool:
    """Whether ``head`` holds the JSON key (with that string value), whatever the spacing."""
    if value is None:
        return f'"{key}"'.encode() in head
    pattern = rb'"' + re.escape(key.encode()) + rb'"\s*:\s*"' + re.escape(value.encode())
    return re.search(pattern, head) is not None


def content_id(obj: Any) -> str:
    """A stable id for a payload that carries none: the same payload copied twice is one call."""
    digest = hashlib.blake2b(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS), digest_size=12)
    return "sha:" + digest.hexdigest()


def file_time(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def payload_time(obj: dict[str, Any], *keys: str) -> datetime | None:
    """The first of ``keys`` present, as a time (ISO-8601 or epoch seconds); ``None`` when none
    is present. One present but out of range or unparsable raises ``BadUsage``: such a call
    is skipped and counted, not silently dated by its file."""
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        found = parse_time(value)
        if found is None:
            raise BadUsage(f"bad timestamp {key!r}")
        return found
    return None
