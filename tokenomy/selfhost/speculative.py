"""Speculative decoding: tokens gained per step against the cost of drafting and verifying.

Per step each sequence drafts ``γ`` tokens (each draft step costing ``c`` x a target decode
step at the same batch) and the target verifies ``γ + 1`` tokens in one pass. With a per-token
acceptance rate α, Leviathan et al. (2023) Eq. 1 gives the tokens kept per step,
``τ = (1 - α^(γ+1)) / (1 - α)``. The verify pass reads the weights and KV cache once but does
``γ + 1`` times the FLOPs, so while the step is memory-bound (small batches) speculation is
nearly free and the speed-up tends to ``τ / (1 + γc)``; once the batch makes the step
compute-bound, verifying costs ``~(γ + 1)`` plain steps and the gain shrinks or turns into a
loss. ``adaptive`` picks the best draft length (0 = off) at each batch, as DSpark's load-aware
verification and vLLM's adaptive mode do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenomy.selfhost.perf_model import Deployment

__all__ = ["Speculation", "expected_tokens_per_step"]


def expected_tokens_per_step(acceptance: float, draft_len: int) -> float:
    """Leviathan Eq. 1: tokens emitted per verify step, the bonus/corrected token included."""
    if acceptance >= 1.0:
        return float(draft_len + 1)
    return (1.0 - acceptance ** (draft_len + 1)) / (1.0 - acceptance)


@dataclass(frozen=True, slots=True)
class Speculation:
    acceptance: float  # α: probability that each drafted token is accepted
    draft_len: int  # γ: tokens drafted per step (the most, when adaptive)
    draft_cost: float  # c: one draft step's time over one target decode step, same batch
    adaptive: bool = False  # choose the best draft length 0..γ at each batch size

    def __post_init__(self) -> None:
        if not 0 <= self.acceptance <= 1:
            raise ValueError(f"acceptance must be in [0, 1], got {self.acceptance}")
        if self.draft_len < 1:
            raise ValueError(f"draft_len must be >= 1, got {self.draft_len}")
        if self.draft_cost < 0:
            raise ValueError(f"draft_cost must be >= 0, got {self.draft_cost}")

    @property
    def tokens_per_step(self) -> float:
        return expected_tokens_per_step(self.acceptance, self.draft_len)

    def describe(self) -> str:
        mode = "adaptive γ≤" if self.adaptive else "γ="
        return f"α={self.acceptance:g} {mode}{self.draft_len} c={self.draft_cost:g}"

    def step_at(
        self, dep: Deployment, batch: float, context: float, draft_len: int
    ) -> tuple[float, float]:
        """(seconds per step, tokens per sequence per step) at one fixed draft length."""
        plain = dep.decode_step_time(batch, context)
        if draft_len == 0:
            return plain, 1.0
        verify = dep.decode_step_time(batch, context, tokens_per_sequence=draft_len + 1)
        drafting = draft_len * self.draft_cost * plain
        return drafting + verify, expected_tokens_per_step(self.acceptance, draft_len)

    def step(self, dep: Deployment, batch: float, context: float) -> tuple[float, float]:
        if not self.adaptive:
            return self.step_at(dep, batch, context, self.draft_len)
        options = [self.step_at(dep, batch, context, g) for g in range(self.draft_len + 1)]
        return max(options, key=lambda o: o[1] / o[0])
