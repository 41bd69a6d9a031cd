"""Claude Code transcripts: every expected figure below is derived by hand from the rows of the
real fixture and Anthropic's published prices ($/MTok: Opus 4.5/4.6 input 5, output 25, cache
read 0.5, 5-minute write 6.25, 1-hour write 10; Sonnet 4.5 input 3, output 15, read 0.3,
1-hour write 6)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tokenomy.ledger import Ledger
from tokenomy.sources import read_file, read_paths


def test_rows_per_content_block_merge_into_one_call(licensed_logs: Path) -> None:
    # short.jsonl: five rows (text, thinking, text, tool_use, tool_use) of one message, each
    # with a copy of its usage; none has a stop_reason, so output 13 is only a lower bound.
    calls, report = read_file(licensed_logs / "claude-code/spotter/short.jsonl")
    assert len(calls) == 1
    assert report.duplicates == 4
    c = calls[0]
    assert (c.input, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.output) == (
        3, 11515, 0, 13835, 13,
    )  # fmt: skip
    assert c.output_exact is False
    assert c.model == "claude-opus-4-6" and c.session.startswith("55604662")


def test_cost_of_one_call_by_hand(licensed_logs: Path, home: Path) -> None:
    # 3 x 5 + 11515 x 0.5 + 13835 x 10 (1-hour write) + 13 x 25 = 144,447.5 $/MTok-token
    with Ledger(home) as ledger:
        ledger.import_paths([licensed_logs / "claude-code/spotter/short.jsonl"])
        assert ledger.sql("SELECT cost FROM calls")[0][0] == Decimal("0.1444475")


def test_session_of_four_calls(logs: Path, home: Path) -> None:
    # hello-world-script: four messages, one row each. Sums: input 2+0+0+1 = 3; reads
    # 15289+18462+18585+18700 = 71036; 5-minute writes 3173+123+115+128 = 3539; output
    # 1+25+1+2 = 29. Cost: 3x5 + 71036x0.5 + 3539x6.25 + 29x25 = 58,376.75 -> $0.05837675.
    with Ledger(home) as ledger:
        ledger.import_paths([logs / "claude-code/claude-reliability/hello-world-script.jsonl"])
        row = ledger.sql(
            "SELECT count(*), sum(input), sum(cache_read), sum(cache_write_5m), "
            "sum(cache_write_1h), sum(output), sum(cost) FROM calls"
        )[0]
    assert row[:6] == (4, 3, 71036, 3539, 0, 29)
    assert row[6] == Decimal("0.05837675")


def test_subagent_is_its_own_session_pointing_at_parent(licensed_logs: Path) -> None:
    # agent-a881341: three Sonnet 4.5 messages (two rows each but the last). Input 3+6+6 = 15,
    # reads 0+12118+22041 = 34159, 1-hour writes 12118+9923+20135 = 42176, output 1+1+1 = 3.
    path = licensed_logs / "claude-code/spotter/258c7280-ae70-4798-800f-63464d01a85d/subagents"
    calls, _ = read_file(path / "agent-a881341.jsonl")
    assert len(calls) == 3
    assert {c.session for c in calls} == {"258c7280-ae70-4798-800f-63464d01a85d/a881341"}
    assert {c.parent_session for c in calls} == {"258c7280-ae70-4798-800f-63464d01a85d"}
    assert sum(c.input for c in calls) == 15
    assert sum(c.cache_read for c in calls) == 34159
    assert sum(c.cache_write_1h for c in calls) == 42176
    assert sum(c.output for c in calls) == 3


def test_progress_echoes_of_subagent_usage_count_once(licensed_logs: Path) -> None:
    # The parent transcript's agent_progress rows echo two of the sub-agent's messages
    # (same message ids): reading parent + sub-agent files gives each call once.
    session = licensed_logs / "claude-code/spotter/258c7280-ae70-4798-800f-63464d01a85d"
    parent_only, _ = read_file(session.with_suffix(".jsonl"))
    echoed = [c for c in parent_only if c.agent]
    assert len(echoed) == 2 and {c.agent for c in echoed} == {"a881341"}
    everything, _ = read_paths([session.with_suffix(".jsonl"), session])
    sub = [c for c in everything if c.agent == "a881341"]
    assert len(sub) == 3  # 3 in the sub-agent's own file; the 2 echoes merged into them
    compaction = [c for c in everything if c.is_compaction]
    assert len(compaction) == 1 and compaction[0].agent == "acompact-fffbd0"


def test_echo_is_all_there_is_when_the_subagent_file_is_missing(licensed_logs: Path) -> None:
    # subagent.jsonl ships without its subagents/ folder: its sub-agent's 5 calls exist only
    # as progress echoes, and are counted rather than lost.
    calls, _ = read_file(licensed_logs / "claude-code/spotter/subagent.jsonl")
    sub = [c for c in calls if c.agent]
    assert len(sub) == 5 and {c.agent for c in sub} == {"afb92ff"}
    assert len(calls) - len(sub) == 12


def test_whole_claude_code_corpus(logs: Path) -> None:
    calls, _ = read_paths([logs / "claude-code"])
    assert len(calls) == 578
    # No row in these Claude Code versions carries a stop_reason: every output is a lower bound.
    assert all(not c.output_exact for c in calls)
    assert {c.model for c in calls} == {
        "claude-opus-4-6",
        "claude-opus-4-5-20251101",
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
    }
