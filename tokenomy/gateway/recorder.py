"""Recording: a per-process journal, a writer process that moves it into the ledger, the spool
for when the ledger cannot be written, and the budget state.

- **Journal first**: when a response is finished, the request path appends one line to this
  process's journal (``<home>/gateway-journal-<pid>-<tag>.jsonl``): the request's metadata
  and the *usage skeleton* of the response (``providers.redact``: ids, model, tier, time,
  usage counts, in the payload's own structure; never text). So a call is on disk before the
  client has its last byte, and a ``kill -9`` loses nothing.
- **Writer**: every ``flush_s`` a thread hands the journal over (renames it to a spool file
  and opens a fresh one) and asks the writer process (``drainer``, its own process so that
  its CPU never holds the proxy's GIL) to move the spool into the ledger: it reads each line
  with the provider's source module (``providers.calls_from_payload``, the same reading as an
  import of the payload file), stores the calls (source ``gateway``) and one
  ``gateway_requests`` row per request (attribution, status, levers, latency) in one ledger
  session, then removes the spool file. The ledger is opened per batch and closed again, so
  other gateways and ``tokenomy report`` can use it between batches.
- **Spool**: when the ledger cannot be opened or written (locked by another process, disk
  full), the spool files simply stay; every later batch, and every start, drains them first
  (with the journals of processes that died: a live one holds a lock on its own). Rows are
  keyed (calls by (source, id), requests by request id), so each call lands once even when a
  drain is interrupted and repeated.
- **Budgets**: spend per (scope, who, period) is summed from the ledger at start (state
  survives a restart) and advanced by each request stored (the writer process reports what it
  stored, priced by the same ``Pricer``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import subprocess
import sys
import threading
import time as _time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tokenomy.calls import Call
from tokenomy.gateway.config import Budget
from tokenomy.gateway.providers import calls_from_payload, redact
from tokenomy.gateway.spool import JOURNAL_PREFIX, SPOOL_PREFIX, spool_files
from tokenomy.ledger.importing import column

__all__ = [
    "BudgetState", "Exchange", "Recorder", "drain", "drain_into", "drain_spool", "entry_of",
]  # fmt: skip

log = logging.getLogger("tokenomy.gateway")

REQUESTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS gateway_requests (
    request_id VARCHAR PRIMARY KEY,
    time TIMESTAMP NOT NULL,
    provider VARCHAR NOT NULL,
    route VARCHAR NOT NULL,
    status INTEGER NOT NULL,
    ok BOOLEAN NOT NULL,
    error VARCHAR NOT NULL,
    streamed BOOLEAN NOT NULL,
    abandoned BOOLEAN NOT NULL,
    call_id VARCHAR NOT NULL,
    model_requested VARCHAR NOT NULL,
    model_sent VARCHAR NOT NULL,
    project VARCHAR NOT NULL,
    "user" VARCHAR NOT NULL,
    vkey VARCHAR NOT NULL,
    key_hash VARCHAR NOT NULL,
    tags VARCHAR NOT NULL,
    levers VARCHAR NOT NULL,
    latency_ms DOUBLE NOT NULL,
    cost DECIMAL(38, 12),
    blocks VARCHAR NOT NULL DEFAULT ''
);
ALTER TABLE gateway_requests ADD COLUMN IF NOT EXISTS blocks VARCHAR DEFAULT ''
"""
_REQUEST_FIELDS = (
    "request_id", "time", "provider", "route", "status", "ok", "error", "streamed", "abandoned",
    "call_id", "model_requested", "model_sent", "project", "user", "vkey", "key_hash", "tags",
    "levers", "latency_ms", "cost", "blocks",
)  # fmt: skip
_REQUEST_KINDS = {"time": "time", "status": "int", "ok": "bool", "streamed": "bool",
                  "abandoned": "bool", "latency_ms": "float", "cost": "decimal"}  # fmt: skip


@dataclass(slots=True)
class Exchange:
    """One request through the gateway, as the request path hands it to the writer. ``payload``
    is the provider's response body (or SSE text) and is never stored: only what the source
    module reads from it (counts, ids)."""

    request_id: str
    time: datetime
    provider: str
    route: str
    status: int
    streamed: bool
    payload: bytes = b""
    error: str = ""
    abandoned: bool = False
    model_requested: str = ""
    model_sent: str = ""
    project: str = ""
    user: str = ""
    vkey: str = ""
    key_hash: str = ""
    session: str = ""
    tags: str = ""
    levers: str = ""
    latency_ms: float = 0.0
    blocks: str = ""  # the prompt's block hashes and token estimates (``block_digest``), no text


