"""``tokenomy demo``: the main job on whatever real data this machine has."""

from __future__ import annotations

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
