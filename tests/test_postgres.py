"""The PostgreSQL ledger against a real server (``tests/pg.py`` starts a throwaway one):
the same golden outputs as DuckDB, many writers at once, killed writers, dropped connections,
hostile values as parameters, and the password never shown."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pg
import pytest
from conftest import shipped_logs
from test_golden import COMMANDS
from typer.testing import CliRunner

from tokenomy.calls import Call
from tokenomy.cli import app
from tokenomy.ledger import Filters, Ledger
from tokenomy.ledger.filters import GROUPINGS

REASON = pg.why_not()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no PostgreSQL server: {REASON}")

GOLDEN = Path(__file__).parent / "golden"
# Every golden command that reads the ledger (count, tax and selfhost read none).
LEDGER_COMMANDS: dict[str, list[str]] = {
    name: args for name, args in COMMANDS.items() if name.startswith(("report_", "import",
                                                                      "anatomy", "whatif"))
}  # fmt: skip
CLI = [sys.executable, "-c", "from tokenomy.cli import main; main()"]


@pytest.fixture(scope="module")
def server() -> Iterator[pg.Server]:
    srv = pg.start()
    yield srv
    srv.stop()


@pytest.fixture
def url(server: pg.Server) -> str:
    """A fresh, empty database."""
    return server.database()


def _bill(url_or_home: str | Path, data: Path | None = None) -> dict[str, Any]:
    """Every grouping's sums (the whole bill) of a ledger, as comparable JSON."""
    from tokenomy.ledger import open_store

    store: Any = open_store(str(url_or_home)) if isinstance(url_or_home, str) else Ledger(
        url_or_home)  # fmt: skip
    with store:
        if data is not None:
            store.import_paths([data])
        out = {g: store.sums(g, Filters()) for g in GROUPINGS}
        out["total"] = store.sums(None, Filters())
        out["count"] = store.count()
    return json.loads(json.dumps(out, default=str))


# -- the same answers as DuckDB ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LEDGER_COMMANDS))
def test_golden_output_on_postgres(name: str, golden_data: Path, url: str, tmp_path: Path) -> None:
    """Every report, anatomy and what-if prints exactly the DuckDB golden JSON."""
    data = golden_data
    args = [a.replace("{data}", str(data)) for a in LEDGER_COMMANDS[name]]
    extra = ["--home", str(tmp_path / "home"), "--ledger", url, "--json"]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    out = result.stdout.replace(str(data), "<DATA>")
    assert out == (GOLDEN / f"{name}.json").read_text()
    assert pg.PASSWORD not in result.output


def test_every_method_agrees_with_duckdb(golden_data: Path, url: str, tmp_path: Path) -> None:
    """Sums of every grouping, in zones, filtered; calls, timeline, priced tokens, tasks."""
    data = golden_data
    from tokenomy.ledger.postgres import PostgresLedger

    duck = Ledger(tmp_path / "duck")
    duck.import_paths([data])
    with duck, PostgresLedger(url) as post:
        post.import_paths([data])
        for filters in (
            Filters(),
            Filters(timezone="America/Los_Angeles"),
            Filters(timezone="Asia/Kolkata"),
            Filters(timezone="Asia/Kathmandu"),
            Filters(since=date(2026, 1, 1), until=date(2026, 6, 1), timezone="Asia/Tokyo"),
            Filters(models=("claude",), projects=("",), sources=("claude_code", "codex")),
        ):
            for grouping in (None, *GROUPINGS):
                assert post.sums(grouping, filters) == duck.sums(grouping, filters), grouping
            assert post.count(filters) == duck.count(filters)
            # in time order; calls at one instant in either backend's order (both leave ties
            # unordered)
            assert sorted(post.timeline(filters)) == sorted(duck.timeline(filters))
            assert [t for t, *_ in post.timeline(filters)] == [t for t, *_ in duck.timeline(
                filters)]  # fmt: skip
            assert post.task_tokens(filters) == duck.task_tokens(filters)
            for weekly in (False, True):
                p_rows, p_cost = post.priced_tokens(filters, weekly)
                d_rows, d_cost = duck.priced_tokens(filters, weekly)
                assert sorted(p_rows) == sorted(d_rows) and p_cost == d_cost

            def records(store: Any, filters: Filters = filters) -> list[str]:
                return sorted(json.dumps(c.to_dict(), sort_keys=True) for c in store.calls(filters))

            assert records(post) == records(duck)
        for column in ("model", "project", "source", "provider"):
            assert post.distinct(column) == duck.distinct(column)
        assert post.unpriced_models() == duck.unpriced_models()
        assert post.price(everything=True) > 0
        assert post.sums(None, Filters()) == duck.sums(None, Filters())
        post.rebuild_rollup()  # the rollup recomputed from scratch: the same sums
        for grouping in (None, "daily", "model"):
            assert post.sums(grouping, Filters()) == duck.sums(grouping, Filters())


