"""The ledger on a PostgreSQL server: one shared ledger for a team's laptops, gateways and
services (``--ledger postgresql://...`` or ``$TOKENOMY_LEDGER``).

It answers the same ``Store`` methods as the embedded DuckDB ``Ledger``, with the same numbers
to the cent:

- **Many writers**: the dedupe key (source, provider call id) is the table's primary key and
  calls arrive with ``INSERT ... ON CONFLICT``, so two writers importing the same call count
  it once. A batch is COPYed into a temporary table, reduced to one record per call, then
  merged in key order (writers lock rows in the same order: no deadlock between imports; a
  plain INSERT when none of its calls is stored yet); the fuller record wins exactly as in
  DuckDB. Each batch is one transaction with the files
  it read: a writer killed mid-batch leaves nothing, and the next run reads those files again.
- **Priced in SQL** from the same rate rows as DuckDB (``repricing.rate_table``), in the
  transaction that stores the calls.
- **Migrated by tokenomy**: versioned migrations recorded in ``schema_migrations``, applied
  under an advisory lock (many processes may open a fresh database at once).
- **Safe**: every value travels as a query parameter or through COPY, never in SQL text; the
  password of the connection string is never printed (``redact``).
- **Attributed**: each call keeps the user and host that first stored it; files read are
  remembered per host, so each laptop's imports stay incremental.
"""

from __future__ import annotations

import logging
import re
import socket
import time as _time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from tokenomy.calls import STORED_FIELDS, Call, prompt_sql
from tokenomy.ledger import importing, queries, repricing
from tokenomy.ledger.filters import Filters
from tokenomy.ledger.home import default_home, is_postgres_url
from tokenomy.ledger.importing import INT_FIELDS, ImportReport, Job
from tokenomy.ledger.queries import COLUMNS, SUMS, SQLReads
from tokenomy.pricing import Pricer
from tokenomy.sources import FileReport, registry, walk_files
from tokenomy.sources.base import CONFLICT

if TYPE_CHECKING:
    import psycopg

    from tokenomy.ledger.importing import Columns

__all__ = ["MIGRATIONS", "LedgerUnavailable", "PostgresLedger", "is_postgres_url", "redact"]

log = logging.getLogger("tokenomy.ledger.postgres")
T = TypeVar("T")

RETRIES = 3  # a batch whose connection dropped (or that lost a deadlock) is tried this often


def redact(text: str) -> str:
    """``text`` with the password of any connection string in it replaced by ``***`` (URL
    form ``postgresql://user:secret@host/db`` and key=value form ``password=secret``)."""

    def url(match: re.Match[str]) -> str:
        parts = urlsplit(match.group(0))
        if parts.password is None:
            return match.group(0)
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))

    text = re.sub(r"postgres(?:ql)?://\S+", url, text, flags=re.IGNORECASE)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)


class LedgerUnavailable(RuntimeError):
    """The PostgreSQL ledger cannot be reached (the message never holds the password)."""


def _column_type(name: str) -> str:
    special = {"time": "TIMESTAMP", "output_exact": "BOOLEAN", "reported_cost": "NUMERIC(38, 12)"}
    return special.get(name, "BIGINT" if name in INT_FIELDS else "TEXT")


def _column_defs(not_null: bool) -> str:
    return ", ".join(
        f'"{c}" {_column_type(c)}' + (" NOT NULL" if not_null and c != "reported_cost" else "")
        for c in STORED_FIELDS
    )


# The types of a batch's columns in a binary COPY, and of its calls' UTC day (the rate key).
_COPY_TYPES = [_column_type(c).split("(")[0].lower() for c in STORED_FIELDS] + ["text"]
_PROMPT = prompt_sql()

