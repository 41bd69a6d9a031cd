"""The anatomy of a bill: what the tokens were, what re-sending the history cost, and how
well the cache worked.

- **By kind**: tokens and dollars of fresh input, cache reads, 5-minute and 1-hour cache
  writes, output, and the reasoning part of output.
- **Context tax**: each call re-sends its thread's history. For every call, the prompt tokens
  already sent earlier in the thread (as a prefix) versus new ones, and the curve of the
  re-sent share by call index.
- **Cache efficiency**: the share of prompt tokens read from cache; tokens written and never
  read again, split into writes whose entry expired before the next call, writes the next
  call did not reuse (the history was rewritten), and writes at a thread's end; what those
  wasted writes cost, and the premium they paid over plain input.
- **Who spent it**: sub-agents and compaction calls; calls whose output is only a lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from tokenomy.calls import TOKEN_KINDS, Call
from tokenomy.pricing import Pricer
from tokenomy.replay.costing import Split, price
from tokenomy.replay.trace import I64, Trace, from_calls

__all__ = ["Anatomy", "anatomy", "context_tax_curve"]


@dataclass
class Anatomy:
    calls: int
    cost: Decimal
    by_kind: list[dict[str, Any]]
    context_tax: dict[str, Any]
    curve: list[dict[str, Any]]
    cache: dict[str, Any]
    shares: dict[str, Any]
    lower_bound: dict[str, Any]
    unpriced_calls: int = 0
    sessions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cost_usd": self.cost,
            "unpriced_calls": self.unpriced_calls,
            "by_kind": self.by_kind,
            "context_tax": self.context_tax,
            "context_tax_curve": self.curve,
            "cache": self.cache,
            "shares": self.shares,
            "lower_bound_output": self.lower_bound,
        }


def _zeros(n: int) -> I64:
    return np.zeros(n, dtype=np.int64)


def context_tax_curve(trace: Trace) -> list[dict[str, Any]]:
    """By call index within a thread: calls, mean re-sent share, and the cumulative share of
    all prompt tokens processed so far that were re-sent."""
    order = np.lexsort((trace.time, trace.thread))
    thread = trace.thread[order]
    starts = np.r_[True, thread[1:] != thread[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    index = np.arange(len(order)) - first
    shared = trace.shared[order].astype(np.float64)
    prompt = trace.prompt[order].astype(np.float64)
    share = np.divide(shared, prompt, out=np.zeros_like(shared), where=prompt > 0)
    out = []
    cum_shared = cum_prompt = 0.0
    for k in range(int(index.max()) + 1 if len(index) else 0):
        sel = index == k
        cum_shared += float(shared[sel].sum())
        cum_prompt += float(prompt[sel].sum())
        out.append(
            {
                "call_index": k + 1,
                "threads": int(sel.sum()),
                "mean_resent_share": float(share[sel].mean()),
                "cumulative_resent_share": cum_shared / cum_prompt if cum_prompt else 0.0,
            }
        )
    return out


def anatomy(
    source: Trace | Sequence[Call], pricer: Pricer | None = None, session: str | None = None
) -> Anatomy:
    """The anatomy of ``source`` (all of it, or one session with its sub-agents)."""
    pricer = pricer or Pricer()
    trace = source if isinstance(source, Trace) else from_calls(source)
    if session is not None:
        keep = np.array([s == session or s.startswith(session) for s in trace.session], bool)
        trace = trace.take(keep)
    n = len(trace)
    rep = Split.reported(trace)
    priced = price(trace, rep, pricer)
    prompt = rep.prompt
    reasoning_cost = price(
        trace, Split(_zeros(n), _zeros(n), _zeros(n), _zeros(n), trace.reasoning), pricer,
        band_prompt=prompt,
    ).total  # fmt: skip
    by_kind = [
        {"kind": k, "tokens": int(getattr(rep, k).sum()), "cost_usd": priced.by_kind[k]}
        for k in TOKEN_KINDS
    ]
    by_kind.append(
        {"kind": "reasoning (part of output)", "tokens": int(trace.reasoning.sum()),
         "cost_usd": reasoning_cost}
    )  # fmt: skip
    total_prompt = int(prompt.sum())
    resent = int(trace.shared.sum())
    tax = {
        "prompt_tokens": total_prompt,
        "resent_tokens": resent,
        "new_tokens": total_prompt - resent,
        "resent_share": resent / total_prompt if total_prompt else 0.0,
    }
    cache = _cache_efficiency(trace, rep, pricer, prompt)
    per_call = np.nan_to_num(priced.per_call)
    total = float(per_call.sum()) or 1.0

    def part(mask: np.ndarray) -> dict[str, Any]:
        return {
            "calls": int(mask.sum()),
            "tokens": int((prompt + rep.output)[mask].sum()),
            "cost_share": float(per_call[mask].sum()) / total,
        }

    shares = {"subagents": part(trace.subagent), "compaction": part(trace.compaction)}
    lower = ~trace.output_exact
    lower_bound = {
        "calls": int(lower.sum()),
        "output_tokens": int(trace.output[lower].sum()),
        "note": "these logs never wrote the final output count: output is at least this",
    }
    return Anatomy(
        n, priced.total, by_kind, tax, context_tax_curve(trace), cache, shares, lower_bound,
        priced.unpriced_calls, sorted(set(trace.session.tolist())),
    )  # fmt: skip


def _cache_efficiency(trace: Trace, rep: Split, pricer: Pricer, prompt: I64) -> dict[str, Any]:
    """Which written tokens were read again by a later call continuing the same prefix."""
    n = len(trace)
    written = rep.cache_write_5m + rep.cache_write_1h
    end = rep.cache_read + written  # the entry a call writes ends here
    reuse = np.zeros(n, dtype=np.int64)  # the most any child call read of it
    has_child = np.zeros(n, dtype=np.bool_)
    gap = np.full(n, np.inf)
    kids = np.flatnonzero(trace.parent >= 0)
    par = trace.parent[kids]
    np.maximum.at(reuse, par, rep.cache_read[kids])
    has_child[par] = True
    np.minimum.at(gap, par, trace.time[kids] - trace.time[par])
    reused = np.clip(np.minimum(reuse, end) - rep.cache_read, 0, written)
    wasted = written - reused
    expired = wasted * ((gap > trace.ttl) & has_child)
    at_end = wasted * ~has_child
    rewritten = wasted - expired - at_end
    share = np.divide(wasted, written, out=np.zeros(n), where=written > 0)
    w5 = np.rint(rep.cache_write_5m * share).astype(np.int64)
    w1h = wasted - w5
    full = price(trace, Split(_zeros(n), _zeros(n), w5, w1h, _zeros(n)), pricer, band_prompt=prompt)
    plain = price(trace, Split(wasted, _zeros(n), _zeros(n), _zeros(n), _zeros(n)), pricer,
                  band_prompt=prompt).total  # fmt: skip
    total_prompt = int(prompt.sum())
    return {
        "hit_share": int(rep.cache_read.sum()) / total_prompt if total_prompt else 0.0,
        "written_tokens": int(written.sum()),
        "written_never_read_tokens": int(wasted.sum()),
        "expired_before_reuse_tokens": int(expired.sum()),
        "not_reused_history_rewritten_tokens": int(rewritten.sum()),
        "written_at_thread_end_tokens": int(at_end.sum()),
        "wasted_write_cost_usd": full.total,
        "wasted_write_premium_usd": full.total - plain,
    }
