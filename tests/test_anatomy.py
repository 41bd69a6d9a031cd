"""The anatomy on the real logs and the context tax on a conversation of known sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tokenomy.anatomy import anatomy, context_tax_curve
from tokenomy.replay.trace import Message, from_messages
from tokenomy.sources import read_paths


def test_context_tax_of_a_ten_turn_conversation() -> None:
    system, per_turn = 2000, 500  # every turn adds a user message + a reply of 250 each
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    msgs = []
    history = ["system"]
    for turn in range(10):
        history.append(f"user{turn}")
        msgs.append(Message(t0 + timedelta(minutes=turn), "gpt-4.1", tuple(history), 250))
        history.append(f"reply{turn}")
    sizes = {"system": system}
    tr = from_messages(msgs, lambda _m, text: sizes.get(text, per_turn // 2))
    curve = context_tax_curve(tr)
    tenth = curve[9]
    # Turn 10's prompt: 2000 + 9 x 500 + 250 = 6750 tokens; new to the prompt: the previous
    # reply and the new message (500), so 6250 are re-reads.
    assert tenth["mean_resent_share"] == pytest.approx(6250 / 6750)
    assert tenth["mean_resent_share"] > 0.9
    prompts = [system + k * per_turn + 250 for k in range(10)]
    new = system + 250 + 9 * per_turn  # the first prompt, then each turn's 500 new tokens
    assert sum(prompts) == 45_000 and new == 6_750
    assert tenth["cumulative_resent_share"] == pytest.approx(1 - new / sum(prompts))


def test_anatomy_on_real_logs(licensed_logs: Path) -> None:
    calls = read_paths([licensed_logs])[0]
    a = anatomy(calls)
    kinds = {row["kind"]: row for row in a.by_kind}
    assert kinds["cache_read"]["tokens"] == sum(c.cache_read for c in calls)
    assert kinds["cache_write_1h"]["tokens"] == sum(c.cache_write_1h for c in calls)
    assert sum(r["cost_usd"] for k, r in kinds.items() if "reasoning" not in k) == a.cost
    assert a.context_tax["prompt_tokens"] == sum(c.prompt for c in calls)
    assert a.context_tax["resent_share"] > 0.9
    assert a.cache["hit_share"] == pytest.approx(
        sum(c.cache_read for c in calls) / sum(c.prompt for c in calls)
    )
    waste = a.cache
    assert waste["written_never_read_tokens"] == (
        waste["expired_before_reuse_tokens"]
        + waste["not_reused_history_rewritten_tokens"]
        + waste["written_at_thread_end_tokens"]
    )
    assert 0 < waste["wasted_write_premium_usd"] < waste["wasted_write_cost_usd"]
    assert a.lower_bound["calls"] == sum(not c.output_exact for c in calls)
    assert a.shares["compaction"]["calls"] == sum(c.is_compaction for c in calls)


def test_anatomy_of_one_session(licensed_logs: Path) -> None:
    calls = read_paths([licensed_logs / "claude-code" / "spotter"])[0]
    session = "4d5611e5-241a-462a-8d15-5122611a9569"
    a = anatomy(calls, session=session)
    assert a.calls == sum(1 for c in calls if session in (c.session, c.parent_session))
    assert a.shares["subagents"]["calls"] == sum(
        1 for c in calls if c.parent_session == session and not c.is_compaction
    )
