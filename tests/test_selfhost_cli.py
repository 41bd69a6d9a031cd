"""``tokenomy selfhost`` and ``tokenomy bench`` from the command line."""

from __future__ import annotations

import json
from dataclasses import replace

from typer.testing import CliRunner

import tokenomy.selfhost as sh
from tokenomy.cli import app
from tokenomy.selfhost.stub_server import StubTiming, spawned_stub_server
from tokenomy.selfhost.validation import cross_validated_error

runner = CliRunner()


def test_selfhost_json() -> None:
    res = runner.invoke(
        app,
        [
            "selfhost",
            "--model",
            "llama-3.1-8b",
            "--gpu",
            "h100",
            "--gpus",
            "1",
            "--precision",
            "fp8",
            "--input-len",
            "1024",
            "--output-len",
            "1024",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["rows"][0]
    # Host-bound: vLLM V1 runs its engine loop's host work per token in turn with the GPU
    # step, so one engine makes at most 1 / sequence_overhead_s output tok/s (less with the
    # GPU step and the prefills); its API server, in its own process, bounds nothing.
    cal = sh.load_engine("vllm")
    gpu_only = replace(cal, sequence_overhead_s=0.0)
    free = sh.serving_estimate(
        "llama-3.1-8b", "h100", 1, precision="fp8", input_len=1024, output_len=1024,
        calibration=gpu_only,
    ).output_tps_per_gpu  # fmt: skip
    assert 1000 < row["output_tps_per_gpu"] < min(free, 1 / cal.sequence_overhead_s)
    assert row["usd_per_m_output"] > 0
    out = json.loads(res.stdout)
    assert out["model_median_abs_error"] <= 0.25  # in-sample, the 24 original points
    assert out["model_loso_median_abs_error"] == round(cross_validated_error()[0], 4)


def test_selfhost_impossible_setup_exits_2() -> None:
    res = runner.invoke(app, ["selfhost", "--model", "deepseek-v3", "--gpu", "l40s"])
    assert res.exit_code == 2
    assert "needs 671 GB of weights" in res.stderr


def test_selfhost_break_even_by_hand() -> None:
    res = runner.invoke(
        app,
        [
            "selfhost",
            "--model",
            "llama-3.3-70b",
            "--gpus",
            "2",
            "--precision",
            "fp8",
            "--tokens-per-day",
            "1e9",
            "--api",
            "gpt-4.1",
            "--spec-acceptance",
            "0.8",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    assert [r["speculation"] for r in rows] == ["off", "on"]
    assert rows[1]["gpus"] <= rows[0]["gpus"]


def test_bench_against_stub() -> None:
    with spawned_stub_server(StubTiming(0.05, 0.01, 8)) as url:
        res = runner.invoke(
            app,
            [
                "bench",
                url,
                "-n",
                "8",
                "--concurrency",
                "4",
                "--output-len",
                "8",
                "--gpu-price",
                "2",
                "--json",
            ],
        )
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["rows"][0]
    assert row["completed"] == 8 and row["usd_per_m_output"] > 0


def test_ledger_prompts_take_real_sizes_capped() -> None:
    from tokenomy.selfhost.loadgen import ledger_prompts

    sizes = [(40_000, 300), (900, 12), (5, 2000)]
    specs = ledger_prompts(sizes, 30, max_input=1024, max_output=256)
    assert {(s.input_tokens, s.max_tokens) for s in specs} <= {(1024, 256), (900, 12), (5, 256)}
    assert len({s.input_tokens for s in specs}) == 3  # every size is drawn from
    assert all(len(s.prompt.split()) == s.input_tokens for s in specs)


def test_bench_with_ledger_shaped_prompts(logs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    imported = runner.invoke(app, ["import", str(logs / "codex"), "--home", str(home)])
    assert imported.exit_code == 0, imported.output
    with spawned_stub_server(StubTiming(0.01, 0.001, 4)) as url:
        res = runner.invoke(
            app,
            [
                "bench",
                url,
                "-n",
                "6",
                "--concurrency",
                "3",
                "--prompts",
                "ledger",
                "--input-len",
                "512",
                "--home",
                str(home),
                "--json",
            ],
        )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"][0]["completed"] == 6
    empty = runner.invoke(
        app,
        ["bench", "http://127.0.0.1:9", "--prompts", "ledger", "--home", str(tmp_path / "empty")],
    )
    assert empty.exit_code == 2 and "no calls to shape prompts from" in empty.stderr