_BUCKET = "date_bin('15 minutes', time, TIMESTAMP '2000-01-01')"
# Versioned migrations: (version, what it does, statements). Append, never edit.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "calls, files, problems, imports",
        [
            f"""CREATE TABLE calls (
                {_column_defs(not_null=True)},
                cost NUMERIC(38, 12),
                priced_model TEXT,
                price_fp TEXT,
                user_name TEXT NOT NULL DEFAULT '',
                host TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (source, id)
            )""",
            """CREATE TABLE files (
                host TEXT NOT NULL,
                path TEXT NOT NULL,
                source TEXT NOT NULL,
                size BIGINT NOT NULL,
                mtime_ns BIGINT NOT NULL,
                head_hash TEXT NOT NULL,
                "offset" BIGINT NOT NULL,
                imported_at TIMESTAMP NOT NULL,
                PRIMARY KEY (host, path)
            )""",
            """CREATE TABLE problems (
                host TEXT NOT NULL,
                path TEXT NOT NULL,
                reason TEXT NOT NULL,
                n BIGINT NOT NULL,
                PRIMARY KEY (host, path, reason)
            )""",
            """CREATE TABLE imports (
                time TIMESTAMP NOT NULL,
                user_name TEXT NOT NULL,
                host TEXT NOT NULL,
                files_read BIGINT NOT NULL,
                lines BIGINT NOT NULL,
                calls_found BIGINT NOT NULL,
                new_calls BIGINT NOT NULL,
                duplicates BIGINT NOT NULL,
                skipped BIGINT NOT NULL
            )""",
        ],
    ),
    (
        2,
        "a block-range index on time (calls arrive roughly in time order; a B-tree on time "
        "would cost every insert more than it saves the reports, which scan)",
        ["CREATE INDEX calls_time ON calls USING brin (time)"],
    ),
    (
        3,
        "calls_rollup: the bill's sums per 15 minutes of UTC, source, model, provider and "
        "project, kept exact in each writer's transaction; the reports that need only sums "
        "read it instead of every call",
        [
            """CREATE TABLE calls_rollup (
                bucket TIMESTAMP NOT NULL,
                source TEXT NOT NULL,
                model TEXT NOT NULL,
                provider TEXT NOT NULL,
                project TEXT NOT NULL,
                calls BIGINT NOT NULL,
                input BIGINT NOT NULL,
                cache_read BIGINT NOT NULL,
                cache_write_5m BIGINT NOT NULL,
                cache_write_1h BIGINT NOT NULL,
                output BIGINT NOT NULL,
                reasoning BIGINT NOT NULL,
                total_tokens BIGINT NOT NULL,
                cost_usd NUMERIC(38, 12) NOT NULL,
                unpriced_calls BIGINT NOT NULL,
                lower_bound_calls BIGINT NOT NULL,
                reported_cost_usd NUMERIC(38, 12),
                PRIMARY KEY (bucket, source, model, provider, project)
            )""",
            f"INSERT INTO calls_rollup SELECT {_BUCKET} AS bucket, source, model, provider, "
            f"project, {SUMS} FROM calls GROUP BY 1, 2, 3, 4, 5",
        ],
    ),
]
# The sums of ``SUMS`` (the rollup's columns after its key), and the sums of partial sums
# (``SUMS`` per bucket, added up per group).
_ROLLUP_SUMS = ("calls", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output",
                "reasoning", "total_tokens", "cost_usd", "unpriced_calls", "lower_bound_calls",
                "reported_cost_usd")  # fmt: skip
_RESUMS = ", ".join(f"sum({name}) AS {name}" for name in _ROLLUP_SUMS)
# What ``SUMS`` and the rollup key read of a call.
_ROLLUP_INPUTS = (
    "time, source, model, provider, project, input, cache_read, cache_write_5m, "
    "cache_write_1h, output, reasoning, cost, output_exact, reported_cost"
)
_BY_TIME = ("daily", "weekly", "monthly")
# Sums of BIGINT are NUMERIC in PostgreSQL (HUGEINT in DuckDB): both come back as int.
_INT_RESULTS = frozenset(
    {"calls", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning",
     "total_tokens", "unpriced_calls", "lower_bound_calls", "subagent_calls", "subagents"}
)  # fmt: skip


class PostgresDialect:
    """PostgreSQL's spelling of the shared queries (``queries.Dialect``)."""

    users = True  # a shared ledger records who stored each call

    def param(self, name: str) -> str:
        return f"%({name})s"

    def params(self, filters: Filters) -> dict[str, Any]:
        return {"zone": filters.timezone}

    def local(self, filters: Filters) -> str:
        return _LOCAL

    def day(self, expr: str) -> str:
        return f"to_char({expr}, 'YYYY-MM-DD')"

    def month(self, expr: str) -> str:
        return f"to_char({expr}, 'YYYY-MM')"

    def seconds(self, expr: str) -> str:
        return f"extract(epoch FROM {expr})"

    def text(self, expr: str) -> str:
        # Text keys sort byte-wise, as DuckDB sorts them, whatever the database's collation.
        return f'({expr}) COLLATE "C"'


# The local wall-clock time of a stored UTC time; the zone is a parameter.
_LOCAL = "timezone(%(zone)s::text, time AT TIME ZONE 'UTC')"
DIALECT = PostgresDialect()


def _where(filters: Filters) -> tuple[str, dict[str, Any]]:
    return queries.where(DIALECT, filters)


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    for name, value in row.items():
        if value is None:
            continue
        if name in _INT_RESULTS:
            row[name] = int(value)
        elif name == "duration_s":
            row[name] = float(value)
    return row


def _merge_updates() -> str:
    """The ``ON CONFLICT`` update: the fuller record of one call wins among records that agree
    on model and session (as the DuckDB ledger merges)."""
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
    return (
        f"{updates}, time = CASE WHEN {agree} THEN least(calls.time, excluded.time) "
        "ELSE calls.time END, "
        f"output_exact = calls.output_exact OR ({agree} AND excluded.output_exact), "
        # the fuller record's price, unless the merged time (the earlier) is not its own: then
        # priced again after the merge (``_price``), as DuckDB prices after merging
        f"cost = CASE WHEN {fuller} THEN excluded.cost ELSE calls.cost END, "
        f"priced_model = CASE WHEN {fuller} THEN excluded.priced_model "
        "ELSE calls.priced_model END, "
        f"price_fp = CASE WHEN {fuller} AND excluded.time <= calls.time THEN excluded.price_fp "
        f"WHEN {fuller} THEN NULL ELSE calls.price_fp END"
    )


