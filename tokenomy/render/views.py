"""What a report shows, gathered once from the ledger: the bills, the cost split by token kind,
tokens per task, and the anatomy, what-if and self-host results where this build has them.

The HTML report and the dashboard render the same ``Views``; ``to_dict`` is the JSON the page
embeds (and the dashboard serves), with the bills exactly as ``tokenomy report ... --json``
prints them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tokenomy.bill import TASK_KEY, Bill, Filters, bill
from tokenomy.render.cost_by_kind import CostByKind, cost_by_kind

if TYPE_CHECKING:
    from tokenomy.calls import Call
    from tokenomy.ledger import Ledger

__all__ = ["OPTIONAL_VIEWS", "SessionTokens", "Views", "collect", "to_jsonable"]

WEEKLY_AFTER_DAYS = 92  # more days than this and the cost chart shows weeks


@dataclass
class SessionTokens:
    """One task's tokens, its main thread and its sub-agents apart."""

    session: str
    main_tokens: int
    subagent_tokens: int


@dataclass
class Views:
    filters: Filters
    generated: datetime
    bills: dict[str, Bill]
    cost: CostByKind
    session_tokens: list[SessionTokens]
    optional: dict[str, Any] = field(default_factory=dict)  # view -> its library result
    missing: dict[str, str] = field(default_factory=dict)  # view -> why it is not shown

    def to_dict(self) -> dict[str, Any]:
        f = self.filters
        data: dict[str, Any] = to_jsonable(
            {
                "generated": self.generated,
                "filters": {
                    "since": f.since,
                    "until": f.until,
                    "models": list(f.models),
                    "projects": list(f.projects),
                    "sources": list(f.sources),
                    "timezone": f.timezone,
                },
                "bills": {k: b.to_dict() for k, b in self.bills.items()},
                "cost_by_kind": self.cost.to_dict(),
                "session_tokens": [vars(s) for s in self.session_tokens],
                **{k: _as_dict(v) for k, v in self.optional.items()},
                "missing": self.missing,
            }
        )
        return data


def to_jsonable(value: Any) -> Any:
    from tokenomy.cli.output import to_jsonable as convert  # the CLI's own JSON conversion

    return convert(value)


def _as_dict(result: Any) -> Any:
    to_dict = getattr(result, "to_dict", None)
    return to_dict() if callable(to_dict) else result


def collect(ledger: Ledger, filters: Filters | None = None) -> Views:
    """Everything a report shows for the calls ``filters`` selects."""
    filters = filters or Filters()
    bills = {g: bill(ledger, g, filters) for g in ("daily", "session", "model", "project")}
    days = len(bills["daily"].rows)
    grouping = "weekly" if days > WEEKLY_AFTER_DAYS else "daily"
    views = Views(
        filters=filters,
        generated=datetime.now(UTC).replace(microsecond=0),
        bills=bills,
        cost=cost_by_kind(ledger, filters, grouping),
        session_tokens=_session_tokens(ledger, filters),
    )
    where, params = filters.where()
    calls = ledger.calls(where, params) if bills["daily"].totals["calls"] else []
    for name, load in OPTIONAL_VIEWS.items():
        if not calls:
            views.missing[name] = "no calls match these filters"
            continue
        try:
            views.optional[name] = load(ledger, calls)
        except (ImportError, AttributeError) as exc:
            # A build without that module (or an older one): the page says so plainly.
            views.missing[name] = f"this build of tokenomy has no {name} API yet ({exc})"
    return views


def _anatomy(ledger: Ledger, calls: list[Call]) -> Any:
    from tokenomy.anatomy import anatomy

    return anatomy(calls, ledger.pricer)


def _whatif(ledger: Ledger, calls: list[Call]) -> Any:
    from tokenomy.traces import from_calls
    from tokenomy.whatif import whatif

    return whatif(from_calls(calls), None, ledger.pricer)


def _selfhost(ledger: Ledger, calls: list[Call]) -> Any:
    from tokenomy.selfhost import break_even  # type: ignore[attr-defined]

    return break_even(calls, ledger.pricer)


# The views other modules compute; each loader calls that module's public API.
OPTIONAL_VIEWS: dict[str, Callable[[Ledger, list[Call]], Any]] = {
    "anatomy": _anatomy,
    "whatif": _whatif,
    "selfhost": _selfhost,
}


def _session_tokens(ledger: Ledger, filters: Filters) -> list[SessionTokens]:
    where, params = filters.where()
    tokens = "input + cache_read + cache_write_5m + cache_write_1h + output"
    rows = ledger.sql(
        f"SELECT {TASK_KEY} AS task, "
        f"coalesce(sum({tokens}) FILTER (WHERE agent = ''), 0), "
        f"coalesce(sum({tokens}) FILTER (WHERE agent <> ''), 0) "
        f"FROM calls WHERE {where} GROUP BY task ORDER BY min(time)",
        params,
    )
    return [SessionTokens(str(s), int(m), int(a)) for s, m, a in rows]
