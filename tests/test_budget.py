"""``tokenomy budget``: spend against budgets, exit statuses a script can act on, a notifier."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from tokenomy.cli import app

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "tokenomy" / "data" / "sample_logs"
AT = "2026-02-12T17:00:00"  # inside the spotter sessions' last block (UTC)


def budget(home: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app, ["budget", str(SAMPLE), "--home", str(home), "-z", "UTC", "--at", AT, *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_spend_against_budgets_with_exit_statuses(tmp_path: Path) -> None:
    code, out, _ = budget(tmp_path, "--daily", "100", "--monthly", "1000", "--json")
    assert code == 0
    rows = {r["budget"]: r for r in json.loads(out)["rows"]}
    daily = json.loads(
        runner.invoke(
            app, ["report", "daily", str(SAMPLE), "--home", str(tmp_path), "-z", "UTC", "--json"]
        ).stdout
    )["rows"]
    assert rows["daily_usd"]["spent_usd"] == daily[-1]["cost_usd"]  # 2026-02-12
    assert Decimal(str(rows["monthly_usd"]["spent_usd"])) == sum(
        Decimal(str(r["cost_usd"])) for r in daily
    )
    # 17:00 is 17/24 of the day: the day's spend projected at that pace.
    assert rows["daily_usd"]["projected_usd"] == round(daily[-1]["cost_usd"] * 24 / 17, 4)
    assert budget(tmp_path, "--daily", "24")[0] == 3  # 86% spent: past --warn-at 0.8
    assert budget(tmp_path, "--daily", "24", "--warn-at", "0.9")[0] == 0
    code, _, err = budget(tmp_path, "--daily", "5")
    assert code == 1 and "daily budget over" in err


def test_block_budget_and_the_notifier_gets_the_alert_as_an_argument(tmp_path: Path) -> None:
    sink = tmp_path / "alert.txt"
    notifier = (
        f"{sys.executable} -c 'import sys; open(sys.argv[1], \"w\").write(sys.argv[2])' {sink}"
    )
    code, out, _ = budget(tmp_path, "--block", "3", "--notify", notifier, "--json")
    assert code == 1
    (row,) = json.loads(out)["rows"]
    assert row["budget"] == "block_usd" and row["over"] is True
    blocks = json.loads(
        runner.invoke(
            app, ["report", "blocks", str(SAMPLE), "--home", str(tmp_path), "-z", "UTC", "--json"]
        ).stdout
    )["rows"]
    active = [b for b in blocks if b["block"] <= AT.replace("T", " ") < b["end"]]
    assert row["spent_usd"] == active[0]["cost_usd"] > 3
    assert sink.read_text().startswith("tokenomy: block budget over")


def test_no_budget_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = budget(tmp_path)
    assert code == 2 and "no budget" in err
    code, _, err = budget(tmp_path, "--daily", "-3")
    assert code == 2
