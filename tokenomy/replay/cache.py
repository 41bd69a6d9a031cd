"""Prompt caching as each provider does it, replayed call by call on a trace.

Each provider's behaviour is a ``CacheRules`` value; ``simulate`` walks the calls in time order
and keeps a store of live cache entries, so TTL expiry, refresh on hit, minimum lengths,
lookback and granularity decide every call's split into fresh input, cache reads and writes.
Prices come from genai-prices afterwards (``replay.costing``); the rules here only decide counts.

Sources (research/caching_pricing.md, which cites each page and its capture date):

- Anthropic: platform.claude.com/docs/en/build-with-claude/prompt-caching (copy 2026-07-13,
  table read 2026-09-16): up to 4 breakpoints; one entry written per breakpoint; 20-block
  lookback counting the breakpoint as the first; TTL 5 min or 1 h, measured from the request's
  start and refreshed free on every hit; per-model minimum prefix (512/1024/2048/4096);
  writes 1.25x (5m) or 2x (1h), reads 0.1x (per-model rates from genai-prices).
- OpenAI: developers.openai.com/api/docs/guides/prompt-caching (three copies): automatic from
  1,024 tokens, hits in 128-token steps before GPT-5.6; retention ``in_memory`` 5-10 min idle
  and at most 1 h, or ``24h``; writes free. GPT-5.6+: breakpoints at exact boundaries,
  prefix >= 1,024, writes billed at 1.25x, minimum TTL 30 min, 50-breakpoint read lookback.
- Gemini: ai.google.dev/gemini-api/docs/caching (copies up to 2026-10-13): implicit caching on
  2.5+ with no storage fee and no guarantee, minimum 2,048 (2.5) / 4,096 (3.x); explicit
  ``CachedContent``, default TTL 1 h, billed at the input rate to create plus storage per
  token-hour ($4.50/M/h Pro, $1.00 2.5 Flash, $0.50 3.6-3.8 Flash until 2026-12-31).
- DeepSeek: api-docs.deepseek.com/guides/kv_cache: automatic disk cache, no write fee; V4
  (2026) hits only a *whole* persisted prefix unit (the end of each request's input and of its
  output); the 2024 rule cached in 64-token units. Entries live "a few hours to a few days".
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tokenomy.replay.costing import Split
from tokenomy.replay.trace import F64, TTL_1H, TTL_5M, Trace, relink

__all__ = [
    "RULES",
    "CacheReplay",
    "CacheRules",
    "anthropic_min_tokens",
    "gemini_min_tokens",
    "gemini_storage_usd_per_mtok_hour",
    "rules_for",
    "simulate",
    "simulate_reference",
]

Mode = Literal["breakpoints", "automatic", "units", "explicit", "none"]

# Anthropic minimum cacheable prefix by model (prompt-caching page table, read 2026-09-16;
# newer 5.5 models from LiteLLM's prompt_cache_min_tokens, litellm 1.109.1). Longest match wins.
_ANTHROPIC_MIN: tuple[tuple[str, int], ...] = (
    ("opus-5-5", 512), ("sonnet-5-5", 512), ("haiku-5-5", 512),
    ("fable-5", 512), ("mythos-5", 512), ("opus-5", 512),
    ("mythos-preview", 2048), ("opus-4-7", 2048), ("3-5-haiku", 2048), ("haiku-3-5", 2048),
    ("3-haiku", 2048), ("haiku-3", 2048),
    ("opus-4-6", 4096), ("opus-4-5", 4096), ("haiku-4-5", 4096),
    ("opus-4-8", 1024), ("sonnet-5", 1024), ("sonnet-4-6", 1024), ("sonnet-4-5", 1024),
    ("opus-4-1", 1024), ("opus-4", 1024), ("sonnet-4", 1024), ("3-7-sonnet", 1024),
    ("3-5-sonnet", 1024), ("3-opus", 1024),
)  # fmt: skip
ANTHROPIC_DEFAULT_MIN = 1024  # the most common minimum, for a model not in the table


def _match(model: str, table: tuple[tuple[str, int], ...], default: int) -> int:
    name = model.lower()
    best = (-1, default)
    for pattern, value in table:
        if re.search(rf"(^|[-/.]){re.escape(pattern)}($|[-@:.])", name) and len(pattern) > best[0]:
            best = (len(pattern), value)
    return best[1]


def anthropic_min_tokens(model: str) -> int:
    """The shortest prefix Anthropic caches for ``model`` (shorter ones silently are not)."""
    return _match(model, _ANTHROPIC_MIN, ANTHROPIC_DEFAULT_MIN)


def gemini_min_tokens(model: str) -> int:
    """Gemini's minimum cached prefix: 2,048 on 2.5, 4,096 on 3.x and later (2026-10-13)."""
    m = re.search(r"gemini-(\d+)(?:\.(\d+))?", model.lower())
    if m and int(m.group(1)) <= 2:
        return 2048
    return 4096


