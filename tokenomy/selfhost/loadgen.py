"""``tokenomy bench``: load an OpenAI-compatible endpoint and measure it as vLLM does.

Metrics follow vLLM's serving benchmark (benchmarks/benchmark_serving.py):

- TTFT: request sent -> first streamed token; E2EL: request sent -> last byte;
- TPOT per request: (E2EL - TTFT) / (output tokens - 1);
- ITL: every gap between successive streamed token chunks, pooled over requests;
- throughput: completed requests, output tokens and input + output tokens per second of the
  run (first send to last completion).

Load is either a fixed concurrency (N clients, each sending its next request when the last
ends) or an open Poisson process at a request rate (gamma intervals, ``burstiness`` 1 =
Poisson), optionally capped by ``max_concurrency``. The generator records how late each send
was against its schedule, so a run that the client itself could not keep up with says so.
Output tokens come from the final usage chunk (``stream_options.include_usage``) when the
server sends one, else from the number of streamed content chunks.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

__all__ = [
    "BenchReport",
    "EndpointError",
    "LoadSpec",
    "PromptSpec",
    "RequestResult",
    "ledger_prompts",
    "run_bench",
    "run_bench_sync",
    "synthetic_prompts",
]


class EndpointError(RuntimeError):
    """The endpoint cannot be reached or does not answer as an OpenAI-compatible server."""


@dataclass(frozen=True, slots=True)
class PromptSpec:
    prompt: str
    max_tokens: int
    input_tokens: int = 0  # known prompt length (0: take the server's usage count)


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """One load level: a fixed ``concurrency``, or a ``rate`` (requests/s) if given."""

    num_requests: int = 100
    concurrency: int = 1
    rate: float | None = None  # requests/s; None = closed loop at ``concurrency``
    burstiness: float = 1.0  # gamma shape; 1 = Poisson arrivals
    max_concurrency: int | None = None  # cap on in-flight requests in rate mode
    seed: int = 0

    def describe(self) -> str:
        if self.rate is None:
            return f"concurrency {self.concurrency}"
        cap = f", max {self.max_concurrency} in flight" if self.max_concurrency else ""
        return f"{self.rate:g} req/s{cap}"


@dataclass(slots=True)
class RequestResult:
    ok: bool = False
    error: str = ""
    sent: float = 0.0  # perf_counter seconds
    ttft: float = 0.0
    latency: float = 0.0
    output_tokens: int = 0
    input_tokens: int = 0
    itl: list[float] = field(default_factory=list)
    send_lag: float = 0.0  # how late the generator sent it against its schedule

    @property
    def tpot(self) -> float | None:
        if self.output_tokens < 2:
            return None
        return (self.latency - self.ttft) / (self.output_tokens - 1)


def _percentiles(values: Sequence[float], scale: float = 1e3) -> dict[str, float]:
    if not values:
        return {"mean": math.nan, "median": math.nan, "p90": math.nan, "p99": math.nan}
    ordered = sorted(values)

    def pct(q: float) -> float:  # linear interpolation, as numpy.percentile
        pos = (len(ordered) - 1) * q
        lo, hi = math.floor(pos), math.ceil(pos)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

    return {
        "mean": statistics.fmean(ordered) * scale,
        "median": pct(0.5) * scale,
        "p90": pct(0.9) * scale,
        "p99": pct(0.99) * scale,
    }


@dataclass(slots=True)
class BenchReport:
    url: str
    load: LoadSpec
    duration: float
    results: list[RequestResult]

    @property
    def completed(self) -> list[RequestResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> int:
        return len(self.results) - len(self.completed)

    @property
    def request_throughput(self) -> float:
        return len(self.completed) / self.duration if self.duration else 0.0

    @property
    def output_throughput(self) -> float:
        return sum(r.output_tokens for r in self.completed) / self.duration if self.duration else 0

    @property
    def total_token_throughput(self) -> float:
        tokens = sum(r.output_tokens + r.input_tokens for r in self.completed)
        return tokens / self.duration if self.duration else 0.0

    def usd_per_m_output(self, price_per_gpu_hour: float, gpus: int = 1) -> float:
        """GPU rental over measured output tokens: all GPU time charged to output."""
        tps = self.output_throughput
        return gpus * price_per_gpu_hour * 1e6 / (3600 * tps) if tps else math.inf

    def summary(self) -> dict[str, Any]:
        done = self.completed
        tpots = [t for r in done if (t := r.tpot) is not None]
        row: dict[str, Any] = {
            "load": self.load.describe(),
            "completed": len(done),
            "failed": self.failed,
            "duration_s": round(self.duration, 3),
            "request_throughput": round(self.request_throughput, 2),
            "output_throughput": round(self.output_throughput, 1),
            "total_token_throughput": round(self.total_token_throughput, 1),
        }
        for name, values in (
            ("ttft", [r.ttft for r in done]),
            ("tpot", tpots),
            ("itl", [g for r in done for g in r.itl]),
            ("e2el", [r.latency for r in done]),
        ):
            for stat, value in _percentiles(values).items():
                row[f"{stat}_{name}_ms"] = round(value, 3)
        lags = [r.send_lag for r in self.results]
        row["send_lag_p99_ms"] = round(_percentiles(lags)["p99"], 3)
        errors = sorted({r.error for r in self.results if r.error})
        if errors:
            row["errors"] = errors[:3]
        return row


def synthetic_prompts(n: int, input_len: int, output_len: int, seed: float = 0) -> list[PromptSpec]:
    """Prompts of about ``input_len`` tokens (one common English word is about one token)."""
    rng = random.Random(seed)
    words = (
        "time",
        "data",
        "model",
        "token",
        "cost",
        "price",
        "server",
        "query",
        "answer",
        "system",
        "memory",
        "batch",
        "user",
        "cache",
        "speed",
        "write",
    )
    return [
        PromptSpec(" ".join(rng.choice(words) for _ in range(input_len)), output_len, input_len)
        for _ in range(n)
    ]


def ledger_prompts(
    sizes: Sequence[tuple[int, int]], n: int, max_input: int, max_output: int, seed: int = 0
) -> list[PromptSpec]:
    """Prompts shaped like real traffic: ``n`` (prompt tokens, output tokens) pairs drawn from
    ``sizes`` (a ledger's calls), capped at what the server takes. The ledger keeps no text,
    so the words are synthetic; only the sizes are real."""
    if not sizes:
        raise ValueError("the ledger has no calls to shape prompts from: run `tokenomy import`")
    rng = random.Random(seed)
    specs = []
    for prompt, output in (rng.choice(sizes) for _ in range(n)):
        length = max(1, min(prompt, max_input))
        (spec,) = synthetic_prompts(1, length, max(1, min(output, max_output)), rng.random())
        specs.append(spec)
    return specs


def _endpoint(url: str, api: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"not an http(s) URL: {url!r}")
    if parts.path.rstrip("/").endswith(("/completions", "/chat/completions")):
        return url
    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base + ("/chat/completions" if api == "chat" else "/completions")


async def _check_reachable(url: str, timeout: float) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise EndpointError(
            f"cannot connect to {parts.hostname}:{port} ({url}): "
            f"{exc or type(exc).__name__}. Is the server running?"
        ) from exc
    writer.close()


class _Client:
    def __init__(
        self, session: aiohttp.ClientSession, url: str, model: str, api: str, ignore_eos: bool
    ) -> None:
        self.session, self.url, self.model, self.api = session, url, model, api
        self.ignore_eos = ignore_eos

    def _body(self, spec: PromptSpec) -> bytes:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": spec.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0,
        }
        if self.api == "chat":
            body["messages"] = [{"role": "user", "content": spec.prompt}]
        else:
            body["prompt"] = spec.prompt
        if self.ignore_eos:
            body["ignore_eos"] = True  # vLLM/SGLang extension: generate exactly max_tokens
        return orjson.dumps(body)

    async def send(self, spec: PromptSpec, result: RequestResult) -> None:
        perf = time.perf_counter
        result.input_tokens = spec.input_tokens
        chunks, usage_tokens, last = 0, 0, 0.0
        result.sent = start = perf()
        try:
            async with self.session.post(
                self.url, data=self._body(spec), headers={"content-type": "application/json"}
            ) as resp:
                if resp.status != 200:
                    text = (await resp.text())[:200]
                    result.error = f"HTTP {resp.status}: {text}"
                    return
                async for line in resp.content:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        break
                    now = perf()
                    event = orjson.loads(data)
                    usage = event.get("usage")
                    if usage:
                        usage_tokens = int(usage.get("completion_tokens") or 0)
                        if not spec.input_tokens:
                            result.input_tokens = int(usage.get("prompt_tokens") or 0)
                    for choice in event.get("choices") or ():
                        delta = choice.get("delta") or {}
                        piece = (
                            choice.get("text")
                            or delta.get("content")
                            or delta.get("reasoning_content")
                        )
                        if not piece:
                            continue
                        if chunks == 0:
                            result.ttft = now - start
                        else:
                            result.itl.append(now - last)
                        chunks += 1
                        last = now
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:200]
            return
        result.latency = perf() - start
        result.output_tokens = usage_tokens or chunks
        result.ok = chunks > 0
        if not result.ok:
            result.error = "no tokens streamed"


async def run_bench(
    url: str,
    prompts: Sequence[PromptSpec],
    load: LoadSpec,
    *,
    model: str = "default",
    api: str = "chat",
    ignore_eos: bool = False,
    timeout: float = 600.0,
) -> BenchReport:
    """Send ``load.num_requests`` requests (cycling through ``prompts``) and measure them."""
    if not prompts:
        raise ValueError("no prompts to send")
    if load.num_requests < 1 or load.concurrency < 1:
        raise ValueError("num_requests and concurrency must be >= 1")
    if load.rate is not None and load.rate <= 0:
        raise ValueError(f"rate must be > 0 requests/s, got {load.rate}")
    endpoint = _endpoint(url, api)
    await _check_reachable(endpoint, min(timeout, 5.0))
    results = [RequestResult() for _ in range(load.num_requests)]
    limit = load.concurrency if load.rate is None else (load.max_concurrency or 0)
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, ttl_dns_cache=300)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout),
        skip_auto_headers=("User-Agent",),
    ) as session:
        client = _Client(session, endpoint, model, api, ignore_eos)
        start = time.perf_counter()
        if load.rate is None:
            await _closed_loop(client, prompts, load, results)
        else:
            await _open_loop(client, prompts, load, results, start)
        ends = [r.sent + r.latency for r in results if r.ok]
        duration = (max(ends) if ends else time.perf_counter()) - start
    report = BenchReport(url=endpoint, load=load, duration=duration, results=results)
    if not report.completed and all("Connect" in r.error for r in results):
        raise EndpointError(f"no request to {endpoint} succeeded: {results[0].error}")
    return report


async def _closed_loop(
    client: _Client, prompts: Sequence[PromptSpec], load: LoadSpec, results: list[RequestResult]
) -> None:
    counter = iter(range(load.num_requests))

    async def worker() -> None:
        for i in counter:  # the shared iterator hands each index to exactly one worker
            await client.send(prompts[i % len(prompts)], results[i])

    await asyncio.gather(*(worker() for _ in range(min(load.concurrency, load.num_requests))))


async def _open_loop(
    client: _Client,
    prompts: Sequence[PromptSpec],
    load: LoadSpec,
    results: list[RequestResult],
    start: float,
) -> None:
    assert load.rate is not None
    rng = random.Random(load.seed)
    gate = asyncio.Semaphore(load.max_concurrency) if load.max_concurrency else None
    scale = 1.0 / (load.rate * load.burstiness)

    async def one(i: int, due: float) -> None:
        if gate is not None:
            async with gate:
                results[i].send_lag = time.perf_counter() - due
                await client.send(prompts[i % len(prompts)], results[i])
        else:
            results[i].send_lag = time.perf_counter() - due
            await client.send(prompts[i % len(prompts)], results[i])

    tasks: list[asyncio.Task[None]] = []
    due = start
    for i in range(load.num_requests):
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
        due += rng.gammavariate(load.burstiness, scale)
    await asyncio.gather(*tasks)


def run_bench_sync(
    url: str, prompts: Sequence[PromptSpec], loads: Sequence[LoadSpec], **kwargs: Any
) -> list[BenchReport]:
    """Run each load level in turn (a sweep) and return one report per level."""

    async def sweep() -> list[BenchReport]:
        return [await run_bench(url, prompts, load, **kwargs) for load in loads]

    return asyncio.run(sweep())
