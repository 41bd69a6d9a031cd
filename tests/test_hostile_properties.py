"""Property tests: any JSON value in any token or time field of any source never crashes a
read and never changes the total except by a well-formed call (issue 11, "Must show").

Each source gets a small file of two calls in its own format: a clean one and an injected one
whose field under test holds the generated value. The oracle:

- a token value that is a plausible count (an int, or a float without fraction, from 0 to
  ``MAX_TOKENS``; ``null`` only where the provider uses it for "none") adds the injected call
  with that count, or skips it with a counted reason (a consistency check such as cached >
  prompt);
- any other token value leaves the clean total exactly, with one more counted skip;
- a time value adds the injected call (dated) or skips it with a counted reason: never silence.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenomy.sources import detect, read_file
from tokenomy.sources.base import MAX_TOKENS

SPECIAL = [
    0,
    1,
    -1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    10**18,
    MAX_TOKENS,
    MAX_TOKENS + 1,
    7.9,
    7.0,
    -0.0,
    1e300,
    1e20,
    -1e15,
    "100",
    "12",
    "",
    "NaN",
    True,
    False,
    None,
    [],
    {},
    [1],
    {"a": 1},
    "2026-02-10T21:11:56.906Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "yesterday",
    1747213200,
    1747213200123,
]
JSON_VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=12)
        | st.floats(allow_nan=False, allow_infinity=False),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=4,
    ),
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def as_read(value: Any) -> tuple[bool, Any]:
    """(whether the JSON text of ``value`` parses back, what the reader sees)."""
    try:
        return True, orjson.loads(json.dumps(value))
    except (orjson.JSONDecodeError, ValueError, OverflowError):
        return False, None


def plausible(value: Any, nullable: bool) -> int | None:
    """The count a well-formed token value stands for, else ``None``."""
    if value is None:
        return 0 if nullable else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if 0 <= value <= MAX_TOKENS else None


@dataclass(frozen=True)
class Case:
    """One source: ``build(value)`` writes its two-call file with the injected call's field
    set to ``value``; ``fields`` maps each token field to (template value, weight in the
    call's total, nullable); ``times`` lists its time fields."""

    name: str
    suffix: str
    build: Callable[[str, Any], list[Any]]  # (field, value) -> the file's records
    fields: dict[str, tuple[int, int, bool]]
    times: tuple[str, ...]
    # Where the call's total is not linear in a field: the injected call's total for a count,
    # or None where the source must refuse it.
    expected: Callable[[str, int], int | None] | None = None
    strings_are_ints: bool = False  # OTLP JSON writes 64-bit integers as strings


def _claude(field: str, value: Any) -> list[Any]:
    def record(msg_id: str) -> dict[str, Any]:
        usage = {
            "input_tokens": 100,
            "output_tokens": 10,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 50,
        }
        return {
            "type": "assistant",
            "sessionId": "s1",
            "cwd": "/p",
            "uuid": msg_id,
            "timestamp": "2026-02-10T21:11:56.906Z",
            "message": {
                "id": msg_id,
                "model": "claude-opus-4-6",
                "stop_reason": "end_turn",
                "usage": usage,
            },
        }

    injected = record("msg_2")
    (injected if field == "timestamp" else injected["message"]["usage"])[field] = value
    return [record("msg_1"), injected]


def _codex(field: str, value: Any) -> list[Any]:
    def event(total: int, when: str = "2026-02-23T10:00:02Z") -> dict[str, Any]:
        last = {
            "input_tokens": 100,
            "cached_input_tokens": 20,
            "output_tokens": 10,
            "reasoning_output_tokens": 5,
        }
        running = {**last, "input_tokens": total}
        return {
            "timestamp": when,
            "type": "event_msg",
            "payload": {
                "type": "token_count",
                "info": {"total_token_usage": running, "last_token_usage": last},
            },
        }

    injected = event(2000)
    if field == "timestamp":
        injected["timestamp"] = value
    else:
        injected["payload"]["info"]["last_token_usage"][field] = value
    meta = {"timestamp": "2026-02-23T10:00:00Z", "type": "session_meta", "payload": {"id": "s1"}}
    context = {
        "timestamp": "2026-02-23T10:00:01Z",
        "type": "turn_context",
        "payload": {"model": "gpt-5"},
    }
    return [meta, context, event(1000), injected]


def _openai(field: str, value: Any) -> list[Any]:
    def response(rid: str) -> dict[str, Any]:
        usage = {
            "prompt_tokens": 100,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 20},
            "completion_tokens_details": {"reasoning_tokens": 5},
        }
        return {
            "id": rid,
            "object": "chat.completion",
            "created": 1747213200,
            "model": "gpt-4o",
            "usage": usage,
        }

    injected = response("r2")
    usage = injected["usage"]
    if field == "created":
        injected["created"] = value
    elif field == "cached_tokens":
        usage["prompt_tokens_details"]["cached_tokens"] = value
    elif field == "reasoning_tokens":
        usage["completion_tokens_details"]["reasoning_tokens"] = value
    else:
        usage[field] = value
    return [response("r1"), injected]