def gemini_storage_usd_per_mtok_hour(model: str, when: datetime) -> Decimal:
    """Explicit-cache storage price per million tokens per hour (genai-prices lacks it)."""
    name = model.lower()
    if "pro" in name:
        return Decimal("4.50")
    if re.search(r"gemini-3\.[678]-flash", name):
        return Decimal("0.50") if when < datetime(2027, 1, 1, tzinfo=UTC) else Decimal("1.00")
    return Decimal("1.00")


@dataclass(frozen=True)
class CacheRules:
    """One provider's caching behaviour, as data."""

    name: str
    mode: Mode
    min_tokens: Callable[[str], int] = field(default=lambda _m: 0)
    step: int = 1  # hits are rounded down to a multiple of this
    ttl: float | None = None  # seconds after the last use; None = what each call asked for
    max_lifetime: float | None = None  # an entry dies this long after it was written
    lookback_blocks: int | None = None  # breakpoints: how many blocks back a read may match
    max_breakpoints: int = 4
    caches_output: bool = False  # automatic caches that also keep the answer's tokens
    write_kind: Literal["ttl", "cache_write_5m", "input"] = "ttl"  # how written tokens bill
    description: str = ""


RULES: dict[str, CacheRules] = {
    "anthropic": CacheRules(
        "anthropic",
        "breakpoints",
        anthropic_min_tokens,
        lookback_blocks=20,
        description="Anthropic, each call's own TTL (5 min or 1 h) refreshed on hit, "
        "<=4 breakpoints, 20-block lookback, per-model minimum",
    ),
    "anthropic-5m": CacheRules(
        "anthropic-5m",
        "breakpoints",
        anthropic_min_tokens,
        ttl=TTL_5M,
        lookback_blocks=20,
        description="Anthropic with every write at the 5-minute TTL (1.25x input)",
    ),
    "anthropic-1h": CacheRules(
        "anthropic-1h",
        "breakpoints",
        anthropic_min_tokens,
        ttl=TTL_1H,
        lookback_blocks=20,
        description="Anthropic with every write at the 1-hour TTL (2x input)",
    ),
    "openai": CacheRules(
        "openai",
        "automatic",
        lambda _m: 1024,
        step=128,
        ttl=TTL_5M,
        max_lifetime=TTL_1H,
        write_kind="input",
        caches_output=True,
        description="OpenAI up to GPT-5.5: automatic from 1,024 tokens in 128-token steps, "
        "in-memory retention assumed 5 min idle (docs: 5-10 min) and at most 1 h, writes free",
    ),
    "openai-24h": CacheRules(
        "openai-24h",
        "automatic",
        lambda _m: 1024,
        step=128,
        ttl=24 * TTL_1H,
        max_lifetime=24 * TTL_1H,
        write_kind="input",
        caches_output=True,
        description="OpenAI up to GPT-5.5 with prompt_cache_retention=24h",
    ),
    "openai-5.6": CacheRules(
        "openai-5.6",
        "breakpoints",
        lambda _m: 1024,
        ttl=1800.0,
        lookback_blocks=None,
        write_kind="cache_write_5m",
        description="OpenAI GPT-5.6+: implicit breakpoint on the latest message, exact "
        "boundaries from 1,024 tokens, writes at 1.25x, 30-minute TTL",
    ),
    "gemini-implicit": CacheRules(
        "gemini-implicit",
        "automatic",
        gemini_min_tokens,
        ttl=TTL_5M,
        write_kind="input",
        description="Gemini implicit caching (2.5+): no write fee, no storage, min 2,048/4,096; "
        "the docs give no TTL: assumed 5 min after last use",
    ),
    "gemini-explicit": CacheRules(
        "gemini-explicit",
        "explicit",
        gemini_min_tokens,
        ttl=TTL_1H,
        write_kind="input",
        description="Gemini explicit CachedContent of each thread's stable prefix (system "
        "prompt), created at the input rate, kept 1 h after last use, storage per token-hour",
    ),
    "deepseek": CacheRules(
        "deepseek",
        "units",
        lambda _m: 64,
        ttl=4 * TTL_1H,
        write_kind="input",
        caches_output=True,
        description="DeepSeek V4 disk cache: a hit must match a whole persisted unit (each "
        "request's input end and output end); no write fee; entries assumed to live 4 h",
    ),
    "none": CacheRules("none", "none", description="no prompt caching: every token fresh"),
}


