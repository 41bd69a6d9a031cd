"""``tokenomy mcp`` answers a real MCP client with the CLI's numbers.

The MCP SDK's own client (``mcp.client.stdio``: it spawns ``python -m tokenomy mcp LOGS
--home ...`` and speaks JSON-RPC over its stdin/stdout) lists the tools and calls each on the
shipped real logs; every answer must equal the matching command's ``--json`` output, key for
key and digit for digit.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tokenomy.cli import app

pytest.importorskip("mcp")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

runner = CliRunner()
AT = "2026-05-14T09:00"  # some prices vary by the hour: both sides price at the same time
TEXT = 'Exact tokens, priced: {"model": "claude-sonnet-4-5", "note": "héllo wörld"}\n' * 40


def cli_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    return dict(json.loads(out[out.index("{") :]))


def run_client(
    server_args: list[str], calls: list[tuple[str, dict[str, Any]]]
) -> tuple[list[Any], list[Any]]:
    """Start the server with the SDK's stdio client, list its tools, make ``calls``."""
    import anyio

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tokenomy", "mcp", *server_args],
        env={"XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"], "TZ": "UTC"},
    )

    async def session() -> tuple[list[Any], list[Any]]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            tools = (await client.list_tools()).tools
            results = [await client.call_tool(name, args) for name, args in calls]
            return tools, results

    return anyio.run(session)


def answer(result: Any) -> dict[str, Any]:
    """A tool's structured answer, checked against its text form (what a model reads)."""
    assert not result.is_error, result.content
    data = dict(result.structured_content)
    assert json.loads(result.content[0].text) == data
    return data


@pytest.fixture(scope="module")
def exchange(
    licensed_logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[dict[str, Any], Any]]:
    """Each case: (the CLI's --json, the MCP tool's result) on the same logs, different
    ledgers (the server imports the logs itself)."""
    logs = str(licensed_logs)
    cli_home = str(tmp_path_factory.mktemp("cli-home"))
    text_file = tmp_path_factory.mktemp("count") / "prompt.txt"
    text_file.write_text(TEXT, encoding="utf-8")

    def cli(*args: str) -> dict[str, Any]:
        return cli_json(*args, logs, "--home", cli_home)

    sessions = cli("report", "session")
    session = str(max(sessions["rows"], key=lambda r: r["calls"])["session"])  # a Claude Code one
    days = [str(r["daily"]) for r in cli("report", "daily")["rows"]]
    cases: dict[str, tuple[dict[str, Any], tuple[str, dict[str, Any]]]] = {
        "bill daily": (cli("report", "daily"), ("bill", {})),
        "bill session": (sessions, ("bill", {"grouping": "session"})),
        "bill model": (cli("report", "model"), ("bill", {"grouping": "model", "paths": [logs]})),
        "bill project, filtered": (
            cli("report", "project", "--since", days[0], "--until", days[-1], "--model", "claude"),
            (
                "bill",
                {"grouping": "project", "since": days[0], "until": days[-1], "model": ["claude"]},
            ),
        ),
        "bill blocks": (cli("report", "blocks"), ("bill", {"grouping": "blocks"})),
        "anatomy": (cli("anatomy"), ("anatomy", {})),
        "anatomy of a session": (
            cli("anatomy", "--session", session),
            ("anatomy", {"session": session}),
        ),
        "whatif": (cli("whatif"), ("whatif", {})),
        "whatif levers, checked": (
            cli(
                "whatif",
                "--lever",
                "cache:anthropic-1h",
                "--lever",
                "model:claude-haiku-4-5",
                "--lever",
                "cap:2000",
                "--check",
            ),
            (
                "whatif",
                {
                    "levers": ["cache:anthropic-1h", "model:claude-haiku-4-5", "cap:2000"],
                    "check": True,
                },
            ),
        ),
        "count text": (
            cli_json("count", str(text_file), "--at", AT),
            ("count", {"text": TEXT, "at": AT}),
        ),
        "count file, some models": (
            cli_json(
                "count",
                str(text_file),
                "--at",
                AT,
                "--models",
                "gpt-4o,claude-opus-4-7",
                "--tokenizer",
                "o200k_base",
                "--tokenizer",
                "claude-4.7-estimate",
            ),
            (
                "count",
                {
                    "path": str(text_file),
                    "at": AT,
                    "models": ["gpt-4o", "claude-opus-4-7"],
                    "tokenizers": ["o200k_base", "claude-4.7-estimate"],
                },
            ),
        ),
    }
    errors = [
        ("bill", {"grouping": "fortnightly"}),
        ("whatif", {"levers": ["teleport:9"]}),
        ("anatomy", {"session": "no-such-session"}),
        ("count", {}),
        ("bill", {"since": "yesterday"}),
        ("whatif", {"paths": ["/no/such/logs"]}),
    ]
    server_home = str(tmp_path_factory.mktemp("mcp-home"))
    tools, results = run_client(
        [logs, "--home", server_home], [call for _, call in cases.values()] + errors
    )
    out: dict[str, tuple[dict[str, Any], Any]] = {
        name: (cli_out, result)
        for (name, (cli_out, _)), result in zip(cases.items(), results, strict=False)
    }
    out["tools"] = ({}, tools)
    out["errors"] = ({}, results[len(cases) :])
    return out


