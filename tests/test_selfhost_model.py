"""The self-hosting data files, the serving-cost model and its validation against
published measurements."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import tokenomy.selfhost as sh
from tokenomy.selfhost.datafile import DataFileError, read_table
from tokenomy.selfhost.speculative import expected_tokens_per_step


def no_host_work(cal: sh.Calibration | None = None, **fields: Any) -> sh.Calibration:
    """``cal`` (the shipped calibration) without the engine's host work: the GPU step alone."""
    base = cal or sh.load_calibration()
    return replace(base, sequence_overhead_s=0.0, frontend_overhead_s=0.0, **fields)


def test_public_api_names_exist() -> None:
    for name in sh.__all__:
        assert hasattr(sh, name), name


def test_data_files_load_with_provenance() -> None:
    gpus, models = sh.load_gpus(), sh.load_models()
    assert {"h100", "h200", "b200", "a100", "l40s", "mi300x"} <= set(gpus)
    assert {"gb200", "rtx-pro-6000", "mi325x", "mi355x"} <= set(gpus)
    assert {
        "llama-3.1-8b",
        "llama-3.1-70b",
        "qwen3-8b",
        "qwen3-30b-a3b",
        "deepseek-v3",
        "deepseek-r1",
        "gpt-oss-20b",
        "gpt-oss-120b",
        "mixtral-8x7b",
        "llama-4-scout",
        "llama-4-maverick",
    } <= set(models)
    for item in [*gpus.values(), *models.values()]:
        assert item.source and item.date.year >= 2021
    for point in sh.load_points():
        assert point.source.startswith("https://") and point.date.year >= 2024


def test_parameter_counts_from_shapes() -> None:
    v3 = sh.get_model("deepseek-v3")
    assert v3.total_params / 1e9 == pytest.approx(671, rel=0.01)
    assert v3.active_params / 1e9 == pytest.approx(37, rel=0.03)
    # 8,030,261,248 in the checkpoint; the 266,240 norm weights are not modelled.
    assert sh.get_model("llama-3.1-8b").total_params == 8_029_995_008


def test_kv_cache_per_token_mha_gqa_mla() -> None:
    # DeepSeek-V2 Table 1: GQA 2·n_kv·d_h·l; MLA (d_c + d_h^R)·l elements per token.
    assert sh.get_model("llama-3.1-8b").kv_bytes_per_token(2) == 131_072  # 128 KiB
    assert sh.get_model("llama-3.1-70b").kv_bytes_per_token(2) == 327_680
    assert sh.get_model("deepseek-v3").kv_bytes_per_token(2) == 70_272
    # MLA vs the same model with MHA (128 heads x 128 dims): the ~93% smaller cache.
    v2 = sh.get_model("deepseek-v2")
    mha = 2 * v2.heads * 128 * v2.layers * 2
    assert 1 - v2.kv_bytes_per_token(2) / mha > 0.93


def test_moe_reads_few_experts_at_batch_one_and_all_at_large_batch() -> None:
    m = sh.get_model("mixtral-8x7b")
    assert m.expected_experts_touched(1) == pytest.approx(2)
    assert m.expected_experts_touched(256) == pytest.approx(8, rel=1e-6)


def test_bad_row_is_refused_naming_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "gpus.toml"
    bad.write_text('[[gpu]]\nname = "x1"\nlabel = "X"\nmemory_gb = 80\n')
    rows = read_table(bad, "gpu")
    with pytest.raises(DataFileError, match=r"\[\[gpu\]\] x1: 'source'"):
        rows[0].provenance()


def test_unknown_names_are_clear() -> None:
    with pytest.raises(DataFileError, match="unknown GPU 'h900'; known: a100"):
        sh.get_gpu("h900")
    with pytest.raises(DataFileError, match="unknown model"):
        sh.get_model("llama-9")


def test_impossible_setups_raise_clear_errors() -> None:
    with pytest.raises(sh.DoesNotFitError, match=r"needs 671 GB of weights.*at least \d+ GPUs"):
        sh.serving_estimate("deepseek-v3", "h100", 4, precision="fp8")
    with pytest.raises(sh.DoesNotFitError, match="token sequence needs"):
        sh.serving_estimate("llama-3.1-70b", "h100", 2, precision="fp8", input_len=2_000_000)