def _anthropic(field: str, value: Any) -> list[Any]:
    def message(mid: str) -> dict[str, Any]:
        usage = {
            "input_tokens": 100,
            "output_tokens": 10,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 50,
        }
        return {"type": "message", "id": mid, "model": "claude-sonnet-4-5", "usage": usage}

    injected = message("msg_2")
    injected["usage"][field] = value
    return [message("msg_1"), injected]


def _gemini(field: str, value: Any) -> list[Any]:
    def response(rid: str) -> dict[str, Any]:
        meta = {
            "promptTokenCount": 100,
            "candidatesTokenCount": 10,
            "cachedContentTokenCount": 20,
            "thoughtsTokenCount": 5,
            "totalTokenCount": 115,
        }
        return {
            "responseId": rid,
            "modelVersion": "gemini-2.5-pro",
            "usageMetadata": meta,
            "createTime": "2026-01-01T00:00:00Z",
        }

    injected = response("r2")
    (injected if field == "createTime" else injected["usageMetadata"])[field] = value
    return [response("r1"), injected]


def _gemini_cli(field: str, value: Any) -> list[Any]:
    def message(mid: str) -> dict[str, Any]:
        tokens = {"input": 100, "output": 10, "cached": 20, "thoughts": 5, "tool": 0, "total": 115}
        return {
            "id": mid,
            "type": "gemini",
            "timestamp": "2026-05-17T11:07:00Z",
            "model": "gemini-2.5-pro",
            "tokens": tokens,
        }

    injected = message("m2")
    (injected if field == "timestamp" else injected["tokens"])[field] = value
    meta = {"sessionId": "s1", "projectHash": "h", "startTime": "2026-05-17T11:07:00Z"}
    return [meta, message("m1"), injected]


def _otel(field: str, value: Any) -> list[Any]:
    def span(sid: str, attrs: dict[str, Any], start: Any = "1747213200000000000") -> dict[str, Any]:
        values = [
            {
                "key": k,
                "value": {"intValue": v} if k.startswith("gen_ai.usage") else {"stringValue": v},
            }
            for k, v in attrs.items()
        ]
        return {"traceId": "t", "spanId": sid, "startTimeUnixNano": start, "attributes": values}

    attrs = {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": "100",
        "gen_ai.usage.output_tokens": "10",
        "gen_ai.usage.cache_read.input_tokens": "20",
        "gen_ai.usage.reasoning.output_tokens": "5",
    }
    if field == "startTimeUnixNano":
        injected = span("s2", attrs, value)
    else:
        injected = span("s2", {**attrs, field: value})
    return [{"resourceSpans": [{"scopeSpans": [{"spans": [span("s1", attrs), injected]}]}]}]


