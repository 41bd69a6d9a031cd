"""Compiled (numba) kernels for the call-by-call replays: prompt caching and compaction.

Imported lazily by ``replay.cache.simulate`` and ``levers.compact``: numba and its
compile cache load only when a replay runs, never on ``import tokenomy.cli``. Each kernel
reproduces its Python reference (``caching.simulate_reference``,
``compaction.Compaction.apply_reference``) exactly; tests compare them array for array.

The cache store is a pool of entries (position, block index, expiry, birth time) in one doubly
linked list per store key, sorted by position. A key is (model, canonical lineage), mapped to a
list by an open-addressing hash table. New entries almost always land at the end of their list
(a thread's prompt grows), so searches walk from the tail, or from the head when the position
sought is nearer the head. Calls are replayed one independent component at a time
(``component_order``), each with a fresh store that stays small and in the CPU cache.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "MODE_AUTOMATIC",
    "MODE_BREAKPOINTS",
    "MODE_EXPLICIT",
    "MODE_NONE",
    "MODE_UNITS",
    "WRITE_5M",
    "WRITE_INPUT",
    "WRITE_TTL",
    "cached",
    "compact_kernel",
    "component_order",
    "relink_kernel",
    "simulate_kernel",
]

MODE_NONE, MODE_AUTOMATIC, MODE_UNITS, MODE_BREAKPOINTS, MODE_EXPLICIT = 0, 1, 2, 3, 4
WRITE_TTL, WRITE_5M, WRITE_INPUT = 0, 1, 2
_TTL_1H = 3600.0

# Entry fields in the pool: ints[:, _POS/_BLOCK/_PREV/_NEXT], floats[:, _EXP/_BORN].
_POS, _BLOCK, _PREV, _NEXT = 0, 1, 2, 3
_EXP, _BORN = 0, 1
_USED, _FREE, _KEYS = 0, 1, 2  # the store's state: pool slots used, free list head, keys
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _slot(table: np.ndarray, key: int, bits: int) -> int:
    """The hash table slot holding ``key``, or the empty slot where it would go."""
    mask = (1 << bits) - 1
    h = int(np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(64 - bits)))
    while table[h, 0] != -1 and table[h, 0] != key:
        h = (h + 1) & mask
    return h


@njit(cache=True)
def _rehash(table: np.ndarray, bits: int, keys: int, ends: np.ndarray) -> tuple[int, np.ndarray]:
    """A table twice as large (or more) that holds ``keys`` keys at most half full."""
    while 2 * keys > (1 << bits):
        bits += 1
    new = np.full((1 << bits, 2), -1, dtype=np.int64)
    for s in range(table.shape[0]):
        if table[s, 0] != -1:
            h = _slot(new, table[s, 0], bits)
            new[h, 0] = table[s, 0]
            new[h, 1] = table[s, 1]
            ends[table[s, 1], 2] = h
    return bits, new


@njit(cache=True)
def _grow_pool(ints: np.ndarray, flts: np.ndarray, need: int) -> tuple[np.ndarray, np.ndarray]:
    cap = max(ints.shape[0] * 2, need)
    new_i = np.empty((cap, 4), dtype=np.int64)
    new_f = np.empty((cap, 2), dtype=np.float64)
    new_i[: ints.shape[0]] = ints
    new_f[: flts.shape[0]] = flts
    return new_i, new_f


@njit(cache=True)
def _grow_lists(ends: np.ndarray, need: int) -> np.ndarray:
    new = np.full((max(ends.shape[0] * 2, need), 3), -1, dtype=np.int64)
    new[: ends.shape[0]] = ends
    return new


@njit(cache=True, inline="always")
def _last_at_most(ints: np.ndarray, ends: np.ndarray, lst: int, x: int) -> int:
    """The entry with the largest position <= ``x`` in list ``lst`` (-1: none)."""
    head: int = ends[lst, 0]
    tail: int = ends[lst, 1]
    if tail == -1:
        return -1
    if ints[tail, _POS] <= x:
        return tail
    if ints[head, _POS] > x:
        return -1
    if x - ints[head, _POS] < ints[tail, _POS] - x:
        j = head
        while ints[j, _NEXT] != -1 and ints[ints[j, _NEXT], _POS] <= x:
            j = ints[j, _NEXT]
        return j
    j = tail
    while j != -1 and ints[j, _POS] > x:
        j = ints[j, _PREV]
    return j


@njit(cache=True)
def simulate_kernel(
    order: np.ndarray,
    comp: np.ndarray,
    time: np.ndarray,
    key: np.ndarray,
    prompt: np.ndarray,
    tail: np.ndarray,
    output: np.ndarray,
    parent: np.ndarray,
    shared: np.ndarray,
    lineage: np.ndarray,
    blocks: np.ndarray,
    ttl: np.ndarray,
    thread: np.ndarray,
    stable_ptr: np.ndarray,
    stable_vals: np.ndarray,
    lin_base: np.ndarray,
    lin_base_len: np.ndarray,
    k_mode: np.ndarray,
    k_group: np.ndarray,
    k_min: np.ndarray,
    k_step: np.ndarray,
    k_max_life: np.ndarray,
    k_lookback: np.ndarray,
    k_max_bp: np.ndarray,
    k_caches_output: np.ndarray,
    k_write: np.ndarray,
    inp: np.ndarray,
    read: np.ndarray,
    w5: np.ndarray,
    w1h: np.ndarray,
) -> None:
    """Replay calls ``order`` (time order) under per-key rules; fills inp/read/w5/w1h.

    ``ttl`` is each call's effective TTL (the rule's, or the call's own). Calls whose key is in
    mode none or explicit are left untouched (explicit is replayed in Python). ``stable_ptr``
    is empty when the trace has no stable points at all.
    """
    n = time.shape[0]
    n_lin = lin_base.shape[0]
    has_stable = stable_ptr.shape[0] > 0
    # Hash table: store key (group * n_lin + lineage) -> list index; lists: head, tail entry.
    bits = 10
    table = np.full((1 << bits, 2), -1, dtype=np.int64)
    ends = np.full((256, 3), -1, dtype=np.int64)  # per list: head, tail, hash slot
    ints = np.empty((1024, 4), dtype=np.int64)
    flts = np.empty((1024, 2), dtype=np.float64)
    state = np.zeros(3, dtype=np.int64)
    state[_FREE] = -1
    block_of = np.zeros(n, dtype=np.int64)
    # Path buffers: (lineage, highest position valid on it), deepest chain + 1.
    depth = 1
    for lin0 in range(n_lin):
        d = 1
        x = lin0
        while lin_base[x] >= 0:
            x = lin_base[x]
            d += 1
        depth = max(depth, d)
    lv_lin = np.empty(depth, dtype=np.int64)
    lv_lim = np.empty(depth, dtype=np.int64)
    lv_lst = np.empty(depth, dtype=np.int64)  # the store list of (model, lineage), -1: none
    most_stable = 0
    for th in range(stable_ptr.shape[0] - 1):
        most_stable = max(most_stable, stable_ptr[th + 1] - stable_ptr[th])
    points = np.empty(most_stable + 1, dtype=np.int64)
    put_pos = np.empty(2, dtype=np.int64)
    put_lvl = np.empty(2, dtype=np.int64)

    current = -1
    for oi in range(order.shape[0]):
        i = order[oi]
        if comp[i] != current:
            # A new component shares no store key with the ones before: start an empty store
            # (small and hot in the CPU cache) instead of growing one for the whole trace.
            current = comp[i]
            if bits > 10:
                bits = 10
                table = np.full((1 << bits, 2), -1, dtype=np.int64)
            else:
                for lst in range(state[_KEYS]):
                    table[ends[lst, 2], 0] = -1
                    table[ends[lst, 2], 1] = -1  # lookups read the list index unchecked
            state[_USED] = 0
            state[_FREE] = -1
            state[_KEYS] = 0
        k = key[i]
        mode = k_mode[k]
        if mode in (MODE_NONE, MODE_EXPLICIT):
            continue
        g = k_group[k]
        t = time[i]
        p = prompt[i]
        minimum = k_min[k]
        ttl_i = ttl[i]
        lin = lineage[i]
        # The path: the call's own lineage, then each base it rewrote, with its valid limit.
        nlev = 1
        lv_lin[0] = lin
        lv_lim[0] = p
        limit = p
        x = lin
        while lin_base[x] >= 0:
            limit = min(limit, lin_base_len[x])
            x = lin_base[x]
            lv_lin[nlev] = x
            lv_lim[nlev] = limit
            nlev += 1
        for li in range(nlev):
            lv_lst[li] = table[_slot(table, g * n_lin + lv_lin[li], bits), 1]

        n_put = 0
        if mode in (MODE_AUTOMATIC, MODE_UNITS):
            units = mode == MODE_UNITS
            max_life = k_max_life[k]
            best = 0
            for li in range(nlev):
                lst = lv_lst[li]
                if lst == -1:
                    continue
                lim = lv_lim[li]
                j = ends[lst, 1]
                while j != -1:
                    pj = ints[j, _PREV]
                    if flts[j, _EXP] < t or t - flts[j, _BORN] > max_life:
                        nj = ints[j, _NEXT]
                        if pj != -1:
                            ints[pj, _NEXT] = nj
                        else:
                            ends[lst, 0] = nj
                        if nj != -1:
                            ints[nj, _PREV] = pj
                        else:
                            ends[lst, 1] = pj
                        ints[j, _NEXT] = state[_FREE]
                        state[_FREE] = j
                        j = pj
                        continue
                    e_pos = ints[j, _POS]
                    if units:
                        if e_pos <= lim and e_pos > best:
                            best = e_pos
                            flts[j, _EXP] = t + ttl_i
                    else:
                        common = min(e_pos, lim)
                        if common > best:
                            best = common
                            flts[j, _EXP] = t + ttl_i
                    j = pj
                if best != 0:
                    break
            step = k_step[k]
            hit = (best // step) * step if best >= minimum else 0
            read[i] = hit
            inp[i] = p - hit
            if p >= minimum:
                if units or not k_caches_output[k]:
                    chosen = 0
                    for li in range(1, nlev):
                        if p <= lv_lim[li]:
                            chosen = li
                    put_lvl[n_put] = chosen
                    put_pos[n_put] = p
                    n_put += 1
                if k_caches_output[k]:
                    put_lvl[n_put] = 0
                    put_pos[n_put] = p + output[i]
                    n_put += 1
            if state[_USED] + 2 > ints.shape[0]:
                ints, flts = _grow_pool(ints, flts, state[_USED] + 2)
            if 2 * (state[_KEYS] + 2) > table.shape[0]:
                bits, table = _rehash(table, bits, state[_KEYS] + 2, ends)
            if state[_KEYS] + 2 > ends.shape[0]:
                ends = _grow_lists(ends, state[_KEYS] + 2)
            expiry = t + ttl_i
            for q in range(n_put):
                li = put_lvl[q]
                _put(ints, flts, table, bits, ends, state, lv_lst, li,
                     g * n_lin + lv_lin[li], put_pos[q], 0, expiry, t)  # fmt: skip
            continue

        # Breakpoints (Anthropic; OpenAI 5.6+): reads at <= max_bp breakpoints, one write each.
        bp = p - tail[i]
        par = parent[i]
        if par >= 0 and shared[i] >= prompt[par] - tail[par]:
            block = block_of[par] + blocks[i]
        else:
            block = blocks[i]
        block_of[i] = block
        # Stable points below bp, the last max_bp - 1 of them (Python's slice [-(m):]), then bp.
        n_pts = 0
        if has_stable:
            th = thread[i]
            below = 0
            for s_i in range(stable_ptr[th], stable_ptr[th + 1]):
                if stable_vals[s_i] < bp:
                    below += 1
            m = k_max_bp[k] - 1
            start = -m if m <= 0 else below - m
            start = min(max(start, 0), below)
            seen = 0
            for s_i in range(stable_ptr[th], stable_ptr[th + 1]):
                s = stable_vals[s_i]
                if s < bp:
                    if seen >= start:
                        points[n_pts] = s
                        n_pts += 1
                    seen += 1
        points[n_pts] = bp
        n_pts += 1
        lookback = k_lookback[k]
        hit = 0
        for pi in range(n_pts):
            b = points[pi]
            b_block = block if b == bp else 0
            found = -1
            for li in range(nlev):
                if lv_lst[li] == -1:
                    continue
                j = _last_at_most(ints, ends, lv_lst[li], min(b, lv_lim[li]))
                stop = False
                while j != -1:
                    # The breakpoint counts as the first of the blocks looked at.
                    if lookback >= 0 and b_block - ints[j, _BLOCK] >= lookback:
                        stop = True
                        break
                    if flts[j, _EXP] >= t:
                        found = j
                        break
                    j = ints[j, _PREV]
                if stop or found != -1:
                    break
            if found != -1:
                flts[found, _EXP] = t + ttl_i  # a hit refreshes the entry, free
                hit = max(hit, ints[found, _POS])
        if bp >= minimum:
            last = bp
        else:
            last = 0
            for pi in range(n_pts):
                if points[pi] >= minimum:
                    last = max(last, points[pi])
        if last == 0:
            continue
        if state[_USED] + n_pts > ints.shape[0]:
            ints, flts = _grow_pool(ints, flts, state[_USED] + n_pts)
        if 2 * (state[_KEYS] + n_pts) > table.shape[0]:
            bits, table = _rehash(table, bits, state[_KEYS] + n_pts, ends)
        if state[_KEYS] + n_pts > ends.shape[0]:
            ends = _grow_lists(ends, state[_KEYS] + n_pts)
        expiry = t + ttl_i
        for pi in range(n_pts):
            b = points[pi]
            if b >= minimum and b > hit:
                chosen = 0
                for li in range(1, nlev):
                    if b <= lv_lim[li]:
                        chosen = li
                _put(ints, flts, table, bits, ends, state, lv_lst, chosen,
                     g * n_lin + lv_lin[chosen], b, block if b == bp else 0, expiry, t)  # fmt: skip
        read[i] = hit
        written = max(last - hit, 0)
        write = k_write[k]
        if write == WRITE_INPUT:
            inp[i] = p - hit
        else:
            if write == WRITE_5M or ttl_i < _TTL_1H:
                w5[i] = written
            else:
                w1h[i] = written
            inp[i] = p - hit - written


@njit(cache=True, inline="always")
def _put(
    ints: np.ndarray,
    flts: np.ndarray,
    table: np.ndarray,
    bits: int,
    ends: np.ndarray,
    state: np.ndarray,
    lv_lst: np.ndarray,
    li: int,
    skey: int,
    pos: int,
    block: int,
    expiry: float,
    born: float,
) -> None:
    """Store an entry at ``pos`` in the list of level ``li`` (store key ``skey``), replacing
    one at the same position; a new list is made (and hashed) where the level has none.

    The caller has made room: a free pool slot, a hash slot and a list for a new key.
    ``state`` holds [pool slots used, free list head, keys].
    """
    lst = lv_lst[li]
    if lst == -1:
        h = _slot(table, skey, bits)
        lst = state[_KEYS]
        state[_KEYS] += 1
        table[h, 0] = skey
        table[h, 1] = lst
        ends[lst, 0] = -1
        ends[lst, 1] = -1
        ends[lst, 2] = h
        lv_lst[li] = lst
    j = _last_at_most(ints, ends, lst, pos)
    if j != -1 and ints[j, _POS] == pos:
        ints[j, _BLOCK] = block
        flts[j, _EXP] = expiry
        flts[j, _BORN] = born
        return
    if state[_FREE] != -1:
        e = state[_FREE]
        state[_FREE] = ints[e, _NEXT]
    else:
        e = state[_USED]
        state[_USED] += 1
    ints[e, _POS] = pos
    ints[e, _BLOCK] = block
    flts[e, _EXP] = expiry
    flts[e, _BORN] = born
    ints[e, _PREV] = j
    if j == -1:
        nxt = ends[lst, 0]
        ends[lst, 0] = e
    else:
        nxt = ints[j, _NEXT]
        ints[j, _NEXT] = e
    ints[e, _NEXT] = nxt
    if nxt == -1:
        ends[lst, 1] = e
    else:
        ints[nxt, _PREV] = e


@njit(cache=True)
def _slice_start(length: int, keep: int) -> int:
    """Where Python's ``lst[-keep:]`` starts in a list of ``length`` (keep 0: the whole list)."""
    start = -keep
    if start < 0:
        return max(length + start, 0)
    return min(start, length)