_MERGE = _merge_updates()


class PostgresLedger(SQLReads):
    """The calls of a team in one PostgreSQL database (a ``Store``). ``user`` and ``host``
    attribute what this process imports; ``home`` is only where local files (an HTML report)
    go by default."""

    dialect = DIALECT

    def __init__(
        self,
        url: str,
        pricer: Pricer | None = None,
        *,
        user: str = "",
        host: str | None = None,
        home: Path | str | None = None,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        from tokenomy.extras import require

        require("psycopg", "postgres", "a PostgreSQL ledger")
        require("psycopg_pool", "postgres", "a PostgreSQL ledger")
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.display = redact(url)
        self.user = user
        self.host = host if host is not None else socket.gethostname()
        self.home = Path(home) if home is not None else default_home()
        self._pricer = pricer
        try:  # one direct connection first: a clear error when the server is not there
            with psycopg.connect(url, connect_timeout=int(connect_timeout)) as conn:
                self._migrate(conn)
        except psycopg.Error as exc:
            raise LedgerUnavailable(
                f"cannot use the PostgreSQL ledger {self.display}: {redact(str(exc)).strip()}"
            ) from None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=True,
            configure=_configure,
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": int(connect_timeout)},
            name="tokenomy-ledger",
        )

    def __repr__(self) -> str:
        return f"PostgresLedger({self.display!r})"

    def close(self) -> None:
        self.pool.close()

    def release(self) -> None:
        """Nothing to let go: pooled connections return to the pool after each statement, and
        the server takes any number of writers."""

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ----------------------------------------------------------------------

    @staticmethod
    def _migrate(conn: psycopg.Connection[Any]) -> list[int]:
        """Apply the migrations this database lacks, in order; returns those applied."""
        applied: list[int] = []
        with conn.transaction():  # up to date: nothing to lock or create (a read-only role)
            if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() not in (
                None, (None,)
            ):  # fmt: skip
                have = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
                if have >= {version for version, _, _ in MIGRATIONS}:
                    return applied
        with conn.transaction():
            # Many processes may open a fresh database at once: one migrates, the others wait.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('tokenomy.schema_migrations'))")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            have = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for version, description, statements in MIGRATIONS:
                if version in have:
                    continue
                for statement in statements:
                    conn.execute(statement)  # fixed DDL, no data
                conn.execute(
                    "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                    (version, description),
                )
                applied.append(version)
        return applied

    def schema_version(self) -> int:
        return int(self.sql("SELECT max(version) FROM schema_migrations")[0][0])

    def _run(self, work: Callable[[psycopg.Connection[Any]], T], what: str) -> T:
        """``work`` in one transaction; retried from the start when the connection drops or
        the transaction loses a deadlock or serialization conflict."""
        import psycopg
        from psycopg import errors

        for attempt in range(1, RETRIES + 1):
            try:
                with self.pool.connection() as conn, conn.transaction():
                    return work(conn)
            except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
                reason = type(exc).__name__
            except psycopg.OperationalError as exc:
                reason = f"connection lost ({redact(str(exc)).strip() or type(exc).__name__})"
            if attempt == RETRIES:
                raise LedgerUnavailable(
                    f"{what} on {self.display} failed {RETRIES} times: {reason}"
                )
            log.warning(
                "tokenomy: %s on %s: %s; retrying (%d/%d)",
                what, self.display, reason, attempt + 1, RETRIES,
            )  # fmt: skip
            _time.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``%s`` or ``%(name)s`` parameters) and fetch what it returns.
        For this backend's own use and tests; the library asks through the typed methods."""

        def work(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

        return self._run(work, "a query")

    def _dicts(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        def work(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
            cursor = conn.execute(query, params)
            names = [d.name for d in cursor.description or []]
            return [_typed(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

        return self._run(work, "a report query")

    # -- writing --------------------------------------------------------------------------

    def import_paths(
        self, paths: Iterable[Path | str], progress: importing.Progress | None = None
    ) -> ImportReport:
        """Import every recognised log under ``paths``; only what this host has not stored
        yet is read. Each batch of files is one transaction (resumable). ``progress`` is told
        (bytes read, bytes to read) as the files are read."""
        report = ImportReport()
        known = {
            row[0]: row[1:]
            for row in self.sql(
                'SELECT path, source, size, mtime_ns, head_hash, "offset" FROM files '
                "WHERE host = %s",
                [self.host],
            )
        }
        jobs: list[Job] = []
        for path, st in walk_files(paths, report.left_out):
            report.files_seen += 1
            job = importing.plan(path, st, known.get(path), report)
            if job is not None:
                jobs.append(job)
        if not jobs:
            if self.sql("SELECT 1 FROM calls WHERE price_fp IS DISTINCT FROM %s LIMIT 1",
                        [self.pricer.fingerprint]):  # fmt: skip
                self.price()  # prices changed since the calls were stored
            report.standing = self.standing_warnings()
            return report
        by_path = {job.path: job for job in jobs}
        results = importing.read(jobs, self.pricer, progress)
        report.files_read = len(jobs)
        for columns, file_reports in results:
            for file_report in file_reports:
                report.add(file_report)
            batch_jobs = [by_path[r.path] for r in file_reports]
            new, merged, conflicts = self._run(
                lambda conn, c=columns, j=batch_jobs, r=file_reports: self._store_batch(  # type: ignore[misc]
                    conn, c, j, r
                ),
                "an import batch",
            )
            report.new_calls += new
            report.duplicates += merged
            if conflicts:
                report.skipped[CONFLICT] += conflicts
        self.sql(
            "INSERT INTO imports VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                importing.utc_now(), self.user, self.host, report.files_read, report.lines,
                report.calls_found, report.new_calls, report.duplicates,
                sum(report.skipped.values()),
            ],
        )  # fmt: skip
        if report.calls_found:
            report.unpriced = self.unpriced_models()
        read_now = set(report.skipped)
        report.standing = [w for w in self.standing_warnings() if not w.endswith(
            tuple(read_now))]  # fmt: skip
        return report

    def _store_batch(
        self,
        conn: psycopg.Connection[Any],
        columns: Columns | None,
        jobs: Sequence[Job],
        reports: Sequence[FileReport],
    ) -> tuple[int, int, int]:
        new = merged = conflicts = 0
        if columns is not None:
            new, merged, conflicts = self._upsert(conn, columns)
        self._record_files(conn, jobs, reports)
        self._record_problems(conn, jobs, reports, conflicts)
        return new, merged, conflicts

    def add_calls(self, calls: Sequence[Call]) -> int:
        """Store call records that came from elsewhere than a file (a gateway replica);
        returns how many were new. Safe to call from many processes at once."""
        if not calls:
            return 0
        return self.add_columns(importing.calls_columns(calls))

    def add_columns(self, columns: Columns) -> int:
        """Store calls given as columns (``importing.Columns``: what the log readers make, and
        the fastest way in for a gateway batching its calls); returns how many were new."""
        if not len(columns["id"]):
            return 0
        return self._run(lambda conn: self._upsert(conn, columns)[0], "storing calls")

    def price(self, everything: bool = False) -> int:
        """Price the calls not priced with the current prices (all with ``everything``)."""
        return self._run(lambda conn: self._price(conn, everything=everything), "repricing")

    def _upsert(self, conn: psycopg.Connection[Any], columns: Columns) -> tuple[int, int, int]:
        """COPY a batch into a temporary table, keep one record per call, merge it into
        ``calls``. Returns (new, merged, conflicts) as the DuckDB ledger counts them."""
        from psycopg import errors

        rows = len(columns["id"])
        if not rows:
            return 0, 0, 0
        # Compiling a batch's statements (JIT) costs ~0.1 s each, more than it saves them.
        conn.execute("SET LOCAL jit = off")
        lists = _copy_lists(columns)
        # Most batches hold each call once (a gateway's, a fresh log's): they are COPYed
        # straight into ``incoming``. One that repeats a call goes into ``arrived`` first and
        # is reduced in SQL to the fullest record per call (the earliest arrival on a tie).
        unique = len(set(zip(lists[0], lists[1], strict=True))) == rows
        table, extra = ("incoming", "") if unique else ("arrived", ", arrival BIGINT")
        conn.execute(
            f"CREATE TEMP TABLE {table} ({_column_defs(not_null=False)}, day TEXT{extra}) "
            "ON COMMIT DROP"
        )
        if not unique:
            lists.append(range(rows))
        with conn.cursor().copy(
            f"COPY {table} ({COLUMNS}, day{extra and ', arrival'}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_COPY_TYPES if unique else [*_COPY_TYPES, "bigint"])
            for row in zip(*lists, strict=True):
                copy.write_row(row)
        if not unique:
            conn.execute(
                f"CREATE TEMP TABLE incoming ON COMMIT DROP AS SELECT DISTINCT ON (source, id) "
                f"{COLUMNS}, day FROM arrived "
                f"ORDER BY source, id, output DESC, {_PROMPT} DESC, arrival"
            )

        def look() -> tuple[int, int]:
            """One look at the stored records of the batch's calls: how many there are, how
            many disagree on model or session (conflicts, not merged); their days are touched
            (a merged call may move to an earlier time: its stored day's rollup changes)."""
            row = conn.execute(
                "WITH stored AS (SELECT c.time, "
                "i.model <> c.model OR i.session <> c.session AS bad "
                "FROM incoming i JOIN calls c USING (source, id)), "
                "days AS (INSERT INTO touched SELECT DISTINCT date_trunc('day', time) "
                "FROM stored ON CONFLICT DO NOTHING) "
                "SELECT count(*), count(*) FILTER (WHERE bad) FROM stored"
            ).fetchone()
            assert row is not None
            return int(row[0]), int(row[1])

        _touch(conn, "SELECT DISTINCT date_trunc('day', time) FROM incoming")
        stored, conflicts = look()
        # Priced as they are inserted (no second write of each row): the batch's rate rows,
        # joined; models priced by the time of day get theirs call by call after.
        fp = self.pricer.fingerprint
        keys = conn.execute(
            "SELECT model, provider, service_tier, min(time), day "
            "FROM incoming GROUP BY model, provider, service_tier, day"
        ).fetchall()
        join = (  # the day precomputed: a hash join on the whole rate key
            "c.model = r.model AND c.provider = r.provider AND c.service_tier = r.tier "
            f"AND c.day = r.day AND (r.above = 0 OR {prompt_sql('c')} > r.above) "
            f"AND (r.upper IS NULL OR {prompt_sql('c')} <= r.upper)"
        )
        by_the_minute = _load_rates(conn, self.pricer, keys)
        cols = ", ".join(f'c."{c}"' for c in STORED_FIELDS)
        # Key order: concurrent writers lock the rows they share in the same order. The sums
        # of the calls it inserts (not merges) go to ``delta``, by rollup key, as they pass.
        conn.execute("CREATE TEMP TABLE delta (LIKE calls_rollup) ON COMMIT DROP")

        def insert(merge: bool) -> tuple[int, int]:
            """(2 x new calls + 1 if any merged record must be priced again, calls merged)."""
            upsert = f"ON CONFLICT (source, id) DO UPDATE SET {_MERGE} " if merge else ""
            row = conn.execute(
                f"WITH up AS (INSERT INTO calls ({COLUMNS}, cost, priced_model, price_fp, "
                f"user_name, host) SELECT {cols}, {_COST}, r.priced_model, %(fp)s, %(user)s, "
                f"%(host)s FROM incoming c LEFT JOIN rates r ON {join} ORDER BY c.source, c.id "
                f"{upsert}RETURNING {_ROLLUP_INPUTS}, (xmax = 0) AS fresh, "
                "price_fp IS NULL AS stale), "
                f"sums AS (INSERT INTO delta SELECT {_BUCKET}, source, model, provider, project, "
                f"{SUMS} FROM up WHERE fresh GROUP BY 1, 2, 3, 4, 5) "
                "SELECT count(*) FILTER (WHERE fresh) * 2 "
                "+ (count(*) FILTER (WHERE stale) > 0)::int, count(*) FILTER (WHERE NOT fresh) "
                "FROM up",
                {"fp": fp, "user": self.user, "host": self.host},
            ).fetchone()
            assert row is not None
            return int(row[0]), int(row[1])

        new = -1
        if not stored:
            # None of the batch's calls is stored yet (a gateway's batch, a fresh log): a plain
            # INSERT, about half the work of ON CONFLICT's speculative insertion per row. In a
            # savepoint: should another writer store one of these calls meanwhile, the unique
            # key refuses it, the INSERT is undone, and the batch is merged instead.
            try:
                with conn.transaction():
                    new, _ = insert(merge=False)
            except errors.UniqueViolation:
                stored, conflicts = look()
        tries = merged = 0
        while new < 0:
            # A merge may move a stored call to an earlier day; the look touched its stored
            # day. A call another writer stored after the look would leave its own day's
            # rollup row counting it: the merge is undone, looked at again and redone.
            tries += 1
            try:
                with conn.transaction():
                    packed, merged = insert(merge=True)
                    if merged > stored and tries < RETRIES:
                        raise _StoredMeanwhile
                    new = packed
            except _StoredMeanwhile:
                stored, conflicts = look()
        if merged > stored:  # still racing on the last try: every day recomputed (rare)
            _touch(conn, "SELECT DISTINCT date_trunc('day', time) FROM calls")
        new, stale = divmod(new, 2)
        for model, provider in by_the_minute:
            _price_call_by_call(conn, self.pricer, model, provider)
        if stale:  # a fuller record merged at an earlier time than its own: priced again
            self._price(conn, only_incoming=True)
        # Every call new and priced as inserted (a gateway's batch, a fresh log): the rollup
        # rows take the batch's sums (``delta``), with no second read of the calls. Else the
        # touched days are recomputed from the calls.
        _recompute_rollup(conn, add=unique and new == rows and not by_the_minute and not stale)
        return new, rows - new - conflicts, conflicts

    def _price(
        self, conn: psycopg.Connection[Any], everything: bool = False, only_incoming: bool = False
    ) -> int:
        """Price in SQL from ``repricing.rate_table``'s rows, as the DuckDB ledger does: one
        UPDATE joins each call to its rate band; models priced by the time of day, call by
        call. ``only_incoming``: only the calls of the batch being stored."""
        pricer = self.pricer
        fp = pricer.fingerprint
        clauses = [] if everything else ["c.price_fp IS DISTINCT FROM %(fp)s"]
        if only_incoming:
            clauses.append("(c.source, c.id) IN (SELECT source, id FROM incoming)")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        params = {"fp": fp}
        keys = conn.execute(
            "SELECT model, provider, service_tier, min(time), to_char(time, 'YYYY-MM-DD') AS day "
            f"FROM calls c {where} GROUP BY model, provider, service_tier, day",
            params,
        ).fetchall()
        if not keys:
            return 0
        by_the_minute = _load_rates(conn, pricer, keys)
        _touch(conn, f"SELECT DISTINCT date_trunc('day', c.time) FROM calls c {where}", params)
        conn.execute(
            "UPDATE calls SET cost = p.cost, priced_model = p.priced_model, price_fp = %(fp)s "
            f"FROM (SELECT c.source, c.id, {_COST} AS cost, r.priced_model "
            f"FROM calls c LEFT JOIN rates r ON {_RATE_JOIN} {where}) p "
            "WHERE calls.source = p.source AND calls.id = p.id",
            params,
        )
        conn.execute("DROP TABLE rates")
        for model, provider in by_the_minute:
            _price_call_by_call(conn, pricer, model, provider)
        _recompute_rollup(conn)
        return len(keys)

    def _record_files(
        self, conn: psycopg.Connection[Any], jobs: Sequence[Job], reports: Sequence[FileReport]
    ) -> None:
        by_path = {r.path: r for r in reports}
        now = importing.utc_now()
        rows = []
        for job in jobs:
            file_report = by_path[job.path]
            offset = file_report.end if registry()[job.source].incremental else job.size
            size = job.size if not file_report.pending_bytes else -1  # re-check until complete
            rows.append((self.host, job.path, job.source, size, job.mtime_ns, job.head_hash,
                         offset, now))  # fmt: skip
        if rows:
            with conn.cursor() as cursor:
                cursor.executemany(
                    'INSERT INTO files (host, path, source, size, mtime_ns, head_hash, "offset", '
                    "imported_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (host, path) DO UPDATE SET source = excluded.source, "
                    "size = excluded.size, mtime_ns = excluded.mtime_ns, "
                    'head_hash = excluded.head_hash, "offset" = excluded."offset", '
                    "imported_at = excluded.imported_at",
                    rows,
                )

    def _record_problems(
        self,
        conn: psycopg.Connection[Any],
        jobs: Sequence[Job],
        reports: Sequence[FileReport],
        conflicts: int,
    ) -> None:
        fresh = [job.path for job in jobs if job.offset == 0]
        if fresh:
            conn.execute(
                "DELETE FROM problems WHERE host = %s AND path = ANY(%s)", [self.host, fresh]
            )
        rows = [(self.host, r.path, reason, n) for r in reports
                for reason, n in r.skipped.items() if n]  # fmt: skip
        if conflicts:
            rows.append((self.host, "(merge)", CONFLICT, conflicts))
        if rows:
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO problems (host, path, reason, n) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (host, path, reason) DO UPDATE SET n = problems.n + excluded.n",
                    rows,
                )

    def standing_warnings(self) -> list[str]:
        """What earlier imports from this host found wrong in logs still in the ledger."""
        rows = self.sql(
            "SELECT reason, sum(n), count(*) FROM problems WHERE host = %s GROUP BY reason "
            'ORDER BY reason COLLATE "C"',
            [self.host],
        )
        return [
            f"the ledger holds logs with {int(n):,} skipped line(s) in {files:,} file(s): {reason}"
            for reason, n, files in rows
        ]

    # -- reading --------------------------------------------------------------------------

    def sums(self, grouping: str | None, filters: Filters) -> list[dict[str, Any]]:
        if (
            not filters.sessions
            and not filters.users  # the summary table does not keep who stored a call
            and grouping in (None, *_BY_TIME, "model", "project", "source")
            and self._run(_rollup_on, "a query")
        ):
            return self._rolled_up(grouping, filters)
        if grouping not in _BY_TIME:
            return super().sums(grouping, filters)
        # Sums per 15 minutes of UTC first (cheap integer bucketing, no zone conversion per
        # call), then those few buckets regrouped into local days: exact, since every zone
        # offset and transition in use falls on a quarter hour.
        where, params = _where(filters)
        key, _, order = queries.group(DIALECT, grouping, filters)
        outer = key.replace("time AT TIME ZONE", "bucket AT TIME ZONE")
        return self._dicts(
            f"SELECT {outer} AS key, {_RESUMS} FROM (SELECT date_bin('15 minutes', time, "
            f"TIMESTAMP '2000-01-01') AS bucket, {SUMS} FROM calls WHERE {where} "
            f"GROUP BY 1) b GROUP BY 1 ORDER BY {order}",
            params,
        )

    def rebuild_rollup(self) -> None:
        """Recompute ``calls_rollup`` from every call (after row-level security on ``calls``
        was turned off again: while it is on, the rollup is not kept)."""

        def work(conn: psycopg.Connection[Any]) -> None:
            _touch(conn, "SELECT DISTINCT date_trunc('day', time) FROM calls")
            conn.execute("DELETE FROM calls_rollup")
            _recompute_rollup(conn)

        self._run(work, "rebuilding the rollup")

    def _rolled_up(self, grouping: str | None, filters: Filters) -> list[dict[str, Any]]:
        """``sums`` from ``calls_rollup``: the same numbers (its rows are the calls' sums per
        15 minutes of UTC, which regroup exactly into any zone's days), a few rows a day."""
        where, params = _where(filters)
        where = where.replace("time AT TIME ZONE", "bucket AT TIME ZONE")
        if grouping is None:
            counts = ("calls", "unpriced_calls", "lower_bound_calls")
            sums = _RESUMS
            for name in counts:  # no calls: counts are 0, sums NULL (as over the calls)
                sums = sums.replace(f"sum({name}) AS", f"coalesce(sum({name}), 0) AS")
            sums = sums.replace("sum(cost_usd) AS", "coalesce(sum(cost_usd), 0) AS")
            return self._dicts(f"SELECT {sums} FROM calls_rollup WHERE {where}", params)
        key, _, order = queries.group(DIALECT, grouping, filters)
        key = key.replace("time AT TIME ZONE", "bucket AT TIME ZONE")
        return self._dicts(
            f"SELECT {key} AS key, {_RESUMS} FROM calls_rollup WHERE {where} "
            f"GROUP BY 1 ORDER BY {order}",
            params,
        )

    def prompt_digests(self) -> dict[str, list[tuple[str, int]]]:
        """None here: the gateway records into a local (DuckDB) ledger, whose ``push`` sends
        calls, not prompt blocks."""
        return {}

    def version(self) -> str:
        """Changes whenever any writer stores or reprices calls (the server's row counters:
        cheap at any size); a dashboard polls it."""
        row = self.sql(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'calls'"
        )
        return f"pg:{row[0][0]}:{row[0][1]}" if row else ""

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (for tests and tools)."""
        with self.pool.connection() as conn:
            yield conn


# A call's cost from its rate band (``rates`` joined as ``r`` to calls as ``c``), exactly as the
# DuckDB ledger computes it; and that join.
_COST = (
    "CAST((c.input * r.r_input + c.cache_read * r.r_cache_read "
    "+ c.cache_write_5m * r.r_cw5 + c.cache_write_1h * r.r_cw1h "
    "+ c.output * r.r_output) / 1000000 + r.per_request AS NUMERIC(38, 12))"
)
_RATE_JOIN = (
    "c.model = r.model AND c.provider = r.provider AND c.service_tier = r.tier "
    "AND to_char(c.time, 'YYYY-MM-DD') = r.day "
    f"AND (r.above = 0 OR {prompt_sql('c')} > r.above) "
    f"AND (r.upper IS NULL OR {prompt_sql('c')} <= r.upper)"
)


def _load_rates(
    conn: psycopg.Connection[Any], pricer: Pricer, keys: list[tuple[Any, ...]]
) -> set[tuple[str, str]]:
    """The temporary ``rates`` table of ``keys`` (``repricing.rate_table``, the rows the DuckDB
    ledger prices from); returns the models priced call by call."""
    rate_rows, by_the_minute = repricing.rate_table(pricer, keys)
    conn.execute("DROP TABLE IF EXISTS rates")
    conn.execute(
        "CREATE TEMP TABLE rates (model TEXT, provider TEXT, tier TEXT, day TEXT, "
        "above BIGINT, upper BIGINT, r_input NUMERIC(38,12), r_cache_read NUMERIC(38,12), "
        "r_cw5 NUMERIC(38,12), r_cw1h NUMERIC(38,12), r_output NUMERIC(38,12), "
        "per_request NUMERIC(38,12), priced_model TEXT) ON COMMIT DROP"
    )
    if rate_rows:
        names = ", ".join(repricing.RATE_COLUMNS)
        with conn.cursor().copy(f"COPY rates ({names}) FROM STDIN") as copy:
            for row in rate_rows:
                copy.write_row(row)
    conn.execute("ANALYZE rates")  # a few rows: the planner must know, to hash-join them
    return by_the_minute


def _price_call_by_call(
    conn: psycopg.Connection[Any], pricer: Pricer, model: str, provider: str
) -> None:
    """Price a model whose rates change within a day (off-peak discounts) call by call."""
    rows = conn.execute(
        "SELECT source, id, time, service_tier, input, cache_read, cache_write_5m, "
        "cache_write_1h, output FROM calls "
        "WHERE model = %s AND provider = %s AND cost IS NULL AND price_fp = %s",
        [model, provider, pricer.fingerprint],
    ).fetchall()
    priced = repricing.call_costs(pricer, model, provider, rows)
    if priced:
        conn.execute("DROP TABLE IF EXISTS priced")
        conn.execute(
            "CREATE TEMP TABLE priced (source TEXT, id TEXT, cost NUMERIC(38, 12), "
            "priced_model TEXT) ON COMMIT DROP"
        )
        with conn.cursor().copy("COPY priced FROM STDIN") as copy:
            for row in priced:
                copy.write_row(row)
        conn.execute(
            "UPDATE calls AS c SET cost = p.cost, priced_model = p.priced_model "
            "FROM priced p WHERE c.source = p.source AND c.id = p.id"
        )


def _touch(conn: psycopg.Connection[Any], select_days: str, params: Any = ()) -> None:
    """Remember UTC days whose rollup rows must be recomputed before commit."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS touched (day TIMESTAMP PRIMARY KEY) ON COMMIT DROP"
    )
    conn.execute(f"INSERT INTO touched {select_days} ON CONFLICT DO NOTHING", params)


def _recompute_rollup(conn: psycopg.Connection[Any], add: bool = False) -> None:
    """Recompute the rollup rows of the touched days from the calls, under one advisory lock
    per day taken in day order (writers touching one day take turns; the recompute's snapshot
    is taken after the previous holder committed, so it sees its calls: exact). ``add``: the
    transaction only inserted calls, whose sums are in ``delta``: those are added instead
    (under the same locks, so exact too: the rows hold every committed call of their days,
    plus this transaction's)."""
    if conn.execute("SELECT to_regclass('pg_temp.touched')").fetchone() in (None, (None,)):
        return
    if not _rollup_on(conn):
        conn.execute("DROP TABLE touched")
        return
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('tokenomy.rollup'), "
        "(extract(epoch FROM day) / 86400)::int) FROM (SELECT day FROM touched ORDER BY day) t"
    )
    if add:
        # The rollup rows this batch adds to move into ``delta``, which is then summed back
        # (DELETE and INSERT: the privileges the writer role already has, no UPDATE).
        # The buckets' span lets the primary key's index find them in a large rollup.
        keys = "bucket, source, model, provider, project"
        conn.execute(
            "WITH old AS (DELETE FROM calls_rollup WHERE bucket >= (SELECT min(bucket) FROM "
            "delta) AND bucket <= (SELECT max(bucket) FROM delta) "
            f"AND ({keys}) IN (SELECT {keys} FROM delta) RETURNING *) "
            "INSERT INTO delta SELECT * FROM old"
        )
        conn.execute(
            f"INSERT INTO calls_rollup SELECT bucket, source, model, provider, project, "
            f"{_RESUMS} FROM delta GROUP BY 1, 2, 3, 4, 5"
        )
        conn.execute("DROP TABLE touched")
        return
    conn.execute(
        "DELETE FROM calls_rollup r USING touched t "
        "WHERE r.bucket >= t.day AND r.bucket < t.day + interval '1 day'"
    )
    # The span of the touched days bounds the scan (the block-range index on time reads only
    # its blocks; without it the planner scanned every call for each batch: imports slowed as
    # the ledger grew), then a hash lookup per call keeps those of the touched days.
    first, last = conn.execute("SELECT min(day), max(day) FROM touched").fetchone() or (None, None)
    conn.execute(
        f"INSERT INTO calls_rollup SELECT {_BUCKET} AS bucket, source, model, provider, "
        f"project, {SUMS} FROM calls "
        "WHERE time >= %s AND time < %s::timestamp + interval '1 day' "
        "AND date_trunc('day', time) IN (SELECT day FROM touched) "
        "GROUP BY 1, 2, 3, 4, 5",
        [first, last],
    )
    conn.execute("DROP TABLE touched")


def _rollup_on(conn: psycopg.Connection[Any]) -> bool:
    """Whether the rollup is kept: not under row-level security on ``calls`` (its sums would
    cross what each writer may see; reports then read the calls)."""
    row = conn.execute(
        "SELECT NOT relrowsecurity FROM pg_class WHERE oid = 'calls'::regclass"
    ).fetchone()
    return bool(row and row[0])


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Every pooled connection works in UTC (stored times are UTC wall-clock times), with room
    to sort and hash a batch or a report's groups in memory."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET work_mem = '64MB'")
    conn.commit()


class _StoredMeanwhile(Exception):
    """Another writer stored one of a batch's calls between the look and the merge."""


def _copy_lists(columns: Columns) -> list[Any]:
    """The batch's columns as Python values for a binary COPY (``_COPY_TYPES``), in
    ``STORED_FIELDS`` order, then each call's UTC day as text (what its rate is keyed by)."""
    import numpy as np

    lists = []
    for name in STORED_FIELDS:
        values = columns[name].tolist()  # datetime64[us] -> datetime, int64 -> int, ...
        if name == "reported_cost":  # exact decimal text -> Decimal (binary NUMERIC)
            values = [None if v is None else Decimal(v) for v in values]
        elif columns[name].dtype == object:
            values = _clean(values)
        lists.append(values)
    # numpy's day of a datetime64 (in C): the server then need not format one per call
    lists.append(np.datetime_as_string(columns["time"], unit="D").tolist())
    return lists


def _clean(values: list[Any]) -> list[Any]:
    """Text as PostgreSQL stores it: a NUL character (which TEXT cannot hold) becomes U+FFFD."""
    try:  # one search of the joined column (in C), not a Python test per value
        clean = "\x00" not in "".join(values)
    except TypeError:  # not all text
        clean = not any(isinstance(v, str) and "\x00" in v for v in values)
    if not clean:
        return [v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in values]
    return values
