"""Bills: the ledger's calls summed by day, week, month, session, model, project or 5-hour block.

Costs were computed at import from genai-prices (see ``ledger``); a bill only sums them. Calls
without a price are counted in ``unpriced_calls`` and never added as $0; calls whose output is
only a lower bound (a log that never wrote the final count) are counted in ``lower_bound_calls``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from tokenomy.ledger import Ledger

__all__ = ["GROUPINGS", "Bill", "Filters", "bill", "blocks"]

Grouping = Literal["daily", "weekly", "monthly", "session", "model", "project", "source"]
GROUPINGS: tuple[str, ...] = ("daily", "weekly", "monthly", "session", "model", "project", "source")
BLOCK_HOURS = 5


@dataclass(frozen=True)
class Filters:
    """Which calls a bill covers. Dates are inclusive, in ``timezone``."""

    since: date | None = None
    until: date | None = None
    models: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc

    def local(self, column: str = "time") -> str:
        """SQL for a UTC TIMESTAMP column as wall-clock time in the filter's zone."""
        return f"timezone('{self.timezone}', {column}::TIMESTAMPTZ)"

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.since:
            clauses.append(f"CAST({self.local()} AS DATE) >= ?")
            params.append(self.since)
        if self.until:
            clauses.append(f"CAST({self.local()} AS DATE) <= ?")
            params.append(self.until)
        for column, values in (
            ("model", self.models),
            ("project", self.projects),
            ("source", self.sources),
        ):
            if values:
                # A model filter matches a prefix too: "claude-opus" finds every Opus.
                ors = " OR ".join(f"{column} ILIKE ?" for _ in values)
                clauses.append(f"({ors})")
                params += [f"{v}%" for v in values]
        if self.sessions:
            ors = " OR ".join("session = ? OR parent_session = ?" for _ in self.sessions)
            clauses.append(f"({ors})")
            for s in self.sessions:
                params += [s, s]
        return (" AND ".join(clauses) or "TRUE"), params


@dataclass
class Bill:
    """Rows keyed by the grouping, and their totals; every money value a ``Decimal``."""

    grouping: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"grouping": self.grouping, "rows": self.rows, "totals": self.totals}


_SUMS = """
    count(*) AS calls,
    sum(input) AS input,
    sum(cache_read) AS cache_read,
    sum(cache_write_5m) AS cache_write_5m,
    sum(cache_write_1h) AS cache_write_1h,
    sum(output) AS output,
    sum(reasoning) AS reasoning,
    sum(input + cache_read + cache_write_5m + cache_write_1h + output) AS total_tokens,
    coalesce(sum(cost), 0) AS cost_usd,
    count(*) FILTER (WHERE cost IS NULL) AS unpriced_calls,
    count(*) FILTER (WHERE NOT output_exact) AS lower_bound_calls,
    sum(reported_cost) AS reported_cost_usd
"""

# The task a call belongs to: a sub-agent counts toward its parent's session, and a call with
# no session (a lone API payload) is a task of its own, not one catch-all spanning months.
TASK_KEY = (
    "CASE WHEN parent_session <> '' THEN parent_session WHEN session <> '' THEN session "
    "ELSE source || ':' || id END"
)

_INT_COLUMNS = (
    "calls", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning",
    "total_tokens", "unpriced_calls", "lower_bound_calls", "subagent_calls",
)  # fmt: skip


def _key_sql(grouping: str, filters: Filters) -> tuple[str, str]:
    """(SELECT expression for the key, extra columns) of a grouping."""
    local = filters.local()
    root = TASK_KEY
    return {
        "daily": (f"strftime({local}, '%Y-%m-%d')", ""),
        "weekly": (f"strftime(date_trunc('week', {local}), '%Y-%m-%d')", ""),
        "monthly": (f"strftime({local}, '%Y-%m')", ""),
        "model": ("model", ""),
        "project": ("project", ""),
        "source": ("source", ""),
        "session": (
            root,
            f", any_value(project) AS project, min({local}) AS start, "
            "epoch(max(time) - min(time)) AS duration_s, "
            "count(*) FILTER (WHERE agent <> '') AS subagent_calls, "
            "count(DISTINCT session) - 1 AS subagents, "
            "string_agg(DISTINCT model, ', ' ORDER BY model) AS models",
        ),
    }[grouping]


def bill(ledger: Ledger, grouping: str, filters: Filters | None = None) -> Bill:
    """Sum the ledger's calls by ``grouping`` (one of ``GROUPINGS``)."""
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}; choose one of {', '.join(GROUPINGS)}")
    filters = filters or Filters()
    where, params = filters.where()
    key, extra = _key_sql(grouping, filters)
    order = "cost_usd DESC" if grouping in ("model", "project", "source") else "key"
    if grouping == "session":
        order = "start, key"  # ties (payloads saved at one moment) in a stable order
    rows = ledger.sql(
        f"SELECT {key} AS key, {_SUMS} {extra} FROM calls WHERE {where} "
        f"GROUP BY key ORDER BY {order}",
        params,
    )
    cols = [d[0] for d in ledger.db.description or []] if rows else []
    out = []
    for row in rows:
        data = _clean(dict(zip(cols, row, strict=True)))
        out.append({grouping: data.pop("key"), **data})
    totals_row = ledger.sql(f"SELECT {_SUMS} FROM calls WHERE {where}", params)
    totals_cols = [d[0] for d in ledger.db.description or []]
    totals = _clean(dict(zip(totals_cols, totals_row[0], strict=True)))
    return Bill(grouping, out, totals)


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


def blocks(
    ledger: Ledger,
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
    where, params = filters.where()
    rows = ledger.sql(
        "SELECT time, input + cache_read + cache_write_5m + cache_write_1h + output, "
        f"coalesce(cost, 0), cost IS NULL FROM calls WHERE {where} ORDER BY time",
        params,
    )
    zone = ZoneInfo(filters.timezone)
    span = timedelta(hours=hours)
    now = now or datetime.now(UTC)
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for time, tokens, cost, unpriced in rows:
        t = time.replace(tzinfo=UTC)
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
    result = []
    for b in out:
        active = b["_end"] > now >= b["_start"]
        elapsed_min = max((min(now, b["_end"]) if active else b["_last"]) - b["_first"],
                          timedelta(minutes=1)).total_seconds() / 60  # fmt: skip
        row = {
            "block": b["_start"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "end": b["_end"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "active": active,
            "calls": b["calls"],
            "total_tokens": b["total_tokens"],
            "cost_usd": b["cost_usd"].normalize() + Decimal("0.000"),
            "unpriced_calls": b["unpriced_calls"],
            "tokens_per_min": round(b["total_tokens"] / elapsed_min, 1),
            "usd_per_hour": (b["cost_usd"] * 60 / Decimal(str(elapsed_min))).quantize(
                Decimal("0.0001")
            ),
        }
        if active:
            remaining_min = (b["_end"] - now).total_seconds() / 60
            row["projected_cost_usd"] = (
                b["cost_usd"]
                + b["cost_usd"] / Decimal(str(elapsed_min)) * Decimal(str(remaining_min))
            ).quantize(Decimal("0.0001"))
        result.append(row)
    totals = {
        "calls": sum(r["calls"] for r in result),
        "total_tokens": sum(r["total_tokens"] for r in result),
        "cost_usd": sum((r["cost_usd"] for r in result), Decimal(0)),
        "unpriced_calls": sum(r["unpriced_calls"] for r in result),
    }
    return Bill("blocks", result, totals)
