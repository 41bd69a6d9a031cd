"""Budgets: today's, this month's and the active 5-hour block's spend against dollar limits,
with where each is heading at the current pace (for alerts in scripts, cron and hooks)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tokenomy.bill import block_at, block_rates
from tokenomy.ledger.filters import Filters

if TYPE_CHECKING:
    from tokenomy.ledger import Store

__all__ = ["BUDGETS", "BudgetState", "check"]

BUDGETS = ("daily_usd", "monthly_usd", "block_usd")  # as the config file names them


@dataclass(frozen=True)
class BudgetState:
    """One budget as of ``now``: spent, the limit, and the spend projected to the period's end
    at the pace so far (an estimate: a straight line through the period's spend)."""

    name: str
    budget_usd: Decimal
    spent_usd: Decimal
    projected_usd: Decimal

    @property
    def share(self) -> float:
        return float(self.spent_usd / self.budget_usd)

    @property
    def over(self) -> bool:
        return self.spent_usd > self.budget_usd

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.name,
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "spent_share": round(self.share, 4),
            "projected_usd": self.projected_usd,
            "over": self.over,
        }


def check(
    ledger: Store, budgets: dict[str, Decimal], timezone: str, now: datetime
) -> list[BudgetState]:
    """Each budget of ``budgets`` (keys of ``BUDGETS``) against the ledger's spend at ``now``."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = local.date()
    out = []
    for name in BUDGETS:
        if name not in budgets:
            continue
        if name == "block_usd":
            spent, projected = _block(ledger, timezone, now)
        else:
            first = day if name == "daily_usd" else day.replace(day=1)
            row = ledger.sums(None, Filters(since=first, until=day, timezone=timezone))[0]
            spent = Decimal(row["cost_usd"] or 0)
            start = datetime(first.year, first.month, first.day, tzinfo=zone)
            days = 1 if name == "daily_usd" else calendar.monthrange(day.year, day.month)[1]
            length = timedelta(days=days)
            elapsed = max(local - start, timedelta(minutes=1))
            projected = spent * Decimal(length / elapsed)
        out.append(BudgetState(name, budgets[name], spent, projected.quantize(Decimal("0.0001"))))
    return out


def _block(ledger: Store, timezone: str, now: datetime) -> tuple[Decimal, Decimal]:
    """The active block's spend and projection (0 when no block is active at ``now``)."""
    b = block_at(ledger, timezone, now)
    if b is None:
        return Decimal(0), Decimal(0)
    rates = block_rates(b["_start"], b["_end"], b["_first"], b["_last"], b["cost_usd"], now)
    if not rates["active"]:
        return Decimal(0), Decimal(0)
    return Decimal(b["cost_usd"]), Decimal(rates["projected_cost_usd"])
