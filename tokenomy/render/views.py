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
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tokenomy.bill import TASK_KEY, Bill, Filters, bill
from tokenomy.render.cost_by_kind import CostByKind, cost_by_kind

if TYPE_CHECKING:
    from tokenomy.calls import Call
    from tokenomy.ledger import Ledger
    from tokenomy.replay.trace import Trace

__all__ = ["OPTIONAL_VIEWS", "Selection", "SessionTokens", "Views", "collect", "to_jsonable"]

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
    selected = Selection(ledger.calls(where, params) if bills["daily"].totals["calls"] else [])
    for name, load in OPTIONAL_VIEWS.items():
        if not selected.calls:
            views.missing[name] = "no calls match these filters"
            continue
        try:
            views.optional[name] = load(ledger, selected)
        except (ImportError, AttributeError) as exc:
            # A build without that module (or an older one): the page says so plainly.
            views.missing[name] = f"this build of tokenomy has no {name} API yet ({exc})"
    return views


class Selection:
    """The calls a report shows, and their traces (rebuilt once, for every view that needs
    them)."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = calls

    @cached_property
    def trace(self) -> Trace:
        from tokenomy.replay.trace import from_calls

        return from_calls(self.calls)


def _anatomy(ledger: Ledger, selected: Selection) -> Any:
    from tokenomy.anatomy import anatomy

    return anatomy(selected.trace, ledger.pricer)


def _whatif(ledger: Ledger, selected: Selection) -> Any:
    from tokenomy.whatif import whatif

    return whatif(selected.trace, None, ledger.pricer)


# The open-weight deployment the report compares with: a frontier model at its released FP8
# on one 8-GPU node, with and without DeepSeek's MTP-1 speculative decoding (acceptance
# 85-90% in the DeepSeek-V3 paper, draft cost ~0.05 of a step: research/selfhost_economics.md).
SELFHOST_MODEL, SELFHOST_GPU, SELFHOST_GPUS = "deepseek-v3", "h200", 8
SELFHOST_MTP = (0.85, 1, 0.05)


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


def _selfhost(ledger: Ledger, selected: Selection) -> Any:
    from tokenomy.selfhost import Speculation
    from tokenomy.selfhost.breakeven import Workload, break_even

    workload = Workload.from_calls(selected.calls)
    spec = Speculation(*SELFHOST_MTP)
    results = {
        label: break_even(
            workload,
            SELFHOST_MODEL,
            SELFHOST_GPU,
            SELFHOST_GPUS,
            speculation=s,
            pricer=ledger.pricer,
        )
        for label, s in (("off", None), ("on", spec))
    }
    return SelfHostView(SELFHOST_MODEL, SELFHOST_GPU, SELFHOST_GPUS, spec.describe(), results)


# The views other modules compute; each loader calls that module's public API.
OPTIONAL_VIEWS: dict[str, Callable[[Ledger, Selection], Any]] = {
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
