"""The batch API: the same calls, up to 24 hours later, at the provider's batch prices.

The lever only moves eligible calls to the ``batch`` tier; how that tier is priced (each
provider's stacking rules, and the estimate for dates genai-prices has no batch price for) is
a pricing rule: ``tokenomy.pricing.Pricer.batch_rates``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenomy.levers.registry import Scenario

__all__ = ["Batch", "batch"]


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


def batch(arg: str, kw: dict[str, str]) -> Batch:
    """``batch:subagents|all``."""
    return Batch(eligible=arg or kw.get("eligible", "subagents"))
