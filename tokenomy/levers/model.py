"""Another model: the same calls sent to ``target``, token counts converted between tokenizers.

When the two models' tokenizers differ, every count is scaled by the measured ratio of their
tokenizers (``tokenomy.tokens.convert_tokens``) and the conversion's median relative error is
carried into the result. Quality is not simulated. The target's own caching rules apply
(switching models is a full cache miss: caches are per model).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from tokenomy.levers.registry import Scenario
from tokenomy.replay.trace import F64, I64, Trace
from tokenomy.replay.trace import B as Mask

__all__ = ["ModelSwap", "conversion", "model", "swap_models"]


@cache
def conversion(from_model: str, to_model: str) -> tuple[float, float | None]:
    """(target tokens per source token, relative error); error None if a tokenizer is unknown."""
    from tokenomy.tokens import UnknownTokenizer, convert_tokens, tokenizer_name_for_model

    try:
        a, b = tokenizer_name_for_model(from_model), tokenizer_name_for_model(to_model)
    except UnknownTokenizer:
        return 1.0, None
    if a == b:
        return 1.0, 0.0
    n = 1_000_000
    estimate, error = convert_tokens(n, a, b)
    return estimate / n, error


def _scale(values: I64, factor: F64) -> I64:
    return np.rint(values * factor).astype(np.int64)


def swap_models(
    trace: Trace, mask: Mask, target: str, provider: str = ""
) -> tuple[Trace, float, list[str]]:
    """Send the calls in ``mask`` to ``target``; returns the trace, the worst error, notes."""
    keys = list(trace.keys)
    factor = np.ones(len(trace))
    remap = np.arange(len(keys), dtype=np.int64)
    worst = 0.0
    notes: list[str] = []
    for k, (model, _prov, tier) in enumerate(trace.keys):
        new = (target, provider, tier)
        if new not in keys:
            keys.append(new)
        remap[k] = keys.index(new)
        ratio, error = conversion(model, target)
        sel = mask & (trace.key == k)
        if not sel.any():
            continue
        factor[sel] = ratio
        if error is None:
            notes.append(f"no tokenizer known for {model} or {target}: token counts kept")
        elif ratio != 1.0:
            worst = max(worst, error)
            notes.append(
                f"{model} -> {target}: token counts x{ratio:.3f} (tokenizer ratio, median "
                f"relative error {error:.1%})"
            )
    changed = {
        name: np.where(mask, _scale(getattr(trace, name), factor), getattr(trace, name))
        for name in ("prompt", "tail", "shared", "output", "reasoning")
    }
    changed["key"] = np.where(mask, remap[trace.key], trace.key)
    # A prefix another request cached for the old model is not cached for the new one.
    changed["given"] = np.where(mask & (remap[trace.key] != trace.key), 0, trace.given)
    return trace.with_arrays(keys=keys, **changed), worst, notes


@dataclass(frozen=True)
class ModelSwap:
    """Every call to ``target`` (quality not simulated)."""

    target: str
    provider: str = ""
    slot: str = "model"

    @property
    def name(self) -> str:
        return f"model:{self.target}"

    def apply(self, s: Scenario) -> Scenario:
        mask = np.ones(len(s.trace), dtype=np.bool_)
        trace, error, notes = swap_models(s.trace, mask, self.target, self.provider)
        notes.append(f"every call sent to {self.target}; answer quality is not simulated")
        out = s
        for note in notes:
            out = out.evolve(note=note)
        return out.evolve(trace, relative_error=max(s.relative_error, error))


def model(arg: str, kw: dict[str, str]) -> ModelSwap:
    """``model:M``: every call sent to model M instead."""
    return ModelSwap(arg or kw["target"], kw.get("provider", ""))
