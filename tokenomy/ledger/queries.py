"""The ledger's read queries, written once for both SQL backends (DuckDB and PostgreSQL).

What the two databases spell differently (parameters, wall-clock time in a zone, dates as
text, byte-wise text order) is a ``Dialect``; everything else, the filters, groupings, sums
and the typed read methods of ``SQLReads``, is the same text for both, so the two backends
cannot drift apart on what a report means.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from tokenomy.calls import STORED_FIELDS, Call, prompt_sql
from tokenomy.ledger.filters import GROUPINGS, ONE_PERSON, SHARED_GROUPINGS, Filters
from tokenomy.ledger.home import cache_home
from tokenomy.pricing import Pricer

__all__ = ["COLUMNS", "DISTINCT_COLUMNS", "SUMS", "Dialect", "SQLReads", "group", "where"]

COLUMNS = ", ".join(f'"{c}"' for c in STORED_FIELDS)
PROMPT = prompt_sql()
DISTINCT_COLUMNS = ("model", "project", "source", "provider")

# The sums every bill row carries (a bill adds nothing else up).
SUMS = f"""
    count(*) AS calls,
    sum(input) AS input,
    sum(cache_read) AS cache_read,
    sum(cache_write_5m) AS cache_write_5m,
    sum(cache_write_1h) AS cache_write_1h,
    sum(output) AS output,
    sum(reasoning) AS reasoning,
    sum({PROMPT} + output) AS total_tokens,
    coalesce(sum(cost), 0) AS cost_usd,
    count(*) FILTER (WHERE cost IS NULL) AS unpriced_calls,
    count(*) FILTER (WHERE NOT output_exact) AS lower_bound_calls,
    sum(reported_cost) AS reported_cost_usd
"""

# The task a call belongs to: a sub-agent counts toward its parent's session, and a call with
# no session (a lone API payload) is a task of its own, not one catch-all spanning months.
TASK = (
    "CASE WHEN parent_session <> '' THEN parent_session WHEN session <> '' THEN session "
    "ELSE source || ':' || id END"
)


class Dialect(Protocol):
    """How one database spells what the queries need."""

    users: bool  # whether its calls record who stored them (a shared ledger)

    def param(self, name: str) -> str:
        """A named parameter."""
        ...

    def params(self, filters: Filters) -> dict[str, Any]:
        """The parameters ``local`` uses."""
        ...

    def local(self, filters: Filters) -> str:
        """The stored UTC ``time`` as wall-clock time in the filters' zone."""
        ...

    def day(self, expr: str) -> str:
        """A timestamp as ``YYYY-MM-DD`` text."""
        ...

    def month(self, expr: str) -> str:
        """A timestamp as ``YYYY-MM`` text."""
        ...

    def seconds(self, expr: str) -> str:
        """An interval in seconds."""
        ...

    def text(self, expr: str) -> str:
        """A text expression that sorts byte-wise, whatever the database's collation."""
        ...


