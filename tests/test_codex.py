"""Codex rollouts: figures derived by hand from the fixture's token_count events and OpenAI's
published gpt-5.3-codex prices ($/MTok: input 1.75, cached input 0.175, output 14)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tokenomy.ledger import Ledger
from tokenomy.sources import read_file

ROLLOUT = "codex/localpush/rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl"


def test_reemitted_token_counts_count_once(logs: Path) -> None:
    # 11 token_count events with usage, each emitted twice but one: 6 distinct calls whose
    # last_token_usage sums to the final running total (298373 in, 238848 cached, 1123 out,
    # 483 reasoning).
    calls, report = read_file(logs / ROLLOUT)
    assert len(calls) == 6
    assert report.duplicates == 5
    assert sum(c.input + c.cache_read for c in calls) == 298373
    assert sum(c.cache_read for c in calls) == 238848
    assert sum(c.input for c in calls) == 298373 - 238848
    assert sum(c.output for c in calls) == 1123
    assert sum(c.reasoning for c in calls) == 483
    assert {c.model for c in calls} == {"gpt-5.3-codex"}
    assert {c.session for c in calls} == {"019c8bfe-ec25-79e0-97d7-bda6a9c575ff"}


def test_cost_by_hand(logs: Path, home: Path) -> None:
    # 59525 x 1.75 + 238848 x 0.175 + 1123 x 14 = 161,689.15 -> $0.16168915
    with Ledger(home) as ledger:
        ledger.import_paths([logs / ROLLOUT])
        assert ledger.sql("SELECT sum(cost) FROM calls")[0][0] == Decimal("0.16168915")


def test_all_rollouts_match_their_final_running_totals(licensed_logs: Path) -> None:
    # For each rollout the calls must add up to the last total_token_usage in the file.
    import json

    for path in sorted((licensed_logs / "codex/localpush").glob("*.jsonl")):
        final = None
        for line in path.read_text().splitlines():
            row = json.loads(line)
            info = row.get("payload", {}).get("info") if row.get("type") == "event_msg" else None
            if info:
                final = info["total_token_usage"]
        calls, _ = read_file(path)
        assert final is not None
        assert sum(c.input + c.cache_read for c in calls) == final["input_tokens"]
        assert sum(c.output for c in calls) == final["output_tokens"]
