"""Price a replayed trace fast and exactly: numpy sums per (model, tier, day, band), Decimal last.

``Rates.cost`` is linear in the token counts inside a long-context band, so the cost of many
calls is the band's rates times the *sums* of their tokens. We sum token counts as integers
(exact) per group and band, and only then multiply by the Decimal rates: the total equals the
sum of ``Rates.cost`` over the calls (a test checks it on the real logs). Per-call costs, used
for ranking and call-by-call comparison, are float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from tokenomy.pricing import MTOK, Band, Pricer, Rates
from tokenomy.traces import F64, I64, Trace

__all__ = ["Priced", "Split", "price"]

_KINDS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")


@dataclass(frozen=True)
class Split:
    """How each call's tokens are billed (the five additive kinds of ``Call``)."""

    input: I64
    cache_read: I64
    cache_write_5m: I64
    cache_write_1h: I64
    output: I64

    @classmethod
    def reported(cls, trace: Trace) -> Split:
        return cls(
            trace.input, trace.cache_read, trace.cache_write_5m, trace.cache_write_1h, trace.output
        )

    @property
    def prompt(self) -> I64:
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    def totals(self) -> dict[str, int]:
        return {k: int(getattr(self, k).sum()) for k in _KINDS}


@dataclass(frozen=True)
class Priced:
    """Costs of a split: per call (float, NaN = unpriced), exact total, and what was unpriced."""

    per_call: F64
    total: Decimal
    by_kind: dict[str, Decimal]
    unpriced_calls: int
    unpriced_models: tuple[str, ...]


def _group_step(trace: Trace, pricer: Pricer) -> I64:
    """Pricing step per call: the day, or the minute for models priced by time of day."""
    minute = (trace.time // 60).astype(np.int64)
    by_minute = np.array(
        [pricer.varies_within_a_day(m, p) for m, p, _ in trace.keys] or [False], dtype=np.bool_
    )
    return np.where(by_minute[trace.key], minute, (minute // 1440) * 1440)


def price(
    trace: Trace,
    split: Split,
    pricer: Pricer,
    band_prompt: I64 | None = None,
) -> Priced:
    """Price ``split`` with each call's model, tier and time (``trace.key``, ``trace.time``).

    The long-context band is chosen by ``band_prompt`` (default: the split's own prompt), so a
    part of a call (its reasoning, its wasted writes) is priced at the call's own band.
    """
    n = len(trace)
    per_call = np.full(n, np.nan)
    by_kind = dict.fromkeys(_KINDS, Decimal(0))
    per_request = Decimal(0)
    if n == 0:
        return Priced(per_call, Decimal(0), by_kind, 0, ())
    step = _group_step(trace, pricer)
    group = trace.key * np.int64(1 << 40) + step
    order = np.argsort(group, kind="stable")
    sorted_groups = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    ends = np.r_[starts[1:], n]
    prompt = split.prompt if band_prompt is None else band_prompt
    tokens = {k: getattr(split, k) for k in _KINDS}
    unpriced = 0
    unpriced_models: set[str] = set()
    for s, e in zip(starts, ends, strict=True):
        idx = order[s:e]
        key = int(trace.key[idx[0]])
        model, provider, tier = trace.keys[key]
        when = datetime.fromtimestamp(int(step[idx[0]]) * 60, UTC)
        rates = _rates(pricer, model, provider, when, tier)
        if rates is None:
            unpriced += idx.shape[0]
            unpriced_models.add(model)
            continue
        aboves = np.array([b.above for b in rates.bands], dtype=np.int64)
        band = np.maximum(np.searchsorted(aboves, prompt[idx], side="left") - 1, 0)
        cost = np.zeros(idx.shape[0])
        for bi, b in enumerate(rates.bands):
            in_band = idx[band == bi] if len(rates.bands) > 1 else idx
            if in_band.shape[0] == 0:
                continue
            for k in _KINDS:
                rate: Decimal = getattr(b, k)
                col = tokens[k][in_band]
                by_kind[k] += Decimal(int(col.sum())) * rate / MTOK
            if len(rates.bands) > 1:
                mask = band == bi
                cost[mask] = _float_cost(tokens, in_band, b)
            else:
                cost = _float_cost(tokens, in_band, b)
        per_call[idx] = cost + float(rates.per_request)
        per_request += rates.per_request * idx.shape[0]
    total = sum(by_kind.values(), Decimal(0)) + per_request
    return Priced(per_call, total, by_kind, unpriced, tuple(sorted(unpriced_models)))


def _rates(pricer: Pricer, model: str, provider: str, when: datetime, tier: str) -> Rates | None:
    if tier == "batch":
        from tokenomy.levers.batch import batch_rates

        return batch_rates(pricer, model, provider, when)
    return pricer.rates(model, provider, when, tier)


def _float_cost(tokens: dict[str, I64], idx: I64, band: Band) -> F64:
    out = np.zeros(idx.shape[0])
    for k in _KINDS:
        out += tokens[k][idx] * (float(getattr(band, k)) / 1e6)
    return out
