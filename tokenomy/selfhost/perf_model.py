"""The serving-cost model: engine step times from FLOPs and bytes, calibrated.

A decode step of ``B`` sequences costs, on ``N`` GPUs (tensor / expert parallel):

    T = max(GEMM FLOPs / (N·F·η_F),  weight bytes read / (N·BW·η_B))      # the linear layers
      + max(attention FLOPs / (N·F·η_F),  KV bytes read / (N'·BW·η_B))   # attention
      + collectives (TP all-reduce, EP all-to-all) + fixed and per-layer step overhead
      + host work per token scored (sampling, detokenisation, streaming) × B (× γ+1 verifying)

with MoE weight bytes from the expected number of distinct experts the batch touches. The
roofline alone under-predicts measured engines by 1.3-3x (sim-to-real validation), so the
efficiencies and overheads are fitted to published measurements (data/published_points.toml,
``[calibration]``) and the remaining error is reported beside every estimate.

Throughput at a concurrency ``C`` follows continuous batching in steady state: each of the C
requests is prefilled once and decoded ``output_len`` times, so one cycle takes
``C·T_prefill(input_len) + output_len·T_decode(C, mean context)``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from tokenomy.selfhost.architectures import Architecture, get_model
from tokenomy.selfhost.datafile import DataFileError, read_table
from tokenomy.selfhost.hardware import PRECISIONS, Gpu, get_gpu
from tokenomy.selfhost.speculative import Speculation

__all__ = [
    "KV_DTYPES",
    "Calibration",
    "Deployment",
    "DoesNotFitError",
    "Estimate",
    "InvalidParallelismError",
    "load_calibration",
    "load_engine",
    "load_engines",
    "serving_estimate",
]


class DoesNotFitError(ValueError):
    """The set-up is impossible: the weights, or one sequence's KV cache, exceed memory."""


class InvalidParallelismError(DoesNotFitError):
    """The GPU count cannot split the model's attention heads (or KV heads) tensor-parallel."""


# KV-cache element types an engine can store (vLLM's --kv-cache-dtype, SGLang's
# --kv-cache-dtype): bytes per element. fp16 and bf16 take the same space.
KV_DTYPES: dict[str, str] = {"fp16": "bf16", "bf16": "bf16", "fp8": "fp8"}
ATTENTION_PARALLEL = ("tp", "dp")
HOST_MODES = ("serial", "split", "overlapped")  # Calibration.host
# How an MoE model's experts sit on the GPUs: "tp" (every expert sharded over them; the
# engines' default within a node), "ep" (whole experts spread over them, all-to-all dispatch
# and combine) or "auto" (ep across nodes, as DeepEP deployments run, tp within one).
EXPERT_PARALLEL = ("auto", "tp", "ep")
_SAMPLER_SEQS = 1024  # vLLM profiles the sampler with max_num_seqs (1024 on >= 70 GB GPUs)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Achieved fractions of peak and fixed costs, fitted to published measurements."""

    prefill_compute_efficiency: float  # η_F for prefill GEMMs
    decode_compute_efficiency: float  # η_F for decode GEMMs and attention
    bandwidth_efficiency: float  # η_B: achieved share of HBM bandwidth
    step_overhead_s: float  # scheduler, sampling, launch: per engine step
    layer_overhead_s: float  # kernel launches and small ops: per layer per step
    collective_latency_s: float  # fixed latency of one all-reduce / all-to-all
    memory_utilisation: float  # share of GPU memory the engine may use (vLLM default 0.9)
    activation_reserve_gb: float  # per GPU, fixed: non-torch allocations (NCCL, cuBLAS, ...)
    max_batch: int  # the engine's largest running batch (scheduler cap)
    network_gbs: float  # per GPU, one direction, between nodes (400 Gb/s InfiniBand = 50)
    moe_imbalance: float  # max-loaded GPU's expert traffic over the mean under EP
    fitted_on: str = ""
    source: str = ""
    # The engine's memory policy (data/engines.toml): "total" = memory_utilisation of the whole
    # GPU holds weights, profiled activations and KV (vLLM, SGLang); "free" = the KV cache takes
    # memory_utilisation of what is left after weights and activations (TensorRT-LLM).
    engine: str = "vllm"
    engine_label: str = "vLLM"
    memory_policy: str = "total"
    activations_in_budget: bool = True  # the profiled activation peak comes out of the budget
    max_batched_tokens: int = 8192  # tokens per forward pass the engine profiles / chunks
    # Host (CPU) work per token scored per engine step (one per running sequence, γ + 1 when
    # verifying a speculative draft), serial with the GPU: sampling,
    # detokenisation, output processing and streaming in a Python engine / API server. Zero
    # for a native executor driven offline (trtllm-bench); fitted like the efficiencies.
    sequence_overhead_s: float = 0.0
    # How that host work sits beside the GPU step (HOST_MODES), as the published points' `host`
    # says: "split" (vLLM V1: the engine core runs it in turn with the step, the API server in
    # its own process), "overlapped" (SGLang's overlap scheduler, trtllm-serve, vLLM
    # --async-scheduling: it runs for the next step while the GPU runs this one, a step takes
    # the longer of the two) or "serial" (one process in turn: the API server's share too).
    host: str = "split"
    # Achieved share of the bf16 tensor-core peak in decode attention when its FLOPs, not its
    # KV reads, set the time (MLA's absorbed attention at long context, or a speculative
    # verify scoring several tokens a sequence): a kernel fact, not fitted. 0 = the decode
    # GEMM efficiency (the model before 2026-12-02).
    attention_compute_efficiency: float = 0.0
    # Host work per token scored in the API server (detokenising, streaming). In its own
    # process (vLLM V1, SGLang, trtllm-serve) it holds no step back: when it falls behind, a
    # request's pending outputs are merged into one chunk (vLLM V1's output collector) and it
    # catches up, so it bounds nothing. In a one-process engine (host "serial": vLLM V0,
    # SGLang before its overlap scheduler) it runs in the loop with sequence_overhead_s.
    frontend_overhead_s: float = 0.0
    # DeepSeek's MLA and block-scaled FP8 MoE layers on the first generic kernels engines ran
    # them with (Triton MLA decode, Triton block-FP8 GEMMs and fused MoE: SGLang <= 0.4.4,
    # vLLM <= 0.8.2, TensorRT-LLM <= 0.18, early 2025), before FlashMLA and DeepGEMM became
    # their defaults. early_mla_kernels marks an engine (or a published point) that ran them;
    # early_mla_kernel_efficiency is the share of today's GPU step rate they reach (a step's
    # kernels, collectives and launches together: at batch 1 those engines took 21-42 ms a
    # step where the model's collectives and launches take 7), fitted on the points so
    # marked. Models without MLA are unaffected.
    early_mla_kernels: bool = False
    early_mla_kernel_efficiency: float = 1.0


