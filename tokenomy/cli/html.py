"""``tokenomy report html``: the bill and its views as one self-contained HTML file, and
``tokenomy serve``: the same views as a local dashboard that refreshes as logs grow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app, config
from tokenomy.cli.output import err
from tokenomy.cli.report import report_app


@report_app.command("html")
@c.ledger_options(csv=False)
def html(
    options: c.LedgerOptions,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path(
        "tokenomy-report.html"
    ),
) -> None:
    """One self-contained HTML file (opens from disk, loads nothing from the network): the
    bill at a glance, then charts and sortable tables for each view."""
    from tokenomy.render import write_report
    from tokenomy.report import collect

    ledger, _ = options.open()
    with ledger:
        c.note_compile(ledger.count(options.filters))
        with c.busy("gathering the report's views (bills, anatomy, what-if, self-host)"):
            views = collect(ledger, options.filters)
    size = write_report(views, str(out))
    err.print(f"wrote {out} ({size / 1024:,.0f} KiB)", highlight=False)
    for view, reason in views.missing.items():
        err.print(f"note: {view} view not shown: {reason}", highlight=False)


@app.command()
def serve(
    paths: c.Paths = None,
    home: c.Home = None,
    prices: c.Prices = None,
    ledger: c.LedgerTarget = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but 127.0.0.1 exposes your bill.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    poll: Annotated[
        float, typer.Option(help="Seconds between checks of the watched logs for new lines.")
    ] = 2.0,
    timezone: c.Timezone = None,
) -> None:
    """A local dashboard over the ledger: the report's views with filters by date, project,
    model and source, refreshed live as new log lines arrive."""
    from tokenomy.render.dashboard import Dashboard
    from tokenomy.sources import default_locations

    home, prices, paths = c.resolve(home, prices, paths)
    store, _ = c.open_ledger(paths, home, prices, ledger_url=ledger)
    watched = list(paths) if paths else default_locations()
    timezone = timezone or config().zone
    dashboard = Dashboard(store, watched, host=host, port=port, poll_s=poll, timezone=timezone)
    err.print(f"serving on {dashboard.url} (Ctrl-C to stop)", highlight=False)
    try:
        dashboard.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.close()
