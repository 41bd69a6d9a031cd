"""What differs between the three APIs: error shapes, and reading a response into calls.

A response is read by the same source module that imports the saved payload as a file
(``tokenomy.sources.openai``/``anthropic``/``gemini``): the bytes the provider sent are written
to a scratch file that the source reads, so a call the gateway records bills exactly as the
same payload imported from disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import weakref
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tokenomy.calls import Call
from tokenomy.sources import FileReport, registry

__all__ = [
    "ERROR_TYPES", "PROVIDERS", "calls_from_payload", "error_body", "least_prompt_tokens",
    "provider_for_path", "redact",
]  # fmt: skip

PROVIDERS = ("openai", "anthropic", "gemini")

# HTTP status -> (OpenAI error type, Anthropic error type, Gemini status)
ERROR_TYPES: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"),
    404: ("invalid_request_error", "not_found_error", "NOT_FOUND"),
    413: ("invalid_request_error", "request_too_large", "INVALID_ARGUMENT"),
    429: ("insufficient_quota", "rate_limit_error", "RESOURCE_EXHAUSTED"),
    500: ("server_error", "api_error", "INTERNAL"),
    502: ("server_error", "api_error", "UNAVAILABLE"),
    504: ("server_error", "timeout_error", "DEADLINE_EXCEEDED"),
}


def error_body(provider: str, status: int, message: str, code: str | None = None) -> bytes:
    """An error in the provider's own shape, so that its SDK raises its usual exception."""
    oa, an, gm = ERROR_TYPES.get(status, ERROR_TYPES[500 if status >= 500 else 400])
    if provider == "anthropic":
        obj: dict[str, Any] = {"type": "error", "error": {"type": an, "message": message}}
    elif provider == "gemini":
        obj = {"error": {"code": status, "message": message, "status": gm}}
    else:
        obj = {"error": {"message": message, "type": oa, "param": None, "code": code}}
    return orjson.dumps(obj)


def provider_for_path(path: str) -> str:
    """Which API an (unknown) path looks like, for the shape of its 404."""
    if path.startswith(("/v1beta", "/v1alpha")) or ":generateContent" in path:
        return "gemini"
    if path.startswith(("/v1/messages", "/v1/complete")):
        return "anthropic"
    return "openai"


_SUFFIX = {False: ".json", True: ".sse"}
_SCRATCH = threading.local()


def _scratch_dir() -> str | None:
    """Memory-backed where there is one (``/dev/shm``): creating a file on a loaded disk costs
    a millisecond, in memory a few microseconds."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def calls_from_payload(
    provider: str, payload: bytes, when: datetime, streamed: bool
) -> tuple[list[Call], FileReport]:
    """The calls in one response body (whole JSON, or the SSE text of a stream), read by the
    provider's source module from a scratch file dated ``when`` (the file time is what a
    payload without its own timestamp is dated by, on import as here). One scratch file per
    thread and suffix, rewritten each time."""
    source = registry()[provider]
    paths: dict[bool, Path] | None = getattr(_SCRATCH, "paths", None)
    if paths is None:
        paths = {}
        for kind, suffix in _SUFFIX.items():
            fd, name = tempfile.mkstemp(prefix="tokenomy-gw-", suffix=suffix, dir=_scratch_dir())
            os.close(fd)
            paths[kind] = Path(name)
            weakref.finalize(_SCRATCH, Path(name).unlink, missing_ok=True)
        _SCRATCH.paths = paths
    path = paths[streamed]
    path.write_bytes(payload)
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))
    report = FileReport(str(path), source=provider)
    return list(source.read(path, 0, report)), report


# What of a response is kept for recording: the ids, model, tier, time and the usage counts,
# in the payload's own structure, so that the source module reads it as it reads the whole.
# Text (message content, output items, candidates' parts) never leaves the request path.
_KEEP = frozenset({
    "id", "object", "created", "created_at", "model", "service_tier", "type", "status",
    "response", "message", "responseId", "modelVersion", "createTime", "custom_id",
    "candidates", "finishReason", "usage", "usageMetadata",
})  # fmt: skip
_WHOLE = frozenset({"usage", "usageMetadata"})


def _redact(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key not in _KEEP:
                continue
            if key in _WHOLE:
                out[key] = value
            elif key == "candidates" and isinstance(value, list):
                out[key] = [
                    {"finishReason": c["finishReason"]}
                    for c in value
                    if isinstance(c, dict) and c.get("finishReason")
                ]
            elif isinstance(value, dict | list):
                out[key] = _redact(value)
            elif key != "message" and key != "response":
                out[key] = value
        return out
    if isinstance(obj, list):
        return [_redact(v) for v in obj if isinstance(v, dict)]
    return None


def redact(payload: bytes, streamed: bool) -> bytes:
    """The usage-bearing skeleton of a response body or stream (no text): whole JSON as one
    JSON document, a stream as one ``data:`` line per event that mentions usage."""
    if not payload:
        return b""
    if not streamed or payload.lstrip()[:1] == b"[":  # Gemini streams without alt=sse: an array
        try:
            return orjson.dumps(_redact(orjson.loads(payload)))
        except orjson.JSONDecodeError:
            return b""
    out = []
    for line in payload.split(b"\n"):
        if b'"usage' not in line:
            continue
        line = line.strip()
        if line.startswith(b"data:"):
            line = line[5:]
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        out.append(b"data: " + orjson.dumps(_redact(obj)))
    return b"\n".join(out)


def _as_blocks(content: Any) -> list[Any]:
    """A message's content as blocks: a plain string is one text block."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        return list(content)
    return [] if content is None else [content]


