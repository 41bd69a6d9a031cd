"""``-h`` is ``--help`` on every command and group, and shell completion is offered."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tokenomy.cli import app

runner = CliRunner()


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if hasattr(command, "commands"):  # a group (typer's own click)
        for name, sub in command.commands.items():
            out += _paths(sub, (*prefix, name))
    return out


COMMANDS = _paths(typer.main.get_command(app))


def test_every_command_is_listed() -> None:
    assert ("statusline",) in COMMANDS and ("report", "daily") in COMMANDS
    assert len(COMMANDS) > 10


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "tokenomy")
def test_dash_h_is_help_everywhere(path: tuple[str, ...]) -> None:
    short = runner.invoke(app, [*path, "-h"])
    long = runner.invoke(app, [*path, "--help"])
    assert short.exit_code == 0, short.output
    assert "Usage:" in short.output
    assert short.output == long.output


def test_shell_completion_is_on() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output and "--show-completion" in result.output


def test_a_run_loads_only_its_commands_and_each_runs_so() -> None:
    """``tokenomy X`` imports only X's module: every top-level command must be mapped to the
    modules that register it (a command missing from ``cli.COMMANDS`` would be unknown)."""
    import subprocess
    import sys

    import tokenomy.cli as cli

    top = sorted({path[0] for path in COMMANDS if path})
    assert top == sorted(cli.COMMANDS)
    assert cli.command_of(["--debug", "--config", "x.toml", "report", "daily"]) == "report"
    assert cli.command_of(["--config=x.toml", "whatif"]) == "whatif"
    assert cli.command_of(["--help"]) is None and cli.command_of(["nonsense"]) is None
    code = """
import sys
from tokenomy.cli import MODULES, main
try:
    main()
except SystemExit as stop:
    print(stop.code, *sorted(m for m in MODULES if f"tokenomy.cli.{m}" in sys.modules))
"""
    for command in ("report", "whatif", "selfhost"):
        out = subprocess.run(
            [sys.executable, "-c", code, command, "--help"], capture_output=True, text=True
        ).stdout.split("\n")[-2]
        assert out.split() == ["0", *sorted(set(cli.COMMANDS[command]))], out