def _period_keys(when: datetime) -> dict[str, str]:
    return {"day": when.strftime("%Y-%m-%d"), "month": when.strftime("%Y-%m")}


def _who(scope: str, row: dict[str, Any]) -> str:
    return "" if scope == "all" else str(row.get("vkey" if scope == "key" else scope) or "")


class BudgetState:
    """Dollars spent per (scope, who, period key), and held for requests in flight;
    thread-safe.

    A request is admitted with a hold of the least it can cost; the hold is let go when its
    recorded cost arrives from the writer (or after ``HOLD_S``, for a journal line the writer
    could not read). So a burst cannot slip past a hard budget while the spend of its first
    requests is still on the way to the ledger."""

    HOLD_S = 600.0

    def __init__(self, budgets: Sequence[Budget]) -> None:
        self.budgets = tuple(budgets)
        self._spent: dict[tuple[str, str, str], Decimal] = {}
        self._held: dict[str, tuple[list[tuple[str, str, str]], Decimal, float]] = {}
        self._lock = threading.Lock()

    def _keys(self, row: dict[str, Any], when: datetime) -> list[tuple[str, str, str]]:
        periods = _period_keys(when).values()
        return [(s, _who(s, row), p) for s in {b.scope for b in self.budgets} for p in periods]

    def add(
        self, row: dict[str, Any], when: datetime, cost: Decimal | None, request_id: str = ""
    ) -> None:
        """A recorded call's cost; lets go of the request's hold."""
        with self._lock:
            self._held.pop(request_id, None)
            if not cost or not self.budgets:
                return
            for key in self._keys(row, when):
                self._spent[key] = self._spent.get(key, Decimal(0)) + cost

    def hold(self, request_id: str, row: dict[str, Any], when: datetime, least: Decimal) -> None:
        if self.budgets:
            with self._lock:
                self._held[request_id] = (self._keys(row, when), least, _time.monotonic())

    def release(self, request_id: str) -> None:
        """Lets go of a hold for a request that was never sent (no cost will come)."""
        with self._lock:
            self._held.pop(request_id, None)

    def spent(self, budget: Budget, who: str, now: datetime) -> Decimal:
        key = (budget.scope, who, _period_keys(now)[budget.period])
        with self._lock:
            return self._spent.get(key, Decimal(0))

    def held(self, budget: Budget, who: str, now: datetime) -> Decimal:
        key = (budget.scope, who, _period_keys(now)[budget.period])
        stale = _time.monotonic() - self.HOLD_S
        with self._lock:
            for request_id in [r for r, (_, _, t) in self._held.items() if t < stale]:
                del self._held[request_id]
            return sum((a for keys, a, _ in self._held.values() if key in keys), Decimal(0))

    def check(
        self, row: dict[str, Any], now: datetime, least: Decimal = Decimal(0)
    ) -> tuple[Budget | None, list[Budget]]:
        """(the first hard budget that is spent, or that the spend so far, the holds of the
        requests in flight and ``least``, this request's least cost, would exceed; the soft
        budgets already passed)."""
        soft: list[Budget] = []
        for budget in self.budgets:
            who = _who(budget.scope, row)
            if budget.scope != "all" and budget.name != "*" and who != budget.name:
                continue
            spent = self.spent(budget, who, now)
            if budget.hard:
                committed = spent + self.held(budget, who, now)
                if committed >= budget.usd or committed + least > budget.usd:
                    return budget, soft
            elif spent >= budget.usd:
                soft.append(budget)
        return None, soft


