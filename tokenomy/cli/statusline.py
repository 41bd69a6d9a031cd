"""``tokenomy statusline``: Claude Code's status line (see ``tokenomy.statusline``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tokenomy import statusline as sl
from tokenomy.cli import common as c
from tokenomy.cli.app import app, config
from tokenomy.cli.output import err


@app.command("statusline")
def statusline(
    home: c.Home = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            "-z",
            help="IANA zone for today and blocks (default: the config's, else the machine's).",
            show_default=False,
        ),
    ] = None,
    prices: c.Prices = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the figures as JSON (docs/json.md).")
    ] = False,
    at: Annotated[str | None, typer.Option("--at", hidden=True)] = None,
) -> None:
    """Claude Code's status line: session cost, today's cost, the active 5-hour block with its
    burn rate and projected cost.

    Reads the JSON Claude Code pipes to a status-line command on stdin and imports the
    session's transcript first (only what is new). In ~/.claude/settings.json:
    `{"statusLine": {"type": "command", "command": "tokenomy statusline"}}`.
    """
    conf = config()
    try:
        hook = sl.parse_hook(sl.read_stdin())
    except ValueError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from exc
    zone = timezone or conf.zone
    try:
        from tokenomy.ledger.filters import Filters

        Filters(timezone=zone)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timezone") from exc
    now = sl.parse_now(at)
    prices = prices or conf.prices
    if home is None:
        env_home = os.environ.get("TOKENOMY_HOME")
        home = Path(env_home) if env_home else conf.home
    from tokenomy.ledger.home import default_home

    home = home or default_home()
    pricer = None
    if prices:
        from tokenomy.pricing import Overrides, Pricer

        pricer = Pricer(Overrides.load(prices))
    status = None if pricer else sl.cached_status(home, hook, zone, now)
    if status is None:
        status = sl.refresh(home, hook, zone, now, pricer)
    sl.emit(status, now, as_json, conf.budgets)
