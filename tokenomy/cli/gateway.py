"""``tokenomy gateway``: run the live proxy that records every call into the ledger."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from tokenomy.cli.app import app
from tokenomy.cli.output import err


@app.command()
def gateway(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML file: upstreams, levers, budgets (docs/gateway.md)."
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="Port (default 8787).")] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            "--ledger-home",
            envvar="TOKENOMY_HOME",
            help="Ledger directory.",
            show_default=False,
        ),
    ] = None,
    no_record: Annotated[
        bool, typer.Option("--no-record", help="Forward only; record nothing.")
    ] = False,
    drain: Annotated[
        bool, typer.Option("--drain", help="Move the spool into the ledger and exit.")
    ] = False,
) -> None:
    """A local proxy for the OpenAI, Anthropic and Gemini APIs that records every call into
    the ledger (source `gateway`), enforces dollar budgets and applies the live levers.

    Point `OPENAI_BASE_URL` at `http://127.0.0.1:8787/v1`, `ANTHROPIC_BASE_URL` at
    `http://127.0.0.1:8787`, the Gemini SDK's base URL at `http://127.0.0.1:8787`."""
    from tokenomy.gateway import GatewayConfig, serve
    from tokenomy.ledger import default_home

    where = home or default_home()
    if drain:
        from tokenomy.gateway.recorder import drain as drain_spool

        err.print(f"{drain_spool(where):,} spooled request(s) moved into the ledger", markup=False)
        return
    try:
        settings = GatewayConfig.load(config, host=host, port=port,
                                      record=False if no_record else None)  # fmt: skip
    except (OSError, ValueError, KeyError) as error:
        raise typer.BadParameter(str(error), param_hint="--config") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    err.print(
        f"tokenomy gateway on http://{settings.host}:{settings.port} "
        f"(ledger {where}; recording {'on' if settings.record else 'off'})",
        markup=False, highlight=False,
    )  # fmt: skip
    serve(settings, where)
