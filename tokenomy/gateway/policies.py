"""The live levers, as pure functions of a request body (a parsed JSON object).

Each returns the body to send (the same object when nothing changed) and the names of what it
did, for the response header ``x-tokenomy-levers``.

Anthropic cache breakpoints are placed by ``tokenomy.levers.cache_auto.anthropic_plan``, the
same policy ``whatif`` replays as ``cache:auto``, so the prediction and the live behaviour
cannot drift.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tokenomy.gateway.providers import estimated_tokens

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


def _cacheable_blocks(body: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The request's cacheable blocks in prompt order (tools, system, every message's content
    blocks; plain strings become one text block so they can carry a marker) and how many
    lead (tools and system: the stable prefix)."""
    blocks: list[dict[str, Any]] = []
    tools = body.get("tools")
    if isinstance(tools, list):
        blocks += [t for t in tools if isinstance(t, dict)]
    system = body.get("system")
    if isinstance(system, str) and system:
        body["system"] = system = [{"type": "text", "text": system}]
    if isinstance(system, list):
        blocks += [b for b in system if isinstance(b, dict)]
    stable = len(blocks)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str) and content:
            message["content"] = content = [{"type": "text", "text": content}]
        if isinstance(content, list):
            blocks += [
                b for b in content
                if isinstance(b, dict) and b.get("type") not in ("thinking", "redacted_thinking")
            ]  # fmt: skip
    return blocks, stable


def anthropic_cache_breakpoints(
    body: dict[str, Any], ttl: str = "5m", route: str = "anthropic"
) -> int:
    """Place cache breakpoints as ``cache:auto`` does (``anthropic_plan``): request-level
    automatic caching on the growing history, explicit markers where the plan adds them, the
    client's own markers kept. Returns how many markers were set (0: the client already turned
    on automatic caching, or the prompt is below the model's minimum)."""
    from tokenomy.levers.cache_auto import anthropic_plan

    if "cache_control" in body:
        return 0
    blocks, stable = _cacheable_blocks(body)
    if not blocks:
        return 0
    marks = [i for i, b in enumerate(blocks) if "cache_control" in b]
    plan = anthropic_plan(
        [estimated_tokens(b) for b in blocks], str(body.get("model", "")),
        client_marks=marks, stable_blocks=stable, route=route,
    )  # fmt: skip
    marker: dict[str, str] = {"type": "ephemeral"}
    if ttl == "1h":
        marker["ttl"] = "1h"
    added = [i for i in plan.add if "cache_control" not in blocks[i]]
    for i in added:
        blocks[i]["cache_control"] = dict(marker)
    if plan.mode == "automatic":
        body["cache_control"] = dict(marker)
    return len(added) + (plan.mode == "automatic")


def openai_prompt_cache_key(body: dict[str, Any], who: str) -> bool:
    """Set ``prompt_cache_key`` (requests of one project/user land on the same cache) unless
    the client set one; ``who`` is hashed, never sent as is."""
    if "prompt_cache_key" in body or not who:
        return False
    body["prompt_cache_key"] = "tk-" + hashlib.blake2b(who.encode(), digest_size=8).hexdigest()
    return True
