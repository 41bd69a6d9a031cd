"""Published measurements beside the model's predictions (data/published_points.toml).

Each point names a set-up (model, GPUs, precision, lengths, concurrency, phase), a metric and
the measured value. ``validate()`` predicts the same metric and reports the signed error;
``median_abs_error`` is the figure quoted in the docs next to every estimate.

The shipped calibration is the leave-one-source-out procedure's fit (bench/validate_selfhost.py
``fit``) run on every throughput/latency point; its error held out by source is
``cross_validated_error()``. Points marked ``held_out = true`` in the data file were added
after the first fit (on the 24 other rows) and now enter the fit like the rest:
``validate()`` with no points scores the 24 original rows (in-sample), ``held_out_points()``
gives the added ones.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache

from tokenomy.selfhost.datafile import DataFileError, read_table
from tokenomy.selfhost.perf_model import (
    EXPERT_PARALLEL,
    HOST_MODES,
    KV_DTYPES,
    Calibration,
    load_calibration,
    serving_estimate,
)
from tokenomy.selfhost.speculative import Speculation

__all__ = [
    "METRICS",
    "PublishedPoint",
    "Validated",
    "cross_validated_error",
    "family",
    "fitted_points",
    "held_out_points",
    "leave_one_source_out",
    "load_points",
    "median_abs_error",
    "percentile_abs_error",
    "predict",
    "source_balanced_error",
    "validate",
]

METRICS = ("output_tps_per_gpu", "input_tps_per_gpu", "tpot_ms", "spec_speedup")
HOSTS = (*HOST_MODES, "none")  # "none": no host work (trtllm-bench's offline executor)
KERNELS = ("current", "early-2025")


@dataclass(frozen=True, slots=True)
class PublishedPoint:
    id: str
    model: str
    gpu: str
    gpus: int
    precision: str
    input_len: int
    output_len: int
    concurrency: int  # 0 = max throughput
    phase: str
    metric: str
    measured: float
    engine: str
    source: str
    date: date
    speculation: Speculation | None = None
    attention_parallel: str = "tp"
    requests: int = 0  # > 0: a finite benchmark (N requests sent at once, run to completion)
    lengths: str = "fixed"  # a finite benchmark's lengths: "fixed" or "sharegpt" (spread)
    held_out: bool = False  # True: never in the calibration's fitted set
    # The engine's per-sequence host work (the calibration's sequence_overhead_s) as the source
    # ran it: "serial" with the GPU step, "overlapped" with it (an overlap / async scheduler),
    # or "none" (a native executor driven offline: trtllm-bench).
    host: str = "serial"
    kv_precision: str = ""  # the KV-cache dtype the engine ran ("" = the model's default rule)
    # "early-2025": the engine ran DeepSeek's MLA and block-FP8 MoE on its first generic kernels
    # (SGLang <= 0.4.4, vLLM <= 0.8.2, TensorRT-LLM <= 0.18; Calibration.early_mla_kernels).
    kernels: str = "current"
    experts: str = "auto"  # an MoE model's experts: "tp" sharded, "ep" spread (perf_model)


@dataclass(frozen=True, slots=True)
class Validated:
    point: PublishedPoint
    predicted: float

    @property
    def error(self) -> float:
        """Signed relative error: (predicted - measured) / measured."""
        return (self.predicted - self.point.measured) / self.point.measured


@cache
def load_points() -> tuple[PublishedPoint, ...]:
    from tokenomy.selfhost.architectures import get_model
    from tokenomy.selfhost.hardware import get_gpu

    points: list[PublishedPoint] = []
    for row in read_table("published_points.toml", "point"):
        source, day = row.provenance()
        metric = row.text("metric")
        if metric not in METRICS:
            raise row.fail(f"'metric' must be one of {METRICS}, got {metric!r}")
        spec = None
        if "acceptance" in row.data:
            spec = Speculation(
                row.number("acceptance"),
                row.integer("draft_len"),
                row.number("draft_cost", zero_ok=True),
            )
        elif metric == "spec_speedup":
            raise row.fail("a spec_speedup point needs acceptance, draft_len and draft_cost")
        held_out = row.data.get("held_out", False)
        if not isinstance(held_out, bool):
            raise row.fail("'held_out' must be true or false")
        point = PublishedPoint(
            id=row.text("id"),
            model=row.text("model"),
            gpu=row.text("gpu"),
            gpus=row.integer("gpus"),
            precision=row.text("precision"),
            input_len=row.integer("input_len"),
            output_len=row.integer("output_len"),
            concurrency=row.integer("concurrency", minimum=0),
            phase=row.text("phase"),
            metric=metric,
            measured=row.number("measured"),
            engine=row.text("engine"),
            source=source,
            date=day,
            speculation=spec,
            attention_parallel=row.text("attention_parallel", "tp"),
            requests=row.integer("requests", 0, minimum=0),
            lengths=row.text("lengths", "fixed"),
            held_out=held_out,
            host=row.text("host", "serial"),
            kv_precision=row.text("kv_precision") if "kv_precision" in row.data else "",
            kernels=row.text("kernels", "current"),
            experts=row.text("experts", "auto"),
        )
        if point.experts not in EXPERT_PARALLEL:
            raise row.fail(
                f"'experts' must be one of {', '.join(EXPERT_PARALLEL)}, got {point.experts!r}"
            )
        if point.kernels not in KERNELS:
            raise row.fail(f"'kernels' must be one of {', '.join(KERNELS)}, got {point.kernels!r}")
        if point.kv_precision and point.kv_precision not in KV_DTYPES:
            raise row.fail(f"'kv_precision' must be one of {', '.join(KV_DTYPES)}")
        if point.host not in HOSTS:
            raise row.fail(f"'host' must be one of {', '.join(HOSTS)}, got {point.host!r}")
        if point.lengths not in ("fixed", "sharegpt"):
            raise row.fail(f"'lengths' must be fixed or sharegpt, got {point.lengths!r}")
        if point.lengths != "fixed" and not point.requests:
            raise row.fail("'lengths' is for finite benchmarks (requests = N)")
        try:
            get_model(point.model)
            get_gpu(point.gpu)
        except DataFileError as exc:
            raise row.fail(str(exc)) from exc
        points.append(point)
    if len({p.id for p in points}) != len(points):
        raise DataFileError("tokenomy/data/published_points.toml: duplicate point ids")
    return tuple(points)


@cache
def cross_validated_error() -> tuple[float, int]:
    """The shipped calibration's error held out by source: the leave-one-source-out median
    |error| of its fitting procedure and the number of points it was measured on, as the
    ``[calibration]`` table states them (``bench/validate_selfhost.py --loso`` measures them;
    too slow to run per estimate)."""
    import tomllib
    from importlib import resources

    text = resources.files("tokenomy.data").joinpath("published_points.toml").read_text("utf-8")
    table = tomllib.loads(text).get("calibration", {})
    error, points = table.get("loso_median_abs_error"), table.get("loso_points")
    if not isinstance(error, float) or not 0 < error < 10 or not isinstance(points, int):
        raise DataFileError(
            "tokenomy/data/published_points.toml [calibration]: loso_median_abs_error (a "
            "fraction) and loso_points (a count) are required"
        )
    return error, points


def fitted_points() -> tuple[PublishedPoint, ...]:
    """The 24 original points (not marked held out): the first fit's, in-sample now as every
    point is."""
    return tuple(p for p in load_points() if not p.held_out)


def held_out_points() -> tuple[PublishedPoint, ...]:
    """Points added after the first fit (``held_out = true``); the shipped calibration is
    fitted on them too (out of sample only within leave-one-source-out)."""
    return tuple(p for p in load_points() if p.held_out)


@cache
def _finite_lengths(point: PublishedPoint) -> tuple[tuple[int, ...], tuple[int, ...]]:
    from tokenomy.selfhost.simulate import fixed_lengths, scaled_lengths, sharegpt_lengths

    if point.lengths == "sharegpt":
        ins, outs = scaled_lengths(
            sharegpt_lengths(point.requests), point.input_len, point.output_len
        )
    else:
        ins, outs = fixed_lengths(point.requests, point.input_len, point.output_len)
    return tuple(ins), tuple(outs)


@cache
def _simulated(point: PublishedPoint, calibration: Calibration | None) -> float:
    """A finite benchmark's output tokens/s per GPU from the engine simulator (cached: the
    leave-one-source-out grid search asks for the same point and calibration once per fold)."""
    from tokenomy.selfhost.simulate import simulate_serving

    ins, outs = _finite_lengths(point)
    result = simulate_serving(
        point.model,
        point.gpu,
        point.gpus,
        input_lens=ins,
        output_lens=outs,
        precision=point.precision,
        kv_precision=point.kv_precision,
        calibration=calibration,
        attention_parallel=point.attention_parallel,
        experts=point.experts,
        concurrency=point.concurrency or None,
    )
    return result.output_tps_per_gpu


def predict(point: PublishedPoint, calibration: Calibration | None = None) -> float:
    """The model's value of ``point.metric`` for the point's set-up: the steady-state model's,
    or for a finite benchmark (``requests`` > 0) the engine simulator's."""
    # The host mode is the source's, whatever the calibration's engine row says.
    calibration = calibration or load_calibration()
    calibration = replace(calibration, early_mla_kernels=point.kernels == "early-2025")
    if point.host == "none":
        calibration = replace(calibration, sequence_overhead_s=0.0, frontend_overhead_s=0.0)
    else:
        calibration = replace(calibration, host=point.host)
    if point.requests and point.metric == "output_tps_per_gpu":
        return _simulated(point, calibration)
    est = serving_estimate(
        point.model,
        point.gpu,
        point.gpus,
        speculation=point.speculation,
        precision=point.precision,
        input_len=point.input_len,
        output_len=point.output_len,
        concurrency=point.concurrency or None,
        phase=point.phase,
        calibration=calibration,
        attention_parallel=point.attention_parallel,
        experts=point.experts,
        kv_precision=point.kv_precision,
    )
    if point.metric == "spec_speedup":
        return est.speculative_speedup
    if point.metric == "output_tps_per_gpu":
        return est.output_tps_per_gpu
    if point.metric == "input_tps_per_gpu":
        return est.input_tps / est.gpus
    return est.tpot_s * 1e3