def rules_for(provider: str, model: str) -> CacheRules:
    """The rules a call's own provider applies (used for the replayed baseline)."""
    p, m = provider.lower(), model.lower()
    if p == "anthropic" or m.startswith("claude"):
        return RULES["anthropic"]
    if p == "google" or m.startswith("gemini"):
        return RULES["gemini-implicit"]
    if p == "deepseek" or m.startswith("deepseek"):
        return RULES["deepseek"]
    if p == "openai" or m.startswith(("gpt", "o1", "o3", "o4", "codex")):
        v = re.search(r"gpt-(\d+)\.(\d+)", m)
        if (v and (int(v.group(1)), int(v.group(2))) >= (5, 6)) or m.startswith("gpt-6"):
            return RULES["openai-5.6"]
        return RULES["openai"]
    return RULES["none"]


@dataclass
class CacheReplay:
    """A simulated split, the explicit-cache storage it implies, and per-call storage cost."""

    split: Split
    storage_usd: F64  # per call: storage billed while its explicit cache lived (Gemini)
    storage_total: Decimal
    rules: dict[str, int]  # rule set name -> calls replayed under it


class _Entry:
    __slots__ = ("block", "born", "expiry", "pos")

    def __init__(self, pos: int, block: int, expiry: float, born: float) -> None:
        self.pos = pos
        self.block = block
        self.expiry = expiry
        self.born = born


class _Store:
    """Live entries per (model, canonical lineage), sorted by position."""

    def __init__(self) -> None:
        self.positions: dict[tuple[str, int], list[int]] = {}
        self.entries: dict[tuple[str, int], list[_Entry]] = {}

    def get(self, key: tuple[str, int]) -> tuple[list[int], list[_Entry]]:
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = []
            self.entries[key] = []
        return pos, self.entries[key]

    def put(self, key: tuple[str, int], entry: _Entry) -> None:
        pos, entries = self.get(key)
        j = bisect.bisect_left(pos, entry.pos)
        if j < len(pos) and pos[j] == entry.pos:
            entries[j] = entry
        else:
            pos.insert(j, entry.pos)
            entries.insert(j, entry)


# Below this many calls the Python loop beats loading the compiled kernels (about 1.5 s; their
# first compile after an install takes about 15 s); both give the same result.
COMPILED_FROM_CALLS = 5_000


@functools.cache
def compiler_installed() -> bool:
    """Whether numba (the ``fast`` extra) is installed; without it every replay runs the Python
    reference, which gives the same result, slower on large traces."""
    return importlib.util.find_spec("numba") is not None


def compiled(calls: int) -> bool:
    """Whether a replay of ``calls`` calls runs in the compiled kernels."""
    return calls >= COMPILED_FROM_CALLS and compiler_installed()


