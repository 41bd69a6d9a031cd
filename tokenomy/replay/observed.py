"""Provider behaviour observed in the user's own log, replayed as expected values.

The documented rules (``replay.cache``) say what a provider *may* serve; the log says what it
*did*. Three behaviours the rules cannot express, measured per route (direct API, Bedrock,
Vertex, a proxy) and model family on the calls themselves (docs/replay_fidelity.md):

- **Live-entry misses** (best-effort caching): a call whose thread's previous call left an
  entry alive (within its TTL) that still read under half of it. Via Bedrock 20-39% of live
  calls do; direct Anthropic about 0.5%. A miss does not destroy the entry (requests land on
  several caches), so each live call is replayed as ``(1 - m) x hit + m x miss``: a miss reads
  the short prefix some misses still read (median) with the share that did, else nothing, and
  writes (or sends fresh) the rest. Misses cluster within a session (gpt-5.5 missed 16 times in
  its first 13 minutes, then never), so a rate is used only when misses were seen in at least
  ``MIN_SESSIONS`` sessions. The rate is the share of the live calls' cached *tokens* the
  misses could have read (a miss's dollars are linear in its tokens; Bedrock's misses fall on
  shorter prompts than its hits: 17% of the tokens where 19% of the calls).
- **Hits short of the rules** (automatic caches shown to miss): a live hit reads a measured
  share less than the rules allow (the end of the previous request not cached yet: gpt-5.3
  0.7% of its hits' tokens, 1,630 tokens on a partial hit); the rest is sent fresh.
- **The answer not cached**: an automatic cache whose hits never read past the previous
  request's prompt (gpt-5.5: 0 of 48) is replayed with ``caches_output=False``.
- **Idle survival**: a call after its entry's TTL had passed (no request in between) that still
  read at least half of it. OpenAI keeps ``in_memory`` entries 5-10 minutes idle and at most an
  hour; Codex on gpt-5.3 hit 12 of 13 times after 5-10 minutes idle and 6 of 10 after 10-30.
  Per idle bucket (1-2, 2-6, 6-12 TTLs) the measured share ``s`` replays the call as
  ``s x (the replay with the entry alive) + (1 - s) x (the rules)``.

The documented rules are the floor: on a breakpoint cache (Anthropic, direct or via a cloud)
a miss rate is used only where its 90% interval lies above ``MISS_FLOOR`` (otherwise the
rules' hit stands, and the replay is unchanged to the token: direct Anthropic missed 5 of 949);
an automatic cache (OpenAI) documents no hit (requests overflow to other machines), so its
measured rate is used from misses in ``MIN_SESSIONS`` sessions on; a survival share only where
some call survived. The spread the rates imply is the replay at both ends of their 90% Wilson
intervals.

Also here: each call's **route** (``route_of``), and the **given** reads of prefixes cached
outside the log (a thread's first call that read a prefix some request not in the log had
cached is billed as that read, not as a write, ``with_given``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from tokenomy.pricing import Pricer
from tokenomy.replay.cache import CacheRules, simulate
from tokenomy.replay.costing import Split, price
from tokenomy.replay.routes import ROUTES, family, route_of
from tokenomy.replay.trace import F64, TTL_1H, Trace

__all__ = [
    "MISS_FLOOR",
    "ROUTES",
    "Expected",
    "GroupRates",
    "Observed",
    "expected_replay",
    "family",
    "observe",
    "route_of",
    "wilson",
    "with_given",
]

Rules = CacheRules | Callable[[str, str], CacheRules]

MISS_FLOOR = 0.01  # a miss rate whose 90% interval reaches below this is the rules' 0
# Misses cluster within a session: a rate seen in one session is one observation, not a rate
# to assume of the others.
MIN_SESSIONS = 2
# An automatic cache whose hits never read past the previous request's prompt (in this many
# hits or more) does not cache the answer, whatever the rules assume (gpt-5.5: 0 of 48).
ANSWER_HITS = 10
Z90 = 1.645
# Idle buckets, in multiples of the entry's TTL: (1, 2], (2, 6], (6, 12].
IDLE_EDGES = (1.0, 2.0, 6.0, 12.0)


def wilson(k: int, n: int, z: float = Z90) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials ((0, 0) when n = 0)."""
    if n == 0:
        return 0.0, 0.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class GroupRates:
    """What one (route, model family) showed: live misses, idle survival per idle bucket, and
    what a partial miss still read."""

    route: str
    family: str
    live: int = 0  # calls whose thread's previous call left a live entry
    missed: int = 0  # of those, calls that read under half of it
    partial_reads: list[int] = field(default_factory=list)  # reads of misses that read > 0
    missed_sessions: set[str] = field(default_factory=set)
    hits: int = 0  # automatic caches: live hits, and those that read past the previous prompt
    answer_hits: int = 0
    late: list[int] = field(default_factory=lambda: [0, 0, 0])  # per idle bucket
    survived: list[int] = field(default_factory=lambda: [0, 0, 0])
    automatic: bool = False  # the provider decides what to cache (no breakpoints)
    # Tokens: what live calls could read (the rules' hit) and what the misses among them
    # could have read; the dollars a miss costs are linear in these, not in the call count.
    live_tokens: int = 0
    missed_tokens: int = 0
    # Automatic caches: what the rules read on live hits, with and without the previous
    # answer, and how much less the provider served (the end of the previous request).
    hit_tokens: list[int] = field(default_factory=lambda: [0, 0])  # [with answer, without]
    short_tokens: list[int] = field(default_factory=lambda: [0, 0])

    def miss(self, end: str = "point") -> float:
        """The live-miss rate used, as the share of live cached tokens missed (a miss's cost is
        linear in its tokens): the rules' 0 unless misses were seen in ``MIN_SESSIONS``
        sessions and, where the rules hold a breakpoint's entry (``automatic`` false), the
        call rate's 90% interval lies above ``MISS_FLOOR``; ``end`` "low"/"high" for the ends
        of its interval (the call rate's Wilson interval, scaled)."""
        n, k = self.live, self.missed
        lo, hi = wilson(k, n)
        if n == 0 or k == 0 or len(self.missed_sessions) < MIN_SESSIONS:
            return 0.0
        if not self.automatic and lo < MISS_FLOOR:
            return 0.0
        share = self.missed_tokens / self.live_tokens if self.live_tokens else k / n
        scale = share / (k / n)
        return {"point": share, "low": lo * scale, "high": min(1.0, hi * scale)}[end]

    def short(self) -> float:
        """Automatic caches: the share of the rules' read on live hits the provider did not
        serve (the end of the previous request not cached yet), as measured."""
        j = 1 if self.answer_not_cached else 0
        if not self.automatic or not self.hit_tokens[j] or not self.miss():
            return 0.0
        return self.short_tokens[j] / self.hit_tokens[j]

    @property
    def partial(self) -> float:
        """The share of misses that still read a (short) prefix."""
        return len(self.partial_reads) / self.missed if self.missed else 0.0

    @property
    def partial_read(self) -> int:
        r = sorted(self.partial_reads)
        return r[len(r) // 2] if r else 0

    def survive(self, bucket: int, end: str = "point") -> float:
        n, k = self.late[bucket], self.survived[bucket]
        if n == 0 or k == 0:
            return 0.0
        lo, hi = wilson(k, n)
        return {"point": k / n, "low": lo, "high": hi}[end]

    @property
    def answer_not_cached(self) -> bool:
        """Hits never read the previous answer: replay with ``caches_output=False``."""
        return self.hits >= ANSWER_HITS and self.answer_hits == 0

    @property
    def active(self) -> bool:
        return bool(self.miss()) or bool(self.short()) or any(self.survive(b) for b in range(3))

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "family": self.family,
            "live_calls": self.live,
            "live_missed": self.missed,
            "miss_rate_measured": self.missed / self.live if self.live else 0.0,
            "missed_token_share": self.missed_tokens / self.live_tokens
            if self.live_tokens
            else 0.0,
            "miss_rate_used": self.miss(),
            "miss_rate_90pct": [self.miss("low"), self.miss("high")],
            "sessions_with_misses": len(self.missed_sessions),
            "miss_still_reads": {"share": self.partial, "tokens": self.partial_read},
            "hit_short_share": self.short(),
            "idle_calls": list(self.late),
            "idle_survived": list(self.survived),
            "idle_survival": [self.survive(b) for b in range(3)],
            "answer_cached": None
            if self.hits < ANSWER_HITS
            else f"{self.answer_hits} of {self.hits} hits read past the previous prompt",
            "used": self.active,
        }


