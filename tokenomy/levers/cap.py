"""Output caps: ``max_tokens`` on every call.

Output above the cap is not billed. Assumes the answer still did its job (truncation is not
simulated) and that later prompts are unchanged (in reality a shorter answer also shortens
every later prompt that repeats it, so this understates the saving a little).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenomy.levers.registry import Scenario

__all__ = ["OutputCap", "cap"]


@dataclass(frozen=True)
class OutputCap:
    max_tokens: int
    slot: str = "output"

    @property
    def name(self) -> str:
        return f"cap:{self.max_tokens}"

    def apply(self, s: Scenario) -> Scenario:
        t = s.trace
        output = np.minimum(t.output, self.max_tokens)
        capped = int((t.output > self.max_tokens).sum())
        return s.evolve(
            t.with_arrays(output=output, reasoning=np.minimum(t.reasoning, output)),
            f"output capped at {self.max_tokens:,} tokens: {capped:,} call(s) cut; whether a "
            "cut answer still did its job is not simulated",
        )


def cap(arg: str, kw: dict[str, str]) -> OutputCap:
    """``cap:N``: no call writes more than N output tokens."""
    return OutputCap(int(arg or kw["max_tokens"]))
