"""``tokenomy report trend``: the bill's change between two periods split into volume and
price effects per model, on real logs; they add up to the change to the cent."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.ledger import Filters, Ledger
from tokenomy.trend import _split, trend

runner = CliRunner()
CENT = Decimal("0.01")


def run(home: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def test_effects_add_up_to_the_change_of_the_bills(licensed_logs: Path, home: Path) -> None:
    out = run(home, "report", "trend", str(licensed_logs), "--base", "2026-02-11",
              "--current", "2026-02-12")  # fmt: skip
    assert out["base"] == ["2026-02-11", "2026-02-11"]
    daily = {r["daily"]: money(r["cost_usd"]) for r in run(home, "report", "daily")["rows"]}
    totals = out["totals"]
    change = money(totals["change_usd"])
    assert change == daily["2026-02-12"].quantize(CENT) - daily["2026-02-11"].quantize(CENT)
    assert money(totals["volume_effect_usd"]) + money(totals["price_effect_usd"]) == change
    both = 0
    for row in out["rows"]:
        parts = money(row["volume_effect_usd"]) + money(row["price_effect_usd"])
        assert parts == money(row["change_usd"]), row["model"]
        assert money(row["change_usd"]) == money(row["current_cost_usd"]) - money(
            row["base_cost_usd"]
        )
        if row["base_tokens"] and row["current_tokens"]:
            both += 1
        else:  # a model of one period only: all volume
            assert money(row["price_effect_usd"]) == 0
    assert both >= 1  # a model used on both days: a real price effect
    # each model's costs are the model report's for that day
    for day, key in (("2026-02-11", "base_cost_usd"), ("2026-02-12", "current_cost_usd")):
        models = run(home, "report", "model", "--since", day, "--until", day)["rows"]
        by_model = {r["model"]: money(r["cost_usd"]).quantize(CENT) for r in models}
        for row in out["rows"]:
            assert money(row[key]) == by_model.get(row["model"], Decimal(0)), (day, row["model"])


def test_the_real_logs_show_cheaper_tokens_and_a_bigger_bill(logs: Path, home: Path) -> None:
    """Across the shared real logs, Feb 11 -> Feb 12: more tokens at a lower effective price."""
    out = run(home, "report", "trend", str(logs), "--base", "2026-02-11", "--current",
              "2026-02-12")  # fmt: skip
    t = out["totals"]
    assert money(t["change_usd"]) > 0 and money(t["volume_effect_usd"]) > 0
    assert money(t["price_effect_usd"]) < 0
    assert money(t["volume_effect_usd"]) + money(t["price_effect_usd"]) == money(t["change_usd"])


def test_default_periods_are_the_latest_month_and_the_one_before(
    licensed_logs: Path, home: Path
) -> None:
    out = run(home, "report", "trend", str(licensed_logs))
    months = [r["monthly"] for r in run(home, "report", "monthly")["rows"]]
    assert out["current"][0] == f"{months[-1]}-01"
    assert out["base"][1] < out["current"][0]


def test_swapping_the_periods_negates_every_effect(licensed_logs: Path, home: Path) -> None:
    run(home, "import", str(licensed_logs))
    a, b = (date(2026, 2, 11),) * 2, (date(2026, 2, 12),) * 2
    with Ledger(home) as ledger:
        forward, backward = trend(ledger, a, b, Filters()), trend(ledger, b, a, Filters())
    for key in ("change_usd", "volume_effect_usd", "price_effect_usd"):
        assert forward.totals[key] == -backward.totals[key]


def test_split_is_exact_and_isolates_each_effect() -> None:
    same_price = _split(1_000, Decimal("3"), 3_000, Decimal("9"))
    assert same_price == (Decimal(6), Decimal(0))
    same_volume = _split(1_000, Decimal("3"), 1_000, Decimal("2"))
    assert same_volume[0] == 0 and same_volume[1] == Decimal(-1)
    v, p = _split(7_919, Decimal("1.234567"), 104_729, Decimal("0.987654321"))
    assert v + p == Decimal("0.987654321") - Decimal("1.234567")
    assert _split(0, Decimal(0), 5, Decimal("2")) == (Decimal(2), Decimal(0))


def test_since_and_until_do_not_apply(licensed_logs: Path, home: Path) -> None:
    result = runner.invoke(app, ["report", "trend", str(licensed_logs), "--since", "2026-01-01",
                                 "--home", str(home)])  # fmt: skip
    assert result.exit_code == 2
