"""Every ``--json`` output carries ``schema_version`` and only the keys docs/json.md lists for
its command: the real outputs of every command of the golden suite, and the status line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_golden import COMMANDS
from test_statusline import SESSION, copy_session, hook
from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.cli.output import SCHEMA_VERSION

DOC = Path(__file__).resolve().parents[1] / "docs" / "json.md"
MAPS = {"skipped", "tokens", "unpriced_calls", "split"}  # data-dependent keys (*map*)


def documented() -> dict[str, set[str]]:
    """Output name -> the key paths the section for it lists."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"<!-- outputs: ([^>]*) -->", text)
    out: dict[str, set[str]] = {}
    for names, body in zip(parts[1::2], parts[2::2], strict=True):
        keys = set(re.findall(r"`([a-z_0-9]+(?:\[\])?(?:\.[a-z_0-9]+)?)`", body))
        for name in names.split():
            out[name] = keys
    return out


def key_paths(payload: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key, value in payload.items():
        out.add(key)
        if key in MAPS and isinstance(value, dict):
            continue
        if isinstance(value, list):
            out |= {f"{key}[].{k}" for row in value if isinstance(row, dict) for k in row}
        elif isinstance(value, dict):
            out |= {f"{key}.{k}" for k in value}
    return out


def check(name: str, payload: dict[str, Any]) -> None:
    assert payload["schema_version"] == SCHEMA_VERSION == 1
    assert next(iter(payload)) == "schema_version"
    keys = documented()[name]
    missing = key_paths(payload) - keys
    assert not missing, f"{name}: keys printed but not in docs/json.md: {sorted(missing)}"
    top = {k for k in keys if "." not in k and "[]" not in k}
    # every top-level key the section lists is printed (optional ones are nested or in rows)
    optional = {"claude_code_cost_usd", "budgets"}
    assert top - optional <= set(payload), f"{name}: documented, not printed: {top - set(payload)}"


def test_every_golden_output_has_a_section() -> None:
    assert set(COMMANDS) | {"statusline", "report_trend"} <= set(documented())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_json_output_matches_docs(name: str, golden_data: Path, tmp_path: Path) -> None:
    data = golden_data
    args = [a.replace("{data}", str(data)) for a in COMMANDS[name]]
    uses_ledger = args[0] in ("report", "import", "anatomy", "whatif")
    extra = ["--home", str(tmp_path / "home")] if uses_ledger else []
    result = CliRunner().invoke(app, [*args, *extra, "--json"])
    assert result.exit_code == 0, result.output
    check(name, json.loads(result.stdout))


def test_statusline_json_matches_docs(tmp_path: Path) -> None:
    transcript = copy_session(SESSION, tmp_path / "p")
    args = ["statusline", "--home", str(tmp_path / "h"), "-z", "UTC", "--json"]
    for at in ("2026-02-12T19:00:00", "2026-02-13T12:00:00"):  # a block active, and none
        result = CliRunner().invoke(app, [*args, "--at", at], input=hook(transcript))
        assert result.exit_code == 0, result.output
        check("statusline", json.loads(result.stdout))


def test_trend_json_matches_docs(licensed_logs: Path, tmp_path: Path) -> None:
    args = ["report", "trend", str(licensed_logs), "--base", "2026-02-11", "--current",
            "2026-02-12", "--home", str(tmp_path / "h"), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    check("report_trend", json.loads(result.stdout))


def test_budget_json_matches_docs(licensed_logs: Path, tmp_path: Path) -> None:
    args = ["budget", str(licensed_logs), "--daily", "1", "--block", "1", "--monthly", "9",
            "--at", "2026-02-12T17:00:00", "-z", "UTC", "--home", str(tmp_path / "h"),
            "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # over budget: still the JSON on stdout
    check("budget", json.loads(result.stdout))
