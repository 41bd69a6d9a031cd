"""Traces: each task as an ordered, timestamped list of calls whose prompts grow as a prefix.

A replay needs to know, for every call, which part of its prompt is the same text as a prompt
sent before (the part a cache could serve). Two ways to find out:

- **From usage numbers** (agent logs keep no text): ``from_calls``. Within one thread of work
  (a session's main thread or one sub-agent; a compaction agent continues its parent's main
  thread) the client appends to the history, and Anthropic's ``input_tokens`` is the tail after
  the client's last cache breakpoint, so a call's breakpoint sits at ``prompt - input``. Rules:

  1. the prompt *extends* the previous call's breakpoint when it is at least that long and the
     provider did not prove otherwise (its read is 0, e.g. an expired cache, or reaches the
     breakpoint);
  2. otherwise the history was *rewritten* (compaction, context editing, a setting that
     invalidates the messages) and what is shared is exactly what the provider read: the only
     evidence we have. Such reads also reveal a stable prefix (tools + system prompt) where the
     client keeps a breakpoint on every call;
  3. a thread's first call shares with other threads the ``cache_read`` it reports: a stable
     prefix (the agent's tools and system prompt) that other sessions of the same model send.

  Each call is assumed to add ``blocks_per_call`` content blocks (assistant turn + tool
  results) for Anthropic's 20-block lookback; only text would tell the real number.
- **From content** (API payloads, chat datasets): ``from_messages`` hashes each block, so the
  shared prefix is exact and counted with the model's tokenizer.

Everything is kept in numpy arrays (one row per call, all threads together) so a million calls
replay in seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from tokenomy.calls import Call
from tokenomy.replay.routes import route_of

__all__ = [
    "BLOCKS_PER_CALL",
    "CALL_ARRAYS",
    "Message",
    "PriceKey",
    "Trace",
    "from_calls",
    "from_messages",
    "relink",
    "thread_key",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
OBJ = npt.NDArray[np.object_]

BLOCKS_PER_CALL = 2  # an assistant turn and the user/tool-result turn that answers it
TTL_5M = 300.0
TTL_1H = 3600.0

# A price key: (model, provider, service_tier), as ``Pricer.rates`` takes them.
PriceKey = tuple[str, str, str]


@dataclass
class Trace:
    """Calls in thread order then time order, one array element per call.

    Prefix structure: call ``i`` shares its first ``shared[i]`` tokens with the prompt of call
    ``parent[i]`` (-1: with nothing). ``lineage[i]`` names the growing document the prompt is a
    prefix of; a lineage that began by rewriting another shares its first ``base_len`` tokens
    with lineage ``base``.
    """

    time: F64  # request start, epoch seconds (UTC)
    thread: I64  # index into ``threads``
    key: I64  # index into ``keys``
    keys: list[PriceKey]
    prompt: I64
    tail: I64  # prompt tokens after the client's last breakpoint (never cacheable)
    output: I64
    reasoning: I64
    shared: I64  # prompt tokens sent before, as a prefix of ``parent``'s prompt
    parent: I64
    lineage: I64
    blocks: I64  # content blocks appended since the parent's breakpoint
    ttl: F64  # the cache lifetime the client asked for, seconds
    subagent: B
    compaction: B
    output_exact: B
    synthetic: B  # added by a lever (a summarising call), not in the log
    session: OBJ
    # What the provider reported (the baseline a replay is checked against).
    input: I64
    cache_read: I64
    cache_write_5m: I64
    cache_write_1h: I64
    lineage_base: I64  # per lineage: the lineage it rewrote, or -1
    lineage_base_len: I64  # per lineage: tokens shared with its base
    stable: list[tuple[int, ...]] = field(default_factory=list)  # per thread: fixed breakpoints
    # How each call reached its model (``observed.route_of``): direct, bedrock, vertex, proxy.
    route: OBJ = field(default_factory=lambda: np.empty(0, dtype=object))
    # Tokens a request outside the log had cached before the call (a thread's first call that
    # read a prefix nothing in the log wrote): billed as a read (``observed.with_given``).
    given: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Whether ``shared`` comes from the prompt's content (block hashes), not from usage
    # numbers: a lever need not assume the prompt grew as a prefix.
    known: B = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    threads: list[str] = field(default_factory=list)
    # Shared prefixes across threads, by (model, length): lineage ids (see rule 3).
    evidence_calls: int = 0  # calls whose ``shared`` was taken from the provider's reported read

    def __post_init__(self) -> None:
        n = int(self.prompt.shape[0])
        if self.route.shape[0] != n:
            self.route = np.full(n, "direct", dtype=object)
        if self.given.shape[0] != n:
            self.given = np.zeros(n, dtype=np.int64)
        if self.known.shape[0] != n:
            self.known = np.zeros(n, dtype=np.bool_)

    def __len__(self) -> int:
        return int(self.prompt.shape[0])

    @property
    def breakpoint(self) -> I64:
        return self.prompt - self.tail

    @property
    def new(self) -> I64:
        """Prompt tokens never sent before in this thread (the context tax is the rest)."""
        return self.prompt - self.shared

    def model_of(self, i: int) -> str:
        return self.keys[int(self.key[i])][0]

    @cached_property
    def time_order(self) -> I64:
        """Call indices in time order (stable), sorted once per trace: every replay needs it."""
        return np.argsort(self.time, kind="stable")

    @cached_property
    def minute(self) -> I64:
        """Each call's minute since the epoch (prices are looked up by minute or by day)."""
        return (self.time // 60).astype(np.int64)

    @cached_property
    def replay_order(self) -> tuple[I64, I64]:
        """``time_order`` regrouped by independent component (``kernels.component_order``),
        and each call's component: the cache replay's order."""
        from tokenomy.replay.kernels import component_order

        def ints(a: npt.NDArray[Any]) -> I64:
            return np.ascontiguousarray(a, dtype=np.int64)

        return component_order(
            self.time_order, ints(self.lineage), ints(self.parent), ints(self.lineage_base)
        )

    def with_arrays(self, **changes: Any) -> Trace:
        """A copy with some arrays replaced (levers never modify a trace in place); what was
        derived from arrays that did not change is kept."""
        out = replace(self, **changes)
        for name, inputs in _DERIVED.items():
            if name in self.__dict__ and not changes.keys() & inputs:
                out.__dict__[name] = self.__dict__[name]
        return out

    def take(self, index: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> Trace:
        """The calls at ``index`` (a subset of whole threads keeps the structure valid)."""
        idx = np.flatnonzero(index) if index.dtype == np.bool_ else index
        remap = np.full(len(self), -1, dtype=np.int64)
        remap[idx] = np.arange(idx.shape[0])
        parent = self.parent[idx]
        parent = np.where(parent >= 0, remap[np.maximum(parent, 0)], -1)
        arrays = {name: getattr(self, name)[idx] for name in CALL_ARRAYS if name not in ("parent",)}
        return replace(self, parent=parent, **arrays)


# Cached properties of a trace, by the arrays they are computed from.
_DERIVED = {
    "time_order": {"time"},
    "minute": {"time"},
    "replay_order": {"time", "lineage", "parent", "lineage_base"},
}

CALL_ARRAYS = (
    "time", "thread", "key", "prompt", "tail", "output", "reasoning", "shared", "parent",
    "lineage", "blocks", "ttl", "subagent", "compaction", "output_exact", "synthetic", "session",
    "input", "cache_read", "cache_write_5m", "cache_write_1h", "route", "given", "known",
)  # fmt: skip


# Routes whose cache misses live entries (requests land on several caches): a call that read
# a short prefix of a prompt that grew did not rewrite its history (docs/replay_fidelity.md).
_BEST_EFFORT = frozenset({"bedrock"})


def thread_key(call: Call) -> tuple[str, str]:
    """The thread a call belongs to; a compaction agent continues its session's main thread."""
    if call.is_compaction:
        return (call.parent_session or call.session, "")
    return (call.session, call.agent)


def _ttl(call: Call, previous: float) -> float:
    if call.cache_write_1h > 0:
        return TTL_1H
    if call.cache_write_5m > 0:
        return TTL_5M
    return previous


def _explicit_breakpoints(call: Call) -> bool:
    # Anthropic reports the tokens after the last breakpoint as ``input``; automatic
    # prefix caches (OpenAI, Gemini, DeepSeek) cache up to the end of the prompt.
    return call.provider == "anthropic" or call.model.startswith("claude")


class _Builder:
    """Accumulates rows and lineages; shared by ``from_calls`` and ``from_messages``."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {name: [] for name in CALL_ARRAYS}
        self.keys: dict[PriceKey, int] = {}
        self.threads: list[str] = []
        self.stable: list[tuple[int, ...]] = []
        self.base: list[int] = []
        self.base_len: list[int] = []
        self.frontier: list[int] = []  # per lineage: the longest breakpoint on it so far
        self.shared_prefix: dict[tuple[str, int], int] = {}  # (model, length) -> lineage
        self.evidence = 0

    def new_lineage(self, base: int, base_len: int) -> int:
        self.base.append(base)
        self.base_len.append(base_len)
        self.frontier.append(base_len)
        return len(self.base) - 1

    def stable_lineage(self, model: str, length: int) -> int:
        key = (model, length)
        if key not in self.shared_prefix:
            self.shared_prefix[key] = self.new_lineage(-1, 0)
            self.frontier[self.shared_prefix[key]] = length
        return self.shared_prefix[key]

    def extend(self, lineage: int, at: int, new_end: int) -> int:
        """The lineage a prompt continuing ``lineage`` past ``at`` belongs to.

        If another call already extended the lineage past ``at`` with other text (a compaction
        agent beside the main thread), the continuation is a new branch based at ``at``.
        """
        if self.frontier[lineage] > at:
            lineage = self.new_lineage(lineage, at)
        self.frontier[lineage] = max(self.frontier[lineage], new_end)
        return lineage

    def key(self, model: str, provider: str, tier: str) -> int:
        return self.keys.setdefault((model, provider, tier), len(self.keys))

    def add(self, **row: Any) -> None:
        for name, value in row.items():
            self.rows[name].append(value)

    def build(self) -> Trace:
        r = self.rows

        def ints(name: str) -> I64:
            return np.asarray(r[name], dtype=np.int64)

        def bools(name: str) -> B:
            return np.asarray(r[name], dtype=np.bool_)

        session = np.empty(len(r["session"]), dtype=object)
        session[:] = r["session"]
        route = np.empty(len(r["route"]), dtype=object)
        route[:] = r["route"]
        return Trace(
            time=np.asarray(r["time"], dtype=np.float64),
            thread=ints("thread"),
            key=ints("key"),
            keys=list(self.keys),
            prompt=ints("prompt"),
            tail=ints("tail"),
            output=ints("output"),
            reasoning=ints("reasoning"),
            shared=ints("shared"),
            parent=ints("parent"),
            lineage=ints("lineage"),
            blocks=ints("blocks"),
            ttl=np.asarray(r["ttl"], dtype=np.float64),
            subagent=bools("subagent"),
            compaction=bools("compaction"),
            output_exact=bools("output_exact"),
            synthetic=bools("synthetic"),
            session=session,
            input=ints("input"),
            cache_read=ints("cache_read"),
            cache_write_5m=ints("cache_write_5m"),
            cache_write_1h=ints("cache_write_1h"),
            lineage_base=np.asarray(self.base, dtype=np.int64),
            lineage_base_len=np.asarray(self.base_len, dtype=np.int64),
            stable=self.stable,
            route=route,
            given=ints("given"),
            known=bools("known"),
            threads=self.threads,
            evidence_calls=self.evidence,
        )


def from_calls(
    calls: Iterable[Call],
    blocks_per_call: int = BLOCKS_PER_CALL,
    digests: Mapping[str, Sequence[tuple[str, int]]] | None = None,
) -> Trace:
    """Reconstruct each thread's prefix structure from usage numbers (see module doc), or,
    for a call whose prompt's block digest is known (``digests``: call id -> ``[(hash,
    estimated tokens), ...]``, as the gateway records them), from its content."""
    by_thread: dict[tuple[str, str], list[Call]] = {}
    for call in sorted(calls, key=lambda c: (c.time, c.id)):
        by_thread.setdefault(thread_key(call), []).append(call)
    by_thread = link_resumed(by_thread)
    b = _Builder()
    # Threads in order of their first call, so a stable prefix is met first where it was sent.
    for (session, agent), thread_calls in sorted(
        by_thread.items(), key=lambda kv: (kv[1][0].time, kv[0])
    ):
        t = len(b.threads)
        b.threads.append(f"{session}/{agent}" if agent else session)
        b.stable.append(_stable_points(thread_calls))
        _thread_rows(b, t, thread_calls, blocks_per_call, digests or {})
    return b.build()


def link_resumed(
    by_thread: dict[tuple[str, str], list[Call]],
) -> dict[tuple[str, str], list[Call]]:
    """Join each resumed session to the thread it continues.

    ``claude --resume`` (or ``--continue``) writes the old messages under a *new* session id,
    so the resumed session's first request sends the same history: its first cache read is
    exactly the last cache point of the session it resumed (what that session's last call read
    plus wrote). A main thread whose first call reads exactly that, on the same model and
    project, after the other thread's last call and while its entry could still live (1 h),
    continues that thread instead of starting one. Token counts of five or more digits
    matching exactly are the evidence; sub-agents and compaction are never joined.
    """
    ends: dict[tuple[str, str, int], tuple[str, str]] = {}  # (model, project, point) -> thread
    order = sorted(by_thread.items(), key=lambda kv: (kv[1][0].time, kv[0]))
    target: dict[tuple[str, str], tuple[str, str]] = {}
    for key, calls in order:
        first = calls[0]
        if key[1] == "" and not first.is_compaction and first.cache_read >= 1024:
            found = ends.get((first.model, first.project, first.cache_read))
            if found is not None:
                root = target.get(found, found)
                last = by_thread[found][-1]
                gap = (first.time - last.time).total_seconds()
                if 0 <= gap <= 3600 and found[0] != key[0]:
                    target[key] = root
        main = [c for c in calls if not c.is_compaction]
        if key[1] == "" and main:
            last = main[-1]
            point = last.cache_read + last.cache_write_5m + last.cache_write_1h
            if point:
                ends[(last.model, last.project, point)] = key
    if not target:
        return by_thread
    out: dict[tuple[str, str], list[Call]] = {}
    for key, calls in order:
        root = target.get(key, key)
        while root in target:
            root = target[root]
        out.setdefault(root, []).extend(calls)
    for calls in out.values():
        calls.sort(key=lambda c: (c.time, c.id))
    return out


def _stable_points(calls: Sequence[Call]) -> tuple[int, ...]:
    """Prefix lengths the provider proved were cached on their own: tools + system prompt."""
    if not _explicit_breakpoints(calls[0]):
        return ()
    points = {calls[0].cache_read} if calls[0].cache_read else set()
    main = [c for c in calls if not c.is_compaction]
    for prev, call in pairwise(main):
        bp = prev.prompt - prev.input
        if 0 < call.cache_read < bp and call.cache_read < call.prompt - call.input:
            points.add(call.cache_read)
    return tuple(sorted(points))


class _Prefixes:
    """A thread's prompts by content: each prefix of block hashes (as a chained digest) ->
    the latest row that sent it, and each row's blocks' cumulative estimated sizes."""

    def __init__(self) -> None:
        self.latest: dict[bytes, tuple[int, int]] = {}  # chained digest -> (row, blocks)
        self.sizes: dict[int, list[int]] = {}  # row -> cumulative estimated tokens

    def match(self, row: int, digest: Sequence[tuple[str, int]]) -> tuple[int, int]:
        """(the latest row that sent the longest prefix of this prompt, or -1; how many
        blocks long), and remembers this prompt as row ``row``."""
        chain, found, same, total = b"", -1, 0, 0
        chains, cumulative = [], []
        for k, (block, size) in enumerate(digest, 1):
            chain = hashlib.blake2b(chain + block.encode(), digest_size=16).digest()
            chains.append(chain)
            total += int(size)
            cumulative.append(total)
            hit = self.latest.get(chain)
            if hit is not None:  # prefixes of a remembered prompt are all remembered
                found, same = hit[0], k
        for k, chain in enumerate(chains, 1):
            self.latest[chain] = (row, k)
        self.sizes[row] = cumulative
        return found, same


def _known_shared(b: _Builder, parent: int, same: int, sizes: list[int]) -> int:
    """Tokens of the parent's prompt that this prompt repeats (its first ``same`` blocks):
    all of it when every block is repeated (the same text, the same count), else the
    parent's count in the share of its estimated size those blocks hold."""
    prompt = int(b.rows["prompt"][parent])
    if same == len(sizes) or not sizes[-1]:
        return prompt
    return round(prompt * sizes[same - 1] / sizes[-1]) if same else 0


