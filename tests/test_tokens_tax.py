"""Format tax and code tax, and the count/tax commands on bad input."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.tokens import get_tokenizer
from tokenomy.tokens.code_tax import code_tax
from tokenomy.tokens.tax import UnsupportedPayload, format_tax

ROWS = [{"id": i, "name": f"user {i}", "city": ["Paris", "Tokyo"][i % 2]} for i in range(200)]


def test_format_tax_counts_every_shape_exactly() -> None:
    o200k = get_tokenizer("o200k_base")
    pretty = json.dumps(ROWS, indent=2)
    report = format_tax(pretty, o200k)
    shapes = {s.format: s.tokens for s in report.shapes}
    assert report.tokens == o200k.count(pretty) == shapes["json (indent=2)"]
    assert shapes["json (compact)"] == o200k.count(json.dumps(ROWS, separators=(",", ":")))
    assert report.tabular and shapes["csv"] < shapes["toon"] < shapes["json (compact)"]
    assert report.key_tokens + report.value_tokens + report.structure_tokens == report.tokens


def test_yaml_and_csv_inputs_and_non_tables() -> None:
    o200k = get_tokenizer("o200k_base")
    assert format_tax("a: 1\nb: [x, y]\n", o200k).input_format == "yaml"
    csv_report = format_tax("a,b\n1,x\n2,y\n", o200k)
    assert csv_report.input_format == "csv" and csv_report.tabular
    nested = format_tax(json.dumps({"a": {"b": [1, 2]}}), o200k)
    assert not nested.tabular and "csv" not in {s.format for s in nested.shapes}
    with pytest.raises(UnsupportedPayload):
        format_tax("   ", o200k)


def test_code_tax_on_real_source() -> None:
    source = (Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py").read_text("utf-8")
    tax = code_tax(source, get_tokenizer("o200k_base"))
    parts = dict(tax.parts())
    assert tax.tokens == get_tokenizer("o200k_base").count(source)
    assert 0.2 < parts["identifiers"] / tax.tokens < 0.8 and parts["comments"] > 0


def test_cli_count_and_tax(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "rows.json"
    data.write_text(json.dumps(ROWS, indent=2))
    out = runner.invoke(app, ["count", str(data), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["tokens"]["o200k_base"] == get_tokenizer("o200k_base").count(data.read_text())
    only = runner.invoke(app, ["count", str(data), "--tokenizer", "cl100k_base", "--json"])
    assert only.exit_code == 0, only.output
    chosen = json.loads(only.stdout)
    assert chosen["tokens"] == {"cl100k_base": get_tokenizer("cl100k_base").count(data.read_text())}
    assert [m["model"] for m in chosen["models"]] == []  # no default model uses cl100k
    unknown = runner.invoke(app, ["count", str(data), "--tokenizer", "nope"])
    assert unknown.exit_code == 2 and "no tokenizer 'nope'" in unknown.stderr
    out = runner.invoke(app, ["tax", str(data), "--json", "--model", "gpt-4o"])
    assert out.exit_code == 0, out.output
    shapes = {r["shape"]: r for r in json.loads(out.stdout)["rows"]}
    assert shapes["csv"]["usd_per_million_calls"] > 0


def test_cli_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert runner.invoke(app, ["count", str(binary)]).exit_code == 1
    assert runner.invoke(app, ["tax", str(binary)]).exit_code == 1
    assert runner.invoke(app, ["count", str(tmp_path / "missing")]).exit_code == 2
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert runner.invoke(app, ["tax", str(empty)]).exit_code == 1
    assert runner.invoke(app, ["count", str(empty), "--json"]).exit_code == 0


def test_toon_in_a_second_process_counts_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    import tokenomy.tokens.tax as tax_module

    text = json.dumps([{**row, "n": i} for i, row in enumerate(ROWS * 50)])
    tokenizer = get_tokenizer("o200k_base")
    serial = format_tax(text, tokenizer)
    monkeypatch.setattr(tax_module, "TOON_PARALLEL_CHARS", 1)
    assert format_tax(text, tokenizer) == serial
