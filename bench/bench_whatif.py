"""Time every lever replayed over ~1M calls, and the ShareGPT chat replay.

The 1M calls are the real traces in ../shared/data/logs replicated with fresh thread and
lineage ids (each copy starts a few seconds after the previous one, so prices and cache
timings are those of the real calls).

    .venv/bin/python bench/bench_whatif.py --calls 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from tokenomy.pricing import Pricer
from tokenomy.replay import Split, price, rules_for, simulate
from tokenomy.replay.trace import Trace, from_calls
from tokenomy.sources import read_paths
from tokenomy.whatif import whatif
from tokenomy.workloads.chat import chat_workload

LOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "logs"


def replicate(trace: Trace, copies: int) -> Trace:
    """``copies`` copies of ``trace``, each with its own threads and lineages."""
    n, lin = len(trace), trace.lineage_base.shape[0]
    threads = len(trace.threads)

    def tile(a: np.ndarray) -> np.ndarray:
        return np.tile(a, copies)

    offset = np.repeat(np.arange(copies, dtype=np.int64), n)
    parent = np.where(tile(trace.parent) >= 0, tile(trace.parent) + offset * n, -1)
    base = np.tile(trace.lineage_base, copies)
    base_off = np.repeat(np.arange(copies, dtype=np.int64), lin) * lin
    return trace.with_arrays(
        time=tile(trace.time) + offset * 3.0,
        thread=tile(trace.thread) + offset * threads,
        parent=parent,
        lineage=tile(trace.lineage) + offset * lin,
        lineage_base=np.where(base >= 0, base + base_off, -1),
        lineage_base_len=np.tile(trace.lineage_base_len, copies),
        stable=trace.stable * copies,
        threads=trace.threads * copies,
        **{
            name: tile(getattr(trace, name))
            for name in (
                "key",
                "prompt",
                "tail",
                "output",
                "reasoning",
                "shared",
                "blocks",
                "ttl",
                "subagent",
                "compaction",
                "output_exact",
                "synthetic",
                "session",
                "input",
                "cache_read",
                "cache_write_5m",
                "cache_write_1h",
                "route",
                "given",
            )
        },
    )


def timed(label: str, runs: int, fn):  # type: ignore[no-untyped-def]
    times = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    print(f"{label:48s} median {statistics.median(times):7.2f} s  (runs: "
          f"{', '.join(f'{t:.2f}' for t in times)})", flush=True)  # fmt: skip
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--conversations", type=int, default=1000)
    args = ap.parse_args()
    real = from_calls(read_paths([LOGS])[0])
    copies = max(1, round(args.calls / len(real)))
    trace = replicate(real, copies)
    pricer = Pricer()
    price(real, Split.reported(real), pricer)  # load genai-prices once, outside the timings
    print(f"{len(trace):,} calls ({copies} copies of {len(real)} real calls)")
    timed("price the reported split (vectorised, exact)", args.runs,
          lambda: price(trace, Split.reported(trace), pricer))  # fmt: skip
    timed("replay provider caching rules (one lever)", args.runs,
          lambda: simulate(trace, rules_for))  # fmt: skip
    result = timed("whatif: 10 default levers + best combination", args.runs,
                   lambda: whatif(trace, None, pricer))  # fmt: skip
    print(f"  baseline ${result.baseline.cost:,.2f}; best {result.best and result.best.name}")
    work = timed(f"ShareGPT: read + tokenize {args.conversations} conversations", 1,
                 lambda: chat_workload(limit=args.conversations))  # fmt: skip
    print(f"  {work.calls:,} calls")
    timed("ShareGPT: whatif on that workload", args.runs,
          lambda: whatif(work.trace, None, pricer))  # fmt: skip


if __name__ == "__main__":
    main()
