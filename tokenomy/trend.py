"""Why the bill changed between two periods: because prices moved or because volume moved, per
model and overall (the Jevons view: cheaper tokens can make the bill grow).

For each model, a period's volume ``V`` is its tokens (every kind: fresh input, cache reads
and writes, output) and its price ``p = C / V`` the effective price per token (so a better
cache hit rate or a cheaper tier shows as a lower price). The change ``C1 - C0`` splits
symmetrically (the midpoint, or Shapley, split of a product):

- volume effect: ``(V1 - V0) * (p0 + p1) / 2``
- price effect: ``(p1 - p0) * (V0 + V1) / 2``

A model present in one period only is all volume. Each row is rounded to the cent with the
price effect taken as the change minus the volume effect, so volume + price = change exactly,
per model and overall; the change is the difference of the two bills of ``tokenomy report``.
Unpriced calls count in ``unpriced_calls``, never as $0 of volume at a price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from tokenomy.ledger.filters import Filters

if TYPE_CHECKING:
    from tokenomy.ledger import Store

__all__ = ["Trend", "trend"]

CENT = Decimal("0.01")
MTOK = Decimal(1_000_000)


@dataclass
class Trend:
    """Per model (``rows``) and overall (``totals``): both periods' tokens, price per million
    tokens and cost, the change and its volume and price effects (USD, to the cent)."""

    base: tuple[date, date]
    current: tuple[date, date]
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": [d.isoformat() for d in self.base],
            "current": [d.isoformat() for d in self.current],
            "rows": self.rows,
            "totals": self.totals,
        }


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _split(v0: int, c0: Decimal, v1: int, c1: Decimal) -> tuple[Decimal, Decimal]:
    """(volume effect, price effect), exact: they add up to ``c1 - c0``."""
    change = c1 - c0
    if not v0 or not v1:  # a model new or gone: all volume
        return change, Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 60
        p0, p1 = c0 / v0, c1 / v1
        # to the ledger's own scale (costs are stored to 12 decimals): the price effect, the
        # remainder, is then exact in any precision
        volume = ((v1 - v0) * (p0 + p1) / 2).quantize(Decimal("1e-12"))
    return volume, change - volume


def _per_model(ledger: Store, since: date, until: date, base: Filters) -> dict[str, dict[str, Any]]:
    filters = Filters(
        since=since, until=until, models=base.models, projects=base.projects,
        sources=base.sources, sessions=base.sessions, timezone=base.timezone,
    )  # fmt: skip
    out = {}
    for row in ledger.sums("model", filters):
        out[str(row["key"])] = {
            "tokens": int(row["total_tokens"] or 0),
            "cost": Decimal(row["cost_usd"] or 0),
            "unpriced": int(row["unpriced_calls"] or 0),
        }
    return out


def _row(v0: int, c0: Decimal, v1: int, c1: Decimal) -> dict[str, Any]:
    volume, _ = _split(v0, c0, v1, c1)
    change = _cents(c1) - _cents(c0)
    volume_c = _cents(volume)
    return {
        "base_tokens": v0,
        "current_tokens": v1,
        "base_usd_per_mtok": _cents(c0 * MTOK / v0) if v0 else None,
        "current_usd_per_mtok": _cents(c1 * MTOK / v1) if v1 else None,
        "base_cost_usd": _cents(c0),
        "current_cost_usd": _cents(c1),
        "change_usd": change,
        "volume_effect_usd": volume_c,
        "price_effect_usd": change - volume_c,
    }


def trend(
    ledger: Store,
    base: tuple[date, date],
    current: tuple[date, date],
    filters: Filters | None = None,
) -> Trend:
    """The change of the bill from ``base`` to ``current`` (inclusive day ranges in the filters'
    time zone), split into volume and price effects per model and overall."""
    filters = filters or Filters()
    before = _per_model(ledger, *base, filters)
    after = _per_model(ledger, *current, filters)
    zero = {"tokens": 0, "cost": Decimal(0), "unpriced": 0}
    result = Trend(base, current)
    volume_total = Decimal(0)
    for model in sorted(before.keys() | after.keys()):
        a, b = before.get(model, zero), after.get(model, zero)
        row = {"model": model, **_row(a["tokens"], a["cost"], b["tokens"], b["cost"])}
        row["unpriced_calls"] = a["unpriced"] + b["unpriced"]
        volume_total += _split(a["tokens"], a["cost"], b["tokens"], b["cost"])[0]
        result.rows.append(row)
    result.rows.sort(key=lambda r: (-abs(r["change_usd"]), r["model"]))
    c0 = sum((m["cost"] for m in before.values()), Decimal(0))
    c1 = sum((m["cost"] for m in after.values()), Decimal(0))
    v0 = sum(m["tokens"] for m in before.values())
    v1 = sum(m["tokens"] for m in after.values())
    totals = _row(v0, c0, v1, c1)
    # overall: the per-model effects summed (a shift between models of different prices is
    # volume of one and of the other, not a price change), then to the cent
    totals["volume_effect_usd"] = _cents(volume_total)
    totals["price_effect_usd"] = totals["change_usd"] - totals["volume_effect_usd"]
    totals["unpriced_calls"] = sum(r["unpriced_calls"] for r in result.rows)
    result.totals = totals
    return result
