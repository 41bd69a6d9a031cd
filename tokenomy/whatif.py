"""What if: the real traces replayed under each lever alone and under the best combination,
ranked by dollars saved against the same replay with no lever (the replayed baseline).

Savings are measured against the *replayed* baseline, not the reported bill, so a lever's
saving is not mixed with the replay's own error; both totals are shown, and
``replay_agreement`` measures that error call by call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from tokenomy.calls import Call
from tokenomy.levers import Lever, Outcome, Scenario, make_lever, replay
from tokenomy.pricing import Pricer
from tokenomy.replay import Split, Trace, from_calls, price, rules_for, simulate
from tokenomy.replay.observed import Observed, expected_replay, observe, with_given

__all__ = [
    "PIPELINE_ORDER",
    "Agreement",
    "WhatIf",
    "default_levers",
    "held_out_agreement",
    "replay_agreement",
    "whatif",
]

# Levers that rewrite the trace run first; caching only picks the rules the replay uses.
_SPLIT = ("input", "cache_read", "cache_write_5m", "cache_write_1h")
PIPELINE_ORDER = ("model", "routing", "compaction", "output", "batch", "caching")


@dataclass
class WhatIf:
    """The reported bill, the replayed baseline, each lever alone and the best combination.

    ``replay_error``: how far the replayed baseline is from the bill the log reports, call by
    call: the sum of ``|replayed - reported|`` over the calls divided by the reported bill (at
    least the error of the totals, since per-call misses cannot cancel). Every saving is shown
    as a range: ``saved * (1 -/+ replay_error)``, widened by a lever's own token-count error
    (a tokenizer conversion) times its cost. ``None`` where there is no bill to measure against
    (a synthetic workload): the range is then the saving itself.
    """

    reported: Decimal
    baseline: Outcome
    levers: list[Outcome]
    best: Outcome | None
    calls: int
    replay_error: float | None = None
    bill_error: float | None = None  # (replayed - reported) / reported, of the totals
    observed: Observed | None = None

    def saved(self, o: Outcome) -> Decimal:
        return self.baseline.cost - o.cost

    def unpriced(self, o: Outcome) -> tuple[str, ...]:
        """The models a lever sent calls to that have no price: its saving is unknown."""
        if o.unpriced_calls <= self.baseline.unpriced_calls:
            return ()
        return tuple(m for m in o.unpriced_models if m not in self.baseline.unpriced_models) or (
            o.unpriced_models
        )

    def saved_range(self, o: Outcome) -> tuple[Decimal, Decimal]:
        """(low, high) of a lever's saving once the replay's measured error is carried in."""
        saved = self.saved(o)
        margin = abs(saved) * Decimal(str(self.replay_error or 0.0)) + o.cost * Decimal(
            str(o.relative_error)
        )
        margin = margin.quantize(_CENT_MICRO)
        return saved - margin, saved + margin

    def rows(self) -> list[dict[str, Any]]:
        out = []
        priced = [o for o in self.levers if not self.unpriced(o)]
        ranked = sorted(priced, key=lambda o: self.saved(o), reverse=True)
        ranked += [o for o in self.levers if self.unpriced(o)]  # unknown savings rank last
        for o in [*ranked, *([self.best] if self.best else [])]:
            missing = self.unpriced(o)
            saved: Decimal | None = None if missing else self.saved(o)
            low, high = (None, None) if missing else self.saved_range(o)
            out.append(
                {
                    "scenario": o.name if o is not self.best else f"best: {o.name}",
                    "cost_usd": None if missing else o.cost,
                    "saved_usd": saved,
                    "saved_low_usd": low,
                    "saved_high_usd": high,
                    "saved_share": None
                    if saved is None
                    else float(saved / self.baseline.cost)
                    if self.baseline.cost
                    else 0.0,
                    "calls": o.calls,
                    "token_error": o.relative_error,
                    "unpriced": ", ".join(missing) if missing else None,
                    "assumptions": (
                        [f"unpriced: no price is known for {', '.join(missing)} "
                         f"({o.unpriced_calls:,} call(s)): the saving is unknown, not 100%; "
                         f"{_price_hint(missing)}"]
                        if missing else []
                    ) + list(o.assumptions),
                }
            )  # fmt: skip
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "reported_cost_usd": self.reported,
            "baseline_cost_usd": self.baseline.cost,
            "baseline_assumptions": list(self.baseline.assumptions),
            "baseline_range_usd": list(self.baseline.spread or (self.baseline.cost,) * 2),
            "observed": None if self.observed is None else self.observed.to_dict(),
            "calls": self.calls,
            "replay_error": None
            if self.replay_error is None
            else {
                "per_call": self.replay_error,
                "bill": self.bill_error,
                "meaning": "replayed baseline vs the bill this log reports: per_call is the "
                "sum of |replayed - reported| over calls / reported bill, bill is (replayed - "
                "reported) / reported; each saving's range is saved x (1 -/+ per_call), "
                "widened by the lever's token-count error x its cost",
            },
            "scenarios": self.rows(),
            "best": None if self.best is None else list(self.best.levers),
            "quality": "not simulated: a lever that changes the model, the context or the "
            "output may change the answers, and failed work is not counted",
        }


_CENT_MICRO = Decimal("0.00000001")


def _price_hint(models: Sequence[str]) -> str:
    """How to price a model genai-prices does not know: an alias where one fits, else a price."""
    from tokenomy.pricing import suggest_alias

    hints = [f"{m} may be {a}" for m in models if (a := suggest_alias(m))]
    return (
        f"{'; '.join(hints)} (alias it with --prices)"
        if hints
        else "give it a price with --prices FILE (a TOML of price overrides)"
    )


def default_levers(trace: Trace) -> list[str]:
    """A lever set that fits the models in the trace."""
    models = {m for m, _, _ in trace.keys}
    specs = ["no-cache", "cache:anthropic-5m", "cache:anthropic-1h"]
    if any(rules_for(p, m).name.startswith("anthropic") for m, p, _ in trace.keys):
        specs.append("cache:auto")  # a client that never cached is shown what caching saves
    if any(m.startswith(("gpt", "o3", "o4")) for m in models):
        specs.append("cache:openai-24h")
    cheap = "claude-haiku-4-5" if any(m.startswith("claude") for m in models) else "gpt-5-mini"
    specs += [
        f"model:{cheap}",
        f"route:{cheap}",
        "compact:100000",
        "clear-tools:100000",
        "cap:2000",
        "batch:subagents",
    ]
    return specs


def _ordered(levers: Iterable[Lever]) -> list[Lever]:
    rank = {slot: i for i, slot in enumerate(PIPELINE_ORDER)}
    return sorted(levers, key=lambda lv: rank.get(lv.slot, len(rank)))


def whatif(
    source: Trace | Sequence[Call],
    levers: Sequence[str | Lever] | None = None,
    pricer: Pricer | None = None,
    combine: bool = True,
    measure_error: bool = True,
    observed: Observed | bool = True,
) -> WhatIf:
    """Replay each lever alone, then greedily the best combination (one lever per slot).

    ``measure_error``: measure the replay's error against the bill the trace reports (off for
    a synthetic workload, whose "reported" split is not a bill). ``observed``: provider
    behaviour measured on the trace itself (the default), given rates, or ``False`` for the
    documented rules alone (``replay.observed``).
    """
    pricer = pricer or Pricer()
    trace = source if isinstance(source, Trace) else from_calls(source)
    chosen = [make_lever(x) if isinstance(x, str) else x for x in (levers or default_levers(trace))]
    reported_priced = price(trace, Split.reported(trace), pricer)
    reported = reported_priced.total
    obs = _observed(trace, observed)
    baseline = replay(trace, (), pricer, observed=obs)
    per_call_error: float | None = None
    bill_error: float | None = None
    if measure_error and reported > 0:
        a, b = reported_priced.per_call, baseline.per_call
        per_call_error = float(np.nansum(np.abs(b - a)) / float(reported))
        bill_error = float((baseline.cost - reported) / reported)
    alone = [replay(trace, [lv], pricer, name=lv.name, observed=obs) for lv in chosen]
    best: Outcome | None = None
    if combine:
        gains = sorted(zip(alone, chosen, strict=True), key=lambda p: p[0].cost)
        combo: list[Lever] = []
        current = baseline
        applied: dict[tuple[str, ...], Scenario] = {}  # the current combination's prefixes
        for outcome, lever in gains:
            slots = {lv.slot for lv in combo}
            if outcome.cost >= baseline.cost or lever.slot in slots:
                continue
            if outcome.unpriced_calls > baseline.unpriced_calls:  # its cost is not known
                continue
            if {lever.slot, *slots} >= {"model", "routing"}:
                continue  # routing to a model and swapping every call's model conflict
            trial = (
                replay(trace, _ordered([*combo, lever]), pricer, applied=applied, observed=obs)
                if combo
                else outcome  # the lever alone, already replayed
            )
            if trial.cost < current.cost:
                combo, current = [*combo, lever], trial
            # Keep only the scenarios a later trial can start from (each holds a whole trace).
            names = [lv.name for lv in _ordered(combo)]
            keep = {tuple(names[: i + 1]) for i in range(len(names))}
            applied = {k: v for k, v in applied.items() if k in keep}
        if len(combo) > 1:
            best = current
    return WhatIf(reported, baseline, alone, best, len(trace), per_call_error, bill_error, obs)


def _observed(trace: Trace, observed: Observed | bool) -> Observed | None:
    if observed is True:
        return observe(trace, rules_for)
    return observed or None


@dataclass
class Agreement:
    """How well a replay of the provider's own rules reproduces what the provider reported."""

    calls: int
    exact_calls: int  # read, writes and fresh input all equal
    calls_within_1pct: int  # replayed cost within 1% of the reported cost
    dollars: Decimal
    dollars_within_1pct: Decimal
    reported_cost: Decimal
    replayed_cost: Decimal
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    # The documented rules alone (no observed rates), for before/after comparison.
    rules_cost: Decimal = Decimal(0)
    rules_calls_within_1pct: int = 0
    replayed_range: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0))
    routes: dict[str, int] = field(default_factory=dict)
    given_reads: int = 0  # first calls billed as reads of a prefix cached outside the log
    linked_sessions: int = 0  # resumed sessions joined to the thread they continue
    observed: Observed | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "exact_calls": self.exact_calls,
            "calls_within_1pct": self.calls_within_1pct,
            "share_of_calls_within_1pct": self.calls_within_1pct / self.calls if self.calls else 0,
            "share_of_dollars_within_1pct": float(self.dollars_within_1pct / self.dollars)
            if self.dollars
            else 0.0,
            "reported_cost_usd": self.reported_cost,
            "replayed_cost_usd": self.replayed_cost,
            "replayed_range_usd": list(self.replayed_range),
            "rules_only": {
                "replayed_cost_usd": self.rules_cost,
                "calls_within_1pct": self.rules_calls_within_1pct,
                "share_of_calls_within_1pct": self.rules_calls_within_1pct / self.calls
                if self.calls
                else 0,
            },
            "routes": dict(self.routes),
            "given_reads": self.given_reads,
            "linked_sessions": self.linked_sessions,
            "observed": None if self.observed is None else self.observed.to_dict(),
            "disagreements": self.disagreements,
        }


