"""The config file (``~/.config/tokenomy/config.toml``, ``--config``, ``$TOKENOMY_CONFIG``):
time zone (default: the machine's), ledger home, default paths, prices, budgets."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE_LOGS
from test_statusline import AT, SESSION, copy_session, hook
from typer.testing import CliRunner

from tokenomy import config as cfg
from tokenomy.cli import app

runner = CliRunner()
SPOTTER = SAMPLE_LOGS / "claude-code" / "spotter"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def test_load_reads_every_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        'timezone = "Asia/Tokyo"\nhome = "~/ledger"\npaths = ["/logs/a", "~/b"]\n'
        'prices = "/p.toml"\n[budgets]\ndaily_usd = 20\nmonthly_usd = "400.50"\nblock_usd = 7.5\n',
    )
    conf = cfg.load(path)
    assert conf.timezone == conf.zone == "Asia/Tokyo"
    assert conf.home == Path("~/ledger").expanduser() and conf.prices == Path("/p.toml")
    assert conf.paths == (Path("/logs/a"), Path("~/b").expanduser())
    assert conf.budgets == {
        "daily_usd": Decimal(20), "monthly_usd": Decimal("400.50"), "block_usd": Decimal("7.5"),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('timezone = "Mars/Olympus"', "unknown time zone"),
        ("colour = 1", "unknown key"),
        ("paths = 3", "list of paths"),
        ("[budgets]\nweekly_usd = 3", "budgets.weekly_usd"),
        ("[budgets]\ndaily_usd = -1", "positive amount"),
        ("[budgets]\ndaily_usd = true", "positive amount"),
        ("timezone = ", "not valid TOML"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.load(path)
    result = runner.invoke(app, ["--config", str(path), "report", "daily", str(SPOTTER),
                                 "--home", str(tmp_path / "h")])  # fmt: skip
    assert result.exit_code == 2 and message in result.output


def test_no_file_is_an_empty_config_but_a_named_one_must_exist(tmp_path: Path) -> None:
    assert cfg.load() == cfg.Config()  # conftest points XDG_CONFIG_HOME at an empty folder
    with pytest.raises(cfg.ConfigError, match="not found"):
        cfg.load(tmp_path / "missing.toml")


def test_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert cfg.machine_zone() == "America/New_York"
    monkeypatch.setenv("TZ", ":Europe/Paris")
    assert cfg.machine_zone() == "Europe/Paris"
    monkeypatch.setenv("TZ", "Etc/UTC")
    assert cfg.machine_zone() == "UTC"


def daily(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    rows = json.loads(invoke("report", "daily", *args, "--json", env=env).stdout)["rows"]
    return {r["daily"]: r["calls"] for r in rows}


def test_time_zone_comes_from_the_config_then_the_machine(tmp_path: Path) -> None:
    logs, home = str(SPOTTER), str(tmp_path / "h")
    utc = daily(logs, "--home", home)
    tokyo = daily(logs, "--home", home, "-z", "Asia/Tokyo")
    assert utc != tokyo  # the sessions cross midnight differently
    conf = write(tmp_path / "c.toml", 'timezone = "Asia/Tokyo"\n')
    assert daily(logs, "--home", home, env={"TOKENOMY_CONFIG": str(conf)}) == tokyo
    assert daily(logs, "--home", home, env={"TZ": "Asia/Tokyo"}) == tokyo  # the machine's
    assert daily(logs, "--home", home, "-z", "UTC", env={"TOKENOMY_CONFIG": str(conf)}) == utc
    named = runner.invoke(app, ["--config", str(conf), "report", "daily", logs, "--home", home,
                                "--json"])  # fmt: skip
    assert {r["daily"]: r["calls"] for r in json.loads(named.stdout)["rows"]} == tokyo


def test_home_and_paths_come_from_the_config(tmp_path: Path) -> None:
    home = tmp_path / "ledger"
    conf = write(tmp_path / "c.toml", f'home = "{home}"\npaths = ["{SPOTTER}"]\n')
    env = {"TOKENOMY_CONFIG": str(conf), "TOKENOMY_HOME": ""}
    from_config = json.loads(invoke("report", "model", "--json", env=env).stdout)
    given = json.loads(invoke("report", "model", str(SPOTTER), "--home",
                              str(tmp_path / "other"), "--json").stdout)  # fmt: skip
    assert from_config["totals"] == given["totals"] and from_config["totals"]["calls"] > 0
    assert (home / "ledger.duckdb").exists()


def test_statusline_shows_the_budgets(tmp_path: Path) -> None:
    transcript = copy_session(SESSION, tmp_path / "p")
    conf = write(tmp_path / "c.toml", "[budgets]\ndaily_usd = 5\nmonthly_usd = 100\n")
    env = {"TOKENOMY_CONFIG": str(conf)}
    args = ["statusline", "--home", str(tmp_path / "h"), "--at", AT]
    line = runner.invoke(app, args, input=hook(transcript), env=env).stdout.strip()
    assert "$10.11 today (202% of $5.00!)" in line and "$10.11 month (10% of $100.00)" in line
    out = json.loads(runner.invoke(app, [*args, "--json"], input=hook(transcript), env=env).stdout)
    assert out["budgets"]["daily_usd"]["over"] is True
    assert out["budgets"]["monthly_usd"]["spent_share"] == 0.1011
    assert "block_usd" not in out["budgets"]
