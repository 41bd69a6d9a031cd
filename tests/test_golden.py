"""Golden outputs: the ``--json`` of every command on the shipped fixtures, byte for byte.

A refactor must not change what any command prints. When a change is meant to alter an output,
regenerate with ``TOKENOMY_REGEN_GOLDEN=1 pytest tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenomy.cli import app

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("TOKENOMY_REGEN_GOLDEN") == "1"

COMMANDS: dict[str, list[str]] = {
    **{
        f"report_{g}": ["report", g, "{data}"]
        for g in ("daily", "weekly", "monthly", "session", "model", "project", "source", "blocks")
    },
    "report_daily_filtered": [
        "report", "daily", "{data}", "--model", "claude-opus", "--timezone", "Asia/Tokyo",
        "--since", "2026-01-01",
    ],
    "import": ["import", "{data}"],
    "anatomy": ["anatomy", "{data}"],
    "whatif": ["whatif", "{data}"],
    "whatif_levers": [
        "whatif", "{data}", "--lever", "cap:2000", "--lever", "compact:100000,keep=4,summary=2000",
        "--lever", "batch:all", "--lever", "cache:anthropic-1h",
    ],
    "count": ["count", "{data}/otel/otlp_trace.json", "--at", "2026-06-01T12:00"],
    "tax": ["tax", "{data}/otel/otlp_trace.json"],
    "selfhost": ["selfhost"],
    "selfhost_breakeven": ["selfhost", "--model", "llama-3.1-70b", "--gpus", "4",
                           "--tokens-per-day", "2e8", "--api", "claude-sonnet-4-5"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_json_output_is_unchanged(name: str, golden_data: Path, tmp_path: Path) -> None:
    data = golden_data
    args = [a.replace("{data}", str(data)) for a in COMMANDS[name]]
    uses_ledger = args[0] in ("report", "import", "anatomy", "whatif")
    extra = ["--home", str(tmp_path / "home")] if uses_ledger else []
    result = CliRunner().invoke(app, [*args, *extra, "--json"])
    assert result.exit_code == 0, result.output
    out = result.stdout.replace(str(data), "<DATA>")
    golden = GOLDEN / f"{name}.json"
    if REGEN or not golden.exists():
        golden.write_text(out)
    assert out == golden.read_text()
