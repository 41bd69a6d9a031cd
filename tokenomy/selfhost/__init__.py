"""Self-hosting: what a token costs on your own GPUs, and when that beats an API.

GPU and model-architecture data (validated data files), a calibrated serving-cost model with
MoE, MLA, quantisation, parallelism and speculative decoding, break-even against API prices,
and a load generator for OpenAI-compatible endpoints.
"""

from __future__ import annotations

from tokenomy.selfhost.architectures import Architecture, get_model, load_models
from tokenomy.selfhost.datafile import DataFileError
from tokenomy.selfhost.hardware import Gpu, get_gpu, load_gpus
from tokenomy.selfhost.perf_model import (
    Calibration,
    Deployment,
    DoesNotFitError,
    Estimate,
    InvalidParallelismError,
    load_calibration,
    load_engine,
    load_engines,
    serving_estimate,
)
from tokenomy.selfhost.speculative import Speculation, expected_tokens_per_step
from tokenomy.selfhost.validation import load_points, median_abs_error, validate

__all__ = [
    "Architecture",
    "Calibration",
    "DataFileError",
    "Deployment",
    "DoesNotFitError",
    "Estimate",
    "Gpu",
    "InvalidParallelismError",
    "Speculation",
    "expected_tokens_per_step",
    "get_gpu",
    "get_model",
    "load_calibration",
    "load_engine",
    "load_engines",
    "load_gpus",
    "load_models",
    "load_points",
    "median_abs_error",
    "serving_estimate",
    "validate",
]