_FRACTIONS = (
    "prefill_compute_efficiency",
    "decode_compute_efficiency",
    "bandwidth_efficiency",
    "memory_utilisation",
)


def _check(cal: Calibration, where: str) -> Calibration:
    for name in _FRACTIONS:
        if not 0 < getattr(cal, name) <= 1:
            raise DataFileError(f"{where}: {name} must be in (0, 1]")
    if cal.memory_policy not in ("total", "free"):
        raise DataFileError(f"{where}: memory_policy must be total or free")
    if cal.max_batch < 1 or cal.max_batched_tokens < 1:
        raise DataFileError(f"{where}: max_batch and max_batched_tokens must be >= 1")
    if cal.sequence_overhead_s < 0 or cal.frontend_overhead_s < 0:
        raise DataFileError(f"{where}: sequence_overhead_s and frontend_overhead_s must be >= 0")
    if cal.host not in HOST_MODES:
        raise DataFileError(f"{where}: host must be one of {', '.join(HOST_MODES)}")
    if not 0 <= cal.attention_compute_efficiency <= 1:
        raise DataFileError(f"{where}: attention_compute_efficiency must be in [0, 1]")
    if not 0 < cal.early_mla_kernel_efficiency <= 1:
        raise DataFileError(f"{where}: early_mla_kernel_efficiency must be in (0, 1]")
    return cal


@cache
def _fitted() -> Calibration:
    """The ``[calibration]`` table of data/published_points.toml (the shared fit)."""
    text = resources.files("tokenomy.data").joinpath("published_points.toml").read_text("utf-8")
    table = tomllib.loads(text).get("calibration")
    if not isinstance(table, dict):
        raise DataFileError("tokenomy/data/published_points.toml: no [calibration] table")
    try:
        values = {k: table[k] for k in Calibration.__dataclass_fields__ if k in table}
        cal = Calibration(**values)
    except TypeError as exc:
        raise DataFileError(f"tokenomy/data/published_points.toml [calibration]: {exc}") from exc
    return _check(cal, "tokenomy/data/published_points.toml [calibration]")


_ENGINE_META = ("name", "label", "version", "source", "date")


@cache
def load_engines() -> dict[str, Calibration]:
    """Every row of data/engines.toml by name: the shared fit with the row's overrides."""
    base = _fitted()
    engines: dict[str, Calibration] = {}
    fields = set(Calibration.__dataclass_fields__) - {
        "engine",
        "engine_label",
        "source",
        "fitted_on",
    }
    for row in read_table("engines.toml", "engine"):
        row.provenance()
        name = row.text("name")
        unknown = set(row.data) - fields - set(_ENGINE_META)
        if unknown:
            raise row.fail(f"unknown field(s) {', '.join(sorted(unknown))}")
        overrides = {k: v for k, v in row.data.items() if k in fields}
        for key, value in overrides.items():
            kind = type(getattr(base, key))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                overrides[key] = float(value)
            elif not isinstance(overrides[key], kind):
                raise row.fail(f"'{key}' must be {kind.__name__}, got {value!r}")
        label = row.text("label")
        version = row.data.get("version")
        cal = replace(
            base,
            **overrides,
            engine=name,
            engine_label=f"{label} {version}" if version else label,
            source=f"{base.source}; engine row: {row.text('source')}",
        )
        if name in engines:
            raise row.fail("duplicate name")
        engines[name] = _check(cal, row.where)
    return engines


