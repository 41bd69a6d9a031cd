"""Raw Anthropic Messages API payloads saved as JSON, JSON arrays, JSONL or SSE text.

Recognised objects:

- a whole Messages response (``{"type": "message", "id": "msg_...", "usage": ...}``);
- a stream: ``message_start`` carries the message id, model and usage with a *placeholder*
  ``output_tokens`` (usually 1); the final ``message_delta.usage`` carries the real, cumulative
  ``output_tokens`` (and, on newer API versions, the input and cache counts again). The events
  of one stream are merged per message id; a stream cut off before its ``message_delta`` keeps
  the placeholder and is marked ``output_exact = False``;
- a Message Batches results line (``{"custom_id", "result": {"type": "succeeded",
  "message": ...}}``): billed at the batch rate, so ``service_tier = "batch"``. Errored,
  cancelled and expired requests are not billed.

Anthropic conventions: ``input_tokens`` excludes cache reads and writes; writes are split by
TTL in ``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``.
Messages carry no timestamp: the file's modification time stands in for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tokenomy.calls import Call
from tokenomy.sources.base import (
    CONFLICT,
    BadUsage,
    FileReport,
    anthropic_cache_writes,
    anthropic_tier,
    register,
    same_call,
    token_count,
)
from tokenomy.sources.payloads import file_time, iter_payloads, mentions

__all__ = ["Anthropic", "call_from_message"]

_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation",
    "service_tier",
    "speed",
)


@register
class Anthropic:
    name = "anthropic"
    incremental = False

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix not in (".json", ".jsonl", ".txt", ".sse") or b'"sessionId"' in head:
            return False
        return (
            mentions(head, "type", "message_start")
            or (
                mentions(head, "type", "message")
                and b'"msg_' in head
                and not mentions(head, "object", "response")  # an OpenAI Responses output item
            )
            or (b'"custom_id"' in head and mentions(head, "type", "succeeded"))
        )

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        when = file_time(path)
        calls: dict[str, Call] = {}
        stream: dict[str, Any] | None = None  # the message_start being completed

        def keep(message: dict[str, Any] | None, tier: str, exact: bool) -> None:
            if message is None:
                return
            call = call_from_message(message, report, when, tier)
            if call is None:
                return
            call.output_exact = exact
            call.file = str(path)
            kept = calls.get(call.id)
            if kept is not None and not same_call(kept, call):
                report.skip(CONFLICT)
                return
            if kept is not None:
                report.duplicates += 1
                if (call.output, call.total) <= (kept.output, kept.total):
                    return
            calls[call.id] = call

        for obj in iter_payloads(path, report):
            kind = obj.get("type")
            if kind == "message_start":
                if stream is not None:
                    keep(stream, "", False)  # a stream that never got its message_delta
                started = obj.get("message")
                stream = dict(started) if isinstance(started, dict) else None
                if stream is None:
                    report.skip("message_start without message")
            elif kind == "message_delta":
                if stream is None:
                    report.skip("message_delta without message_start")
                    continue
                delta = obj.get("usage")
                if isinstance(delta, dict):
                    # The delta's counts are cumulative: they replace the start's.
                    usage = stream.get("usage")
                    merged = dict(usage) if isinstance(usage, dict) else {}
                    # A null in the delta means "not restated", not zero.
                    merged.update(
                        {k: v for k, v in delta.items() if k in _USAGE_KEYS and v is not None}
                    )
                    stream["usage"] = merged
                keep(stream, "", True)
                stream = None
            elif kind == "message":
                keep(obj, "", True)
            elif "custom_id" in obj and isinstance(obj.get("result"), dict):
                result = obj["result"]
                if result.get("type") != "succeeded":
                    report.skip("batch request that did not succeed (not billed)")
                    continue
                message = result.get("message")
                keep(message if isinstance(message, dict) else None, "batch", True)
        if stream is not None:
            keep(stream, "", False)
        report.calls += len(calls)
        yield from calls.values()


def call_from_message(
    message: dict[str, Any], report: FileReport, when: datetime, tier: str = ""
) -> Call | None:
    """One Messages response (or a stream's merged start + delta) as a call."""
    usage = message.get("usage")
    if not isinstance(usage, dict):
        report.skip("message without usage")
        return None
    if not message.get("id"):
        report.skip("message without id")
        return None
    if "input_tokens" not in usage and "output_tokens" not in usage:
        report.skip("usage without token fields")
        return None
    try:
        write_5m, write_1h = anthropic_cache_writes(usage)
        return Call(
            source="anthropic",
            id=str(message["id"]),
            time=when,
            model=str(message.get("model") or ""),
            provider="anthropic",
            service_tier=tier or anthropic_tier(usage),
            input=token_count(usage, "input_tokens"),
            cache_read=token_count(usage, "cache_read_input_tokens", nullable=True),
            cache_write_5m=write_5m,
            cache_write_1h=write_1h,
            output=token_count(usage, "output_tokens"),
        )
    except BadUsage as exc:
        report.skip(str(exc))
        return None
