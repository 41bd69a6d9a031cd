"""Gemini CLI chat recordings: ``~/.gemini/tmp/<project>/chats/session-*.jsonl`` (and legacy
``session-*.json``); a sub-agent's recording sits in ``chats/<parentSessionId>/<id>.jsonl``.

Written by ``packages/core/src/services/chatRecordingService.ts`` (google-gemini/gemini-cli):

- The JSONL file is a log: a first metadata line ``{sessionId, projectHash, startTime,
  lastUpdated, kind}``, then message records keyed by ``id`` that are re-appended whole each
  time they change (tokens and tool calls arrive after the text): the last write of an id wins.
  ``{"$set": {...}}`` lines patch the metadata (and may carry the whole ``messages`` list);
  ``{"$rewindTo": id}`` truncates the conversation *view*.
- Rewound messages are not dropped here: their API calls happened and were billed.
- A legacy ``.json`` file is one document with a ``messages`` array; on resume the CLI copies
  it to ``<name>.jsonl`` and leaves the original, so the same messages appear twice. Call ids
  are ``<sessionId>/<messageId>`` and the two copies merge into one call.
- Tokens sit on ``type: "gemini"`` messages as ``tokens = {input: promptTokenCount,
  output: candidatesTokenCount, cached: cachedContentTokenCount, thoughts:
  thoughtsTokenCount, tool: toolUsePromptTokenCount, total: totalTokenCount}`` (see
  ``tokenomy.sources.gemini.split_usage`` for the conversion). A gemini message with no
  ``tokens`` never had its usage recorded (or is a synthetic summary): it is counted as
  skipped, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tokenomy.calls import Call
from tokenomy.sources.base import (
    BadUsage,
    FileReport,
    iter_json_lines,
    parse_time,
    read_bytes,
    register,
    token_count,
)
from tokenomy.sources.gemini import split_usage

__all__ = ["GeminiCli"]


@register
class GeminiCli:
    name = "gemini_cli"
    incremental = False  # last write wins: a message's final state needs the whole file

    def detect(self, path: Path, head: bytes) -> bool:
        return (
            path.suffix in (".json", ".jsonl")
            and b'"projectHash"' in head
            and b'"sessionId"' in head
        )

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        metadata: dict[str, Any] = {}
        messages: dict[str, dict[str, Any]] = {}  # id -> last write (with tokens, if any)
        for record in _records(path, report):
            if "$rewindTo" in record:
                continue  # the view is truncated; the calls were still billed
            patch = record.get("$set")
            if isinstance(patch, dict):
                listed = patch.get("messages")
                for message in listed if isinstance(listed, list) else []:
                    _write(messages, message, report)
                metadata.update({k: v for k, v in patch.items() if k != "messages"})
            elif isinstance(record.get("id"), str):
                _write(messages, record, report)
            elif "sessionId" in record and "projectHash" in record:
                listed = record.get("messages")
                for message in listed if isinstance(listed, list) else []:
                    _write(messages, message, report)
                metadata.update({k: v for k, v in record.items() if k != "messages"})
        session = str(metadata.get("sessionId") or path.stem)
        parent = _parent_session(path)
        project = _project(path, metadata)
        for message in messages.values():
            if message.get("type") != "gemini":
                continue
            call = _call(message, session, report)
            if call is None:
                continue
            call.project = project
            if parent:
                call.parent_session = parent
                call.agent = session
            call.file = str(path)
            report.calls += 1
            yield call


def _records(path: Path, report: FileReport) -> Iterator[dict[str, Any]]:
    if path.suffix == ".jsonl":
        yield from iter_json_lines(path, 0, report)
        return
    data = read_bytes(path, report)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        # Not one document: a JSONL recording renamed or rotated (x.json, x.jsonl.1, .gz).
        yield from iter_json_lines(path, 0, report)
        return
    report.end = len(data)
    report.lines += 1
    if isinstance(document, dict):
        yield document
    else:
        report.skip("not a JSON object")


def _write(messages: dict[str, dict[str, Any]], message: Any, report: FileReport) -> None:
    if not isinstance(message, dict) or not isinstance(message.get("id"), str):
        report.skip("message without id")
        return
    key = message["id"]
    before = messages.get(key)
    if before is not None:
        report.duplicates += 1
        if message.get("tokens") is None and before.get("tokens") is not None:
            message = {**message, "tokens": before["tokens"]}  # a later write dropped them
    messages[key] = message


def _call(message: dict[str, Any], session: str, report: FileReport) -> Call | None:
    tokens = message.get("tokens")
    if not isinstance(tokens, dict):
        report.skip("gemini message without token counts (usage not recorded)")
        return None
    time = parse_time(message.get("timestamp"))
    if time is None:
        report.skip("missing or bad timestamp")
        return None
    try:
        total = tokens.get("total")
        split = split_usage(
            token_count(tokens, "input"),
            token_count(tokens, "cached", nullable=True),
            token_count(tokens, "output"),
            token_count(tokens, "thoughts"),
            token_count(tokens, "tool"),
            token_count(tokens, "total") if total is not None else None,
        )
    except BadUsage as exc:
        report.skip(str(exc))
        return None
    return Call(
        source="gemini_cli",
        id=f"{session}/{message['id']}",
        time=time,
        model=str(message.get("model") or "").removeprefix("models/"),
        provider="google",
        session=session,
        input=split.input,
        cache_read=split.cache_read,
        output=split.output,
        reasoning=split.reasoning,
    )


def _parent_session(path: Path) -> str:
    """``chats/<parentSessionId>/<id>.jsonl`` is a sub-agent of that parent session."""
    if path.parent.parent.name == "chats":
        return path.parent.name
    return ""


def _project(path: Path, metadata: dict[str, Any]) -> str:
    """The folder holding ``chats/`` (the CLI's per-project temp dir), else the hash."""
    parts = path.parts
    if "chats" in parts:
        index = len(parts) - 1 - parts[::-1].index("chats")
        if index > 0:
            return parts[index - 1]
    return str(metadata.get("projectHash") or "")