def _thread_rows(
    b: _Builder,
    t: int,
    calls: Sequence[Call],
    blocks_per_call: int,
    digests: Mapping[str, Sequence[tuple[str, int]]],
) -> None:
    last_main = -1  # row index of the thread's last main (non-compaction) call
    lineage_of_row: dict[int, int] = {}
    prefixes = _Prefixes()
    ttl = TTL_5M
    for call in calls:
        row = len(b.rows["time"])
        explicit = _explicit_breakpoints(call)
        tail = call.input if explicit else 0
        bp = call.prompt - tail
        ttl = _ttl(call, ttl)
        route = route_of(call.id, call.model, call.provider, call.source)
        parent = last_main
        digest = digests.get(call.id)
        blocks = blocks_per_call if parent >= 0 else 1
        if digest:
            # The content is known: the parent is the request that sent the longest prefix
            # of this prompt (any earlier request of the thread), and that prefix is shared.
            parent, same = prefixes.match(row, digest)
            blocks = len(digest) - same
        if digest and parent >= 0:
            p_sizes = prefixes.sizes[parent]
            shared = min(_known_shared(b, parent, same, p_sizes), call.prompt)
            p_lineage = lineage_of_row[parent]
            if same == len(p_sizes):
                lineage = b.extend(p_lineage, shared, call.prompt)
            else:
                lineage = b.new_lineage(p_lineage, shared)
                b.frontier[lineage] = call.prompt
        elif parent < 0:
            # Rule 3: the first call shares the prefix its provider read with other threads.
            shared = call.cache_read
            if shared:
                lineage = b.extend(b.stable_lineage(call.model, shared), shared, bp)
                b.evidence += 1
            else:
                lineage = b.new_lineage(-1, 0)
                b.frontier[lineage] = bp if explicit else call.prompt + call.output
        else:
            p_bp = int(b.rows["prompt"][parent]) - int(b.rows["tail"][parent])
            p_lineage = lineage_of_row[parent]
            read = call.cache_read
            if not explicit and call.prompt >= p_bp:
                # Automatic caches hold the previous answer too: the next prompt repeats it
                # (Codex reads exceed the previous prompt by its output, in 128-token steps).
                shared = min(call.prompt, p_bp + int(b.rows["output"][parent]))
                lineage = b.extend(p_lineage, shared, call.prompt + call.output)
            elif call.prompt >= p_bp and (read == 0 or read >= p_bp or route in _BEST_EFFORT):
                # Rule 1. On a best-effort route a short read is a missed entry, not a rewrite.
                shared = p_bp
                lineage = b.extend(p_lineage, p_bp, bp)
            else:
                shared = min(read, call.prompt)  # rule 2
                lineage = b.new_lineage(p_lineage, shared)
                b.frontier[lineage] = bp
                b.evidence += 1
        lineage_of_row[row] = lineage
        b.add(
            time=call.time.timestamp(),
            thread=t,
            key=b.key(call.model, call.provider, call.service_tier),
            prompt=call.prompt,
            tail=tail,
            output=call.output,
            reasoning=call.reasoning,
            shared=shared,
            parent=parent,
            lineage=lineage,
            blocks=blocks,
            ttl=ttl,
            subagent=call.is_subagent and not call.is_compaction,
            compaction=call.is_compaction,
            output_exact=call.output_exact,
            synthetic=False,
            session=call.parent_session or call.session,
            input=call.input,
            cache_read=call.cache_read,
            cache_write_5m=call.cache_write_5m,
            cache_write_1h=call.cache_write_1h,
            route=route,
            given=call.cache_read if parent < 0 else 0,
            known=bool(digest),
        )
        if not call.is_compaction:
            last_main = row


