"""``tokenomy demo``: the main job on whatever real data this machine has."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenomy.cli import app

runner = CliRunner()


def demo(home: Path, user_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOME", str(user_home))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        monkeypatch.delenv(var, raising=False)
    out = home / "report.html"
    result = runner.invoke(app, ["demo", "--home", str(home), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    return result.output


def test_empty_agent_folder_falls_back_to_real_logs(
    licensed_logs: Path, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Claude Code installed, never run: ~/.claude/projects exists and holds no log.
    (tmp_path / "user" / ".claude" / "projects").mkdir(parents=True)
    output = demo(home, tmp_path / "user", monkeypatch)
    assert "No agent logs in your home" in output
    assert "Your logs" not in output


def test_users_own_logs_are_billed(
    licensed_logs: Path, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = tmp_path / "user" / ".claude" / "projects"
    shutil.copytree(licensed_logs / "claude-code" / "spotter", projects / "spotter")
    output = demo(home, tmp_path / "user", monkeypatch)
    assert f"Your logs: {projects}" in output
    assert "178" in output  # the spotter session's calls, with its sub-agents and compaction


@pytest.mark.parametrize("columns", [80, 100])
def test_demo_fits_the_terminal_without_cutting_a_cell(
    columns: int, licensed_logs: Path, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    out = home / "report.html"
    result = runner.invoke(app, ["demo", "--home", str(home), "--out", str(out)])
    assert result.exit_code == 0, result.output
    tables = result.stdout
    assert "$33.78" in tables and "Your bill by day" in tables  # the real sessions' bill
    assert "…" not in tables  # no number, date or name cut short
    too_wide = [line for line in tables.splitlines() if len(line) > columns]
    assert too_wide == []
    assert re.search(r"│ +\d+\.\d% │", tables)  # shares as percentages, not fractions
    assert "prompt tokens served from cache" in tables  # measures by name, not JSON keys