def prompt_blocks(provider: str, body: dict[str, Any]) -> list[Any]:
    """The request's prompt as the blocks a provider caches by, in order: tools and system
    first, then every message's content blocks (with its role, so the same text said by the
    user and by the model are different blocks)."""
    out: list[Any] = []
    if provider == "anthropic":
        out += list(body.get("tools") or [])
        out += _as_blocks(body.get("system"))
        for m in body.get("messages") or []:
            if isinstance(m, dict):
                out += [[m.get("role"), b] for b in _as_blocks(m.get("content"))]
    elif provider == "openai":
        out += list(body.get("tools") or [])
        out += _as_blocks(body.get("instructions"))
        items = body.get("messages") if "messages" in body else body.get("input")
        for m in _as_blocks(items):
            if isinstance(m, dict) and "content" in m:
                out += [[m.get("role"), b] for b in _as_blocks(m.get("content"))]
            else:
                out.append(m)
    elif provider in ("gemini", "google"):
        out += list(body.get("tools") or [])
        system = body.get("systemInstruction") or body.get("system_instruction") or {}
        out += list(system.get("parts") or []) if isinstance(system, dict) else []
        for c in body.get("contents") or []:
            if isinstance(c, dict):
                out += [[c.get("role"), p] for p in c.get("parts") or []]
    return out


# Where a prompt carries bytes that are not text (images, audio, files): they are billed by
# their own rules, far below their size, so the least-tokens bound leaves them out.
_BINARY_KEYS = frozenset(
    {
        "data",
        "url",
        "image_url",
        "file_data",
        "inline_data",
        "inlineData",
        "fileData",
        "input_audio",
    }
)
# Bytes of UTF-8 text per token, at most: the most measured was 7.75 (o200k_base over the 2,814
# ShareGPT conversations of at least 200 tokens; median 4.63, p99 5.91).
TEXT_BYTES_PER_TOKEN_MAX = 8


def _text_bytes(obj: Any) -> int:
    if isinstance(obj, str):
        return 0 if obj.startswith("data:") else len(obj.encode())
    if isinstance(obj, dict):
        return sum(_text_bytes(v) for k, v in obj.items() if k not in _BINARY_KEYS)
    if isinstance(obj, list):
        return sum(_text_bytes(v) for v in obj)
    return 0


def least_prompt_tokens(provider: str, body: dict[str, Any]) -> int:
    """A lower bound on the tokens of the request's prompt: the bytes of its text over the
    most bytes a token has been measured to hold (for the budget check: a request is refused
    only when even this bound would cross a hard budget)."""
    return _text_bytes(prompt_blocks(provider, body)) // TEXT_BYTES_PER_TOKEN_MAX


def _canonical(block: Any) -> bytes:
    return orjson.dumps(block, option=orjson.OPT_SORT_KEYS)


def estimated_tokens(block: Any) -> int:
    """About how many tokens a block holds: its canonical JSON over 4 bytes a token (an
    estimate; what needs it is the model's minimum cacheable length and the digest's sizes)."""
    return len(_canonical(block)) // 4 + 1


def block_digest(provider: str, body: dict[str, Any]) -> str:
    """The prompt's blocks as ``[[hash, tokens], ...]`` (JSON): a 128-bit BLAKE2b of each block's
    canonical JSON, and its ``estimated_tokens``. Enough to tell which prefix a later request
    shares (its trace, content known) without keeping any text."""
    digest = []
    for block in prompt_blocks(provider, body):
        data = _canonical(block)
        digest.append([hashlib.blake2b(data, digest_size=16).hexdigest(), len(data) // 4 + 1])
    return orjson.dumps(digest).decode()