def test_more_bandwidth_more_throughput_and_cost_formula() -> None:
    # GPU physics: without the engine's host work, more bandwidth is more throughput.
    gpu_only = no_host_work()
    fast, slow = (
        sh.serving_estimate(
            "llama-3.1-8b", gpu, precision="fp8", concurrency=64, calibration=gpu_only
        ).output_tps
        for gpu in ("h200", "h100")
    )
    assert fast > slow
    h100 = sh.serving_estimate(
        "llama-3.1-8b", "h100", precision="fp8", concurrency=64, price_per_hour=2.0
    )
    h200 = sh.serving_estimate(
        "llama-3.1-8b", "h200", precision="fp8", concurrency=64, price_per_hour=2.0
    )
    # The shipped vLLM row runs 200 µs of host work per token beside the GPU step (and 150 in
    # turn with it): at batch 64 of a small model the host work sets the pace, and bandwidth
    # shows little.
    assert h200.output_tps >= h100.output_tps
    # $/M over all tokens = price * 1e6 / (3600 * tokens/s).
    assert h100.usd_per_m_tokens == pytest.approx(
        2.0 * 1e6 / (3600 * (h100.output_tps + h100.input_tps))
    )
    half = sh.serving_estimate(
        "llama-3.1-8b", "h100", precision="fp8", concurrency=64, price_per_hour=2.0, utilisation=0.5
    )
    assert half.usd_per_m_output == pytest.approx(2 * h100.usd_per_m_output)


def test_leviathan_expected_tokens() -> None:
    assert expected_tokens_per_step(0.75, 7) == pytest.approx(3.60, abs=0.005)
    assert expected_tokens_per_step(1.0, 3) == 4


def test_speculation_gain_shrinks_as_concurrency_grows() -> None:
    # The GPU side of speculation (verification turns memory-bound steps compute-bound); the
    # host side is the next test.
    gpu_only = no_host_work()
    spec = sh.Speculation(0.8, 3, 0.05)
    gains = [
        sh.serving_estimate(
            "llama-3.1-70b",
            "h100",
            2,
            precision="fp8",
            input_len=1024,
            output_len=1024,
            concurrency=c,
            speculation=spec,
            calibration=gpu_only,
        ).speculative_speedup
        for c in (1, 16, 64, 256)
    ]
    assert gains[0] > 2.0  # memory-bound: near τ/(1+γc) = 2.95/1.15
    assert gains == sorted(gains, reverse=True)
    assert gains[-1] < 1.1
    adaptive = sh.serving_estimate(
        "llama-3.1-70b",
        "h100",
        2,
        precision="fp8",
        concurrency=256,
        speculation=sh.Speculation(0.8, 3, 0.05, adaptive=True),
        calibration=gpu_only,
    ).speculative_speedup
    assert adaptive >= 1.0  # load-aware verification never loses to no speculation


def test_min_tps_per_user_picks_the_largest_concurrency_meeting_it() -> None:
    est = sh.serving_estimate("llama-3.1-70b", "h100", 2, precision="fp8", min_tps_per_user=30)
    assert est.output_tps_per_user >= 30
    more = sh.serving_estimate(
        "llama-3.1-70b", "h100", 2, precision="fp8", concurrency=est.concurrency + 1
    )
    assert more.output_tps_per_user < 30


def test_validation_median_error_within_target() -> None:
    results = sh.validate()
    assert len(results) >= 20
    assert sh.median_abs_error(results, speculative=False) <= 0.25
    by_id = {r.point.id: r for r in results}
    # The published pattern: speculation gains more at low load than at high load.
    assert (
        by_id["sglang-mtp-dsv3-16xh200-low-load"].point.measured
        > by_id["sglang-mtp-dsv3-128xh200-high-load"].point.measured
    )