@dataclass
class Observed:
    """Rates per (route, family), measured on a trace's reported splits."""

    groups: dict[tuple[str, str], GroupRates]
    routes: dict[str, int]  # calls per route

    @property
    def active(self) -> bool:
        return any(g.active for g in self.groups.values())

    @property
    def no_answer(self) -> frozenset[str]:
        """Model families whose automatic cache was seen not to keep the answer."""
        return frozenset(f for (_, f), g in self.groups.items() if g.answer_not_cached)

    def rules(self, base: Rules) -> Rules:
        """``base`` with what the log showed the rules get wrong: the answer not cached."""
        families = self.no_answer
        if not families:
            return base

        def adjusted(provider: str, model: str) -> CacheRules:
            r = base if isinstance(base, CacheRules) else base(provider, model)
            if r.mode == "automatic" and r.caches_output and family(model) in families:
                return replace(r, caches_output=False)
            return r

        return adjusted

    def to_dict(self) -> dict[str, Any]:
        return {
            "routes": dict(self.routes),
            "rates": [g.to_dict() for g in self.groups.values() if g.live or sum(g.late)],
            "miss_floor": MISS_FLOOR,
        }


def _rules_by_key(trace: Trace, rules: Rules) -> list[CacheRules]:
    return [
        rules if isinstance(rules, CacheRules) else rules(prov, model)
        for model, prov, _ in trace.keys
    ]


