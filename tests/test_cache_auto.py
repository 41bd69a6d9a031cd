"""``cache:auto`` and its policy ``anthropic_plan``; an unknown target model left unpriced; every
saving as a range carrying the replay's measured error (issue 12, items 3-5)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.levers import Scenario, make_lever, replay
from tokenomy.levers.cache_auto import CacheAuto, anthropic_plan
from tokenomy.replay import from_calls
from tokenomy.sources import read_paths
from tokenomy.whatif import default_levers, whatif

EXAMPLE = Path(__file__).parent / "data" / "cacheauto" / "opus_never_cached.jsonl"


def test_plan_automatic_caching_marks_the_last_block() -> None:
    plan = anthropic_plan([3000, 2000, 400, 300], "claude-sonnet-4-5")
    assert plan.mode == "automatic"  # one top-level cache_control: the last cacheable block
    assert plan.breakpoints == (3,)
    assert plan.positions == (5700,)
    assert plan.add == ()


def test_plan_stable_prefix_and_bridge_past_the_lookback() -> None:
    # Tools + system (2 blocks), then history: the previous request had 8 blocks, this one 32.
    plan = anthropic_plan([3000, 2000] + [100] * 30, "claude-sonnet-4-5", stable_blocks=2,
                          previous_blocks=8)  # fmt: skip
    assert plan.breakpoints == (1, 7, 31)
    assert plan.positions == (5000, 5600, 8000)
    assert plan.add == (1, 7)  # explicit markers; the last one is the top-level field's
    # Within the lookback, no bridge is needed.
    near = anthropic_plan([3000, 2000] + [100] * 30, "claude-sonnet-4-5", previous_blocks=20)
    assert near.breakpoints == (31,)


def test_plan_respects_client_markers_slots_bedrock_and_the_minimum() -> None:
    # Opus 4.6 caches nothing under 4,096 tokens.
    assert anthropic_plan([4095], "claude-opus-4-6").mode == "none"
    assert anthropic_plan([4096], "claude-opus-4-6").breakpoints == (0,)
    # A stable prefix below the minimum gets no breakpoint of its own.
    short = anthropic_plan([1000, 5000], "claude-opus-4-6", stable_blocks=1)
    assert short.breakpoints == (1,)
    # The client's own markers are kept; with three, no slot is left for a bridge.
    kept = anthropic_plan([2000] * 30, "claude-sonnet-4-5", client_marks=[0, 1, 2],
                          previous_blocks=5)  # fmt: skip
    assert kept.breakpoints == (0, 1, 2, 29)
    assert any("no slot left" in n for n in kept.notes)
    # Four client markers: the latest three kept, so the last block has a slot.
    four = anthropic_plan([2000] * 10, "claude-sonnet-4-5", client_marks=[0, 1, 2, 3])
    assert four.breakpoints == (1, 2, 3, 9)
    # Bedrock has no automatic caching: the last block is marked explicitly.
    bedrock = anthropic_plan([3000, 2000], "claude-sonnet-4-5", route="bedrock")
    assert bedrock.mode == "explicit"
    assert bedrock.add == (1,)
    # The client already marks the last block: nothing to add.
    done = anthropic_plan([3000, 2000], "claude-sonnet-4-5", client_marks=[1])
    assert (done.mode, done.add, done.breakpoints) == ("explicit", (), (1,))


def test_worked_example_through_the_lever() -> None:
    calls = read_paths([EXAMPLE])[0]
    assert len(calls) == 10
    trace = from_calls(calls)
    base = replay(trace)
    auto = replay(trace, [make_lever("cache:auto")])
    assert base.cost == Decimal("0.50")
    assert auto.cost == Decimal("0.0625") + 9 * Decimal("0.005") == Decimal("0.1075")
    assert auto.split is not None
    assert auto.split.cache_write_5m.tolist() == [10_000] + [0] * 9
    assert auto.split.cache_read.tolist() == [0] + [10_000] * 9
    assert any("grows as a prefix" in a for a in auto.assumptions)
    # A 1-hour TTL: $0.10 + 9 x $0.005.
    assert replay(trace, [make_lever("cache:auto,ttl=1h")]).cost == Decimal("0.145")
    # The old caching levers keep the client's breakpoints (none): they save nothing.
    assert replay(trace, [make_lever("cache:anthropic-5m")]).cost == Decimal("0.50")


def test_worked_example_cli_json(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["whatif", "--json", str(EXAMPLE), "--home", str(tmp_path)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["reported_cost_usd"] == 0.5
    assert data["baseline_cost_usd"] == 0.5
    auto = {s["scenario"]: s for s in data["scenarios"]}["cache:auto"]
    assert auto["cost_usd"] == 0.1075
    assert auto["saved_usd"] == 0.3925
    assert (auto["saved_low_usd"], auto["saved_high_usd"]) == (0.3925, 0.3925)  # exact replay
    assert data["replay_error"]["per_call"] == 0.0
    assert any("grows as a prefix" in a for a in auto["assumptions"])


def test_cache_auto_is_a_default_lever_for_anthropic_only() -> None:
    trace = from_calls(read_paths([EXAMPLE])[0])
    assert "cache:auto" in default_levers(trace)
    openai = replace(trace, keys=[("gpt-5", "openai", "")])
    assert "cache:auto" not in default_levers(openai)


def test_cache_auto_leaves_automatic_caches_and_short_prompts_alone() -> None:
    calls = read_paths([EXAMPLE])[0]
    # OpenAI caches on its own: the lever changes nothing there.
    for c in calls:
        c.model, c.provider = "gpt-4.1", "openai"
    trace = from_calls(calls)
    assert replay(trace, [CacheAuto()]).cost == replay(trace).cost
    # Below Opus 4.6's 4,096-token minimum nothing is cached.
    short = read_paths([EXAMPLE])[0]
    for c in short:
        c.input = 4000
    trace = from_calls(short)
    assert replay(trace, [CacheAuto()]).cost == replay(trace).cost


def test_cache_auto_on_a_client_that_already_caches_changes_little(
    licensed_logs: Path,
) -> None:
    calls = read_paths([licensed_logs])[0]
    trace = from_calls(calls)
    base = replay(trace).cost
    auto = replay(trace, [CacheAuto()]).cost
    assert abs(auto - base) <= Decimal("0.02") * base


def test_unknown_target_model_is_unpriced_and_ranked_last(tmp_path: Path) -> None:
    result = whatif(read_paths([EXAMPLE])[0], ["model:gpt-99", "cap:10", "cache:auto"])
    rows = result.rows()
    assert [r["scenario"] for r in rows if not r["scenario"].startswith("best")][-1] == (
        "model:gpt-99"
    )
    row = next(r for r in rows if r["scenario"] == "model:gpt-99")
    assert row["saved_usd"] is None and row["saved_share"] is None and row["cost_usd"] is None
    assert row["unpriced"] == "gpt-99"
    assert "unpriced" in row["assumptions"][0]
    assert result.best is None or "model:gpt-99" not in result.best.levers
    res = CliRunner().invoke(app, ["whatif", "--json", str(EXAMPLE), "--home", str(tmp_path),
                                   "--lever", "model:gpt-99"])  # fmt: skip
    assert res.exit_code == 0, res.output
    (only,) = json.loads(res.stdout)["scenarios"]
    assert only["saved_usd"] is None and only["unpriced"] == "gpt-99"
    table = CliRunner().invoke(app, ["whatif", str(EXAMPLE), "--home", str(tmp_path),
                                     "--lever", "model:gpt-99", "--lever", "cap:10"])  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "unpriced: gpt-99" in table.output
    assert "saved range" in table.stdout and "$0.00 to $0.00" in table.stdout  # cap:10
    assert "savings as ranges" in table.output
    assert "100" not in table.stdout.split("model:gpt-99")[1].splitlines()[0]


def test_savings_carry_the_replays_measured_error(licensed_logs: Path) -> None:
    calls = read_paths([licensed_logs])[0]
    result = whatif(calls, ["no-cache", "cap:1000", "model:claude-haiku-4-5"], combine=False)
    assert result.replay_error is not None and result.bill_error is not None
    reported, replayed = float(result.reported), float(result.baseline.cost)
    assert result.bill_error == pytest.approx((replayed - reported) / reported)
    assert result.replay_error >= abs(result.bill_error) - 1e-12  # per call: no cancelling
    for r in result.rows():
        saved = r["saved_usd"]
        margin = abs(saved) * Decimal(str(result.replay_error))
        assert r["saved_low_usd"] <= saved <= r["saved_high_usd"]
        assert r["saved_high_usd"] - saved >= margin.quantize(Decimal("0.00000001"))
    # A synthetic workload has no bill to measure against: no range beyond the saving.
    trace = from_calls(calls)
    plain = whatif(trace, ["cap:1000"], combine=False, measure_error=False)
    (row,) = plain.rows()
    assert plain.replay_error is None
    assert row["saved_low_usd"] == row["saved_usd"] == row["saved_high_usd"]


def test_saving_range_with_a_skewed_replay() -> None:
    """A log whose bill the replay misses by 10% on every call: savings +-10%."""
    calls = read_paths([EXAMPLE])[0]
    trace = from_calls(calls)
    skewed = trace.with_arrays(input=np.rint(trace.input * 0.9).astype(np.int64))  # bill $0.45
    result = whatif(skewed, ["cache:auto"], combine=False)
    assert result.bill_error == pytest.approx(0.5 / 0.45 - 1)
    (row,) = result.rows()
    saved = Decimal("0.3925")
    assert row["saved_usd"] == saved
    error = Decimal(str(result.replay_error))
    assert row["saved_low_usd"] == saved - (saved * error).quantize(Decimal("0.00000001"))
    assert row["saved_high_usd"] == saved + (saved * error).quantize(Decimal("0.00000001"))


def test_html_report_shows_the_range_and_unpriced(tmp_path: Path) -> None:
    from tokenomy.render.html_report import _whatif

    result = whatif(read_paths([EXAMPLE])[0], ["cache:auto", "model:gpt-99"], combine=False)
    html = _whatif(result)
    assert "saved, low ($)" in html and "saved, high ($)" in html
    assert "Unpriced" in html and "model:gpt-99" in html
    assert "Savings as ranges" in html


def test_compiled_relink_equals_the_reference(
    licensed_logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("numba")
    import tokenomy.replay.cache as caching

    trace = from_calls(read_paths([licensed_logs, EXAMPLE])[0])
    ref = CacheAuto().apply(Scenario(trace)).trace
    monkeypatch.setattr(caching, "compiled", lambda _n: True)
    fast = CacheAuto().apply(Scenario(trace)).trace
    for name in ("lineage", "lineage_base", "lineage_base_len", "tail", "shared", "blocks"):
        assert np.array_equal(getattr(fast, name), getattr(ref, name)), name
