"""``tokenomy statusline`` fed the JSON Claude Code pipes to a status-line command, on a real
Claude Code session (spotter, shipped in tokenomy/data/sample_logs): the same figures as
``tokenomy report``, an incremental import, and a warm path without DuckDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_LOGS
from typer.testing import CliRunner

from tokenomy import statusline as sl
from tokenomy.bill import blocks
from tokenomy.cli import app
from tokenomy.ledger import Filters, Ledger, freshness

runner = CliRunner()
SPOTTER = SAMPLE_LOGS / "claude-code" / "spotter"
SESSION = "4d5611e5-241a-462a-8d15-5122611a9569"
OTHER = "258c7280-ae70-4798-800f-63464d01a85d"
AT = "2026-02-12T19:00:00+00:00"  # inside the session's first 5-hour block (16:00-21:00 UTC)


def copy_session(session: str, to: Path) -> Path:
    """A session's transcript and its sub-agents' folder, as Claude Code lays them out."""
    to.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SPOTTER / f"{session}.jsonl", to / f"{session}.jsonl")
    shutil.copytree(SPOTTER / session, to / session)
    return to / f"{session}.jsonl"


def hook(transcript: Path, session: str = SESSION) -> str:
    """The JSON Claude Code sends (shape of Claude Code 2.x; see docs/statusline.md)."""
    return json.dumps({
        "hook_event_name": "Status",
        "session_id": session,
        "transcript_path": str(transcript),
        "cwd": "/home/user/spotter",
        "model": {"id": "claude-opus-4-6", "display_name": "Opus"},
        "workspace": {"current_dir": "/home/user/spotter", "project_dir": "/home/user/spotter"},
        "version": "2.1.31",
        "output_style": {"name": "default"},
        "cost": {"total_cost_usd": 10.2, "total_duration_ms": 60000, "total_lines_added": 3},
        "context_window": {"context_window_size": 200000},
    })  # fmt: skip


def statusline(home: Path, stdin: str, *args: str) -> Any:
    result = runner.invoke(
        app, ["statusline", "--home", str(home), "-z", "UTC", "--at", AT, *args], input=stdin
    )
    assert result.exit_code == 0, result.output
    return result


def report(home: Path, grouping: str, *paths: Path) -> dict[str, Any]:
    args = ["report", grouping, *map(str, paths), "--home", str(home), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_figures_match_the_reports_on_a_real_session(tmp_path: Path) -> None:
    transcript = copy_session(SESSION, tmp_path / "projects" / "spotter")
    home = tmp_path / "home"
    out = json.loads(statusline(home, hook(transcript), "--json").stdout)

    check = tmp_path / "check"  # the reports, on their own ledger from the same files
    files = (transcript, transcript.with_suffix(""))
    session_row = {r["session"]: r for r in report(check, "session", *files)["rows"]}[SESSION]
    daily = {r["daily"]: r for r in report(check, "daily", *files)["rows"]}
    assert out["schema_version"] == sl.SCHEMA_VERSION
    assert out["session_id"] == SESSION
    assert Decimal(str(out["session_cost_usd"])) == Decimal(str(session_row["cost_usd"]))
    assert out["session_calls"] == session_row["calls"] == 152  # with its 2 sub-agents
    assert Decimal(str(out["today_cost_usd"])) == Decimal(str(daily["2026-02-12"]["cost_usd"]))
    assert out["claude_code_cost_usd"] == 10.2

    with Ledger(check) as ledger:
        rows = blocks(ledger, Filters(), now=datetime.fromisoformat(AT)).rows
    active = [r for r in rows if r["active"]]
    assert len(active) == 1 and active[0]["block"] == "2026-02-12 16:00"
    block = out["block"]
    assert block["start"] == "2026-02-12T16:00+00:00" and block["end"] == "2026-02-12T21:00+00:00"
    assert block["minutes_left"] == 120
    for key in ("cost_usd", "usd_per_hour", "projected_cost_usd"):
        assert Decimal(str(block[key])) == Decimal(str(active[0][key])), key

    line = statusline(home, hook(transcript)).stdout.strip()
    assert line == (
        f"Opus | ${Decimal(str(session_row['cost_usd'])):.2f} session | "
        f"${Decimal(str(daily['2026-02-12']['cost_usd'])):.2f} today | "
        f"${Decimal(str(block['cost_usd'])):.2f} block (2h00m left) "
        f"${Decimal(str(block['usd_per_hour'])):.2f}/h, "
        f"${Decimal(str(block['projected_cost_usd'])):.2f} at 21:00"
    )
    assert "\n" not in line


def test_today_counts_every_session_and_the_session_only_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "projects" / "spotter"
    first = copy_session(SESSION, folder)
    second = copy_session(OTHER, folder)
    home = tmp_path / "home"
    one = json.loads(statusline(home, hook(first), "--json").stdout)
    other = json.loads(statusline(home, hook(second, OTHER), "--json").stdout)
    check = report(tmp_path / "check", "session", folder)["rows"]
    costs = {r["session"]: Decimal(str(r["cost_usd"])) for r in check}
    assert Decimal(str(other["session_cost_usd"])) == costs[OTHER]
    # both sessions are in the ledger now: today counts them both, for either session
    again = json.loads(statusline(home, hook(first), "--json").stdout)
    assert Decimal(str(again["session_cost_usd"])) == costs[SESSION]
    days = {r["daily"]: Decimal(str(r["cost_usd"])) for r in report(tmp_path / "c2", "daily",
                                                                      folder)["rows"]}  # fmt: skip
    assert Decimal(str(again["today_cost_usd"])) == days[again["day"]]
    assert Decimal(str(one["today_cost_usd"])) <= Decimal(str(again["today_cost_usd"]))


def test_a_growing_transcript_is_imported_incrementally(tmp_path: Path) -> None:
    transcript = copy_session(SESSION, tmp_path / "p")
    lines = transcript.read_bytes().splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[: len(lines) // 2]))
    home = tmp_path / "home"
    half = json.loads(statusline(home, hook(transcript), "--json").stdout)
    with transcript.open("ab") as f:
        f.write(b"".join(lines[len(lines) // 2 :]))
    full = json.loads(statusline(home, hook(transcript), "--json").stdout)
    assert 0 < half["session_calls"] < full["session_calls"] == 152
    assert half["session_cost_usd"] < full["session_cost_usd"]
    expected = report(tmp_path / "check", "session", transcript, transcript.with_suffix(""))
    assert Decimal(str(full["session_cost_usd"])) == Decimal(str(expected["totals"]["cost_usd"]))


def test_warm_path_needs_no_duckdb_and_moves_with_the_clock(tmp_path: Path) -> None:
    transcript = copy_session(SESSION, tmp_path / "p")
    home = tmp_path / "home"
    cold = statusline(home, hook(transcript), "--json").stdout
    code = (
        "import sys; sys.argv = ['tokenomy', 'statusline', *sys.argv[1:]]\n"
        "from tokenomy.entry import main; main()\n"
        "heavy = {'duckdb', 'numpy', 'genai_prices', 'typer', 'rich'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "TOKENOMY_HOME": str(home)}
    env.pop("TOKENOMY_CONFIG", None)

    def warm(at: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", code, "-z", "UTC", "--at", at, "--json"],
            input=hook(transcript), capture_output=True, text=True, env=env, check=False,
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    assert warm(AT) == json.loads(cold)
    later = warm("2026-02-12T20:00:00+00:00")
    assert later["block"]["minutes_left"] == 60
    assert later["block"]["cost_usd"] == json.loads(cold)["block"]["cost_usd"]
    assert later["block"]["usd_per_hour"] < json.loads(cold)["block"]["usd_per_hour"]
    assert warm("2026-02-12T21:30:00+00:00")["block"] is None  # the block is over


def test_the_cache_misses_when_the_ledger_or_a_subagent_changes(tmp_path: Path) -> None:
    transcript = copy_session(SESSION, tmp_path / "p")
    home = tmp_path / "home"
    statusline(home, hook(transcript))
    parsed = sl.parse_hook(hook(transcript))
    now = datetime.fromisoformat(AT)
    assert sl.cached_status(home, parsed, "UTC", now) is not None
    assert sl.cached_status(home, parsed, "Europe/Paris", now) is None
    agent = next((transcript.with_suffix("") / "subagents").iterdir())
    os.utime(agent, ns=(1, 1))
    assert sl.cached_status(home, parsed, "UTC", now) is None
    statusline(home, hook(transcript))
    freshness.write_snapshot(home, {}, freshness.new_version())  # another import happened
    assert sl.cached_status(home, parsed, "UTC", now) is None
    assert sl._SNAPSHOT == freshness.SNAPSHOT


def test_new_session_without_a_transcript_yet(tmp_path: Path) -> None:
    line = statusline(tmp_path / "home", hook(tmp_path / "none.jsonl", "fresh")).stdout
    assert line.strip() == "Opus | $0.00 session | $0.00 today | no active block"


@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]", '{"model": {}}'])
def test_bad_stdin_is_a_one_line_error(tmp_path: Path, stdin: str) -> None:
    result = runner.invoke(app, ["statusline", "--home", str(tmp_path)], input=stdin)
    assert result.exit_code == 2
    assert "statusline:" in result.output


def test_hook_fields() -> None:
    parsed = sl.parse_hook(hook(Path("/x/abc.jsonl")))
    assert parsed.session_id == SESSION and parsed.model == "Opus"
    assert parsed.cwd == "/home/user/spotter" and parsed.reported_cost == Decimal("10.2")
    bare = sl.parse_hook('{"transcript_path": "/x/abc.jsonl", "cost": {"total_cost_usd": true}}')
    assert bare.session_id == "abc" and bare.model == "" and bare.reported_cost is None
    assert sl.parse_now(None).tzinfo is UTC


def test_a_ledger_held_by_another_process_shows_the_last_figures(tmp_path: Path) -> None:
    transcript = copy_session(SESSION, tmp_path / "p")
    lines = transcript.read_bytes().splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[: len(lines) // 2]))
    home = tmp_path / "home"
    before = statusline(home, hook(transcript)).stdout
    with transcript.open("ab") as f:  # a new message: the cache no longer answers
        f.write(b"".join(lines[len(lines) // 2 :]))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"db = duckdb.connect({str(home / 'ledger.duckdb')!r})\n"
         "print('held', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "held"
        assert statusline(home, hook(transcript)).stdout == before
    finally:
        holder.kill()
        holder.wait()
    after = statusline(home, hook(transcript)).stdout
    assert after != before  # once free, the new lines are imported
