"""The report model: what a report shows, gathered once from the ledger: the bills, the cost
split by token kind, tokens per task, the bill's change split into volume and price effects
(``tokenomy.trend``), the anatomy, the what-if ranking and the self-host break-even.

The HTML report, the dashboard and ``tokenomy demo`` draw the same ``Views`` (``tokenomy.render``
runs no query of its own); ``to_dict`` is the JSON the page embeds (and the dashboard serves),
with the bills exactly as ``tokenomy report ... --json`` prints them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tokenomy.bill import Bill, bill
from tokenomy.cost_by_kind import CostByKind, cost_by_kind
from tokenomy.jsonable import to_jsonable
from tokenomy.ledger import Filters
from tokenomy.selfhost.datafile import read_table

if TYPE_CHECKING:
    from tokenomy.calls import Call
    from tokenomy.ledger import Store
    from tokenomy.replay.trace import Trace

__all__ = [
    "OPTIONAL_VIEWS",
    "Selection",
    "SelfHostView",
    "SessionTokens",
    "TrendView",
    "Views",
    "collect",
    "trend_periods",
]

WEEKLY_AFTER_DAYS = 92  # a longer span of days and the cost chart shows weeks
# The trend view compares consecutive months when the calls span this many days or more,
# else consecutive weeks (Monday to Sunday) from TREND_WEEKS_AFTER_DAYS, else days.
TREND_MONTHS_AFTER_DAYS = 60
TREND_WEEKS_AFTER_DAYS = 14


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
    trend: TrendView | None = None  # None: no calls
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
                "trend": self.trend.to_dict() if self.trend else None,
                **{k: _as_dict(v) for k, v in self.optional.items()},
                "missing": self.missing,
            }
        )
        return data


def _as_dict(result: Any) -> Any:
    to_dict = getattr(result, "to_dict", None)
    return to_dict() if callable(to_dict) else result


def collect(ledger: Store, filters: Filters | None = None) -> Views:
    """Everything a report shows for the calls ``filters`` selects."""
    filters = filters or Filters()
    bills = {g: bill(ledger, g, filters) for g in ("daily", "session", "model", "project")}
    active = [str(r["daily"]) for r in bills["daily"].rows]
    span = (date.fromisoformat(active[-1]) - date.fromisoformat(active[0])).days if active else 0
    grouping = "weekly" if span >= WEEKLY_AFTER_DAYS else "daily"  # the chart's axis is time
    views = Views(
        filters=filters,
        generated=datetime.now(UTC).replace(microsecond=0),
        bills=bills,
        cost=cost_by_kind(ledger, filters, grouping),
        session_tokens=[SessionTokens(*row) for row in ledger.task_tokens(filters)],
    )
    if active:
        views.trend = trend_view(ledger, filters, [date.fromisoformat(d) for d in active])
    selected = (
        Selection(ledger.calls(filters), ledger.prompt_digests())
        if bills["daily"].totals["calls"]
        else Selection([])
    )
    for name, load in OPTIONAL_VIEWS.items():
        if selected.calls:
            views.optional[name] = load(ledger, selected)
        else:
            views.missing[name] = "no calls match these filters"
    return views


@dataclass
class TrendView:
    """The bill's change between consecutive periods, split into volume and price effects
    (``tokenomy.trend``), and each model's tokens per task in each period."""

    grouping: str  # "monthly", "weekly" or "daily"
    periods: list[tuple[str, date, date]]  # (label, first day, last day), in order
    changes: list[Any]  # tokenomy.trend.Trend from each period to the next
    per_task: list[dict[str, Any]]  # model, period, tasks, tokens, tokens_per_task

    def to_dict(self) -> dict[str, Any]:
        return {
            "grouping": self.grouping,
            "periods": [{"label": p, "since": a, "until": b} for p, a, b in self.periods],
            "changes": [
                {"label": f"{self.periods[i][0]} → {self.periods[i + 1][0]}", **t.to_dict()}
                for i, t in enumerate(self.changes)
            ],
            "tokens_per_task": self.per_task,
        }


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def trend_periods(first: date, last: date) -> tuple[str, list[tuple[str, date, date]]]:
    """(grouping, periods) covering the active days ``first`` to ``last``: calendar months
    when they span ``TREND_MONTHS_AFTER_DAYS`` or more, else weeks from Monday when they span
    ``TREND_WEEKS_AFTER_DAYS`` or more, else days."""
    span = (last - first).days
    out = []
    if span >= TREND_MONTHS_AFTER_DAYS:
        start = first.replace(day=1)
        while start <= last:
            end = _month_end(start)
            out.append((f"{start:%Y-%m}", start, end))
            start = end + timedelta(days=1)
        return "monthly", out
    step = 7 if span >= TREND_WEEKS_AFTER_DAYS else 1
    start = first - timedelta(days=first.weekday()) if step == 7 else first
    while start <= last:
        end = start + timedelta(days=step - 1)
        out.append((start.isoformat(), start, end))
        start = end + timedelta(days=1)
    return ("weekly" if step == 7 else "daily"), out


