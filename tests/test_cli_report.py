"""The report commands, end to end through the CLI on the real logs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tokenomy.bill import bill
from tokenomy.cli import app
from tokenomy.ledger import Filters, Ledger

runner = CliRunner()


def run(home: Path, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--home", str(home)])
    assert result.exit_code == 0, result.output
    return result


def as_json(home: Path, *args: str) -> dict[str, Any]:
    out = run(home, *args, "--json").stdout
    return json.loads(out[out.index("{") :])


def test_daily_json_totals_equal_the_sum_of_all_calls(logs: Path, home: Path) -> None:
    data = as_json(home, "report", "daily", str(logs))
    totals = data["totals"]
    assert totals["calls"] == 694 + 3  # Claude Code + Codex calls, and the 3 API payloads
    assert sum(r["calls"] for r in data["rows"]) == totals["calls"]
    with Ledger(home) as ledger:
        cost = ledger.sql("SELECT sum(cost) FROM calls")[0][0]
    assert Decimal(str(totals["cost_usd"])) == cost
    assert totals["unpriced_calls"] == 0
    assert totals["lower_bound_calls"] == 578  # every Claude Code call in these versions


def test_timezone_moves_calls_across_midnight(licensed_logs: Path, home: Path) -> None:
    utc = as_json(home, "report", "daily", str(licensed_logs))
    tokyo = as_json(home, "report", "daily", str(licensed_logs), "--timezone", "Asia/Tokyo")
    assert [r["daily"] for r in utc["rows"]] != [r["daily"] for r in tokyo["rows"]]
    assert utc["totals"]["calls"] == tokyo["totals"]["calls"]


def test_session_report_is_tokens_per_task_with_subagents(licensed_logs: Path, home: Path) -> None:
    data = as_json(home, "report", "session", str(licensed_logs / "claude-code/spotter"))
    rows = {r["session"]: r for r in data["rows"]}
    fa = rows["fa812bfe-b295-4cca-9c2f-fdf01028cb46"]
    # 157 main-thread calls + 11 + 9 from two Haiku sub-agents + 1 compaction call.
    assert fa["calls"] == 178
    assert fa["subagent_calls"] == 21
    assert fa["subagents"] == 3
    assert "claude-haiku-4-5-20251001" in fa["models"]


def test_filters_by_model_and_source(logs: Path, home: Path) -> None:
    codex = as_json(home, "report", "model", str(logs), "--source", "codex")
    assert [r["model"] for r in codex["rows"]] == ["gpt-5.3-codex"]
    assert codex["totals"]["calls"] == 116
    opus = as_json(home, "report", "model", str(logs), "--model", "claude-opus")
    assert {r["model"] for r in opus["rows"]} == {"claude-opus-4-6", "claude-opus-4-5-20251101"}


def test_csv_has_a_header_and_one_line_per_row(logs: Path, home: Path) -> None:
    out = run(home, "report", "monthly", str(logs), "--csv").stdout
    lines = [line for line in out.splitlines() if line.startswith(("monthly", "2026"))]
    assert lines[0].startswith("monthly,calls,")
    assert len(lines) == 1 + 3  # 2026-01, 2026-02 and the payloads dated 2026-05


def test_blocks_split_at_five_hours(logs: Path, home: Path) -> None:
    data = as_json(home, "report", "blocks", str(logs))
    assert data["totals"]["calls"] == 697
    for row in data["rows"]:
        assert row["block"].endswith(":00")  # blocks start on the hour
        assert row["active"] is False  # these logs are months old


def test_strict_turns_warnings_into_an_exit_code(
    licensed_logs: Path, home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    text = (licensed_logs / "claude-code/spotter/short.jsonl").read_text()
    bad.write_text(text + '{"type": "assistant", "usage": {broken\n')
    result = runner.invoke(app, ["report", "daily", str(bad), "--home", str(home), "--strict"])
    assert result.exit_code == 1
    assert "invalid JSON" in result.stderr
    relaxed = runner.invoke(app, ["report", "daily", str(bad), "--home", str(home)])
    assert relaxed.exit_code == 0


def test_missing_path_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "daily", str(tmp_path / "nope"), "--home", str(home)])
    assert result.exit_code == 2
    assert "no such file or directory" in result.stderr


def test_python_api_matches_cli(licensed_logs: Path, home: Path) -> None:
    data = as_json(home, "report", "project", str(licensed_logs))
    with Ledger(home) as ledger:
        result = bill(ledger, "project", Filters())
    assert [r["project"] for r in result.rows] == [r["project"] for r in data["rows"]]
    assert result.totals["calls"] == data["totals"]["calls"]


def test_import_json_report(logs: Path, home: Path) -> None:
    data = as_json(home, "import", str(logs))
    assert data["new_calls"] == 697
    assert data["duplicates_dropped"] == 741
    again = as_json(home, "import", str(logs))
    assert again["new_calls"] == 0 and again["files_unchanged"] == 24 + 3


def test_warm_rerun_reuses_the_report_until_a_log_changes(
    logs: Path, home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    lines = (logs / "claude-code/claude-reliability/python-to-rust-port.jsonl").read_bytes()
    head, tail = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    cut = head.rfind(b"\n") + 1
    log = folder / "session.jsonl"
    log.write_bytes(head[:cut])
    first = runner.invoke(app, ["report", "daily", str(folder), "--home", str(home), "--json"])
    again = runner.invoke(app, ["report", "daily", str(folder), "--home", str(home), "--json"])
    assert "report reused" in again.stderr and "report reused" not in first.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    with log.open("ab") as fh:
        fh.write(head[cut:] + tail)
    grown = runner.invoke(app, ["report", "daily", str(folder), "--home", str(home), "--json"])
    assert "report reused" not in grown.stderr
    assert json.loads(grown.stdout)["totals"]["calls"] == 39
    assert json.loads(first.stdout)["totals"]["calls"] < 39
    other = runner.invoke(
        app, ["report", "model", str(folder), "--home", str(home), "--json"]
    )  # other arguments: computed, not reused
    assert "report reused" not in other.stderr


def test_money_keeps_its_sign_before_the_dollar() -> None:
    from tokenomy.cli.output import _cell
    from tokenomy.render.charts import fmt

    assert [_cell(Decimal(x)) for x in ("-2.61", "2.61", "-0.001", "0")] == [
        "-$2.61", "$2.61", "-$0.0010", "$0.00",
    ]  # fmt: skip
    assert [fmt(x, "usd") for x in (-2.61, -12_345.0, 0.004)] == ["-$2.61", "-$12.3k", "$0.0040"]


def test_shared_options_keep_each_commands_own_option_names(
    licensed_logs: Path, home: Path, tmp_path: Path
) -> None:
    # ledger_options rebuilds each command's signature: its own aliases (-o) must survive.
    out = tmp_path / "r.html"
    run(home, "report", "html", str(licensed_logs / "api"), "-o", str(out))
    assert out.stat().st_size > 10_000
    help_text = runner.invoke(app, ["whatif", "--help"]).stdout
    for option in ("--lever", "--check", "--since", "--timezone", "--json", "--csv", "--strict"):
        assert option in help_text


def on_a_terminal(*args: str) -> tuple[int, bytes]:
    """Run ``tokenomy ARGS`` with a pseudo-terminal as stdout and stderr: (status, output)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "tokenomy", *args], stdout=slave,
                            stderr=slave, env=env)  # fmt: skip
    os.close(slave)
    seen = b""
    while True:  # read as it comes: a full terminal buffer would stall the command
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.wait(), seen


