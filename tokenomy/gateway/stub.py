"""A stub upstream for tests and benchmarks: answers the three APIs with recorded payloads.

``payloads`` maps ``<provider>_<kind>[_stream]`` (``openai_chat``, ``openai_responses_stream``,
``anthropic_messages``, ``gemini_stream`` ...) to the bytes to send back: a whole JSON
response, or the SSE text of a stream (sent in a few chunks). Control headers make it fail
on purpose: ``x-stub-status: 503`` (an error in the provider's shape), ``x-stub-delay: 2``
(seconds before answering), ``x-stub-drop: 1`` (close the connection without an answer),
``x-stub-cut: 1`` (close the connection half-way through a stream), ``x-stub-chunk-delay:
0.05`` (seconds between stream chunks).

``anthropic_cache=True`` makes ``/v1/messages`` apply Anthropic's prompt-caching rules to the
request instead (a token is a whitespace-separated word): the prefix up to the last
``cache_control`` marker is written to a 5-minute (or 1-hour) cache on a miss and read on a
hit, which refreshes it; everything after it is fresh input; output is 0 tokens.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from typing import Any

import orjson
from aiohttp import web

from tokenomy.gateway.providers import error_body

__all__ = ["StubUpstream"]

MIN_CACHEABLE = 1024


class StubUpstream:
    def __init__(self, payloads: dict[str, bytes], anthropic_cache: bool = False) -> None:
        self.payloads = payloads
        self.anthropic_cache = anthropic_cache
        self.requests: list[dict[str, Any]] = []  # bodies received, in order
        self.headers: list[dict[str, str]] = []
        self._cache: dict[str, float] = {}  # prefix hash -> expiry (monotonic seconds)
        self._ids = itertools.count(1)
        self.clock = time.monotonic

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024**3)
        app.router.add_post("/v1/chat/completions", self._make("openai", "chat"))
        app.router.add_post("/v1/responses", self._make("openai", "responses"))
        app.router.add_post("/v1/messages", self._make("anthropic", "messages"))
        for version in ("v1beta", "v1", "v1alpha"):
            app.router.add_post(f"/{version}/models/{{tail}}", self._make("gemini", ""))
        return app

    def _make(self, provider: str, kind: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, provider, kind)

        return handle

    async def _handle(self, request: web.Request, provider: str, kind: str) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        h = request.headers
        if h.get("x-stub-delay"):
            await asyncio.sleep(float(h["x-stub-delay"]))
        if h.get("x-stub-drop"):
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        if h.get("x-stub-status"):
            status = int(h["x-stub-status"])
            return web.Response(body=error_body(provider, status, "stub failure"), status=status,
                                content_type="application/json")  # fmt: skip
        stream = bool(body.get("stream"))
        if provider == "gemini":
            stream = request.match_info["tail"].endswith(":streamGenerateContent")
        if provider == "anthropic" and self.anthropic_cache:
            return web.json_response(self._cached_message(body))
        name = f"{provider}_{kind}" if kind else provider
        payload = self.payloads[name + ("_stream" if stream else "")]
        if not stream:
            return web.Response(body=payload, content_type="application/json")
        resp = web.StreamResponse(headers={"content-type": "text/event-stream",
                                           "cache-control": "no-cache"})  # fmt: skip
        await resp.prepare(request)
        pause = float(h.get("x-stub-chunk-delay", 0))
        events = [e + b"\n\n" for e in payload.replace(b"\r\n", b"\n").split(b"\n\n") if e]
        for n, event in enumerate(events):
            if h.get("x-stub-cut") and n >= len(events) // 2:
                assert request.transport is not None
                request.transport.close()
                return resp
            await resp.write(event)
            if pause:
                await asyncio.sleep(pause)
        await resp.write_eof()
        return resp

    def _cached_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """A message whose usage follows Anthropic's caching rules for this request."""
        words: list[str] = []
        cut = 0  # words up to and including the last block marked cache_control
        ttl = 300.0
        blocks: list[Any] = [*(body.get("tools") or [])]
        system = body.get("system")
        blocks += [{"type": "text", "text": system}] if isinstance(system, str) else system or []
        for message in body.get("messages") or []:
            content = message.get("content")
            blocks += [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            words += str(block.get("text") or block.get("name") or "").split()
            marker = block.get("cache_control")
            if marker:
                cut = len(words)
                ttl = 3600.0 if marker.get("ttl") == "1h" else 300.0
        if body.get("cache_control"):  # request-level automatic caching: the whole prompt
            cut = len(words)
        usage: dict[str, Any] = {"input_tokens": len(words), "cache_read_input_tokens": 0,
                                 "cache_creation_input_tokens": 0, "output_tokens": 0}  # fmt: skip
        if cut >= MIN_CACHEABLE:
            key = body.get("model", "") + hashlib.sha256(" ".join(words[:cut]).encode()).hexdigest()
            now = self.clock()
            hit = self._cache.get(key, 0.0) > now
            self._cache[key] = now + ttl
            usage["input_tokens"] = len(words) - cut
            if hit:
                usage["cache_read_input_tokens"] = cut
            else:
                usage["cache_creation_input_tokens"] = cut
                split = "ephemeral_1h_input_tokens" if ttl > 300 else "ephemeral_5m_input_tokens"
                usage["cache_creation"] = {"ephemeral_5m_input_tokens": 0,
                                           "ephemeral_1h_input_tokens": 0, split: cut}  # fmt: skip
        return {
            "id": f"msg_stub_{next(self._ids):06d}", "type": "message", "role": "assistant",
            "model": body.get("model", ""), "content": [], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": usage,
        }  # fmt: skip