@dataclass(frozen=True, slots=True)
class Message:
    """One request as sent: its time, model, and content blocks (text) in prompt order."""

    time: datetime
    model: str
    blocks: tuple[str, ...]
    output_tokens: int
    provider: str = ""
    thread: str = ""


def from_messages(
    requests: Iterable[Message],
    count: Any,
    ttl: float = TTL_5M,
    system_breakpoint: bool = True,
) -> Trace:
    """A trace from requests with content: shared prefixes from block hashes, exact counts.

    ``count(model, text) -> int`` counts tokens of one block (e.g. a tokenizer's ``count``).
    Each request's breakpoint is at the end of its last block (automatic caching), and with
    ``system_breakpoint`` also after its first block (the system prompt), as chat clients do.
    """
    b = _Builder()
    previous: dict[str, tuple[int, list[bytes], list[int]]] = {}  # thread -> row, hashes, ends
    lineage_of_row: dict[int, int] = {}
    thread_index: dict[str, int] = {}
    counted: dict[tuple[str, bytes], int] = {}
    for req in requests:
        t_name = req.thread or "thread"
        if t_name not in thread_index:
            thread_index[t_name] = len(b.threads)
            b.threads.append(t_name)
            b.stable.append(())
        t = thread_index[t_name]
        hashes = [hashlib.blake2b(x.encode(), digest_size=16).digest() for x in req.blocks]
        ends: list[int] = []
        total = 0
        for h, text in zip(hashes, req.blocks, strict=True):
            memo = (req.model, h)
            if memo not in counted:  # a history block is counted once, not on every turn
                counted[memo] = count(req.model, text)
            total += counted[memo]
            ends.append(total)
        row = len(b.rows["time"])
        prev = previous.get(t_name)
        if prev is None:
            parent, shared, blocks = -1, 0, len(hashes)
            if system_breakpoint and len(ends) > 1:
                b.stable[t] = (ends[0],)
            lineage = b.new_lineage(-1, 0)
            b.frontier[lineage] = total
        else:
            parent, p_hashes, p_ends = prev
            same = 0
            for a, c in zip(p_hashes, hashes, strict=False):
                if a != c:
                    break
                same += 1
            shared = p_ends[same - 1] if same else 0
            blocks = len(hashes) - same
            p_lineage = lineage_of_row[parent]
            if same == len(p_hashes):
                lineage = b.extend(p_lineage, shared, total)
            else:
                lineage = b.new_lineage(p_lineage, shared)
                b.frontier[lineage] = total
        lineage_of_row[row] = lineage
        previous[t_name] = (row, hashes, ends)
        b.add(
            time=req.time.astimezone(UTC).timestamp(),
            thread=t,
            key=b.key(req.model, req.provider, ""),
            prompt=total,
            tail=0,
            output=req.output_tokens,
            reasoning=0,
            shared=shared,
            parent=parent,
            lineage=lineage,
            blocks=blocks,
            ttl=ttl,
            subagent=False,
            compaction=False,
            output_exact=True,
            synthetic=False,
            session=t_name,
            input=total,
            cache_read=0,
            cache_write_5m=0,
            cache_write_1h=0,
            route="direct",
            given=0,
            known=True,
        )
    return b.build()


