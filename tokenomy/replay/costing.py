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

from tokenomy.calls import TOKEN_KINDS
from tokenomy.pricing import MTOK, Band, Pricer, Rates
from tokenomy.replay.trace import F64, I64, Trace

__all__ = ["Priced", "Split", "price"]


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
        return {k: int(getattr(self, k).sum()) for k in TOKEN_KINDS}


@dataclass(frozen=True)
class Priced:
    """Costs of a split: per call (float, NaN = unpriced), exact total, and what was unpriced."""

    per_call: F64
    total: Decimal
    by_kind: dict[str, Decimal]
    unpriced_calls: int
    unpriced_models: tuple[str, ...]


_DENSE_LIMIT = 1 << 22  # (keys x steps) codes counted in a table of at most 32 MB, else sorted


def _groups(trace: Trace, pricer: Pricer) -> tuple[I64, I64, I64]:
    """Each call's pricing group (0..G-1, ordered by key then step), and per group its key and
    step (the minute its prices are read at: the day's first, or the call's own minute for
    models priced by time of day).

    Codes are counted in a dense table instead of sorted: one pass over the calls.
    """
    minute = trace.minute
    by_minute = np.array(
        [pricer.varies_within_a_day(m, p) for m, p, _ in trace.keys] or [False], dtype=np.bool_
    )
    step = np.where(by_minute[trace.key], minute, (minute // 1440) * 1440)
    low = int(step.min())
    unit = 1 if by_minute.any() else 1440
    span = (int(step.max()) - low) // unit + 1
    if len(trace.keys) * span > _DENSE_LIMIT:
        code = trace.key * np.int64(1 << 40) + step
        uniq, inverse = np.unique(code, return_inverse=True)
        return inverse.astype(np.int64), uniq >> 40, uniq & ((1 << 40) - 1)
    code = trace.key * np.int64(span) + (step - low) // unit
    present = np.bincount(code, minlength=len(trace.keys) * span) > 0
    dense = np.cumsum(present) - 1
    codes = np.flatnonzero(present)
    return dense[code], codes // span, (codes % span) * unit + low


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
    by_kind = dict.fromkeys(TOKEN_KINDS, Decimal(0))
    if n == 0:
        return Priced(np.full(0, np.nan), Decimal(0), by_kind, 0, ())
    group, group_key, group_step = _groups(trace, pricer)
    prompt = split.prompt if band_prompt is None else band_prompt
    # One row per (group, band): its Decimal rates (zero where unpriced), the first row of each
    # group, and each group's band thresholds above the first.
    rows: list[tuple[Band, Decimal]] = []
    row_priced: list[bool] = []
    first_row = np.zeros(group_key.shape[0], dtype=np.int64)
    above: list[list[int]] = [[] for _ in range(group_key.shape[0])]
    unpriced_models: set[str] = set()
    for g, (key, step) in enumerate(zip(group_key.tolist(), group_step.tolist(), strict=True)):
        model, provider, tier = trace.keys[key]
        rates = _rates(pricer, model, provider, datetime.fromtimestamp(step * 60, UTC), tier)
        first_row[g] = len(rows)
        if rates is None:
            unpriced_models.add(model)
            rows.append((Band(0, *[Decimal(0)] * 5), Decimal(0)))
            row_priced.append(False)
            continue
        rows += [(b, rates.per_request) for b in rates.bands]
        row_priced += [True] * len(rates.bands)
        above[g] = [b.above for b in rates.bands[1:]]
    # A call's band: how many of its group's higher bands its prompt is above.
    row = first_row[group]
    most = max(len(a) for a in above)
    if most:
        thresholds = np.full((len(above), most), np.iinfo(np.int64).max, dtype=np.int64)
        for g, a in enumerate(above):
            thresholds[g, : len(a)] = a
        row = row + (prompt[:, None] > thresholds[group]).sum(axis=1)
    priced = np.array(row_priced, dtype=np.bool_)[row]
    per_call = np.zeros(n)
    rate = np.array([[float(getattr(b, k)) / 1e6 for b, _ in rows] for k in TOKEN_KINDS])
    for j, k in enumerate(TOKEN_KINDS):
        tokens = getattr(split, k)
        per_call += tokens * rate[j][row]
        # Exact integer sums per row (float64 sums are exact below 2**53 tokens).
        sums = np.bincount(row, weights=tokens, minlength=len(rows))
        for r, total in enumerate(sums.tolist()):
            if total and row_priced[r]:
                by_kind[k] += Decimal(int(total)) * getattr(rows[r][0], k) / MTOK
    per_call += np.array([float(pr) for _, pr in rows])[row]
    per_call[~priced] = np.nan
    calls_per_row = np.bincount(row, minlength=len(rows)).tolist()
    per_request = sum(
        (pr * c for (_, pr), c in zip(rows, calls_per_row, strict=True) if c), Decimal(0)
    )
    total = sum(by_kind.values(), Decimal(0)) + per_request
    return Priced(per_call, total, by_kind, int((~priced).sum()), tuple(sorted(unpriced_models)))


def _rates(pricer: Pricer, model: str, provider: str, when: datetime, tier: str) -> Rates | None:
    if tier == "batch":
        return pricer.batch_rates(model, provider, when)
    return pricer.rates(model, provider, when, tier)
