"""Running a stub upstream and a gateway in a background event loop, for the gateway tests
(the SDK clients are synchronous: they call the gateway from the test's own thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tokenomy.gateway import Gateway, GatewayConfig, create_app
from tokenomy.gateway.stub import StubUpstream

DATA = Path(__file__).parent / "data" / "gateway"

# fixture file -> the stub's payload key
FIXTURES = {
    "openai_chat.json": "openai_chat",
    "openai_chat_stream.sse": "openai_chat_stream",
    "openai_responses.json": "openai_responses",
    "openai_responses_stream.sse": "openai_responses_stream",
    "anthropic_message.json": "anthropic_messages",
    "anthropic_stream.sse": "anthropic_messages_stream",
    "gemini.json": "gemini",
    "gemini_stream.sse": "gemini_stream",
}


def payloads() -> dict[str, bytes]:
    return {key: (DATA / name).read_bytes() for name, key in FIXTURES.items()}


class Loop:
    """An event loop in a daemon thread; ``run`` a coroutine on it from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def _serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return runner, port


class Running:
    def __init__(self, loop: Loop, stub: StubUpstream, stub_url: str) -> None:
        self.loop = loop
        self.stub = stub
        self.stub_url = stub_url
        self.gateway: Gateway | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    def start_gateway(self, home: Path, **config: Any) -> Gateway:
        raw = dict(config)
        raw.setdefault("upstreams", {p: self.stub_url for p in ("openai", "anthropic", "gemini")})
        settings = GatewayConfig.from_dict(raw)
        app, gateway = create_app(settings, home)
        self._runner, port = self.loop.run(_serve(app))
        self.gateway = gateway
        self.url = f"http://127.0.0.1:{port}"
        return gateway

    def stop_gateway(self) -> None:
        if self._runner is not None:
            self.loop.run(self._runner.cleanup())
            self._runner = None

    def flush(self) -> None:
        assert self.gateway is not None
        assert self.gateway.recorder.flush(30)


@contextmanager
def running(
    home: Path, stub: StubUpstream | None = None, start: bool = True, **config: Any
) -> Iterator[Running]:
    """A stub upstream and (unless ``start`` is false) a gateway in front of it."""
    loop = Loop()
    stub = stub or StubUpstream(payloads())
    stub_runner, stub_port = loop.run(_serve(stub.app()))
    env = Running(loop, stub, f"http://127.0.0.1:{stub_port}")
    try:
        if start:
            env.start_gateway(home, **config)
        yield env
    finally:
        env.stop_gateway()
        loop.run(stub_runner.cleanup())
        loop.close()
