"""The live gateway: a local proxy for the OpenAI, Anthropic and Gemini APIs that records
every call into the ledger, enforces dollar budgets and applies the live levers.

- ``config``: ``GatewayConfig`` (TOML), upstreams, levers, budgets
- ``server``: the aiohttp application (``create_app``)
- ``providers``: error shapes; reading a response with the provider's source module
- ``recorder``: the writer thread, the spool, the budget state
- ``policies``: the live levers as pure functions of a request body
"""

from __future__ import annotations

from tokenomy.gateway.config import Budget, GatewayConfig, Levers
from tokenomy.gateway.server import Gateway, create_app

__all__ = ["Budget", "Gateway", "GatewayConfig", "Levers", "create_app", "serve"]


def serve(config: GatewayConfig, home: object) -> None:
    """Run the gateway until interrupted."""
    from pathlib import Path

    from aiohttp import web

    app, _ = create_app(config, Path(str(home)))
    web.run_app(app, host=config.host, port=config.port, access_log=None, print=None)
