"""The live levers, as pure functions of a request body (a parsed JSON object).

Each returns the body to send (the same object when nothing changed) and the names of what it
did, for the response header ``x-tokenomy-levers``.

TODO(shared policy): ``anthropic_cache_breakpoints`` should become the one policy module that
``whatif``'s ``cache:auto`` replays (``tokenomy.levers.cache_auto.anthropic_plan``, being built
on another branch), so that the prediction and the live behaviour cannot drift. Until then it
is the minimal policy below: one marker on the stable prefix (the last tool and the last
system block) and one on the growing history (the last block of the last message).
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = [
    "anthropic_cache_breakpoints",
    "clamp_max_tokens",
    "has_cache_control",
    "openai_prompt_cache_key",
    "route_model",
]

MAX_BREAKPOINTS = 4  # Anthropic's limit on cache_control markers per request


def route_model(body: dict[str, Any], rules: dict[str, str], model: str) -> tuple[str, bool]:
    """The model to call instead of ``model`` (by exact name), and whether it changed. The
    body's own ``model`` is rewritten where the API puts it there (not Gemini's path)."""
    target = rules.get(model)
    if not target or target == model:
        return model, False
    if "model" in body:
        body["model"] = target
    return target, True


_CAP_KEYS = {
    "openai": ("max_completion_tokens", "max_tokens", "max_output_tokens"),
    "anthropic": ("max_tokens",),
}


def clamp_max_tokens(body: dict[str, Any], provider: str, cap: int) -> bool:
    """Lower the request's output cap to ``cap`` (set it when absent); whether it changed."""
    if provider == "gemini":
        config = body.get("generationConfig")
        if not isinstance(config, dict):
            config = body["generationConfig"] = {}
        return _clamp(config, "maxOutputTokens", cap)
    keys = _CAP_KEYS.get(provider, ())
    present = [k for k in keys if isinstance(body.get(k), int)]
    if present:
        return any([_clamp(body, k, cap) for k in present])
    # None sent: the Responses API takes max_output_tokens, Chat Completions max_tokens.
    key = "max_output_tokens" if "input" in body and "messages" not in body else keys[-1]
    if provider == "openai" and "messages" in body:
        key = "max_completion_tokens"
    body[key] = cap
    return True


def _clamp(obj: dict[str, Any], key: str, cap: int) -> bool:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value <= cap:
        return False
    obj[key] = cap
    return True


def has_cache_control(body: dict[str, Any]) -> bool:
    """Whether the client placed any ``cache_control`` itself (then the lever stands aside)."""
    if "cache_control" in body:
        return True
    for key in ("system", "tools"):
        blocks = body.get(key)
        if isinstance(blocks, list) and any(
            isinstance(b, dict) and "cache_control" in b for b in blocks
        ):
            return True
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(b, dict) and "cache_control" in b for b in content
        ):
            return True
    return False


def anthropic_cache_breakpoints(body: dict[str, Any], ttl: str = "5m") -> int:
    """Mark the stable prefix and the growing history for caching; returns the markers added
    (0 when the client placed its own, or there is nothing to mark). At most four markers."""
    if has_cache_control(body):
        return 0
    marker: dict[str, str] = {"type": "ephemeral"}
    if ttl == "1h":
        marker["ttl"] = "1h"
    targets: list[dict[str, Any]] = []
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[-1], dict):
        targets.append(tools[-1])
    system = body.get("system")
    if isinstance(system, str) and system:
        body["system"] = [{"type": "text", "text": system}]
        system = body["system"]
    if isinstance(system, list) and system and isinstance(system[-1], dict):
        targets.append(system[-1])
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        last = messages[-1]
        content = last.get("content")
        if isinstance(content, str) and content:
            last["content"] = [{"type": "text", "text": content}]
            content = last["content"]
        if (
            isinstance(content, list)
            and content
            and isinstance(content[-1], dict)
            and content[-1].get("type") not in ("thinking", "redacted_thinking")
        ):
            targets.append(content[-1])
    for block in targets[:MAX_BREAKPOINTS]:
        block["cache_control"] = dict(marker)
    return len(targets[:MAX_BREAKPOINTS])


def openai_prompt_cache_key(body: dict[str, Any], who: str) -> bool:
    """Set ``prompt_cache_key`` (requests of one project/user land on the same cache) unless
    the client set one; ``who`` is hashed, never sent as is."""
    if "prompt_cache_key" in body or not who:
        return False
    body["prompt_cache_key"] = "tk-" + hashlib.blake2b(who.encode(), digest_size=8).hexdigest()
    return True
