"""Open-weight model architectures (data/models.toml) and what follows from their shapes:
parameter counts, weights read per decode step, KV cache per token, attention FLOPs.

Parameter counts are recomputed from the shapes and checked against the published counts,
so a typo in a shape is caught when the file loads rather than silently mis-pricing a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from tokenomy.selfhost.datafile import DataFileError, Row, read_table

__all__ = ["Architecture", "get_model", "load_models"]

_ATTENTION_KINDS = ("mha", "gqa", "mla")
_TOLERANCE = 0.05  # shapes must reproduce the published parameter counts within 5%


@dataclass(frozen=True, slots=True)
class Architecture:
    name: str
    label: str
    hf_id: str
    attention: str  # "mha" | "gqa" | "mla"
    layers: int
    hidden: int
    heads: int
    vocab: int
    intermediate: int  # dense FFN width (dense models, and MoE models' first dense layers)
    kv_heads: int = 0
    head_dim: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    rope_head_dim: int = 0
    nope_head_dim: int = 0
    v_head_dim: int = 0
    experts: int = 0
    active_experts: int = 0
    shared_experts: int = 0
    moe_intermediate: int = 0
    dense_layers: int = 0
    ffn_matrices: int = 3
    tied_embeddings: bool = False
    sliding_window: int = 0
    sliding_layers: int = 0
    params_total_b: float = 0.0
    params_active_b: float = 0.0
    native_precision: str = "bf16"
    source: str = ""
    date: date = date(1970, 1, 1)

    # -- shapes -----------------------------------------------------------------------------
    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def moe_layers(self) -> int:
        return self.layers - self.dense_layers if self.is_moe else 0

    @property
    def dense_ffn_layers(self) -> int:
        return self.dense_layers if self.is_moe else self.layers

    @property
    def attention_params(self) -> int:
        """Weights of one attention block."""
        h = self.hidden
        if self.attention == "mla":
            qk = self.nope_head_dim + self.rope_head_dim
            q = (
                h * self.q_lora_rank + self.q_lora_rank * self.heads * qk
                if self.q_lora_rank
                else h * self.heads * qk
            )
            kv = h * (self.kv_lora_rank + self.rope_head_dim)
            kv_up = self.kv_lora_rank * self.heads * (self.nope_head_dim + self.v_head_dim)
            return q + kv + kv_up + self.heads * self.v_head_dim * h
        q_out = self.heads * self.head_dim
        return 2 * h * q_out + 2 * h * self.kv_heads * self.head_dim

    @property
    def expert_params(self) -> int:
        return self.ffn_matrices * self.hidden * self.moe_intermediate

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    # -- parameter counts -------------------------------------------------------------------
    @property
    def resident_dense_params(self) -> int:
        """Weights every decode step reads whatever the batch (all but the routed experts;
        the input embedding is a row lookup, not a read of the table)."""
        lm_head = self.embedding_params
        dense_ffn = self.dense_ffn_layers * self.ffn_matrices * self.hidden * self.intermediate
        shared = self.moe_layers * (
            self.shared_experts * self.expert_params + self.hidden * self.experts
        )
        return lm_head + self.layers * self.attention_params + dense_ffn + shared

    @property
    def routed_expert_params(self) -> int:
        return self.moe_layers * self.experts * self.expert_params

    @property
    def total_params(self) -> int:
        embedding = 0 if self.tied_embeddings else self.embedding_params
        return embedding + self.resident_dense_params + self.routed_expert_params

    @property
    def active_params(self) -> int:
        """Matmul weights one token passes through (FLOPs = 2 x this per token)."""
        return (
            self.resident_dense_params + self.moe_layers * self.active_experts * self.expert_params
        )

    def expected_experts_touched(self, tokens: float) -> float:
        """Distinct routed experts per MoE layer that ``tokens`` tokens touch, with uniform
        routing: E * (1 - (1 - k/E)^B) (the occupancy result; k at B=1, E at large B)."""
        if not self.is_moe:
            return 0.0
        e, k = self.experts, self.active_experts
        return float(e * (1.0 - (1.0 - k / e) ** max(tokens, 0.0)))

    # -- KV cache and attention -------------------------------------------------------------
    @property
    def kv_elements_per_token_per_layer(self) -> int:
        """DeepSeek-V2 Table 1: MHA/GQA 2·n_kv·d_h per layer; MLA (d_c + d_h^R)."""
        if self.attention == "mla":
            return self.kv_lora_rank + self.rope_head_dim
        return 2 * self.kv_heads * self.head_dim

    def kv_elements(self, context: float) -> float:
        """KV elements one sequence of ``context`` tokens holds (sliding layers keep a window)."""
        per_layer = self.kv_elements_per_token_per_layer
        full_layers = self.layers - self.sliding_layers
        windowed = self.sliding_layers * min(context, self.sliding_window)
        return per_layer * (full_layers * context + windowed)

    def kv_bytes_per_token(self, kv_bytes: float) -> float:
        """KV bytes per token of context with every layer holding it (the long-context rate)."""
        return self.kv_elements_per_token_per_layer * (self.layers - self.sliding_layers) * kv_bytes

    def decode_attention_flops(self, context: float) -> float:
        """FLOPs one new token spends attending to ``context`` cached tokens, all layers.
        MLA with absorbed weights scores and mixes in the latent space: 2·n_h·(2·d_c + d_h^R)."""
        if self.attention == "mla":
            per_pair = 2 * self.heads * (2 * self.kv_lora_rank + self.rope_head_dim)
        else:
            per_pair = 4 * self.heads * self.head_dim
        full = self.layers - self.sliding_layers
        window = min(context, self.sliding_window or context)
        return float(per_pair * (full * context + self.sliding_layers * window))

    def prefill_attention_flops(self, prompt: float) -> float:
        """Causal attention FLOPs of a whole prompt (half of the L² score and mix matmuls)."""
        if self.attention == "mla":
            per_pair = 2 * self.heads * (self.nope_head_dim + self.rope_head_dim + self.v_head_dim)
        else:
            per_pair = 4 * self.heads * self.head_dim
        full = self.layers - self.sliding_layers
        window = min(prompt, self.sliding_window or prompt)
        pairs = full * prompt * prompt / 2 + self.sliding_layers * prompt * window
        return float(per_pair * pairs)


def _architecture(row: Row) -> Architecture:
    source, day = row.provenance()
    attention = row.text("attention")
    if attention not in _ATTENTION_KINDS:
        raise row.fail(f"'attention' must be one of {_ATTENTION_KINDS}, got {attention!r}")

    def opt(key: str) -> int:
        return row.integer(key, 0, minimum=0)

    arch = Architecture(
        name=row.text("name"),
        label=row.text("label"),
        hf_id=row.text("hf_id"),
        attention=attention,
        layers=row.integer("layers"),
        hidden=row.integer("hidden"),
        heads=row.integer("heads"),
        vocab=row.integer("vocab"),
        intermediate=row.integer("intermediate"),
        kv_heads=opt("kv_heads"),
        head_dim=opt("head_dim"),
        q_lora_rank=opt("q_lora_rank"),
        kv_lora_rank=opt("kv_lora_rank"),
        rope_head_dim=opt("rope_head_dim"),
        nope_head_dim=opt("nope_head_dim"),
        v_head_dim=opt("v_head_dim"),
        experts=opt("experts"),
        active_experts=opt("active_experts"),
        shared_experts=opt("shared_experts"),
        moe_intermediate=opt("moe_intermediate"),
        dense_layers=opt("dense_layers"),
        ffn_matrices=row.integer("ffn_matrices", 3),
        tied_embeddings=bool(row.data.get("tied_embeddings", False)),
        sliding_window=opt("sliding_window"),
        sliding_layers=opt("sliding_layers"),
        params_total_b=row.number("params_total_b"),
        params_active_b=row.number("params_active_b"),
        native_precision=row.text("native_precision", "bf16"),
        source=source,
        date=day,
    )
    if attention == "mla":
        for key in ("kv_lora_rank", "rope_head_dim", "nope_head_dim", "v_head_dim"):
            if not getattr(arch, key):
                raise row.fail(f"an MLA model needs '{key}'")
    else:
        if not arch.kv_heads or not arch.head_dim:
            raise row.fail("an MHA/GQA model needs 'kv_heads' and 'head_dim'")
        if arch.heads % arch.kv_heads:
            raise row.fail(f"heads {arch.heads} is not a multiple of kv_heads {arch.kv_heads}")
    if arch.is_moe and not (0 < arch.active_experts <= arch.experts and arch.moe_intermediate):
        raise row.fail("a MoE model needs 0 < active_experts <= experts and 'moe_intermediate'")
    if arch.sliding_layers > arch.layers or (arch.sliding_layers and not arch.sliding_window):
        raise row.fail("sliding_layers needs a sliding_window and at most 'layers' layers")
    if arch.native_precision not in ("bf16", "fp8", "fp4"):
        raise row.fail(f"native_precision must be bf16, fp8 or fp4, got {arch.native_precision!r}")
    _check_counts(row, arch)
    return arch


def _check_counts(row: Row, arch: Architecture) -> None:
    total = arch.total_params / 1e9
    if abs(total / arch.params_total_b - 1) > _TOLERANCE:
        raise row.fail(
            f"shapes give {total:.2f}B parameters, the row says "
            f"{arch.params_total_b}B: a shape is wrong"
        )
    # Published active counts differ on whether they include the input embedding: accept either.
    active = arch.active_params / 1e9
    with_embedding = active + arch.embedding_params / 1e9
    if min(abs(a / arch.params_active_b - 1) for a in (active, with_embedding)) > _TOLERANCE:
        raise row.fail(
            f"shapes give {active:.2f}B active parameters ({with_embedding:.2f}B with "
            f"the embedding), the row says {arch.params_active_b}B"
        )


@cache
def load_models() -> dict[str, Architecture]:
    """Every architecture in data/models.toml by name, validated."""
    models: dict[str, Architecture] = {}
    for row in read_table("models.toml", "model"):
        arch = _architecture(row)
        if arch.name in models:
            raise row.fail("duplicate name")
        models[arch.name] = arch
    return models


def get_model(name: str) -> Architecture:
    models = load_models()
    key = name.lower()
    if key not in models:
        by_hf = {m.hf_id.lower(): m for m in models.values()}
        if key in by_hf:
            return by_hf[key]
        raise DataFileError(f"unknown model {name!r}; known: {', '.join(sorted(models))}")
    return models[key]
