"""The proxy: an aiohttp application that speaks the OpenAI, Anthropic and Gemini APIs.

Clients change only their base URL (``OPENAI_BASE_URL=http://127.0.0.1:8787/v1``,
``ANTHROPIC_BASE_URL=http://127.0.0.1:8787``, the Gemini SDK's ``http_options.base_url``).
Each request is forwarded to the provider's upstream with the client's own headers (its API
key included: passed through, never stored; a salted hash of it is kept for attribution),
and the response (whole, or a server-sent-event stream, chunk by chunk as it arrives) goes
back unchanged but for the gateway's ``x-tokenomy-*`` headers.

Errors the gateway itself answers (malformed JSON, unknown route, oversize body, a spent hard
budget, an unreachable or timed-out upstream) come in the provider's own error shape, so
each SDK raises its usual exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from tokenomy.gateway import policies
from tokenomy.gateway.config import GatewayConfig
from tokenomy.gateway.providers import (
    block_digest,
    error_body,
    least_prompt_tokens,
    provider_for_path,
)
from tokenomy.gateway.recorder import BudgetState, Exchange, Recorder

__all__ = ["Gateway", "create_app"]

log = logging.getLogger("tokenomy.gateway")

# Not forwarded either way: hop-by-hop headers, and what the proxy recomputes.
_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding",
    "content-encoding",
})  # fmt: skip
_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key")
_GEMINI_ACTIONS = ("generateContent", "streamGenerateContent")


@dataclass(frozen=True, slots=True)
class Route:
    provider: str
    name: str  # chat | responses | messages | generateContent | streamGenerateContent | other
    record: bool = True


class Gateway:
    """The application state: configuration, upstream connection pool, writer, budgets."""

    def __init__(self, config: GatewayConfig, home: Path) -> None:
        self.config = config
        self.home = home
        self.budgets = BudgetState(config.budgets)
        self.recorder = Recorder(home, self.budgets)
        self._pricer: Any = None  # for the budgets' least cost; loaded on first use
        self.salt = config.salt or _home_salt(home)
        self.session: aiohttp.ClientSession | None = None
        # Request ids: unique across processes and restarts without a urandom call a request.
        self._id_prefix = f"gw-{uuid.uuid4().hex[:12]}-"
        self._ids = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes, handler_args={
            "max_field_size": 65536})  # fmt: skip
        app.router.add_post("/v1/chat/completions", self._handler(Route("openai", "chat")))
        app.router.add_post("/v1/responses", self._handler(Route("openai", "responses")))
        app.router.add_post("/v1/messages", self._handler(Route("anthropic", "messages")))
        app.router.add_post(
            "/v1/messages/count_tokens", self._handler(Route("anthropic", "other", False))
        )
        for version in ("v1beta", "v1", "v1alpha"):
            app.router.add_post(f"/{version}/models/{{tail}}", self._gemini)
        app.router.add_get("/healthz", self._health)
        app.router.add_route("*", "/{path:.*}", self._not_found)
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _startup(self, app: web.Application) -> None:
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=min(30.0, self.config.upstream_timeout_s),
            sock_read=self.config.upstream_timeout_s,
        )  # fmt: skip
        self.session = aiohttp.ClientSession(
            timeout=timeout,
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )
        if self.config.record:
            await asyncio.get_running_loop().run_in_executor(None, self.recorder.start)
        if self.config.budgets:  # prices loaded before the first request, not during it
            await asyncio.get_running_loop().run_in_executor(None, self._load_pricer)

    async def _cleanup(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()
        if self.config.record:
            await asyncio.get_running_loop().run_in_executor(None, self._stop_recorder)

    def _stop_recorder(self) -> None:
        self.recorder.flush()
        self.recorder.stop()

    async def _health(self, request: web.Request) -> web.Response:
        rec = self.recorder
        body = {"ok": True, "recorded": rec.recorded, "spooled": rec.spooled,
                "failed_writes": rec.failed_writes}  # fmt: skip
        return web.json_response(body)

    async def _not_found(self, request: web.Request) -> web.Response:
        provider = provider_for_path(request.path)
        return _error(provider, 404, f"tokenomy gateway: no route {request.method} {request.path}")

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        model, _, action = tail.partition(":")
        if not action or not model:
            return _error("gemini", 404, f"tokenomy gateway: no route POST {request.path}")
        route = Route("gemini", action, action in _GEMINI_ACTIONS)
        return await self._proxy(request, route, model)

    def _handler(self, route: Route) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._proxy(request, route, None)

        return handle

    # -- the proxy --------------------------------------------------------------------------

    async def _proxy(
        self, request: web.Request, route: Route, path_model: str | None
    ) -> web.StreamResponse:
        started = time.perf_counter()
        when = datetime.now(UTC)
        provider = route.provider
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(provider, 413, "tokenomy gateway: request body larger than "
                          f"{self.config.max_body_bytes:,} bytes")  # fmt: skip
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _error(provider, 400, "tokenomy gateway: the request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(provider, 400, "tokenomy gateway: the request body is not a JSON object")

        headers = request.headers
        model = path_model if path_model is not None else str(body.get("model") or "")
        ex = Exchange(
            request_id=f"{self._id_prefix}{next(self._ids):x}", time=when, provider=provider,
            route=route.name,
            status=0, streamed=False, model_requested=model, model_sent=model,
            project=headers.get("x-tokenomy-project", ""), user=headers.get("x-tokenomy-user", ""),
            vkey=headers.get("x-tokenomy-key", ""), session=headers.get("x-tokenomy-session", ""),
            tags=headers.get("x-tokenomy-tags", ""), key_hash=self._key_hash(request),
        )  # fmt: skip
        extra_headers = {"x-tokenomy-request-id": ex.request_id}

        # Levers: each off unless configured; the body is re-encoded only when one acted.
        streamed = bool(body.get("stream")) or route.name == "streamGenerateContent"
        applied = self._levers(body, route, ex, streamed) if route.record else []
        if applied:
            raw = orjson.dumps(body)
            ex.levers = ",".join(applied)
            extra_headers["x-tokenomy-levers"] = ex.levers
        if route.record:  # which prefix the next request shares: hashes, never the text
            ex.blocks = block_digest(provider, body)

        # Budgets (after the levers: a routed request is priced as the model it goes to): a
        # hard budget that the spend, the requests in flight and the least this one can cost
        # would exceed refuses; a passed soft one warns.
        if self.budgets.budgets and route.record and self.config.record:
            attribution = {"project": ex.project, "user": ex.user, "vkey": ex.vkey}
            least = self._least_cost(provider, body, ex.model_sent, when)
            hard, soft = self.budgets.check(attribution, when, least)
            if hard is not None:
                who = "" if hard.scope == "all" else _who_of(hard.scope, attribution)
                spent = self.budgets.spent(hard, who, when)
                held = self.budgets.held(hard, who, when)
                message = (f"tokenomy gateway: {hard.label} would be exceeded (${spent:.6f} "
                           f"spent this {hard.period}, ${held:.6f} in flight, this request "
                           f"at least ${least:.6f}); request refused")  # fmt: skip
                log.warning("%s [%s]", message, ex.request_id)
                return _error(provider, 429, message, "budget_exceeded", extra_headers)
            self.budgets.hold(ex.request_id, attribution, when, least)
            if soft:
                text = "; ".join(f"{b.label} passed" for b in soft)
                log.warning("tokenomy gateway: %s [%s]", text, ex.request_id)
                extra_headers["x-tokenomy-budget-warning"] = text

        url = self.config.upstreams[provider] + request.path
        if path_model is not None and ex.model_sent != model:
            url = url.replace(f"/models/{model}:", f"/models/{ex.model_sent}:", 1)
        if request.query_string:
            url += "?" + request.query_string
        out_headers = {k: v for k, v in headers.items() if k.lower() not in _HOP
                       and not k.lower().startswith("x-tokenomy-")}  # fmt: skip
        assert self.session is not None
        try:
            upstream = await self.session.post(url, data=raw, headers=out_headers)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            return self._failed(ex, route, started, 504, "upstream timed out", extra_headers)
        except aiohttp.ClientError as exc:
            message = f"upstream unreachable ({type(exc).__name__})"
            return self._failed(ex, route, started, 502, message, extra_headers)

        async with upstream:
            ex.status = upstream.status
            ex.streamed = streamed and upstream.status == 200
            resp_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
            resp_headers.update(extra_headers)
            if not ex.streamed:
                try:
                    payload = await upstream.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    status = 504 if isinstance(exc, TimeoutError) else 502
                    message = f"upstream failed mid-response ({type(exc).__name__})"
                    return self._failed(ex, route, started, status, message, extra_headers)
                ex.payload = payload
                self._record(ex, route, started)
                return web.Response(body=payload, status=upstream.status, headers=resp_headers)
            return await self._stream(request, upstream, resp_headers, ex, route, started)

    async def _stream(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        headers: dict[str, str],
        ex: Exchange,
        route: Route,
        started: float,
    ) -> web.StreamResponse:
        """Relay the event stream chunk by chunk. A client that goes away is no reason to
        stop reading: the provider bills the whole generation, so the stream is read to its
        end (its final usage) and recorded as abandoned."""
        resp = web.StreamResponse(status=upstream.status, headers=headers)
        chunks: list[bytes] = []
        client_gone = False
        try:
            await resp.prepare(request)
        except (ConnectionError, RuntimeError):
            client_gone = True
        try:
            async for chunk in upstream.content.iter_any():
                chunks.append(chunk)
                if not client_gone:
                    try:
                        await resp.write(chunk)
                    except (ConnectionError, RuntimeError):
                        client_gone = True
        except (TimeoutError, aiohttp.ClientError) as exc:
            ex.error = f"upstream failed mid-stream ({type(exc).__name__})"
        ex.abandoned = client_gone
        ex.payload = b"".join(chunks)
        self._record(ex, route, started)
        if not client_gone:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await resp.write_eof()
        return resp

    def _levers(
        self, body: dict[str, Any], route: Route, ex: Exchange, streamed: bool
    ) -> list[str]:
        levers = self.config.levers
        applied: list[str] = []
        if levers.route:
            ex.model_sent, changed = policies.route_model(body, levers.route, ex.model_requested)
            if changed:
                applied.append(f"route:{ex.model_requested}->{ex.model_sent}")
        if levers.max_tokens is not None and policies.clamp_max_tokens(
            body, route.provider, levers.max_tokens
        ):
            applied.append(f"cap:{levers.max_tokens}")
        ttl = levers.anthropic_cache_ttl
        if (
            route.provider == "anthropic"
            and levers.anthropic_cache
            and policies.anthropic_cache_breakpoints(body, ttl)
        ):
            applied.append(f"cache:auto:{ttl}")
        who = ex.project or ex.user or ex.vkey
        if (
            route.provider == "openai"
            and levers.openai_prompt_cache_key
            and policies.openai_prompt_cache_key(body, who)
        ):
            applied.append("prompt_cache_key")
        if route.name == "chat" and streamed and self.config.stream_usage and self.config.record:
            options = body.get("stream_options")
            if not isinstance(options, dict) or not options.get("include_usage"):
                body["stream_options"] = {**(options or {}), "include_usage": True}
                applied.append("stream_usage")
        return applied

    def _load_pricer(self) -> None:
        from tokenomy.pricing import Pricer

        pricer = Pricer()
        pricer.load()
        self._pricer = pricer

    def _least_cost(
        self, provider: str, body: dict[str, Any], model: str, when: datetime
    ) -> Decimal:
        """The least this request can cost (its prompt's least tokens at the cheapest input
        rate); zero for a model without a price."""
        if self._pricer is None:
            self._load_pricer()
        rates = self._pricer.rates(model, "", when)
        return (
            Decimal(0) if rates is None else rates.least_cost(least_prompt_tokens(provider, body))
        )

    def _failed(
        self, ex: Exchange, route: Route, started: float, status: int, message: str,
        headers: dict[str, str],
    ) -> web.Response:  # fmt: skip
        ex.status = status
        ex.error = message
        self._record(ex, route, started)
        return _error(ex.provider, status, f"tokenomy gateway: {message}", None, headers)

    def _record(self, ex: Exchange, route: Route, started: float) -> None:
        ex.latency_ms = (time.perf_counter() - started) * 1000
        if self.config.record and route.record:
            self.recorder.submit(ex)

    def _key_hash(self, request: web.Request) -> str:
        for name in _KEY_HEADERS:
            value = request.headers.get(name)
            if value:
                break
        else:
            value = request.query.get("key", "")
        if not value:
            return ""
        value = value.removeprefix("Bearer ").strip()
        digest = hashlib.blake2b(value.encode(), key=self.salt.encode()[:64], digest_size=8)
        return digest.hexdigest()


def _who_of(scope: str, attribution: dict[str, str]) -> str:
    return attribution.get("vkey" if scope == "key" else scope, "")


def _error(
    provider: str, status: int, message: str, code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:  # fmt: skip
    return web.Response(
        body=error_body(provider, status, message, code),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _home_salt(home: Path) -> str:
    """A random salt kept beside the ledger, so a key's hash is stable across restarts but
    means nothing elsewhere."""
    path = home / "gateway-salt"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True)
        salt = secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(salt)
        return salt


def create_app(config: GatewayConfig, home: Path) -> tuple[web.Application, Gateway]:
    gateway = Gateway(config, home)
    return gateway.app(), gateway
