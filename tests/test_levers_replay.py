"""Levers on the real logs: exact pricing, the replay's agreement with the log, each lever."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tokenomy.calls import TOKEN_KINDS, Call
from tokenomy.levers import Compaction, Lever, Scenario, make_lever, register, replay
from tokenomy.pricing import Pricer
from tokenomy.replay import Split, price
from tokenomy.replay.trace import Trace, from_calls
from tokenomy.sources import read_paths
from tokenomy.whatif import replay_agreement


@pytest.fixture(scope="module")
def calls(licensed_logs: Path) -> list[Call]:
    return read_paths([licensed_logs])[0]


@pytest.fixture(scope="module")
def trace(calls: list[Call]) -> Trace:
    return from_calls(calls)


def test_vectorised_price_equals_rates_cost(calls: list[Call], trace: Trace) -> None:
    pricer = Pricer()
    expected = Decimal(0)
    for c in calls:
        one = pricer.cost(c.model, c.time, provider=c.provider, service_tier=c.service_tier,
                          input=c.input, cache_read=c.cache_read, cache_write_5m=c.cache_write_5m,
                          cache_write_1h=c.cache_write_1h, output=c.output)  # fmt: skip
        assert one is not None
        expected += one
    got = price(trace, Split.reported(trace), pricer)
    assert abs(got.total - expected) < Decimal("1e-15")
    assert got.unpriced_calls == 0
    assert float(np.sum(got.per_call)) == pytest.approx(float(expected), rel=1e-12)


def _price_call_by_call(trace: Trace, split: Split, pricer: Pricer) -> list[Decimal | None]:
    """The slow reference: ``Rates.cost`` of each call at its own time."""
    out = []
    for i in range(len(trace)):
        model, provider, tier = trace.keys[int(trace.key[i])]
        when = datetime.fromtimestamp(float(trace.time[i]), UTC)
        out.append(pricer.cost(model, when, provider=provider, service_tier=tier,
                               **{k: int(getattr(split, k)[i]) for k in TOKEN_KINDS}))  # fmt: skip
    return out


@pytest.mark.parametrize("dense", [True, False], ids=["counted", "sorted"])
def test_price_equals_rates_cost_call_by_call_with_bands_and_unpriced(
    trace: Trace, dense: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mix of models: one with a long-context band (Sonnet 4.5 above 200k), one priced by
    # time of day (DeepSeek's off-peak hours), one unknown; prompts on both sides of 200k.
    from tokenomy.replay import costing as cost

    if not dense:
        monkeypatch.setattr(cost, "_DENSE_LIMIT", 0)
    keys = [("claude-sonnet-4-5", "anthropic", ""), ("deepseek-chat", "deepseek", ""),
            ("no-such-model-xyz", "", ""), *trace.keys]  # fmt: skip
    n = len(trace)
    rng = np.random.default_rng(7)
    t = trace.with_arrays(
        keys=keys,
        key=rng.integers(0, len(keys), n),
        input=np.where(np.arange(n) % 3 == 0, 210_000, trace.input),
        time=trace.time + rng.integers(0, 86_400, n),  # spread over many hours of the day
    )
    split = Split.reported(t)
    pricer = Pricer()
    assert pricer.varies_within_a_day("deepseek-chat", "deepseek")
    got = price(t, split, pricer)
    ref = _price_call_by_call(t, split, pricer)
    assert (split.prompt > 200_000).any() and (split.prompt <= 200_000).any()
    assert got.unpriced_calls == sum(r is None for r in ref) > 0
    assert got.unpriced_models == ("no-such-model-xyz",)
    assert got.total == sum((r for r in ref if r is not None), Decimal(0))
    for i, r in enumerate(ref):
        if r is None:
            assert np.isnan(got.per_call[i])
        else:
            assert got.per_call[i] == pytest.approx(float(r), rel=1e-12, abs=1e-15)


def test_replay_reproduces_claude_code_split_call_by_call(calls: list[Call]) -> None:
    claude = [c for c in calls if c.source == "claude_code"]
    agreement = replay_agreement(from_calls(claude))
    assert agreement.calls == len(claude)
    # Only first calls of a thread (a prefix warmed by a session outside the logs) and one
    # read past the previous breakpoint (an unlogged request) disagree.
    assert agreement.calls_within_1pct / agreement.calls > 0.98
    reasons = {d["why"] for d in agreement.disagreements}
    assert all("unexplained" not in r for r in reasons)
    firsts = [d for d in agreement.disagreements if d["why"].startswith("first call")]
    assert len(firsts) >= len(agreement.disagreements) - 1


def test_trace_reconstruction_uses_the_reported_read_only_where_it_must(trace: Trace) -> None:
    # Rules 2 and 3 (rewrites, first calls) take the provider's read as evidence; every other
    # call's prefix comes from sizes alone.
    assert trace.evidence_calls < 0.05 * len(trace)
    assert (trace.shared <= trace.prompt).all()


def test_each_lever_changes_the_bill_the_way_it_should(trace: Trace) -> None:
    pricer = Pricer()
    base = replay(trace, (), pricer)
    no_cache = replay(trace, [make_lever("no-cache")], pricer)
    assert no_cache.cost > 5 * base.cost  # 97% of prompt tokens are re-reads
    assert no_cache.tokens["cache_read"] == 0
    cap = replay(trace, [make_lever("cap:500")], pricer)
    assert cap.tokens["output"] == int(np.minimum(trace.output, 500).sum())
    assert cap.cost < base.cost
    batch = replay(trace, [make_lever("batch:all")], pricer)
    assert batch.cost < base.cost
    haiku = replay(trace, [make_lever("model:claude-haiku-4-5")], pricer)
    assert haiku.cost < base.cost / 3  # $1/$5 against Opus's $5/$25
    assert haiku.relative_error > 0  # the Codex calls change tokenizer


def test_compaction_adds_summarising_calls_and_shrinks_prompts(trace: Trace) -> None:
    lever = Compaction(trigger_tokens=100_000, keep_turns=3, summary_tokens=3000)
    s = lever.apply(Scenario(trace))
    added = len(s.trace) - len(trace)
    assert added > 0
    assert int(s.trace.synthetic.sum()) == added
    assert (s.trace.output[s.trace.synthetic] == 3000).all()
    assert int(s.trace.prompt.sum()) < int(trace.prompt.sum())
    main = ~s.trace.compaction
    # After compaction no main-thread prompt exceeds the trigger by more than one call's growth.
    assert int(s.trace.prompt[main].max()) < int(trace.prompt.max())
    assert (s.trace.shared <= s.trace.prompt).all()


def test_third_party_lever_registers_and_composes(trace: Trace) -> None:
    class Halve:
        name = "halve-output"
        slot = "custom"

        def apply(self, s: Scenario) -> Scenario:
            return s.evolve(s.trace.with_arrays(output=s.trace.output // 2), "half the output")

    def factory(arg: str, kw: dict[str, str]) -> Lever:
        return Halve()

    register("halve", factory)
    out = replay(trace, [make_lever("halve"), make_lever("no-cache")], Pricer())
    assert out.tokens["output"] == int((trace.output // 2).sum())
    assert "half the output" in out.assumptions


def test_a_trace_from_block_digests_finds_each_prompts_own_prefix() -> None:
    """Two conversations interleaved in one thread (a gateway without a session header): with
    the prompts' block hashes each call's parent is the request that sent its longest prefix,
    not the call before it; a rewritten history shares only the blocks it kept."""
    from datetime import UTC, datetime, timedelta

    from tokenomy.calls import Call
    from tokenomy.replay.trace import from_calls

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    a1, a2, b1, b2, a3 = ("sys", "a1"), ("sys", "a1", "a2"), ("sys", "b1"), ("sys", "b1", "b2"), (
        "sys", "x", "a2")  # fmt: skip
    prompts = [a1, b1, a2, b2, a3]
    calls = [
        Call("gateway", f"c{k}", t0 + timedelta(seconds=10 * k), "claude-opus-4-6",
             provider="anthropic", input=1000 * len(p), output=10)
        for k, p in enumerate(prompts)
    ]  # fmt: skip
    digests = {c.id: [(h, 1000) for h in p] for c, p in zip(calls, prompts, strict=True)}
    trace = from_calls(calls, digests=digests)
    assert trace.known.all()
    # b1 shares "sys" with a1; a3 rewrote a2 and keeps only "sys", last sent by b2
    assert trace.parent.tolist() == [-1, 0, 0, 1, 3]
    assert trace.shared.tolist() == [0, 1000, 2000, 2000, 1000]
    assert trace.blocks.tolist() == [2, 1, 1, 1, 2]
    # Without digests the numbers alone make each call continue the one before it.
    assert from_calls(calls).parent.tolist() == [-1, 0, 1, 2, 3]
