"""``tokenomy push``: a laptop's local logs into the team's shared PostgreSQL ledger."""

from __future__ import annotations

import getpass
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

User = Annotated[
    str | None,
    typer.Option("--user", envvar="TOKENOMY_USER", help="Whose calls these are (default: "
                 "your login name).", show_default=False),
]  # fmt: skip
Host = Annotated[
    str | None,
    typer.Option("--host", envvar="TOKENOMY_HOST", help="The machine they came from (default: "
                 "this host's name).", show_default=False),
]  # fmt: skip


@app.command()
def push(
    paths: c.Paths = None,
    ledger: c.LedgerTarget = None,
    user: User = None,
    host: Host = None,
    prices: c.Prices = None,
    as_json: c.FormatJson = False,
) -> None:
    """Import this machine's logs into the shared ledger (`--ledger postgresql://...` or
    `$TOKENOMY_LEDGER`), attributed to `--user` and `--host`. Safe to run from cron and from
    many machines at once: each batch of files is one transaction, so an interrupted push
    resumes where it stopped, and a call pushed twice counts once."""
    from tokenomy.ledger.home import is_postgres_url, ledger_target
    from tokenomy.ledger.postgres import PostgresLedger
    from tokenomy.pricing import Overrides, Pricer
    from tokenomy.sources import default_locations

    url = ledger_target(ledger)
    if not is_postgres_url(url):
        err.print("error: push needs a shared ledger: --ledger postgresql://user@host/db "
                  "(or $TOKENOMY_LEDGER)", markup=False, highlight=False)  # fmt: skip
        raise typer.Exit(2)
    for path in paths or []:
        if not path.exists():
            err.print(f"error: no such file or directory: {path}", markup=False)
            raise typer.Exit(2)
    pricer = Pricer(Overrides.load(prices)) if prices else None
    who = user or _login()
    where = host or socket.gethostname()
    targets: list[Path | str] = list(paths) if paths else list(default_locations())
    with PostgresLedger(str(url), pricer, user=who, host=where) as store:
        report = store.import_paths(targets)
        if as_json:
            emit([], Format.json, extra={"user": who, "host": where, **report.to_dict()})
            return
        err.print(f"pushed to {store.display} as {who}@{where}", markup=False, highlight=False)
        c.print_import(report)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")
