"""The self-hosting model beside published measurements, and GenZ beside both.

    python bench/validate_selfhost.py            # the table, our median error, GenZ's
    python bench/validate_selfhost.py --fit      # the shipped [calibration]: the grid search
                                                 # each leave-one-source-out fold runs, on
                                                 # all the throughput/latency points
    python bench/validate_selfhost.py --markdown # the table for docs/selfhost.md
    python bench/validate_selfhost.py --loso     # leave-one-source-out: fit on all sources
                                                 # but one, predict that one; by family,
                                                 # beside the shipped calibration (--fit's,
                                                 # on every source: in-sample there);
                                                 # --jobs 2 fits two folds at a time
    python bench/validate_selfhost.py --matched-engines  # each point with its engine's row
                                                 # of data/engines.toml, not the default
    python bench/validate_selfhost.py --fit-engine tensorrt-llm --source perf-overview
                                                 # efficiencies of one engine row from that
                                                 # engine's points (of one source) only

GenZ (``pip install genz-llm``, the bench extra) is run at its defaults (efficiency 1, its own
operator roofline) on the same set-up and the same concurrency as ours, with the same
steady-state cycle (C prefills + output_len decode steps), so only the step times differ.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import multiprocessing
import statistics
import sys
import time
import warnings
from dataclasses import replace
from typing import Any

from tokenomy.selfhost.architectures import get_model
from tokenomy.selfhost.hardware import get_gpu
from tokenomy.selfhost.perf_model import (
    Calibration,
    load_calibration,
    load_engines,
    serving_estimate,
)
from tokenomy.selfhost.validation import (
    PublishedPoint,
    Validated,
    family,
    leave_one_source_out,
    load_points,
    percentile_abs_error,
    source_balanced_error,
    validate,
)

GENZ_MODELS = {  # our name -> GenZ's model id (None: GenZ 0.0.16 does not ship it)
    "llama-3.1-8b": "meta-llama/Llama-3.1-8B",
    "llama-3.1-70b": "meta-llama/Llama-3.1-70B",
    "llama-3.3-70b": "meta-llama/Llama-3.1-70B",  # same architecture
    "llama-3.1-405b": "meta-llama/Llama-3.1-405B",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3-Base",
    "deepseek-r1": "deepseek-ai/DeepSeek-V3-Base",  # same architecture
    "mixtral-8x7b": "mistralai/Mixtral-8x7B",
}
GENZ_BITS = {"bf16": "bf16", "fp8": "fp8", "fp4": "int4"}


def genz_predict(point: PublishedPoint) -> tuple[float | None, str]:
    """GenZ's value of the point's metric, or (None, why not)."""
    if point.metric == "spec_speedup":
        return None, "not compared (speculative)"
    genz_model = GENZ_MODELS.get(point.model)
    if genz_model is None:
        return None, f"GenZ has no {point.model}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from GenZ import decode_moddeling, prefill_moddeling
    gpu = get_gpu(point.gpu)
    arch = get_model(point.model)
    ours = serving_estimate(
        point.model,
        point.gpu,
        point.gpus,
        precision=point.precision,
        input_len=point.input_len,
        output_len=point.output_len,
        concurrency=point.concurrency or None,
        phase=point.phase,
        attention_parallel=point.attention_parallel,
    )
    flops = gpu.flops(point.precision) / 1e12
    # GenZ's fit check ignores TP/EP (per chip x PP only), so give it the group's memory.
    system = {
        "Flops": flops,
        "Memory_size": gpu.memory_gb * point.gpus,
        "Memory_BW": gpu.bandwidth_tbs * 1e3,
        "ICN": gpu.interconnect_gbs,
        "real_values": True,
    }
    if arch.is_moe:
        ep = math.gcd(arch.experts, point.gpus)
        tp = point.gpus // ep
    else:
        ep, tp = 1, point.gpus
    common: dict[str, Any] = dict(
        model=genz_model,
        system_name=system,
        bits=GENZ_BITS[point.precision],
        tensor_parallel=tp,
        expert_parallel=ep,
    )
    c = ours.concurrency
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prefill_s = 0.0
            if point.phase != "decode":
                pre = prefill_moddeling(batch_size=1, input_tokens=point.input_len, **common)
                prefill_s = pre["Latency"] / 1e3
            decode_s = 0.0
            if point.phase != "prefill":
                context = int(point.input_len + point.output_len / 2)
                dec = decode_moddeling(
                    batch_size=c, input_tokens=context, output_tokens=0, **common
                )
                decode_s = dec["Latency"] / 1e3
    except (AssertionError, ValueError, KeyError, ZeroDivisionError) as exc:
        return None, f"GenZ error: {str(exc).splitlines()[0][:60]}"
    cycle = c * prefill_s + point.output_len * decode_s
    if point.metric == "output_tps_per_gpu":
        return c * point.output_len / cycle / point.gpus, ""
    if point.metric == "input_tps_per_gpu":
        return point.input_len / prefill_s / point.gpus, ""
    return cycle / point.output_len * 1e3, ""  # tpot_ms


# The GPU's efficiencies and overheads, in the order of the grid's first five axes.
_EFFICIENCY_KEYS = (
    "prefill_compute_efficiency",
    "decode_compute_efficiency",
    "bandwidth_efficiency",
    "step_overhead_s",
    "moe_imbalance",
)
GRID = (
    (0.45, 0.55, 0.65),
    (0.35, 0.45, 0.55),
    (0.7, 0.75, 0.8, 0.85),
    (0.002, 0.004, 0.006),
    (1.0, 1.3, 1.6, 2.0),
    # Host work per token scored: (engine-loop share, serial with the GPU step unless the
    # engine overlaps it; the API server's share, in the loop only in a one-process engine),
    # in seconds.
    tuple(
        itertools.product((0.0, 0.00005, 0.0001, 0.00015, 0.00025), (0.0, 0.0001, 0.0002, 0.0003))
    ),
)
ENGINE_GRID = (  # wider: one engine's kernels may sit further from the shared fit
    (0.45, 0.55, 0.65, 0.75),
    (0.25, 0.35, 0.45, 0.55),
    (0.7, 0.75, 0.8, 0.85, 0.9),
    (0.001, 0.002, 0.004, 0.006),
    (1.0, 1.3, 1.6),
    ((0.0, 0.0),),  # trtllm-bench's points carry no per-sequence host work
)


def _grid_search(
    points: list[PublishedPoint], base: Calibration, axes: tuple[tuple[Any, ...], ...]
) -> Calibration:
    """The calibration on the grid with the lowest median |error| on the points given, each
    source's points weighted alike."""
    best: tuple[float, Calibration] | None = None
    for pf, df, bw, oh, imb, (seq, front) in itertools.product(*axes):
        cal = replace(
            base,
            prefill_compute_efficiency=pf,
            decode_compute_efficiency=df,
            bandwidth_efficiency=bw,
            step_overhead_s=oh,
            moe_imbalance=imb,
            sequence_overhead_s=seq,
            frontend_overhead_s=front,
        )
        err = source_balanced_error(validate(points, cal))
        if best is None or err < best[0]:
            best = (err, cal)
    assert best is not None
    return best[1]