def _otel_total(field: str, count: int) -> int | None:
    """The OTel reader's rule: input includes the cache reads (the spec) unless it is smaller
    than they are (pre-spec instrumentation); reasoning is part of output."""
    a = {
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 10,
        "gen_ai.usage.cache_read.input_tokens": 20,
        "gen_ai.usage.reasoning.output_tokens": 5,
    }
    a[field] = count
    if a["gen_ai.usage.reasoning.output_tokens"] > a["gen_ai.usage.output_tokens"]:
        return None
    read, total_in = a["gen_ai.usage.cache_read.input_tokens"], a["gen_ai.usage.input_tokens"]
    fresh = total_in - read if total_in >= read else total_in
    return fresh + read + a["gen_ai.usage.output_tokens"]


CASES = [
    Case(
        "claude_code",
        ".jsonl",
        _claude,
        {
            "input_tokens": (100, 1, False),
            "output_tokens": (10, 1, False),
            "cache_read_input_tokens": (1000, 1, True),
            "cache_creation_input_tokens": (50, 1, True),
        },
        ("timestamp",),
    ),
    Case(
        "codex",
        ".jsonl",
        _codex,
        {
            "input_tokens": (100, 1, False),
            "cached_input_tokens": (20, 0, False),
            "output_tokens": (10, 1, False),
            "reasoning_output_tokens": (5, 0, False),
        },
        ("timestamp",),
    ),
    Case(
        "openai",
        ".jsonl",
        _openai,
        {
            "prompt_tokens": (100, 1, False),
            "completion_tokens": (10, 1, False),
            "cached_tokens": (20, 0, True),
            "reasoning_tokens": (5, 0, True),
        },
        ("created",),
    ),
    Case(
        "anthropic",
        ".jsonl",
        _anthropic,
        {
            "input_tokens": (100, 1, False),
            "output_tokens": (10, 1, False),
            "cache_read_input_tokens": (1000, 1, True),
            "cache_creation_input_tokens": (50, 1, True),
        },
        (),
    ),
    Case(
        "gemini",
        ".jsonl",
        _gemini,
        {
            "promptTokenCount": (100, 1, False),
            "candidatesTokenCount": (10, 1, False),
            "cachedContentTokenCount": (20, 0, True),
            "thoughtsTokenCount": (5, 1, False),
            "totalTokenCount": (115, 0, True),
        },
        ("createTime",),
    ),
    Case(
        "gemini_cli",
        ".jsonl",
        _gemini_cli,
        {
            "input": (100, 1, False),
            "output": (10, 1, False),
            "cached": (20, 0, True),
            "thoughts": (5, 1, False),
            "tool": (0, 0, False),
            "total": (115, 0, True),
        },
        ("timestamp",),
    ),
    Case(
        "otel",
        ".json",
        _otel,
        {
            "gen_ai.usage.input_tokens": (100, 1, False),
            "gen_ai.usage.output_tokens": (10, 1, False),
            "gen_ai.usage.cache_read.input_tokens": (20, 0, False),
            "gen_ai.usage.reasoning.output_tokens": (5, 0, False),
        },
        ("startTimeUnixNano",),
        expected=_otel_total,
        strings_are_ints=True,
    ),
]


def _read(case: Case, field: str, value: Any) -> tuple[int, int, int]:
    """(calls, total tokens, skipped records) of the case's file with ``value`` injected."""
    records = case.build(field, value)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"calls{case.suffix}"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        source = detect(path)
        assert source is not None and source.name == case.name
        calls, report = read_file(path, 0, source)
    return len(calls), sum(c.total for c in calls), sum(report.skipped.values())


_CLEAN: dict[str, tuple[int, int]] = {}


