"""GPUs: compute, memory and interconnect figures, and a dated rental price (data/gpus.toml)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import cache

from tokenomy.selfhost.datafile import DataFileError, read_table

__all__ = ["PRECISIONS", "Gpu", "get_gpu", "load_gpus"]

# Bytes per weight (and per KV element) for each precision tokenomy models.
PRECISIONS: dict[str, float] = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}
_VISIBLE = 0.99  # share of a GPU's memory left to processes after the driver's reservation


@dataclass(frozen=True, slots=True)
class Gpu:
    name: str
    label: str
    memory_gb: float
    bandwidth_tbs: float
    bf16_tflops: float
    fp8_tflops: float  # 0: no FP8 tensor cores
    fp4_tflops: float  # 0: no FP4 tensor cores
    interconnect_gbs: float  # per GPU, one direction
    price_per_hour: float
    price_source: str
    price_date: date
    source: str
    date: date
    nvlink_domain: int = 8  # GPUs one NVLink/Infinity Fabric domain joins (GB200 NVL72: 72)

    @property
    def memory_bytes(self) -> float:
        """Memory a process sees. HBM sold as "80 GB" is 80 GiB (81,920 MiB on an A100 80GB);
        the driver and ECC keep about 1% of it (PyTorch reports 79.2 GiB there)."""
        return self.memory_gb * 2**30 * _VISIBLE

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth in bytes/s."""
        return self.bandwidth_tbs * 1e12

    def flops(self, precision: str) -> float:
        """Dense peak FLOP/s for matmuls at ``precision``. A GPU without that format's tensor
        cores runs weight-only kernels (Marlin's W8A16 / W4A16, Triton's MXFP4 MoE on Hopper):
        the weights are widened to bf16 in the kernel and the math runs at the bf16 peak."""
        tflops = {"fp4": self.fp4_tflops, "fp8": self.fp8_tflops}.get(precision, 0.0)
        return (tflops or self.bf16_tflops) * 1e12

    def with_price(self, price_per_hour: float, source: str = "user override") -> Gpu:
        if price_per_hour <= 0:
            raise ValueError(f"GPU price must be > 0 $/hour, got {price_per_hour}")
        return replace(
            self, price_per_hour=price_per_hour, price_source=source, price_date=date.today()
        )


@cache
def load_gpus() -> dict[str, Gpu]:
    """Every GPU in data/gpus.toml by name, validated (a bad row raises DataFileError)."""
    gpus: dict[str, Gpu] = {}
    for row in read_table("gpus.toml", "gpu"):
        source, day = row.provenance()
        gpu = Gpu(
            name=row.text("name"),
            label=row.text("label"),
            memory_gb=row.number("memory_gb"),
            bandwidth_tbs=row.number("bandwidth_tbs"),
            bf16_tflops=row.number("bf16_tflops"),
            fp8_tflops=row.number("fp8_tflops", 0, zero_ok=True),
            fp4_tflops=row.number("fp4_tflops", 0, zero_ok=True),
            interconnect_gbs=row.number("interconnect_gbs"),
            price_per_hour=row.number("price_per_hour"),
            price_source=row.text("price_source"),
            price_date=row.day("price_date"),
            source=source,
            date=day,
            nvlink_domain=row.integer("nvlink_domain", 8),
        )
        if gpu.name in gpus:
            raise row.fail("duplicate name")
        # The ridge point of real accelerators lies between ~25 and ~1000 FLOP/byte (the H20,
        # compute cut for export, is lowest at 37): a value outside it is a unit slip (GB/s
        # typed as TB/s, sparse TFLOPS, ...).
        ridge = gpu.bf16_tflops / gpu.bandwidth_tbs
        if not 25 <= ridge <= 1000:
            raise row.fail(f"bf16_tflops / bandwidth_tbs = {ridge:.0f} FLOP/B is implausible")
        gpus[gpu.name] = gpu
    return gpus


def get_gpu(name: str) -> Gpu:
    gpus = load_gpus()
    key = name.lower().replace("_", "-")
    if key not in gpus:
        raise DataFileError(f"unknown GPU {name!r}; known: {', '.join(sorted(gpus))}")
    return gpus[key]
