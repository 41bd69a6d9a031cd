"""simonw/llm logs.db: real databases written by llm 0.27.1 (``responses``) and llm 0.36
(``turns``) through llm's own OpenAI plugin (see tests/data/llm/README.md). Each row logged
prompt_tokens 2048 (1536 of them cached) and completion_tokens 300 (128 of them reasoning)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tokenomy.sources import detect, read_file, read_paths

DATA = Path(__file__).parent / "data" / "llm"
LEGACY = DATA / "logs_llm_0.27.1.db"
TURNS = DATA / "logs_llm_0.36.db"


def test_detected_by_magic_and_tables() -> None:
    for path in (LEGACY, TURNS):
        source = detect(path)
        assert source is not None and source.name == "llm_sqlite"


def test_legacy_responses_table() -> None:
    calls, report = read_file(LEGACY)
    assert [c.id for c in calls] == ["01m81rqz1qb55dzfyqfy8s6c7j", "01m81rr0hv95x33k327da9e7g0"]
    for call in calls:
        # OpenAI plugin: input_tokens 2048 includes the 1536 cached -> 512 fresh.
        assert (call.input, call.cache_read, call.output, call.reasoning) == (512, 1536, 300, 128)
        # llm logged its alias "stub-gpt"; response_json names the model that served it.
        assert (call.model, call.provider) == ("gpt-4o-mini-2024-07-18", "openai")
        assert call.session == "01m81rqzgaa2dx15a8v8r8c2x5"
    assert calls[0].time.isoformat() == "2026-11-22T13:57:15.447820+00:00"
    assert report.skipped == {}


def test_turns_table() -> None:
    calls, _ = read_file(TURNS)
    assert len(calls) == 2
    assert {c.session for c in calls} == {"01m81rqmcmn7tbsrnhgrxvxqwn"}
    assert sum(c.input for c in calls) == 2 * 512
    assert sum(c.cache_read for c in calls) == 2 * 1536


def test_database_is_opened_read_only(tmp_path: Path) -> None:
    copy = tmp_path / "logs.db"
    shutil.copy(TURNS, copy)
    before = copy.read_bytes()
    read_paths([copy])
    assert copy.read_bytes() == before
    assert not (tmp_path / "logs.db-journal").exists()


def test_anthropic_rows_recover_the_cache_split(tmp_path: Path) -> None:
    # Rewrite the real rows as llm-anthropic logs them: input_tokens excludes the cache.
    copy = tmp_path / "logs.db"
    shutil.copy(LEGACY, copy)
    db = sqlite3.connect(copy)
    first, second = (r[0] for r in db.execute("SELECT id FROM responses ORDER BY id"))
    # cache option on: the counts are in token_details.
    db.execute(
        "UPDATE responses SET model = 'claude-sonnet-4.5', input_tokens = 40, output_tokens = 90,"
        ' token_details = \'{"cache_read_input_tokens": 5000,'
        ' "cache_creation_input_tokens": 700}\', response_json = NULL WHERE id = ?',
        [first],
    )
    # cache option off: token_details empty, the counts only in response_json.usage.
    db.execute(
        "UPDATE responses SET model = 'claude-sonnet-4.5', input_tokens = 10, output_tokens = 20,"
        ' token_details = NULL, response_json = \'{"model": "claude-sonnet-4-5-20250929",'
        ' "usage": {"input_tokens": 10, "cache_read_input_tokens": 300,'
        ' "cache_creation_input_tokens": 0, "output_tokens": 20}}\' WHERE id = ?',
        [second],
    )
    db.commit()
    db.close()
    calls, _ = read_file(copy)
    a, b = sorted(calls, key=lambda c: c.id)
    assert (a.input, a.cache_read, a.cache_write_5m, a.output) == (40, 5000, 700, 90)
    assert (b.input, b.cache_read, b.output, b.model) == (10, 300, 20, "claude-sonnet-4-5-20250929")
    assert {a.provider, b.provider} == {"anthropic"}


def test_bad_rows_are_counted(tmp_path: Path) -> None:
    copy = tmp_path / "logs.db"
    shutil.copy(LEGACY, copy)
    db = sqlite3.connect(copy)
    first, second = (r[0] for r in db.execute("SELECT id FROM responses ORDER BY id"))
    db.execute("UPDATE responses SET input_tokens = -3 WHERE id = ?", [first])
    db.execute(
        "UPDATE responses SET input_tokens = NULL, output_tokens = NULL WHERE id = ?", [second]
    )
    db.commit()
    db.close()
    calls, report = read_file(copy)
    assert calls == []
    assert report.skipped == {
        "bad token field 'input_tokens'": 1,
        "row without token counts (not logged by its plugin)": 1,
    }


def test_not_a_database(tmp_path: Path) -> None:
    fake = tmp_path / "logs.db"
    fake.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    assert detect(fake) is None
