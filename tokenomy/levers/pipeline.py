"""Run a pipeline of levers over a trace, replay its caching call by call, and price it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tokenomy.levers.registry import Lever, Scenario
from tokenomy.pricing import Pricer
from tokenomy.replay.cache import simulate
from tokenomy.replay.costing import Priced, Split, price
from tokenomy.replay.observed import Observed, expected_replay, with_given
from tokenomy.replay.trace import F64, Trace

__all__ = ["Outcome", "replay"]


@dataclass(frozen=True)
class Outcome:
    """One scenario's bill: exact total, per-call costs, the split, and its assumptions."""

    name: str
    levers: tuple[str, ...]
    cost: Decimal
    per_call: F64
    tokens: dict[str, int]
    calls: int
    assumptions: tuple[str, ...]
    relative_error: float
    unpriced_calls: int
    storage: Decimal = Decimal(0)
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    split: Split | None = None
    unpriced_models: tuple[str, ...] = ()  # models of the unpriced calls
    # The cost at both ends of the observed rates' 90% intervals (== cost when none acts).
    spread: tuple[Decimal, Decimal] | None = None


def replay(
    trace: Trace,
    levers: Sequence[Lever] = (),
    pricer: Pricer | None = None,
    name: str = "",
    applied: dict[tuple[str, ...], Scenario] | None = None,
    observed: Observed | None = None,
) -> Outcome:
    """Apply ``levers`` in order, replay caching under the resulting rules, price the result.

    ``applied`` memoises the scenario after each prefix of levers (by their names), so trials
    that share a prefix (a greedy search for the best combination) apply it once.
    Prefixes the log proves were cached outside it are read (``observed.with_given``); with
    ``observed`` (rates measured on the user's log) each call's cost is its expected value.
    """
    pricer = pricer or Pricer()
    s = Scenario(trace)
    for i, lever in enumerate(levers):
        prefix = tuple(lv.name for lv in levers[: i + 1])
        if applied is not None and prefix in applied:
            s = applied[prefix]
            continue
        s = lever.apply(s)
        if applied is not None:
            applied[prefix] = s
    rules = s.rules if observed is None else observed.rules(s.rules)
    cached = simulate(s.trace, rules)
    split = with_given(s.trace, cached.split, rules)
    priced: Priced = price(s.trace, split, pricer)
    per_call = priced.per_call + cached.storage_usd
    cost = priced.total + cached.storage_total
    spread = (cost, cost)
    if observed is not None and observed.active:
        exp = expected_replay(s.trace, rules, split, observed, pricer, priced.total)
        per_call = exp.per_call + cached.storage_usd
        cost = exp.total + cached.storage_total
        spread = (exp.low + cached.storage_total, exp.high + cached.storage_total)
    return Outcome(
        name=name or (" + ".join(lv.name for lv in levers) if levers else "baseline (replayed)"),
        levers=tuple(lv.name for lv in levers),
        cost=cost,
        per_call=per_call,
        tokens=cached.split.totals(),
        calls=len(s.trace),
        assumptions=s.assumptions,
        relative_error=s.relative_error,
        unpriced_calls=priced.unpriced_calls,
        storage=cached.storage_total,
        by_kind=priced.by_kind,
        split=split,
        spread=spread,
        unpriced_models=priced.unpriced_models,
    )
