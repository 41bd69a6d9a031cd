"""Bills: the ledger's calls summed by day, week, month, session, model, project or 5-hour block.

Costs were computed at import from genai-prices (see ``ledger``); a bill only sums them. Calls
without a price are counted in ``unpriced_calls`` and never added as $0; calls whose output is
only a lower bound (a log that never wrote the final count) are counted in ``lower_bound_calls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tokenomy.ledger.filters import GROUPINGS, SHARED_GROUPINGS, Filters

if TYPE_CHECKING:
    from tokenomy.ledger import Store

__all__ = ["GROUPINGS", "Bill", "bill", "block_rates", "blocks", "raw_blocks"]

BLOCK_HOURS = 5


@dataclass
class Bill:
    """Rows keyed by the grouping, and their totals; every money value a ``Decimal``."""

    grouping: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"grouping": self.grouping, "rows": self.rows, "totals": self.totals}


_INT_COLUMNS = (
    "calls", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning",
    "total_tokens", "unpriced_calls", "lower_bound_calls", "subagent_calls",
)  # fmt: skip


def bill(
    ledger: Store, grouping: str, filters: Filters | None = None, breakdown: bool = False
) -> Bill:
    """Sum the ledger's calls by ``grouping`` (one of ``GROUPINGS``); with ``breakdown``, each
    row also lists its sums per model (``rows[].by_model``, costliest first)."""
    if grouping not in (*GROUPINGS, *SHARED_GROUPINGS):
        raise ValueError(f"unknown grouping {grouping!r}; choose one of {', '.join(GROUPINGS)}")
    filters = filters or Filters()
    rows = []
    for row in ledger.sums(grouping, filters):
        data = _clean(row)
        rows.append({grouping: data.pop("key"), **data})
    if breakdown:
        per_model = _per_model(ledger, grouping, filters)
        for row in rows:
            row["by_model"] = per_model.get(row[grouping], [])
    return Bill(grouping, rows, _clean(ledger.sums(None, filters)[0]))


def _per_model(ledger: Store, grouping: str, filters: Filters) -> dict[Any, list[dict[str, Any]]]:
    """Each group's sums per model (exact names), costliest first."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for model in ledger.distinct("model"):
        for row in ledger.sums(grouping, replace(filters, model_names=(model,))):
            data = _clean(row)
            out.setdefault(data.pop("key"), []).append({"model": model, **data})
    for models in out.values():
        models.sort(key=lambda m: (-m["cost_usd"], m["model"]))
    return out


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    for k in _INT_COLUMNS:
        if k in row:
            row[k] = int(row[k] or 0)
    row["cost_usd"] = Decimal(row.get("cost_usd") or 0).normalize() + Decimal("0.000")
    if row.get("reported_cost_usd") is not None:
        row["reported_cost_usd"] = Decimal(row["reported_cost_usd"]).normalize()
        row["reported_minus_computed_usd"] = row["reported_cost_usd"] - row["cost_usd"]
    else:
        row.pop("reported_cost_usd", None)
    if isinstance(row.get("start"), datetime):
        row["start"] = row["start"].isoformat(timespec="seconds")
    if "duration_s" in row:
        row["duration_s"] = round(float(row["duration_s"] or 0), 1)
    return row


def raw_blocks(
    rows: list[tuple[datetime, int, Decimal, bool]], hours: int = BLOCK_HOURS
) -> list[dict[str, Any]]:
    """The 5-hour windows of a time-ordered call timeline (see ``blocks``), unformatted: UTC
    ``_start``, ``_end``, ``_first``, ``_last``, and the sums."""
    span = timedelta(hours=hours)
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for t, tokens, cost, unpriced in rows:
        if current is None or t >= current["_end"] or t - current["_last"] > span:
            start = t.replace(minute=0, second=0, microsecond=0)
            current = {"_start": start, "_end": start + span, "_first": t, "_last": t,
                       "calls": 0, "total_tokens": 0, "cost_usd": Decimal(0),
                       "unpriced_calls": 0}  # fmt: skip
            out.append(current)
        current["_last"] = t
        current["calls"] += 1
        current["total_tokens"] += int(tokens)
        current["cost_usd"] += Decimal(cost)
        current["unpriced_calls"] += int(unpriced)
    return out


