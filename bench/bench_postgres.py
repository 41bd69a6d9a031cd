"""Import rate (calls/s) and the daily report (seconds) on the PostgreSQL ledger vs DuckDB.

    python bench/bench_postgres.py --calls 10000000          # a throwaway server (tests/pg.py)
    python bench/bench_postgres.py --calls 1000000 --url postgresql://user@host/db

N generated calls (4 priced models, 40 projects, sessions of ~50 calls, distinct ids, in time
order over 180 days) are stored in batches the way the importers and gateways store them: as columns
(``importing.Columns``), deduplicated, merged and priced in the same transaction. The daily
report is ``tokenomy.bill.bill(ledger, "daily")``, the whole of what ``report daily`` asks the
ledger; best of 3 after one warm-up. The server runs with PostgreSQL's defaults (fsync on) and
``synchronous_commit=off``; DuckDB's file sits in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from tokenomy.bill import bill
from tokenomy.calls import STORED_FIELDS
from tokenomy.ledger import Filters, Ledger, repricing
from tokenomy.ledger.postgres import PostgresLedger

MODELS = [("claude-sonnet-4-5", "anthropic"), ("gpt-4o", "openai"),
          ("claude-haiku-4-5", "anthropic"), ("gemini-2.5-pro", "google")]  # fmt: skip
START = np.datetime64("2026-01-01T00:00:00", "us")


def batch(first: int, n: int, seed: int, total: int) -> dict[str, Any]:
    """Calls ``first`` .. ``first + n - 1`` of ``total`` as columns, in time order over 180
    days with an hour of jitter (as a gateway or a log sees them arrive)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(first, first + n)
    seconds = idx * (180 * 86400 // total) + rng.integers(0, 3600, n)
    pick = rng.integers(0, len(MODELS), n)
    col: dict[str, Any] = {
        "source": np.full(n, "gateway", dtype=object),
        "id": np.array([f"call-{i:011d}" for i in idx], dtype=object),
        "time": START + (seconds * 1_000_000).astype("timedelta64[us]"),
        "model": np.array([MODELS[k][0] for k in pick], dtype=object),
        "provider": np.array([MODELS[k][1] for k in pick], dtype=object),
        "session": np.array([f"s{i // 50:09d}" for i in idx], dtype=object),
        "parent_session": np.full(n, "", dtype=object),
        "agent": np.full(n, "", dtype=object),
        "project": np.array([f"project-{i % 40:02d}" for i in idx // 50], dtype=object),
        "service_tier": np.full(n, "", dtype=object),
        "input": rng.integers(10, 5_000, n),
        "cache_read": rng.integers(0, 150_000, n),
        "cache_write_5m": rng.integers(0, 5_000, n),
        "cache_write_1h": np.zeros(n, dtype=np.int64),
        "output": rng.integers(1, 4_000, n),
        "output_exact": np.ones(n, dtype=np.bool_),
        "reported_cost": np.full(n, None, dtype=object),
        "file": np.full(n, "", dtype=object),
    }
    col["reasoning"] = col["output"] // 4
    assert set(col) == set(STORED_FIELDS)
    return col


def store_duckdb(ledger: Ledger, columns: dict[str, Any]) -> None:
    """What ``Ledger.add_calls`` does after making columns of the calls."""
    with ledger._transaction():
        ledger._upsert([columns])
        repricing.price(ledger)


def timed_report(ledger: Any) -> tuple[float, Any]:
    bill(ledger, "daily", Filters())  # warm-up
    best, result = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        result = bill(ledger, "daily", Filters())
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--url", help="an existing database (default: a throwaway server)")
    parser.add_argument("--skip-duckdb", action="store_true")
    args = parser.parse_args()

    server = None
    url = args.url
    if url is None:
        import pg

        server = pg.start(fast=False)
        url = server.database("bench")
    batches = [(i, min(args.batch, args.calls - i)) for i in range(0, args.calls, args.batch)]
    out: dict[str, Any] = {"calls": args.calls, "batch": args.batch}
    try:
        with PostgresLedger(url) as post:
            post.pricer.load()
            spent = 0.0
            for k, (first, n) in enumerate(batches):
                columns = batch(first, n, k, args.calls)  # generated outside the timed part
                start = time.perf_counter()
                post.add_columns(columns)
                spent += time.perf_counter() - start
            out["postgres_import_s"] = round(spent, 2)
            out["postgres_calls_per_s"] = round(args.calls / spent)
            with post.connection() as conn:
                conn.autocommit = True
                conn.execute("VACUUM ANALYZE calls")  # what autovacuum does after a bulk load
            out["postgres_daily_report_s"], pg_bill = timed_report(post)
            size = post.sql("SELECT pg_total_relation_size('calls')")[0][0]
            out["postgres_bytes_per_call"] = round(size / args.calls)
            print(json.dumps(out), file=sys.stderr, flush=True)  # partial results as they come
        if not args.skip_duckdb:
            with tempfile.TemporaryDirectory() as home, Ledger(home) as duck:
                duck.pricer.load()
                spent = 0.0
                for k, (first, n) in enumerate(batches):
                    columns = batch(first, n, k, args.calls)
                    start = time.perf_counter()
                    store_duckdb(duck, columns)
                    spent += time.perf_counter() - start
                out["duckdb_import_s"] = round(spent, 2)
                out["duckdb_calls_per_s"] = round(args.calls / spent)
                out["duckdb_daily_report_s"], duck_bill = timed_report(duck)
                out["duckdb_bytes_per_call"] = round(duck.path.stat().st_size / args.calls)
            out["same_bill"] = pg_bill.to_dict() == duck_bill.to_dict()
            out["total_cost_usd"] = str(duck_bill.totals["cost_usd"])
    finally:
        if server is not None:
            server.stop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