def relinked(trace: Trace) -> Trace:
    """``trace.relink``: the lineage rebuilt after a lever changed what calls share, in the
    compiled kernel on a trace large enough (``kernels.relink_kernel``; the same result)."""
    if not compiled(len(trace)):
        return relink(trace)
    import numpy as np

    from tokenomy.replay.kernels import relink_kernel

    def ints(a: Any) -> Any:
        return np.ascontiguousarray(a, dtype=np.int64)

    lineage, base, base_len = relink_kernel(
        np.array(trace.lineage, dtype=np.int64), ints(trace.parent), ints(trace.shared),
        ints(trace.prompt - trace.tail), ints(trace.lineage_base), ints(trace.lineage_base_len),
    )  # fmt: skip
    return trace.with_arrays(lineage=lineage, lineage_base=base, lineage_base_len=base_len)


def compiles_first(calls: int) -> bool:
    """Whether replaying ``calls`` calls will first compile the kernels (a one-off wait worth
    telling the user about)."""
    if not compiled(calls):
        return False
    from tokenomy.replay.kernels import cached

    return not cached()


_MODE_CODES = {"none": 0, "automatic": 1, "units": 2, "breakpoints": 3, "explicit": 4}
_WRITE_CODES = {"ttl": 0, "cache_write_5m": 1, "input": 2}


def simulate(
    trace: Trace,
    rules: CacheRules | Callable[[str, str], CacheRules],
) -> CacheReplay:
    """Replay ``trace`` under ``rules`` (one rule set, or one per (provider, model)).

    From ``COMPILED_FROM_CALLS`` calls, the modes none, automatic, units and breakpoints run in
    a compiled kernel (``replay.kernels``), Gemini's explicit caches (Decimal storage) in
    Python; smaller traces run ``simulate_reference``. The result is the same either way.
    """
    if not compiled(len(trace)):
        return simulate_reference(trace, rules)
    from tokenomy.replay.kernels import simulate_kernel

    n = len(trace)
    rules_by_key: list[CacheRules] = [
        rules if isinstance(rules, CacheRules) else rules(prov, model)
        for model, prov, _ in trace.keys
    ]
    min_by_key = [r.min_tokens(k[0]) for r, k in zip(rules_by_key, trace.keys, strict=True)]
    order = trace.time_order
    key = np.ascontiguousarray(trace.key, dtype=np.int64)
    counts = _counts(rules_by_key, key[order])
    inp = np.array(trace.prompt, dtype=np.int64)
    read = np.zeros(n, dtype=np.int64)
    w5 = np.zeros(n, dtype=np.int64)
    w1h = np.zeros(n, dtype=np.int64)
    storage = np.zeros(n)
    storage_total = Decimal(0)
    modes = np.array([_MODE_CODES[r.mode] for r in rules_by_key], dtype=np.int64)
    if n and (modes[key] != _MODE_CODES["none"]).any():
        groups: dict[str, int] = {}
        group = [groups.setdefault(m, len(groups)) for m, _, _ in trace.keys]
        own_ttl = np.array([r.ttl is not None for r in rules_by_key], dtype=np.bool_)
        rule_ttl = np.array([r.ttl or 0.0 for r in rules_by_key], dtype=np.float64)
        ttl = np.where(own_ttl[key], rule_ttl[key], trace.ttl).astype(np.float64)
        stable_ptr, stable_vals = stable_arrays(trace)

        def ints(name: str) -> npt.NDArray[np.int64]:
            return np.ascontiguousarray(getattr(trace, name), dtype=np.int64)

        check_links(trace)
        replay_order, comp = trace.replay_order

        simulate_kernel(
            replay_order, comp, np.ascontiguousarray(trace.time, dtype=np.float64), key,
            ints("prompt"), ints("tail"), ints("output"), ints("parent"), ints("shared"),
            ints("lineage"), ints("blocks"), ttl, ints("thread"), stable_ptr, stable_vals,
            ints("lineage_base"), ints("lineage_base_len"),
            modes, np.array(group, dtype=np.int64), np.array(min_by_key, dtype=np.int64),
            np.array([r.step for r in rules_by_key], dtype=np.int64),
            np.array([np.inf if r.max_lifetime is None else r.max_lifetime
                      for r in rules_by_key], dtype=np.float64),
            np.array([-1 if r.lookback_blocks is None else r.lookback_blocks
                      for r in rules_by_key], dtype=np.int64),
            np.array([r.max_breakpoints for r in rules_by_key], dtype=np.int64),
            np.array([r.caches_output for r in rules_by_key], dtype=np.bool_),
            np.array([_WRITE_CODES[r.write_kind] for r in rules_by_key], dtype=np.int64),
            inp, read, w5, w1h,
        )  # fmt: skip
        explicit = modes[key[order]] == _MODE_CODES["explicit"]
        if explicit.any():
            storage_total = _explicit(
                trace, order[explicit].tolist(), rules_by_key, min_by_key, inp, read, storage
            )
    split = Split(inp, read, w5, w1h, trace.output.copy())
    return CacheReplay(split, storage, storage_total, counts)