def test_reimport_is_a_no_op_and_append_is_incremental(url: str, tmp_path: Path) -> None:
    from tokenomy.ledger.postgres import PostgresLedger

    logs = shipped_logs(tmp_path / "logs")
    with PostgresLedger(url) as ledger:
        first = ledger.import_paths([logs])
        again = ledger.import_paths([logs])
        assert first.new_calls > 0 and again.new_calls == 0 and again.files_read == 0
        # the same logs under another path (another laptop): merged, counted once
        copy = shutil.copytree(logs, tmp_path / "copy")
        moved = PostgresLedger(url, host="other-laptop")
        with moved:
            other = moved.import_paths([copy])
        assert other.new_calls == 0 and ledger.count() == first.new_calls
    duck = Ledger(tmp_path / "duck")  # the same counts as the DuckDB ledger reports
    with duck:
        assert duck.import_paths([logs]).to_dict() == first.to_dict()
        assert duck.import_paths([copy]).to_dict() == other.to_dict()


def test_migrations_are_versioned_and_idempotent(url: str) -> None:
    from tokenomy.ledger.postgres import MIGRATIONS, PostgresLedger

    with PostgresLedger(url) as ledger:
        versions = [r[0] for r in ledger.sql("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [v for v, _, _ in MIGRATIONS]
        assert ledger.schema_version() == MIGRATIONS[-1][0]
    with PostgresLedger(url) as again:  # opening again migrates nothing
        assert again.sql("SELECT count(*) FROM schema_migrations")[0][0] == len(MIGRATIONS)


# -- many writers -------------------------------------------------------------------------


def _writer(url: str, logs: Path, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TOKENOMY_LEDGER": url}
    return subprocess.Popen(
        [*CLI, "import", str(logs), "--home", str(home)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_eight_concurrent_writers_give_one_clean_bill(
    server: pg.Server, licensed_logs: Path, tmp_path: Path
) -> None:
    """8 processes import overlapping copies of the real logs at once (each copy holds every
    call, some twice): the shared ledger holds exactly the bill of one clean import."""
    clean = server.database()
    reference = _bill(clean, licensed_logs)
    shared = server.database()
    copies = []
    for i in range(8):
        copy = shutil.copytree(licensed_logs, tmp_path / f"copy{i}")
        if i % 2:  # overlapping: a second copy of some logs inside this one
            shutil.copytree(licensed_logs / "claude-code", copy / "again")
        copies.append(copy)
    procs = [_writer(shared, copy, tmp_path / f"home{i}") for i, copy in enumerate(copies)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        assert pg.PASSWORD.encode() not in err
    assert _bill(shared) == reference


def test_killed_writer_then_rerun_gives_the_clean_bill(
    server: pg.Server, licensed_logs: Path, tmp_path: Path
) -> None:
    """kill -9 of a writer at any moment of its import, then a re-run: the clean bill."""
    reference = _bill(server.database(), licensed_logs)
    for delay in (0.3, 0.8, 1.5):
        shared = server.database()
        proc = _writer(shared, licensed_logs, tmp_path / "home")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rerun = _writer(shared, licensed_logs, tmp_path / "home")
        _, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, err.decode()
        assert _bill(shared) == reference


def test_a_dropped_connection_is_retried_with_a_message(
    url: str, licensed_logs: Path, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    from tokenomy.ledger import postgres

    original = postgres.PostgresLedger._upsert
    dropped = []

    def drop_once(self: Any, conn: Any, columns: Any) -> Any:
        if not dropped:
            dropped.append(True)
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")  # the server hangs up
        return original(self, conn, columns)

    monkeypatch.setattr(postgres.PostgresLedger, "_upsert", drop_once)
    with caplog.at_level(logging.WARNING), postgres.PostgresLedger(url) as ledger:
        report = ledger.import_paths([licensed_logs])
        assert dropped and report.new_calls == ledger.count() > 0
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "connection lost" in messages and "retrying (2/3)" in messages
    assert pg.PASSWORD not in messages and "***" in messages


# -- security -------------------------------------------------------------------------------

HOSTILE = [
    "'; DROP TABLE calls; --",
    'Robert"); DROP TABLE files;--',
    "%s %(zone)s {0} $1 \\N \\.",
    "tab\there\nnewline\r\\backslash",
    "ünïcødé 🚀 项目",
    "nul\x00byte",
    "' OR '1'='1",
    "100%_wild",
]


def _hostile_calls() -> list[Call]:
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    return [
        Call(source="openai", id=f"{text}#{i}", time=base, model=text if i % 2 else "gpt-4o",
             provider="openai", project=text, session=text, input=100 + i, output=10 + i,
             reported_cost=Decimal("0.001"))
        for i, text in enumerate(HOSTILE)
    ]  # fmt: skip


def test_hostile_names_and_ids_are_parameters(url: str, tmp_path: Path) -> None:
    from tokenomy.ledger.postgres import PostgresLedger

    calls = _hostile_calls()
    duck = Ledger(tmp_path / "duck")
    with duck, PostgresLedger(url, user="'; DROP TABLE calls; --", host="h\x27") as post:
        assert post.add_calls(calls) == len(calls)
        assert post.add_calls(calls) == 0  # the same ids again: merged
        duck.add_calls(calls)
        assert post.count() == len(calls)
        stored = {c.id for c in post.calls()}
        assert stored == {c.id.replace("\x00", "\ufffd") for c in calls}
        for text in HOSTILE:
            clean = text.replace("\x00", "\ufffd")
            for filters in (Filters(projects=(clean,)), Filters(models=(clean,)),
                            Filters(sessions=(clean,))):  # fmt: skip
                got = post.sums(None, filters)[0]["calls"]
                if "\x00" not in text:
                    assert got == duck.sums(None, filters)[0]["calls"], (text, filters)
                assert got >= 1 or filters.models
        assert post.distinct("project") == sorted(
            {c.project.replace("\x00", "\ufffd") for c in calls}, key=lambda s: s.encode()
        )
        tables = {r[0] for r in post.sql("SELECT tablename FROM pg_tables")}
        assert {"calls", "files", "problems", "imports", "schema_migrations"} <= tables


def test_the_password_never_appears(url: str, licensed_logs: Path, tmp_path: Path) -> None:
    from tokenomy.ledger.postgres import redact

    assert pg.PASSWORD not in redact(url) and "***" in redact(url)
    assert redact("host=x password=hunter2 user=y") == "host=x password=*** user=y"
    home = ["--home", str(tmp_path / "home")]
    ok = CliRunner().invoke(app, ["report", "daily", str(licensed_logs), "--ledger", url, *home])
    assert ok.exit_code == 0 and pg.PASSWORD not in ok.output
    wrong = url.replace(pg.PASSWORD, "wrong-" + pg.PASSWORD)
    proc = subprocess.run(
        [*CLI, "report", "daily", str(licensed_logs), "--ledger", wrong, *home],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "cannot use the PostgreSQL ledger" in proc.stderr and "***" in proc.stderr
    assert pg.PASSWORD not in proc.stdout + proc.stderr
    down = subprocess.run(
        [*CLI, "import", str(licensed_logs), *home],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "TOKENOMY_LEDGER": "postgresql://u:topsecret@127.0.0.1:1/db"},
    )  # fmt: skip
    assert down.returncode == 1 and "topsecret" not in down.stdout + down.stderr


# -- push and roles -------------------------------------------------------------------------


def test_push_attributes_and_resumes(url: str, licensed_logs: Path, tmp_path: Path) -> None:
    from tokenomy.ledger.postgres import PostgresLedger

    runner = CliRunner()
    first = runner.invoke(app, ["push", str(licensed_logs), "--ledger", url, "--user", "alice",
                                "--host", "laptop-1", "--json"])  # fmt: skip
    assert first.exit_code == 0, first.output
    pushed = json.loads(first.stdout)
    assert pushed["user"] == "alice" and pushed["new_calls"] > 0
    again = runner.invoke(app, ["push", str(licensed_logs), "--ledger", url, "--user", "alice",
                                "--host", "laptop-1", "--json"])  # fmt: skip
    assert json.loads(again.stdout)["files_read"] == 0  # cron: nothing new, nothing read
    copy = shutil.copytree(licensed_logs, tmp_path / "bobs")
    bob = runner.invoke(app, ["push", str(copy), "--ledger", url, "--user", "bob",
                              "--host", "laptop-2", "--json"])  # fmt: skip
    assert json.loads(bob.stdout)["new_calls"] == 0  # the same calls: counted once
    with PostgresLedger(url) as ledger:
        by_user = ledger.sums("user", Filters())
        assert [r["key"] for r in by_user] == ["alice"]
        assert by_user[0]["calls"] == ledger.count() == pushed["new_calls"]
    no_server = runner.invoke(app, ["push", str(licensed_logs)], env={"TOKENOMY_LEDGER": ""})
    assert no_server.exit_code == 2 and "needs a shared ledger" in no_server.output


def _roles_sql() -> str:
    text = (Path(__file__).parents[1] / "docs" / "postgres.md").read_text()
    return text.split("```sql roles\n", 1)[1].split("```", 1)[0]


def test_documented_roles(url: str, licensed_logs: Path, tmp_path: Path) -> None:
    """docs/postgres.md's SQL, as written: the read-only role reads and cannot write; with
    row-level security a writer sees only its own rows."""
    import psycopg

    from tokenomy.ledger.postgres import LedgerUnavailable, PostgresLedger

    with PostgresLedger(url) as owner:  # migrated by the owner
        owner.import_paths([licensed_logs])
        total = owner.count()
    statements = _roles_sql()
    with psycopg.connect(url, autocommit=True) as conn:
        for role in ("dashboard", "alice", "bob", "tokenomy_read", "tokenomy_write"):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(statements)

    def as_role(role: str, password: str) -> str:
        return url.replace(f"{pg.USER}:{pg.PASSWORD}@", f"{role}:{password}@")

    with PostgresLedger(as_role("dashboard", "dashboard-secret")) as dash:
        assert dash.count() == total
        assert dash.sums("daily", Filters())
        with pytest.raises((LedgerUnavailable, psycopg.Error)):
            dash.add_calls(_hostile_calls()[:1])
    alice_calls = _hostile_calls()[:3]
    with PostgresLedger(as_role("alice", "alice-secret"), user="alice") as alice:
        assert alice.count() == 0  # the owner's rows are not alice's
        assert alice.add_calls(alice_calls) == 3 and alice.count() == 3
    with PostgresLedger(as_role("bob", "bob-secret"), user="bob") as bob:
        assert bob.count() == 0
        with pytest.raises(psycopg.Error):  # alice's calls: hidden from bob, not his to merge
            bob.add_calls(alice_calls)
        assert bob.add_calls(_hostile_calls()[3:4]) == 1 and bob.count() == 1
    with PostgresLedger(as_role("dashboard", "dashboard-secret")) as dash:
        assert dash.count() == total + 4
    # Without row-level security the writers keep the rollup with the documented privileges:
    # new calls add their sums to it, merged ones recompute their days.
    with PostgresLedger(url) as owner:
        owner.sql("ALTER TABLE calls DISABLE ROW LEVEL SECURITY")
        owner.rebuild_rollup()
    with PostgresLedger(as_role("alice", "alice-secret"), user="alice") as alice:
        fresh = [
            Call(
                source="openai",
                id=f"new{i}",
                time=datetime(2026, 2, 1, i, tzinfo=UTC),
                model="gpt-4o",
                provider="openai",
                input=10,
                output=i,
            )
            for i in range(3)
        ]
        assert alice.add_calls(fresh) == 3
        assert alice.add_calls([*fresh, *alice_calls]) == 0
        assert alice.sql("SELECT sum(calls), sum(cost_usd) FROM calls_rollup") == alice.sql(
            "SELECT count(*), sum(cost) FROM calls"
        )


def test_reports_by_user_and_team(url: str, licensed_logs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for user, part in (("alice", "claude-code"), ("bob", "api")):
        pushed = runner.invoke(app, ["push", str(licensed_logs / part), "--ledger", url,
                                     "--user", user, "--host", "h"])  # fmt: skip
        assert pushed.exit_code == 0, pushed.output

    def report(*args: str) -> dict[str, Any]:
        result = runner.invoke(app, [*args, "--ledger", url, "--json", "-z", "UTC"])
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    by_user = report("report", "user")
    rows = {r["user"]: r for r in by_user["rows"]}
    assert set(rows) == {"alice", "bob"}
    assert sum(r["calls"] for r in rows.values()) == by_user["totals"]["calls"]
    bob = report("report", "daily", "--user", "bob")["totals"]
    assert (bob["calls"], bob["cost_usd"]) == (rows["bob"]["calls"], rows["bob"]["cost_usd"])
    config = tmp_path / "config.toml"
    config.write_text('[teams]\ncore = ["alice"]\n')
    team = runner.invoke(app, ["--config", str(config), "report", "model", "--team", "core",
                               "--ledger", url, "--json"])  # fmt: skip
    assert json.loads(team.stdout)["totals"]["calls"] == rows["alice"]["calls"]
    unknown = runner.invoke(app, ["--config", str(config), "report", "daily", "--team", "ops",
                                  "--ledger", url])  # fmt: skip
    assert unknown.exit_code == 2 and "unknown team 'ops'" in unknown.output
    local = runner.invoke(app, ["report", "user", str(licensed_logs), "--home", str(tmp_path)])
    assert local.exit_code != 0 and "one person's calls" in str(local.exception)


def test_breakdown_by_model_equals_duckdb(url: str, licensed_logs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["report", "weekly", str(licensed_logs), "--breakdown", "--json", "-z", "UTC"]
    local = runner.invoke(app, [*args, "--home", str(tmp_path)])
    shared = runner.invoke(app, [*args, "--ledger", url])
    assert local.exit_code == shared.exit_code == 0, shared.output
    rows = json.loads(shared.stdout)["rows"]
    assert rows == json.loads(local.stdout)["rows"] and all(r["by_model"] for r in rows)


def test_batches_with_and_without_repeats_store_what_duckdb_stores(
    url: str, tmp_path: Path
) -> None:
    """A batch of distinct calls is COPYed straight in; one that repeats a call is reduced to
    its fullest record first; later batches merge into stored calls (an earlier time, a
    fuller record, a conflicting model). Calls and every sum (the rollup) match DuckDB."""
    from tokenomy.ledger.postgres import PostgresLedger

    def call(i: int, hour: int, output: int, model: str = "gpt-4o", **kw: Any) -> Call:
        return Call(source="openai", id=f"c{i}", time=datetime(2026, 3, 1 + i % 3, hour,
                    tzinfo=UTC), model=model, provider="openai", session=f"s{i % 2}",
                    project=f"p{i % 2}", input=1000 + i, output=output, **kw)  # fmt: skip

    batches = [
        [call(i, 10, 50) for i in range(12)],  # distinct calls
        [call(1, 12, 10), call(1, 11, 90), call(1, 9, 90), call(20, 8, 5), call(20, 8, 7)],
        [call(2, 3, 500), call(3, 23, 1), call(4, 1, 60, model="gpt-4o-mini"), call(21, 5, 5)],
        [call(5, 6, 80, reported_cost=Decimal("0.25")), call(6, 2, 10)],
    ]
    duck = Ledger(tmp_path / "duck")
    with duck, PostgresLedger(url) as post:
        for calls in batches:
            assert post.add_calls(calls) == duck.add_calls(calls)
        key = lambda c: (c.source, c.id)  # noqa: E731
        assert sorted(post.calls(), key=key) == sorted(duck.calls(), key=key)
        for grouping in (None, *GROUPINGS):
            assert post.sums(grouping, Filters()) == duck.sums(grouping, Filters()), grouping
        rolled = post.sql("SELECT sum(calls), sum(cost_usd) FROM calls_rollup")[0]
        assert rolled == post.sql("SELECT count(*), sum(cost) FROM calls")[0]


def test_a_call_stored_meanwhile_is_merged_not_refused(url: str) -> None:
    """A batch none of whose calls is stored goes in with a plain INSERT; when another writer
    stores one of them between the look and the INSERT, the INSERT is undone and the batch
    merged: no error, the call counted once, the rollup exact."""
    import threading

    import psycopg

    from tokenomy.ledger.postgres import PostgresLedger

    calls = [
        Call(source="openai", id=f"r{i}", time=datetime(2026, 4, 1, i, tzinfo=UTC),
             model="gpt-4o", provider="openai", input=10, output=5 + i)
        for i in range(6)
    ]  # fmt: skip
    with PostgresLedger(url) as post, psycopg.connect(url) as other:
        post.add_calls(calls[5:])  # warm: the pricer loaded, the pool open
        calls = calls[:5]
        other.execute(  # another writer's transaction holds r3, not yet committed
            "INSERT INTO calls (source, id, time, model, provider, session, parent_session, "
            "agent, project, service_tier, input, cache_read, cache_write_5m, cache_write_1h, "
            "output, reasoning, output_exact, file) VALUES ('openai', 'r3', "
            "'2026-04-01 03:00', 'gpt-4o', 'openai', '', '', '', '', '', 10, 0, 0, 0, 1, 0, "
            "true, '')"
        )
        timer = threading.Timer(1.5, other.commit)
        timer.start()
        assert post.add_calls(calls) == 4  # r3 came from the other writer
        timer.join()
        assert post.count() == 6
        assert post.sql("SELECT output FROM calls WHERE id = 'r3'") == [(8,)]  # the fuller
        assert post.sql("SELECT sum(calls), sum(cost_usd) FROM calls_rollup") == post.sql(
            "SELECT count(*), sum(cost) FROM calls"
        )


def test_a_call_stored_meanwhile_on_a_later_day_leaves_no_rollup_behind(url: str) -> None:
    """Another writer stores a call (and its day's rollup row) after this batch looked at the
    stored records: the merge moves the call to this batch's earlier time, so that other day's
    row must be recomputed too (the merge is undone, looked at again and redone)."""
    import threading

    import psycopg

    from tokenomy.ledger.postgres import PostgresLedger
    from tokenomy.ledger.queries import SUMS

    def at(day: int, i: int, output: int) -> Call:
        return Call(source="openai", id=f"m{i}", time=datetime(2026, 6, day, i, tzinfo=UTC),
                    model="gpt-4o", provider="openai", input=10, output=output)  # fmt: skip

    with PostgresLedger(url) as post, psycopg.connect(url) as other:
        post.add_calls([at(1, 0, 5)])  # stored: the batch below takes the merge path
        other.execute(  # m1 on June 9 with its rollup row, not yet committed
            "INSERT INTO calls (source, id, time, model, provider, session, parent_session, "
            "agent, project, service_tier, input, cache_read, cache_write_5m, cache_write_1h, "
            "output, reasoning, output_exact, file) VALUES ('openai', 'm1', "
            "'2026-06-09 01:00', 'gpt-4o', 'openai', '', '', '', '', '', 10, 0, 0, 0, 1, 0, "
            "true, '')"
        )
        other.execute(
            "INSERT INTO calls_rollup SELECT date_bin('15 minutes', time, "
            f"TIMESTAMP '2000-01-01'), source, model, provider, project, {SUMS} FROM calls "
            "WHERE id = 'm1' GROUP BY 1, 2, 3, 4, 5"
        )
        timer = threading.Timer(1.5, other.commit)
        timer.start()
        post.add_calls([at(1, 0, 9), at(1, 1, 8)])  # m1 on June 1, fuller: it wins
        timer.join()
        assert post.sql("SELECT time, output FROM calls WHERE id = 'm1'") == [
            (datetime(2026, 6, 1, 1), 8)
        ]
        per_day = "SELECT date_trunc('day', {t}) AS d, sum({n}) FROM {table} GROUP BY d ORDER BY d"
        assert post.sql(per_day.format(t="bucket", n="calls", table="calls_rollup")) == post.sql(
            per_day.format(t="time", n="1", table="calls")
        )