def where(d: Dialect, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The WHERE condition of ``filters`` and its parameters (values never enter the text)."""
    if filters.users and not d.users:
        raise ValueError(ONE_PERSON)
    clauses: list[str] = []
    params = d.params(filters)
    if filters.since:
        clauses.append(f"CAST({d.local(filters)} AS DATE) >= {d.param('since')}")
        params["since"] = filters.since
    if filters.until:
        clauses.append(f"CAST({d.local(filters)} AS DATE) <= {d.param('until')}")
        params["until"] = filters.until
    for column, values in (
        ("model", filters.models),
        ("project", filters.projects),
        ("source", filters.sources),
    ):
        if values:
            # A model filter matches a prefix too: "claude-opus" finds every Opus. No escape
            # character: "_" and "%" in a name are wildcards, as typed.
            ors = []
            for i, value in enumerate(values):
                ors.append(f"{column} ILIKE {d.param(f'{column}{i}')} ESCAPE ''")
                params[f"{column}{i}"] = f"{value}%"
            clauses.append(f"({' OR '.join(ors)})")
    if filters.sessions:
        ors = []
        for i, value in enumerate(filters.sessions):
            name = d.param(f"session{i}")
            ors.append(f"session = {name} OR parent_session = {name}")
            params[f"session{i}"] = value
        clauses.append(f"({' OR '.join(ors)})")
    if filters.model_names:
        clauses.append(f"model = ANY({d.param('model_names')})")
        params["model_names"] = list(filters.model_names)
    if filters.users:
        clauses.append(f"user_name = ANY({d.param('users')})")
        params["users"] = list(filters.users)
    return (" AND ".join(clauses) or "TRUE"), params


def group(d: Dialect, grouping: str, filters: Filters) -> tuple[str, str, str]:
    """(key expression, extra columns, order) of a grouping."""
    if grouping in SHARED_GROUPINGS and not d.users:
        raise ValueError(ONE_PERSON)
    if grouping not in (*GROUPINGS, *SHARED_GROUPINGS):
        raise ValueError(f"unknown grouping {grouping!r}")
    local = d.local(filters)
    if grouping == "session":
        extra = (
            f", min(project) AS project, min({local}) AS start, "
            f"{d.seconds('max(time) - min(time)')} AS duration_s, "
            "count(*) FILTER (WHERE agent <> '') AS subagent_calls, "
            "count(DISTINCT session) - 1 AS subagents, "
            f"string_agg(DISTINCT {d.text('model')}, ', ' ORDER BY {d.text('model')}) AS models"
        )
        # ties (payloads saved at one moment) in a stable order
        return d.text(TASK), extra, "start, key"
    key = {
        "daily": d.day(local),
        "weekly": d.day(f"date_trunc('week', {local})"),
        "monthly": d.month(local),
        "model": d.text("model"),
        "project": d.text("project"),
        "source": d.text("source"),
        "user": d.text("user_name"),
    }[grouping]
    return key, "", "cost_usd DESC, key" if grouping in ("model", "project", "source",
                                                        "user") else "key"  # fmt: skip


class SQLReads:
    """The typed read methods of a SQL ledger; a backend gives ``dialect``, ``sql`` (one
    statement, its rows) and ``_dicts`` (one statement, its rows as dicts)."""

    dialect: Dialect
    _pricer: Pricer | None = None

    @property
    def pricer(self) -> Pricer:
        """The ledger's prices, with the day rates resolved on this machine before (the user
        cache, shared by every ledger) remembered for the next run."""
        if self._pricer is None:
            self._pricer = Pricer()
        if self._pricer.memo is None:
            self._pricer.memo = self._pricer.memo_in(cache_home())
        return self._pricer

    @pricer.setter
    def pricer(self, pricer: Pricer) -> None:
        self._pricer = pricer

    def sql(self, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _dicts(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def count(self, filters: Filters | None = None) -> int:
        """How many calls ``filters`` covers (all calls without)."""
        cond, params = where(self.dialect, filters or Filters())
        return int(self.sql(f"SELECT count(*) FROM calls WHERE {cond}", params)[0][0])

    def calls(self, filters: Filters | None = None) -> list[Call]:
        """Calls as records, in time order."""
        cond, params = where(self.dialect, filters or Filters())
        out = []
        for row in self.sql(f"SELECT {COLUMNS} FROM calls WHERE {cond} ORDER BY time", params):
            call = Call(*row)  # the columns are Call's stored fields, in order
            call.time = call.time.replace(tzinfo=UTC)
            out.append(call)
        return out

    def sums(self, grouping: str | None, filters: Filters) -> list[dict[str, Any]]:
        """The bill's sums per group of ``grouping`` (one of ``GROUPINGS``) under ``key``, or
        one row of totals when ``grouping`` is None (from the calls)."""
        cond, params = where(self.dialect, filters)
        if grouping is None:
            return self._dicts(f"SELECT {SUMS} FROM calls WHERE {cond}", params)
        key, extra, order = group(self.dialect, grouping, filters)
        return self._dicts(
            f"SELECT {key} AS key, {SUMS} {extra} FROM calls WHERE {cond} "
            f"GROUP BY 1 ORDER BY {order}",
            params,
        )

    def timeline(self, filters: Filters) -> list[tuple[datetime, int, Decimal, bool]]:
        """(UTC time, total tokens, cost or 0, unpriced) of every call, in time order."""
        cond, params = where(self.dialect, filters)
        rows = self.sql(
            f"SELECT time, {PROMPT} + output, coalesce(cost, 0), cost IS NULL FROM calls "
            f"WHERE {cond} ORDER BY time",
            params,
        )
        return [(t.replace(tzinfo=UTC), int(n), Decimal(c), bool(u)) for t, n, c, u in rows]

    def priced_tokens(
        self, filters: Filters, weekly: bool = False
    ) -> tuple[list[tuple[Any, ...]], dict[str, Decimal]]:
        """Priced calls by local day (or week start): rows of (period, model, provider, tier,
        UTC time, *token kinds), and the stored cost per period."""
        local = self.dialect.local(filters)
        period = self.dialect.day(f"date_trunc('week', {local})" if weekly else local)
        cond, params = where(self.dialect, filters)
        rows = self.sql(
            f"SELECT {period} AS period, model, provider, service_tier, time, input, cache_read, "
            "cache_write_5m, cache_write_1h, output FROM calls "
            f"WHERE cost IS NOT NULL AND {cond} ORDER BY period",
            params,
        )
        billed = self.sql(
            f"SELECT {period} AS period, sum(cost) FROM calls "
            f"WHERE cost IS NOT NULL AND {cond} GROUP BY 1",
            params,
        )
        out = [(p, m, pr, tier, t.replace(tzinfo=UTC), *tok) for p, m, pr, tier, t, *tok in rows]
        return out, {str(p): Decimal(c) for p, c in billed}

    def task_tokens(self, filters: Filters) -> list[tuple[str, int, int]]:
        """Per task (a session with its sub-agents), in order of its first call: (task, main
        thread tokens, sub-agent tokens)."""
        cond, params = where(self.dialect, filters)
        tokens = f"{PROMPT} + output"
        rows = self.sql(
            f"SELECT {self.dialect.text(TASK)} AS task, "
            f"coalesce(sum({tokens}) FILTER (WHERE agent = ''), 0), "
            f"coalesce(sum({tokens}) FILTER (WHERE agent <> ''), 0) "
            f"FROM calls WHERE {cond} GROUP BY 1 ORDER BY min(time), task",
            params,
        )
        return [(str(s), int(m), int(a)) for s, m, a in rows]

    def distinct(self, column: str) -> list[str]:
        """The distinct values of ``column`` (one of ``DISTINCT_COLUMNS``), sorted."""
        if column not in DISTINCT_COLUMNS:
            raise ValueError(f"no distinct values of {column!r}")
        rows = self.sql(f"SELECT DISTINCT {self.dialect.text(column)} FROM calls ORDER BY 1")
        return [str(r[0]) for r in rows]

    def unpriced_models(self) -> Counter[str]:
        """Models of calls without a price, with how many calls each."""
        rows = self.sql("SELECT model, count(*) FROM calls WHERE cost IS NULL GROUP BY model")
        return Counter({str(m): int(n) for m, n in rows})
