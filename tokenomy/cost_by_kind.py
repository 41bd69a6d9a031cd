"""The bill's cost per period split by token kind (fresh input, cache reads, cache writes,
output), for the report's stacked cost chart.

The ledger stores one cost per call. The split prices each call's token kinds with the same
rates (genai-prices at the call's own time, the band its prompt size falls in); whatever the
rates do not split (per-request fees) is kept as "other", so each period's kinds add up to the
bill's cost for that period exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.calls import TOKEN_KINDS
from tokenomy.pricing import MTOK

if TYPE_CHECKING:
    from tokenomy.ledger import Filters, Store
    from tokenomy.pricing import Band

__all__ = ["KIND_LABELS", "CostByKind", "cost_by_kind"]

KIND_LABELS: dict[str, str] = {
    "input": "fresh input",
    "cache_read": "cache read",
    "cache_write_5m": "cache write (5 min)",
    "cache_write_1h": "cache write (1 h)",
    "output": "output",
    "other": "per-request fees",
}
RESIDUE = Decimal("0.000001")


@dataclass
class CostByKind:
    """``periods`` in order; ``usd[kind][i]`` is the cost of that kind in period ``i``."""

    grouping: str
    periods: list[str] = field(default_factory=list)
    usd: dict[str, list[Decimal]] = field(default_factory=dict)

    def total(self, i: int) -> Decimal:
        return sum((values[i] for values in self.usd.values()), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        return {"grouping": self.grouping, "periods": self.periods, "usd": self.usd}


def cost_by_kind(ledger: Store, filters: Filters, grouping: str = "daily") -> CostByKind:
    """Priced calls' cost per day (``daily``) or week (``weekly``), split by token kind."""
    if grouping not in ("daily", "weekly"):
        raise ValueError(f"cost by kind is daily or weekly, not {grouping!r}")
    rows, billed = ledger.priced_tokens(filters, weekly=grouping == "weekly")
    # Cost is linear in the tokens within a band: sum the tokens per (period, band) as integers
    # and multiply by the Decimal rates once per group, not once per call.
    tokens_by: dict[str, dict[Band, list[int]]] = defaultdict(dict)
    pricer = ledger.pricer
    for period, model, provider, tier, time, *tokens in rows:
        rates = pricer.rates(model, provider, time, tier)
        if rates is None:
            continue
        band = rates.band(sum(tokens[:4]))
        sums_here = tokens_by[period].setdefault(band, [0] * len(TOKEN_KINDS))
        for i, n in enumerate(tokens):
            sums_here[i] += n
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for period, cost in billed.items():
        per_kind = sums[period]
        split = Decimal(0)
        for band, totals in tokens_by[period].items():
            for kind, n in zip(TOKEN_KINDS, totals, strict=True):
                part = n * getattr(band, kind) / MTOK
                per_kind[kind] += part
                split += part
        per_kind["other"] += cost - split
    sums = dict(sorted(sums.items()))
    out = CostByKind(grouping, periods=list(sums))
    for per_kind in sums.values():
        # The stored cost is rounded to 12 decimals: a residue that small is not a fee.
        if abs(per_kind["other"]) < RESIDUE:
            largest = max(TOKEN_KINDS, key=lambda k: per_kind.get(k, Decimal(0)))
            per_kind[largest] += per_kind.pop("other")
    for kind in (*TOKEN_KINDS, "other"):
        values = [sums[p].get(kind, Decimal(0)) for p in out.periods]
        if any(values):
            out.usd[kind] = values
    return out
