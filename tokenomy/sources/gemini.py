"""Raw Gemini API payloads (``generateContent`` / ``streamGenerateContent``) with
``usageMetadata``, saved as JSON, a JSON array of streamed chunks, JSONL or SSE text.

- ``responseId`` is the call id and ``modelVersion`` the model. Streamed chunks of one call
  share a ``responseId``; each may carry ``usageMetadata`` and the last one carries the final
  counts, so the last chunk of an id wins. Chunks without a ``responseId`` (older API
  versions) belong to one call until a candidate reports a ``finishReason``.
- A Batch API output line (``{"key", "response": {...}}``) is billed at the batch rate.
- Vertex AI responses carry ``createTime``; AI Studio responses carry no time at all, and the
  file's modification time stands in for it.

Token conventions (see ``split_usage``): ``promptTokenCount`` includes
``cachedContentTokenCount``; ``thoughtsTokenCount`` is reported beside
``candidatesTokenCount`` and both are billed as output.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from tokenomy.calls import Call
from tokenomy.sources.base import BadUsage, FileReport, register, token_count
from tokenomy.sources.payloads import content_id, file_time, iter_payloads, payload_time

__all__ = ["Gemini", "GeminiTokens", "split_usage"]


class GeminiTokens(NamedTuple):
    input: int
    cache_read: int
    output: int
    reasoning: int


def split_usage(
    prompt: int, cached: int, candidates: int, thoughts: int, tool: int, total: int | None
) -> GeminiTokens:
    """Gemini's counts in our record's terms.

    ``toolUsePromptTokenCount`` (prompt tokens added by built-in tools such as search or URL
    context) is billed as input. Recorded sessions show it *beside* the prompt count
    (``total = prompt + candidates + thoughts + tool``); where ``total`` says it is already
    inside the prompt (``total = prompt + candidates + thoughts``) it is not added twice.
    Raises ``BadUsage`` when the cached count exceeds the prompt.
    """
    if cached > prompt:
        raise BadUsage("cached tokens exceed the prompt")
    outside = total is None or total != prompt + candidates + thoughts
    fresh = prompt - cached + (tool if outside else 0)
    return GeminiTokens(fresh, cached, candidates + thoughts, thoughts)


def tokens_from_metadata(meta: dict[str, Any]) -> GeminiTokens:
    total = meta.get("totalTokenCount")
    if total is not None and all(
        meta.get(k) is None for k in ("promptTokenCount", "candidatesTokenCount")
    ):
        # Nothing says how the total splits into input and output (they are priced apart).
        raise BadUsage("usageMetadata with only a total (no prompt/candidates split)")
    return split_usage(
        token_count(meta, "promptTokenCount"),
        token_count(meta, "cachedContentTokenCount", nullable=True),
        token_count(meta, "candidatesTokenCount"),
        token_count(meta, "thoughtsTokenCount"),
        token_count(meta, "toolUsePromptTokenCount"),
        token_count(meta, "totalTokenCount") if total is not None else None,
    )


@register
class Gemini:
    name = "gemini"
    incremental = False

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix not in (".json", ".jsonl", ".txt", ".sse"):
            return False
        if b'"projectHash"' in head or b'"sessionId"' in head:
            return False  # a Gemini CLI recording
        return b'"usageMetadata"' in head or (b'"candidates"' in head and b'"parts"' in head)

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        when = file_time(path)
        kept: dict[str, tuple[dict[str, Any], str]] = {}  # call id -> (last chunk, tier)
        open_id = ""  # chunks without responseId join this call until it finishes
        for obj in iter_payloads(path, report):
            tier = ""
            if "key" in obj and isinstance(obj.get("response"), dict):
                obj, tier = obj["response"], "batch"
            if not isinstance(obj.get("usageMetadata"), dict):
                if "candidates" in obj:
                    continue  # a streamed chunk that carries no counts
                report.skip("object without usageMetadata")
                continue
            key = obj.get("responseId")
            if isinstance(key, str) and key:
                if key in kept:
                    report.duplicates += 1
            else:
                if not open_id:
                    open_id = content_id(obj)
                elif open_id in kept:
                    report.duplicates += 1
                key = open_id
                if _finished(obj):
                    open_id = ""
            kept[key] = (obj, tier)
        for key, (obj, tier) in kept.items():
            call = _call(key, obj, tier, when, report)
            if call is not None:
                call.file = str(path)
                report.calls += 1
                yield call


def _finished(chunk: dict[str, Any]) -> bool:
    candidates = chunk.get("candidates")
    return isinstance(candidates, list) and any(
        isinstance(c, dict) and c.get("finishReason") for c in candidates
    )


def _call(
    key: str, obj: dict[str, Any], tier: str, when: datetime, report: FileReport
) -> Call | None:
    try:
        tokens = tokens_from_metadata(obj["usageMetadata"])
        time = payload_time(obj, "createTime") or when
    except BadUsage as exc:
        report.skip(str(exc))
        return None
    return Call(
        source="gemini",
        id=key,
        time=time,
        # Vertex AI and some SDKs name the model by resource: "models/gemini-2.5-pro".
        model=str(obj.get("modelVersion") or "").removeprefix("models/"),
        provider="google",
        service_tier=tier,
        input=tokens.input,
        cache_read=tokens.cache_read,
        output=tokens.output,
        reasoning=tokens.reasoning,
    )
