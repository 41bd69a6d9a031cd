"""The ledger's storage: the ``Store`` interface every backend implements, and ``Ledger``, the
default backend, an embedded DuckDB file.

- **Idempotent**: calls are keyed by (source, provider call id). Importing the same logs again,
  or a copy of them under another path, merges into the same rows and changes no total. When
  two records of one call differ (streamed rows, placeholder output), the fuller one is kept.
- **Priced at import**: each call's cost is computed from genai-prices at its own timestamp, in
  the same transaction that stores it (``repricing``), so reports only sum; when prices or
  overrides change, the calls are repriced. A model genai-prices does not know stays
  *unpriced* (cost NULL).
- **Private**: counts, ids, times, model and project names; never prompt or response text.

Questions come in as typed ``Filters`` and groupings, never SQL text: a second backend (a
shared server database) answers the same methods in its own dialect.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tokenomy.calls import STORED_FIELDS, Call, prompt_sql
from tokenomy.ledger import freshness, importing, repricing
from tokenomy.ledger.filters import GROUPINGS, Filters
from tokenomy.ledger.home import default_home, is_postgres_url, ledger_target
from tokenomy.ledger.importing import INT_FIELDS, ImportReport, Job
from tokenomy.ledger.queries import COLUMNS, SQLReads
from tokenomy.pricing import Pricer
from tokenomy.sources import FileReport, registry, walk_files
from tokenomy.sources.base import CONFLICT

if TYPE_CHECKING:
    import duckdb

    from tokenomy.ledger.importing import Columns
    from tokenomy.ledger.postgres import PostgresLedger

__all__ = ["GROUPINGS", "Ledger", "Store", "default_home", "open_store"]


class Store(Protocol):
    """What a ledger backend answers. Rows are plain tuples/dicts; money is ``Decimal``."""

    pricer: Pricer

    def import_paths(
        self, paths: Iterable[Path | str], progress: importing.Progress | None = None
    ) -> ImportReport: ...

    def add_calls(self, calls: Sequence[Call]) -> int: ...

    def calls(self, filters: Filters | None = None) -> list[Call]: ...

    def count(self, filters: Filters | None = None) -> int: ...

    def sums(self, grouping: str | None, filters: Filters) -> list[dict[str, Any]]: ...

    def timeline(self, filters: Filters) -> list[tuple[datetime, int, Decimal, bool]]: ...

    def priced_tokens(
        self, filters: Filters, weekly: bool = False
    ) -> tuple[list[tuple[Any, ...]], dict[str, Decimal]]: ...

    def task_tokens(self, filters: Filters) -> list[tuple[str, int, int]]: ...

    def distinct(self, column: str) -> list[str]: ...

    def prompt_digests(self) -> dict[str, list[tuple[str, int]]]: ...

    def price(self, everything: bool = False) -> int: ...

    def unpriced_models(self) -> Counter[str]: ...

    def release(self) -> None: ...

    def close(self) -> None: ...


def _column_type(name: str) -> str:
    special = {"time": "TIMESTAMP", "output_exact": "BOOLEAN", "reported_cost": "DECIMAL(38, 12)"}
    return special.get(name, "BIGINT" if name in INT_FIELDS else "VARCHAR")


_CALL_COLUMNS = ",\n    ".join(f'"{c}" {_column_type(c)} NOT NULL'.replace(
    "DECIMAL(38, 12) NOT NULL", "DECIMAL(38, 12)") for c in STORED_FIELDS)  # fmt: skip
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS calls (
    {_CALL_COLUMNS},
    cost DECIMAL(38, 12),
    priced_model VARCHAR,
    price_fp VARCHAR,
    PRIMARY KEY (source, id)
);
CREATE TABLE IF NOT EXISTS files (
    path VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    head_hash VARCHAR NOT NULL,
    "offset" BIGINT NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS problems (
    path VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (path, reason)
);
CREATE TABLE IF NOT EXISTS imports (
    time TIMESTAMP NOT NULL,
    files_read BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    calls_found BIGINT NOT NULL,
    new_calls BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    skipped BIGINT NOT NULL
);
"""
_FILE_COLUMNS = ("path", "source", "size", "mtime_ns", "head_hash", "offset", "imported_at")
_CASTS = ", ".join(f'CAST("{c}" AS {_column_type(c)}) AS "{c}"' for c in STORED_FIELDS)
_PROMPT = prompt_sql()


