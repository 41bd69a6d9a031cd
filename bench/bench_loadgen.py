"""How many requests/s ``tokenomy bench`` can drive on this machine.

    python bench/bench_loadgen.py [--rates 250,500,750,1000] [--tokens 8] [--seconds 4]

Starts the stub OpenAI-compatible server (tokenomy.selfhost.stub_server) in its own process,
answering at once (TTFT 0, ITL 0) with ``--tokens`` streamed tokens, then offers Poisson
load at each rate for ``--seconds``. The generator keeps up with a rate when the achieved
request throughput matches the offered rate and its sends are on schedule (p99 send lag in
milliseconds); the last column says which side ran out of CPU when it does not.
"""

from __future__ import annotations

import argparse
import os
import platform

from tokenomy.selfhost.loadgen import LoadSpec, run_bench_sync, synthetic_prompts
from tokenomy.selfhost.stub_server import StubTiming, spawned_stub_server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="250,500,750,1000")
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; stub answers {args.tokens} tokens at once"
    )
    print(
        "offered_rps  achieved_rps  completed  failed  send_lag_p99_ms  median_e2el_ms  "
        "output_tok_s  keeps_up"
    )
    prompts = synthetic_prompts(64, 32, args.tokens)
    with spawned_stub_server(StubTiming(0.0, 0.0, args.tokens)) as url:
        run_bench_sync(url, prompts, [LoadSpec(num_requests=200, rate=200)])  # warm up
        for rate in rates:
            load = LoadSpec(num_requests=int(rate * args.seconds), rate=rate, seed=1)
            report = run_bench_sync(url, prompts, [load])[0]
            s = report.summary()
            keeps_up = (
                report.request_throughput >= 0.95 * rate
                and s["send_lag_p99_ms"] < 50
                and report.failed == 0
            )
            print(
                f"{rate:11.0f}  {report.request_throughput:12.1f}  {s['completed']:9d}  "
                f"{s['failed']:6d}  {s['send_lag_p99_ms']:15.2f}  {s['median_e2el_ms']:14.2f}  "
                f"{report.output_throughput:12.0f}  {'yes' if keeps_up else 'no'}"
            )


if __name__ == "__main__":
    main()
