"""``tokenomy import`` and ``tokenomy report daily|weekly|monthly|session|model|project|blocks``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

if TYPE_CHECKING:  # loaded by the command: a cached warm run never needs the store
    from tokenomy.bill import Bill

report_app = typer.Typer(
    help="Bills from the ledger, by day, week, month, session, model, project or 5-hour block.",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

_COLUMNS = [
    "calls", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning",
    "total_tokens", "cost_usd",
]  # fmt: skip


@app.command("import")
@c.ledger_options(filters=False, csv=False)
def import_(options: c.LedgerOptions) -> None:
    """Import logs into the ledger without a report (only what is new is read)."""
    ledger, report = options.open(quiet=options.fmt is Format.json)
    ledger.close()
    if options.fmt is Format.json:
        emit([], Format.json, extra=report.to_dict())


def print_bill(result: Bill, fmt: Format, title: str) -> None:
    key = result.grouping if result.grouping != "blocks" else "block"
    columns = [key, *(_COLUMNS if result.grouping != "blocks" else [])]
    if result.grouping == "session":
        columns = [key, "project", "start", "duration_s", "subagents", *_COLUMNS]
    elif result.grouping == "blocks":
        columns = [key, "active", "calls", "total_tokens", "cost_usd", "tokens_per_min",
                   "usd_per_hour", "projected_cost_usd"]  # fmt: skip
    if any(r.get("unpriced_calls") for r in result.rows):
        columns.append("unpriced_calls")
    if any("reported_cost_usd" in r for r in result.rows):
        columns += ["reported_cost_usd", "reported_minus_computed_usd"]
    if fmt is Format.table and result.grouping == "session":
        columns = [k for k in columns if k not in ("cache_write_5m", "cache_write_1h", "reasoning")]
    emit(result.rows, fmt, title=title, totals=result.totals, columns=columns)
    if fmt is Format.table:
        _footnotes(result)


def _footnotes(result: Bill) -> None:
    t = result.totals
    if t.get("unpriced_calls"):
        err.print(
            f"note: {t['unpriced_calls']:,} call(s) have no known price: counted, not priced "
            "(pass --prices FILE to price them)."
        )
    if t.get("lower_bound_calls"):
        err.print(
            f"note: {t['lower_bound_calls']:,} call(s) come from logs that never wrote the final "
            "output count: their output tokens are a lower bound."
        )


def _report(grouping: str, title: str) -> Callable[..., None]:
    @c.ledger_options()
    def command(options: c.LedgerOptions) -> None:
        from tokenomy.bill import Bill, bill, blocks

        args = (grouping, options.filters)
        cached = c.cached_report(options, args)
        if cached is not None:
            result = Bill(**cached)
        else:
            ledger, _ = options.open()
            with ledger:
                if grouping == "blocks":
                    result = blocks(ledger, options.filters)
                else:
                    result = bill(ledger, grouping, options.filters)
            if grouping != "blocks":  # an active block changes with the clock
                c.store_report(options, args, result.to_dict())
        print_bill(result, options.fmt, title)

    command.__doc__ = title
    return command


for _grouping, _title in [
    ("daily", "Cost and tokens by day."),
    ("weekly", "Cost and tokens by week (weeks start on Monday)."),
    ("monthly", "Cost and tokens by month."),
    (
        "session",
        "Tokens per task: each session with its sub-agents, calls, tokens, cost, duration.",
    ),
    ("model", "Cost and tokens by model."),
    ("project", "Cost and tokens by project."),
    ("source", "Cost and tokens by log source."),
    ("blocks", "5-hour windows as usage caps count them, with burn rate and projection."),
]:
    report_app.command(_grouping)(_report(_grouping, _title))