def test_llama4_shapes_and_nvl72_domain() -> None:
    scout, maverick = sh.get_model("llama-4-scout"), sh.get_model("llama-4-maverick")
    # Text weights only: the published 109B / 400B include the vision encoder.
    assert scout.total_params / 1e9 == pytest.approx(108, rel=0.01)
    assert maverick.total_params / 1e9 == pytest.approx(401, rel=0.01)
    assert (maverick.moe_layers, maverick.dense_layers) == (24, 24)
    # Chunked-attention layers hold at most 8,192 tokens: a 128K context caches far less than
    # 48 full layers would.
    assert scout.kv_elements(131_072) < 0.3 * 48 * 2 * 8 * 128 * 131_072
    with pytest.raises(sh.InvalidParallelismError):  # 40 heads, 8 KV heads: not over 5 GPUs
        sh.serving_estimate("llama-4-scout", "h100", 5)
    # 72 GB200s are one NVLink domain; 72 H100s cross the network between nodes.
    from tokenomy.selfhost.perf_model import Deployment

    gb = Deployment.of("deepseek-r1", "gb200", 72, attention_parallel="dp")
    h = Deployment.of("deepseek-r1", "h100", 72, attention_parallel="dp")
    assert gb.gpu.nvlink_domain == 72 and h.gpu.nvlink_domain == 8
    assert gb.communication_time(4096) < h.communication_time(4096)


def test_leave_one_source_out_never_trains_on_the_held_out_source() -> None:
    from tokenomy.selfhost.validation import (
        PublishedPoint,
        family,
        leave_one_source_out,
        percentile_abs_error,
        validate,
    )

    points = [p for p in sh.load_points() if p.metric != "spec_speedup"]
    trained_on: list[set[str]] = []

    def fit(train: list[PublishedPoint]) -> sh.Calibration:
        trained_on.append({p.source for p in train})
        return sh.load_calibration()

    held = leave_one_source_out(points, fit)
    sources = list(dict.fromkeys(p.source for p in points))
    assert len(trained_on) == len(sources) >= 10
    for seen, source in zip(trained_on, sources, strict=True):
        assert source not in seen and seen == set(sources) - {source}
    assert sorted(v.point.id for v, _ in held) == sorted(p.id for p in points)
    # With the same calibration everywhere, held-out predictions are the in-sample ones.
    inside = {v.point.id: v.predicted for v in validate(points)}
    assert all(v.predicted == inside[v.point.id] for v, _ in held)
    assert all(v.point.source == s for v, s in held)
    errors = [v for v, _ in held]
    assert percentile_abs_error(errors, 100) == max(abs(v.error) for v in errors)
    assert percentile_abs_error(errors, 50) <= percentile_abs_error(errors, 90)
    by_id = {p.id: family(p) for p in points}
    assert by_id["trtllm-qwen3-235b-8xh100-1000-1000"] == "MoE"
    assert by_id["vllm-0.5-llama3-8b-h100-light-load"] == "latency"
    assert by_id["trtllm-8b-h100-128-128"] == "dense"
    assert by_id["lambda-llama-3.1-8b-1xh100-sharegpt-320"] == "finite benchmark"
    assert by_id["oci-405b-8xmi300x-128-128-max"] == "AMD"


def test_original_and_added_points() -> None:
    """Issue 13: at least 80 published points from at least 10 sources; the ones added after
    the first fit are marked held out, and the default scoring (the in-sample figure the CLI
    quotes beside the held-out one) uses the 24 original rows only."""
    from tokenomy.selfhost.validation import fitted_points, held_out_points, validate

    points = sh.load_points()
    assert len(points) >= 80 and len({p.source for p in points}) >= 10
    fitted, held = fitted_points(), held_out_points()
    assert len(fitted) + len(held) == len(points) and held and fitted
    assert not {p.id for p in fitted} & {p.id for p in held}
    assert {v.point.id for v in validate()} == {p.id for p in fitted}
    for p in held:
        assert p.engine and p.source.startswith("https://") and p.date.year >= 2024
    finite = [p for p in held if p.requests]
    assert finite and all(p.metric == "output_tps_per_gpu" for p in finite)


