"""``tokenomy mcp``: the Model Context Protocol server (``tokenomy.mcp_server``) on stdio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app, config


@app.command("mcp")
def mcp_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Log files or directories each tool imports first when the agent names none. "
            "With none, the config's paths, else the usual locations (~/.claude/projects, "
            "~/.codex/sessions, ~/.gemini/tmp).",
            show_default=False,
        ),
    ] = None,
    home: c.Home = None,
    prices: c.Prices = None,
    timezone: c.Timezone = None,
) -> None:
    """Serve the bill, anatomy, what-if and count as MCP tools over stdio, so an agent can ask
    what its own sessions cost and which lever would cut it (see docs/mcp.md):
    `claude mcp add tokenomy -- tokenomy mcp`."""
    from tokenomy.extras import require

    require("mcp", "mcp", "the MCP server")
    from tokenomy.mcp_server import Settings, build_server

    home, prices, paths = c.resolve(home, prices, paths)
    for path in paths or []:
        if not path.exists():
            raise typer.BadParameter(f"no such file or directory: {path}", param_hint="PATHS")
    zone = timezone or config().zone
    try:
        from tokenomy.ledger.filters import Filters

        Filters(timezone=zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timezone") from exc
    settings = Settings(home=home, prices=prices, paths=tuple(paths or ()), timezone=zone)
    build_server(settings).run("stdio")
