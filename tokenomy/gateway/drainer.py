"""The gateway's writer process: moves spool files into the ledger on request.

Reading each recorded call with its source module, pricing it and storing it costs CPU; in
the proxy's own process that work would hold the GIL while requests wait. So the gateway
starts this process (``python -m tokenomy.gateway.drainer HOME``) and writes one command a
line on its stdin; each answer is one JSON line on its stdout:

- ``start``: drain, then the month's recorded spend (the budget state survives a restart);
- ``drain``: drain; the spend of what was moved (for the budgets).

An answer is ``{"ok": true, "moved": n, "rows": [[project, user, vkey, time, cost,
request_id], ...]}`` (no request id in the answer to ``start``),
or ``{"ok": false, "error": "..."}`` when the ledger could not be written (the spool files
stay for the next command).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tokenomy.gateway.recorder import REQUESTS_SCHEMA, drain_spool

__all__ = ["main"]


def _answer(obj: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj) + b"\n")
    sys.stdout.buffer.flush()


def _row(r: dict[str, Any]) -> list[Any]:
    cost = r["cost"]
    return [r["project"], r["user"], r["vkey"], r["time"].isoformat(),
            None if cost is None else str(cost), r["request_id"]]  # fmt: skip


def main() -> None:
    from tokenomy.ledger import Ledger
    from tokenomy.pricing import Pricer

    home = Path(sys.argv[1])
    pricer = Pricer()
    for line in sys.stdin:
        command = line.strip()
        if not command:
            continue
        try:
            ledger = Ledger(home, pricer=pricer, wait=1.0)  # busy: the batch stays spooled
            try:
                ledger.sql(REQUESTS_SCHEMA)
                moved = drain_spool(ledger, home, pricer)
                if command == "start":
                    now = datetime.now(UTC)
                    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                    rows = [
                        [p, u, k, t.replace(tzinfo=UTC).isoformat(), str(c)]
                        for p, u, k, t, c in ledger.sql(
                            'SELECT project, "user", vkey, time, cost FROM gateway_requests '
                            "WHERE time >= ? AND cost IS NOT NULL",
                            [month.replace(tzinfo=None)],
                        )
                    ]
                else:
                    rows = [_row(e["request"]) for e in moved]
            finally:
                ledger.close()
            _answer({"ok": True, "moved": len(moved), "rows": rows})
        except Exception as exc:
            _answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
