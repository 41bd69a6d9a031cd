"""Raw OpenAI API payloads saved as JSON, JSON arrays, JSONL or SSE text.

Recognised objects (any mix, in any of those containers):

- a Chat Completions response (``object: chat.completion``) or the final streamed chunk
  (``chat.completion.chunk`` with ``usage``; the other chunks carry ``usage: null``);
- a Responses API response (``object: response``) or a ``response.completed`` /
  ``response.incomplete`` / ``response.failed`` event wrapping one (the earlier events carry
  ``usage: null``);
- a Batch API output line (``{"custom_id", "response": {"status_code", "body": ...}}``):
  billed at the batch rate, so ``service_tier = "batch"``.

OpenAI conventions: ``prompt_tokens`` / ``input_tokens`` include the cached tokens
(``*_tokens_details.cached_tokens``); ``completion_tokens`` / ``output_tokens`` include the
reasoning tokens. A response's ``service_tier`` of ``flex`` or ``priority`` is billed at its
own rate; ``default``/``auto``/``scale`` are the standard rate.

The Chat Completions shape is spoken by many other providers: only models that look like
OpenAI's are given ``provider = "openai"``; the rest are left for the pricer to resolve.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tokenomy.calls import Call
from tokenomy.sources.base import BadUsage, FileReport, register, token_count
from tokenomy.sources.payloads import (
    content_id,
    file_time,
    iter_payloads,
    mentions,
    payload_time,
)

__all__ = ["OpenAI", "call_from_response"]

_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
_PRICED_TIERS = ("flex", "priority")
_OPENAI_MODEL_PREFIXES = (
    "gpt-", "chatgpt-", "o1", "o3", "o4", "codex-", "computer-use-", "text-embedding-", "ft:gpt-",
)  # fmt: skip


@register
class OpenAI:
    name = "openai"
    incremental = False

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix not in (".json", ".jsonl", ".txt", ".sse") or b'"sessionId"' in head:
            return False
        return (
            mentions(head, "object", "chat.completion")
            or mentions(head, "object", "response")
            or mentions(head, "type", "response.")
            or (b'"custom_id"' in head and b"batch_req_" in head)
        )

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        fallback: datetime | None = None
        for obj in iter_payloads(path, report):
            found = _unwrap(obj, report)
            if found is None:
                continue
            response, tier = found
            if fallback is None:
                fallback = file_time(path)
            call = call_from_response(response, report, fallback, tier)
            if call is not None:
                call.file = str(path)
                report.calls += 1
                yield call


def _unwrap(obj: dict[str, Any], report: FileReport) -> tuple[dict[str, Any], str] | None:
    """(the response object that carries usage, a forced service tier), or ``None``."""
    kind = obj.get("type")
    if isinstance(kind, str) and kind.startswith("response."):
        inner = obj.get("response")
        if kind in _FINAL_EVENTS and isinstance(inner, dict):
            return _with_usage(inner, "", report)
        return None  # created / in_progress / deltas: no usage yet
    batch = obj.get("response")
    if "custom_id" in obj and isinstance(batch, dict):
        body = batch.get("body")
        if batch.get("status_code") != 200 or not isinstance(body, dict):
            report.skip("batch request that failed (not billed)")
            return None
        return _with_usage(body, "batch", report)
    if obj.get("object") in ("chat.completion", "chat.completion.chunk", "response"):
        return _with_usage(obj, "", report)
    return None


def _with_usage(
    response: dict[str, Any], tier: str, report: FileReport
) -> tuple[dict[str, Any], str] | None:
    usage = response.get("usage")
    if usage is None:
        if response.get("object") != "chat.completion.chunk":
            report.skip("response without usage")
        return None  # a streamed chunk before the final one
    if not isinstance(usage, dict):
        report.skip("usage is not an object")
        return None
    return response, tier


def call_from_response(
    response: dict[str, Any], report: FileReport, fallback: datetime, tier: str = ""
) -> Call | None:
    """One Chat Completions or Responses API response (with ``usage``) as a call."""
    usage = response["usage"]
    try:
        if "prompt_tokens" in usage:  # Chat Completions
            prompt = token_count(usage, "prompt_tokens")
            output = token_count(usage, "completion_tokens")
            cached = token_count(
                _details(usage, "prompt_tokens_details"), "cached_tokens", nullable=True
            )
            reasoning = token_count(
                _details(usage, "completion_tokens_details"), "reasoning_tokens", nullable=True
            )
        elif "input_tokens" in usage:  # Responses API
            prompt = token_count(usage, "input_tokens")
            output = token_count(usage, "output_tokens")
            cached = token_count(
                _details(usage, "input_tokens_details"), "cached_tokens", nullable=True
            )
            reasoning = token_count(
                _details(usage, "output_tokens_details"), "reasoning_tokens", nullable=True
            )
        else:
            report.skip("usage without token fields")
            return None
        time = payload_time(response, "created_at", "created") or fallback
    except BadUsage as exc:
        report.skip(str(exc))
        return None
    if cached > prompt or reasoning > output:
        report.skip("inconsistent usage (cached > prompt or reasoning > output)")
        return None
    model = str(response.get("model") or "")
    served = response.get("service_tier")
    return Call(
        source="openai",
        id=str(response.get("id") or content_id(response)),
        time=time,
        model=model,
        provider="openai" if model.startswith(_OPENAI_MODEL_PREFIXES) else "",
        service_tier=tier or (served if served in _PRICED_TIERS else ""),
        input=prompt - cached,
        cache_read=cached,
        output=output,
        reasoning=reasoning,
    )


def _details(usage: dict[str, Any], key: str) -> dict[str, Any]:
    details = usage.get(key)
    return details if isinstance(details, dict) else {}
