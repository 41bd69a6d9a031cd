"""Compaction and context editing, replayed on each thread's prompt sizes.

When a thread's prompt passes the trigger (N tokens, or a share of the context window):

- ``summary`` (Claude Code, Codex, Anthropic ``compact_20260112``): one extra summarising call
  reads the whole context and writes ``summary_tokens``; the history is replaced by the stable
  prefix (tools + system prompt, where the log revealed it) + the summary + the last
  ``keep_turns`` calls' additions. The summarising call is billed like any other call.
- ``clear`` (Anthropic ``clear_tool_uses_20250919``, default trigger 100k, keep 3): the tool
  results of all but the last ``keep_turns`` calls are replaced by placeholders, no extra call.
  Logs hold no text, so the share of a call's addition that is tool results is an assumption
  (``tool_share``, default 0.8).

Either way the prompt after the edit differs from the one before it right after the stable
prefix, so the next call rewrites the cache from there (the replay prices that write). Where
the log's own agent already compacted (a rewrite in the trace), its context starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tokenomy.levers.registry import Scenario
from tokenomy.replay import cache as caching
from tokenomy.replay.trace import CALL_ARRAYS, Trace, relink

__all__ = ["Compaction", "clear_tools", "compact"]


@dataclass(frozen=True)
class Compaction:
    trigger_tokens: int = 0  # 0: use ``trigger_share`` of ``window``
    trigger_share: float = 0.835  # Claude Code: window - 20k - 13k = 83.5% of 200k
    window: int = 200_000
    mode: str = "summary"  # or "clear"
    keep_turns: int = 3
    summary_tokens: int = 3_000
    tool_share: float = 0.8
    slot: str = "compaction"

    @property
    def trigger(self) -> int:
        return self.trigger_tokens or int(self.trigger_share * self.window)

    @property
    def name(self) -> str:
        if self.mode == "clear":
            return f"clear-tools:{self.trigger},keep={self.keep_turns}"
        return f"compact:{self.trigger},keep={self.keep_turns},summary={self.summary_tokens}"

    def apply(self, s: Scenario) -> Scenario:
        """Compaction replayed by a compiled kernel; equals ``apply_reference`` exactly."""
        if not caching.compiled(len(s.trace)):
            return self.apply_reference(s)
        from tokenomy.replay.kernels import compact_kernel

        t = s.trace
        caching.check_links(t)
        stable_ptr, stable_vals = caching.stable_arrays(t)

        def ints(name: str) -> npt.NDArray[np.int64]:
            return np.ascontiguousarray(getattr(t, name), dtype=np.int64)

        src, time, prompt, shared, parent, summary, events = compact_kernel(
            ints("thread"), np.ascontiguousarray(t.time, dtype=np.float64), ints("prompt"),
            ints("tail"), ints("shared"), ints("parent"), ints("output"),
            np.ascontiguousarray(t.compaction, dtype=np.bool_), stable_ptr, stable_vals,
            self.trigger, self.keep_turns, self.mode == "summary", self.summary_tokens,
            float(self.tool_share),
        )  # fmt: skip
        arrays = {"time": time, "prompt": prompt, "shared": shared, "parent": parent}
        if src.shape[0] > len(t):  # summarising calls were added: every array gets their rows
            arrays |= {name: getattr(t, name)[src] for name in CALL_ARRAYS if name not in arrays}
            for name, value in _SUMMARY.items():
                arrays[name][summary] = self.summary_tokens if name == "output" else value
        arrays = {name: a.astype(getattr(t, name).dtype, copy=False) for name, a in arrays.items()}
        out = caching.relinked(t.with_arrays(**arrays))
        return s.evolve(out, self._note(int(events)))

    def _note(self, events: int) -> str:
        what = (
            f"summary of {self.summary_tokens:,} tokens by the same model, last "
            f"{self.keep_turns} calls' additions kept"
            if self.mode == "summary"
            else f"old tool results cleared (assumed {self.tool_share:.0%} of each call's "
            f"addition), last {self.keep_turns} calls kept"
        )
        return (
            f"compaction at {self.trigger:,} prompt tokens: {what}; {events:,} event(s); "
            "answer quality after compaction is not simulated"
        )

    def apply_reference(self, s: Scenario) -> Scenario:
        """The reference replay, a Python loop per thread: ``apply`` must equal it exactly."""
        t = s.trace
        cols = {name: getattr(t, name).tolist() for name in CALL_ARRAYS}
        rows: dict[str, list[Any]] = {name: [] for name in CALL_ARRAYS}
        new_index = [0] * len(t)
        events = 0
        n = len(t)
        i = 0
        while i < n:
            j = i
            while j < n and cols["thread"][j] == cols["thread"][i]:
                j += 1
            events += self._thread(t, cols, range(i, j), rows, new_index)
            i = j
        arrays = {
            name: np.asarray(rows[name], dtype=getattr(t, name).dtype) for name in CALL_ARRAYS
        }
        out = relink(t.with_arrays(**arrays))
        return s.evolve(out, self._note(events))

    def _thread(
        self,
        t: Trace,
        cols: dict[str, list[Any]],
        span: range,
        rows: dict[str, list[Any]],
        new_index: list[int],
    ) -> int:
        thread = int(cols["thread"][span.start])
        stable = t.stable[thread] if t.stable else ()
        base = stable[-1] if stable else 0
        offset = 0
        additions: list[int] = []
        last_row = -1  # the new index of the previous main call
        events = 0
        for i in span:
            row = {name: cols[name][i] for name in CALL_ARRAYS}
            prompt, shared, parent = int(row["prompt"]), int(row["shared"]), int(row["parent"])
            tail = int(row["tail"])
            if parent >= 0:
                p_bp = int(cols["prompt"][parent]) - int(cols["tail"][parent])
                if shared < p_bp:  # the agent rewrote its history itself: start afresh
                    offset = 0
                    additions = []
            additions.append(prompt - shared)
            now = prompt - offset
            if parent >= 0 and not row["compaction"] and now > self.trigger:
                kept = sum(additions[-self.keep_turns :])
                old = max(now - base - kept, 0)
                if self.mode == "summary":
                    prev = last_row
                    summary = {name: rows[name][prev] for name in CALL_ARRAYS}
                    p_prompt = int(summary["prompt"])
                    p_out = int(summary["output"])
                    summary.update(
                        time=float(row["time"]) - 0.001,
                        prompt=p_prompt + p_out + 200,  # + the summarising instruction
                        tail=0,
                        shared=p_prompt - int(summary["tail"]),
                        parent=prev,
                        output=self.summary_tokens,
                        reasoning=0,
                        compaction=True,
                        subagent=False,
                        synthetic=True,
                        output_exact=True,
                        blocks=2,
                    )
                    for name in CALL_ARRAYS:
                        rows[name].append(summary[name])
                    new_prompt = base + self.summary_tokens + kept
                else:
                    new_prompt = base + round(old * (1 - self.tool_share)) + kept
                new_prompt = max(new_prompt, tail)
                offset = prompt - new_prompt
                row["prompt"] = new_prompt
                row["shared"] = min(base, new_prompt)
                additions = additions[-self.keep_turns :]
                events += 1
            else:
                row["prompt"] = now
                row["shared"] = max(shared - offset, 0) if parent >= 0 else shared
            row["parent"] = last_row if parent >= 0 else -1
            new_index[i] = len(rows["time"])
            for name in CALL_ARRAYS:
                rows[name].append(row[name])
            if not row["compaction"]:
                last_row = new_index[i]
        return events


# What an added summarising call changes in the row it copies (``output``: summary_tokens).
_SUMMARY: dict[str, int | bool] = {
    "tail": 0, "output": 0, "reasoning": 0, "compaction": True, "subagent": False,
    "synthetic": True, "output_exact": True, "blocks": 2,
}  # fmt: skip


def _factory(mode: str) -> Callable[[str, dict[str, str]], Compaction]:
    def make(arg: str, kw: dict[str, str]) -> Compaction:
        trigger = arg or kw.get("trigger", "")
        share = float(trigger) if trigger and float(trigger) < 1 else 0.835
        return Compaction(
            trigger_tokens=int(float(trigger)) if trigger and float(trigger) >= 1 else 0,
            trigger_share=share,
            window=int(kw.get("window", "200000")),
            mode=mode,
            keep_turns=int(kw.get("keep", "3")),
            summary_tokens=int(kw.get("summary", "3000")),
            tool_share=float(kw.get("tool_share", "0.8")),
        )

    return make


compact = _factory("summary")  # compact:N,keep=K,summary=S
clear_tools = _factory("clear")  # clear-tools:N
