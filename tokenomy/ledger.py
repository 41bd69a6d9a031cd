"""The ledger: an embedded DuckDB file of calls, imported incrementally and idempotently.

- **Incremental**: each file's size, mtime, first-bytes hash and the byte offset read so far are
  kept. An unchanged file costs one ``stat``; an appended line log is read from its offset; a
  file whose first bytes changed (rewritten, rotated) is read again from the start.
- **Idempotent**: calls are keyed by (source, provider call id). Importing the same logs again,
  or a copy of them under another path, merges into the same rows and changes no total. When
  two records of one call differ (streamed rows, placeholder output), the fuller one is kept.
- **Priced at import**: each call's cost is computed from genai-prices at its own timestamp and
  stored with the prices' fingerprint, so reports only sum; when prices or overrides change,
  the calls are repriced. A model genai-prices does not know stays *unpriced* (cost NULL).
- **Private**: counts, ids, times, model and project names; never prompt or response text.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenomy import freshness
from tokenomy.calls import Call
from tokenomy.pricing import Pricer
from tokenomy.sources import FileReport, detect, registry, walk_files

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = ["ImportReport", "Ledger", "default_home"]

HEAD_HASH_BYTES = 1024
PARALLEL_MIN_BYTES = 64 * 1024 * 1024  # below this a process pool costs more than it saves

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    source VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,  -- UTC
    model VARCHAR NOT NULL,
    provider VARCHAR NOT NULL,
    session VARCHAR NOT NULL,
    parent_session VARCHAR NOT NULL,
    agent VARCHAR NOT NULL,
    project VARCHAR NOT NULL,
    service_tier VARCHAR NOT NULL,
    input BIGINT NOT NULL,
    cache_read BIGINT NOT NULL,
    cache_write_5m BIGINT NOT NULL,
    cache_write_1h BIGINT NOT NULL,
    output BIGINT NOT NULL,
    reasoning BIGINT NOT NULL,
    output_exact BOOLEAN NOT NULL,
    reported_cost DECIMAL(38, 12),
    file VARCHAR NOT NULL,
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
_RATE_COLUMNS = (
    "model", "provider", "tier", "day", "above", "upper", "r_input", "r_cache_read", "r_cw5",
    "r_cw1h", "r_output", "per_request", "priced_model",
)  # fmt: skip
_TOKEN_COLUMNS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")
_CALL_COLUMNS = (
    "source", "id", "time", "model", "provider", "session", "parent_session", "agent", "project",
    "service_tier", *_TOKEN_COLUMNS, "output_exact", "reported_cost", "file",
)  # fmt: skip


def default_home() -> Path:
    """``$TOKENOMY_HOME``, else the platform's user data directory."""
    env = os.environ.get("TOKENOMY_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tokenomy"


@dataclass
class ImportReport:
    """What an import did, in counts. ``warnings`` lists everything a user should know."""

    files_seen: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_unrecognised: int = 0
    lines: int = 0
    calls_found: int = 0
    new_calls: int = 0
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    pending_lines: int = 0  # files ending in an incomplete line (left for the next import)
    unpriced: Counter[str] = field(default_factory=Counter)  # model -> calls without a price
    files: list[FileReport] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        out = [f"skipped {n:,} line(s): {reason}" for reason, n in sorted(self.skipped.items())]
        if self.pending_lines:
            out.append(
                f"{self.pending_lines} file(s) end in an incomplete line "
                "(not read yet; it will be read once complete)"
            )
        out += [
            f"{n:,} call(s) of unknown model {model or '(none)'!r} are unpriced (not $0)"
            for model, n in sorted(self.unpriced.items())
        ]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "files_read": self.files_read,
            "files_unchanged": self.files_unchanged,
            "files_unrecognised": self.files_unrecognised,
            "lines": self.lines,
            "calls_found": self.calls_found,
            "new_calls": self.new_calls,
            "duplicates_dropped": self.duplicates,
            "skipped": dict(self.skipped),
            "pending_incomplete_lines": self.pending_lines,
            "unpriced_calls": dict(self.unpriced),
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class _Job:
    path: str
    source: str
    offset: int
    size: int
    mtime_ns: int
    head_hash: str


def _read_jobs(jobs: Sequence[_Job]) -> tuple[pa.Table | None, list[FileReport]]:
    """Read some files (in a worker process when the import is large) into one Arrow table:
    the conversion runs in the workers, and a table crosses the process boundary as buffers."""
    rows: list[tuple[Any, ...]] = []
    reports = []
    for job in jobs:
        report = FileReport(job.path, source=job.source)
        src = registry()[job.source]
        rows += [_call_row(c) for c in src.read(Path(job.path), job.offset, report)]
        reports.append(report)
    return (calls_table(rows) if rows else None), reports


def calls_table(rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """Call rows (``_call_row``) as an Arrow table of the ``calls`` columns."""
    import pyarrow as pa

    columns = zip(*rows, strict=True)
    return pa.table(
        [pa.array(col, type=kind) for col, kind in zip(columns, _arrow_types(), strict=True)],
        names=list(_CALL_COLUMNS),
    )


def _arrow_types() -> list[pa.DataType]:
    # Fixed types, so the tables of every file concatenate (a file whose calls state no cost
    # still has a decimal column).
    import pyarrow as pa

    special = {"time": pa.timestamp("us"), "output_exact": pa.bool_(),
               "reported_cost": pa.decimal128(38, 12)}  # fmt: skip
    return [
        special.get(c, pa.int64() if c in _TOKEN_COLUMNS else pa.string()) for c in _CALL_COLUMNS
    ]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _call_row(c: Call) -> tuple[Any, ...]:
    return (
        c.source, c.id, c.time.astimezone(UTC).replace(tzinfo=None), c.model, c.provider,
        c.session, c.parent_session, c.agent, c.project, c.service_tier,
        c.input, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.output, c.reasoning,
        c.output_exact, c.reported_cost, c.file,
    )  # fmt: skip


class Ledger:
    """The calls imported so far, in ``<home>/ledger.duckdb``."""

    def __init__(self, home: Path | str | None = None, pricer: Pricer | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.home.mkdir(parents=True, exist_ok=True)
        self.path = self.home / "ledger.duckdb"
        import duckdb  # loading DuckDB costs ~0.25 s: only when the ledger is really opened

        self.db: duckdb.DuckDBPyConnection = duckdb.connect(str(self.path))
        self.sql(_SCHEMA)
        self._pricer = pricer

    def sql(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and fetch all it returns (DuckDB wants results consumed)."""
        return self.db.execute(query, list(params)).fetchall()

    @property
    def pricer(self) -> Pricer:
        if self._pricer is None:
            self._pricer = Pricer()
        return self._pricer

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- import ---------------------------------------------------------------------------

    def import_paths(self, paths: Iterable[Path | str]) -> ImportReport:
        """Import every recognised log under ``paths``; only what is new is read."""
        report = ImportReport()
        known = {
            row[0]: row[1:]
            for row in self.db.execute(
                'SELECT path, source, size, mtime_ns, head_hash, "offset" FROM files'
            ).fetchall()
        }
        jobs: list[_Job] = []
        for path, st in walk_files(paths):
            report.files_seen += 1
            job = self._plan(path, st, known.get(path), report)
            if job is not None:
                jobs.append(job)
        if not jobs:
            if freshness.read_version(self.home) is None:
                self._write_snapshot()
            return report  # nothing new: no read, no write, no repricing
        results = self._run(jobs)
        tables = [table for table, _ in results if table is not None]
        file_reports = [r for _, reports in results for r in reports]
        for file_report in file_reports:
            report.files.append(file_report)
            report.lines += file_report.lines
            report.calls_found += file_report.calls
            report.duplicates += file_report.duplicates
            report.skipped.update(file_report.skipped)
            report.pending_lines += 1 if file_report.pending_bytes else 0
        report.files_read = len(jobs)
        self.sql("BEGIN TRANSACTION")
        try:
            report.new_calls, merged = self._upsert(tables)
            report.duplicates += merged
            self._record_files(jobs, file_reports)
            self.sql(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    _utc_now(), report.files_read, report.lines, report.calls_found,
                    report.new_calls, report.duplicates, sum(report.skipped.values()),
                ],
            )  # fmt: skip
            self.sql("COMMIT")
        except BaseException:
            self.sql("ROLLBACK")
            raise
        self.price()
        self._write_snapshot()
        if tables:
            report.unpriced = self.unpriced_models()
        return report

    def _write_snapshot(self) -> None:
        files = {
            str(path): (int(size), int(mtime))
            for path, size, mtime in self.sql("SELECT path, size, mtime_ns FROM files")
        }
        freshness.write_snapshot(self.home, files, freshness.new_version())

    def _plan(
        self, path: str, st: os.stat_result, known: tuple[Any, ...] | None, report: ImportReport
    ) -> _Job | None:
        if known is not None and known[1] == st.st_size and known[2] == st.st_mtime_ns:
            report.files_unchanged += 1
            return None
        try:
            with open(path, "rb") as fh:
                head = fh.read(4096)
        except OSError:
            report.skipped["unreadable file"] += 1
            return None
        source = detect(Path(path), head)
        if source is None:
            report.files_unrecognised += 1
            return None
        head_hash = hashlib.blake2b(head[:HEAD_HASH_BYTES], digest_size=8).hexdigest()
        offset = 0
        if (
            known is not None
            and source.incremental
            and known[0] == source.name
            and known[3] == head_hash
            and st.st_size >= known[4]
        ):
            offset = known[4]
        return _Job(path, source.name, offset, st.st_size, st.st_mtime_ns, head_hash)

    def _run(self, jobs: Sequence[_Job]) -> list[tuple[pa.Table | None, list[FileReport]]]:
        todo = sum(j.size - j.offset for j in jobs)
        workers = min(os.cpu_count() or 1, 8)
        if todo < PARALLEL_MIN_BYTES or workers < 2 or len(jobs) < 2:
            return [_read_jobs(jobs)]
        # Largest first, dealt into a few batches per worker so the pool ends together; one
        # table per batch (a table per file would cost more to build and send than it holds).
        ordered = sorted(jobs, key=lambda j: j.size - j.offset, reverse=True)
        batches = [ordered[i :: workers * 4] for i in range(workers * 4)]
        with ProcessPoolExecutor(workers) as pool:
            results = pool.map(_read_jobs, [b for b in batches if b])
            self.pricer.load()  # ~0.4 s of genai-prices data, loaded while the workers read
            return list(results)

    def _upsert(self, tables: Sequence[pa.Table]) -> tuple[int, int]:
        """Insert new calls, merge known ones (fuller record wins). Returns (new, merged):
        merged counts the records of a call already in the ledger or met twice in ``tables``.
        """
        import pyarrow as pa

        rows = sum(t.num_rows for t in tables)
        if not rows:
            return 0, 0
        arrived = pa.concat_tables(tables)
        arrived = arrived.append_column("arrival", pa.array(range(rows), pa.int64()))
        cols = ", ".join(f'"{c}"' for c in _CALL_COLUMNS)
        prompt = "input + cache_read + cache_write_5m + cache_write_1h"
        self.db.register("arrived", arrived)
        try:
            # One record per call: the fuller (more output, then a larger prompt), else the
            # first to arrive.
            self.sql(
                f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT {cols} FROM arrived QUALIFY "
                f"row_number() OVER (PARTITION BY source, id ORDER BY output DESC, "
                f"{prompt} DESC, arrival) = 1"
            )
        finally:
            self.db.unregister("arrived")
        try:
            unique = int(self.sql("SELECT count(*) FROM incoming")[0][0])
            before = self.count()
            if before == 0:  # a first import: nothing to merge with
                self.sql(f"INSERT INTO calls ({cols}) SELECT {cols} FROM incoming")
                return unique, rows - unique
            merged = self.sql("SELECT count(*) FROM incoming JOIN calls USING (source, id)")[0][0]
            fuller = (
                "(excluded.output > calls.output OR (excluded.output = calls.output AND "
                "excluded.input + excluded.cache_read + excluded.cache_write_5m + "
                "excluded.cache_write_1h > calls.input + calls.cache_read + "
                "calls.cache_write_5m + calls.cache_write_1h))"
            )
            updates = ", ".join(
                f'"{c}" = CASE WHEN {fuller} THEN excluded."{c}" ELSE calls."{c}" END'
                for c in _CALL_COLUMNS
                if c not in ("source", "id", "time", "output_exact")
            )
            self.sql(
                f"INSERT INTO calls ({cols}) SELECT {cols} FROM incoming "
                f"ON CONFLICT (source, id) DO UPDATE SET {updates}, "
                "time = least(calls.time, excluded.time), "
                "output_exact = calls.output_exact OR excluded.output_exact, "
                f"price_fp = CASE WHEN {fuller} THEN NULL ELSE calls.price_fp END"
            )
            return self.count() - before, int(merged) + rows - unique
        finally:
            self.sql("DROP TABLE incoming")

    def _record_files(self, jobs: Sequence[_Job], reports: Sequence[FileReport]) -> None:
        by_path = {r.path: r for r in reports}
        now = _utc_now()
        rows = []
        for job in jobs:
            file_report = by_path[job.path]
            # Only whole lines were consumed: the next import starts after the last one.
            offset = file_report.end if registry()[job.source].incremental else job.size
            size = job.size if not file_report.pending_bytes else -1  # re-check until complete
            rows.append((job.path, job.source, size, job.mtime_ns, job.head_hash, offset, now))
        if rows:
            with self._staged("new_files", _FILE_COLUMNS, rows):
                self.sql("INSERT OR REPLACE INTO files SELECT * FROM new_files")

    @contextmanager
    def _staged(
        self,
        name: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        money: Sequence[str] = ("reported_cost",),
    ) -> Iterator[None]:
        """Rows visible to SQL as table ``name``, through Arrow: DuckDB's executemany costs
        milliseconds a row, an Arrow scan microseconds."""
        import pyarrow as pa

        arrays = [
            pa.array(col, type=pa.decimal128(38, 12) if name_ in money else None)
            for name_, col in zip(columns, zip(*rows, strict=True), strict=True)
        ]
        self.db.register(name, pa.table(dict(zip(columns, arrays, strict=True))))
        try:
            yield
        finally:
            self.db.unregister(name)

    def count(self, where: str = "", params: Sequence[Any] = ()) -> int:
        """How many calls; ``where`` is a SQL condition on the calls table, as for ``calls``."""
        return int(self.sql(f"SELECT count(*) FROM calls {'WHERE ' + where if where else ''}",
                            params)[0][0])  # fmt: skip

    # -- pricing --------------------------------------------------------------------------

    def price(self, everything: bool = False) -> int:
        """Price the calls not priced with the current prices; returns how many were priced."""
        fp = self.pricer.fingerprint
        where = "" if everything else "WHERE price_fp IS DISTINCT FROM ?"
        params = [] if everything else [fp]
        keys = self.db.execute(
            "SELECT DISTINCT model, provider, service_tier, min(time), "
            "strftime(time, '%Y-%m-%d') AS day "
            f"FROM calls {where} GROUP BY ALL",
            params,
        ).fetchall()
        if not keys:
            return 0
        rate_rows = []
        by_the_minute = set()
        for model, provider, tier, first, day in keys:
            if self.pricer.varies_within_a_day(model, provider):
                by_the_minute.add((model, provider))
                continue
            rates = self.pricer.rates(model, provider, first.replace(tzinfo=UTC), tier)
            if rates is None:
                continue
            for i, band in enumerate(rates.bands):
                upper = rates.bands[i + 1].above if i + 1 < len(rates.bands) else None
                rate_rows.append(
                    (model, provider, tier, day, band.above, upper, band.input, band.cache_read,
                     band.cache_write_5m, band.cache_write_1h, band.output, rates.per_request,
                     rates.model)
                )  # fmt: skip
        self.sql(
            "CREATE OR REPLACE TEMP TABLE rates (model VARCHAR, provider VARCHAR, tier VARCHAR, "
            "day VARCHAR, above BIGINT, upper BIGINT, r_input DECIMAL(38,12), "
            "r_cache_read DECIMAL(38,12), r_cw5 DECIMAL(38,12), r_cw1h DECIMAL(38,12), "
            "r_output DECIMAL(38,12), per_request DECIMAL(38,12), priced_model VARCHAR)"
        )
        if rate_rows:
            with self._staged("new_rates", _RATE_COLUMNS, rate_rows):
                self.sql("INSERT INTO rates SELECT * FROM new_rates")
        prompt = "(c.input + c.cache_read + c.cache_write_5m + c.cache_write_1h)"
        self.sql("BEGIN TRANSACTION")
        # One pass: every call needing a price gets the fingerprint, and a cost where a rate
        # band matches (a model without rates stays unpriced: NULL, never 0).
        self.sql(
            "UPDATE calls SET cost = p.cost, priced_model = p.priced_model, price_fp = ? "
            "FROM (SELECT c.source, c.id, "
            "CAST((c.input * r.r_input + c.cache_read * r.r_cache_read "
            "+ c.cache_write_5m * r.r_cw5 + c.cache_write_1h * r.r_cw1h "
            "+ c.output * r.r_output) / 1000000 + r.per_request AS DECIMAL(38, 12)) AS cost, "
            "r.priced_model "
            "FROM calls c LEFT JOIN rates r ON c.model = r.model AND c.provider = r.provider "
            "AND c.service_tier = r.tier AND strftime(c.time, '%Y-%m-%d') = r.day "
            f"AND (r.above = 0 OR {prompt} > r.above) AND (r.upper IS NULL OR {prompt} <= r.upper) "
            f"{where.replace('price_fp', 'c.price_fp')}) p "
            "WHERE calls.source = p.source AND calls.id = p.id",
            [fp, *params],
        )
        for model, provider in by_the_minute:
            self._price_call_by_call(model, provider, fp)
        self.sql("COMMIT")
        self._write_snapshot()  # costs changed: cached reports are stale
        return len(keys)

    def _price_call_by_call(self, model: str, provider: str, fp: str) -> None:
        """Price a model whose rates change within a day (off-peak discounts) call by call."""
        rows = self.sql(
            "SELECT source, id, time, service_tier, input, cache_read, cache_write_5m, "
            "cache_write_1h, output FROM calls "
            "WHERE model = ? AND provider = ? AND cost IS NULL AND price_fp = ?",
            [model, provider, fp],
        )
        priced = []
        for source, id_, time, tier, *tokens in rows:
            rates = self.pricer.rates(model, provider, time.replace(tzinfo=UTC), tier)
            if rates is not None:
                priced.append((source, id_, rates.cost(*tokens), rates.model))
        if priced:
            columns = ("source", "id", "cost", "priced_model")
            with self._staged("priced", columns, priced, money=("cost",)):
                self.sql(
                    "UPDATE calls AS c SET cost = p.cost, priced_model = p.priced_model "
                    "FROM priced p WHERE c.source = p.source AND c.id = p.id"
                )

    def unpriced_models(self) -> Counter[str]:
        """Models of calls without a price, with how many calls each."""
        rows = self.db.execute(
            "SELECT model, count(*) FROM calls WHERE cost IS NULL GROUP BY model"
        ).fetchall()
        return Counter({str(m): int(n) for m, n in rows})

    # -- reading --------------------------------------------------------------------------

    def calls(self, where: str = "", params: Sequence[Any] = ()) -> list[Call]:
        """Calls as records, in time order; ``where`` is a SQL condition on the calls table."""
        cols = ", ".join(f'"{c}"' for c in _CALL_COLUMNS)
        sql = f"SELECT {cols}, cost FROM calls {'WHERE ' + where if where else ''} ORDER BY time"
        out = []
        n = len(_CALL_COLUMNS)  # the columns are Call's first fields, in order
        for row in self.db.execute(sql, list(params)).fetchall():
            call = Call(*row[:n])
            call.time = call.time.replace(tzinfo=UTC)
            if row[n] is not None:
                call.extra["cost"] = row[n]  # DECIMAL: already an exact Decimal
            out.append(call)
        return out
