"""Pricing: our linear rates must give exactly what genai-prices' own calc_price gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy.pricing import Overrides, Pricer
from tokenomy.sources import read_paths

WHEN = datetime(2026, 2, 10, tzinfo=UTC)


def genai_cost(model: str, provider: str, i: int, cr: int, w5: int, w1: int, out: int) -> Decimal:
    usage = Usage(
        input_tokens=i + cr + w5 + w1,  # genai-prices counts cached tokens inside input
        cache_read_tokens=cr,
        cache_write_tokens=w5 + w1,
        cache_write_1h_tokens=w1,
        output_tokens=out,
    )
    return calc_price(
        usage, model_ref=model, provider_id=provider, genai_request_timestamp=WHEN
    ).total_price


def test_rates_equal_genai_prices_on_every_real_call(logs: Path) -> None:
    calls, _ = read_paths([logs])
    pricer = Pricer()
    assert len(calls) == 697  # Claude Code + Codex + 3 API payloads
    for c in calls:
        ours = pricer.cost(
            c.model, c.time, provider=c.provider, input=c.input, cache_read=c.cache_read,
            cache_write_5m=c.cache_write_5m, cache_write_1h=c.cache_write_1h, output=c.output,
        )  # fmt: skip
        usage = Usage(
            input_tokens=c.prompt,
            cache_read_tokens=c.cache_read,
            cache_write_tokens=c.cache_write,
            cache_write_1h_tokens=c.cache_write_1h,
            output_tokens=c.output,
        )
        theirs = calc_price(
            usage, model_ref=c.model, provider_id=c.provider, genai_request_timestamp=c.time
        ).total_price
        assert ours == theirs, c.id


def test_long_context_tier_applies_to_the_whole_request() -> None:
    # Sonnet 4.5 above 200K prompt tokens: every token at $6 in / $22.5 out, not only the excess.
    pricer = Pricer()
    below = pricer.cost("claude-sonnet-4-5", WHEN, input=200_000, output=1_000)
    above = pricer.cost("claude-sonnet-4-5", WHEN, input=200_001, output=1_000)
    assert below == Decimal("0.615")  # 200000 x 3 + 1000 x 15
    assert above == Decimal("1.2225060")  # 200001 x 6 + 1000 x 22.5


def test_batch_tier_is_priced_from_genai_prices_variants() -> None:
    # genai-prices models Anthropic's batch prices from 2026-10-14 on (its own note says
    # earlier batch history is not modelled), so price a November call.
    pricer = Pricer()
    when = datetime(2026, 11, 10, tzinfo=UTC)
    standard = pricer.cost("claude-sonnet-4-5", when, input=100_000, output=100_000)
    batch = pricer.cost(
        "claude-sonnet-4-5", when, service_tier="batch", input=100_000, output=100_000
    )
    assert standard == Decimal("1.8")  # 100000 x 3 + 100000 x 15
    assert batch == Decimal("0.9")  # Anthropic's Message Batches: half price


def test_unknown_and_synthetic_models_are_unpriced_not_free() -> None:
    pricer = Pricer()
    assert pricer.cost("acme-llm-9000", WHEN, input=10) is None
    assert pricer.cost("<synthetic>", WHEN, input=10) is None


def test_overrides_price_a_private_model_and_alias(tmp_path: Path) -> None:
    toml = tmp_path / "prices.toml"
    toml.write_text(
        '[models."acme-llm-9000"]\ninput = 0.2\noutput = 0.8\ncache_read = 0.02\n\n'
        '[aliases]\n"corp/sonnet" = "claude-sonnet-4-5"\n'
    )
    pricer = Pricer(Overrides.load(toml))
    assert pricer.cost("acme-llm-9000", WHEN, input=1_000_000, cache_read=1_000_000) == Decimal(
        "0.22"
    )
    assert pricer.cost("corp/sonnet", WHEN, input=100_000) == Decimal("0.3")


def test_bad_overrides_file_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."x"]\ninput = 1\n')
    with pytest.raises(ValueError, match="needs at least `input` and `output`"):
        Overrides.load(bad)


MODELS = [
    ("claude-opus-4-6", "anthropic"),
    ("claude-sonnet-4-5", "anthropic"),
    ("claude-haiku-4-5", "anthropic"),
    ("gpt-5.3-codex", "openai"),
    ("gemini-2.5-pro", "google"),
]
counts = st.integers(min_value=0, max_value=400_000)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(MODELS),
    st.tuples(counts, counts, counts, counts, counts),
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=1, max_value=300_000),
)
def test_cost_never_decreases_when_tokens_increase(
    model: tuple[str, str], tokens: tuple[int, int, int, int, int], kind: int, more: int
) -> None:
    pricer = Pricer()
    rates = pricer.rates(model[0], model[1], WHEN)
    assert rates is not None
    bigger = list(tokens)
    bigger[kind] += more
    assert rates.cost(*bigger) >= rates.cost(*tokens)
    assert rates.cost(*tokens) == genai_cost(model[0], model[1], *tokens)


def test_off_peak_prices_are_applied_by_the_minute(home: Path) -> None:
    # DeepSeek Chat in genai-prices: $0.27/MTok input from 00:30 to 16:30 UTC, $0.135 otherwise.
    from tokenomy.calls import Call
    from tokenomy.ledger import Ledger

    pricer = Pricer()
    assert pricer.varies_within_a_day("deepseek-chat")
    assert not pricer.varies_within_a_day("claude-opus-4-6")
    peak = datetime(2026, 3, 1, 16, 29, tzinfo=UTC)
    off_peak = datetime(2026, 3, 1, 16, 31, tzinfo=UTC)
    calls = [
        Call("openai", f"c{i}", t, "deepseek-chat", provider="deepseek", input=1_000_000)
        for i, t in enumerate([peak, off_peak])
    ]
    with Ledger(home) as ledger:
        assert ledger.add_calls(calls) == 2
        costs = dict(ledger.sql("SELECT id, cost FROM calls"))
    assert costs == {"c0": Decimal("0.27"), "c1": Decimal("0.135")}


MEMO_RUN = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from tokenomy.pricing import Pricer
p = Pricer(memo=Path(sys.argv[1]))
when = datetime(2026, 2, 11, 12, tzinfo=UTC)
r = p.rates("claude-opus-4-6", "", when)
print(r.cost(1000, 2000, 300, 400, 50), p.varies_within_a_day("claude-opus-4-6"),
      p.rates("no-such-model-xyz", "", when), "genai_prices" in sys.modules)
p.save()
"""


def test_day_rates_are_remembered_between_runs_without_loading_price_data(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    memo = tmp_path / "rates.json"

    def run() -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", MEMO_RUN, str(memo)], capture_output=True, text=True, check=True
        )
        return out.stdout.split()

    first, second = run(), run()
    assert first[:3] == second[:3]  # the same cost, flag and "unpriced" (None)
    assert first[2] == "None"
    assert first[3] == "True" and second[3] == "False"  # the second run never loaded them
    memo.write_text("{not json")  # damaged: resolved again, never a failure
    assert run()[:3] == first[:3]
    data = json.loads(memo.read_text())
    data["fingerprint"] = "other prices"  # prices changed: the memo is not trusted
    memo.write_text(json.dumps(data))
    assert run()[3] == "True"