class Recorder:
    """The journal and the writer thread. ``submit`` is the only call the request path makes:
    it appends the exchange (metadata and the usage skeleton of the response, no text) to
    this process's journal, so a call is on disk before its response is finished. The writer
    thread hands the journal to the writer process (``drainer``), which moves it into the
    ledger, every ``flush_s``."""

    def __init__(self, home: Path, budgets: BudgetState, flush_s: float = 0.2) -> None:
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.budgets = budgets
        self.flush_s = flush_s
        self.recorded = 0  # requests stored in the ledger by this process
        self.failed_writes = 0  # ledger writes that failed (their requests stay spooled)
        self._pricer: Any = None
        self._lock = threading.Lock()
        self._pending = 0  # requests in the journal, not yet handed to the writer
        self._busy = False
        self._seq = 0
        self._tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._fd = -1
        self._wake = threading.Event()
        self._stopping = False
        self._child: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="tokenomy-gateway-writer",
                                        daemon=True)  # fmt: skip

    @property
    def spooled(self) -> int:
        """Requests waiting in spool files (the ledger could not be written yet)."""
        return sum(1 for f in spool_files(self.home) for _ in _lines_of(f))

    # -- the request path -------------------------------------------------------------------

    def submit(self, exchange: Exchange) -> None:
        line = _encode_exchange(exchange)
        with self._lock:
            os.write(self._fd, line)
            self._pending += 1
        self._wake.set()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Open the journal, start the writer process (it moves what earlier runs left into
        the ledger and reports the month's spend for the budgets), start the writer thread."""
        self._open_journal()
        self._command("start")
        self._thread.start()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far was handed to the ledger (or the spool)."""
        deadline = _time.monotonic() + timeout
        self._wake.set()
        while True:
            with self._lock:
                if not self._pending and not self._busy:
                    return True
            if _time.monotonic() > deadline:
                return False
            _time.sleep(0.01)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=60)
        if self._child is not None:
            if self._child.stdin is not None:
                self._child.stdin.close()
            try:
                self._child.wait(30)
            except subprocess.TimeoutExpired:
                self._child.kill()
            self._child = None
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
        journal = self._journal_path()
        if journal.exists() and journal.stat().st_size == 0:
            journal.unlink()

    # -- the writer thread ------------------------------------------------------------------

    def _journal_path(self) -> Path:
        return self.home / f"{JOURNAL_PREFIX}{self._tag}.jsonl"

    def _open_journal(self) -> None:
        fd = os.open(self._journal_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held for life: "not an orphan"
        self._fd = fd

    def _rotate(self) -> bool:
        """Hand the journal to the spool (a rename) and start a fresh one."""
        with self._lock:
            if not self._pending:
                return False
            self._seq += 1
            os.replace(self._journal_path(),
                       self.home / f"{SPOOL_PREFIX}{self._tag}-{self._seq:09d}.jsonl")  # fmt: skip
            os.close(self._fd)
            self._open_journal()
            self._pending = 0
            self._busy = True
            return True

    def _run(self) -> None:
        last_failure = 0.0
        while True:
            self._wake.wait(self.flush_s)
            self._wake.clear()
            stopping = self._stopping
            if not stopping:
                _time.sleep(self.flush_s / 4)  # let a burst gather into one batch
            rotated = self._rotate()
            if rotated or (last_failure and _time.monotonic() - last_failure > 1.0):
                last_failure = 0.0 if self._command("drain") else _time.monotonic()
            with self._lock:
                self._busy = False
            if stopping:
                return

    def _command(self, command: str) -> bool:
        """One command to the writer process (started, or restarted, as needed); whether the
        ledger was written. The answer's rows advance the budgets."""
        try:
            if self._child is None or self._child.poll() is not None:
                self._child = subprocess.Popen(
                    [sys.executable, "-m", "tokenomy.gateway.drainer", str(self.home)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                )  # fmt: skip
            assert self._child.stdin is not None and self._child.stdout is not None
            self._child.stdin.write(command.encode() + b"\n")
            self._child.stdin.flush()
            answer = orjson.loads(self._child.stdout.readline())
        except (OSError, ValueError) as exc:
            answer = {"ok": False, "error": f"writer process: {exc}"}
        if not answer["ok"]:
            self.failed_writes += 1
            log.warning("ledger not writable (%s): calls stay in the spool", answer["error"])
            return False
        for project, user, vkey, when, cost, *request_id in answer["rows"]:
            row = {"project": project, "user": user, "vkey": vkey}
            self.budgets.add(
                row,
                datetime.fromisoformat(when),
                None if cost is None else Decimal(cost),
                *request_id,
            )
        self.recorded += answer["moved"]
        return True


def _encode_exchange(x: Exchange) -> bytes:
    data = {f: getattr(x, f) for f in Exchange.__slots__ if f != "payload"}
    data["time"] = x.time.isoformat()
    data["usage"] = redact(x.payload, x.streamed).decode() if 200 <= x.status < 300 else ""
    return orjson.dumps(data) + b"\n"


def entry_of(line: bytes, pricer: Any) -> dict[str, Any]:
    """One journal line as what is stored: its calls (read by the provider's source module
    from the usage skeleton) and its request row."""
    data = orjson.loads(line)
    usage = data.pop("usage").encode()
    x = Exchange(**{**data, "payload": usage})
    x.time = datetime.fromisoformat(data["time"])
    calls: list[Call] = []
    error = x.error
    if usage:
        calls, report = calls_from_payload(x.provider, usage, x.time, x.streamed)
        if not calls and not error:
            reasons = ", ".join(sorted(report.skipped)) or "no usage in the response"
            error = f"not recorded: {reasons}"
    elif 200 <= x.status < 300 and not error:
        error = "not recorded: no usage in the response"
    cost: Decimal | None = None
    for call in calls:
        call.source = "gateway"
        call.file = ""
        call.project = x.project
        call.session = x.session
        price = pricer.cost(
            call.model, call.time, provider=call.provider, service_tier=call.service_tier,
            input=call.input, cache_read=call.cache_read, cache_write_5m=call.cache_write_5m,
            cache_write_1h=call.cache_write_1h, output=call.output,
        )  # fmt: skip
        if price is not None:
            cost = (cost or Decimal(0)) + price
    row = {
        "request_id": x.request_id, "time": x.time, "provider": x.provider,
        "route": x.route, "status": x.status, "ok": 200 <= x.status < 300 and not error,
        "error": error, "streamed": x.streamed, "abandoned": x.abandoned,
        "call_id": calls[0].id if calls else "", "model_requested": x.model_requested,
        "model_sent": x.model_sent, "project": x.project, "user": x.user, "vkey": x.vkey,
        "key_hash": x.key_hash, "tags": x.tags, "levers": x.levers,
        "latency_ms": x.latency_ms, "cost": cost, "blocks": x.blocks,
    }  # fmt: skip
    return {"request": row, "calls": calls}


def store(ledger: Any, entries: Sequence[dict[str, Any]]) -> None:
    """Write entries (calls + request rows); keyed, so writing one twice changes nothing."""
    ledger.sql(REQUESTS_SCHEMA)
    calls = [c for e in entries for c in e["calls"]]
    if calls:
        ledger.add_calls(calls)
    if not entries:
        return
    rows = [e["request"] for e in entries]
    arrays = {name: column([row[name] for row in rows], _REQUEST_KINDS.get(name, "text"))
              for name in _REQUEST_FIELDS}  # fmt: skip
    cols = ", ".join(f'"{f}"' for f in _REQUEST_FIELDS)
    select = cols.replace('"cost"', 'CAST("cost" AS DECIMAL(38, 12))')
    ledger.db.register("gateway_incoming", arrays)
    try:
        ledger.sql(
            f"INSERT INTO gateway_requests ({cols}) SELECT {select} FROM gateway_incoming "
            "ON CONFLICT DO NOTHING"
        )
    finally:
        ledger.db.unregister("gateway_incoming")


# -- the spool ------------------------------------------------------------------------------


def _lines_of(path: Path) -> Iterator[bytes]:
    try:
        data = path.read_bytes()
    except OSError:
        return
    for line in data.split(b"\n"):
        if line.strip():
            yield line


def drain_into(ledger: Any) -> int:
    """Move the spool of ``ledger``'s home into it (a ledger command opening the ledger);
    costs one directory listing when there is none."""
    if not spool_files(ledger.home):
        return 0
    return len(drain_spool(ledger, ledger.home, ledger.pricer))


def drain(home: Path) -> int:
    """Open the ledger in ``home`` and move the spool into it (``tokenomy gateway --drain``,
    and ``import`` can call it); returns the requests moved."""
    from tokenomy.ledger import Ledger
    from tokenomy.pricing import Pricer

    if not spool_files(home):
        return 0
    with Ledger(home) as ledger:
        return len(drain_spool(ledger, home, Pricer()))


def drain_spool(ledger: Any, home: Path, pricer: Any) -> list[dict[str, Any]]:
    """Move every spool file nobody holds into ``ledger``; returns the entries moved.

    A live gateway holds a lock on its journal, so only journals handed over (renamed) or
    left by a process that died are taken. Each file is locked, stored, then removed; storing
    is keyed (calls by (source, id), requests by request id), so a drain interrupted between
    storing and removing, and repeated, stores each call once."""
    moved: list[dict[str, Any]] = []
    for path in spool_files(home):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # drained by another process meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live gateway's journal, or another drain
            if not path.exists():
                continue
            entries = []
            for line in _lines_of(path):
                try:
                    entries.append(entry_of(line, pricer))
                except (ValueError, KeyError, TypeError):
                    log.warning("spool %s: skipped a line that is not a whole entry", path.name)
            store(ledger, entries)
            path.unlink()
            moved += entries
        finally:
            os.close(fd)
    return moved