def _clean(case: Case) -> tuple[int, int]:
    """(total of the clean call alone, total of the injected call as built) from a run with
    the template values (both calls are built alike, so each is half)."""
    if case.name not in _CLEAN:
        field = next(iter(case.fields))
        calls, both, skipped = _read(case, field, case.fields[field][0])
        assert calls == 2 and skipped == 0
        _CLEAN[case.name] = (both // 2, both - both // 2)
    return _CLEAN[case.name]


TOKEN_PARAMS = [(c, f) for c in CASES for f in c.fields]
TIME_PARAMS = [(c, f) for c in CASES for f in c.times]


@pytest.mark.parametrize(
    ("case", "field"), TOKEN_PARAMS, ids=[f"{c.name}-{f}" for c, f in TOKEN_PARAMS]
)
@SETTINGS
@given(value=JSON_VALUES)
def test_any_value_in_a_token_field(case: Case, field: str, value: Any) -> None:
    clean, injected = _clean(case)
    template, weight, nullable = case.fields[field]
    calls, total, skipped = _read(case, field, value)
    parsed_ok, seen = as_read(value)
    if case.strings_are_ints and isinstance(seen, str) and re.fullmatch("-?[0-9]+", seen):
        seen = int(seen)
    count = plausible(seen, nullable) if parsed_ok else None
    if count is None:
        assert (calls, total) == (1, clean), f"{value!r} was not refused"
        assert skipped >= 1
    elif calls == 1:
        assert total == clean and skipped >= 1  # refused by a consistency check, counted
    elif case.expected is not None:
        assert total == clean + (case.expected(field, count) or -clean)
    else:
        assert total == clean + injected + weight * (count - template)


@pytest.mark.parametrize(
    ("case", "field"), TIME_PARAMS, ids=[f"{c.name}-{f}" for c, f in TIME_PARAMS]
)
@SETTINGS
@given(value=JSON_VALUES)
def test_any_value_in_a_time_field(case: Case, field: str, value: Any) -> None:
    clean, injected = _clean(case)
    calls, total, skipped = _read(case, field, value)
    assert (calls, total) in ((2, clean + injected), (1, clean))
    if calls == 1:
        assert skipped >= 1  # never dropped in silence


LLM_DB = Path(__file__).parent / "data" / "llm" / "logs_llm_0.27.1.db"
SQL_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            0,
            -1,
            2**63 - 1,
            1e300,
            7.9,
            "12",
            "",
            "9999-12-31T23:59:59-05:00",
            "0001-01-01T00:00:00+05:00",
            "2026-01-01T00:00:00",
        ]
    ),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)


@pytest.mark.parametrize("column", ["input_tokens", "output_tokens", "datetime_utc"])
@SETTINGS
@given(value=SQL_VALUES)
def test_any_value_in_an_llm_database_column(column: str, value: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "logs.db"
        shutil.copy(LLM_DB, db)
        clean = {c.id: c.total for c in read_file(db)[0]}
        with sqlite3.connect(db) as conn:
            target = conn.execute("SELECT id FROM responses ORDER BY id LIMIT 1").fetchone()[0]
            conn.execute(f"UPDATE responses SET {column} = ? WHERE id = ?", [value, target])
        calls, report = read_file(db)
    got = {c.id: c.total for c in calls}
    assert {k: v for k, v in got.items() if k != target} == {
        k: v for k, v in clean.items() if k != target
    }  # the other rows are untouched
    if target not in got:
        assert sum(report.skipped.values()) >= 1  # never dropped in silence
    elif column != "datetime_utc":
        assert plausible(value, nullable=True) is not None, f"{value!r} was not refused"


def test_the_oracle_can_fail() -> None:
    # The properties above mean something only if a broken reader would fail them.
    assert plausible(7.9, False) is None and plausible(2**63, False) is None
    assert plausible(None, False) is None and plausible(None, True) == 0
    assert plausible(7.0, False) == 7 and plausible(MAX_TOKENS, False) == MAX_TOKENS
    assert copy.deepcopy(SPECIAL) == SPECIAL
