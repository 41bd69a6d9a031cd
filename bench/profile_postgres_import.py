"""Where the PostgreSQL ledger's import spends its time: seconds per batch in each statement.

    python bench/profile_postgres_import.py --calls 1000000      # a throwaway server (tests/pg.py)

The calls of ``bench_postgres.py`` (generated outside the timed part) are stored with
``PostgresLedger.add_columns`` in batches; every ``execute`` of the import is timed by
statement (its first words), and what is left of the wall time is Python's (the batch's
columns to COPY rows, the rate lookups) plus the COPY itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_postgres import batch

from tokenomy.ledger.postgres import PostgresLedger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args()

    import pg
    import psycopg

    server = pg.start(fast=False)
    spent: dict[str, float] = {}
    execute = psycopg.Connection.execute

    def timed(self: Any, query: Any, *rest: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(self, query, *rest, **kw)
        finally:
            key = " ".join(str(query).split())[:64]
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start

    try:
        with PostgresLedger(server.database("profile")) as ledger:
            ledger.pricer.load()
            psycopg.Connection.execute = timed  # type: ignore[method-assign]
            total, batches = 0.0, 0
            for k, first in enumerate(range(0, args.calls, args.batch)):
                columns = batch(first, min(args.batch, args.calls - first), k, args.calls)
                start = time.perf_counter()
                ledger.add_columns(columns)
                total += time.perf_counter() - start
                batches += 1
            psycopg.Connection.execute = execute  # type: ignore[method-assign]
    finally:
        server.stop()
    print(f"{args.calls / total:,.0f} calls/s; seconds per batch of {args.batch:,}:")
    for key, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        if seconds / batches >= 0.005:
            print(f"{seconds / batches:7.3f}  {key}")
    print(f"{(total - sum(spent.values())) / batches:7.3f}  (the rest: Python, COPY, rates)")
    print(f"{total / batches:7.3f}  in all")


if __name__ == "__main__":
    main()