def block_at(ledger: Store, timezone: str, now: datetime) -> dict[str, Any] | None:
    """The last 5-hour block begun by ``now`` (a ``raw_blocks`` row; a later block exists only
    for a past ``now``), or ``None``."""
    found = [b for b in raw_blocks(ledger.timeline(Filters(timezone=timezone)))
             if b["_start"] <= now]  # fmt: skip
    return found[-1] if found else None


def block_rates(
    start: datetime, end: datetime, first: datetime, last: datetime, cost: Decimal, now: datetime
) -> dict[str, Any]:
    """Whether a block is active at ``now``, its burn rate ($/h over the minutes from its first
    call to now, or to its last call once over) and, when active, the cost projected to its
    end at that rate."""
    active = end > now >= start
    elapsed_min = max((min(now, end) if active else last) - first,
                      timedelta(minutes=1)).total_seconds() / 60  # fmt: skip
    out: dict[str, Any] = {
        "active": active,
        "elapsed_min": elapsed_min,
        "usd_per_hour": (cost * 60 / Decimal(str(elapsed_min))).quantize(Decimal("0.0001")),
    }
    if active:
        remaining_min = (end - now).total_seconds() / 60
        out["projected_cost_usd"] = (
            cost + cost / Decimal(str(elapsed_min)) * Decimal(str(remaining_min))
        ).quantize(Decimal("0.0001"))
    return out


def blocks(
    ledger: Store,
    filters: Filters | None = None,
    now: datetime | None = None,
    hours: int = BLOCK_HOURS,
) -> Bill:
    """5-hour windows as usage caps count them, with burn rate and, for the active one, a
    projection to its end.

    A block starts at the hour of its first call and lasts ``hours``; a call after the block's
    end, or more than ``hours`` after the previous call, starts a new block.
    """
    filters = filters or Filters()
    zone = ZoneInfo(filters.timezone)
    now = now or datetime.now(UTC)
    out = raw_blocks(ledger.timeline(filters), hours)
    result = []
    for b in out:
        rates = block_rates(b["_start"], b["_end"], b["_first"], b["_last"], b["cost_usd"], now)
        elapsed_min = rates["elapsed_min"]
        row = {
            "block": b["_start"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "end": b["_end"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "active": rates["active"],
            "calls": b["calls"],
            "total_tokens": b["total_tokens"],
            "cost_usd": b["cost_usd"].normalize() + Decimal("0.000"),
            "unpriced_calls": b["unpriced_calls"],
            "tokens_per_min": round(b["total_tokens"] / elapsed_min, 1),
            "usd_per_hour": rates["usd_per_hour"],
        }
        if rates["active"]:
            row["projected_cost_usd"] = rates["projected_cost_usd"]
        result.append(row)
    totals = {
        "calls": sum(r["calls"] for r in result),
        "total_tokens": sum(r["total_tokens"] for r in result),
        "cost_usd": sum((r["cost_usd"] for r in result), Decimal(0)),
        "unpriced_calls": sum(r["unpriced_calls"] for r in result),
    }
    return Bill("blocks", result, totals)


def cap_forecast(
    block: dict[str, Any],
    timezone: str,
    now: datetime,
    *,
    tokens: int | None = None,
    usd: Decimal | None = None,
) -> dict[str, Any]:
    """For the active row of ``blocks`` (its times in ``timezone``): how much of a token or
    dollar cap is used and, at the block's pace so far, when the cap is hit (``None``: not
    before the block ends). An estimate: the pace is the block's mean since its first call."""
    end = datetime.strptime(block["end"], "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(timezone))
    out: dict[str, Any] = {}
    for name, limit, used, per_min in (
        ("tokens", tokens, block["total_tokens"], block["tokens_per_min"]),
        ("usd", usd, block["cost_usd"], float(block["usd_per_hour"]) / 60),
    ):
        if limit is None:
            continue
        left = float(limit) - float(used)
        if left <= 0:
            hit: datetime | None = now
        elif per_min > 0 and now + timedelta(minutes=left / per_min) < end:
            hit = now + timedelta(minutes=left / per_min)
        else:
            hit = None
        out[name] = {"limit": limit, "used": used, "share": float(used) / float(limit),
                     "hit_at": hit}  # fmt: skip
    return out
