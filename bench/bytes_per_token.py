"""How many bytes of UTF-8 text an o200k_base token holds, over the ShareGPT conversations of at
least 200 tokens: the gateway's least-tokens bound (providers.TEXT_BYTES_PER_TOKEN_MAX) must
be at least the largest.

    python bench/bytes_per_token.py [--limit 3000]
"""

from __future__ import annotations

import argparse

import numpy as np

from tokenomy.gateway.providers import TEXT_BYTES_PER_TOKEN_MAX
from tokenomy.tokens.registry import _tokenizer
from tokenomy.workloads.sharegpt import load_conversations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=3000)
    args = parser.parse_args()
    tokenizer = _tokenizer("o200k_base")
    conversations, _ = load_conversations(limit=args.limit)
    ratios = []
    for conversation in conversations:
        text = "".join(t for _, t in conversation.turns)
        n = tokenizer.count(text)
        if n >= 200:
            ratios.append(len(text.encode()) / n)
    r = np.array(ratios)
    p50, p99 = np.percentile(r, [50, 99])
    print(f"{len(r):,} conversations: bytes a token median {p50:.2f}, p99 {p99:.2f}, "
          f"max {r.max():.2f}; the bound used: {TEXT_BYTES_PER_TOKEN_MAX}")  # fmt: skip


if __name__ == "__main__":
    main()
