"""Gemini CLI chat recordings. No real recorded session was found in a public repository, so
tests/data/gemini_cli holds files built line for line in the structure that
chatRecordingService.ts (google-gemini/gemini-cli) writes: a metadata line, messages re-appended
whole when their tokens or tool calls arrive, ``$set`` patches, a ``$rewindTo``, a sub-agent
file under ``chats/<parentSessionId>/``, and a legacy pretty-printed ``.json`` session.
The first message's counts are those of a recorded message quoted in a public test
(input 15327, output 23, cached 11526, thoughts 919, tool 7, total 16276)."""

from __future__ import annotations

from pathlib import Path

from tokenomy.sources import detect, read_file, read_paths

DATA = Path(__file__).parent / "data" / "gemini_cli"
PARENT = "8d3c0d5e-6f1a-4b8e-9a51-2f6f0e2c1a11"
MAIN = DATA / "tmp/myproj/chats/session-2026-05-17T11-07-8d3c0d5e.jsonl"
SUB = DATA / f"tmp/myproj/chats/{PARENT}/sub-7c2e.jsonl"
LEGACY = DATA / "legacy/tmp/oldproj/chats/session-2025-09-02T14-53-0b7e2d11.json"


def test_detected_as_gemini_cli_not_claude_code() -> None:
    for path in (MAIN, SUB, LEGACY):
        source = detect(path)
        assert source is not None and source.name == "gemini_cli"


def test_last_write_wins_and_rewound_calls_still_count() -> None:
    calls, report = read_file(MAIN)
    by_id = {c.id.split("/")[1]: c for c in calls}
    assert sorted(by_id) == ["g1", "g2", "g3"]  # g2 was rewound: its call was still billed
    g1 = by_id["g1"]
    # total 16276 = 15327 + 23 + 919 + 7: the tool prompt sits beside promptTokenCount, so
    # input = 15327 - 11526 cached + 7 tool = 3808; output = 23 + 919 thoughts = 942.
    assert (g1.input, g1.cache_read, g1.output, g1.reasoning) == (3808, 11526, 942, 919)
    assert g1.model == "gemini-3-flash-preview" and g1.provider == "google"
    assert g1.session == PARENT and g1.project == "myproj" and g1.parent_session == ""
    assert g1.time.isoformat() == "2026-05-17T11:07:32+00:00"
    g2 = by_id["g2"]  # written first with tokens null, then with tokens: 16000 - 15000 = 1000
    assert (g2.input, g2.cache_read, g2.output, g2.reasoning) == (1000, 15000, 120, 0)
    g3 = by_id["g3"]
    # total 9060 = 9000 + 50 + 10: the 40 tool tokens are already inside the prompt.
    assert (g3.input, g3.cache_read, g3.output, g3.reasoning) == (9000, 0, 60, 10)
    assert sum(c.input for c in calls) == 3808 + 1000 + 9000
    assert report.duplicates == 2  # g1 and g2 were each written twice
    assert report.skipped == {
        "cached tokens exceed the prompt": 1,
        "gemini message without token counts (usage not recorded)": 1,
    }
    assert report.pending_bytes > 0  # the half-written last line is left for later


def test_subagent_points_at_its_parent() -> None:
    (call,), _ = read_file(SUB)
    assert call.session == "sub-7c2e" and call.agent == "sub-7c2e"
    assert call.parent_session == PARENT and call.project == "myproj"
    assert (call.input, call.output, call.model) == (500, 5, "gemini-2.5-flash")


def test_legacy_json_session() -> None:
    (call,), _ = read_file(LEGACY)
    # 7065 = 7000 + 40 + 25 (no tool count): input 7000 - 6000 = 1000, output 40 + 25 = 65.
    assert (call.input, call.cache_read, call.output, call.reasoning) == (1000, 6000, 65, 25)
    assert call.id == "0b7e2d11-1111-4222-8333-444455556666/lg1"
    assert call.project == "oldproj"


def test_migrated_copy_merges_with_the_legacy_file(tmp_path: Path) -> None:
    # On resume the CLI copies session-*.json to session-*.jsonl and keeps the original.
    import json

    legacy = json.loads(LEGACY.read_text())
    messages = legacy.pop("messages")
    (tmp_path / "a.json").write_text(LEGACY.read_text())
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in [legacy, *messages]) + "\n")
    calls, _ = read_paths([tmp_path])
    assert len(calls) == 1 and calls[0].output == 65


def test_junk_is_counted_never_fatal(tmp_path: Path) -> None:
    path = tmp_path / "chats" / "session-x.jsonl"
    path.parent.mkdir()
    path.write_text(
        '{"sessionId":"s","projectHash":"p"}\n'
        "not json\n"
        '{"id":"a","timestamp":"2026-01-01T00:00:00Z","type":"gemini","tokens":{"input":-5}}\n'
        '{"id":"b","timestamp":"nope","type":"gemini","tokens":{"input":5}}\n'
    )
    calls, report = read_file(path)
    assert calls == []
    assert report.skipped == {
        "invalid JSON": 1,
        "bad token field 'input'": 1,
        "missing or bad timestamp": 1,
    }