def validate(
    points: Iterable[PublishedPoint] | None = None, calibration: Calibration | None = None
) -> list[Validated]:
    """Each point beside its prediction; with no points, the original set (``fitted_points()``)."""
    return [Validated(p, predict(p, calibration)) for p in (points or fitted_points())]


def median_abs_error(results: Iterable[Validated], *, speculative: bool | None = None) -> float:
    """Median of |error| over the results (``speculative`` filters on spec_speedup points)."""
    errors = [
        abs(r.error)
        for r in results
        if speculative is None or (r.point.metric == "spec_speedup") == speculative
    ]
    return statistics.median(errors) if errors else float("nan")


def percentile_abs_error(results: Iterable[Validated], q: float) -> float:
    """The ``q``-th percentile (0-100, nearest rank) of |error|."""
    errors = sorted(abs(r.error) for r in results)
    if not errors:
        return float("nan")
    return errors[max(math.ceil(q / 100 * len(errors)) - 1, 0)]


def source_balanced_error(results: Iterable[Validated]) -> float:
    """The median |error| with each point weighted 1 / its source's point count, so every
    source counts alike (the calibration fit's objective: one source with half the points
    would otherwise set every shared parameter to its own set-up's quirks)."""
    results = list(results)
    if not results:
        return float("nan")
    count = Counter(r.point.source for r in results)
    ranked = sorted((abs(r.error), 1.0 / count[r.point.source]) for r in results)
    seen = 0.0
    for error, weight in ranked:
        seen += weight
        if seen >= len(count) / 2:
            return error
    return ranked[-1][0]