def stable_arrays(trace: Trace) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``trace.stable`` flattened for the kernels: thread ``t``'s points are
    ``vals[ptr[t]:ptr[t + 1]]``; both empty when the trace has no stable points at all."""
    if not trace.stable:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sizes = np.array([len(s) for s in trace.stable], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return ptr, np.array([v for s in trace.stable for v in s], dtype=np.int64)


def check_links(trace: Trace) -> None:
    """The compiled kernels do not check bounds: refuse a trace whose links point nowhere."""
    n, n_lin, n_keys = len(trace), trace.lineage_base.shape[0], len(trace.keys)
    for name, values, low, high in (
        ("key", trace.key, 0, n_keys),
        ("parent", trace.parent, -1, n),
        ("lineage", trace.lineage, 0, n_lin),
        ("lineage_base", trace.lineage_base, -1, n_lin),
        ("thread", trace.thread, 0, len(trace.stable) if trace.stable else 2**62),
    ):
        if values.shape[0] and (int(values.min()) < low or int(values.max()) >= high):
            raise IndexError(f"trace.{name} holds an index outside [{low}, {high})")
    # Each lineage rewrote an earlier one (or none): a cycle would never end in the kernel.
    if (trace.lineage_base >= np.arange(n_lin)).any():
        raise IndexError("trace.lineage_base names a lineage that is not an earlier one")


def _counts(
    rules_by_key: list[CacheRules], keys_in_time_order: npt.NDArray[np.int64]
) -> dict[str, int]:
    """Calls replayed per rule set name, in order of first use (as the reference counts)."""
    if keys_in_time_order.shape[0] == 0:
        return {}
    uniq, first, per_key = np.unique(keys_in_time_order, return_index=True, return_counts=True)
    counts: dict[str, int] = {}
    for j in np.argsort(first, kind="stable").tolist():
        name = rules_by_key[int(uniq[j])].name
        counts[name] = counts.get(name, 0) + int(per_key[j])
    return counts


def _explicit(
    trace: Trace,
    rows: list[int],
    rules_by_key: list[CacheRules],
    min_by_key: list[int],
    inp: npt.NDArray[np.int64],
    read: npt.NDArray[np.int64],
    storage: F64,
) -> Decimal:
    """Gemini explicit caches (``CachedContent``) for ``rows`` in time order, as the reference."""
    storage_total = Decimal(0)
    base = trace.lineage_base.tolist()
    base_len = trace.lineage_base_len.tolist()
    explicit_open: dict[tuple[str, int], list[float]] = {}  # [born, expiry, tokens, row]
    for i in rows:
        k = int(trace.key[i])
        r = rules_by_key[k]
        model = trace.keys[k][0]
        t = float(trace.time[i])
        p = int(trace.prompt[i])
        ttl = r.ttl if r.ttl is not None else float(trace.ttl[i])
        lin = int(trace.lineage[i])
        levels = [(lin, p)]
        limit = p
        while base[lin] >= 0:
            limit = min(limit, base_len[lin])
            lin = base[lin]
            levels.append((lin, limit))
        thread = int(trace.thread[i])
        stable = [s for s in trace.stable[thread] if s <= p] if trace.stable else []
        prefix = stable[0] if stable else (int(trace.shared[i]) if trace.parent[i] < 0 else 0)
        if prefix < min_by_key[k]:
            continue
        key = (model, _canonical(levels, prefix))
        cache = explicit_open.get(key)
        if cache is not None and cache[1] >= t:
            read[i] = prefix
            inp[i] = p - prefix
            cache[1] = t + ttl
        else:
            if cache is not None:
                storage_total += _close(cache, model, storage)
            explicit_open[key] = [t, t + ttl, float(prefix), float(i)]
    for key, cache in explicit_open.items():
        storage_total += _close(cache, key[0], storage)
    return storage_total


def simulate_reference(
    trace: Trace,
    rules: CacheRules | Callable[[str, str], CacheRules],
) -> CacheReplay:
    """The reference replay, a Python loop: ``simulate`` (compiled) must equal it exactly."""
    n = len(trace)
    inp = trace.prompt.copy()
    read = np.zeros(n, dtype=np.int64)
    w5 = np.zeros(n, dtype=np.int64)
    w1h = np.zeros(n, dtype=np.int64)
    storage = np.zeros(n)
    storage_total = Decimal(0)
    store = _Store()
    base = trace.lineage_base.tolist()
    base_len = trace.lineage_base_len.tolist()
    block_of: dict[int, int] = {}  # row -> block index of its last breakpoint
    counts: dict[str, int] = {}
    rules_by_key: list[CacheRules] = [
        rules if isinstance(rules, CacheRules) else rules(prov, model)
        for model, prov, _ in trace.keys
    ]
    min_by_key = [r.min_tokens(k[0]) for r, k in zip(rules_by_key, trace.keys, strict=True)]
    t_arr = trace.time.tolist()
    prompt = trace.prompt.tolist()
    tail = trace.tail.tolist()
    out = trace.output.tolist()
    parent = trace.parent.tolist()
    shared = trace.shared.tolist()
    lineage = trace.lineage.tolist()
    blocks = trace.blocks.tolist()
    ttl_arr = trace.ttl.tolist()
    key_arr = trace.key.tolist()
    thread = trace.thread.tolist()
    explicit_open: dict[tuple[str, int], list[float]] = {}  # gemini: [born, expiry, tokens, row]

    def path(lin: int, limit: int) -> list[tuple[int, int]]:
        """(canonical lineage, highest position valid on it) from the call's own lineage down."""
        out_: list[tuple[int, int]] = [(lin, limit)]
        while base[lin] >= 0:
            limit = min(limit, base_len[lin])
            lin = base[lin]
            out_.append((lin, limit))
        return out_

    for i in trace.time_order.tolist():
        k = key_arr[i]
        r = rules_by_key[k]
        counts[r.name] = counts.get(r.name, 0) + 1
        if r.mode == "none":
            continue
        model = trace.keys[k][0]
        t = t_arr[i]
        p = prompt[i]
        minimum = min_by_key[k]
        ttl = r.ttl if r.ttl is not None else ttl_arr[i]
        lin = lineage[i]
        levels = path(lin, p)
        if r.mode in ("automatic", "units"):
            best = 0
            for lvl, limit in levels:
                pos, entries = store.get((model, lvl))
                j = len(entries) - 1
                while j >= 0:
                    e = entries[j]
                    if e.expiry < t or (r.max_lifetime is not None and t - e.born > r.max_lifetime):
                        del entries[j], pos[j]
                        j -= 1
                        continue
                    if r.mode == "units":
                        if e.pos <= limit and e.pos > best:
                            best = e.pos
                            e.expiry = t + ttl
                    else:
                        common = min(e.pos, limit)
                        if common > best:
                            best = common
                            e.expiry = t + ttl  # reuse keeps the prefix warm
                    j -= 1
                if best:
                    break
            hit = (best // r.step) * r.step if best >= minimum else 0
            read[i] = hit
            inp[i] = p - hit
            if p >= minimum:
                key = (model, _canonical(levels, p))
                if r.mode == "units" or not r.caches_output:
                    store.put(key, _Entry(p, 0, t + ttl, t))
                if r.caches_output:
                    store.put((model, lin), _Entry(p + out[i], 0, t + ttl, t))
            continue
        if r.mode == "explicit":
            stable = [s for s in trace.stable[thread[i]] if s <= p] if trace.stable else []
            prefix = stable[0] if stable else (shared[i] if parent[i] < 0 else 0)
            if prefix < minimum:
                continue
            key = (model, _canonical(levels, prefix))
            cache = explicit_open.get(key)
            if cache is not None and cache[1] >= t:
                read[i] = prefix
                inp[i] = p - prefix
                cache[1] = t + ttl
            else:
                if cache is not None:
                    storage_total += _close(cache, model, storage)
                explicit_open[key] = [t, t + ttl, float(prefix), float(i)]
            continue
        # Breakpoints (Anthropic; OpenAI 5.6+): reads at <= 4 breakpoints, one write each.
        bp = p - tail[i]
        if parent[i] >= 0 and shared[i] >= prompt[parent[i]] - tail[parent[i]]:
            block = block_of.get(parent[i], 0) + blocks[i]
        else:
            block = blocks[i]
        block_of[i] = block
        fixed = trace.stable[thread[i]] if trace.stable else ()
        points = [*[s for s in fixed if s < bp][-(r.max_breakpoints - 1) :], bp]
        hit = 0
        for b in points:
            b_block = block if b == bp else 0
            found = _lookup(store, model, levels, b, b_block, t, r.lookback_blocks)
            if found is not None:
                found.expiry = t + ttl  # a hit refreshes the entry, free
                hit = max(hit, found.pos)
        last = bp if bp >= minimum else max((b for b in points if b >= minimum), default=0)
        if last == 0:
            continue
        for b in points:
            if b >= minimum and b > hit:
                store.put(
                    (model, _canonical(levels, b)), _Entry(b, block if b == bp else 0, t + ttl, t)
                )
        read[i] = hit
        written = max(last - hit, 0)
        if r.write_kind == "input":
            pass
        elif r.write_kind == "cache_write_5m" or ttl < TTL_1H:
            w5[i] = written
        else:
            w1h[i] = written
        inp[i] = p - hit - (written if r.write_kind != "input" else 0)
    for key, cache in explicit_open.items():
        storage_total += _close(cache, key[0], storage)
    split = Split(inp, read, w5, w1h, trace.output.copy())
    return CacheReplay(split, storage, storage_total, counts)


def _canonical(levels: list[tuple[int, int]], pos: int) -> int:
    """The lineage that first held the prefix of length ``pos``."""
    chosen = levels[0][0]
    for lvl, limit in levels[1:]:
        if pos <= limit:
            chosen = lvl
    return chosen


def _lookup(
    store: _Store,
    model: str,
    levels: list[tuple[int, int]],
    b: int,
    b_block: int,
    t: float,
    lookback: int | None,
) -> _Entry | None:
    """The longest live entry a breakpoint at ``b`` finds walking back block by block."""
    for lvl, limit in levels:
        pos, entries = store.get((model, lvl))
        j = bisect.bisect_right(pos, min(b, limit)) - 1
        while j >= 0:
            e = entries[j]
            # The breakpoint counts as the first of the 20 blocks looked at.
            if lookback is not None and b_block - e.block >= lookback:
                return None
            if e.expiry >= t:
                return e
            j -= 1
    return None


def _close(cache: list[float], model: str, storage: F64) -> Decimal:
    """Bill an explicit cache's storage for the hours it lived; charge it to its creator."""
    born, expiry, tokens, row = cache
    rate = gemini_storage_usd_per_mtok_hour(model, datetime.fromtimestamp(born, UTC))
    hours = Decimal(str(expiry - born)) / Decimal(3600)
    usd = Decimal(int(tokens)) * rate * hours / Decimal(1_000_000)
    storage[int(row)] += float(usd)
    return usd
