"""The discrete-event engine simulator against the steady-state model and against itself."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.selfhost import DoesNotFitError, serving_estimate
from tokenomy.selfhost.perf_model import Deployment, load_calibration
from tokenomy.selfhost.simulate import (
    fixed_lengths,
    ledger_lengths,
    scaled_lengths,
    simulate,
    simulate_serving,
)

LLAMA8 = Deployment.of("llama-3.1-8b", "h100", 1, precision="fp8")


def _spread(n: int, seed: int = 1) -> tuple[list[int], list[int]]:
    """A ShareGPT-like spread (log-normal, long-tailed answers) without the package."""
    rng = np.random.default_rng(seed)
    ins = np.clip(rng.lognormal(5.0, 1.0, n), 4, 1024).astype(int)
    outs = np.clip(rng.lognormal(5.0, 0.9, n), 4, 1800).astype(int)
    return ins.tolist(), outs.tolist()


def test_one_request_is_prefill_plus_output_decode_steps() -> None:
    r = simulate(LLAMA8, [1000], [100])
    steps = sum(LLAMA8.decode_step_time(1, 1000 + j) for j in range(100))
    assert r.duration_s == pytest.approx(LLAMA8.prefill_time(1000) + steps, rel=1e-9)
    assert r.e2e_ms[0] == pytest.approx(r.duration_s * 1e3)
    first = LLAMA8.prefill_time(1000) + LLAMA8.decode_step_time(1, 1000)
    assert r.ttft_ms[0] == pytest.approx(first * 1e3, rel=1e-3)
    # TTFT as the steady-state estimate states it at concurrency 1.
    est = serving_estimate("llama-3.1-8b", "h100", precision="fp8", input_len=1000,
                           output_len=100, concurrency=1)  # fmt: skip
    assert r.ttft_ms[0] == pytest.approx(est.ttft_s * 1e3, rel=0.01)
    assert r.max_batch == 1 and r.preemptions == 0 and r.output_tokens == 100


@pytest.mark.parametrize("concurrency", [16, 128])
def test_closed_loop_agrees_with_the_steady_state_model(concurrency: int) -> None:
    """A long run at a client concurrency the engine holds: the simulator's output tokens/s is
    the steady-state model's within 5% (the ramp-up and tail are 1% of a 60-wave run)."""
    n = concurrency * 60
    r = simulate(LLAMA8, *fixed_lengths(n, 1024, 256), concurrency=concurrency)
    est = serving_estimate("llama-3.1-8b", "h100", precision="fp8", input_len=1024,
                           output_len=256, concurrency=concurrency)  # fmt: skip
    assert r.output_tps == pytest.approx(est.output_tps, rel=0.05)
    assert r.mean_batch == pytest.approx(concurrency, rel=0.05)
    assert r.tpot_ms[0] == pytest.approx(est.tpot_s * 1e3, rel=0.10)


def test_poisson_rate_the_engine_sustains_is_served_at_that_rate() -> None:
    est = serving_estimate("llama-3.1-8b", "h100", precision="fp8", input_len=512,
                           output_len=128)  # fmt: skip
    top = est.output_tps / 128  # requests/s at max throughput
    rate = 0.5 * top
    r = simulate(LLAMA8, *fixed_lengths(6000, 512, 128), rate=rate, seed=3)
    assert r.request_throughput == pytest.approx(rate, rel=0.05)
    assert r.preemptions == 0 and r.mean_batch < est.concurrency
    # Half loaded, latency stays near the unloaded one: no queue builds.
    assert r.ttft_ms[1] < 10 * est.ttft_s * 1e3


def test_finite_run_has_a_ramp_and_a_drain_tail() -> None:
    """N requests at once with spread lengths: the run ends in a tail of long answers at tiny
    batches, so the finite run's throughput is well under the steady-state maximum."""
    from dataclasses import replace

    # GPU-bound (no host work): a host-bound engine's steady state is capped at 1/b tok/s and
    # its tail costs less than its full batches, which hides what this test is about.
    gpu_only = replace(LLAMA8.calibration, sequence_overhead_s=0.0, frontend_overhead_s=0.0)
    dep = replace(LLAMA8, calibration=gpu_only)
    ins, outs = _spread(1000)
    r = simulate(dep, ins, outs)
    mean_in, mean_out = round(np.mean(ins)), round(np.mean(outs))
    est = serving_estimate("llama-3.1-8b", "h100", precision="fp8", input_len=mean_in,
                           output_len=mean_out, calibration=gpu_only)  # fmt: skip
    assert r.output_tps < 0.8 * est.output_tps
    assert r.max_batch > 900 and r.mean_batch < 0.6 * r.max_batch  # the tail drags the mean
    # The longest answer sets the duration: it ran its last steps nearly alone.
    alone = max(outs) * dep.decode_step_time(1, 512)
    assert r.duration_s > alone
    # Fixed lengths drain all at once: much closer to the steady state.
    fixed = simulate(dep, *fixed_lengths(1000, mean_in, mean_out))
    assert fixed.output_tps > 1.5 * r.output_tps