def family(point: PublishedPoint) -> str:
    """The family a point is scored in: latency (a time per token at a concurrency), prefill,
    finite benchmark (N requests sent at once and run to completion, ``requests`` > 0), AMD
    (any AMD GPU), MoE or dense."""
    from tokenomy.selfhost.architectures import get_model

    if point.metric == "tpot_ms":
        return "latency"
    if point.metric == "input_tps_per_gpu":
        return "prefill"
    if point.requests:
        return "finite benchmark"
    if point.gpu.startswith("mi"):
        return "AMD"
    return "MoE" if get_model(point.model).is_moe else "dense"


def leave_one_source_out(
    points: Sequence[PublishedPoint], fit: Callable[[list[PublishedPoint]], Calibration]
) -> list[tuple[Validated, str]]:
    """Cross-validation that cannot flatter itself: for each source, ``fit`` the calibration on
    every other source's points and predict that source's points. Returns each point's
    out-of-sample prediction with the source it was held out with."""
    out: list[tuple[Validated, str]] = []
    for source in dict.fromkeys(p.source for p in points):
        train = [p for p in points if p.source != source]
        if not train:
            raise ValueError("leave-one-source-out needs points from at least two sources")
        calibration = fit(train)
        held = [p for p in points if p.source == source]
        out += [(v, source) for v in validate(held, calibration)]
    return out
