"""The engine simulator beside the steady-state model (docs/selfhost.md's table).

    python bench/simulate_vs_model.py

Llama 3.1 8B FP8 on one H100 under the shipped calibration and the default (vLLM) row: a
closed loop of 60 waves of 1024/256 at concurrency C, simulated and steady-state; the same
GPU-bound (no host work); then 1,000 requests at once against the steady-state maximum at
1024/1024, ShareGPT's spread rescaled to those means and fixed lengths.
"""

from __future__ import annotations

from dataclasses import replace

from tokenomy.selfhost import serving_estimate
from tokenomy.selfhost.perf_model import Deployment
from tokenomy.selfhost.simulate import fixed_lengths, scaled_lengths, sharegpt_lengths, simulate


def main() -> None:
    dep = Deployment.of("llama-3.1-8b", "h100", 1, precision="fp8")
    print(
        "| C | simulated output tok/s | steady-state model | ratio | TPOT p50 simulated / model |"
    )
    print("|---:|---:|---:|---:|---|")
    for c in (1, 16, 128, 512):
        run = simulate(dep, *fixed_lengths(c * 60, 1024, 256), concurrency=c)
        est = serving_estimate("llama-3.1-8b", "h100", precision="fp8", input_len=1024,
                               output_len=256, concurrency=c)  # fmt: skip
        print(f"| {c} | {run.output_tps:,.0f} | {est.output_tps:,.0f} | "
              f"{run.output_tps / est.output_tps:.3f} | "
              f"{run.tpot_ms[0]:.2f} / {est.tpot_s * 1e3:.2f} ms |")  # fmt: skip
    gpu_only = replace(dep, calibration=replace(dep.calibration, sequence_overhead_s=0.0))
    for c in (128, 512):
        run = simulate(gpu_only, *fixed_lengths(c * 60, 1024, 256), concurrency=c)
        print(f"GPU-bound at {c}: {run.output_tps:,.0f} tok/s")
    top = serving_estimate("llama-3.1-8b", "h100", precision="fp8", input_len=1024,
                           output_len=1024)  # fmt: skip
    spread = simulate(dep, *scaled_lengths(sharegpt_lengths(1000), 1024, 1024))
    fixed = simulate(dep, *fixed_lengths(1000, 1024, 1024))
    print(
        f"1,000 ShareGPT requests at once: {spread.output_tps / top.output_tps:.0%} of the "
        f"steady-state maximum (mean batch {spread.mean_batch:.0f} of {top.concurrency})"
    )
    print(
        f"1,000 fixed 1024/1024 requests: {fixed.output_tps / top.output_tps:.0%} "
        f"({fixed.preemptions} preemptions)"
    )


if __name__ == "__main__":
    main()
