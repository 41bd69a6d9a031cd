"""Which route a call took to its model (direct API, Bedrock, Vertex, a proxy), and its family.

Caching on a cloud route is not the provider's own: Claude via Bedrock missed 20-39% of live
cache entries where the direct API missed 0.5% (docs/replay_fidelity.md), so the replay keeps
each call's route and measures behaviour per route (``replay.observed``).
"""

from __future__ import annotations

import re

__all__ = ["ROUTES", "family", "route_of"]

ROUTES = ("direct", "bedrock", "vertex", "proxy")

_BEDROCK_MODEL = re.compile(r"^(?:bedrock/|converse/|(?:[a-z]{2,6}\.)?anthropic\.|arn:aws:bedrock)")
_VERTEX_MODEL = re.compile(r"^(?:vertex_ai/|vertex/)|@\d{8}$|@latest$")
_PROXY_MODEL = re.compile(r"^(?:openrouter/|litellm/|azure/|together_ai/|[a-z0-9_-]+/)")


def route_of(call_id: str, model: str, provider: str = "", source: str = "") -> str:
    """How a call reached its model: ``direct``, ``bedrock``, ``vertex`` or ``proxy``.

    From the provider's own ids (Bedrock answers ``msg_bdrk_...``, Vertex ``msg_vrtx_...``),
    then the model name's spelling (``anthropic.claude-...``/``converse/...`` on Bedrock,
    ``claude-...@20250514`` on Vertex, a ``vendor/`` prefix through a proxy or router).
    """
    cid = call_id.lower()
    name = model.lower()
    if cid.startswith(("msg_bdrk_", "toolu_bdrk_")) or _BEDROCK_MODEL.search(name):
        return "bedrock"
    if cid.startswith(("msg_vrtx_", "toolu_vrtx_")) or _VERTEX_MODEL.search(name):
        return "vertex"
    proxies = ("openrouter", "litellm", "proxy", "helicone", "portkey")
    if _PROXY_MODEL.search(name) or provider.lower() in proxies or source.lower() in proxies:
        return "proxy"
    return "direct"


def family(model: str) -> str:
    """The model family rates are pooled over: the name without route prefixes or dates."""
    name = model.lower().rsplit("/", 1)[-1]
    name = re.sub(r"^(?:[a-z]{2,6}\.)?anthropic\.", "", name)
    for _ in range(2):  # "-20250929-v1:0": the version, then the date
        name = re.sub(r"(@.*|-\d{8}|-\d{4}-\d{2}-\d{2}|-v\d+(:\d+)?|-latest)$", "", name)
    return name
