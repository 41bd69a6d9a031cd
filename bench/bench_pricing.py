"""Price lookups, the hot path of pricing a report call by call: microseconds per
``Pricer.rates`` lookup, on 50,000 calls 30 s apart (about 17 days: most lookups repeat a day
already resolved).

    python bench/bench_pricing.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tokenomy.pricing import Pricer


def main() -> None:
    pricer = Pricer()
    start = datetime(2026, 2, 10, tzinfo=UTC)
    times = [start + timedelta(seconds=30 * i) for i in range(50_000)]
    pricer.rates("claude-opus-4-6", "", start)  # load the price data first
    for model in ("claude-opus-4-6", "gpt-5.3-codex"):
        began = time.perf_counter()
        for when in times:
            pricer.rates(model, "", when)
        per = (time.perf_counter() - began) / len(times) * 1e6
        print(f"{model:18} {per:.2f} us/lookup")


if __name__ == "__main__":
    main()