def test_long_steps_show_progress_on_a_terminal_only(licensed_logs: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    args = ["import", str(licensed_logs), "--home"]
    code, seen = on_a_terminal(*args, str(tmp_path / "tty"))
    assert code == 0
    assert b"reading logs" in seen and b"imported" in seen
    cmd = [sys.executable, "-m", "tokenomy", *args, str(tmp_path / "pipe")]
    piped = subprocess.run(cmd, capture_output=True)
    assert piped.returncode == 0
    assert b"reading logs" not in piped.stderr and b"imported" in piped.stderr
    code, seen = on_a_terminal("whatif", str(licensed_logs), "--home", str(tmp_path / "tty"))
    assert code == 0 and b"replaying" in seen and b"cache:auto" in seen


def test_blocks_forecast_when_a_cap_is_hit(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    sample = Path(__file__).resolve().parents[1] / "tokenomy" / "data" / "sample_logs"
    at = "2026-02-12T17:00:00"
    args = ["report", "blocks", str(sample), "--home", str(tmp_path), "-z", "UTC", "--at", at]
    result = CliRunner().invoke(app, [*args, "--json", "--token-limit", "20000000",
                                      "--cost-limit", "100"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (active,) = [r for r in data["rows"] if r["block"] <= "2026-02-12 17:00" < r["end"]]
    caps = data["totals"]["caps"]
    tokens = caps["tokens"]
    assert tokens["used"] == active["total_tokens"] and tokens["limit"] == 20_000_000
    # At the block's pace (tokens per minute), the rest of the cap lasts this long.
    minutes = (20_000_000 - active["total_tokens"]) / active["tokens_per_min"]
    expected = datetime(2026, 2, 12, 17, tzinfo=UTC) + timedelta(minutes=minutes)
    assert datetime.fromisoformat(tokens["hit_at"]) == expected
    assert caps["usd"]["hit_at"] is None  # $100 is not reached before the block ends
    table = CliRunner().invoke(app, [*args, "--cost-limit", "1"])
    assert "hit at 17:00" in table.stderr  # already over: hit now


def test_breakdown_by_model_adds_up_and_order_reverses(tmp_path: Path) -> None:
    from decimal import Decimal

    sample = Path(__file__).resolve().parents[1] / "tokenomy" / "data" / "sample_logs"
    args = ["report", "daily", str(sample), "--home", str(tmp_path), "-z", "UTC", "--json"]
    plain = json.loads(CliRunner().invoke(app, args).stdout)
    split = json.loads(CliRunner().invoke(app, [*args, "--breakdown"]).stdout)
    assert [r["daily"] for r in split["rows"]] == [r["daily"] for r in plain["rows"]]
    for row in split["rows"]:
        models = row["by_model"]
        assert len(models) >= 2 and models == sorted(models, key=lambda m: -m["cost_usd"])
        for key in ("calls", "total_tokens", "cache_read"):
            assert sum(m[key] for m in models) == row[key]
        assert sum(Decimal(str(m["cost_usd"])) for m in models) == Decimal(str(row["cost_usd"]))
    desc = json.loads(CliRunner().invoke(app, [*args, "--order", "desc"]).stdout)
    assert desc["rows"] == plain["rows"][::-1] and desc["totals"] == plain["totals"]
    table = CliRunner().invoke(app, [*args[:-1], "--breakdown"]).stdout
    assert "  claude-haiku-4-5-20251001" in table  # a model's row beneath its day