# The share of today's GPU work rate the early-2025 MLA/MoE kernels reached (third stage).
EARLY_KERNEL_GRID = (1.0, 0.8, 0.65, 0.5, 0.4, 0.33, 0.25, 0.2, 0.15, 0.1)


def fit(
    points: list[PublishedPoint],
    base: Calibration | None = None,
    axes: tuple[tuple[Any, ...], ...] = GRID,
) -> Calibration:
    """Grid search in stages, each minimising the median |error| with every source weighted
    alike (``source_balanced_error``): the GPU's efficiencies (and a first host work) on the
    steady-state points (fixed lengths, no finite run: what the kernels and the GPU set),
    then the host work per token scored (engine-loop and API-server shares) on all the
    points given, the efficiencies held; both on the points measured with
    today's kernels. Then the early-2025 MLA kernels' share of that work rate on the points
    that ran them (none given: 1, nothing known). Without steady-state points, one search over
    every axis on all the points."""
    base = replace(base or load_calibration(), early_mla_kernel_efficiency=1.0)
    current = [p for p in points if p.kernels == "current"]
    early = [p for p in points if p.kernels != "current"]
    steady = [p for p in current if not p.requests]
    if not steady or len(axes[-1]) == 1:
        cal = _grid_search(current, base, axes)
    else:
        gpu = _grid_search(steady, base, axes)
        held = tuple((getattr(gpu, k),) for k in _EFFICIENCY_KEYS)
        cal = _grid_search(current, gpu, (*held, axes[-1]))
    if not early:
        return cal
    scored = [
        (source_balanced_error(validate(early, trial)), trial)
        for trial in (replace(cal, early_mla_kernel_efficiency=e) for e in EARLY_KERNEL_GRID)
    ]
    return min(scored, key=lambda t: t[0])[1]


def _row(v: Validated, genz: float | None, why: str) -> list[str]:
    p = v.point
    g_err = "" if genz is None else f"{(genz - p.measured) / p.measured:+.0%}"
    return [
        p.id,
        p.metric,
        f"{p.measured:,.4g}",
        f"{v.predicted:,.4g}",
        f"{v.error:+.0%}",
        "" if genz is None else f"{genz:,.4g}",
        g_err or why,
    ]


def _stats(results: list[Validated]) -> str:
    if not results:
        return "no points"
    med = statistics.median(abs(v.error) for v in results)
    return f"{med:6.1%} {percentile_abs_error(results, 90):7.1%}"


