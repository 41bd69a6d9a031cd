"""The compiled replays (``simulate``, ``Compaction.apply``) equal their Python references,
array for array; every test here runs them compiled, whatever the trace's size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenomy.calls import TOKEN_KINDS, Call
from tokenomy.levers import Compaction, Scenario, make_lever
from tokenomy.replay import RULES, CacheRules, rules_for
from tokenomy.replay import cache as caching
from tokenomy.replay.cache import CacheReplay, simulate, simulate_reference
from tokenomy.replay.trace import CALL_ARRAYS, Message, Trace, from_calls, from_messages
from tokenomy.sources import read_paths
from tokenomy.whatif import default_levers
from tokenomy.workloads.chat import chat_workload

T0 = datetime(2026, 3, 2, tzinfo=UTC)
KINDS = TOKEN_KINDS
Rules = CacheRules | Callable[[str, str], CacheRules]


@pytest.fixture(autouse=True)
def compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caching, "COMPILED_FROM_CALLS", 0)


def assert_same(trace: Trace, rules: Rules) -> CacheReplay:
    fast, ref = simulate(trace, rules), simulate_reference(trace, rules)
    for kind in KINDS:
        a, b = getattr(fast.split, kind), getattr(ref.split, kind)
        assert a.dtype == b.dtype == np.int64, kind
        np.testing.assert_array_equal(a, b, err_msg=kind)
    np.testing.assert_array_equal(fast.storage_usd, ref.storage_usd)
    assert fast.storage_total == ref.storage_total
    assert list(fast.rules.items()) == list(ref.rules.items())
    return fast


@pytest.fixture(scope="module")
def trace(licensed_logs: Path) -> Trace:
    return from_calls(read_paths([licensed_logs])[0])


@pytest.mark.parametrize("name", ["own", *RULES])
def test_real_logs_every_rule_set(trace: Trace, name: str) -> None:
    assert_same(trace, rules_for if name == "own" else RULES[name])


def test_real_logs_after_each_default_lever(trace: Trace) -> None:
    # Levers rewrite the trace (compaction relinks lineages, batch adds keys of the same
    # model, a model swap merges stores): the replay of each result must still agree.
    for spec in default_levers(trace):
        s = make_lever(spec).apply(Scenario(trace))
        assert_same(s.trace, s.rules)


def test_sharegpt_chat_workload() -> None:
    work = chat_workload(limit=60, model="claude-sonnet-4-5", system_tokens=2000)
    assert len(work.trace) > 100
    for name in ("own", "anthropic-5m", "anthropic-1h", "openai", "deepseek", "gemini-explicit"):
        assert_same(work.trace, rules_for if name == "own" else RULES[name])


def test_empty_trace() -> None:
    empty = from_calls([])
    out = assert_same(empty, rules_for)
    assert out.split.input.shape == (0,)


def test_malformed_links_are_refused_not_read_out_of_bounds(trace: Trace) -> None:
    # The compiled kernel checks no bounds: a bad link must stop it before it runs.
    n_lin = trace.lineage_base.shape[0]
    parent = trace.parent.copy()
    parent[5] = len(trace)
    cycle = trace.lineage_base.copy()
    cycle[3] = 3
    for bad in (trace.with_arrays(parent=parent), trace.with_arrays(lineage_base=cycle),
                trace.with_arrays(lineage=trace.lineage + n_lin)):  # fmt: skip
        with pytest.raises(IndexError):
            simulate(bad, rules_for)


def test_store_shared_by_two_rule_sets_of_one_model() -> None:
    # Caches are per model: a model billed through two providers with different rules shares
    # one store, so an automatic replay's expiry sweep is seen by a breakpoint lookup.
    calls = []
    for k in range(12):
        calls.append(
            Call("x", f"c{k}", T0 + timedelta(seconds=200 * k), "claude-sonnet-4-5",
                 provider="anthropic" if k % 3 else "other", session="s",
                 input=50, cache_read=1500 + 60 * k if k else 0,
                 cache_write_5m=60 if k else 1500)
        )  # fmt: skip

    def mixed(provider: str, model: str) -> CacheRules:
        return RULES["anthropic-5m"] if provider == "anthropic" else RULES["openai"]

    assert_same(from_calls(calls), mixed)


# --- random traces -------------------------------------------------------------------------

MODELS = (
    ("claude-sonnet-4-5", "anthropic"),  # minimum 1,024
    ("claude-opus-4-6", "anthropic"),  # minimum 4,096
    ("claude-sonnet-4-5", "bedrock"),  # same model, another key (and maybe other rules)
    ("gpt-4.1", "openai"),
    ("gpt-5.6", "openai"),
    ("gemini-2.5-flash", "google"),
    ("deepseek-chat", "deepseek"),
)
# Gaps at the edges of every TTL and lifetime in the rules (5 min, 30 min, 1 h, 4 h, 24 h).
EDGES = (0.0, 1.0, 299.0, 300.0, 301.0, 600.0, 1799.0, 1800.0, 1801.0, 3599.0, 3600.0, 3601.0,
         14399.0, 14400.0, 14401.0, 86400.0, 86401.0)  # fmt: skip
gap = st.one_of(st.sampled_from(EDGES), st.floats(0, 5000, allow_nan=False))
size = st.one_of(st.integers(0, 300), st.integers(900, 1200), st.integers(3900, 4300))


@dataclass
class Step:
    gap: float
    grow: int  # prompt growth (or, with rewrite, the prompt kept)
    rewrite: bool
    tail: int
    read: int  # the reported read, as a share in per mille of the prompt
    one_hour: bool
    output: int
    agent: int  # 0: main thread, 1: a sub-agent, 2: a compaction agent


step = st.builds(
    Step,
    gap=gap,
    grow=size,
    rewrite=st.booleans(),
    tail=st.integers(0, 400),
    read=st.sampled_from([0, 0, 500, 900, 1000]),
    one_hour=st.booleans(),
    output=st.integers(0, 800),
    agent=st.sampled_from([0, 0, 0, 1, 2]),
)
thread = st.tuples(
    st.integers(0, len(MODELS) - 1), st.floats(0, 4000), st.lists(step, min_size=1, max_size=8)
)


def calls_of(threads: list[tuple[int, float, list[Step]]]) -> list[Call]:
    calls = []
    for t_i, (m_i, start, steps) in enumerate(threads):
        model, provider = MODELS[m_i]
        when, prompt = start, 0
        for k, s in enumerate(steps):
            when += s.gap
            prompt = max(1, prompt // 2 + s.grow) if s.rewrite else prompt + s.grow + 1
            tail = min(s.tail, prompt)
            read = min(prompt - tail, prompt * s.read // 1000)
            write = prompt - tail - read
            calls.append(
                Call("x", f"{t_i}-{k}", T0 + timedelta(seconds=when), model, provider=provider,
                     session=f"s{t_i % 3}", agent=("", "sub", "acompact-1")[s.agent],
                     parent_session=f"s{t_i % 3}" if s.agent else "",
                     input=tail, cache_read=read,
                     cache_write_1h=write if s.one_hour else 0,
                     cache_write_5m=0 if s.one_hour else write,
                     output=s.output)
            )  # fmt: skip
    return calls


def _rules(name: str, mode: str, minimum: int = 0, **kw: object) -> CacheRules:
    return CacheRules(name, mode, lambda _m: minimum, **kw)  # type: ignore[arg-type]


# Rules at their edges: short lookbacks, 0-2 breakpoints (Python's slice [-(m):] keeps all
# stable points at 1 and drops the first at 0), lifetimes equal to TTLs, no minimum, steps.
CUSTOM = (
    _rules("bp-lookback-2", "breakpoints", lookback_blocks=2, max_breakpoints=0),
    _rules("bp-lookback-3", "breakpoints", 64, ttl=300.0, lookback_blocks=3,
           max_breakpoints=1, write_kind="cache_write_5m"),
    _rules("bp-2", "breakpoints", 1024, ttl=3600.0, max_breakpoints=2),
    _rules("auto-out", "automatic", step=64, ttl=300.0, max_lifetime=300.0, caches_output=True),
    _rules("auto", "automatic", 1024, max_lifetime=3600.0, write_kind="input"),
    _rules("units", "units", 64, ttl=300.0, max_lifetime=300.0),
    _rules("units-out", "units", ttl=3600.0, caches_output=True, write_kind="input"),
)  # fmt: skip


def _by_provider(table: dict[str, CacheRules]) -> Callable[[str, str], CacheRules]:
    return lambda provider, model: table.get(provider, rules_for(provider, model))


# One model billed through two providers under two rule sets shares one store.
MIXED = (
    _by_provider({"anthropic": CUSTOM[0], "bedrock": CUSTOM[3]}),
    _by_provider({"anthropic": RULES["anthropic-5m"], "bedrock": CUSTOM[5]}),
    _by_provider({"bedrock": RULES["gemini-explicit"], "openai": CUSTOM[1]}),
)
EVERY_RULES: tuple[Rules, ...] = (rules_for, *RULES.values(), *CUSTOM, *MIXED)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(thread, min_size=1, max_size=5))
def test_random_traces_from_usage(threads: list[tuple[int, float, list[Step]]]) -> None:
    tr = from_calls(calls_of(threads))
    for rules in EVERY_RULES:
        assert_same(tr, rules)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),  # conversation
            gap,
            st.lists(st.integers(0, 6), min_size=1, max_size=8),  # block ids
            st.integers(0, len(MODELS) - 1),
        ),
        min_size=1,
        max_size=14,
    ),
    st.booleans(),
)
def test_random_traces_from_content(
    requests: list[tuple[int, float, list[int], int]], system_breakpoint: bool
) -> None:
    # Blocks are drawn from a few texts, so prompts share prefixes, diverge and come back.
    sizes = (300, 700, 1100, 2100, 4000, 64, 129)
    when = 0.0
    msgs = []
    for conv, g, blocks, m_i in requests:
        when += g
        model, provider = MODELS[m_i]
        msgs.append(
            Message(T0 + timedelta(seconds=when), model, tuple(f"b{b}" for b in blocks),
                    output_tokens=17 * len(blocks), provider=provider, thread=f"t{conv}")
        )  # fmt: skip
    tr = from_messages(msgs, lambda _m, text: sizes[int(text[1:])], ttl=300.0,
                       system_breakpoint=system_breakpoint)  # fmt: skip
    for rules in EVERY_RULES:
        assert_same(tr, rules)


SHARED_STORE = _by_provider(
    {
        "anthropic": _rules("bp", "breakpoints", lookback_blocks=2, ttl=300.0),
        "bedrock": _rules("auto", "automatic", ttl=10.0),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1),  # conversation
            st.sampled_from([0.0, 5.0, 10.0, 11.0, 30.0]),
            st.lists(st.integers(0, 4), min_size=1, max_size=6),  # block ids
            st.booleans(),  # anthropic or bedrock
        ),
        min_size=2,
        max_size=12,
    )
)
def test_one_store_under_two_modes(requests: list[tuple[int, float, list[int], bool]]) -> None:
    # An automatic replay removes the expired entries it walks past; a breakpoint lookup
    # afterwards stops at the first entry older than its lookback, so the removal shows.
    when = 0.0
    msgs = []
    for conv, g, blocks, anthropic in requests:
        when += g
        msgs.append(
            Message(T0 + timedelta(seconds=when), "claude-sonnet-4-5",
                    tuple(f"b{b}" for b in blocks), output_tokens=5,
                    provider="anthropic" if anthropic else "bedrock", thread=f"t{conv}")
        )  # fmt: skip
    tr = from_messages(msgs, lambda _m, text: 100 * (1 + int(text[1:])), system_breakpoint=False)
    assert_same(tr, SHARED_STORE)


def test_an_automatic_sweep_is_seen_by_a_later_breakpoint_lookup() -> None:
    # One lineage, one model, two rule sets. A1 caches 100 tokens (block 1); B1 (automatic)
    # writes 300 for 10 s; A1b refreshes A1's entry; B2 removes B1's expired entry; A2 (2 new
    # blocks, lookback 2) finds A1's entry only because B1's, of block 0, is gone.
    t = [0.0, 1.0, 5.0, 20.0, 25.0]
    prompt = [100, 300, 100, 5000, 1000]
    key = [0, 1, 0, 1, 0]
    blocks = [1, 1, 1, 1, 2]
    n = len(t)

    def ints(values: list[int]) -> np.ndarray:
        return np.asarray(values, dtype=np.int64)

    zeros, flags = ints([0] * n), np.zeros(n, dtype=np.bool_)
    tr = Trace(
        time=np.asarray(t), thread=zeros, key=ints(key),
        keys=[("claude-sonnet-4-5", "anthropic", ""), ("claude-sonnet-4-5", "bedrock", "")],
        prompt=ints(prompt), tail=zeros, output=zeros, reasoning=zeros, shared=zeros,
        parent=ints([-1] * n), lineage=zeros, blocks=ints(blocks), ttl=np.full(n, 300.0),
        subagent=flags, compaction=flags, output_exact=~flags, synthetic=flags,
        session=np.array(["s"] * n, dtype=object), input=ints(prompt), cache_read=zeros,
        cache_write_5m=zeros, cache_write_1h=zeros, lineage_base=ints([-1]),
        lineage_base_len=ints([0]), stable=[()], threads=["s"],
    )  # fmt: skip
    out = assert_same(tr, SHARED_STORE)
    assert out.split.cache_read.tolist() == [0, 100, 100, 100, 100]


# --- compaction ----------------------------------------------------------------------------

TRACE_ARRAYS = (*CALL_ARRAYS, "lineage_base", "lineage_base_len")


def assert_same_compaction(trace: Trace, lever: Compaction) -> Trace:
    fast = lever.apply(Scenario(trace))
    ref = lever.apply_reference(Scenario(trace))
    for name in TRACE_ARRAYS:
        a, b = getattr(fast.trace, name), getattr(ref.trace, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert fast.trace.keys == ref.trace.keys and fast.trace.stable == ref.trace.stable
    assert fast.assumptions == ref.assumptions
    return fast.trace


COMPACTIONS = (
    Compaction(trigger_tokens=100_000),
    Compaction(trigger_tokens=100_000, mode="clear"),
    Compaction(trigger_tokens=30_000, keep_turns=1, summary_tokens=500),
    Compaction(trigger_tokens=30_000, keep_turns=0, mode="clear", tool_share=0.5),
    Compaction(trigger_tokens=50_000, keep_turns=-1),  # Python's [-(-1):] drops the first
    Compaction(),  # 83.5% of a 200k window
)


@pytest.mark.parametrize("lever", COMPACTIONS, ids=lambda c: f"{c.name}")
def test_compaction_on_real_logs(trace: Trace, lever: Compaction) -> None:
    out = assert_same_compaction(trace, lever)
    assert_same(out, rules_for)


def test_compaction_on_sharegpt() -> None:
    work = chat_workload(limit=60, model="claude-sonnet-4-5", system_tokens=2000)
    for lever in (Compaction(trigger_tokens=3000), Compaction(trigger_tokens=3000, mode="clear")):
        assert_same_compaction(work.trace, lever)


@PROPERTY
@given(
    st.lists(thread, min_size=1, max_size=5),
    st.sampled_from([0, 500, 1500, 5000]),
    st.integers(-1, 4),
    st.sampled_from(["summary", "clear"]),
    st.sampled_from([0.0, 0.5, 0.8, 1.0]),
)
def test_compaction_on_random_traces(
    threads: list[tuple[int, float, list[Step]]],
    trigger: int,
    keep: int,
    mode: str,
    tool_share: float,
) -> None:
    tr = from_calls(calls_of(threads))
    lever = Compaction(trigger_tokens=trigger, keep_turns=keep, mode=mode, summary_tokens=300,
                       tool_share=tool_share, trigger_share=0.001, window=1000)  # fmt: skip
    out = assert_same_compaction(tr, lever)
    assert_same(out, rules_for)


def test_the_first_compile_is_announced_only_when_it_will_happen(
    trace: Trace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokenomy.replay import kernels

    compact = Compaction(trigger_tokens=30_000)
    simulate(compact.apply(Scenario(trace)).trace, rules_for)  # every kernel runs once
    assert kernels.cached()  # numba wrote their compiled code beside the module
    monkeypatch.undo()  # the real threshold again
    assert not caching.compiles_first(10_000)
    monkeypatch.setattr(kernels, "cached", lambda: False)
    assert caching.compiles_first(10_000)
    assert not caching.compiles_first(100)  # small traces use the Python references
