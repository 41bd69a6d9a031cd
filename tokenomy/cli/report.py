"""``tokenomy import`` and ``tokenomy report daily|weekly|monthly|session|model|project|blocks``."""

from __future__ import annotations

import typer

from tokenomy.bill import Bill, bill, blocks
from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

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
def import_(
    paths: c.Paths = None,
    home: c.Home = None,
    prices: c.Prices = None,
    strict: c.Strict = False,
    as_json: c.FormatJson = False,
) -> None:
    """Import logs into the ledger without a report (only what is new is read)."""
    _, report = c.open_ledger(paths, home, prices, strict=strict, quiet=as_json)
    if as_json:
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


def _report(grouping: str, title: str):  # type: ignore[no-untyped-def]
    def command(
        paths: c.Paths = None,
        home: c.Home = None,
        prices: c.Prices = None,
        strict: c.Strict = False,
        since: c.Since = None,
        until: c.Until = None,
        model: c.Model = None,
        project: c.Project = None,
        source: c.SourceOpt = None,
        timezone: c.Timezone = "UTC",
        as_json: c.FormatJson = False,
        as_csv: c.FormatCsv = False,
    ) -> None:
        fmt = c.output_format(as_json, as_csv)
        filters = c.filters_from(since, until, model, project, source, timezone)
        result = c.cached_report(paths, home, prices, (grouping, filters))
        if result is None:
            ledger, _ = c.open_ledger(paths, home, prices, strict=strict)
            with ledger:
                if grouping == "blocks":
                    result = blocks(ledger, filters)
                else:
                    result = bill(ledger, grouping, filters)
            if grouping != "blocks":  # an active block changes with the clock
                c.store_report(paths, home, prices, (grouping, filters), result)
        print_bill(result, fmt, title)

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
