"""Provider caching rules at their edges, and the worked example to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tokenomy.pricing import Pricer
from tokenomy.replay import RULES, price, simulate
from tokenomy.replay.trace import Message, Trace, from_messages

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def trace_of(
    model: str,
    calls: list[tuple[float, list[int]]],
    outputs: list[int] | None = None,
    system_breakpoint: bool = False,
) -> Trace:
    """Calls at (seconds, block sizes); a block is the same text wherever it has the same
    index and size, so a later call that repeats earlier blocks shares that prefix."""
    msgs = [
        Message(
            T0 + timedelta(seconds=t),
            model,
            tuple(f"block{j}:{n}" for j, n in enumerate(sizes)),
            (outputs or [0] * len(calls))[k],
        )
        for k, (t, sizes) in enumerate(calls)
    ]
    return from_messages(
        msgs, lambda _m, text: int(text.split(":")[1]), system_breakpoint=system_breakpoint
    )


def cost(trace: Trace, rules: str) -> Decimal:
    return price(trace, simulate(trace, RULES[rules]).split, Pricer()).total


def test_worked_example_to_the_cent() -> None:
    # A 10,000-token system prompt on Claude Opus 4.6 ($5/MTok) sent 10 times in 5 minutes.
    tr = trace_of("claude-opus-4-6", [(30 * k, [10_000]) for k in range(10)])
    none = cost(tr, "none")
    cached = cost(tr, "anthropic-5m")
    assert none == Decimal("0.50")
    assert cached == Decimal("0.0625") + 9 * Decimal("0.005") == Decimal("0.1075")
    assert round(1 - cached / none, 2) == Decimal("0.78")
    split = simulate(tr, RULES["anthropic-5m"]).split
    assert split.cache_write_5m.tolist() == [10_000] + [0] * 9
    assert split.cache_read.tolist() == [0] + [10_000] * 9


def test_one_hour_write_costs_double_and_breaks_even_after_two_reads() -> None:
    def costs(n: int) -> tuple[Decimal, Decimal]:
        tr = trace_of("claude-opus-4-6", [(60 * k, [10_000]) for k in range(n)])
        return cost(tr, "none"), cost(tr, "anthropic-1h")

    assert costs(1) == (Decimal("0.05"), Decimal("0.10"))  # the 1-hour write is 2x input
    none2, hour2 = costs(2)  # one write + one read: still dearer than no cache
    none3, hour3 = costs(3)  # one write + two reads: cheaper
    assert hour2 > none2
    assert hour3 < none3
    assert hour3 == Decimal("0.10") + 2 * Decimal("0.005")


@pytest.mark.parametrize(("gap", "hit"), [(299, True), (300, True), (301, False)])
def test_five_minute_ttl_expires_by_one_second(gap: float, hit: bool) -> None:
    tr = trace_of("claude-opus-4-6", [(0, [10_000]), (gap, [10_000])])
    split = simulate(tr, RULES["anthropic-5m"]).split
    assert split.cache_read.tolist()[1] == (10_000 if hit else 0)
    assert split.cache_write_5m.tolist()[1] == (0 if hit else 10_000)


def test_a_hit_refreshes_the_ttl() -> None:
    # 0, 290, 580: each gap is under 5 minutes although 580 s passed since the write.
    tr = trace_of("claude-opus-4-6", [(0, [10_000]), (290, [10_000]), (580, [10_000])])
    split = simulate(tr, RULES["anthropic-5m"]).split
    assert split.cache_read.tolist() == [0, 10_000, 10_000]


@pytest.mark.parametrize(
    ("model", "minimum"),
    [("claude-opus-4-6", 4096), ("claude-sonnet-4-5", 1024), ("claude-haiku-4-5", 4096),
     ("claude-opus-4-7", 2048)],
)  # fmt: skip
def test_minimum_cacheable_length(model: str, minimum: int) -> None:
    below = trace_of(model, [(0, [minimum - 1])])
    at = trace_of(model, [(0, [minimum])])
    s_below = simulate(below, RULES["anthropic-5m"]).split
    s_at = simulate(at, RULES["anthropic-5m"]).split
    assert (int(s_below.cache_write_5m[0]), int(s_below.input[0])) == (0, minimum - 1)
    assert (int(s_at.cache_write_5m[0]), int(s_at.input[0])) == (minimum, 0)


@pytest.mark.parametrize(("added", "hit"), [(18, True), (19, True), (20, False)])
def test_twenty_block_lookback(added: int, hit: bool) -> None:
    # Call 1 writes at the end of its 2 blocks; call 2 appends ``added`` blocks. The lookback
    # counts the breakpoint itself as the first of 20 blocks, so 19 new blocks still find it.
    first = [600, 600]
    tr = trace_of("claude-sonnet-4-5", [(0, first), (10, first + [10] * added)])
    split = simulate(tr, RULES["anthropic-5m"]).split
    assert int(split.cache_read[1]) == (1200 if hit else 0)


def test_system_breakpoint_still_hits_beyond_the_lookback() -> None:
    first = [1500, 600]
    tr = trace_of("claude-sonnet-4-5", [(0, first), (10, first + [10] * 30)],
                  system_breakpoint=True)  # fmt: skip
    split = simulate(tr, RULES["anthropic-5m"]).split
    assert int(split.cache_read[1]) == 1500  # found by its own breakpoint, not the lookback


@pytest.mark.parametrize(
    ("shared", "read"), [(1023, 0), (1024, 1024), (1151, 1024), (1152, 1152), (1300, 1280)]
)
def test_openai_caches_from_1024_in_128_token_steps(shared: int, read: int) -> None:
    tr = trace_of("gpt-4.1", [(0, [shared]), (5, [shared, 500])])
    split = simulate(tr, RULES["openai"]).split
    assert int(split.cache_read[1]) == read
    assert int(split.input[1]) == shared + 500 - read
    assert int(split.cache_write_5m.sum()) == 0  # writes are free before GPT-5.6


def test_openai_in_memory_retention_idles_out() -> None:
    tr = trace_of("gpt-4.1", [(0, [2048]), (301, [2048, 10])])
    assert int(simulate(tr, RULES["openai"]).split.cache_read[1]) == 0
    assert int(simulate(tr, RULES["openai-24h"]).split.cache_read[1]) == 2048


def test_openai_56_bills_writes() -> None:
    tr = trace_of("gpt-5.6", [(0, [2000]), (60, [2000, 100])])
    split = simulate(tr, RULES["openai-5.6"]).split
    assert split.cache_write_5m.tolist() == [2000, 100]
    assert split.cache_read.tolist() == [0, 2000]


def test_openai_caches_the_answer_too() -> None:
    # The next prompt repeats the previous answer; it is cached (seen in real Codex logs).
    tr = trace_of("gpt-4.1", [(0, [2000]), (5, [2000, 300, 50])], outputs=[300, 10])
    assert int(simulate(tr, RULES["openai"]).split.cache_read[1]) == 17 * 128  # 2,300 rounded down


def test_gemini_implicit_minimum_and_explicit_storage() -> None:
    below = trace_of("gemini-2.5-flash", [(0, [2047]), (5, [2047, 10])])
    at = trace_of("gemini-2.5-flash", [(0, [2048]), (5, [2048, 10])])
    assert int(simulate(below, RULES["gemini-implicit"]).split.cache_read[1]) == 0
    assert int(simulate(at, RULES["gemini-implicit"]).split.cache_read[1]) == 2048
    # Explicit: the system prompt (first block) cached for 1 h after its last use.
    tr = trace_of("gemini-2.5-pro", [(0, [100_000, 10]), (1800, [100_000, 10, 20])],
                  system_breakpoint=True)  # fmt: skip
    replay = simulate(tr, RULES["gemini-explicit"])
    assert int(replay.split.cache_read[1]) == 100_000
    # 100k tokens x $4.50/M/h x 1.5 h (from creation to one hour after the last use).
    assert replay.storage_total == Decimal("0.675")


def test_deepseek_hits_only_whole_units() -> None:
    # A then A+B: A's end is a persisted unit, so A+B hits A; A+C after A+B hits A too.
    tr = trace_of("deepseek-chat", [(0, [500]), (5, [500, 300]), (9, [500, 200])])
    split = simulate(tr, RULES["deepseek"]).split
    assert split.cache_read.tolist() == [0, 500, 500]


def test_no_caching_counterfactual_bills_every_token_fresh() -> None:
    tr = trace_of("claude-opus-4-6", [(0, [5000]), (10, [5000, 100])])
    split = simulate(tr, RULES["none"]).split
    assert split.input.tolist() == [5000, 5100]
    assert int(split.cache_read.sum()) == 0
