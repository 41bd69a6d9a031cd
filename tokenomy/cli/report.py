"""``tokenomy import`` and ``tokenomy report daily|weekly|monthly|session|model|project|blocks``."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err, visible

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
    rows = result.rows
    if fmt is not Format.json and any("by_model" in r for r in rows):
        # Each row, then its models beneath it (JSON keeps them nested: rows[].by_model).
        rows = []
        for row in result.rows:
            rows.append({k: v for k, v in row.items() if k != "by_model"})
            rows += [{**m, key: f"  {m['model']}"} for m in row.get("by_model", [])]
    emit(rows, fmt, title=title, totals=result.totals, columns=columns)
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


Breakdown = Annotated[
    bool, typer.Option("--breakdown", help="Each row split by model, beneath it.")
]


class Ordering(enum.StrEnum):
    asc = "asc"
    desc = "desc"


Order = Annotated[
    Ordering, typer.Option("--order", help="The rows' order (periods oldest first with asc).")
]


def _report(grouping: str, title: str) -> Callable[..., None]:
    @c.ledger_options()
    def command(
        options: c.LedgerOptions, breakdown: Breakdown = False, order: Order = Ordering.asc
    ) -> None:
        from tokenomy.bill import Bill, bill

        args = (grouping, options.filters, breakdown)
        cached = c.cached_report(options, args)
        if cached is not None:
            result = Bill(**cached)
        else:
            ledger, _ = options.open()
            with ledger:
                result = bill(ledger, grouping, options.filters, breakdown)
            c.store_report(options, args, result.to_dict())
        if order is Ordering.desc:
            result = Bill(result.grouping, result.rows[::-1], result.totals)
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
    ("user", "Cost and tokens by user: who pushed or sent the calls (a shared ledger)."),
]:
    report_app.command(_grouping)(_report(_grouping, _title))


@report_app.command("blocks")
@c.ledger_options()
def blocks_command(
    options: c.LedgerOptions,
    token_limit: Annotated[
        int | None,
        typer.Option(
            "--token-limit", min=1, help="A block's token cap: when it is hit.", show_default=False
        ),
    ] = None,
    cost_limit: Annotated[
        float | None,
        typer.Option(
            "--cost-limit",
            min=0.0,
            help="A block's dollar cap: when it is hit.",
            show_default=False,
        ),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="Keep the active block on screen, refreshed.")
    ] = False,
    refresh: Annotated[
        float, typer.Option("--refresh", min=0.5, help="Seconds between refreshes (--live).")
    ] = 5.0,
    at: Annotated[str | None, typer.Option("--at", hidden=True)] = None,
) -> None:
    """5-hour windows as usage caps count them, with burn rate and projection; with a token or
    dollar cap, when the active block hits it at its pace so far (an estimate)."""
    from decimal import Decimal

    from tokenomy.bill import Bill, blocks, cap_forecast
    from tokenomy.statusline import parse_now

    usd = Decimal(str(cost_limit)) if cost_limit is not None else None
    zone = options.filters.timezone

    def compute(quiet: bool) -> tuple[Bill, dict[str, Any], Any]:
        now = parse_now(at)
        ledger, _ = options.open(quiet=quiet)
        with ledger:
            result = blocks(ledger, options.filters, now=now)
        active = next((r for r in result.rows if r["active"]), None)
        caps = {} if active is None else cap_forecast(active, zone, now, tokens=token_limit,
                                                      usd=usd)  # fmt: skip
        return result, caps, active

    if not live:
        result, caps, active = compute(options.fmt is Format.json)
        if options.fmt is Format.json and caps:
            result = Bill(result.grouping, result.rows, {**result.totals, "caps": caps})
        print_bill(result, options.fmt, "5-hour blocks")
        if options.fmt is Format.table:
            for line in _cap_lines(caps, active, zone, token_limit or cost_limit):
                err.print(line, highlight=False)
        return
    from rich.live import Live

    from tokenomy.cli.output import console

    with Live(console=console(), auto_refresh=False) as screen:
        try:
            while True:
                result, caps, active = compute(True)
                screen.update(_live_view(active, caps, zone), refresh=True)
                time.sleep(refresh)
        except KeyboardInterrupt:
            pass


def _cap_lines(
    caps: dict[str, Any], active: dict[str, Any] | None, zone: str, limit: Any = None
) -> list[str]:
    if active is None:
        return ["no active block: nothing to forecast"] if limit else []
    out = []
    for name, cap in caps.items():
        used = f"${cap['used']:,.2f} of ${cap['limit']:,.2f}" if name == "usd" else (
            f"{cap['used']:,} of {cap['limit']:,} tokens")  # fmt: skip
        hit = cap["hit_at"]
        local = None if hit is None else hit.astimezone(ZoneInfo(zone))
        when = "not before the block ends" if local is None else (
            f"hit at {local:%H:%M} at this pace (an estimate)")  # fmt: skip
        out.append(f"cap: {used} ({cap['share']:.0%}); {when}")
    return out


def _live_view(active: dict[str, Any] | None, caps: dict[str, Any], zone: str) -> Any:
    from rich.text import Text

    if active is None:
        return Text("no active 5-hour block (waiting for the next call)")
    lines = [
        f"block {active['block']} -> {active['end']}: {active['calls']:,} calls, "
        f"{active['total_tokens']:,} tokens, ${active['cost_usd']:,.2f}",
        f"burn: ${active['usd_per_hour']:,.2f}/h, {active['tokens_per_min']:,.0f} tokens/min; "
        f"projected ${active.get('projected_cost_usd', 0):,.2f} at the block's end",
        *_cap_lines(caps, active, zone, True),
    ]
    return Text("\n".join(visible(line) for line in lines))


def _period(value: str, name: str) -> tuple[date, date]:
    """``YYYY-MM`` (a month), ``YYYY-MM-DD`` (a day) or ``YYYY-MM-DD..YYYY-MM-DD``."""
    try:
        if ".." in value:
            first, last = value.split("..", 1)
            return date.fromisoformat(first), date.fromisoformat(last)
        if len(value) == 7:
            start = date.fromisoformat(value + "-01")
            return start, _month_end(start)
        day = date.fromisoformat(value)
        return day, day
    except ValueError as exc:
        raise typer.BadParameter(
            f"expected YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, got {value!r}",
            param_hint=name,
        ) from exc


def _month_end(start: date) -> date:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


@report_app.command("trend")
@c.ledger_options(csv=False)
def trend_command(
    options: c.LedgerOptions,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="The earlier period: YYYY-MM, YYYY-MM-DD or FROM..TO "
            "(default: the month before --current).",
            show_default=False,
        ),
    ] = None,
    current: Annotated[
        str | None,
        typer.Option(
            "--current",
            help="The later period, as --base (default: the month of the latest call).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Why the bill changed between two periods: the change per model split into a volume
    effect (more or fewer tokens) and a price effect (a dearer or cheaper effective price per
    token, caching included); volume + price = change, to the cent."""
    from tokenomy.trend import trend

    if options.filters.since or options.filters.until:
        raise typer.BadParameter("trend compares --base with --current; --since and --until "
                                 "do not apply")  # fmt: skip
    ledger, _ = options.open(quiet=options.fmt is Format.json)
    with ledger:
        if current is None:
            months = [r["key"] for r in ledger.sums("monthly", options.filters)]
            if not months:
                err.print("no calls in the ledger to compare")
                raise typer.Exit(1)
            current = str(months[-1])
        now = _period(current, "--current")
        if base is None:
            first = now[0].replace(day=1) - timedelta(days=1)
            before = (first.replace(day=1), first)
        else:
            before = _period(base, "--base")
        result = trend(ledger, before, now, options.filters)
    span = {"base": list(result.to_dict()["base"]), "current": list(result.to_dict()["current"])}
    columns = ["model", "base_cost_usd", "current_cost_usd", "change_usd", "volume_effect_usd",
               "price_effect_usd", "base_tokens", "current_tokens", "base_usd_per_mtok",
               "current_usd_per_mtok"]  # fmt: skip
    if result.totals.get("unpriced_calls"):
        columns.append("unpriced_calls")
    title = (f"Bill change {span['base'][0]}..{span['base'][1]} -> "
             f"{span['current'][0]}..{span['current'][1]}: volume and price effects")  # fmt: skip
    emit(result.rows, options.fmt, title=title, totals=result.totals, columns=columns,
         extra=span)  # fmt: skip