def _fit_without(points: list[PublishedPoint], source: str) -> Calibration:
    """One fold's fit: every point given but ``source``'s (run in a worker process)."""
    return fit([p for p in points if p.source != source])


def loso(points: list[PublishedPoint], genz: bool, markdown: bool, jobs: int = 1) -> None:
    """Leave-one-source-out cross-validation, by family, beside the shipped calibration and
    GenZ. The shipped calibration is this procedure (one fold's ``fit``) run on every source,
    so its column is in-sample on every row; the held-out estimate of its error is the folds'.
    The folds start from the shipped calibration's fixed fields only (layer overhead,
    collective latency, memory policy): what the grid fits is never taken from it."""
    t0 = time.perf_counter()
    sources = list(dict.fromkeys(p.source for p in points))
    # Each fold's fit, computed up front (in parallel with --jobs); leave_one_source_out then
    # asks for them in the same source order and scores each held-out source.
    with multiprocessing.Pool(jobs) as pool:
        fits = pool.map(functools.partial(_fit_without, points), sources, chunksize=1)
    by_train = iter(fits)
    held = leave_one_source_out(points, lambda _train: next(by_train))
    inside = {v.point.id: v for v in validate(points)}
    print(f"fitted {len(sources)} times in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)  # fmt: skip
    genz_err: dict[str, float] = {}
    if genz:
        for p in points:
            value, _ = genz_predict(p)
            if value is not None:
                genz_err[p.id] = (value - p.measured) / p.measured
    head = [
        "family",
        "points",
        "shipped calibration (in-sample) median p90",
        "leave-one-source-out median p90",
        "GenZ median (n)",
    ]
    rows = []
    families = ["all", "dense", "MoE", "prefill", "latency", "AMD", "finite benchmark"]
    for fam in [*families, "original rows", "added rows"]:
        out = [
            v
            for v, _ in held
            if fam == "all"
            or family(v.point) == fam
            or (fam == "original rows" and not v.point.held_out)
            or (fam == "added rows" and v.point.held_out)
        ]
        ins = [inside[v.point.id] for v in out]
        g = [abs(genz_err[v.point.id]) for v in out if v.point.id in genz_err]
        g_text = f"{statistics.median(g):.1%} ({len(g)})" if g else "not run" if not genz else "-"
        rows.append([fam, str(len(out)), _stats(ins), _stats(out), g_text if out else "-"])
    held_all = [v for v, _ in held]
    balanced = [
        "all, each source alike",
        str(len(held_all)),
        f"{source_balanced_error([inside[v.point.id] for v in held_all]):.1%}",
        f"{source_balanced_error(held_all):.1%}",
        "-",
    ]
    rows.insert(1, balanced)
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
        for r in [head, *rows]:
            print("  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)))
    print("\nper held-out source (median p90, then the calibration fitted without it: prefill and"
          " decode compute efficiency, bandwidth efficiency, step overhead ms, MoE imbalance,"
          " host work per sequence µs, engine loop + frontend, early-2025 MLA kernels'"
          " rate):")  # fmt: skip
    for source, cal in zip(sources, fits, strict=True):
        out = [v for v, s in held if s == source]
        fitted = (
            f"{cal.prefill_compute_efficiency:g}/{cal.decode_compute_efficiency:g}/"
            f"{cal.bandwidth_efficiency:g}/{cal.step_overhead_s * 1e3:g}/{cal.moe_imbalance:g}/"
            f"{cal.sequence_overhead_s * 1e6:g}+{cal.frontend_overhead_s * 1e6:g}/"
            f"{cal.early_mla_kernel_efficiency:g}"
        )
        print(f"  {_stats(out)}  n={len(out):<3} {fitted:<28} {source}")


def engine_row(point: PublishedPoint) -> str:
    """The data/engines.toml row a point's stated engine maps to: the first engine it names,
    the default (vLLM) row when it names none (DeepSeek's own production stack)."""
    text = point.engine.lower()
    if "sglang" in text:
        return "sglang"
    return "tensorrt-llm" if "tensorrt" in text else "vllm"


def matched_engines(points: list[PublishedPoint]) -> None:
    """Median |error| with every point predicted under its own engine's memory policy."""
    engines = load_engines()
    default = validate(points)
    matched = [validate([p], engines[engine_row(p)])[0] for p in points]
    for name in engines:
        n = sum(engine_row(p) == name for p in points)
        print(f"{name}: {n} points")
    print(
        f"median |error|: default (vLLM) row {statistics.median(abs(v.error) for v in default):.1%}"
        f", each point's own engine row {statistics.median(abs(v.error) for v in matched):.1%}"
    )


def fit_engine(points: list[PublishedPoint], name: str, source: str = "") -> None:
    """Fit one engine row's efficiencies on the points that engine measured (those of sources
    containing ``source``, if given); check the fit on split halves (fit on one half, score
    the other) against the shared fit."""
    shared = load_calibration()  # the default row keeps the shared fit's efficiencies
    # The row's memory policy with the shared efficiencies: what the row is compared against.
    base = replace(load_engines()[name], **{k: getattr(shared, k) for k in _EFFICIENCY_KEYS})
    mine = [p for p in points if engine_row(p) == name and source in p.source]

    def med(ps: list[PublishedPoint], cal: Calibration) -> float:
        return statistics.median(abs(v.error) for v in validate(ps, cal))

    own = fit(mine, base, ENGINE_GRID)
    print(f"{name}: {len(mine)} points; in-sample median |error| shared fit "
          f"{med(mine, base):.1%}, own fit {med(mine, own):.1%}")  # fmt: skip
    for label, train, test in (("even", mine[0::2], mine[1::2]), ("odd", mine[1::2], mine[0::2])):
        half = fit(train, base, ENGINE_GRID)
        print(f"  fitted on the {label} rows, the other half: own {med(test, half):.1%}, "
              f"shared {med(test, base):.1%}")  # fmt: skip
    for k in _EFFICIENCY_KEYS:
        print(f"{k} = {getattr(own, k)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit the calibration, print it")
    ap.add_argument("--loso", action="store_true", help="leave-one-source-out validation")
    ap.add_argument(
        "--matched-engines", action="store_true", help="each point under its engine's row"
    )
    ap.add_argument("--fit-engine", metavar="NAME", help="fit one engine row's efficiencies")
    ap.add_argument("--source", default="", help="--fit-engine: only sources containing this")
    ap.add_argument("--no-genz", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="--loso: folds fitted in parallel")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    points = list(load_points())
    throughput = [p for p in points if p.metric != "spec_speedup"]
    if args.loso:
        loso(throughput, not args.no_genz, args.markdown, args.jobs)
        return
    if args.matched_engines:
        matched_engines(throughput)
        return
    if args.fit_engine:
        fit_engine(throughput, args.fit_engine, args.source)
        return
    if args.fit:
        # The procedure --loso validates (one fold's fit), run on every source: what ships.
        # Its error held out by source is --loso's; the median printed here is in-sample.
        t0 = time.perf_counter()
        cal = fit(throughput)
        inside = statistics.median(abs(v.error) for v in validate(throughput, cal))
        print(
            f"fitted on all {len(throughput)} throughput/latency points in "
            f"{time.perf_counter() - t0:.0f} s; in-sample median |error| {inside:.1%} "
            "(held out by source: --loso)",
            file=sys.stderr,
        )
        for k in (
            *_EFFICIENCY_KEYS,
            "sequence_overhead_s",
            "frontend_overhead_s",
            "early_mla_kernel_efficiency",
        ):
            print(f"{k} = {getattr(cal, k)}")
        return
    results = validate(points)
    rows, genz_errors, genz_by_id = [], [], {}
    for v in results:
        genz, why = (None, "not run") if args.no_genz else genz_predict(v.point)
        if genz is not None:
            genz_errors.append(abs(genz - v.point.measured) / v.point.measured)
            genz_by_id[v.point.id] = genz_errors[-1]
        rows.append(_row(v, genz, why))
    head = ["point", "metric", "measured", "tokenomy", "error", "GenZ", "GenZ error"]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
        for r in [head, *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)))
    spec = [abs(v.error) for v in results if v.point.metric == "spec_speedup"]
    print(f"\n{statistics.median(spec):.1%} over {len(spec)} speculative-decoding points")
    # Both in-sample: the shipped calibration is fitted on every row (held_out marks the rows
    # added after the first fit of 2026-11-22, on the 24 original rows).
    for label, held in (("original (in-sample)", False), ("added (in-sample)", True)):
        ours = [
            (abs(v.error), v.point.id)
            for v in results
            if v.point.metric != "spec_speedup" and v.point.held_out == held
        ]
        if not ours:
            continue
        print(
            f"tokenomy median |error| on the {len(ours)} {label} throughput/latency points: "
            f"{statistics.median(e for e, _ in ours):.1%}"
        )
        common = [(e, pid) for e, pid in ours if pid in genz_by_id]
        if common:
            g = [genz_by_id[pid] for _, pid in common]
            print(
                f"  on the {len(common)} of them GenZ could run: tokenomy "
                f"{statistics.median(e for e, _ in common):.1%}, GenZ {statistics.median(g):.1%}"
            )
    if genz_errors and not any(v.point.held_out for v in results):
        print(f"GenZ median |error|: {statistics.median(genz_errors):.1%}")


if __name__ == "__main__":
    main()