def replay_agreement(
    trace: Trace,
    pricer: Pricer | None = None,
    observed: Observed | bool = True,
    rows: npt.NDArray[np.bool_] | None = None,
) -> Agreement:
    """Replay each call's own provider rules and compare with its reported split, call by call.

    ``observed``: as ``whatif`` (measured on ``trace`` by default). ``rows``: compare only
    these calls (the whole trace is replayed: e.g. rates fitted on the first half of a log,
    judged on the second).
    """
    pricer = pricer or Pricer()
    obs = _observed(trace, observed)
    rules = rules_for if obs is None else obs.rules(rules_for)
    documented = with_given(trace, simulate(trace, rules_for).split, rules_for)
    sim = documented
    if rules is not rules_for:
        sim = with_given(trace, simulate(trace, rules).split, rules)
    rep = Split.reported(trace)
    rep_priced = price(trace, rep, pricer)
    doc_priced = price(trace, documented, pricer)
    sim_priced = doc_priced if sim is documented else price(trace, sim, pricer)
    a, rules_b = rep_priced.per_call, doc_priced.per_call
    b, total_b = sim_priced.per_call, sim_priced.total
    low = high = total_b
    miss_w = np.zeros(len(trace))
    survive_w = np.zeros(len(trace))
    if obs is not None and obs.active:
        exp = expected_replay(trace, rules, sim, obs, pricer, sim_priced.total)
        b, low, high, total_b = exp.per_call, exp.low, exp.high, exp.total
        miss_w, survive_w = exp.miss_weight, exp.survive_weight
    sel = np.ones(len(trace), dtype=np.bool_) if rows is None else rows
    exact = (
        (sim.cache_read == rep.cache_read)
        & (sim.cache_write_5m == rep.cache_write_5m)
        & (sim.cache_write_1h == rep.cache_write_1h)
        & (sim.input == rep.input)
    )
    within = np.abs(a - b) <= 0.01 * np.abs(a)
    rules_within = np.abs(a - rules_b) <= 0.01 * np.abs(a)

    def dec(x: float) -> Decimal:
        return Decimal(str(round(float(x), 9)))

    if rows is None:
        reported, replayed, rules_cost = rep_priced.total, total_b, doc_priced.total
        span = (low, high)
    else:
        reported, replayed = dec(np.nansum(a[sel])), dec(np.nansum(b[sel]))
        rules_cost = dec(np.nansum(rules_b[sel]))
        span = (replayed, replayed)
    dollars = dec(np.nansum(a[sel]))
    dollars_within = dec(np.nansum(np.where(within & sel, a, 0.0)))
    disagreements = [
        _explain(trace, rep, sim, int(i), float(a[i]), float(b[i]), float(miss_w[i]),
                 float(survive_w[i]), obs)
        for i in np.flatnonzero(~within & sel)
    ]  # fmt: skip
    routes: dict[str, int] = {}
    for r in trace.route[sel].tolist():
        routes[str(r)] = routes.get(str(r), 0) + 1
    given = int(((sim.cache_read > 0) & (trace.given > 0) & (trace.parent < 0) & sel).sum())
    linked = sum(
        1
        for i in np.flatnonzero(sel & (trace.parent >= 0)).tolist()
        if trace.session[i] != trace.session[int(trace.parent[i])]
        and not trace.subagent[i]
        and not trace.compaction[i]
    )
    return Agreement(
        int(sel.sum()), int((exact & sel).sum()), int((within & sel).sum()), dollars,
        dollars_within, reported, replayed, disagreements, rules_cost,
        int((rules_within & sel).sum()), span, routes, given, linked, obs,
    )  # fmt: skip


