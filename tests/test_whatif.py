"""What-if ranking and combination, from Python and from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.sources import read_paths
from tokenomy.whatif import whatif


def test_ranked_by_saving_and_best_beats_each_alone(licensed_logs: Path) -> None:
    calls = read_paths([licensed_logs / "claude-code"])[0]
    result = whatif(calls, ["no-cache", "cache:anthropic-1h", "cap:1000", "compact:100000",
                            "batch:subagents"])  # fmt: skip
    rows = result.rows()
    alone = [r for r in rows if not r["scenario"].startswith("best")]
    saved = [r["saved_usd"] for r in alone]
    assert saved == sorted(saved, reverse=True)
    assert alone[-1]["scenario"] == "no-cache"  # the counterfactual costs the most
    assert result.best is not None
    assert result.best.cost < min(o.cost for o in result.levers)
    for r in rows:
        assert r["saved_usd"] == result.baseline.cost - r["cost_usd"]
        assert r["assumptions"]


def test_cli_whatif_json(licensed_logs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["whatif", str(licensed_logs / "claude-code"), "--home", str(tmp_path), "--json", "--check",
         "--lever", "cap:1000", "--lever", "no-cache"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [s["scenario"] for s in data["scenarios"]] == ["cap:1000", "no-cache"]
    assert data["replay_agreement"]["share_of_calls_within_1pct"] > 0.98
    bad = runner.invoke(
        app, ["whatif", str(licensed_logs), "--home", str(tmp_path), "--lever", "nope"]
    )
    assert bad.exit_code != 0
