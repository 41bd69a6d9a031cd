"""What is truly impossible fails with one line; everything a real engine runs, runs: queueing
beyond the KV cache, KV-cache dtype, engine memory policies, tensor- vs data-parallel MLA."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import tokenomy.selfhost as sh
from tokenomy.cli import app
from tokenomy.selfhost.perf_model import Deployment

runner = CliRunner()


def test_tp_degree_the_heads_cannot_split_is_refused() -> None:
    with pytest.raises(sh.InvalidParallelismError, match="cannot split them over 3 GPUs"):
        sh.serving_estimate("qwen3-32b", "h100", 3)
    # 8 KV heads on 16 GPUs: each KV head is replicated twice, which engines accept.
    assert sh.serving_estimate("llama-3.1-70b", "h100", 16).gpus == 16
    with pytest.raises(sh.InvalidParallelismError, match="--attention dp"):
        sh.serving_estimate("deepseek-v3", "h100", 72)
    assert sh.serving_estimate("deepseek-v3", "h100", 72, attention_parallel="dp").gpus == 72


def test_cli_tp_error_is_one_line() -> None:
    res = runner.invoke(app, ["selfhost", "--model", "qwen3-32b", "--gpus", "3"])
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "use 1, 2, 4, 8" in res.stderr


def test_mla_tensor_parallel_replicates_the_latent_cache() -> None:
    tp = Deployment.of("deepseek-r1", "h200", 8)
    dp = Deployment.of("deepseek-r1", "h200", 8, attention_parallel="dp")
    assert (tp.kv_shards, tp.sequence_groups) == (1, 1)
    assert (dp.kv_shards, dp.sequence_groups) == (1, 8)
    # TP: one pool (every GPU holds every sequence's latent); DP: eight pools, smaller each
    # because the attention and dense weights are copied on every GPU.
    assert tp.max_concurrency(1536) == tp.kv_budget_per_gpu // tp.kv_bytes_per_sequence(1536)
    assert dp.kv_budget_per_gpu < tp.kv_budget_per_gpu
    assert tp.max_concurrency(1536) < dp.max_concurrency(1536) < 8 * tp.max_concurrency(1536)
    est = sh.serving_estimate("deepseek-r1", "h200", 8)
    assert est.as_dict()["attention_parallel"] == "tp"
    assert est.max_concurrency == tp.max_concurrency(1536)


def test_concurrency_beyond_the_kv_cache_queues() -> None:
    cap = sh.serving_estimate("llama-3.1-70b", "h100", 2, precision="fp8")
    over = sh.serving_estimate(
        "llama-3.1-70b", "h100", 2, precision="fp8", concurrency=3 * cap.concurrency
    )
    assert over.batch == cap.concurrency and over.queued == 2 * cap.concurrency
    assert over.output_tps == pytest.approx(cap.output_tps)
    # Closed loop: requests finish at output_tps / output_len per second; the queue drains at
    # that rate, so each waits (C - batch) / rate.
    rate = cap.output_tps / cap.output_len
    assert over.queue_wait_s == pytest.approx(2 * cap.concurrency / rate)
    assert over.ttft_s == pytest.approx(cap.ttft_s + over.queue_wait_s)
    row = over.as_dict()
    assert row["queued"] == 2 * cap.concurrency and row["queue_wait_ms"] > 0
    assert "queued" not in cap.as_dict()


def test_kv_dtype() -> None:
    bf16 = Deployment.of("qwen3-32b", "h100", kv_precision="bf16")
    fp16 = Deployment.of("qwen3-32b", "h100", kv_precision="fp16")
    fp8 = Deployment.of("qwen3-32b", "h100", kv_precision="fp8")
    assert bf16.kv_pool_tokens() == fp16.kv_pool_tokens()
    assert fp8.kv_pool_tokens() == pytest.approx(2 * bf16.kv_pool_tokens(), abs=2)
    with pytest.raises(ValueError, match="KV-cache dtype must be one of"):
        Deployment.of("qwen3-32b", "h100", kv_precision="int4")
    res = runner.invoke(app, ["selfhost", "--model", "qwen3-32b", "--kv-dtype", "fp8", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"][0]["kv_precision"] == "fp8"


def test_qwen3_32b_bf16_on_one_a100_holds_a_32k_prompt() -> None:
    dep = Deployment.of("qwen3-32b", "a100")
    # vLLM at gpu_memory_utilization 0.9: 0.9 x 79.2 GiB - 61 GiB of weights - activations.
    assert 7e9 < dep.kv_budget_per_gpu < 11e9
    est = sh.serving_estimate("qwen3-32b", "a100", input_len=32_000, output_len=512)
    assert est.max_concurrency >= 1 and est.output_tps > 0
    with pytest.raises(sh.DoesNotFitError, match="one 60000\\+512 token sequence needs"):
        sh.serving_estimate("qwen3-32b", "a100", input_len=60_000, output_len=512)


def test_engine_profiles_are_data_with_sources() -> None:
    engines = sh.load_engines()
    assert list(engines)[:3] == ["vllm", "sglang", "tensorrt-llm"]
    assert all("engine row: https://" in e.source for e in engines.values())
    assert sh.load_calibration() is engines["vllm"]
    from tokenomy.selfhost.perf_model import _fitted

    shared = _fitted()
    for key in ("prefill_compute_efficiency", "decode_compute_efficiency", "bandwidth_efficiency"):
        assert getattr(engines["vllm"], key) == getattr(shared, key)  # default = the fit
    assert engines["tensorrt-llm"].bandwidth_efficiency != shared.bandwidth_efficiency
    default = sh.serving_estimate("llama-3.1-8b", "h100")
    assert sh.serving_estimate("llama-3.1-8b", "h100", engine="vllm") == default
    trt = sh.serving_estimate("llama-3.1-8b", "h100", engine="trtllm")
    assert trt.engine == "tensorrt-llm" and trt.kv_pool_tokens != default.kv_pool_tokens
    with pytest.raises(sh.DataFileError, match="unknown engine 'tgi'"):
        sh.serving_estimate("llama-3.1-8b", "h100", engine="tgi")


def test_human_output_is_a_key_value_list_within_80_columns() -> None:
    res = runner.invoke(
        app, ["selfhost", "--model", "deepseek-r1", "--gpu", "h200", "--gpus", "8",
              "--concurrency", "5000"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("  queue wait") for line in lines)
    assert any(line.split()[:1] == ["concurrency"] for line in lines)
    assert "queue" in res.stdout.split("\n\n")[-1]  # the note says what happens
