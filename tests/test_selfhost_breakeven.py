"""Break-even against API prices (genai-prices) from a hand profile and from Call records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tokenomy.calls import Call
from tokenomy.selfhost.breakeven import HOURS_PER_MONTH, Workload, break_even


def _calls() -> list[Call]:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    out = []
    for day in range(2):
        for hour in (9, 10, 11):
            out.append(
                Call(
                    "t",
                    f"{day}-{hour}",
                    start + timedelta(days=day, hours=hour),
                    "gpt-4.1",
                    input=1000,
                    cache_read=3000,
                    output=500,
                )
            )
    return out


def test_workload_from_calls() -> None:
    w = Workload.from_calls(_calls())
    assert w.input_tokens_per_day == pytest.approx(3 * 4000, rel=0.01)
    assert w.output_tokens_per_day == pytest.approx(3 * 500, rel=0.01)
    assert w.cached_share == pytest.approx(0.75)
    assert (w.input_len, w.output_len) == (4000, 500)
    assert w.hourly[9] == pytest.approx(1 / 3) and w.hourly[0] == 0
    assert w.peak_factor == pytest.approx(8)
    assert w.models == (("gpt-4.1", 1.0),)


def test_by_hand_profile_peak() -> None:
    w = Workload.by_hand(1e9, 0.25, peak_factor=1.5)
    assert w.output_tokens_per_day == 2.5e8
    assert w.peak_factor == pytest.approx(1.5)


def test_break_even_fleet_and_api_costs() -> None:
    w = Workload.by_hand(500e6, 0.2, 2000, 400, cached_share=0.0)
    result = break_even(
        w,
        "llama-3.3-70b",
        "h100",
        2,
        precision="fp8",
        api_models=["gpt-4.1", "no-such-model-xyz"],
        price_per_hour=2.0,
    )
    est = result.estimate
    assert result.replicas == -(-w.output_tokens_per_day / 86400 // est.output_tps)
    assert float(result.monthly_self_host) == pytest.approx(
        result.replicas * 2 * 2.0 * HOURS_PER_MONTH, abs=0.01
    )
    gpt, unknown = result.apis
    # gpt-4.1 at $2/M input and $8/M output (genai-prices): 400M in + 100M out a day.
    assert float(gpt.monthly or 0) == pytest.approx(
        (400 * 2 + 100 * 8) * HOURS_PER_MONTH / 24, rel=0.01
    )
    assert gpt.self_host_cheaper
    # The cross-over: one replica's month over the API's price per token, per day.
    per_token = float(gpt.per_million_tokens or 0) / 1e6
    assert gpt.crossover_tokens_per_day == pytest.approx(
        2 * 2.0 * HOURS_PER_MONTH / (HOURS_PER_MONTH / 24) / per_token, rel=1e-3
    )
    assert unknown.monthly is None and unknown.crossover_tokens_per_day is None


def test_curve_steps_by_replica_and_crosses_where_the_table_says() -> None:
    w = Workload.by_hand(500e6, 0.2, 2000, 400)
    result = break_even(
        w, "llama-3.3-70b", "h100", 2, precision="fp8", api_models=["gpt-4.1"], price_per_hour=2.0
    )
    curve = result.curve(points=401)
    replica = float(result.replica_monthly)
    assert replica == pytest.approx(2 * 2.0 * HOURS_PER_MONTH, abs=0.01)
    for row in curve:
        volume = float(row["tokens_per_day"])  # type: ignore[arg-type]
        replicas = max(1, -(-volume // result.replica_tokens_per_day))
        assert row["self_host_monthly"] == pytest.approx(replicas * replica, rel=1e-6)
    # The API line is straight, and meets one replica's month at the table's cross-over.
    crossover = result.apis[0].crossover_tokens_per_day
    assert crossover is not None and crossover < curve[-1]["tokens_per_day"]  # type: ignore
    below = [r for r in curve if r["tokens_per_day"] < crossover]  # type: ignore[operator]
    above = [r for r in curve if r["tokens_per_day"] > crossover]  # type: ignore[operator]
    assert below[-1]["gpt-4.1"] < replica < above[0]["gpt-4.1"]  # type: ignore[operator]


def test_prefix_cache_makes_cached_prompts_cheaper_to_serve() -> None:
    cached = Workload.by_hand(500e6, 0.05, 20000, 400, cached_share=0.9)
    on = break_even(cached, "llama-3.3-70b", "h100", 2, precision="fp8", api_models=["gpt-4.1"])
    off = break_even(
        cached,
        "llama-3.3-70b",
        "h100",
        2,
        precision="fp8",
        api_models=["gpt-4.1"],
        prefix_cache=False,
    )
    assert on.estimate.prefix_hit == pytest.approx(0.9) and off.estimate.prefix_hit == 0
    assert on.estimate.output_tps > off.estimate.output_tps
    assert on.replica_tokens_per_day > off.replica_tokens_per_day
