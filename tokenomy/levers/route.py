"""Rule-based routing: calls that match a rule go to a cheaper model.

Rules look only at what is known before the call is sent (is it a sub-agent, how long is its
prompt), never at its answer. Answer quality is NOT simulated: a cheaper model may fail where
the original succeeded, and the failed work's cost is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenomy.levers.model import swap_models
from tokenomy.levers.registry import Scenario

__all__ = ["Route", "route"]


@dataclass(frozen=True)
class Route:
    """Send sub-agent calls (``subagents``) and/or calls with prompts under ``max_prompt``
    tokens to ``target``."""

    target: str
    subagents: bool = True
    max_prompt: int = 0  # 0: no prompt-size rule
    slot: str = "routing"

    @property
    def name(self) -> str:
        rules = ["subagents"] if self.subagents else []
        if self.max_prompt:
            rules.append(f"prompt<{self.max_prompt}")
        return f"route:{self.target}({'|'.join(rules)})"

    def apply(self, s: Scenario) -> Scenario:
        t = s.trace
        mask = np.zeros(len(t), dtype=np.bool_)
        if self.subagents:
            mask |= t.subagent
        if self.max_prompt:
            mask |= t.prompt < self.max_prompt
        trace, error, notes = swap_models(t, mask, self.target)
        out = s.evolve(
            note=f"{int(mask.sum()):,} call(s) routed to {self.target} by rule "
            f"({self.name}); answer quality is not simulated"
        )
        for note in notes:
            out = out.evolve(note=note)
        return out.evolve(trace, relative_error=max(s.relative_error, error))


def route(arg: str, kw: dict[str, str]) -> Route:
    """``route:M,subagents=yes|no,max_prompt=N``."""
    return Route(
        arg or kw["target"],
        subagents=kw.get("subagents", "yes") not in ("no", "0", "false"),
        max_prompt=int(kw.get("max_prompt", "0")),
    )
