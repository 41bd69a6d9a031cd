"""Every source is recognised by its structure, not by where its keys fall in the first
4 KiB: each source's real fixture, re-serialised with sorted keys, with a 10 KB first line,
and both, is still detected as that source and reads to the same calls (issue 11, case 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import SHARED_LOGS

from tokenomy.sources import HEAD_BYTES, detect, read_file

DATA = Path(__file__).parent / "data"
FIXTURES: list[tuple[str, Path]] = [
    ("claude_code", DATA / "hostile" / "claude_code_short.jsonl"),
    (
        "codex",
        SHARED_LOGS
        / "codex/localpush/rollout-2026-02-23T12-41-04-019c8a4d-8f45-7010-8b5d-7fad920aa6f9.jsonl",
    ),
    (
        "anthropic",
        SHARED_LOGS / "api/simonw-llm-anthropic__messages_stream_message_start_and_delta.jsonl",
    ),
    ("anthropic", DATA / "api/anthropic_streams.jsonl"),
    ("anthropic", DATA / "api/anthropic_batch_results.jsonl"),
    (
        "openai",
        SHARED_LOGS / "api/simonw-llm__openai_chat_completions_stream_final_usage_chunk.json",
    ),
    ("openai", SHARED_LOGS / "api/simonw-llm__openai_responses_api_response.completed.json"),
    ("openai", DATA / "api/openai_chat_stream.sse"),
    ("openai", DATA / "api/openai_batch_output.jsonl"),
    ("gemini", DATA / "api/gemini_stream.json"),
    ("gemini", DATA / "api/gemini_batch_output.jsonl"),
    ("gemini_cli", DATA / "gemini_cli/tmp/myproj/chats/session-2026-05-17T11-07-8d3c0d5e.jsonl"),
    (
        "gemini_cli",
        DATA / "gemini_cli/legacy/tmp/oldproj/chats/session-2025-09-02T14-53-0b7e2d11.json",
    ),
    ("otel", DATA / "otel/otlp_trace.json"),
    ("otel", DATA / "otel/collector_file_exporter.jsonl"),
]
# llm's logs.db is SQLite: recognised by its magic bytes and schema, it has no keys to sort.

PAD = "x" * 10_240


def _dump(obj: Any, sort: bool) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort else 0)


def _rewrite(data: bytes, sort: bool, pad: bool) -> bytes:
    """The same records, keys sorted and/or after a 10 KB first line."""
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if document is not None:  # one document (pretty-printed or not)
        if pad and isinstance(document, dict):
            document = {"aaa_padding": PAD, **document}
        elif pad and isinstance(document, list):
            document = [{"aaa_padding": PAD}, *document]
        return _dump(document, sort)
    lines = []
    sse = any(line.startswith(b"data:") for line in data.splitlines())
    if pad:
        lines.append((b"data: " if sse else b"") + _dump({"aaa_padding": PAD}, sort))
    for line in data.splitlines():
        body = line[5:].strip() if line.startswith(b"data:") else line
        try:
            parsed = json.loads(body)
        except ValueError:
            lines.append(line)
            continue
        lines.append((b"data: " if line.startswith(b"data:") else b"") + _dump(parsed, sort))
    return b"\n".join(lines) + b"\n"


def _summary(path: Path) -> tuple[str, int, int]:
    source = detect(path)
    assert source is not None, f"{path.name} not recognised"
    calls, _ = read_file(path, 0, source)
    return source.name, len(calls), sum(c.total for c in calls)


VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "sorted keys": lambda d: _rewrite(d, sort=True, pad=False),
    "10 KB first line": lambda d: _rewrite(d, sort=False, pad=True),
    "both": lambda d: _rewrite(d, sort=True, pad=True),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(("source", "fixture"), FIXTURES, ids=[f.name for _, f in FIXTURES])
def test_each_source_is_detected_by_structure(
    tmp_path: Path, source: str, fixture: Path, variant: str
) -> None:
    if not fixture.exists():
        pytest.skip(f"real logs not found at {fixture}")
    name, calls, tokens = _summary(fixture)
    assert name == source and calls > 0
    copy = tmp_path / fixture.relative_to(fixture.parents[2])  # keep chats/<parent>/ layout
    copy.parent.mkdir(parents=True)
    copy.write_bytes(VARIANTS[variant](fixture.read_bytes()))
    if variant != "sorted keys":
        assert len(copy.read_bytes().split(b"\n", 1)[0]) > HEAD_BYTES  # beyond the cheap read
    assert _summary(copy) == (source, calls, tokens)