def _group_of(trace: Trace) -> list[tuple[str, str]]:
    fam = [family(m) for m, _, _ in trace.keys]
    return [(str(r), fam[k]) for r, k in zip(trace.route.tolist(), trace.key.tolist(), strict=True)]


def observe(
    trace: Trace,
    rules: Rules,
    mask: npt.NDArray[np.bool_] | None = None,
) -> Observed:
    """Measure misses and idle survival on the calls in ``mask`` (default: all) of ``trace``,
    each against its thread's previous call, under ``rules`` (the provider's own)."""
    n = len(trace)
    by_key = _rules_by_key(trace, rules)
    fams = [family(m) for m, _, _ in trace.keys]
    route_names, route_code = np.unique(np.asarray(trace.route, dtype=str), return_inverse=True)
    route_code = route_code.astype(np.int64).reshape(-1)
    n_keys = max(1, len(trace.keys))
    gid = route_code * n_keys + trace.key  # one code per (route, key); keys share a family
    groups: dict[tuple[str, str], GroupRates] = {}
    names: dict[int, tuple[str, str]] = {}
    for code in np.unique(gid).tolist():
        names[code] = (str(route_names[code // n_keys]), fams[code % n_keys])
        g = groups.setdefault(names[code], GroupRates(*names[code]))
        g.automatic |= by_key[code % n_keys].mode == "automatic"
    routes = {str(r): int(c) for r, c in zip(route_names, np.bincount(route_code), strict=False)}
    written = trace.cache_read + trace.cache_write_5m + trace.cache_write_1h
    # A group whose log reports no cache use at all (a client that never cached, a workload
    # built from content) says nothing about the provider's cache.
    reporting = {names[c] for c in np.unique(gid[written > 0]).tolist()}
    sel = np.ones(n, dtype=np.bool_) if mask is None else mask
    idx = np.flatnonzero(sel & (trace.parent >= 0) & ~trace.synthetic & ~trace.compaction)
    if idx.shape[0] == 0:
        return Observed(groups, routes)
    p = trace.parent[idx]
    k = trace.key[idx]
    mode = np.array([r.mode for r in by_key], dtype=object)[k]
    bp_mode, auto = mode == "breakpoints", mode == "automatic"
    minimum = np.array([r.min_tokens(key[0]) for r, key in zip(by_key, trace.keys, strict=True)])
    step = np.array([max(1, r.step) for r in by_key], dtype=np.int64)[k]
    rule_ttl = np.array([np.nan if r.ttl is None else r.ttl for r in by_key])[k]
    prompt, p_prompt = trace.prompt[idx], trace.prompt[p]
    p_bp = p_prompt - trace.tail[p]
    reusable = np.where(
        bp_mode, np.minimum(written[p], prompt), np.minimum(p_prompt, prompt) // step * step
    )
    rewrite = (bp_mode & (prompt < p_bp)) | (auto & (prompt < p_prompt))
    ok = (trace.key[p] == k) & (bp_mode | auto) & ~rewrite & (reusable > 0)
    ok &= reusable >= minimum[k]
    ok &= np.array([names[int(c)] in reporting for c in gid[idx].tolist()], dtype=np.bool_)
    gap = trace.time[idx] - trace.time[p]
    ttl = np.where(np.isnan(rule_ttl), trace.ttl[p], rule_ttl)
    read = trace.cache_read[idx]
    live = ok & (gap <= ttl)
    missed = live & (read < reusable / 2)
    hit = live & ~missed & auto
    answer = hit & (read > p_prompt // step * step)
    bucket = np.searchsorted(np.asarray(IDLE_EDGES), gap / ttl) - 1
    late = ok & (gap > ttl) & (bucket >= 0) & (bucket < 3)
    survived = late & (read >= reusable / 2)
    g_idx = gid[idx]
    # What the rules read on an automatic cache's live hit: the previous prompt, with its
    # answer where the rules cache it (in steps); what the provider served short of that.
    out_p = np.array([r.caches_output for r in by_key], dtype=np.bool_)[k]
    with_answer = np.where(out_p, np.minimum(prompt, p_prompt + trace.output[p]), p_prompt)
    rule_read = (with_answer // step * step, reusable)

    def count(m: npt.NDArray[np.bool_]) -> dict[int, int]:
        codes, counts = np.unique(g_idx[m], return_counts=True)
        return dict(zip(codes.tolist(), counts.tolist(), strict=True))

    def total(m: npt.NDArray[np.bool_], v: npt.NDArray[np.int64]) -> dict[int, int]:
        sums = np.bincount(g_idx[m], weights=v[m].astype(np.float64))
        return {c: int(sums[c]) for c in np.unique(g_idx[m]).tolist()}

    for code, c in total(live, reusable).items():
        groups[names[code]].live_tokens += c
    for code, c in total(missed, reusable).items():
        groups[names[code]].missed_tokens += c
    for j in (0, 1):
        for code, c in total(hit, rule_read[j]).items():
            groups[names[code]].hit_tokens[j] += c
        for code, c in total(hit, np.maximum(rule_read[j] - read, 0)).items():
            groups[names[code]].short_tokens[j] += c

    for code, c in count(live).items():
        groups[names[code]].live += c
    for code, c in count(hit).items():
        groups[names[code]].hits += c
    for code, c in count(answer).items():
        groups[names[code]].answer_hits += c
    for b in range(3):
        for code, c in count(late & (bucket == b)).items():
            groups[names[code]].late[b] += c
        for code, c in count(survived & (bucket == b)).items():
            groups[names[code]].survived[b] += c
    for j in np.flatnonzero(missed).tolist():  # few: kept one by one
        gr = groups[names[int(g_idx[j])]]
        gr.missed += 1
        gr.missed_sessions.add(str(trace.session[idx[j]]))
        if read[j] > 0:
            gr.partial_reads.append(int(read[j]))
    return Observed(groups, routes)


def with_given(trace: Trace, split: Split, rules: Rules) -> Split:
    """Bill what a thread's first call read of a prefix cached outside the log as a read.

    The log proves the provider held ``trace.given`` tokens before the call (written by a
    request the log does not hold: another session, a first call elsewhere); the rules replay
    would write them. Later calls are unaffected (a read refreshes the entry a write would
    have created, with the same expiry). Calls replayed without caching, or moved to another
    model by a lever (``given`` is cleared there), keep their split.
    """
    given = trace.given
    if not given.any():
        return split
    by_key = _rules_by_key(trace, rules)
    mode = np.array([r.mode for r in by_key], dtype=object)[trace.key]
    cand = (given > split.cache_read) & (trace.parent < 0) & ~trace.synthetic
    cand &= (mode == "breakpoints") | (mode == "automatic")
    if not cand.any():
        return split
    inp, read = split.input.copy(), split.cache_read.copy()
    w5, w1h = split.cache_write_5m.copy(), split.cache_write_1h.copy()
    limit = np.where(mode == "breakpoints", trace.prompt - trace.tail, trace.prompt)
    extra = np.where(cand, np.maximum(np.minimum(given, limit) - read, 0), 0)
    for arr in (w5, w1h, inp):  # what the rules wrote (or sent fresh) becomes the read
        take = np.minimum(extra, arr)
        arr -= take
        read += take
        extra -= take
    return Split(inp, read, w5, w1h, split.output)


@dataclass
class Expected:
    """A replay with observed behaviour: expected per-call costs, the total, its spread."""

    per_call: F64
    total: Decimal
    low: Decimal
    high: Decimal
    miss_weight: F64  # per call: the probability it missed a live entry
    survive_weight: F64  # per call: the probability its entry outlived the TTL


def _copy(s: Split) -> Split:
    kinds = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
    return Split(*(getattr(s, k).copy() for k in kinds))


def expected_replay(
    trace: Trace,
    rules: Rules,
    split: Split,
    observed: Observed,
    pricer: Pricer,
    exact_total: Decimal,
) -> Expected:
    """Expected costs of ``split`` (the rules' replay of ``trace``, given reads applied) under
    ``observed`` rates; ``exact_total`` is that split's exact price (kept where no rate acts)."""
    n = len(trace)
    base = price(trace, split, pricer).per_call
    zero_w = np.zeros(n)
    if not observed.active or n == 0:
        return Expected(base, exact_total, exact_total, exact_total, zero_w, zero_w.copy())
    by_key = _rules_by_key(trace, rules)
    ends = ("point", "low", "high")
    flip = {"point": "point", "low": "high", "high": "low"}  # the cheap end: most survivals
    # Per group (route, family) present in the trace: its rates at each end of the intervals.
    names = sorted(set(_group_of(trace)))
    index = {g: j for j, g in enumerate(names)}
    g_of = np.array([index[g] for g in _group_of(trace)], dtype=np.int64)
    rates = [observed.groups.get(g) for g in names]
    miss = {e: np.array([r.miss(e) if r and r.active else 0.0 for r in rates]) for e in ends}
    short = np.array([r.short() if r and r.active else 0.0 for r in rates])
    part_share = np.array([r.partial if r else 0.0 for r in rates])
    part_read = np.array([r.partial_read if r else 0 for r in rates], dtype=np.int64)
    surv = {
        e: np.array([[r.survive(b, flip[e]) if r and r.active else 0.0 for b in range(3)]
                     for r in rates]).reshape(len(rates), 3)
        for e in ends
    }  # fmt: skip
    mode = np.array([r.mode for r in by_key], dtype=object)[trace.key]
    cached = (mode == "breakpoints") | (mode == "automatic")
    rule_ttl = np.array([np.nan if r.ttl is None else r.ttl for r in by_key])[trace.key]
    ttl = np.where(np.isnan(rule_ttl), trace.ttl, rule_ttl)
    has_p = trace.parent >= 0
    p = np.where(has_p, trace.parent, 0)
    p_ttl = np.where(np.isnan(rule_ttl), trace.ttl[p], rule_ttl)
    gap = np.where(has_p, trace.time - trace.time[p], 0.0)
    late = cached & has_p & (gap > p_ttl)
    bucket = np.clip(np.searchsorted(np.asarray(IDLE_EDGES), gap / p_ttl) - 1, 0, 2)
    in_bucket = late & (gap / p_ttl <= IDLE_EDGES[-1])
    w_alive = {e: np.where(in_bucket, surv[e][g_of, bucket], 0.0) for e in ends}
    hit = split.cache_read
    # Where a missed read's tokens go: fresh input (automatic caches) or a write at the TTL.
    write_kind = np.array([r.write_kind for r in by_key], dtype=object)[trace.key]
    to_input = (write_kind == "input") | (mode == "automatic")
    to_5m = ~to_input & ((write_kind == "cache_write_5m") | (ttl < TTL_1H))
    to_1h = ~to_input & ~to_5m

    def unread(delta: npt.NDArray[np.int64]) -> Split:
        """The rules' split with ``delta`` tokens of each call's read sent where a miss sends
        them (fresh input or a cache write)."""
        out = _copy(split)
        out.cache_read[:] -= delta
        out.input[:] += np.where(to_input, delta, 0)
        out.cache_write_5m[:] += np.where(to_5m, delta, 0)
        out.cache_write_1h[:] += np.where(to_1h, delta, 0)
        return out

    # Automatic caches shown to miss: a live hit reads the measured share less than the rules
    # (the end of the previous request not cached yet); the rest is sent fresh.
    shortened = cached & ~late & has_p & (hit > 0) & (short[g_of] > 0)
    rule_cost = base
    if shortened.any():
        cut = np.where(shortened, np.rint(hit * short[g_of]).astype(np.int64), 0)
        rule_cost = price(trace, unread(cut), pricer).per_call
    missable = cached & ~late & (hit > 0) & (miss["point"][g_of] > 0)
    w_zero = {e: np.where(missable, miss[e][g_of] * (1 - part_share[g_of]), 0.0) for e in ends}
    w_part = {e: np.where(missable, miss[e][g_of] * part_share[g_of], 0.0) for e in ends}

    def missed_split(new_read: npt.NDArray[np.int64]) -> Split:
        return unread(np.where(missable, hit - new_read, 0))

    costs = {
        "zero": price(trace, missed_split(np.zeros(n, dtype=np.int64)), pricer).per_call,
        "part": price(trace, missed_split(np.minimum(part_read[g_of], hit)), pricer).per_call,
    }
    alive_cost = base
    if w_alive["point"].any():
        long_trace = trace.with_arrays(ttl=np.full(n, 12 * TTL_1H))

        def long_rules(prov: str, model: str) -> CacheRules:
            r = rules if isinstance(rules, CacheRules) else rules(prov, model)
            return replace(r, ttl=None) if r.ttl is not None else r

        long_read = simulate(long_trace, long_rules).split.cache_read
        extra = np.where(w_alive["point"] > 0, np.maximum(long_read - hit, 0), 0)
        for e in ends:
            w_alive[e] = np.where(extra > 0, w_alive[e], 0.0)
        alive = _copy(split)
        kinds = ("cache_write_5m", "cache_write_1h", "input")
        for kind in kinds:  # what the rules wrote (or sent fresh) is read from the entry
            vals = getattr(alive, kind)
            take = np.minimum(extra, vals)
            if kind != "input":
                take = np.where(mode == "automatic", 0, take)
            vals[:] -= take
            alive.cache_read[:] += take
            extra = extra - take
        alive_cost = price(trace, alive, pricer).per_call

    def combine(e: str) -> F64:
        w_rule = 1 - w_zero[e] - w_part[e] - w_alive[e]
        out = w_rule * rule_cost + w_zero[e] * costs["zero"] + w_part[e] * costs["part"]
        return np.asarray(out + w_alive[e] * alive_cost, dtype=np.float64)

    def total(per_call: F64) -> Decimal:
        delta = float(np.nansum(per_call - base))
        return exact_total + Decimal(str(round(delta, 9)))

    point = combine("point")
    return Expected(
        point, total(point), total(combine("low")), total(combine("high")),
        w_zero["point"] + w_part["point"], w_alive["point"],
    )  # fmt: skip
