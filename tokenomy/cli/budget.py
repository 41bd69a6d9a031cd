"""``tokenomy budget``: today's, this month's and the active block's spend against budgets,
as an alert a script, a cron job or a hook can act on (exit status, a notifier command)."""

from __future__ import annotations

import shlex
import subprocess
from decimal import Decimal
from typing import Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app, config
from tokenomy.cli.output import Format, emit, err
from tokenomy.config import usd_amount

OVER, WARNED = 1, 3  # exit statuses (2 is a usage error)


def _usd(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    amount = usd_amount(value)
    if amount is None:
        message = f"expected a positive amount in USD, got {value!r}"
        raise typer.BadParameter(message, param_hint=name)
    return amount


@app.command("budget")
@c.ledger_options(csv=False)
def budget_command(
    options: c.LedgerOptions,
    daily: Annotated[
        str | None,
        typer.Option(
            "--daily",
            help="Daily budget in USD (default: the config's).",
            show_default=False,
            metavar="USD",
        ),
    ] = None,
    monthly: Annotated[
        str | None,
        typer.Option("--monthly", help="Monthly budget in USD.", show_default=False, metavar="USD"),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(
            "--block", help="Budget per 5-hour block in USD.", show_default=False, metavar="USD"
        ),
    ] = None,
    warn_at: Annotated[
        float,
        typer.Option(
            "--warn-at", help="Warn once this share of a budget is spent.", min=0.0, max=1.0
        ),
    ] = 0.8,
    notify: Annotated[
        str | None,
        typer.Option(
            "--notify",
            help="A command run with the alert as its last argument when a budget is past "
            "--warn-at (e.g. notify-send, or a curl to a webhook); no shell.",
            show_default=False,
            metavar="CMD",
        ),
    ] = None,
    at: Annotated[str | None, typer.Option("--at", hidden=True)] = None,
) -> None:
    """Spend against budgets: today, this month, the active 5-hour block, each with the spend
    projected to the period's end at the pace so far (an estimate).

    Exit status: 0 all under --warn-at, 3 one past --warn-at, 1 one over its budget.
    """
    from tokenomy.budget import check
    from tokenomy.statusline import parse_now

    budgets = dict(config().budgets)
    for key, value, name in (("daily_usd", daily, "--daily"), ("monthly_usd", monthly,
                             "--monthly"), ("block_usd", block, "--block")):  # fmt: skip
        amount = _usd(value, name)
        if amount is not None:
            budgets[key] = amount
    if not budgets:
        err.print("error: no budget: pass --daily, --monthly or --block, or set [budgets] in the "
                  "config file (docs/config.md)")  # fmt: skip
        raise typer.Exit(2)
    ledger, _ = options.open(quiet=options.fmt is Format.json)
    with ledger:
        states = check(ledger, budgets, options.filters.timezone, parse_now(at))
    rows = [s.to_dict() for s in states]
    emit(rows, options.fmt, columns=["budget", "budget_usd", "spent_usd", "spent_share",
                                     "projected_usd", "over"])  # fmt: skip
    over = [s for s in states if s.over]
    warned = [s for s in states if s.share >= warn_at]
    if warned:
        alert = "; ".join(
            f"{s.name.removesuffix('_usd')} budget {'over' if s.over else 'at'} "
            f"{s.share:.0%}: ${s.spent_usd:,.2f} of ${s.budget_usd:,.2f} "
            f"(projected ${s.projected_usd:,.2f})"
            for s in warned
        )
        err.print(f"tokenomy: {alert}", highlight=False)
        if notify:
            _notify(notify, alert)
    if over:
        raise typer.Exit(OVER)
    if warned:
        raise typer.Exit(WARNED)


def _notify(command: str, alert: str) -> None:
    """Run the user's notifier with the alert as its last argument (no shell: the alert,
    which holds names from logs, is an argument, never code)."""
    try:
        done = subprocess.run([*shlex.split(command), f"tokenomy: {alert}"], timeout=30,
                              capture_output=True)  # fmt: skip
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        err.print(f"warning: --notify failed: {exc}", highlight=False)
        return
    if done.returncode != 0:
        err.print(f"warning: --notify exited with status {done.returncode}", highlight=False)