def test_the_sdk_client_lists_the_four_tools(exchange: dict[str, Any]) -> None:
    tools = {t.name: t for t in exchange["tools"][1]}
    assert set(tools) == {"bill", "anatomy", "whatif", "count"}
    props = {name: set(t.input_schema["properties"]) for name, t in tools.items()}
    assert {"grouping", "paths", "since", "until", "model", "project", "session"} <= props["bill"]
    assert {"session", "paths", "since", "until", "model"} <= props["anatomy"]
    assert {"levers", "check", "paths", "session"} <= props["whatif"]
    assert {"text", "path", "models", "tokenizers", "at"} <= props["count"]
    for tool in tools.values():
        assert tool.description and "--json" in tool.description
        assert not tool.input_schema.get("required")  # every argument has a default


@pytest.mark.parametrize(
    ("case", "grouping"),
    [("bill daily", "daily"), ("bill session", "session"), ("bill model", "model"),
     ("bill project, filtered", "project"), ("bill blocks", "blocks")],
)  # fmt: skip
def test_bill_equals_the_report_json(exchange: dict[str, Any], case: str, grouping: str) -> None:
    cli, result = exchange[case]
    got = answer(result)
    assert got.pop("grouping") == grouping  # the one key the CLI's output has not
    assert got == cli
    assert cli["rows"] and cli["totals"]["calls"] > 0


def test_filters_reach_the_bill(exchange: dict[str, Any]) -> None:
    everything = answer(exchange["bill model"][1])["totals"]
    claude = answer(exchange["bill project, filtered"][1])["totals"]
    assert 0 < claude["calls"] < everything["calls"]  # the API payloads include non-Claude calls


@pytest.mark.parametrize("case", ["anatomy", "anatomy of a session"])
def test_anatomy_equals_the_cli_json(exchange: dict[str, Any], case: str) -> None:
    cli, result = exchange[case]
    assert answer(result) == cli
    assert cli["calls"] > 0 and cli["by_kind"]
    if case == "anatomy of a session":
        assert cli["calls"] < answer(exchange["anatomy"][1])["calls"]


@pytest.mark.parametrize("case", ["whatif", "whatif levers, checked"])
def test_whatif_equals_the_cli_json(exchange: dict[str, Any], case: str) -> None:
    cli, result = exchange[case]
    assert answer(result) == cli
    assert cli["baseline_cost_usd"] > 0 and cli["scenarios"] and cli["best"]
    assert any(s["saved_usd"] > 0 for s in cli["scenarios"])  # a lever that cuts the bill
    if case == "whatif levers, checked":
        assert "replay_agreement" in cli
        assert {s["scenario"] for s in cli["scenarios"]} >= {"cache:anthropic-1h", "cap:2000"}


@pytest.mark.parametrize("case", ["count text", "count file, some models"])
def test_count_equals_the_cli_json(exchange: dict[str, Any], case: str) -> None:
    cli, result = exchange[case]
    assert answer(result) == cli
    assert cli["bytes"] == len(TEXT.encode()) and all(v > 0 for v in cli["tokens"].values())


def test_mistakes_are_told_to_the_agent(exchange: dict[str, Any]) -> None:
    told = [r.content[0].text for r in exchange["errors"][1]]
    assert all(r.is_error for r in exchange["errors"][1])
    assert "unknown grouping 'fortnightly'" in told[0]
    assert "teleport" in told[1]
    assert "no calls in session 'no-such-session'" in told[2]
    assert "give one of text and path" in told[3]
    assert "expected YYYY-MM-DD" in told[4]
    assert "no such file or directory: /no/such/logs" in told[5]


def test_without_the_extra_the_command_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from tokenomy.extras import MissingExtra

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mcp" else real(name, *a)
    )
    result = runner.invoke(app, ["mcp"])
    assert isinstance(result.exception, MissingExtra)
    assert "pip install 'tokenomy[mcp]'" in str(result.exception)
