"""``tokenomy selfhost`` (what a token costs on your own GPUs) and ``tokenomy bench URL``."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

_SPEC_HELP = "Speculative decoding"


def _speculation(
    acceptance: float | None, draft_len: int, draft_cost: float, adaptive: bool
) -> Any:
    if acceptance is None:
        return None
    from tokenomy.selfhost import Speculation

    return Speculation(acceptance, draft_len, draft_cost, adaptive)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"error: {exc}", soft_wrap=True)  # one line, however long
    return typer.Exit(2)


_WIDTH = 80
_LABEL = 24


def _record_lines(title: str, items: list[tuple[str, str]], notes: list[str]) -> list[str]:
    """A titled key/value list that fits ``_WIDTH`` columns (long values wrap under
    themselves), then notes as wrapped paragraphs."""
    lines = [*textwrap.wrap(title, _WIDTH), ""]
    for label, value in items:
        wrapped = textwrap.wrap(value, _WIDTH - _LABEL - 2) or [""]
        lines.append(f"  {label:<{_LABEL - 2}}{wrapped[0]}")
        lines += [" " * _LABEL + more for more in wrapped[1:]]
    for note in notes:
        lines += ["", *textwrap.wrap(note, _WIDTH)]
    return lines


def _estimate_record(
    est: Any, error: float, loso: float
) -> tuple[str, list[tuple[str, str]], list[str]]:
    """``error``: in-sample, on the 24 original points; ``loso``: held out by source."""
    from tokenomy.selfhost import get_gpu, get_model, load_engine

    arch, card, engine = get_model(est.model), get_gpu(est.gpu), load_engine(est.engine)
    title = f"{arch.label} on {est.gpus}x {card.label}: what a token costs (an estimate)"
    attention = f", {est.attention_parallel.upper()} attention" if est.attention_parallel else ""
    if est.experts:
        attention += f", {est.experts.upper()} experts"
    kv = est.kv_precision or ("fp8" if est.precision == "fp4" else est.precision)
    items = [
        ("model", f"{arch.label} ({est.model}), {est.precision} weights"),
        ("GPUs", f"{est.gpus}x {card.label}"),
        ("engine", f"{engine.engine_label}{attention}"),
        ("KV cache", f"{kv}, {est.kv_pool_tokens:,} tokens per pool"),
        ("lengths", f"{est.input_len:,} in, {est.output_len:,} out tokens"),
    ]
    if est.queued:
        items.append(
            ("concurrency", f"{est.concurrency:,} clients: {est.batch:,} run, {est.queued:,} wait")
        )
        items.append(("queue wait", f"{est.queue_wait_s:,.1f} s per request (mean)"))
    else:
        items.append(("concurrency", f"{est.concurrency:,} (memory holds {est.max_concurrency:,})"))
    if est.speculation:
        items.append(
            ("speculation", f"{est.speculation}: {est.speculative_speedup:.2f}x throughput")
        )
    items += [
        ("output tok/s", f"{est.output_tps:,.0f} ({est.output_tps_per_gpu:,.0f} per GPU)"),
        ("input tok/s", f"{est.input_tps:,.0f}"),
        ("per user", f"{est.output_tps_per_user:,.1f} tok/s (TPOT {est.tpot_s * 1e3:,.1f} ms)"),
        ("TTFT", f"{est.ttft_s * 1e3:,.0f} ms" + (" incl. queue wait" if est.queued else "")),
        ("GPU price", f"${est.price_per_hour:,.2f}/GPU-hour, {est.utilisation:.0%} utilised"),
        ("$ per M input", f"${est.usd_per_m_input:,.4f}"),
        ("$ per M output", f"${est.usd_per_m_output:,.4f}"),
        ("$ per M tokens", f"${est.usd_per_m_tokens:,.4f} (input and output)"),
        ("model error", f"median {loso:.1%} held out by source, {error:.1%} in-sample"),
    ]
    notes = []
    if est.queued:
        notes.append(
            f"{est.concurrency:,} concurrent requests are more than the engine runs at once "
            f"({est.batch:,}: its KV cache or scheduler cap), so {est.queued:,} queue, as a "
            f"real engine queues them: throughput stays that of {est.batch:,} running, and "
            f"each request waits about {est.queue_wait_s:,.1f} s before its prefill "
            f"(closed loop, Little's law)."
        )
    return title, items, notes


def _print_record(title: str, items: list[tuple[str, str]], notes: list[str]) -> None:
    sys.stdout.write("\n".join(_record_lines(title, items, notes)) + "\n")


@app.command("selfhost")
def selfhost(
    model: Annotated[
        str, typer.Option("--model", help="Model (tokenomy/data/models.toml).")
    ] = "llama-3.1-8b",
    gpu: Annotated[str, typer.Option("--gpu", help="GPU (tokenomy/data/gpus.toml).")] = "h100",
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs per replica (TP/EP).")] = 1,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="vllm (default), sglang or tensorrt-llm; sglang-0.4 or vllm-0.7 for early-2025"
            " releases (tokenomy/data/engines.toml).",
        ),
    ] = None,
    kv_dtype: Annotated[
        str,
        typer.Option(
            "--kv-dtype",
            help="KV-cache dtype: fp16, bf16 or fp8 (default: the weights', at least fp8).",
        ),
    ] = "",
    attention: Annotated[
        str,
        typer.Option(
            "--attention",
            help="tp: heads split over the GPUs (default; MLA's latent KV is then copied on "
            "every GPU); dp: data-parallel attention, one GPU per sequence.",
        ),
    ] = "tp",
    experts: Annotated[
        str,
        typer.Option(
            "--experts",
            help="An MoE model's experts: tp (each sharded over the GPUs), ep (whole experts "
            "spread, all-to-all) or auto (default: ep across nodes, tp within one).",
        ),
    ] = "auto",
    precision: Annotated[
        str,
        typer.Option(
            "--precision", help="bf16, fp8 or fp4 (default: the model's released format)."
        ),
    ] = "",
    input_len: Annotated[int, typer.Option("--input-len")] = 1024,
    output_len: Annotated[int, typer.Option("--output-len")] = 1024,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", help="Concurrent requests (default: max throughput)."),
    ] = None,
    min_tps_per_user: Annotated[
        float | None,
        typer.Option(
            "--min-tps-per-user",
            help="Largest concurrency that still gives each user this many output tokens/s.",
        ),
    ] = None,
    sweep: Annotated[
        bool,
        typer.Option("--sweep", help="Concurrency 1, 2, 4 ... max: with and without speculation."),
    ] = False,
    spec_acceptance: Annotated[
        float | None,
        typer.Option("--spec-acceptance", help=f"{_SPEC_HELP}: per-token acceptance rate α."),
    ] = None,
    spec_draft_len: Annotated[
        int, typer.Option("--spec-draft-len", help=f"{_SPEC_HELP}: drafted tokens per step γ.")
    ] = 3,
    spec_draft_cost: Annotated[
        float,
        typer.Option("--spec-draft-cost", help=f"{_SPEC_HELP}: draft step / target step time."),
    ] = 0.05,
    spec_adaptive: Annotated[
        bool,
        typer.Option("--spec-adaptive", help=f"{_SPEC_HELP}: best draft length per batch (0..γ)."),
    ] = False,
    gpu_price: Annotated[
        float | None,
        typer.Option("--gpu-price", help="$ per GPU-hour (default: the dated price in gpus.toml)."),
    ] = None,
    utilisation: Annotated[
        float, typer.Option("--utilisation", help="Share of paid GPU time spent serving.")
    ] = 1.0,
    from_ledger: Annotated[
        bool, typer.Option("--from-ledger", help="Break-even for the traffic in your ledger.")
    ] = False,
    tokens_per_day: Annotated[
        float | None,
        typer.Option(
            "--tokens-per-day", help="Break-even for a hand-given volume (input + output)."
        ),
    ] = None,
    output_share: Annotated[float, typer.Option("--output-share")] = 0.2,
    peak_factor: Annotated[
        float,
        typer.Option("--peak-factor", help="Busiest hour over the mean (hand-given profile)."),
    ] = 1.0,
    api: Annotated[
        list[str] | None,
        typer.Option(
            "--api", help="API model to compare (repeatable; default: the ledger's top 3)."
        ),
    ] = None,
    no_prefix_cache: Annotated[
        bool,
        typer.Option(
            "--no-prefix-cache",
            help="Break-even: the engine keeps no prefix cache, so the prompt tokens the API "
            "read from its cache are prefilled again (default: its prefix cache hits as often "
            "as the API's did, as vLLM's and SGLang's do).",
        ),
    ] = False,
    requests: Annotated[
        int | None,
        typer.Option(
            "--requests",
            help="Simulate N requests through the engine (discrete-event: ramp-up, chunked "
            "prefill, queueing, the drain tail; TTFT/TPOT/ITL/E2E percentiles).",
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate", help="With --requests: Poisson arrivals per second (default: all at once)."
        ),
    ] = None,
    lengths: Annotated[
        str,
        typer.Option(
            "--lengths",
            help="With --requests: fixed (--input-len/--output-len), sharegpt (ShareGPT "
            "conversations, the chat extra) or ledger (your imported calls, capped at "
            "--input-len/--output-len).",
        ),
    ] = "fixed",
    seed: Annotated[
        int, typer.Option("--seed", help="With --requests: seed for lengths and arrivals.")
    ] = 0,
    home: c.Home = None,
    as_json: c.FormatJson = False,
    as_csv: c.FormatCsv = False,
) -> None:
    """Throughput and $ per million tokens for a model on your own GPUs (a calibrated
    model; see docs/selfhost.md for its measured error), or the break-even against APIs;
    with --requests, a simulated benchmark run as well."""
    from tokenomy.selfhost import DataFileError, DoesNotFitError, median_abs_error, validate

    fmt = c.output_format(as_json, as_csv)
    drawn: tuple[list[int], list[int]] | None = None
    opts: dict[str, Any] = {
        "engine": engine,
        "kv_precision": kv_dtype.lower(),
        "attention_parallel": attention.lower(),
        "experts": experts.lower(),
    }
    try:
        spec = _speculation(spec_acceptance, spec_draft_len, spec_draft_cost, spec_adaptive)
        if requests is not None:
            if sweep or from_ledger or tokens_per_day is not None:
                raise ValueError(
                    "--requests simulates one set-up: not with --sweep, --from-ledger or "
                    "--tokens-per-day"
                )
            drawn = _draw_lengths(requests, lengths, input_len, output_len, seed, home)
            if lengths != "fixed":  # the steady-state estimate at the drawn means
                input_len = max(round(sum(drawn[0]) / requests), 0)
                output_len = max(round(sum(drawn[1]) / requests), 1)
        elif rate is not None or lengths != "fixed":
            raise ValueError("--rate and --lengths go with --requests N")
        if from_ledger or tokens_per_day is not None:
            _break_even(
                model,
                gpu,
                gpus,
                precision,
                spec,
                gpu_price,
                min_tps_per_user,
                from_ledger,
                tokens_per_day,
                output_share,
                peak_factor,
                input_len,
                output_len,
                api or [],
                home,
                fmt,
                not no_prefix_cache,
                opts,
            )
            return
        est = None
        if sweep:
            rows = _sweep(
                model, gpu, gpus, precision, input_len, output_len, spec, gpu_price, utilisation,
                opts,
            )  # fmt: skip
        else:
            est = _estimate(
                model,
                gpu,
                gpus,
                precision,
                input_len,
                output_len,
                concurrency,
                min_tps_per_user,
                spec,
                gpu_price,
                utilisation,
                opts,
            )
            rows = [est.as_dict()]
        sim = None
        if drawn is not None:
            from tokenomy.selfhost.simulate import simulate_serving

            sim = simulate_serving(
                model,
                gpu,
                gpus,
                input_lens=drawn[0],
                output_lens=drawn[1],
                precision=precision,
                rate=rate,
                concurrency=concurrency,
                seed=seed,
                **opts,
            )
    except (DataFileError, DoesNotFitError, ValueError) as exc:
        raise _fail(exc) from None
    from tokenomy.selfhost.validation import cross_validated_error

    results = validate()
    error = median_abs_error(results, speculative=False)
    loso, _ = cross_validated_error()
    if est is not None and fmt is Format.table:
        _print_record(*_estimate_record(est, error, loso))
        if sim is not None:
            sys.stdout.write("\n")
            _print_record(*_simulation_record(sim, est, lengths, rate, concurrency, seed))
        return
    extra: dict[str, Any] = {
        "model_median_abs_error": round(error, 4),  # in-sample, the original points
        "model_loso_median_abs_error": round(loso, 4),
    }
    if sim is not None:
        extra["simulation"] = {
            "lengths": lengths,
            "rate": rate,
            "max_concurrency": concurrency,
            "seed": seed,
            "mean_input_len": round(sim.input_tokens / sim.requests, 1),
            "mean_output_len": round(sim.output_tokens / sim.requests, 1),
            **sim.as_dict(),
            "steady_state_share": round(sim.output_tps / est.output_tps, 4) if est else None,
        }
    emit(
        rows,
        fmt,
        title=f"{model} on {gpus}x {gpu} (estimate; median error "
        f"{loso:.0%} held out by source on published measurements)",
        extra=extra,
    )


def _draw_lengths(
    n: int, source: str, input_len: int, output_len: int, seed: int, home: Path | None
) -> tuple[list[int], list[int]]:
    """(input, output) token lengths of ``n`` simulated requests."""
    from tokenomy.selfhost.simulate import (
        LENGTH_SOURCES,
        fixed_lengths,
        ledger_lengths,
        sharegpt_lengths,
    )

    if n < 1:
        raise ValueError(f"--requests must be >= 1, got {n}")
    if source not in LENGTH_SOURCES:
        raise ValueError(f"--lengths must be one of {', '.join(LENGTH_SOURCES)}, got {source!r}")
    if source == "sharegpt":
        return sharegpt_lengths(n, seed)
    if source == "ledger":
        from tokenomy.ledger import Ledger

        with Ledger(home) as ledger:
            sizes = [
                (min(call.prompt, input_len), min(call.output, output_len))
                for call in ledger.calls()
            ]
        return ledger_lengths(sizes, n, seed)
    return fixed_lengths(n, input_len, output_len)


def _pcts(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:,.0f}" if v >= 100 else f"{v:,.1f}" for v in values) + " ms"


def _simulation_record(
    sim: Any, est: Any, lengths: str, rate: float | None, concurrency: int | None, seed: int
) -> tuple[str, list[tuple[str, str]], list[str]]:
    n = sim.requests
    arrivals = f"Poisson at {rate:g} req/s (seed {seed})" if rate else "all at once"
    if concurrency:
        arrivals += f", at most {concurrency:,} in flight"
    source = {"fixed": "fixed", "sharegpt": "ShareGPT", "ledger": "your ledger's"}[lengths]
    share = sim.output_tps / est.output_tps if est.output_tps else 0.0
    items = [
        ("requests", f"{n:,}, {arrivals}"),
        (
            "lengths",
            f"{source}: mean {sim.input_tokens / n:,.0f} in, {sim.output_tokens / n:,.0f} out",
        ),
        ("duration", f"{sim.duration_s:,.1f} s ({sim.steps:,} engine steps)"),
        ("request throughput", f"{sim.request_throughput:,.2f} req/s"),
        (
            "output tok/s",
            f"{sim.output_tps:,.0f} ({sim.output_tps_per_gpu:,.0f} per GPU; {share:.0%} of the "
            f"steady state above)",
        ),
        (
            "running batch",
            f"mean {sim.mean_batch:,.1f}, max {sim.max_batch:,} (max-num-seqs {sim.max_seqs:,})",
        ),
        ("KV pool", f"{sim.kv_pool_tokens:,} tokens; {sim.preemptions:,} preemptions"),
        ("TTFT p50/p90/p99", _pcts(sim.ttft_ms)),
        ("TPOT p50/p90/p99", _pcts(sim.tpot_ms)),
        ("ITL p50/p90/p99", _pcts(sim.itl_ms)),
        ("E2E p50/p90/p99", _pcts(sim.e2e_ms)),
    ]
    notes = [
        "A discrete-event simulation of the engine's scheduler on the model's step costs: "
        "ramp-up, chunked prefill, queueing beyond the KV cache (with preemption) and the "
        "drain tail are in it; speculative decoding and prefix caching are not."
    ]
    title = f"Simulated benchmark run: {n:,} requests (as vllm bench serve runs them)"
    return title, items, notes


def _estimate(
    model: str,
    gpu: str,
    gpus: int,
    precision: str,
    input_len: int,
    output_len: int,
    concurrency: int | None,
    min_tps: float | None,
    spec: Any,
    price: float | None,
    utilisation: float,
    opts: dict[str, Any],
) -> Any:
    from tokenomy.selfhost import serving_estimate

    return serving_estimate(
        model,
        gpu,
        gpus,
        precision=precision,
        input_len=input_len,
        output_len=output_len,
        concurrency=concurrency,
        min_tps_per_user=min_tps,
        speculation=spec,
        price_per_hour=price,
        utilisation=utilisation,
        **opts,
    )


def _sweep(
    model: str,
    gpu: str,
    gpus: int,
    precision: str,
    input_len: int,
    output_len: int,
    spec: Any,
    price: float | None,
    utilisation: float,
    opts: dict[str, Any],
) -> list[dict[str, object]]:
    from tokenomy.selfhost import serving_estimate

    top = serving_estimate(
        model,
        gpu,
        gpus,
        precision=precision,
        input_len=input_len,
        output_len=output_len,
        price_per_hour=price,
        **opts,
    ).concurrency
    levels, level = [], 1
    while level < top:
        levels.append(level)
        level *= 2
    levels.append(top)
    rows: list[dict[str, object]] = []
    for n in levels:
        plain = serving_estimate(
            model,
            gpu,
            gpus,
            precision=precision,
            input_len=input_len,
            output_len=output_len,
            concurrency=n,
            price_per_hour=price,
            utilisation=utilisation,
            **opts,
        )
        row: dict[str, object] = {
            "concurrency": n,
            "output_tps_per_gpu": round(plain.output_tps_per_gpu, 1),
            "tps_per_user": round(plain.output_tps_per_user, 1),
            "usd_per_m_output": round(plain.usd_per_m_output, 4),
        }
        if spec is not None:
            fast = serving_estimate(
                model,
                gpu,
                gpus,
                precision=precision,
                input_len=input_len,
                output_len=output_len,
                concurrency=n,
                speculation=spec,
                price_per_hour=price,
                utilisation=utilisation,
                **opts,
            )
            row |= {
                "spec_output_tps_per_gpu": round(fast.output_tps_per_gpu, 1),
                "spec_tps_per_user": round(fast.output_tps_per_user, 1),
                "spec_usd_per_m_output": round(fast.usd_per_m_output, 4),
                "spec_speedup": round(fast.speculative_speedup, 3),
            }
        rows.append(row)
    return rows


def _break_even(
    model: str,
    gpu: str,
    gpus: int,
    precision: str,
    spec: Any,
    price: float | None,
    min_tps: float | None,
    from_ledger: bool,
    tokens_per_day: float | None,
    output_share: float,
    peak_factor: float,
    input_len: int,
    output_len: int,
    apis: list[str],
    home: Path | None,
    fmt: Any,
    prefix_cache: bool = True,
    opts: dict[str, Any] | None = None,
) -> None:
    from tokenomy.selfhost.breakeven import Workload, break_even

    if from_ledger:
        from tokenomy.ledger import Ledger

        calls = Ledger(home).calls()
        if not calls:
            raise ValueError("the ledger is empty: run `tokenomy import` first")
        workload = Workload.from_calls(calls)
    else:
        assert tokens_per_day is not None
        workload = Workload.by_hand(
            tokens_per_day, output_share, input_len, output_len, peak_factor=peak_factor
        )
    if not apis and not workload.models:
        raise ValueError("name at least one API model to compare with --api")
    rows: list[dict[str, object]] = []
    extra: dict[str, object] = {}
    for label, s in (("off", None), ("on", spec)) if spec is not None else (("off", None),):
        result = break_even(
            workload,
            model,
            gpu,
            gpus,
            api_models=apis,
            precision=precision,
            speculation=s,
            price_per_hour=price,
            min_tps_per_user=min_tps,
            prefix_cache=prefix_cache,
            **(opts or {}),
        )
        for row in result.as_rows():
            rows.append(
                {"speculation": label, **row, "fleet_utilisation": round(result.utilisation, 3)}
            )
        extra[f"estimate_speculation_{label}"] = result.estimate.as_dict()
    extra["workload"] = {
        "input_tokens_per_day": round(workload.input_tokens_per_day),
        "output_tokens_per_day": round(workload.output_tokens_per_day),
        "cached_share": round(workload.cached_share, 4),
        "input_len": workload.input_len,
        "output_len": workload.output_len,
        "peak_factor": round(workload.peak_factor, 3),
        "days": round(workload.days, 2),
    }
    emit(rows, fmt, title=f"Self-hosting {model} on {gpu} vs APIs (monthly, USD)", extra=extra)


@app.command("bench")
def bench(
    url: Annotated[
        str,
        typer.Argument(
            help="OpenAI-compatible server, e.g. "
            "http://127.0.0.1:8000 (vLLM, SGLang, llama.cpp, Ollama)."
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", help="Model name the server expects.")
    ] = "default",
    concurrency: Annotated[
        list[int] | None,
        typer.Option("--concurrency", help="Fixed-concurrency levels to sweep (repeatable)."),
    ] = None,
    rate: Annotated[
        list[float] | None,
        typer.Option("--rate", help="Poisson request rates (req/s) to sweep (repeatable)."),
    ] = None,
    max_concurrency: Annotated[int | None, typer.Option("--max-concurrency")] = None,
    num_requests: Annotated[int, typer.Option("--num-requests", "-n")] = 100,
    prompts: Annotated[
        str,
        typer.Option(
            "--prompts",
            help="'random', 'sharegpt', 'ledger' (sizes of your imported calls, "
            "capped at --input-len/--output-len) or a file (one prompt per line).",
        ),
    ] = "random",
    input_len: Annotated[int, typer.Option("--input-len")] = 256,
    output_len: Annotated[int, typer.Option("--output-len")] = 128,
    home: c.Home = None,
    api: Annotated[str, typer.Option("--api", help="chat or completions")] = "chat",
    ignore_eos: Annotated[
        bool,
        typer.Option(
            "--ignore-eos", help="Ask vLLM/SGLang to generate exactly --output-len tokens."
        ),
    ] = False,
    gpu_price: Annotated[
        float | None,
        typer.Option(
            "--gpu-price", help="$ per GPU-hour, to convert throughput into $ per M tokens."
        ),
    ] = None,
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs behind the endpoint.")] = 1,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request.")] = 600.0,
    as_json: c.FormatJson = False,
    as_csv: c.FormatCsv = False,
) -> None:
    """Load-test an endpoint: TTFT, TPOT, ITL, E2E percentiles and token throughput
    (vLLM's definitions), and $ per million output tokens at a GPU price."""
    from tokenomy.selfhost.loadgen import (
        EndpointError,
        LoadSpec,
        PromptSpec,
        ledger_prompts,
        run_bench_sync,
        synthetic_prompts,
    )

    fmt = c.output_format(as_json, as_csv)
    loads = [LoadSpec(num_requests, concurrency=n) for n in (concurrency or [])]
    loads += [LoadSpec(num_requests, rate=r, max_concurrency=max_concurrency) for r in (rate or [])]
    try:
        if prompts == "random":
            specs = synthetic_prompts(min(num_requests, 256), input_len, output_len)
        elif prompts == "sharegpt":
            from tokenomy.workloads.sharegpt import load_conversations

            convs, _ = load_conversations(limit=num_requests * 2)
            specs = [
                PromptSpec(t, output_len)
                for conv in convs
                for role, t in conv.turns[:1]
                if role == "user" and t.strip()
            ]
        elif prompts == "ledger":
            from tokenomy.ledger import Ledger

            with Ledger(home) as ledger:
                sizes = [(call.prompt, call.output) for call in ledger.calls()]
            specs = ledger_prompts(sizes, min(num_requests, 256), input_len, output_len)
        else:
            lines = Path(prompts).read_text(encoding="utf-8").splitlines()
            specs = [PromptSpec(line, output_len) for line in lines if line.strip()]
        plan = loads or [LoadSpec(num_requests, concurrency=1)]
        with c.busy(f"benchmarking {url} ({len(plan)} load level(s))", not (as_json or as_csv)):
            reports = run_bench_sync(
                url, specs, plan, model=model, api=api, ignore_eos=ignore_eos, timeout=timeout
            )
    except (EndpointError, OSError, ValueError) as exc:
        raise _fail(exc) from None
    rows = []
    for r in reports:
        row = r.summary()
        row.pop("errors", None)
        if gpu_price is not None:
            row["usd_per_m_output"] = round(r.usd_per_m_output(gpu_price, gpus), 4)
        rows.append(row)
        for e in r.summary().get("errors", []):
            err.print(f"{r.load.describe()}: {e}", highlight=False)
    cols = (
        None
        if fmt is not Format.table
        else [
            "load",
            "completed",
            "failed",
            "request_throughput",
            "output_throughput",
            "median_ttft_ms",
            "p99_ttft_ms",
            "median_tpot_ms",
            "p99_tpot_ms",
            "median_itl_ms",
            "median_e2el_ms",
            "send_lag_p99_ms",
            *(["usd_per_m_output"] if gpu_price else []),
        ]
    )
    emit(rows, fmt, title=f"bench {url}", columns=cols)
