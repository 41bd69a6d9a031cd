"""Hostile input at the sources: one bad line, name or shape added to a real session never
aborts a read, never changes the total in silence: the bad record is skipped and counted by a
reason that names its cause (issue 11, cases 1-5 and 14)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostile import CLEAN, REAL_ID, assistant_row, row, tokens, write

from tokenomy.pricing import Pricer, normalised_name, suggest_alias
from tokenomy.sources import detect, read_file, read_paths, walk_files
from tokenomy.sources.base import CONFLICT, MAX_TOKENS

CLEAN_CALLS, _ = read_paths([CLEAN])
CLEAN_TOKENS = tokens(CLEAN_CALLS)
WELL_FORMED = row("msg_wellformed")  # a new call with the real row's usage
WELL_FORMED_TOKENS = CLEAN_TOKENS + sum(
    v
    for k, v in WELL_FORMED["message"]["usage"].items()
    if k.endswith("input_tokens") or k == "output_tokens"
)


def _usage(**fields: Any) -> dict[str, Any]:
    usage = dict(assistant_row()["message"]["usage"])
    usage.update(fields)
    return usage


# (case, the added row, the skip reason expected once)
BAD_ROWS: list[tuple[str, dict[str, Any], str]] = [
    (
        "year 1 with an offset",
        row(timestamp="0001-01-01T00:00:00+05:00"),
        "missing or bad timestamp",
    ),
    (
        "year 9999 with an offset",
        row(timestamp="9999-12-31T23:59:59-05:00"),
        "missing or bad timestamp",
    ),
    ("epoch 1e20", row(timestamp=1e20), "missing or bad timestamp"),
    ("output 2^63", row(usage=_usage(output_tokens=2**63)), "'output_tokens' above"),
    ("output 2^64-1", row(usage=_usage(output_tokens=2**64 - 1)), "'output_tokens' above"),
    ("output 2^63-1", row(usage=_usage(output_tokens=2**63 - 1)), "'output_tokens' above"),
    ("output 10^18", row(usage=_usage(output_tokens=10**18)), "'output_tokens' above"),
    ("output 1e300", row(usage=_usage(output_tokens=1e300)), "'output_tokens' above"),
    (
        "input above the ceiling",
        row(usage=_usage(input_tokens=MAX_TOKENS + 1)),
        "'input_tokens' above",
    ),
    (
        "float output",
        row(usage=_usage(output_tokens=7.9)),
        "fractional token field 'output_tokens'",
    ),
    ("null counts", row(usage=_usage(input_tokens=None, output_tokens=None)), "null token field"),
    ("null output", row(usage=_usage(output_tokens=None)), "null token field 'output_tokens'"),
    ("negative output", row(usage=_usage(output_tokens=-100)), "bad token field 'output_tokens'"),
    ("string count", row(usage=_usage(output_tokens="100")), "bad token field 'output_tokens'"),
    (
        "cache split larger than its total",
        row(
            usage=_usage(
                cache_creation_input_tokens=10,
                cache_creation={"ephemeral_1h_input_tokens": 1_000_000},
            )
        ),
        "inconsistent cache split",
    ),
    (
        "a real id with larger usage and another model",
        row(REAL_ID, _usage(output_tokens=999_999), model="claude-3-haiku-20240307"),
        CONFLICT,
    ),
    (
        "a real id with larger usage and another session",
        row(REAL_ID, _usage(output_tokens=5_000_000), sessionId="forged-session"),
        CONFLICT,
    ),
]


@pytest.mark.parametrize(
    ("bad", "reason"), [(r, why) for _, r, why in BAD_ROWS], ids=[case for case, _, _ in BAD_ROWS]
)
def test_a_bad_row_is_skipped_and_counted(tmp_path: Path, bad: dict[str, Any], reason: str) -> None:
    calls, reports = read_paths([write(tmp_path / "s.jsonl", bad)])
    assert tokens(calls) == CLEAN_TOKENS
    skipped = reports[0].skipped
    assert [n for why, n in skipped.items() if reason in why] == [1], skipped


def test_a_bad_row_beside_a_well_formed_one_costs_only_itself(tmp_path: Path) -> None:
    bad = BAD_ROWS[0][1]
    calls, reports = read_paths([write(tmp_path / "s.jsonl", bad, WELL_FORMED)])
    assert tokens(calls) == WELL_FORMED_TOKENS
    assert len(calls) == len(CLEAN_CALLS) + 1
    assert sum(reports[0].skipped.values()) == 1


def test_a_junk_timestamp_on_a_copy_does_not_void_the_real_call(tmp_path: Path) -> None:
    copy = row(REAL_ID, timestamp="0001-01-01T00:00:00+05:00")
    calls, _ = read_paths([write(tmp_path / "s.jsonl", copy)])
    assert tokens(calls) == CLEAN_TOKENS
    assert [c.time for c in calls] == [c.time for c in CLEAN_CALLS]


def test_streamed_rows_of_one_call_still_keep_the_fullest_usage(tmp_path: Path) -> None:
    # Same id, same model and session: a later streaming row with the final count wins.
    fuller = row(REAL_ID, _usage(output_tokens=500))
    calls, reports = read_paths([write(tmp_path / "s.jsonl", fuller)])
    assert [c.output for c in calls if c.id == REAL_ID] == [500]
    assert not reports[0].skipped


def test_the_forged_row_loses_even_when_it_comes_first(tmp_path: Path) -> None:
    forged = row(REAL_ID, _usage(output_tokens=999_999), model="claude-3-haiku-20240307")
    path = tmp_path / "s.jsonl"
    path.write_bytes(json.dumps(forged).encode() + b"\n")
    with path.open("ab") as fh:
        fh.write(CLEAN.read_bytes())
    calls, reports = read_paths([path])
    # The first record of an id is the reference: here the forgery is, and the real rows that
    # disagree with it are the ones counted as conflicts. Either way nothing is summed twice
    # and the conflict is reported.
    assert len([c for c in calls if c.id == REAL_ID]) == 1
    assert reports[0].skipped[CONFLICT] >= 1


# -- other sources --------------------------------------------------------------------------


def _openai(tmp_path: Path, **fields: Any) -> Path:
    body: dict[str, Any] = {
        "id": "chatcmpl-h",
        "object": "chat.completion",
        "created": 1747213200,
        "model": "gpt-4o-mini",
        "usage": {"prompt_tokens": 100, "completion_tokens": 10},
    }
    body.update(fields)
    path = tmp_path / "openai.json"
    path.write_text(json.dumps(body))
    return path


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"created": 1e20}, "bad timestamp 'created'"),
        ({"created": -1e15}, "bad timestamp 'created'"),
        ({"usage": {"prompt_tokens": 2**63, "completion_tokens": 1}}, "'prompt_tokens' above"),
        ({"usage": {"prompt_tokens": 1e300, "completion_tokens": 1}}, "'prompt_tokens' above"),
    ],
)
def test_openai_out_of_range_values(tmp_path: Path, fields: dict[str, Any], reason: str) -> None:
    calls, report = read_file(_openai(tmp_path, **fields))
    assert calls == []
    assert [why for why in report.skipped if reason in why], report.skipped


def test_openai_well_formed_payload_still_reads(tmp_path: Path) -> None:
    calls, _ = read_file(_openai(tmp_path))
    assert [c.total for c in calls] == [110]


def _rollout(tmp_path: Path, *events: dict[str, Any], metas: tuple[str, ...] = ("child",)) -> Path:
    lines: list[dict[str, Any]] = []
    for i, meta in enumerate(metas):
        payload: dict[str, Any] = {"id": meta, "cwd": "/x/proj"}
        if i == 0 and len(metas) > 1:
            payload["parent_thread_id"] = metas[1]
        lines.append(
            {"timestamp": "2026-02-23T10:00:00Z", "type": "session_meta", "payload": payload}
        )
    lines.append(
        {"timestamp": "2026-02-23T10:00:01Z", "type": "turn_context", "payload": {"model": "gpt-5"}}
    )
    lines += events
    path = tmp_path / "rollout-2026-02-23T10-00-00-child.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _token_count(total: int, when: str = "2026-02-23T10:00:02Z", **info: Any) -> dict[str, Any]:
    usage = {
        "input_tokens": total,
        "cached_input_tokens": 0,
        "output_tokens": 1,
        "reasoning_output_tokens": 0,
    }
    body = {"total_token_usage": usage, "last_token_usage": usage, **info}
    return {
        "timestamp": when,
        "type": "event_msg",
        "payload": {"type": "token_count", "info": body},
    }


def test_codex_out_of_range_values(tmp_path: Path) -> None:
    huge = _token_count(5)
    huge["payload"]["info"]["last_token_usage"] = {"input_tokens": 2**63, "output_tokens": 1}
    path = _rollout(tmp_path, _token_count(10), _token_count(20, "0001-01-01T00:00:00+05:00"), huge)
    calls, report = read_file(path)
    assert [c.input for c in calls] == [10]
    assert report.skipped["missing or bad timestamp"] == 1
    assert [n for why, n in report.skipped.items() if "'input_tokens' above" in why] == [1]


def test_codex_subagent_rollout_keeps_its_own_session_and_model(tmp_path: Path) -> None:
    # A sub-agent's rollout opens with its own session_meta, then copies its parent's.
    path = _rollout(tmp_path, _token_count(10, model="gpt-5-mini"), metas=("child", "parent"))
    calls, _ = read_file(path)
    assert [(c.session, c.parent_session, c.agent, c.model) for c in calls] == [
        ("child", "parent", "child", "gpt-5-mini")
    ]


def test_llm_database_out_of_range_values(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    shutil.copy(Path(__file__).parent / "data" / "llm" / "logs_llm_0.27.1.db", db)
    clean, _ = read_file(db)
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM responses ORDER BY id LIMIT 2")]
        conn.execute("UPDATE responses SET input_tokens = 1e300 WHERE id = ?", [ids[0]])
        conn.execute(
            "UPDATE responses SET datetime_utc = '9999-12-31T23:59:59-05:00' WHERE id = ?", [ids[1]]
        )
    calls, report = read_file(db)
    assert {c.id for c in calls} == {c.id for c in clean} - set(ids)
    assert report.skipped["missing or bad timestamp"] == 1
    assert [n for why, n in report.skipped.items() if "'input_tokens' above" in why] == [1]


def _span(**attrs: Any) -> dict[str, Any]:
    values = [
        {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
        for k, v in attrs.items()
    ]
    span = {
        "traceId": "t1",
        "spanId": "s1",
        "name": "chat",
        "startTimeUnixNano": "1747213200000000000",
        "attributes": values,
    }
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}


def test_otel_cache_write_names_of_the_anthropic_sdk(tmp_path: Path) -> None:
    path = tmp_path / "spans.json"
    path.write_text(
        json.dumps(
            _span(
                **{
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 10,
                    "gen_ai.usage.cache_write.input_tokens": 600,
                    "gen_ai.usage.cache_read.input_tokens": 300,
                }
            )
        )
    )
    [call], _ = read_file(path)
    assert (call.input, call.cache_read, call.cache_write_5m) == (100, 300, 600)


def test_otel_span_start_out_of_range(tmp_path: Path) -> None:
    doc = _span(**{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 1})
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = str(10**30)
    path = tmp_path / "spans.json"
    path.write_text(json.dumps(doc))
    calls, report = read_file(path)
    assert calls == [] and report.skipped["bad span start time"] == 1


def _gemini(tmp_path: Path, meta: dict[str, Any], **fields: Any) -> Path:
    body = {
        "responseId": "r1",
        "modelVersion": "gemini-2.5-pro",
        "usageMetadata": meta,
        "candidates": [{"content": {"parts": [{"text": ""}]}, "finishReason": "STOP"}],
    }
    body.update(fields)
    path = tmp_path / "gemini.json"
    path.write_text(json.dumps(body))
    return path


def test_gemini_models_prefix_is_stripped_and_priced(tmp_path: Path) -> None:
    meta = {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110}
    [call], _ = read_file(_gemini(tmp_path, meta, modelVersion="models/gemini-2.5-pro"))
    assert call.model == "gemini-2.5-pro"
    assert Pricer().rates(call.model, call.provider, call.time) is not None


def test_gemini_total_only_is_skipped_with_a_reason(tmp_path: Path) -> None:
    calls, report = read_file(_gemini(tmp_path, {"totalTokenCount": 5000}))
    assert calls == []
    assert [why for why in report.skipped if "only a total" in why]


def test_gemini_bad_create_time(tmp_path: Path) -> None:
    meta = {"promptTokenCount": 100, "candidatesTokenCount": 10}
    calls, report = read_file(_gemini(tmp_path, meta, createTime="9999-12-31T23:59:59-05:00"))
    assert calls == [] and report.skipped["bad timestamp 'createTime'"] == 1


# -- model names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logged", "provider", "priced_as"),
    [
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic", "aws"),
        ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "", "aws"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "", "aws"),
        ("converse/us.anthropic.claude-sonnet-4-20250514-v1:0", "", "aws"),
        ("claude-sonnet-4@20250514", "anthropic", "anthropic"),
        ("models/gemini-2.5-pro", "google", "google"),
    ],
)
def test_provider_spellings_of_a_model_are_priced(
    logged: str, provider: str, priced_as: str
) -> None:
    rates = Pricer().rates(logged, provider, datetime(2025, 10, 1, tzinfo=UTC))
    assert rates is not None and rates.provider == priced_as


def test_normalised_name_rules() -> None:
    assert normalised_name("converse/us.anthropic.claude-x-v1:0") == (
        "us.anthropic.claude-x-v1:0",
        "aws",
    )
    assert normalised_name("claude-opus-4-1@20250805", "anthropic") == (
        "claude-opus-4-1-20250805",
        "anthropic",
    )


def test_a_deployment_name_gets_a_suggested_alias() -> None:
    assert suggest_alias("prod-gpt-4o-mini-eu") == "gpt-4o-mini"
    assert suggest_alias("team-router/claude-sonnet-4-5") == "claude-sonnet-4-5"
    assert suggest_alias("totally-unknown-model-x") is None


# -- files, names and directories -----------------------------------------------------------


def test_a_non_utf8_file_name_is_named_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    write(folder / "good.jsonl")
    bad = os.fsencode(folder) + b"/caf\xe9.jsonl"
    shutil.copy(CLEAN, os.fsdecode(bad))
    problems: list[tuple[str, str]] = []
    found = [p for p, _ in walk_files([folder], problems)]
    assert found == [str(folder / "good.jsonl")]
    assert problems == [
        (str(folder) + "/caf\\xe9.jsonl", "file name is not valid UTF-8 (rename it to import it)")
    ]


def test_symlinked_directories_are_followed_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write(real / "project" / "s.jsonl")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(real / "project")
    (root / "loop").symlink_to(root)  # a loop: walked once, never forever
    found = [p for p, _ in walk_files([root])]
    assert found == [str(root / "linked" / "s.jsonl")]


def test_an_unreadable_directory_is_reported(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every directory")
    locked = tmp_path / "locked"
    write(locked / "s.jsonl")
    locked.chmod(0)
    try:
        problems: list[tuple[str, str]] = []
        assert list(walk_files([tmp_path], problems)) == []
        assert problems and problems[0][0] == str(locked)
    finally:
        locked.chmod(0o755)


# -- detection by structure -----------------------------------------------------------------


def _summary(size: int) -> bytes:
    return json.dumps({"type": "summary", "summary": "x" * size, "leafUuid": "u"}).encode()


@pytest.mark.parametrize("name", ["s.JSONL", "s.json", "s.jsonl.1", "s.log", "s.txt", "s"])
def test_a_renamed_session_is_still_read(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name)
    source = detect(path)
    assert source is not None and source.name == "claude_code"
    calls, _ = read_file(path, 0, source)
    assert tokens(calls) == CLEAN_TOKENS


@pytest.mark.parametrize(
    "first", [_summary(5_000), _summary(10_240), b"\n".join([_summary(200)] * 60)]
)
def test_a_long_first_row_does_not_hide_a_session(tmp_path: Path, first: bytes) -> None:
    path = write(tmp_path / "s.jsonl", first=first)
    source = detect(path)
    assert source is not None and source.name == "claude_code"
    assert tokens(read_file(path, 0, source)[0]) == CLEAN_TOKENS


def test_a_compressed_rotated_session_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl.2.gz"
    path.write_bytes(
        gzip.compress(write(tmp_path / "plain.jsonl", first=_summary(10_240)).read_bytes())
    )
    calls, reports = read_paths([path])
    assert tokens(calls) == CLEAN_TOKENS and reports[0].source == "claude_code"


@pytest.mark.parametrize(
    "content",
    [
        b"just some text\n",
        b'{"usage": {"input_tokens": 1}}\n',
        bytes(range(256)) * 4,
        b"",
        gzip.compress(b"not json at all\n", mtime=0),
        b"\x1f\x8b broken gzip",
    ],
    ids=["text", "usage-only JSON", "binary", "empty", "gzip text", "broken gzip"],
)
def test_what_no_source_reads_stays_unrecognised(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    assert detect(path) is None
    assert read_file(path)[1].skipped == {"unrecognised format": 1}