@njit(cache=True)
def compact_kernel(
    thread: np.ndarray,
    time: np.ndarray,
    prompt: np.ndarray,
    tail: np.ndarray,
    shared: np.ndarray,
    parent: np.ndarray,
    output: np.ndarray,
    compaction: np.ndarray,
    stable_ptr: np.ndarray,
    stable_vals: np.ndarray,
    trigger: int,
    keep: int,
    summary: bool,
    summary_tokens: int,
    tool_share: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Compaction replayed on each run of rows of one thread (``Compaction.apply_reference``).

    Returns, per output row, the input row it copies (``src``), its new time, prompt, shared
    and parent, whether it is an added summarising call, and the number of events.
    """
    n = thread.shape[0]
    src = np.empty(2 * n, dtype=np.int64)
    new_time = np.empty(2 * n, dtype=np.float64)
    new_prompt = np.empty(2 * n, dtype=np.int64)
    new_shared = np.empty(2 * n, dtype=np.int64)
    new_parent = np.empty(2 * n, dtype=np.int64)
    is_summary = np.zeros(2 * n, dtype=np.bool_)
    additions = np.empty(n, dtype=np.int64)
    out = 0
    events = 0
    i = 0
    while i < n:
        end = i
        while end < n and thread[end] == thread[i]:
            end += 1
        th = thread[i]
        base = 0
        if stable_ptr.shape[0] > 0 and stable_ptr[th + 1] > stable_ptr[th]:
            base = stable_vals[stable_ptr[th + 1] - 1]
        offset = 0
        a_start = 0
        a_end = 0
        last_row = -1  # the output index of the previous main call
        for r in range(i, end):
            p, sh, par = prompt[r], shared[r], parent[r]
            if par >= 0 and sh < prompt[par] - tail[par]:
                offset = 0  # the agent rewrote its history itself: start afresh
                a_start = 0
                a_end = 0
            additions[a_end] = p - sh
            a_end += 1
            now = p - offset
            if par >= 0 and not compaction[r] and now > trigger:
                cut = _slice_start(a_end - a_start, keep)
                kept = 0
                for a in range(a_start + cut, a_end):
                    kept += additions[a]
                old = max(now - base - kept, 0)
                if summary:
                    prev = last_row if last_row >= 0 else out - 1  # Python's rows[-1]
                    if prev < 0:
                        raise IndexError("a summary needs a previous call")
                    src[out] = src[prev]
                    new_time[out] = time[r] - 0.001
                    new_prompt[out] = new_prompt[prev] + output[src[prev]] + 200
                    new_shared[out] = new_prompt[prev] - tail[src[prev]]
                    new_parent[out] = last_row
                    is_summary[out] = True
                    out += 1
                    target = base + summary_tokens + kept
                else:
                    target = base + round(old * (1 - tool_share)) + kept
                target = max(target, tail[r])
                offset = p - target
                new_prompt[out] = target
                new_shared[out] = min(base, target)
                a_start += cut
                events += 1
            else:
                new_prompt[out] = now
                new_shared[out] = max(sh - offset, 0) if par >= 0 else sh
            new_parent[out] = last_row if par >= 0 else -1
            src[out] = r
            new_time[out] = time[r]
            is_summary[out] = False
            out += 1
            if not compaction[r]:
                last_row = out - 1
        i = end
    return (
        src[:out], new_time[:out], new_prompt[:out], new_shared[:out], new_parent[:out],
        is_summary[:out], events,
    )  # fmt: skip


@njit(cache=True)
def relink_kernel(
    lineage: np.ndarray,
    parent: np.ndarray,
    shared: np.ndarray,
    bp: np.ndarray,
    lineage_base: np.ndarray,
    lineage_base_len: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``traces.relink_reference`` compiled: ``lineage`` is rewritten in place."""
    n = lineage.shape[0]
    n_lin = lineage_base.shape[0]
    base = np.empty(n_lin + n, dtype=np.int64)
    base_len = np.empty(n_lin + n, dtype=np.int64)
    base[:n_lin] = lineage_base
    base_len[:n_lin] = lineage_base_len
    size = n_lin
    for i in range(n):
        size = max(size, lineage[i] + 1)
    frontier = np.zeros(size + n, dtype=np.int64)
    nb = n_lin
    for i in range(n):
        p = parent[i]
        if p < 0:
            frontier[lineage[i]] = max(frontier[lineage[i]], bp[i])
            continue
        lin = lineage[p]
        if shared[i] >= bp[p] and frontier[lin] <= shared[i]:
            lineage[i] = lin
        else:
            base[nb] = lin
            base_len[nb] = shared[i]
            lineage[i] = nb
            nb += 1
        frontier[lineage[i]] = max(frontier[lineage[i]], bp[i])
    return lineage, base[:nb], base_len[:nb]


@njit(cache=True)
def _root(up: np.ndarray, x: int) -> int:
    while up[x] != x:
        up[x] = up[up[x]]
        x = up[x]
    return x


@njit(cache=True)
def component_order(
    order: np.ndarray, lineage: np.ndarray, parent: np.ndarray, lineage_base: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``order`` (time order) regrouped by independent component, time order kept within each;
    and each call's component.

    Two calls can affect each other's replay only through a lineage on their paths (the cache
    store is keyed by lineage) or a parent link (block counts): lineages joined by base and
    parent links form components that share nothing, so replaying one component after another
    gives the same result as the global time order, with far fewer cache misses.
    """
    n = lineage.shape[0]
    n_lin = lineage_base.shape[0]
    up = np.arange(n_lin)
    for lin in range(n_lin):
        if lineage_base[lin] >= 0:
            a, b = _root(up, lin), _root(up, lineage_base[lin])
            if a != b:
                up[max(a, b)] = min(a, b)
    for i in range(n):
        if parent[i] >= 0:
            a, b = _root(up, lineage[i]), _root(up, lineage[parent[i]])
            if a != b:
                up[max(a, b)] = min(a, b)
    start = np.zeros(n_lin + 1, dtype=np.int64)
    comp = np.empty(n, dtype=np.int64)
    for i in range(n):
        comp[i] = _root(up, lineage[i])
        start[comp[i] + 1] += 1
    for c in range(n_lin):
        start[c + 1] += start[c]
    out = np.empty(order.shape[0], dtype=np.int64)
    for k in range(order.shape[0]):
        c = comp[order[k]]
        out[start[c]] = order[k]
        start[c] += 1
    return out, comp


def cached() -> bool:
    """Whether numba holds every kernel's compiled code on disk already; if not, the first
    replay compiles them (about 15 s here). Unsure (numba's internals moved): ``True``."""
    kernels: tuple[Any, ...] = (simulate_kernel, compact_kernel, relink_kernel, component_order)
    try:
        return all(os.path.exists(k._cache._cache_file._index_path) for k in kernels)
    except AttributeError:
        return True