class DuckDBDialect:
    """DuckDB's spelling of the shared queries (``queries.Dialect``)."""

    users = False  # a ledger of one person

    def param(self, name: str) -> str:
        return f"${name}"

    def params(self, filters: Filters) -> dict[str, Any]:
        return {}

    def local(self, filters: Filters) -> str:
        # The zone was validated by ``Filters``: quotes cannot occur in an IANA name.
        return f"timezone('{filters.timezone}', time::TIMESTAMPTZ)"

    def day(self, expr: str) -> str:
        return f"strftime({expr}, '%Y-%m-%d')"

    def month(self, expr: str) -> str:
        return f"strftime({expr}, '%Y-%m')"

    def seconds(self, expr: str) -> str:
        return f"epoch({expr})"

    def text(self, expr: str) -> str:
        return expr  # DuckDB compares text byte-wise already


class LedgerBusy(RuntimeError):
    """Another process holds the ledger file for longer than we wait."""


class LedgerUnreadable(RuntimeError):
    """The ledger file is not a DuckDB database (damaged, or another file by that name)."""


def _connect(path: Path, wait: float) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, waiting up to ``wait`` seconds while another tokenomy process
    (an import, ``serve`` mid-request) holds its lock."""
    import duckdb  # loading DuckDB costs ~0.25 s: only when the ledger is really opened

    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc):
                raise LedgerUnreadable(
                    f"the ledger {path} cannot be opened ({str(exc).removeprefix('IO Error: ')}); "
                    "move it away and import again: the logs are the source of truth"
                ) from exc
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(exc))
                who = f" (PID {holder.group(1)})" if holder else ""
                raise LedgerBusy(
                    f"the ledger {path} is in use by another process{who}; "
                    "try again when it finishes"
                ) from exc
            time.sleep(0.1)


class Ledger(SQLReads):
    """The calls imported so far, in ``<home>/ledger.duckdb`` (the default ``Store``)."""

    dialect = DuckDBDialect()

    def __init__(
        self, home: Path | str | None = None, pricer: Pricer | None = None, *, wait: float = 15.0
    ) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.path = self.home / "ledger.duckdb"
        self.wait = wait
        self._db: duckdb.DuckDBPyConnection | None = None
        self._pricer = pricer
        self.sql(f"BEGIN TRANSACTION; {_SCHEMA} COMMIT")  # one commit, not one per table

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """The connection, opened on first use (again after ``release``)."""
        if self._db is None:
            self._db = _connect(self.path, self.wait)
        return self._db

    def release(self) -> None:
        """Let other processes use the ledger file until this ledger is used again (DuckDB
        allows one process at a time: a long-running ``serve`` holds it only per request)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` or ``$name`` parameters) and fetch all it returns (DuckDB
        wants results consumed). For this backend's own use and tests; the library asks
        through the typed methods."""
        args = params if isinstance(params, dict) else list(params)
        return self.db.execute(query, args).fetchall()

    def close(self) -> None:
        self.release()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------

    def import_paths(
        self, paths: Iterable[Path | str], progress: importing.Progress | None = None
    ) -> ImportReport:
        """Import every recognised log under ``paths``; only what is new is read. ``progress``
        is told (bytes read, bytes to read) as the files are read."""
        report = ImportReport()
        known = {
            row[0]: row[1:]
            for row in self.sql(
                'SELECT path, source, size, mtime_ns, head_hash, "offset" FROM files'
            )
        }
        jobs: list[Job] = []
        seen: dict[str, tuple[int, int]] = {}
        for path, st in walk_files(paths, report.left_out):
            report.files_seen += 1
            seen[path] = (st.st_size, st.st_mtime_ns)
            job = importing.plan(path, st, known.get(path), report)
            if job is not None:
                jobs.append(job)
        if not jobs:
            if self.sql("SELECT 1 FROM calls WHERE price_fp IS DISTINCT FROM ? LIMIT 1",
                        [self.pricer.fingerprint]):  # fmt: skip
                self.price()  # an earlier run stopped before pricing, or prices changed
            elif (version := freshness.read_version(self.home)) is None or (
                freshness.unchanged_version(self.home, paths) is None
            ):
                self._write_snapshot(seen, version)  # the ledger did not change: same version
            report.standing = self.standing_warnings()
            return report  # nothing new: no read, no write
        results = importing.read(jobs, self.pricer, progress)
        tables = [table for table, _ in results if table is not None]
        file_reports = [r for _, reports in results for r in reports]
        for file_report in file_reports:
            report.add(file_report)
        report.files_read = len(jobs)
        with self._transaction():
            report.new_calls, merged, conflicts = self._upsert(tables)
            report.duplicates += merged
            if conflicts:
                report.skipped[CONFLICT] += conflicts
            self._record_files(jobs, file_reports)
            self._record_problems(jobs, file_reports, conflicts)
            self.sql(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    importing.utc_now(), report.files_read, report.lines, report.calls_found,
                    report.new_calls, report.duplicates, sum(report.skipped.values()),
                ],
            )  # fmt: skip
            repricing.price(self)  # in the same transaction: no call is ever stored unpriced
        self._write_snapshot(seen)
        if tables:
            report.unpriced = self.unpriced_models()
        read_now = set(report.skipped)
        report.standing = [w for w in self.standing_warnings() if not w.endswith(
            tuple(read_now))]  # fmt: skip
        return report

    def standing_warnings(self) -> list[str]:
        """What earlier imports found wrong in the logs still in the ledger (lines skipped,
        records in conflict), so that ``--strict`` fails on every run while it is there."""
        rows = self.sql(
            "SELECT reason, sum(n), count(*) FROM problems GROUP BY reason ORDER BY reason"
        )
        return [
            f"the ledger holds logs with {int(n):,} skipped line(s) in {files:,} file(s): {reason}"
            for reason, n, files in rows
        ]

    def _record_problems(
        self, jobs: Sequence[Job], reports: Sequence[FileReport], conflicts: int
    ) -> None:
        """Keep each file's skipped lines (a file read again from its start starts afresh)."""
        fresh = [job.path for job in jobs if job.offset == 0]
        if fresh:
            with self.staged("fresh", ("path",), [(p,) for p in fresh]):
                self.sql("DELETE FROM problems WHERE path IN (SELECT path FROM fresh)")
        rows = [(r.path, reason, n) for r in reports for reason, n in r.skipped.items() if n]
        if conflicts:
            rows.append(("(merge)", CONFLICT, conflicts))
        if rows:
            with self.staged("new_problems", ("path", "reason", "n"), rows):
                self.sql(
                    "INSERT INTO problems SELECT path, reason, CAST(n AS BIGINT) FROM new_problems "
                    "ON CONFLICT (path, reason) DO UPDATE SET n = problems.n + excluded.n"
                )

    def add_calls(self, calls: Sequence[Call]) -> int:
        """Store call records that came from elsewhere than a file (a live gateway); returns
        how many were new. The same merge and pricing as an import."""
        if not calls:
            return 0
        with self._transaction():
            new, _, _ = self._upsert([importing.calls_columns(calls)])
            repricing.price(self)
        self._write_snapshot()
        return new

    def price(self, everything: bool = False) -> int:
        """Price the calls not priced with the current prices (all with ``everything``)."""
        with self._transaction():
            n = repricing.price(self, everything)
        self._write_snapshot()  # costs changed: cached reports are stale
        return n

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.sql("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.sql("ROLLBACK")
            raise
        self.sql("COMMIT")

    def _write_snapshot(
        self, seen: dict[str, tuple[int, int]] | None = None, version: str | None = None
    ) -> None:
        """Every file of this run (or the last snapshot's) as it was, the files that are no
        logs too, so that a re-run over the same folder knows them; a new version unless
        given."""
        before = freshness.known_files(self.home) if seen is None else seen
        files = before | {
            str(path): (int(size), int(mtime))
            for path, size, mtime in self.sql("SELECT path, size, mtime_ns FROM files")
        }
        freshness.write_snapshot(self.home, files, version or freshness.new_version())

    def _upsert(self, batches: Sequence[Columns]) -> tuple[int, int, int]:
        """Insert new calls, merge known ones (fuller record wins among records that agree on
        model and session). Returns (new, merged, conflicts): merged counts the records of a
        call already in the ledger or met twice in ``batches``; conflicts, records that repeat
        a stored call's id with another model or session (the stored call is kept)."""
        import numpy as np

        rows = sum(len(b["id"]) for b in batches)
        if not rows:
            return 0, 0, 0
        arrived = {name: np.concatenate([b[name] for b in batches]) for name in STORED_FIELDS}
        arrived["arrival"] = np.arange(rows, dtype=np.int64)
        self.db.register("arrived", arrived)
        try:
            # One record per call: the fuller (more output, then a larger prompt), else the
            # first to arrive. Each column cast to its stored type (money arrives as text).
            self.sql(
                f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT {_CASTS} FROM arrived QUALIFY "
                f"row_number() OVER (PARTITION BY source, id ORDER BY output DESC, "
                f"{_PROMPT} DESC, arrival) = 1"
            )
        finally:
            self.db.unregister("arrived")
        try:
            unique = int(self.sql("SELECT count(*) FROM incoming")[0][0])
            before = self.count()
            if before == 0:  # a first import: nothing to merge with
                self.sql(f"INSERT INTO calls ({COLUMNS}) SELECT {COLUMNS} FROM incoming")
                return unique, rows - unique, 0
            merged, conflicts = self.sql(
                "SELECT count(*), count(*) FILTER (WHERE i.model <> c.model OR "
                "i.session <> c.session) FROM incoming i JOIN calls c USING (source, id)"
            )[0]
            agree = "(excluded.model = calls.model AND excluded.session = calls.session)"
            fuller = (
                f"({agree} AND "
                f"(excluded.output > calls.output OR (excluded.output = calls.output AND "
                f"{prompt_sql('excluded')} > {prompt_sql('calls')})))"
            )
            updates = ", ".join(
                f'"{c}" = CASE WHEN {fuller} THEN excluded."{c}" ELSE calls."{c}" END'
                for c in STORED_FIELDS
                if c not in ("source", "id", "time", "output_exact")
            )
            self.sql(
                f"INSERT INTO calls ({COLUMNS}) SELECT {COLUMNS} FROM incoming "
                f"ON CONFLICT (source, id) DO UPDATE SET {updates}, "
                f"time = CASE WHEN {agree} THEN least(calls.time, excluded.time) "
                "ELSE calls.time END, "
                f"output_exact = calls.output_exact OR ({agree} AND excluded.output_exact), "
                f"price_fp = CASE WHEN {fuller} THEN NULL ELSE calls.price_fp END"
            )
            return self.count() - before, int(merged - conflicts) + rows - unique, int(conflicts)
        finally:
            self.sql("DROP TABLE incoming")

    def _record_files(self, jobs: Sequence[Job], reports: Sequence[FileReport]) -> None:
        by_path = {r.path: r for r in reports}
        now = importing.utc_now()
        rows = []
        for job in jobs:
            file_report = by_path[job.path]
            # Only whole lines were consumed: the next import starts after the last one.
            offset = file_report.end if registry()[job.source].incremental else job.size
            size = job.size if not file_report.pending_bytes else -1  # re-check until complete
            rows.append((job.path, job.source, size, job.mtime_ns, job.head_hash, offset, now))
        if rows:
            with self.staged("new_files", _FILE_COLUMNS, rows):
                self.sql(
                    "INSERT OR REPLACE INTO files SELECT path, source, size, mtime_ns, "
                    'head_hash, "offset", CAST(imported_at AS TIMESTAMP) FROM new_files'
                )

    @contextmanager
    def staged(
        self, name: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> Iterator[None]:
        """Rows visible to SQL as table ``name``, through numpy arrays (DuckDB's executemany
        costs milliseconds a row, an array scan microseconds). ``Decimal`` values arrive as
        exact text: the statement that reads them casts them to its DECIMAL column."""
        import numpy as np

        def column(values: tuple[Any, ...]) -> Any:
            if any(isinstance(v, Decimal) for v in values):
                return np.array([None if v is None else str(v) for v in values], dtype=object)
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                return np.array(values, dtype=np.int64)
            return np.array(values, dtype=object)

        arrays = [column(col) for col in zip(*rows, strict=True)]
        self.db.register(name, dict(zip(columns, arrays, strict=True)))
        try:
            yield
        finally:
            self.db.unregister(name)

    # -- reading --------------------------------------------------------------------------

    def _dicts(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = self.db.execute(query, params)
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def prompt_digests(self) -> dict[str, list[tuple[str, int]]]:
        """The gateway's recorded prompt blocks (hashes and estimated tokens, no text) of each
        call it recorded, by call id: what makes a gateway call's trace exact."""
        tables = self.sql(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'gateway_requests'"
        )
        if not tables:
            return {}
        out: dict[str, list[tuple[str, int]]] = {}
        for call_id, blocks in self.sql(
            "SELECT call_id, blocks FROM gateway_requests WHERE call_id <> '' AND blocks <> ''"
        ):
            digest = _digest(blocks)
            if digest:
                out[str(call_id)] = digest
        return out


def open_store(
    target: str | Path | None = None,
    pricer: Pricer | None = None,
    *,
    home: Path | str | None = None,
    user: str = "",
    host: str | None = None,
) -> Ledger | PostgresLedger:
    """Open a ledger: ``target`` (or ``$TOKENOMY_LEDGER``) as a ``postgresql://`` URL opens
    the shared PostgreSQL ledger (``user``/``host`` attribute what this process stores), as
    a directory the DuckDB ledger there; with neither, the DuckDB ledger in ``home`` (or the
    default home)."""
    chosen = ledger_target(target)
    if is_postgres_url(chosen):
        from tokenomy.ledger.postgres import PostgresLedger

        return PostgresLedger(str(chosen), pricer, user=user, host=host, home=home)
    return Ledger(chosen or home, pricer)


def _digest(blocks: str) -> list[tuple[str, int]]:
    """A ``gateway_requests.blocks`` value as ``[(hash, tokens), ...]``; ``[]`` if it is not one
    (it is written by the gateway, but a ledger file is data: never trusted to be well formed)."""
    try:
        value = json.loads(blocks)
        return [(str(h), int(n)) for h, n in value]
    except (TypeError, ValueError):  # JSONDecodeError is a ValueError
        return []
