"""The batch API: the same calls, up to 24 hours later, at the provider's batch prices.

Stacking rules come from genai-prices' batch variants, which encode them per model (Anthropic:
50% of everything, cache reads and writes included; OpenAI: 50%, but older models such as
gpt-4.1 keep the standard cached-input rate; Gemini: 50% on input and output, cached input at
the standard rate; research/caching_pricing.md section 5). genai-prices models batch prices only
from 2026-10-12: for an earlier call we scale its own-date standard rates by today's batch /
standard ratio per token kind (an estimate, labelled as such). A model with no batch price
today is not batchable and keeps its price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from tokenomy.calls import TOKEN_KINDS
from tokenomy.levers.registry import Scenario, register
from tokenomy.pricing import Band, Pricer, Rates

__all__ = ["Batch", "batch_rates"]


def batch_rates(pricer: Pricer, model: str, provider: str, when: datetime) -> Rates | None:
    """Batch rates at ``when``; ``None`` where the model has no price at all."""
    standard = pricer.rates(model, provider, when, "")
    batch = pricer.rates(model, provider, when, "batch")
    if standard is None or batch is None or batch != standard:
        return batch
    now = datetime.now(UTC)
    std_now = pricer.rates(model, provider, now, "")
    batch_now = pricer.rates(model, provider, now, "batch")
    if std_now is None or batch_now is None or std_now == batch_now:
        return standard  # no batch price: not batchable
    s0, b0 = std_now.bands[0], batch_now.bands[0]

    def ratio(kind: str) -> Decimal:
        base: Decimal = getattr(s0, kind)
        return Decimal(1) if base == 0 else getattr(b0, kind) / base

    bands = tuple(
        Band(band.above, *(getattr(band, k) * ratio(k) for k in TOKEN_KINDS))
        for band in standard.bands
    )
    return Rates(
        standard.model,
        standard.provider,
        bands,
        standard.per_request,
        source="genai-prices (batch/standard ratio of today, an estimate)",
    )


@dataclass(frozen=True)
class Batch:
    """Send eligible calls through the batch API (``eligible``: all or subagents)."""

    eligible: str = "subagents"
    slot: str = "batch"

    @property
    def name(self) -> str:
        return f"batch:{self.eligible}"

    def apply(self, s: Scenario) -> Scenario:
        t = s.trace
        mask = np.ones(len(t), dtype=np.bool_) if self.eligible == "all" else t.subagent.copy()
        keys = list(t.keys)
        remap = np.arange(len(keys), dtype=np.int64)
        for k, (model, provider, _tier) in enumerate(t.keys):
            target = (model, provider, "batch")
            if target not in keys:
                keys.append(target)
            remap[k] = keys.index(target)
        key = np.where(mask, remap[t.key], t.key)
        note = (
            f"{int(mask.sum()):,} call(s) ({self.eligible}) sent through the batch API: they "
            "may wait up to 24 h, which an interactive agent cannot; the cache split is kept "
            "as replayed (batch caching is best-effort)"
        )
        return s.evolve(t.with_arrays(key=key, keys=keys), note)


register("batch", lambda arg, kw: Batch(eligible=arg or kw.get("eligible", "subagents")))
