"""``cache:auto``: cache as a well-configured client would, and the policy that decides where.

``anthropic_plan`` is a pure function of one request's content blocks (their token counts), the
client's own ``cache_control`` markers and the model: it says where the breakpoints go. It
imports nothing from the ledger or the CLI, so a live gateway uses the very policy the replay
prices. Anthropic's rules it follows (research/caching_pricing.md, prompt-caching page and the
2026-02-19 release note):

- everything up to and including a marked block is cached (``tools``, ``system``, then
  ``messages``); at most 4 breakpoints per request; a prefix shorter than the model's minimum
  (512-4,096 tokens, ``anthropic_min_tokens``) is silently not cached;
- *automatic caching*: one top-level ``cache_control`` puts the breakpoint on the last
  cacheable block and moves it forward as the conversation grows; it takes one of the 4 slots
  and is refused (HTTP 400) when 4 explicit breakpoints already exist; not on Bedrock, where the
  last block gets an explicit marker instead;
- a read looks back at most 20 blocks from a breakpoint (the breakpoint counting as the first),
  so a request that appends 20 or more blocks needs a second breakpoint where the previous
  request ended, or it misses the history the previous request wrote.

The lever (``CacheAuto``) replays a trace as if each Anthropic call had been sent with that
plan. Agent logs keep no text, so it **assumes that each call's prompt grows as a prefix of
the previous call's** in its thread (as ``anatomy``'s context tax does): a call whose prompt is
at least as long as the previous one repeats all of it; a shorter one (compaction, a rewrite)
shares only what the log proves. Automatic-cache providers (OpenAI, Gemini implicit, DeepSeek)
already cache every eligible prefix in the replay; ``prompt_cache_key`` only raises the real hit
rate toward it, so their calls are left as replayed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

import numpy as np

from tokenomy.levers.registry import Scenario
from tokenomy.replay.cache import RULES, CacheRules, anthropic_min_tokens, relinked

__all__ = ["LOOKBACK_BLOCKS", "MAX_BREAKPOINTS", "CacheAuto", "Plan", "anthropic_plan", "auto"]

MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20
PREFIX_ASSUMPTION = (
    "assumes each call's prompt grows as a prefix of the previous call's in its thread (as "
    "anatomy's context tax does): the log keeps no text to prove it"
)


@dataclass(frozen=True)
class Plan:
    """Where one request's cache breakpoints go.

    - ``mode``: ``"automatic"``: set one top-level ``cache_control`` (it lands on the last
      cacheable block) plus explicit markers on ``add``; ``"explicit"``: markers on ``add``
      only (Bedrock, or the last block is already marked); ``"none"``: nothing to cache (the
      prompt is below the model's minimum).
    - ``breakpoints``: every block index that ends a cached prefix (the client's own markers
      kept, the automatic one included), ascending; ``positions``: their token positions.
    - ``add``: block indices the client must mark explicitly (``cache_control`` on the block).
    - ``notes``: why, in words.
    """

    mode: Literal["automatic", "explicit", "none"]
    breakpoints: tuple[int, ...]
    positions: tuple[int, ...]
    add: tuple[int, ...]
    notes: tuple[str, ...] = ()


def anthropic_plan(
    block_tokens: Sequence[int],
    model: str,
    *,
    client_marks: Sequence[int] = (),
    stable_blocks: int = 0,
    previous_blocks: int = 0,
    route: str = "anthropic",
    max_breakpoints: int = MAX_BREAKPOINTS,
    lookback: int = LOOKBACK_BLOCKS,
    min_tokens: int | None = None,
) -> Plan:
    """Where a well-configured client puts the breakpoints of one Anthropic request.

    ``block_tokens``: the token count of each cacheable block in prompt order (tools, system
    blocks, then every message content block). ``client_marks``: indices of blocks the client
    already marked with ``cache_control`` (kept, the latest ``max_breakpoints - 1`` of them, so
    the last block always has a slot). ``stable_blocks``: how many leading blocks are the
    stable prefix (tools + system prompt), worth their own entry because other conversations
    and a rewritten history still share them. ``previous_blocks``: how many blocks the previous
    request of the same conversation had (0: none); when this request appends ``lookback`` or
    more blocks, the end of the previous request gets a breakpoint so the read finds what it
    wrote. ``route``: ``"bedrock"`` has no automatic caching. ``min_tokens``: the model's
    minimum cacheable prefix (default: ``anthropic_min_tokens(model)``).

    Priority when slots run short: the client's markers, the last block (the growing history),
    the bridge to the previous request, the stable prefix.
    """
    n = len(block_tokens)
    ends = list(accumulate(int(x) for x in block_tokens))
    minimum = anthropic_min_tokens(model) if min_tokens is None else min_tokens
    notes: list[str] = []
    marks = sorted({int(m) for m in client_marks if 0 <= int(m) < n})
    if len(marks) > max_breakpoints - 1:
        notes.append(
            f"the client marks {len(marks)} blocks; the latest {max_breakpoints - 1} kept so the "
            "last block has a slot"
        )
        marks = marks[-(max_breakpoints - 1) :]
    cacheable = [i for i in marks if ends[i] >= minimum]
    if not n or ends[-1] < minimum:
        notes.append(
            f"prompt of {ends[-1] if n else 0:,} tokens is below {model}'s minimum cacheable "
            f"prefix ({minimum:,}): nothing to cache"
        )
        return Plan("none", tuple(cacheable), tuple(ends[i] for i in cacheable), (), tuple(notes))
    chosen = set(cacheable)
    wanted: list[tuple[int, str]] = [(n - 1, "the last block: the growing history")]
    if previous_blocks and n - previous_blocks >= lookback and previous_blocks - 1 >= 0:
        wanted.append(
            (previous_blocks - 1, f"the previous request's end: {n - previous_blocks} blocks "
             f"were appended, beyond the {lookback}-block lookback")
        )  # fmt: skip
    if 0 < stable_blocks < n:
        wanted.append((stable_blocks - 1, "the stable prefix (tools + system prompt)"))
    for index, why in wanted:
        if len(chosen) >= max_breakpoints:
            notes.append(f"no slot left for {why}")
            continue
        if index in chosen:
            continue
        if ends[index] < minimum:
            notes.append(f"{why} ends at {ends[index]:,} tokens, below the minimum {minimum:,}")
            continue
        chosen.add(index)
        notes.append(f"breakpoint at block {index} ({ends[index]:,} tokens): {why}")
    automatic = route.lower() != "bedrock" and (n - 1) not in marks
    add = sorted(chosen - set(marks) - ({n - 1} if automatic else set()))
    if automatic:
        notes.append("top-level cache_control (automatic caching) places the last breakpoint")
    points = tuple(sorted(chosen))
    return Plan(
        "automatic" if automatic else "explicit",
        points,
        tuple(ends[i] for i in points),
        tuple(add),
        tuple(notes),
    )


def _explicit_family(rules: CacheRules) -> bool:
    """Rules whose breakpoints the client places (Anthropic); the others cache on their own."""
    return rules.mode == "breakpoints" and rules.name.startswith("anthropic")


@dataclass(frozen=True)
class CacheAuto:
    """Each Anthropic call sent with ``anthropic_plan``'s breakpoints (``ttl``: ``own`` keeps
    each call's TTL, 5 minutes where it never cached; ``5m`` or ``1h`` forces one)."""

    ttl: str = "own"
    slot: str = "caching"

    def __post_init__(self) -> None:
        if self.ttl not in ("own", "5m", "1h"):
            raise ValueError(f"ttl must be own, 5m or 1h, not {self.ttl!r}")

    @property
    def name(self) -> str:
        return "cache:auto" if self.ttl == "own" else f"cache:auto,ttl={self.ttl}"

    def apply(self, s: Scenario) -> Scenario:
        t = s.trace
        n = len(t)
        if n == 0:
            return s.evolve(note="no calls")
        key_rules = [
            s.rules if isinstance(s.rules, CacheRules) else s.rules(prov, model)
            for model, prov, _ in t.keys
        ]
        explicit_key = np.array([_explicit_family(r) for r in key_rules], dtype=np.bool_)
        explicit = explicit_key[t.key]
        prompt, tail, shared, parent = t.prompt, t.tail, t.shared, t.parent
        has_parent = parent >= 0
        p = np.maximum(parent, 0)
        p_bp = prompt[p] - tail[p]
        # The prefix assumption: a call at least as long as its predecessor (and not shown by
        # the log to have rewritten it) repeats all of the predecessor's prompt. Where the
        # content is known (the gateway's block hashes) the shared prefix is a fact instead.
        grows = explicit & has_parent & (shared >= p_bp) & (prompt >= prompt[p]) & ~t.known
        new_shared = np.where(grows, prompt[p], shared)
        # The plan for each (model, thread's stable points): the last block is marked when the
        # prompt reaches the minimum; a bridge breakpoint (where the previous call ended) is
        # placed when a slot is left, which the replay sees as a read within the lookback.
        minimum = np.array([anthropic_min_tokens(m) for m, _, _ in t.keys], dtype=np.int64)
        marked = explicit & (prompt >= minimum[t.key])
        new_tail = np.where(marked, 0, tail)
        per_thread = np.array(
            [_bridges(len(points)) for points in t.stable] if t.stable else [_bridges(0)],
            dtype=np.bool_,
        )
        bridge = marked & has_parent & per_thread[t.thread if t.stable else np.zeros(n, np.int64)]
        blocks = np.where(bridge, np.minimum(t.blocks, LOOKBACK_BLOCKS - 1), t.blocks)
        trace = relinked(t.with_arrays(tail=new_tail, shared=new_shared, blocks=blocks))
        rules = s.rules
        if self.ttl != "own":
            forced = RULES[f"anthropic-{self.ttl}"]
            base = s.rules

            def chosen(provider: str, model: str) -> CacheRules:
                own = base if isinstance(base, CacheRules) else base(provider, model)
                return forced if _explicit_family(own) else own

            rules = chosen
        moved = int((marked & (tail > 0)).sum())
        known = int((explicit & t.known).sum())
        assumed = int(explicit.sum()) - known
        note = (
            f"{int(marked.sum()):,} Anthropic call(s) sent with a breakpoint on the "
            f"last block (top-level cache_control; explicit on Bedrock), {moved:,} of them "
            "moved from where the client put it; the client's own markers kept; prompts below "
            "the model's minimum left uncached; other providers cache automatically and are "
            "left as replayed"
        )
        if known:
            note += f"; {known:,} call(s) with their prefixes known from content (block hashes)"
        if assumed or not known:
            note += f"; {PREFIX_ASSUMPTION}"
        return s.evolve(trace, note, rules=rules)


@functools.cache
def _bridges(stable_points: int) -> bool:
    """Whether the plan for a call of a thread with this many stable breakpoints (the client's
    own markers) keeps a slot for the bridge to the previous request when 20 or more blocks
    were appended: ``anthropic_plan`` on stand-in blocks (their sizes do not matter here)."""
    # Stable blocks, the previous request's end, then LOOKBACK_BLOCKS appended blocks.
    sizes = [1] * (stable_points + 1 + LOOKBACK_BLOCKS)
    plan = anthropic_plan(
        sizes, "", client_marks=range(stable_points), previous_blocks=stable_points + 1,
        min_tokens=0,
    )  # fmt: skip
    return stable_points in plan.breakpoints


def auto(arg: str, kw: dict[str, str]) -> CacheAuto:
    """``cache:auto[,ttl=own|5m|1h]`` (registered through ``cache:``)."""
    return CacheAuto(kw.get("ttl", "own"))