def trend_view(ledger: Store, filters: Filters, active: list[date]) -> TrendView:
    """The trend view of the calls ``filters`` selects, on the ``active`` days (in order):
    periods with no call are left out, so each change is from one active period to the
    next."""
    from tokenomy.trend import trend

    grouping, periods = trend_periods(active[0], active[-1])
    # a period cut to the filters' own dates, so it never counts a call they leave out
    periods = [
        (label, max(a, filters.since or a), min(b, filters.until or b))
        for label, a, b in periods
        if any(a <= day <= b for day in active)
    ]
    changes = [
        trend(ledger, periods[i][1:], periods[i + 1][1:], filters) for i in range(len(periods) - 1)
    ]
    per_task = []
    for label, a, b in periods:
        narrowed = Filters(
            since=a, until=b, models=filters.models, projects=filters.projects,
            sources=filters.sources, sessions=filters.sessions, timezone=filters.timezone,
        )  # fmt: skip
        # a model's tokens in the period over the tasks (sessions) that used it then
        tasks: dict[str, int] = {}
        for row in ledger.sums("session", narrowed):
            for model in str(row["models"] or "").split(", "):
                tasks[model] = tasks.get(model, 0) + 1
        for row in ledger.sums("model", narrowed):
            model, tokens = str(row["key"]), int(row["total_tokens"] or 0)
            n = tasks.get(model, 0)
            per_task.append({
                "model": model, "period": label, "tasks": n, "tokens": tokens,
                "tokens_per_task": round(tokens / n) if n else None,
            })  # fmt: skip
    return TrendView(grouping, periods, changes, per_task)


class Selection:
    """The calls a report shows, and their traces (rebuilt once, for every view that needs
    them)."""

    def __init__(
        self, calls: list[Call], digests: dict[str, list[tuple[str, int]]] | None = None
    ) -> None:
        self.calls = calls
        self.digests = digests or {}  # the gateway's prompt blocks, by call id

    @cached_property
    def trace(self) -> Trace:
        from tokenomy.replay.trace import from_calls

        return from_calls(self.calls, digests=self.digests)


def _anatomy(ledger: Store, selected: Selection) -> Any:
    from tokenomy.anatomy import anatomy

    return anatomy(selected.trace, ledger.pricer)


def _whatif(ledger: Store, selected: Selection) -> Any:
    from tokenomy.whatif import whatif

    return whatif(selected.trace, None, ledger.pricer)


def selfhost_default() -> tuple[str, str, int, tuple[float, int, float]]:
    """(model, GPU, GPUs per replica, MTP speculation) of the open-weight deployment the
    report compares with: a dated choice, with its source, in data/report_defaults.toml."""
    row = read_table("report_defaults.toml", "selfhost")[0]
    row.provenance()
    mtp = (row.number("acceptance"), row.integer("draft_len"), row.number("draft_cost"))
    return row.text("model"), row.text("gpu"), row.integer("gpus"), mtp


@dataclass
class SelfHostView:
    """Break-even of the ledger's traffic on one deployment, speculation off and on."""

    model: str
    gpu: str
    gpus: int
    speculation: str
    results: dict[str, Any]  # "off" / "on" -> tokenomy.selfhost.breakeven.BreakEven

    def to_dict(self) -> dict[str, Any]:
        off = self.results["off"]
        w = off.workload
        top = max(r.curve_top() for r in self.results.values())  # one x axis for both
        return {
            "model": self.model,
            "gpu": self.gpu,
            "gpus_per_replica": self.gpus,
            "speculation": self.speculation,
            "workload": {
                "tokens_per_day": round(w.input_tokens_per_day + w.output_tokens_per_day),
                "output_share": round(
                    w.output_tokens_per_day / (w.input_tokens_per_day + w.output_tokens_per_day),
                    4,
                ),
                "cached_share": round(w.cached_share, 4),
                "peak_factor": round(w.peak_factor, 3),
                "days": round(w.days, 2),
            },
            "apis": [a.model for a in off.apis],
            "rows": [
                {"speculation": label, **row}
                for label, result in self.results.items()
                for row in result.as_rows()
            ],
            "curve": {label: result.curve(top) for label, result in self.results.items()},
        }


def _selfhost(ledger: Store, selected: Selection) -> Any:
    from tokenomy.selfhost import Speculation
    from tokenomy.selfhost.breakeven import Workload, break_even

    model, gpu, gpus, mtp = selfhost_default()
    workload = Workload.from_calls(selected.calls)
    spec = Speculation(*mtp)
    results = {
        label: break_even(workload, model, gpu, gpus, speculation=s, pricer=ledger.pricer)
        for label, s in (("off", None), ("on", spec))
    }
    return SelfHostView(model, gpu, gpus, spec.describe(), results)


# The views other modules compute; each loader calls that module's public API.
OPTIONAL_VIEWS: dict[str, Callable[[Store, Selection], Any]] = {
    "anatomy": _anatomy,
    "whatif": _whatif,
    "selfhost": _selfhost,
}