def test_sequence_overhead_is_host_work_per_running_sequence() -> None:
    """Issue 13: per-sequence host work (sampling, detokenisation, streaming) adds b x batch to
    a serial engine's step, max(GPU, host) to an overlapped one's, per data-parallel rank; a
    point measured on trtllm-bench (host = "none") never carries it."""
    from tokenomy.selfhost.perf_model import Deployment
    from tokenomy.selfhost.validation import predict

    b = 2e-4
    plain = no_host_work(host="split")
    cal = replace(plain, sequence_overhead_s=b)
    gpu_only = Deployment.of("llama-3.1-8b", "h100", precision="fp8", calibration=plain)
    serial = replace(gpu_only, calibration=cal)
    overlapped = replace(gpu_only, calibration=replace(cal, host="overlapped"))
    for batch in (1, 64, 1024):
        gpu = gpu_only.decode_step_time(batch, 1000)
        assert serial.decode_step_time(batch, 1000) == pytest.approx(gpu + b * batch)
        assert overlapped.decode_step_time(batch, 1000) == pytest.approx(max(gpu, b * batch))
    # Host-bound at a large batch (the host work outgrows the GPU step), GPU-bound at batch 1.
    assert overlapped.decode_step_time(1024, 1000) == pytest.approx(b * 1024)
    assert overlapped.decode_step_time(1, 1000) == pytest.approx(gpu_only.decode_step_time(1, 1000))
    # Data-parallel attention: each of the 16 ranks schedules its own 100 sequences.
    dp = Deployment.of("deepseek-v3", "h100", 16, attention_parallel="dp", calibration=cal)
    dp0 = replace(dp, calibration=plain)
    extra = dp.decode_step_time(1600, 2000) - dp0.decode_step_time(1600, 2000)
    assert extra == pytest.approx(b * 100)
    points = {p.id: p for p in sh.load_points()}
    trt = points["trtllm-8b-h100-128-128"]
    assert trt.host == "none" and predict(trt, cal) == predict(trt, plain)
    # A finite benchmark on a serial engine, all requests at once (the schedule does not depend
    # on step times): every token decoded costs b more, so the run lasts b x tokens longer.
    from tokenomy.selfhost.simulate import sharegpt_lengths, simulate

    ins, outs = sharegpt_lengths(320)
    fast, slow = (simulate(replace(gpu_only, calibration=c), ins, outs) for c in (plain, cal))
    assert fast.preemptions == slow.preemptions == 0
    assert slow.duration_s - fast.duration_s == pytest.approx(b * sum(outs), rel=1e-6)
    lam = points["lambda-llama-3.1-8b-1xh100-sharegpt-320"]
    assert lam.host == "serial" and predict(lam, cal) < predict(lam, plain)


def test_split_host_work_engine_loop_serial_frontend_beside() -> None:
    """vLLM V1 without --async-scheduling ("split"): the engine core's share of the host work
    runs in turn with the GPU step; the API server's, in its own process, holds no step back
    (it merges a request's pending outputs when behind). "serial" (one process) puts both in
    turn with the GPU, "overlapped" runs the engine's share beside it."""
    from tokenomy.selfhost.perf_model import Deployment
    from tokenomy.selfhost.validation import predict

    bs, bf = 1.5e-4, 2e-4
    plain = no_host_work(host="split")
    split_cal = replace(plain, sequence_overhead_s=bs, frontend_overhead_s=bf)
    gpu_only = Deployment.of("llama-3.1-8b", "h100", precision="fp8", calibration=plain)
    split = replace(gpu_only, calibration=split_cal)
    over = replace(gpu_only, calibration=replace(split_cal, host="overlapped"))
    serial = replace(gpu_only, calibration=replace(split_cal, host="serial"))
    for batch in (1, 64, 1024):
        gpu = gpu_only.decode_step_time(batch, 1000)
        assert split.decode_step_time(batch, 1000) == pytest.approx(gpu + bs * batch)
        assert over.decode_step_time(batch, 1000) == pytest.approx(max(gpu, bs * batch))
        assert serial.decode_step_time(batch, 1000) == pytest.approx(gpu + (bs + bf) * batch)
    points = {p.id: p for p in sh.load_points()}
    v1 = points["gpustack-qwen3-32b-h100-vllm-2000-100"]
    assert v1.host == "split"
    assert predict(v1, split_cal) == pytest.approx(
        predict(v1, replace(split_cal, frontend_overhead_s=0))
    )
    lam = points["lambda-llama-3.1-8b-1xh100-sharegpt-320"]  # vLLM 0.5.4: one process
    folded = replace(split_cal, sequence_overhead_s=bs + bf, frontend_overhead_s=0.0)
    assert predict(lam, split_cal) == pytest.approx(predict(lam, folded))
    assert predict(lam, split_cal) < predict(lam, replace(split_cal, frontend_overhead_s=0))
    # The async-scheduling rows stay overlapped.
    assert all(p.host == "overlapped" for p in points.values() if "async" in p.engine)
    # The one vLLM V0 engine row keeps its frontend in the loop.
    assert sh.load_engine("vllm-0.7").host == "serial"
    assert sh.load_engine("vllm").host == "split"
    from tokenomy.selfhost.perf_model import _check

    with pytest.raises(DataFileError, match="host must be one of serial, split, overlapped"):
        _check(replace(plain, host="async"), "an engine row")


