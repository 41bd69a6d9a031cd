"""Raw provider payloads: OpenAI, Anthropic and Gemini API responses, streams and batch files.

The three files in ../shared/data/logs/api are real (simonw/llm and simonw/llm-anthropic
cassettes, see its MANIFEST.md). tests/data/api holds files built in the providers' documented
shapes for what those do not cover (batch output files, SSE text, cache-write TTL splits, a
cut-off stream); see tests/data/api/README.md. Every figure below is derived by hand from the
file's usage block and the provider's own convention."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tokenomy.calls import Call
from tokenomy.ledger import Ledger
from tokenomy.sources import FileReport, detect, read_file

DATA = Path(__file__).parent / "data" / "api"
CHAT_CHUNK = "api/simonw-llm__openai_chat_completions_stream_final_usage_chunk.json"
RESPONSES = "api/simonw-llm__openai_responses_api_response.completed.json"
ANTHROPIC_STREAM = "api/simonw-llm-anthropic__messages_stream_message_start_and_delta.jsonl"


def _tokens(call: Call) -> tuple[int, int, int, int, int, int]:
    return (
        call.input, call.cache_read, call.cache_write_5m, call.cache_write_1h,
        call.output, call.reasoning,
    )  # fmt: skip


def _one(path: Path) -> tuple[Call, FileReport]:
    calls, report = read_file(path)
    assert len(calls) == 1, calls
    return calls[0], report


def test_real_chat_completions_final_chunk(licensed_logs: Path) -> None:
    call, _ = _one(licensed_logs / CHAT_CHUNK)
    # prompt_tokens 54 includes 0 cached; completion_tokens 20 includes 0 reasoning.
    assert _tokens(call) == (54, 0, 0, 0, 20, 0)
    assert call.id == "chatcmpl-BWlJBDk2xe66hjff60joVYpXi1hh4"
    assert (call.source, call.provider, call.model) == (
        "openai",
        "openai",
        "gpt-4o-mini-2024-07-18",
    )
    assert call.service_tier == ""  # "default" is the standard rate
    assert call.time == datetime.fromtimestamp(1747148049, UTC)


def test_real_responses_completed_event(licensed_logs: Path) -> None:
    call, _ = _one(licensed_logs / RESPONSES)
    assert _tokens(call) == (11, 0, 0, 0, 5, 0)
    assert call.id == "resp_00592e63e61b66660169fab1b9f8e481a2b321356198d7ac1b"
    assert call.model == "gpt-5.5-2026-04-23"
    assert call.time == datetime.fromtimestamp(1778037177, UTC)  # created_at


def test_real_anthropic_stream_uses_the_final_output_count(licensed_logs: Path) -> None:
    path = licensed_logs / ANTHROPIC_STREAM
    call, _ = _one(path)
    # message_start says output_tokens 1 (a placeholder); message_delta says 20.
    assert _tokens(call) == (17, 0, 0, 0, 20, 0)
    assert call.output_exact
    assert (call.id, call.model, call.provider) == (
        "msg_01RtVNwYH2vM9SnBWNptSdTu",
        "claude-opus-4-6",
        "anthropic",
    )
    # A Messages stream carries no time: the file's modification time stands in.
    assert call.time == datetime.fromtimestamp(path.stat().st_mtime, UTC)


def test_real_files_priced_by_hand(licensed_logs: Path, home: Path) -> None:
    # gpt-4o-mini: $0.15 / MTok input, $0.60 / MTok output.
    # 54 x 0.15 + 20 x 0.60 = 20.1 per million -> $0.0000201
    with Ledger(home) as ledger:
        ledger.import_paths([licensed_logs / CHAT_CHUNK])
        assert ledger.sql("SELECT sum(cost) FROM calls")[0][0] == Decimal("0.0000201")


def test_openai_batch_output_is_batch_tier() -> None:
    calls, report = read_file(DATA / "openai_batch_output.jsonl")
    by_id = {c.id: c for c in calls}
    assert set(by_id) == {"chatcmpl-b1", "resp_b2"}
    assert _tokens(by_id["chatcmpl-b1"]) == (1000, 0, 0, 0, 200, 0)
    # Responses API: input 3000 includes 2048 cached -> 952 fresh; 900 output incl. 640 reasoning
    assert _tokens(by_id["resp_b2"]) == (952, 2048, 0, 0, 900, 640)
    assert {c.service_tier for c in calls} == {"batch"}
    assert report.skipped == {"batch request that failed (not billed)": 1}


def test_openai_sse_stream_flex_tier() -> None:
    call, _ = _one(DATA / "openai_chat_stream.sse")
    # 5000 prompt incl. 4096 cached -> 904 fresh; 1500 completion incl. 1200 reasoning.
    assert _tokens(call) == (904, 4096, 0, 0, 1500, 1200)
    assert (call.service_tier, call.model) == ("flex", "o3-2025-04-16")


def test_anthropic_streams_whole_messages_and_cut_off_streams() -> None:
    calls, _ = read_file(DATA / "anthropic_streams.jsonl")
    by_id = {c.id: c for c in calls}
    # input_tokens excludes the cache: 12 fresh, 20000 read, 3000 written = 1000 5m + 2000 1h.
    assert _tokens(by_id["msg_A1"]) == (12, 20000, 1000, 2000, 450, 0)
    assert by_id["msg_A1"].output_exact
    assert _tokens(by_id["msg_A2"]) == (800, 0, 0, 0, 60, 0)
    assert by_id["msg_A2"].service_tier == "priority"
    # No message_delta: the placeholder 1 is all there is, and it is marked a lower bound.
    assert _tokens(by_id["msg_A3"]) == (30, 0, 0, 0, 1, 0)
    assert not by_id["msg_A3"].output_exact


def test_anthropic_batch_results() -> None:
    call, report = _one(DATA / "anthropic_batch_results.jsonl")
    assert _tokens(call) == (2000, 0, 0, 0, 300, 0)
    assert (call.id, call.service_tier) == ("msg_B1", "batch")
    assert report.skipped == {"batch request that did not succeed (not billed)": 2}


def test_gemini_stream_keeps_the_last_chunk() -> None:
    call, report = _one(DATA / "gemini_stream.json")
    # Final chunk: prompt 34, candidates 418, thoughts 438, total 890 = 34 + 418 + 438.
    assert _tokens(call) == (34, 0, 0, 0, 418 + 438, 438)
    assert (call.id, call.model, call.provider) == (
        "3w4Vad6yF-y1vdIP_q_zgAw",
        "gemini-3-flash-preview",
        "google",
    )
    assert report.duplicates == 1  # the first chunk's partial usage


def test_gemini_batch_output() -> None:
    call, report = _one(DATA / "gemini_batch_output.jsonl")
    # 12000 prompt incl. 10000 cached -> 2000 fresh; 300 candidates + 100 thoughts = 400.
    assert _tokens(call) == (2000, 10000, 0, 0, 400, 100)
    assert call.service_tier == "batch"
    assert report.skipped == {"cached tokens exceed the prompt": 1}


def test_each_file_goes_to_its_own_source(licensed_logs: Path) -> None:
    expected = {
        licensed_logs / CHAT_CHUNK: "openai",
        licensed_logs / RESPONSES: "openai",
        licensed_logs / ANTHROPIC_STREAM: "anthropic",
        DATA / "openai_batch_output.jsonl": "openai",
        DATA / "openai_chat_stream.sse": "openai",
        DATA / "anthropic_streams.jsonl": "anthropic",
        DATA / "anthropic_batch_results.jsonl": "anthropic",
        DATA / "gemini_stream.json": "gemini",
        DATA / "gemini_batch_output.jsonl": "gemini",
    }
    for path, name in expected.items():
        source = detect(path)
        assert source is not None and source.name == name, path


def test_claude_code_and_codex_logs_are_not_claimed(logs: Path) -> None:
    names = {}
    for path in sorted((logs / "claude-code").rglob("*.jsonl")) + sorted(
        (logs / "codex").rglob("*.jsonl")
    ):
        source = detect(path)
        names[path] = source.name if source else None
    assert len(names) == 24
    assert set(names.values()) == {"claude_code", "codex"}


def test_bad_payloads_are_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"object":"chat.completion","id":"a","model":"gpt-4o","usage":{"prompt_tokens":-1}}\n'
        '{"object":"chat.completion","id":"b","model":"gpt-4o","usage":{"prompt_tokens":5,'
        '"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}}\n'
        '{"object":"chat.completion","id":"c","model":"gpt-4o"}\n'
        "{truncated\n"
        "[1, 2]\n"
    )
    calls, report = read_file(path)
    assert calls == []
    assert report.skipped == {
        "bad token field 'prompt_tokens'": 1,
        "inconsistent usage (cached > prompt or reasoning > output)": 1,
        "response without usage": 1,
        "invalid JSON": 1,
        "not a JSON object": 1,
    }