def load_engine(name: str) -> Calibration:
    """The calibration of one engine profile (``vllm``, ``sglang``, ``tensorrt-llm``)."""
    engines = load_engines()
    key = name.lower().replace("_", "-")
    aliases = {"trt-llm": "tensorrt-llm", "trtllm": "tensorrt-llm"}
    key = aliases.get(key, key)
    if key not in engines:
        raise DataFileError(f"unknown engine {name!r}; known: {', '.join(engines)}")
    return engines[key]


@cache
def load_calibration() -> Calibration:
    """The default engine profile: the first row of data/engines.toml (vLLM) over the fit."""
    return next(iter(load_engines().values()))


@dataclass(frozen=True, slots=True)
class Deployment:
    """A model served on ``gpus`` GPUs of one kind at a precision."""

    model: Architecture
    gpu: Gpu
    gpus: int = 1
    precision: str = "bf16"  # weights and GEMM compute
    kv_precision: str = ""  # "" = the weights' precision, but never below fp8
    calibration: Calibration = field(default_factory=load_calibration)
    attention_parallel: str = "tp"  # "tp": heads split over the GPUs; "dp": one GPU a sequence
    experts: str = "auto"  # EXPERT_PARALLEL

    def __post_init__(self) -> None:
        if self.gpus < 1:
            raise ValueError(f"gpus must be >= 1, got {self.gpus}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {sorted(PRECISIONS)}, got {self.precision!r}"
            )
        if self.kv_precision and self.kv_precision not in KV_DTYPES:
            raise ValueError(
                f"KV-cache dtype must be one of {', '.join(KV_DTYPES)}, got {self.kv_precision!r}"
            )
        if self.attention_parallel not in ATTENTION_PARALLEL:
            raise ValueError(
                f"attention parallelism must be tp or dp, got {self.attention_parallel!r}"
            )
        if self.experts not in EXPERT_PARALLEL:
            raise ValueError(f"experts must be auto, tp or ep, got {self.experts!r}")

    def check_parallelism(self) -> None:
        """Tensor-parallel attention gives each GPU whole heads: the GPU count must divide the
        attention heads, and the KV heads must split evenly (or be replicated evenly) over it,
        as vLLM and SGLang require. Data-parallel attention keeps heads whole on every GPU."""
        m, n = self.model, self.gpus
        if n == 1 or self.dp_attention:
            return
        kv = m.kv_heads if m.attention != "mla" else 0
        kv_ok = not kv or (n % kv == 0 if n >= kv else kv % n == 0)
        if m.heads % n == 0 and kv_ok:
            return
        valid = [
            d
            for d in range(1, m.heads + 1)
            if m.heads % d == 0 and (not kv or (d % kv == 0 if d >= kv else kv % d == 0))
        ]
        kv_text = f" and {kv} KV heads" if kv else ""
        hint = " (or data-parallel attention: --attention dp)" if m.attention == "mla" else ""
        raise InvalidParallelismError(
            f"{m.label} has {m.heads} attention heads{kv_text}: tensor parallel cannot split "
            f"them over {n} GPUs; use {', '.join(map(str, valid))} GPUs{hint}"
        )

    @classmethod
    def of(
        cls,
        model: str,
        gpu: str,
        gpus: int = 1,
        precision: str = "",
        kv_precision: str = "",
        price_per_hour: float | None = None,
        calibration: Calibration | None = None,
        attention_parallel: str = "tp",
        experts: str = "auto",
    ) -> Deployment:
        arch, card = get_model(model), get_gpu(gpu)
        if price_per_hour is not None:
            card = card.with_price(price_per_hour)
        return cls(
            arch,
            card,
            gpus,
            precision or arch.native_precision,
            kv_precision,
            calibration or load_calibration(),
            attention_parallel,
            experts,
        )

    # -- sizes ------------------------------------------------------------------------------
    @property
    def kv_bytes_name(self) -> str:
        if self.kv_precision:
            return KV_DTYPES[self.kv_precision]
        return "fp8" if self.precision == "fp4" else self.precision

    @property
    def dp_attention(self) -> bool:
        return self.attention_parallel == "dp" and self.gpus > 1

    @property
    def spans_nodes(self) -> bool:
        """More GPUs than one NVLink (Infinity Fabric) domain joins: collectives cross the
        network between nodes."""
        return self.gpus > self.gpu.nvlink_domain

    @property
    def expert_parallel(self) -> bool:
        """Whole experts spread over the GPUs (all-to-all) rather than each one sharded."""
        if not self.model.is_moe or self.gpus == 1:
            return False
        if self.experts == "auto":
            return self.spans_nodes
        return self.experts == "ep"

    @property
    def kernel_rate(self) -> float:
        """The share of the fitted GPU step rate (kernels, collectives and launches together)
        this engine reaches on this model: below 1 only for an MLA model on the early-2025
        kernels (see Calibration)."""
        cal = self.calibration
        if cal.early_mla_kernels and self.model.attention == "mla":
            return cal.early_mla_kernel_efficiency
        return 1.0

    @property
    def weight_bytes(self) -> float:
        return PRECISIONS[self.precision]

    @property
    def kv_bytes(self) -> float:
        return PRECISIONS[self.kv_bytes_name]

    @property
    def kv_shards(self) -> int:
        """How many GPUs one sequence's KV cache is split over. GQA shards by KV head under
        TP (a head is replicated beyond that). MLA's single latent is not split by TP: under
        tensor-parallel attention every GPU holds the whole latent of every sequence (no N-fold
        capacity); under data-parallel attention each sequence lives on one GPU."""
        if self.dp_attention or self.model.attention == "mla":
            return 1
        return min(self.gpus, self.model.kv_heads)

    @property
    def sequence_groups(self) -> int:
        """Independent KV pools: N under data-parallel attention, else 1."""
        return self.gpus if self.dp_attention else 1

    @property
    def replicated_params(self) -> float:
        """Weights every GPU holds whole: with data-parallel attention the attention weights
        are copied (for MoE models all but the routed experts, as DeepSeek and SGLang run it)."""
        if not self.dp_attention:
            return 0.0
        m = self.model
        return float(m.resident_dense_params if m.is_moe else m.layers * m.attention_params)

    @property
    def activation_bytes_per_gpu(self) -> float:
        """The activation peak an engine profiles: one forward pass of max_batched_tokens
        tokens (the widest FFN intermediate, gate and up plus the activated half, and a few
        hidden-sized buffers) or the sampler's FP32 logits, whichever is larger."""
        m, cal = self.model, self.calibration
        widest = max(
            m.intermediate if m.dense_ffn_layers else 0,
            m.active_experts * m.moe_intermediate if m.is_moe else 0,
        )
        forward = cal.max_batched_tokens * (3 * widest / self.gpus + 6 * m.hidden) * 2
        sampler = min(cal.max_batch, _SAMPLER_SEQS) * m.vocab * 4 * 2
        return max(forward, sampler)

    @property
    def weights_per_gpu(self) -> float:
        split = self.model.total_params - self.replicated_params
        return (self.replicated_params + split / self.gpus) * self.weight_bytes

    @property
    def kv_budget_per_gpu(self) -> float:
        """Bytes each GPU gives the KV cache under the engine's memory policy."""
        cal = self.calibration
        fixed = cal.activation_reserve_gb * 1e9
        activations = self.activation_bytes_per_gpu
        if cal.memory_policy == "free":  # TensorRT-LLM: a fraction of what is left
            free = self.gpu.memory_bytes - self.weights_per_gpu - activations - fixed
            return free * cal.memory_utilisation if free > 0 else free
        budget = self.gpu.memory_bytes * cal.memory_utilisation - self.weights_per_gpu - fixed
        return budget - activations if cal.activations_in_budget else budget

    def check_fits(self) -> None:
        self.check_parallelism()
        if self.kv_budget_per_gpu <= 0:
            need = self.model.total_params * self.weight_bytes / 1e9
            have = self.gpus * self.gpu.memory_bytes / 1e9 * self.calibration.memory_utilisation
            fewest = next(
                (
                    n
                    for n in range(self.gpus + 1, 4097)
                    if replace(self, gpus=n).kv_budget_per_gpu > 0
                    and _splits(replace(self, gpus=n))
                ),
                None,
            )
            raise DoesNotFitError(
                f"{self.model.label} at {self.precision} needs {need:,.0f} GB of weights; "
                f"{self.gpus}x {self.gpu.label} leave {have:,.0f} GB usable "
                f"({self.calibration.memory_utilisation:.0%}) with no room for a KV cache. "
                f"Use {f'at least {fewest} GPUs' if fewest else 'more GPUs'}, a narrower "
                f"precision, or a larger GPU."
            )

    def kv_bytes_per_sequence(self, context: float) -> float:
        """KV bytes one sequence of ``context`` tokens takes on each GPU that holds it."""
        return self.model.kv_elements(context) * self.kv_bytes / self.kv_shards

    def kv_pool_tokens(self) -> int:
        """Tokens of context one KV pool holds (what vLLM logs as 'GPU KV cache size')."""
        self.check_fits()
        return int(self.kv_budget_per_gpu // self.kv_bytes_per_sequence(1))

    def max_concurrency(self, context: float) -> int:
        """The most sequences of mean ``context`` tokens whose KV cache fits in memory."""
        self.check_fits()
        per_pool = int(self.kv_budget_per_gpu // self.kv_bytes_per_sequence(context))
        return per_pool * self.sequence_groups

    # -- step times -------------------------------------------------------------------------
    def _collective(self, bytes_per_gpu: float, all_reduce: bool) -> float:
        n = self.gpus
        if n == 1:
            return 0.0
        gbs = self.calibration.network_gbs if self.spans_nodes else self.gpu.interconnect_gbs
        link = gbs * 1e9
        # Ring all-reduce moves 2(N-1)/N of the data per GPU; all-to-all (N-1)/N of it.
        factor = 2 * (n - 1) / n if all_reduce else (n - 1) / n
        return self.calibration.collective_latency_s + factor * bytes_per_gpu / link

    def _copies_per_token(self) -> float:
        """Copies of a token's activation an all-to-all sends to other GPUs. Inside a node each
        of the k experts gets one; across nodes (DeepEP's hierarchical kernels) a token crosses
        the network once per distinct remote node and fans out over NVLink there."""
        k, n, domain = self.model.active_experts, self.gpus, self.gpu.nvlink_domain
        if not self.spans_nodes:
            return float(k)
        nodes = n / domain
        touched = nodes * (1 - (1 - 1 / nodes) ** k)
        return touched * (nodes - 1) / nodes * n / (n - 1)  # _collective applies (n-1)/n

    def communication_time(self, tokens: float) -> float:
        """Per forward pass over ``tokens`` tokens: for an MoE model, expert-parallel
        all-to-alls (dispatch and combine per MoE layer) or, with the experts sharded, the
        reduction of each MoE layer's output (an all-reduce; under data-parallel attention an
        all-gather of the tokens before and a reduce-scatter after, the same bytes); and for
        tensor-parallel attention and dense layers, their all-reduces."""
        if self.gpus == 1:
            return 0.0
        m = self.model
        act = tokens * m.hidden * 2  # BF16 activations
        t = 0.0
        if m.is_moe:
            if self.expert_parallel:
                # Dispatch goes out at the GEMM precision (FP8 in DeepEP), combine comes back BF16.
                dispatch = tokens * m.hidden * min(self.weight_bytes, 2.0)
                per_gpu = (dispatch + act) / 2 * self._copies_per_token() / self.gpus
                t += 2 * m.moe_layers * self._collective(per_gpu, all_reduce=False)
            else:
                t += m.moe_layers * self._collective(act, all_reduce=True)
            if not self.dp_attention:  # tensor-parallel attention: one all-reduce a layer
                t += m.layers * self._collective(act, all_reduce=True)
            t += m.dense_layers * 2 * self._collective(act, all_reduce=True)
        else:
            t += 2 * m.layers * self._collective(act, all_reduce=True)
        return t

    def _linear_time(self, tokens: float, efficiency: float) -> float:
        m, cal, n = self.model, self.calibration, self.gpus
        peak = n * self.gpu.flops(self.precision) * efficiency
        bandwidth = self.gpu.bandwidth * cal.bandwidth_efficiency
        routed_active = m.moe_layers * m.active_experts * m.expert_params
        # Dense part (attention projections, dense FFNs, shared experts, LM head).
        replicated = self.replicated_params
        dense_read = (replicated + (m.resident_dense_params - replicated) / n) * self.weight_bytes
        dense = max(2.0 * (m.active_params - routed_active) * tokens / peak, dense_read / bandwidth)
        if not m.is_moe:
            return dense
        # Routed experts. Spread (EP): the most loaded GPU sets the pace, its tokens and its
        # experts both moe_imbalance times the mean (> 1 without EPLB). Sharded (TP): every GPU
        # computes an equal slice, so the factor only stretches the weight reads, where the
        # fused-MoE kernels fall short at a few tokens an expert.
        touched = min(m.expected_experts_touched(tokens) * cal.moe_imbalance, m.experts)
        expert_read = m.moe_layers * touched * m.expert_params * self.weight_bytes / n
        busiest = cal.moe_imbalance if self.expert_parallel else 1.0
        experts = max(2.0 * routed_active * tokens * busiest / peak, expert_read / bandwidth)
        return dense + experts

    def _with_communication(self, work: float, tokens: float) -> float:
        """Expert parallelism across nodes overlaps its all-to-alls with compute (DeepSeek's
        dual micro-batch, SGLang's two-batch overlap, as those deployments run it); within a
        node, and for every all-reduce, communication sits on the critical path."""
        comm = self.communication_time(tokens)
        if self.expert_parallel and self.spans_nodes:
            return max(work, comm)
        return work + comm

    def decode_step_time(self, batch: float, context: float, tokens_per_sequence: int = 1) -> float:
        """Seconds for one decode step of ``batch`` sequences with ``context`` cached tokens
        each, scoring ``tokens_per_sequence`` new tokens each (more than 1 when verifying a
        speculative draft: the weights and KV are read once, the FLOPs scale)."""
        m, cal, n = self.model, self.calibration, self.gpus
        tokens = batch * tokens_per_sequence
        linear = self._linear_time(tokens, cal.decode_compute_efficiency)
        attn_flops = tokens * m.decode_attention_flops(context)
        kv_read = batch * m.kv_elements(context) * self.kv_bytes
        readers = self.kv_shards * self.sequence_groups
        attn_eff = cal.attention_compute_efficiency or cal.decode_compute_efficiency
        attention = max(
            attn_flops / (n * self.gpu.flops("bf16") * attn_eff),
            kv_read / (readers * self.gpu.bandwidth * cal.bandwidth_efficiency),
        )
        overhead = cal.step_overhead_s + cal.layer_overhead_s * m.layers
        gpu = (self._with_communication(linear + attention, tokens) + overhead) / self.kernel_rate
        # Host work per token scored (sampling, detokenising, streaming each one; a speculative
        # verify scores γ + 1 per sequence): each data-parallel rank has its own scheduler. An
        # API server in its own process holds no step back; in a one-process engine it is
        # part of the loop.
        front = cal.frontend_overhead_s if cal.host == "serial" else 0.0
        host = (cal.sequence_overhead_s + front) * tokens / self.sequence_groups
        return max(gpu, host) if cal.host == "overlapped" else gpu + host

    def prefill_time(self, prompt: float, chunk: int = 8192) -> float:
        """Seconds of GPU time to prefill one prompt when prompts are batched into chunks of
        ``chunk`` tokens (compute-bound; weights are read once per chunk)."""
        if prompt <= 0:
            return 0.0
        m, cal, n = self.model, self.calibration, self.gpus
        # One forward pass takes a chunk per KV pool (per GPU under data-parallel attention).
        pass_tokens = max(float(chunk * self.sequence_groups), prompt)
        linear = self._linear_time(pass_tokens, cal.prefill_compute_efficiency)
        attention = (
            m.prefill_attention_flops(prompt)
            * pass_tokens
            / prompt
            / (n * self.gpu.flops("bf16") * cal.prefill_compute_efficiency)
        )
        work = self._with_communication(linear + attention, pass_tokens) / self.kernel_rate
        return work * prompt / pass_tokens


def _splits(dep: Deployment) -> bool:
    try:
        dep.check_parallelism()
    except InvalidParallelismError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Estimate:
    """What ``serving_estimate`` predicts for one set-up at one concurrency."""

    model: str
    gpu: str
    gpus: int
    precision: str
    input_len: int
    output_len: int
    concurrency: int
    max_concurrency: int  # what memory holds at this input/output length
    phase: str  # "both", "decode" (disaggregated decode only) or "prefill"
    decode_step_s: float  # one engine step at this concurrency (speculation included)
    ttft_s: float
    output_tps: float  # output tokens/s of the whole set-up
    input_tps: float
    speculation: str  # "" when off, else a description
    speculative_speedup: float  # output throughput with speculation / without (1.0 when off)
    price_per_hour: float  # per GPU
    utilisation: float
    prefill_share: float  # share of GPU time spent prefilling
    prefix_hit: float = 0.0  # share of each prompt served from the engine's prefix cache
    running: int = 0  # sequences the engine runs at once (< concurrency when requests queue)
    queue_wait_s: float = 0.0  # mean wait of a request before it is admitted (closed loop)
    kv_precision: str = ""  # the KV-cache dtype when given explicitly
    engine: str = "vllm"
    attention_parallel: str = ""  # "tp" / "dp" where it matters (MLA on several GPUs)
    experts: str = ""  # "tp" / "ep" where it matters (an MoE model on several GPUs)
    kv_pool_tokens: int = 0  # tokens of context one KV pool holds

    @property
    def batch(self) -> int:
        return self.running or self.concurrency

    @property
    def queued(self) -> int:
        return max(self.concurrency - self.batch, 0)

    @property
    def output_tps_per_gpu(self) -> float:
        return self.output_tps / self.gpus

    @property
    def output_tps_per_user(self) -> float:
        """Output tokens/s of one running request (a queued request waits, then gets this)."""
        return self.output_tps / self.batch if self.batch else 0.0

    @property
    def tpot_s(self) -> float:
        return 1.0 / self.output_tps_per_user if self.output_tps_per_user else math.inf

    @property
    def cost_per_hour(self) -> float:
        return self.gpus * self.price_per_hour

    def _per_million(self, tps: float, share: float) -> float:
        if tps <= 0:
            return math.inf
        return self.cost_per_hour * share * 1e6 / (3600 * tps * self.utilisation)

    @property
    def usd_per_m_output(self) -> float:
        """$ per million output tokens for the decode share of GPU time."""
        return self._per_million(self.output_tps, 1 - self.prefill_share)

    @property
    def usd_per_m_input(self) -> float:
        """$ per million input tokens for the prefill share of GPU time."""
        return self._per_million(self.input_tps, self.prefill_share)

    @property
    def usd_per_m_tokens(self) -> float:
        """All GPU time over all tokens, input and output."""
        return self._per_million(self.input_tps + self.output_tps, 1.0)

    def as_dict(self) -> dict[str, object]:
        """The estimate as a flat dict. Keys beyond the original set appear only when they
        carry something (queueing, a non-default engine, an explicit KV dtype), so the
        default ``--json`` keeps its shape."""
        out = {
            "model": self.model,
            "gpu": self.gpu,
            "gpus": self.gpus,
            "precision": self.precision,
            "input_len": self.input_len,
            "output_len": self.output_len,
            "concurrency": self.concurrency,
            "max_concurrency": self.max_concurrency,
            "phase": self.phase,
            "speculation": self.speculation,
            "speculative_speedup": round(self.speculative_speedup, 4),
            "output_tps": round(self.output_tps, 1),
            "output_tps_per_gpu": round(self.output_tps_per_gpu, 1),
            "output_tps_per_user": round(self.output_tps_per_user, 2),
            "input_tps": round(self.input_tps, 1),
            "ttft_ms": round(self.ttft_s * 1e3, 1),
            "tpot_ms": round(self.tpot_s * 1e3, 2),
            "price_per_gpu_hour": self.price_per_hour,
            "utilisation": self.utilisation,
            "prefix_hit": round(self.prefix_hit, 4),
            "usd_per_m_input": round(self.usd_per_m_input, 4),
            "usd_per_m_output": round(self.usd_per_m_output, 4),
            "usd_per_m_tokens": round(self.usd_per_m_tokens, 4),
        }
        if self.queued:
            out |= {
                "running_batch": self.batch,
                "queued": self.queued,
                "queue_wait_ms": round(self.queue_wait_s * 1e3, 1),
            }
        if self.engine != "vllm":
            out["engine"] = self.engine
        if self.kv_precision:
            out["kv_precision"] = self.kv_precision
        if self.attention_parallel:
            out["attention_parallel"] = self.attention_parallel
        if self.experts:
            out["experts"] = self.experts
        return out


def _throughput(
    dep: Deployment,
    concurrency: int,
    input_len: int,
    output_len: int,
    phase: str,
    spec: Speculation | None,
    prefix_hit: float = 0.0,
) -> tuple[float, float, float, float, float]:
    """(output tok/s, input tok/s, decode step seconds, prefill share, speculative speedup).

    ``prefix_hit``: the share of each prompt an engine's prefix cache (vLLM, SGLang) already
    holds; only the rest is prefilled, while decode still attends over the whole context."""
    context = input_len + output_len / 2
    plain_step = dep.decode_step_time(concurrency, context)
    step, tokens_per_step = plain_step, 1.0
    if spec is not None:
        step, tokens_per_step = spec.step(dep, concurrency, context)
    per_token = step / tokens_per_step  # seconds of decode per output token of each sequence
    fresh = round(input_len * (1 - prefix_hit))
    prefill = concurrency * dep.prefill_time(fresh) if phase != "decode" else 0.0
    decode = output_len * per_token if phase != "prefill" else 0.0
    cycle = prefill + decode
    out_tps = concurrency * output_len / cycle if phase != "prefill" else 0.0
    in_tps = concurrency * input_len / cycle if phase != "decode" else 0.0
    plain_cycle = prefill + output_len * plain_step if phase != "prefill" else cycle
    speedup = plain_cycle / cycle
    return out_tps, in_tps, per_token, prefill / cycle, speedup


def serving_estimate(
    model: str | Architecture,
    gpu: str | Gpu,
    gpus: int = 1,
    *,
    precision: str = "",
    input_len: int = 1024,
    output_len: int = 1024,
    concurrency: int | None = None,
    min_tps_per_user: float | None = None,
    phase: str = "both",
    speculation: Speculation | None = None,
    price_per_hour: float | None = None,
    utilisation: float = 1.0,
    kv_precision: str = "",
    calibration: Calibration | None = None,
    prefix_hit: float = 0.0,
    engine: str | None = None,
    attention_parallel: str = "tp",
    experts: str = "auto",
) -> Estimate:
    """Predict throughput and $ per million tokens for ``model`` on ``gpus`` x ``gpu``.

    ``concurrency=None`` picks the largest concurrency that memory and the engine hold (max
    throughput) or, with ``min_tps_per_user``, the largest that still gives every user that
    many output tokens/s. A ``concurrency`` above that runs as a real engine runs it: the
    engine keeps its largest batch running and the rest queue (``queued``, ``queue_wait_s``).
    ``engine`` picks a row of data/engines.toml (default: ``calibration``, else vLLM).
    Raises ``DoesNotFitError`` only for an impossible set-up: weights or one sequence's KV
    cache that do not fit, or a GPU count the attention heads cannot be split over.
    """
    if engine is not None:
        if calibration is not None:
            raise ValueError("give engine or calibration, not both")
        calibration = load_engine(engine)
    arch = get_model(model) if isinstance(model, str) else model
    card = get_gpu(gpu) if isinstance(gpu, str) else gpu
    if price_per_hour is not None:
        card = card.with_price(price_per_hour)
    if input_len < 0 or (output_len < 1 and phase != "prefill"):
        raise ValueError("input_len must be >= 0 and output_len >= 1")
    if not 0 < utilisation <= 1:
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation}")
    if phase not in ("both", "decode", "prefill"):
        raise ValueError(f"phase must be both, decode or prefill, got {phase!r}")
    if not 0 <= prefix_hit < 1:
        raise ValueError(f"prefix_hit must be in [0, 1), got {prefix_hit}")
    dep = Deployment(
        arch,
        card,
        gpus,
        precision or arch.native_precision,
        kv_precision,
        calibration or load_calibration(),
        attention_parallel,
        experts,
    )
    context = input_len + output_len / 2  # mean over a sequence's life (paged KV cache)
    limit = dep.max_concurrency(context)
    longest = input_len + output_len
    if dep.kv_bytes_per_sequence(longest) > dep.kv_budget_per_gpu:
        raise DoesNotFitError(
            f"{arch.label} fits on {gpus}x {card.label}, but one {input_len}+{output_len} "
            f"token sequence needs {dep.kv_bytes_per_sequence(longest) / 1e9:,.2f} GB of KV "
            f"cache and the engine's KV pool holds {dep.kv_budget_per_gpu / 1e9:,.2f} GB "
            f"({dep.kv_pool_tokens():,} tokens): use "
            f"more GPUs, --kv-dtype fp8, or shorter sequences"
        )
    limit = max(limit, dep.sequence_groups)  # a full-length sequence fits, so one runs per pool
    engine_cap = min(limit, dep.calibration.max_batch * dep.sequence_groups)
    running = 0
    if concurrency is not None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        chosen = concurrency
        if concurrency > engine_cap:  # the engine runs what it holds; the rest queue
            running = engine_cap
    elif min_tps_per_user is not None:
        chosen = _largest_meeting(
            dep, engine_cap, input_len, output_len, phase, speculation, min_tps_per_user, prefix_hit
        )
    else:
        chosen = engine_cap
    batch = running or chosen
    out_tps, in_tps, step, share, speedup = _throughput(
        dep, batch, input_len, output_len, phase, speculation, prefix_hit
    )
    queue_wait = 0.0
    if running:
        # Closed loop (Little's law): requests complete at X = batch / (time in service); each
        # of the C clients cycles in C / X, so a request waits (C - batch) / X to be admitted.
        served = out_tps / output_len if phase != "prefill" else in_tps / max(input_len, 1)
        queue_wait = (chosen - running) / served if served > 0 else math.inf
    mla_multi = arch.attention == "mla" and gpus > 1
    return Estimate(
        model=arch.name,
        gpu=card.name,
        gpus=gpus,
        precision=dep.precision,
        input_len=input_len,
        output_len=output_len,
        concurrency=chosen,
        max_concurrency=limit,
        phase=phase,
        decode_step_s=step,
        ttft_s=queue_wait + dep.prefill_time(round(input_len * (1 - prefix_hit))) + step,
        output_tps=out_tps,
        input_tps=in_tps,
        speculation=speculation.describe() if speculation else "",
        speculative_speedup=speedup,
        price_per_hour=card.price_per_hour,
        utilisation=utilisation,
        prefill_share=share,
        prefix_hit=prefix_hit,
        running=running,
        queue_wait_s=queue_wait,
        kv_precision=kv_precision,
        engine=dep.calibration.engine,
        attention_parallel=attention_parallel if mla_multi or attention_parallel != "tp" else "",
        experts=("ep" if dep.expert_parallel else "tp") if arch.is_moe and gpus > 1 else "",
        kv_pool_tokens=dep.kv_pool_tokens(),
    )


def _largest_meeting(
    dep: Deployment,
    cap: int,
    input_len: int,
    output_len: int,
    phase: str,
    spec: Speculation | None,
    min_tps: float,
    prefix_hit: float = 0.0,
) -> int:
    """Binary search: per-user speed falls as concurrency grows."""

    def speed(c: int) -> float:
        out, *_ = _throughput(dep, c, input_len, output_len, phase, spec, prefix_hit)
        return out / c

    if speed(1) < min_tps:
        raise DoesNotFitError(
            f"even one user gets only {speed(1):.1f} output tokens/s on this set-up, below "
            f"the {min_tps:g} asked: use faster GPUs, more of them, or a narrower precision"
        )
    lo, hi = 1, cap
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if speed(mid) >= min_tps else (lo, mid - 1)
    return lo
