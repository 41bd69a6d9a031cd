"""The live gateway: a local proxy for the OpenAI, Anthropic and Gemini APIs that records
every call into the ledger, enforces dollar budgets and applies the live levers.

- ``config``: ``GatewayConfig`` (TOML), upstreams, levers, budgets
- ``server``: the aiohttp application (``create_app``)
- ``providers``: error shapes; reading a response with the provider's source module
- ``recorder``: the journal, the writer thread (it drives the ``drainer`` process), the
  spool, the budget state
- ``drainer``: the writer process: spool files into the ledger
- ``spool``: where the journal and spool files lie (every ledger command looks there first)
- ``policies``: the live levers as pure functions of a request body
- ``stub``: a stub upstream answering recorded payloads (tests, benchmarks)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.gateway.config import Budget, GatewayConfig, Levers
    from tokenomy.gateway.server import Gateway, create_app

__all__ = ["Budget", "Gateway", "GatewayConfig", "Levers", "create_app", "serve"]

# Loaded on first use: draining the spool (every ledger command) never loads aiohttp.
_WHERE = {
    "Budget": "config", "GatewayConfig": "config", "Levers": "config",
    "Gateway": "server", "create_app": "server",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(f"tokenomy.gateway.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tokenomy.gateway' has no attribute {name!r}")


def serve(config: GatewayConfig, home: object) -> None:
    """Run the gateway until interrupted."""
    from pathlib import Path

    from aiohttp import web

    from tokenomy.gateway.server import create_app

    app, _ = create_app(config, Path(str(home)))
    loop = None
    try:  # the `gateway` extra: libuv's event loop, about twice the requests a core
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        pass
    web.run_app(app, host=config.host, port=config.port, access_log=None, print=None, loop=loop)