def test_decode_attention_flops_run_at_the_attention_kernels_efficiency() -> None:
    """MLA decode attention at long context is FLOP-bound: priced at FlashMLA's measured share
    of the peak (attention_compute_efficiency), not at the decode GEMM efficiency, so scoring
    4 tokens a sequence costs less than it did at 0.35."""
    from tokenomy.selfhost.perf_model import Deployment

    cal = sh.load_calibration()
    assert cal.attention_compute_efficiency == pytest.approx(0.59)
    old = replace(cal, attention_compute_efficiency=0.0)  # = decode_compute_efficiency
    dep = Deployment.of("deepseek-v3", "h200", 16, "fp8", attention_parallel="dp", calibration=cal)
    dep_old = replace(dep, calibration=old)
    for tokens in (1, 4):
        assert dep.decode_step_time(32, 67584, tokens) < dep_old.decode_step_time(32, 67584, tokens)
    # GQA decode attention is KV-read-bound: a dense model's step does not move.
    llama = Deployment.of("llama-3.1-8b", "h100", precision="fp8", calibration=cal)
    assert llama.decode_step_time(64, 2000) == pytest.approx(
        replace(llama, calibration=old).decode_step_time(64, 2000)
    )


def test_a_points_kv_dtype_is_the_one_its_engine_ran() -> None:
    """An FP8 checkpoint without KV scales keeps a bf16 KV cache under vLLM's default
    (--kv-cache-dtype auto): half the pool of the model's fp8 rule, so Llama 3.1 70B FP8 on one
    H100 (a pool of a few thousand tokens) preempts more and runs slower."""
    from tokenomy.selfhost.validation import predict

    points = {p.id: p for p in sh.load_points()}
    tight = points["lambda-llama-3.1-70b-1xh100-sharegpt-320"]
    assert tight.precision == "fp8" and tight.kv_precision == "bf16"
    assert predict(tight) < 0.9 * predict(replace(tight, kv_precision=""))
    # Points that state FP8 KV (the *-FP8-KV checkpoints, trtllm-bench) keep the default rule.
    assert points["trtllm-8b-h100-128-128"].kv_precision == ""


def test_shipped_calibration_is_the_validated_procedure() -> None:
    """The shipped [calibration] is the leave-one-source-out procedure fitted on every source
    (bench/validate_selfhost.py --fit): it has a host work the folds fit, the engine rows
    state their host mode as their engines' published points are labelled, a point is
    predicted in its own source's host mode whatever the row says, and the held-out figure
    the CLI quotes is stated for the points there are."""
    from tokenomy.selfhost.validation import cross_validated_error, predict

    # --fit on 2026-12-02 (223 points): 100 µs; the leave-one-source-out folds fit 50-100.
    assert sh.load_calibration().sequence_overhead_s == pytest.approx(100e-6)
    engines = sh.load_engines()
    assert engines["vllm"].host == "split"  # V1 engine core, as its points are
    assert engines["sglang"].host == engines["tensorrt-llm"].host == "overlapped"
    error, points = cross_validated_error()
    assert 0 < error < 1  # a share, measured by --loso (0.279 over 223 points on 2026-12-02)
    assert points == sum(p.metric != "spec_speedup" for p in sh.load_points())
    by_id = {p.id: p for p in sh.load_points()}
    serial = by_id["vllm-0.5-llama3-8b-h100-light-load"]  # vLLM 0.5: host work in turn
    assert serial.host == "serial"
    cal = sh.load_calibration()
    assert predict(serial, cal) == predict(serial, replace(cal, host="overlapped"))
    assert predict(serial, cal) > predict(serial, replace(cal, sequence_overhead_s=0.0))