def held_out_agreement(trace: Trace, pricer: Pricer | None = None, fit: float = 0.5) -> Agreement:
    """Validation that cannot flatter itself: provider behaviour measured on the first ``fit``
    share of the calls (by time) predicts the rest. The whole trace is replayed (the cache is
    warm where the second part begins); only the later calls are compared, with the rates
    fitted on the earlier ones. ``rules_cost`` is the documented rules on the same calls."""
    order = trace.time_order
    if len(trace) < 2:
        return replay_agreement(trace, pricer, observed=False)
    cut = trace.time[order[int(len(trace) * fit)]]
    first = trace.time < cut
    observed = observe(trace, rules_for, mask=first)
    return replay_agreement(trace, pricer, observed=observed, rows=~first)


def _explain(
    trace: Trace,
    rep: Split,
    sim: Split,
    i: int,
    a: float,
    b: float,
    miss: float,
    survive: float,
    obs: Observed | None,
) -> dict[str, Any]:
    parent = int(trace.parent[i])
    read, sim_read = int(rep.cache_read[i]), int(sim.cache_read[i])
    gap = float(trace.time[i] - trace.time[parent]) if parent >= 0 else None
    model, provider, _ = trace.keys[int(trace.key[i])]
    route = str(trace.route[i])
    rules = rules_for(provider, model)
    automatic = rules.mode == "automatic"
    ttl = None
    if parent >= 0:
        ttl = float(rules.ttl if rules.ttl is not None else trace.ttl[parent])
    p_prompt = int(trace.prompt[parent]) if parent >= 0 else 0
    p_bp = p_prompt - int(trace.tail[parent]) if parent >= 0 else 0
    if read == sim_read and (miss or survive):
        chance = (
            f"a {miss:.0%} chance of missing a live entry"
            if miss
            else f"a {survive:.0%} chance the entry outlived the idle limit"
        )
        why = (
            f"replayed as an expected value: {chance} ({route} route, measured in this log); "
            "the provider served this call as the rules say"
        )
    elif parent < 0 and read > sim_read:
        why = "first call of its thread read a prefix cached by a request outside these logs"
    elif parent >= 0 and read > sim_read and gap is not None and ttl is not None and gap > ttl:
        if read >= min(p_bp, int(trace.prompt[i])) / 2:
            why = (
                f"the thread's own cache entry outlived the {ttl:.0f}-s idle limit of the rules "
                f"({gap:.0f} s idle; the provider kept it longer"
                + (f", {survive:.0%} expected from this log)" if survive else ")")
            )
        else:
            why = (
                f"{gap:.0f} s after the last call the thread's own cache had expired, but a "
                f"{read:,}-token common prefix (system prompt) was still cached by another request"
            )
    elif (
        parent >= 0
        and read < sim_read
        and automatic
        and read > 0
        and (p_prompt // rules.step * rules.step <= read < sim_read and sim_read > p_prompt)
    ):
        why = (
            "the provider did not cache the previous answer: the read stops at the previous "
            "request's prompt (the rules cache the answer too)"
        )
    elif parent >= 0 and sim_read / 2 <= read < sim_read and (ttl is None or (gap or 0.0) <= ttl):
        where = (
            "the end of the previous request not cached yet"
            if automatic
            else "an earlier cache entry read, as from another of the route's caches"
        )
        why = (
            f"provider cached {sim_read - read:,} tokens less than the rules allow ({where}; "
            "best-effort caching, no hit guarantee)"
        )
    elif parent >= 0 and read < sim_read and (ttl is None or (gap or 0.0) <= ttl):
        why = (
            f"missed a live cache entry ({route} route, best-effort caching, no hit guarantee)"
            + (f": {miss:.0%} of such calls miss in this log, expected cost used" if miss else "")
        )
    elif parent >= 0 and read > p_bp and not automatic:
        why = "read past the previous call's breakpoint: an entry written by a request not logged"
    elif read > sim_read:
        why = (
            f"read {read - sim_read:,} tokens the replay had not cached: a prefix (tools, system "
            "prompt) kept by another request"
        )
    elif automatic and read < sim_read:
        why = "provider cached less than the rules allow (best-effort caching, no hit guarantee)"
    else:
        why = "unexplained"
    return {
        "thread": trace.threads[int(trace.thread[i])],
        "time": float(trace.time[i]),
        "model": model,
        "route": route,
        "prompt": int(trace.prompt[i]),
        "reported": [int(getattr(rep, k)[i]) for k in _SPLIT],
        "replayed": [int(getattr(sim, k)[i]) for k in _SPLIT],
        "reported_usd": a,
        "replayed_usd": b,
        "why": why,
    }