def test_seeded_runs_repeat_and_seeds_differ() -> None:
    ins, outs = _spread(400)
    a = simulate(LLAMA8, ins, outs, rate=50.0, seed=7)
    b = simulate(LLAMA8, ins, outs, rate=50.0, seed=7)
    c = simulate(LLAMA8, ins, outs, rate=50.0, seed=8)
    assert a == b
    assert a.duration_s != c.duration_s
    assert ledger_lengths([(100, 10), (5000, 300)], 50, seed=2) == ledger_lengths(
        [(100, 10), (5000, 300)], 50, seed=2
    )


def test_more_than_the_kv_cache_holds_queues_and_runs() -> None:
    """Qwen3-32B BF16 on one H100 keeps about 33K tokens of KV: 100 requests of 4,000 + 200
    tokens cannot run at once. They queue (and the newest are preempted when decoding fills
    the pool), every one completes, and TTFT spreads with the queue."""
    dep = Deployment.of("qwen3-32b", "h100")
    pool = dep.kv_pool_tokens()
    r = simulate(dep, *fixed_lengths(100, 4000, 200))
    assert r.requests == 100 and r.output_tokens == 100 * 200
    assert r.max_batch <= pool // 4000 + 1
    unloaded = (dep.prefill_time(4000) + dep.decode_step_time(1, 4000)) * 1e3
    assert r.ttft_ms[0] > 100 * unloaded and r.ttft_ms[2] > 1.5 * r.ttft_ms[0]
    # A single sequence longer than the pool is truly impossible.
    with pytest.raises(DoesNotFitError, match="KV cache"):
        simulate(dep, [pool], [10])


def test_ten_thousand_tokens_of_budget_chunks_a_long_prompt() -> None:
    """A 32K prompt is prefilled in max_batched_tokens chunks over several steps; its total
    prefill time is exactly prefill_time(32K)."""
    r = simulate(LLAMA8, [32_000], [2])
    assert r.steps >= 32_000 // LLAMA8.calibration.max_batched_tokens + 2
    decode = LLAMA8.decode_step_time(1, 32_000) + LLAMA8.decode_step_time(1, 32_001)
    assert r.duration_s == pytest.approx(LLAMA8.prefill_time(32_000) + decode, rel=1e-9)


def test_a_thousand_requests_simulate_fast() -> None:
    ins, outs = _spread(1000)
    t0 = time.perf_counter()
    simulate(LLAMA8, ins, outs)
    assert time.perf_counter() - t0 < 1.0


def test_scaled_lengths_keep_the_spread_at_the_stated_means() -> None:
    ins, outs = scaled_lengths(_spread(2000), 217, 201)
    assert np.mean(ins) == pytest.approx(217, rel=0.01)
    assert np.mean(outs) == pytest.approx(201, rel=0.01)
    assert max(outs) > 4 * np.median(outs)


def test_finite_benchmark_points_are_predicted_by_the_simulator() -> None:
    from tokenomy.selfhost.validation import load_points, predict

    point = next(p for p in load_points() if p.id == "gpustack-qwen3-32b-h100-vllm-2000-100")
    assert point.host == "split"  # vLLM V1 engine core: its host share is serial with the GPU
    split = replace(load_calibration(), host="split")
    r = simulate_serving(point.model, point.gpu, point.gpus, precision=point.precision,
                         input_lens=[1996] * 500, output_lens=[100] * 500,
                         calibration=split)  # fmt: skip
    assert predict(point) == pytest.approx(r.output_tps_per_gpu)


def _cli(*args: str) -> dict[str, object]:
    res = CliRunner().invoke(app, ["selfhost", *args, "--json"])
    assert res.exit_code == 0, res.output
    payload: dict[str, object] = json.loads(res.stdout)
    return payload


def test_cli_requests_adds_a_simulation_and_keeps_the_rows() -> None:
    from test_json_schema import check

    plain = _cli("--precision", "fp8", "--input-len", "512", "--output-len", "128")
    sim = _cli("--precision", "fp8", "--input-len", "512", "--output-len", "128",
               "--requests", "300", "--rate", "20")  # fmt: skip
    assert "simulation" not in plain
    assert sim["rows"] == plain["rows"]
    s = sim["simulation"]
    assert isinstance(s, dict)
    assert s["requests"] == 300 and s["rate"] == 20.0 and s["lengths"] == "fixed"
    assert s["p50_ttft_ms"] <= s["p90_ttft_ms"] <= s["p99_ttft_ms"]
    # 300 requests over 15 s of arrivals, plus the last one's own latency (20 req/s x 128
    # tokens is within the host-bound engine's 5,000 tok/s).
    assert 0.7 * 20 < s["request_throughput"] < 20
    check("selfhost_simulate", sim)


def test_cli_simulation_text_fits_80_columns() -> None:
    res = CliRunner().invoke(
        app,
        ["selfhost", "--model", "qwen3-32b", "--requests", "200", "--input-len", "4000",
         "--output-len", "200", "--concurrency", "64"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Simulated benchmark run: 200 requests" in res.stdout
    assert "at most 64 in flight" in res.stdout and "TTFT p50/p90/p99" in res.stdout
    assert max(len(line) for line in res.stdout.splitlines()) <= 80


def test_cli_rate_without_requests_is_refused() -> None:
    res = CliRunner().invoke(app, ["selfhost", "--rate", "5"])
    assert res.exit_code == 2 and "--requests" in res.stderr