def test_speculation_loses_once_the_host_work_bounds_the_step() -> None:
    """Host work is charged per token scored: a verify pass scores γ + 1 tokens per sequence
    and keeps fewer, so an engine bound by its host work makes fewer tokens with speculation
    (charged per sequence-step instead, it would gain τ / 1 for free)."""
    # An engine that overlaps its host work (SGLang, trtllm-serve, vLLM --async-scheduling).
    calibration = replace(sh.load_calibration(), host="overlapped", sequence_overhead_s=2.5e-4)

    def gain(concurrency: int) -> float:
        return sh.serving_estimate(
            "llama-3.1-70b", "h100", 2, precision="fp8", input_len=1024, output_len=1024,
            concurrency=concurrency, speculation=sh.Speculation(0.8, 3, 0.05),
            calibration=calibration,
        ).speculative_speedup  # fmt: skip

    low, middle, high = gain(1), gain(64), gain(256)
    tau = sh.Speculation(0.8, 3, 0.05).tokens_per_step
    assert low > 2.0 > middle > high
    assert high < 0.8  # host-bound both ways: near τ / (γ + 1) = 0.74, a loss
    assert high == pytest.approx(tau / 4, rel=0.05)


def test_early_2025_mla_kernels_slow_only_an_mla_models_steps() -> None:
    """DeepSeek-V3/R1 on the first generic MLA / block-FP8 kernels (SGLang <= 0.4.4, vLLM <=
    0.8.2): a step runs at the fitted share of today's rate, prefill and decode alike; a model
    without MLA is unaffected; published points of that time say so, and the engine rows for
    those releases select it."""
    from tokenomy.selfhost.perf_model import Deployment
    from tokenomy.selfhost.validation import predict

    cal = replace(sh.load_calibration(), early_mla_kernel_efficiency=0.25)
    early = replace(cal, early_mla_kernels=True)
    r1 = Deployment.of("deepseek-r1", "h200", 8, "fp8", calibration=cal)
    r1_early = replace(r1, calibration=early)
    assert r1_early.kernel_rate == 0.25 and r1.kernel_rate == 1.0
    # Host work is the engine's, not the kernels': compare without it.
    bare = no_host_work(early)
    now = replace(bare, early_mla_kernels=False)
    for batch in (1, 64):
        slow = replace(r1, calibration=bare).decode_step_time(batch, 2000)
        assert slow == pytest.approx(4 * replace(r1, calibration=now).decode_step_time(batch, 2000))
    assert r1_early.prefill_time(3000) == pytest.approx(4 * r1.prefill_time(3000))
    llama = Deployment.of("llama-3.1-70b", "h100", 2, "fp8", calibration=early)
    assert llama.kernel_rate == 1.0
    assert llama.decode_step_time(32, 2000) == replace(llama, calibration=cal).decode_step_time(
        32, 2000
    )
    points = {p.id: p for p in sh.load_points()}
    dstack = points["dstack-r1-8xh200-sglang-3200-800-c8"]
    assert dstack.kernels == "early-2025"
    assert predict(dstack, cal) < 0.5 * predict(replace(dstack, kernels="current"), cal)
    engines = sh.load_engines()
    assert engines["sglang-0.4"].early_mla_kernels and engines["vllm-0.7"].early_mla_kernels
    assert not engines["sglang"].early_mla_kernels
    assert 0 < sh.load_calibration().early_mla_kernel_efficiency < 1  # fitted: --fit