def relink(trace: Trace) -> Trace:
    """Recompute lineages after a lever rewrote prompts (rows: parents before children).

    A call continues its parent's lineage when it shares at least the parent's breakpoint and
    no other call has already extended that lineage further; otherwise it starts a branch that
    shares ``shared`` tokens with its parent's lineage. First calls keep their lineage.
    """
    base = trace.lineage_base.tolist()
    base_len = trace.lineage_base_len.tolist()
    frontier: dict[int, int] = {}
    lineage = trace.lineage.tolist()
    parent = trace.parent.tolist()
    shared = trace.shared.tolist()
    bp = (trace.prompt - trace.tail).tolist()
    for i in range(len(lineage)):
        p = parent[i]
        if p < 0:
            frontier[lineage[i]] = max(frontier.get(lineage[i], 0), bp[i])
            continue
        lin = lineage[p]
        if shared[i] >= bp[p] and frontier.get(lin, 0) <= shared[i]:
            lineage[i] = lin
        else:
            base.append(lin)
            base_len.append(shared[i])
            lineage[i] = len(base) - 1
        frontier[lineage[i]] = max(frontier.get(lineage[i], 0), bp[i])
    return trace.with_arrays(
        lineage=np.asarray(lineage, dtype=np.int64),
        lineage_base=np.asarray(base, dtype=np.int64),
        lineage_base_len=np.asarray(base_len, dtype=np.int64),
    )
