"""OpenTelemetry GenAI spans in OTLP JSON (fixtures described in tests/data/otel/README.md).

Per the semantic conventions, gen_ai.usage.input_tokens includes the cache reads and cache
writes, so fresh input = input - cache_read - cache_creation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tokenomy.sources import detect, read_file, read_paths

DATA = Path(__file__).parent / "data" / "otel"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_single_document_skips_the_aggregate_agent_span() -> None:
    calls, report = read_file(DATA / "otlp_trace.json")
    first, second = sorted(calls, key=lambda c: c.time)
    # 1200 input incl. 800 read + 300 written -> 100 fresh.
    assert (first.input, first.cache_read, first.cache_write_5m, first.output) == (
        100,
        800,
        300,
        250,
    )
    assert first.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert (first.model, first.provider) == ("claude-sonnet-4-5-20250929", "anthropic")
    assert (first.session, first.project) == ("conv_42", "support-bot")
    assert first.time == T0.replace(second=1)
    # 1200 incl. 1100 read -> 100 fresh; no response model: the request model.
    assert (second.input, second.cache_read, second.output) == (100, 1100, 450)
    assert second.model == "claude-sonnet-4-5"
    # The agent span's 2400 / 700 are the two calls' sums: counted once, through the children.
    assert sum(c.output for c in calls) == 700
    assert report.skipped == {"aggregate span (its child spans carry the usage)": 1}


def test_collector_jsonl_with_legacy_names_and_junk() -> None:
    calls, report = read_file(DATA / "collector_file_exporter.jsonl")
    by_model = {c.model: c for c in calls}
    mini = by_model["gpt-4o-mini-2024-07-18"]
    # 3000 incl. 2048 cached -> 952 fresh; service tier "default" is the standard rate.
    assert (mini.input, mini.cache_read, mini.output, mini.service_tier) == (952, 2048, 500, "")
    assert (mini.id, mini.provider, mini.project) == ("chatcmpl-otel1", "openai", "batch-job")
    o3 = by_model["o3"]
    # Legacy gen_ai.usage.prompt_tokens / completion_tokens; reasoning is part of output.
    assert (o3.input, o3.cache_read, o3.output, o3.reasoning) == (900, 0, 1600, 1400)
    assert o3.service_tier == "flex"
    assert o3.id == "0af7651916cd43dd8448eb211c80319c:ffff000000000006"
    assert report.skipped == {"bad token field 'gen_ai.usage.input_tokens'": 1, "invalid JSON": 1}


def test_pre_spec_input_that_excludes_the_cache(tmp_path: Path) -> None:
    # input 40 < cache_read 5000: this instrumentation reported Anthropic-style fresh input.
    span = {
        "traceId": "t",
        "spanId": "s",
        "startTimeUnixNano": "1767225600000000000",
        "attributes": [
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "40"}},
            {"key": "gen_ai.usage.cache_read.input_tokens", "value": {"intValue": "5000"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 7}},
        ],
    }
    path = tmp_path / "spans.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    (call,), _ = read_file(path)
    assert (call.input, call.cache_read, call.output) == (40, 5000, 7)
    assert call.time == T0


def test_detection() -> None:
    for path in DATA.glob("*.json*"):
        source = detect(path)
        assert source is not None and source.name == "otel"
    calls, _ = read_paths([DATA])
    assert len(calls) == 4