def test_a_points_kernels_field_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tokenomy.selfhost.validation as validation

    bad = tmp_path / "published_points.toml"
    bad.write_text(
        '[[point]]\nid = "p1"\nmodel = "deepseek-r1"\ngpu = "h200"\ngpus = 8\n'
        'precision = "fp8"\ninput_len = 1\noutput_len = 1\nconcurrency = 1\n'
        'phase = "decode"\nmetric = "tpot_ms"\nmeasured = 1.0\nengine = "x"\n'
        'source = "https://example.org"\ndate = 2025-01-01\nkernels = "2024"\n'
    )
    monkeypatch.setattr(validation, "read_table", lambda _file, key: read_table(bad, key))
    validation.load_points.cache_clear()
    try:
        with pytest.raises(DataFileError, match=r"p1: 'kernels' must be one of current, early"):
            validation.load_points()
    finally:
        validation.load_points.cache_clear()


def test_experts_sharded_within_a_node_spread_across_nodes() -> None:
    """Within a node the engines shard every expert: each MoE layer's output is all-reduced
    on the critical path (the step is kernels + collectives). Spread across nodes, the
    all-to-alls overlap with compute (the longer of the two). `auto` picks by node."""
    from tokenomy.selfhost.perf_model import Deployment

    cal = no_host_work()
    tp = Deployment.of("deepseek-r1", "h200", 8, "fp8", calibration=cal)
    ep = replace(tp, experts="ep")
    assert not tp.expert_parallel and ep.expert_parallel
    overhead = cal.step_overhead_s + cal.layer_overhead_s * tp.model.layers
    kernels = tp._linear_time(4, cal.decode_compute_efficiency)
    attention = tp.decode_step_time(4, 1000) - overhead - kernels - tp.communication_time(4)
    assert attention > 0  # the step is the sum of its parts under tp
    assert tp.communication_time(4) > 0.5 * tp.model.layers * 2 * cal.collective_latency_s
    # Within a node even spread experts sit on the critical path; across nodes they overlap.
    big = Deployment.of("deepseek-r1", "h200", 32, "fp8", calibration=cal, attention_parallel="dp")
    assert big.expert_parallel and big.experts == "auto"
    work = big._linear_time(32 * 64, cal.decode_compute_efficiency)
    assert big._with_communication(work, 32 * 64) == max(work, big.communication_time(32 * 64))
    assert ep._with_communication(1e-3, 4) == pytest.approx(1e-3 + ep.communication_time(4))
    # A dense model has no experts to place; an estimate says how an MoE model's were placed.
    assert not Deployment.of("llama-3.1-70b", "h100", 8, "fp8", experts="ep").expert_parallel
    est = sh.serving_estimate(
        "deepseek-r1", "h200", 8, concurrency=4, input_len=922, output_len=922
    )
    assert est.experts == "tp" and est.as_dict()["experts"] == "tp"
    assert "experts" not in sh.serving_estimate("llama-3.1-8b", "h100").as_dict()
    with pytest.raises(ValueError, match="experts must be auto, tp or ep"):
        Deployment.of("deepseek-r1", "h200", 8, experts="dp")


def test_source_balanced_error_counts_every_source_alike() -> None:
    """The fit's objective: a source with many points weighs as much as one with a single
    point, so its points cannot outvote the others (the plain median is its error here)."""
    from tokenomy.selfhost.validation import Validated, median_abs_error, source_balanced_error

    base = sh.load_points()[0]

    def scored(source: str, error: float) -> Validated:
        return Validated(replace(base, source=source, measured=1.0), 1.0 + error)

    many = [scored("big", 0.9) for _ in range(9)]
    few = [scored("a", 0.1), scored("b", 0.2)]
    assert median_abs_error(many + few) == pytest.approx(0.9)
    assert source_balanced_error(many + few) == pytest.approx(0.2)  # a, b, big: the middle
    assert source_balanced_error([*few, scored("c", 0.3)]) == pytest.approx(0.2)
    assert source_balanced_error([]) != source_balanced_error([])  # nan
