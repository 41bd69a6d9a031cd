"""``tokenomy demo``: the main job on real data, whatever this machine has.

With the user's own agent logs (``~/.claude``, ``~/.codex``, Gemini CLI) it bills them; given
paths, it bills those. Without either, it bills the real Claude Code sessions tokenomy ships
(``tokenomy/data/sample_logs``, MIT-licensed, with their origin in its MANIFEST.md).
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

SAMPLE_LOGS = Path(str(resources.files("tokenomy.data") / "sample_logs"))


@app.command()
def demo(
    paths: c.Paths = None,
    home: c.Home = None,
    limit: Annotated[int, typer.Option(help="Sessions to list.")] = 10,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the HTML report.")
    ] = None,
) -> None:
    """Run the main job on real data: the logs given, else your own, else real Claude Code
    sessions that tokenomy ships."""
    from tokenomy.cli.anatomy import print_anatomy
    from tokenomy.cli.report import print_bill
    from tokenomy.cli.whatif import table_rows
    from tokenomy.render import write_report
    from tokenomy.report import collect
    from tokenomy.sources import default_locations, has_logs

    targets = list(paths or []) or [p for p in default_locations() if has_logs([p])]
    if targets:
        err.print(f"Your logs: {', '.join(map(str, targets))}", highlight=False)
    else:
        err.print(f"No agent logs in your home; using the real sessions in {SAMPLE_LOGS}")
        targets = [SAMPLE_LOGS]
    ledger, _ = c.open_ledger(targets, home)
    with ledger:
        c.note_compile(ledger.count())
        with c.busy("computing the bill, anatomy, what-if and self-host views"):
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
        rows = table_rows(result)
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
