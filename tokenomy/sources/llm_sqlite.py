"""simonw/llm's ``logs.db`` (SQLite): the legacy ``responses`` table and, in llm ≥ 0.30, the
content-addressed store's ``turns`` table. Both are read; each row is one model call.

``input_tokens`` means what the plugin that logged it put there, and plugins disagree:

- OpenAI (llm's own plugin): ``prompt_tokens`` / ``input_tokens``, cached tokens *included*;
  ``token_details`` keeps the rest of the usage with zeros dropped
  (``prompt_tokens_details.cached_tokens``, ``completion_tokens_details.reasoning_tokens``, or
  the Responses API's ``input_tokens_details`` / ``output_tokens_details``). Output includes
  reasoning. The split is exact.
- llm-anthropic: ``usage.input_tokens``, cache tokens *excluded*. The cache counts are kept in
  ``token_details`` only when the ``cache`` option was on or server tools were used; otherwise
  they are recovered from ``response_json.usage`` where the row has one. Where neither holds
  them they cannot be recovered: the row's cache reads/writes are then missing (the call is
  still counted with what was logged).
- llm-gemini: ``promptTokenCount`` (cached included) and ``candidatesTokenCount``;
  ``token_details`` keeps ``cachedContentTokenCount`` and ``thoughtsTokenCount``, which are
  added to the output (Gemini bills thoughts as output).
- Other plugins: taken as they stand (fresh input, output), since nothing says otherwise.

Opened read-only (``mode=ro``), so a running ``llm`` is never disturbed. Not incremental: the
file is a database, not an append-only log; ids are llm's ULIDs, so re-reading changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tokenomy.calls import Call
from tokenomy.sources.base import (
    BadUsage,
    FileReport,
    anthropic_cache_writes,
    parse_time,
    register,
    token_count,
)

__all__ = ["LlmSqlite"]

SQLITE_MAGIC = b"SQLite format 3\x00"
_TABLES = {
    # table -> the column naming the conversation it belongs to
    "responses": "conversation_id",
    "turns": "thread_id",
}


@register
class LlmSqlite:
    name = "llm_sqlite"
    incremental = False

    def detect(self, path: Path, head: bytes) -> bool:
        if not head.startswith(SQLITE_MAGIC):
            return False
        if b"token_details" in head and (b"responses" in head or b"turns" in head):
            return True  # the schema sits on the first page
        return bool(_tables(path) & set(_TABLES)) and "token_details" in _columns(path)

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        report.end = path.stat().st_size
        try:
            db = _connect(path)
        except sqlite3.Error as exc:
            report.skip(f"unreadable SQLite database ({exc})")
            return
        try:
            tables = _tables_of(db)
            for table, session_column in _TABLES.items():
                if table not in tables:
                    continue
                yield from _read_table(db, table, session_column, path, report)
        except sqlite3.Error as exc:
            report.skip(f"unreadable SQLite database ({exc})")
        finally:
            db.close()


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def _tables_of(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _tables(path: Path) -> set[str]:
    try:
        db = _connect(path)
    except sqlite3.Error:
        return set()
    try:
        return _tables_of(db)
    except sqlite3.Error:
        return set()
    finally:
        db.close()


def _columns(path: Path) -> set[str]:
    try:
        db = _connect(path)
    except sqlite3.Error:
        return set()
    try:
        out: set[str] = set()
        for table in _TABLES:
            out |= {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        return out
    except sqlite3.Error:
        return set()
    finally:
        db.close()


def _read_table(
    db: sqlite3.Connection, table: str, session_column: str, path: Path, report: FileReport
) -> Iterator[Call]:
    columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    wanted = ["id", "model", "datetime_utc", "input_tokens", "output_tokens", "token_details"]
    optional = [c for c in ("resolved_model", "response_json", session_column) if c in columns]
    if not set(wanted) <= columns:
        report.skip(f"{table} table without token columns")
        return
    query = f"SELECT {', '.join(wanted + optional)} FROM {table} ORDER BY datetime_utc, id"
    for row in db.execute(query):
        report.lines += 1
        call = _call(dict(row), session_column, report)
        if call is not None:
            call.file = str(path)
            report.calls += 1
            yield call


def _json(text: Any) -> dict[str, Any]:
    if not isinstance(text, str | bytes) or not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _call(row: dict[str, Any], session_column: str, report: FileReport) -> Call | None:
    if row["input_tokens"] is None and row["output_tokens"] is None:
        report.skip("row without token counts (not logged by its plugin)")
        return None
    time = parse_time(row["datetime_utc"])
    if time is None:
        report.skip("missing or bad timestamp")
        return None
    details = _json(row["token_details"])
    raw = _json(row.get("response_json"))
    # The model the provider says served the call beats llm's alias for it ("stub-gpt",
    # "4o-mini"): only the former has a price.
    served = raw.get("model")
    model = str(row.get("resolved_model") or (served if isinstance(served, str) else "") or "")
    model = model or str(row["model"] or "")
    provider = _provider(model, details)
    try:
        # NULL is how llm stores "not logged" (both NULL was skipped above).
        logged_in = token_count(row, "input_tokens", nullable=True)
        logged_out = token_count(row, "output_tokens", nullable=True)
        call = Call(
            source="llm_sqlite",
            id=str(row["id"]),
            time=time,
            model=model.split("/", 1)[1] if provider and "/" in model else model,
            provider=provider,
            session=str(row.get(session_column) or ""),
        )
        if provider == "openai":
            _openai(call, logged_in, logged_out, details)
        elif provider == "anthropic":
            _anthropic(call, logged_in, logged_out, details, raw)
        elif provider == "google":
            _gemini(call, logged_in, logged_out, details)
        else:
            call.input, call.output = logged_in, logged_out
    except BadUsage as exc:
        report.skip(str(exc))
        return None
    return call


def _provider(model: str, details: dict[str, Any]) -> str:
    name = model.lower().removeprefix("openai/")
    if name.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-")) or any(
        k in details for k in ("prompt_tokens_details", "input_tokens_details")
    ):
        return "openai"
    if name.startswith(("claude", "anthropic/")) or "cache_read_input_tokens" in details:
        return "anthropic"
    if name.startswith(("gemini", "gemma")) or "cachedContentTokenCount" in details:
        return "google"
    return ""


def _sub(details: dict[str, Any], key: str) -> dict[str, Any]:
    value = details.get(key)
    return value if isinstance(value, dict) else {}


def _openai(call: Call, logged_in: int, logged_out: int, details: dict[str, Any]) -> None:
    prompt = _sub(details, "prompt_tokens_details") or _sub(details, "input_tokens_details")
    completion = _sub(details, "completion_tokens_details") or _sub(
        details, "output_tokens_details"
    )
    cached = token_count(prompt, "cached_tokens")
    reasoning = token_count(completion, "reasoning_tokens")
    if cached > logged_in or reasoning > logged_out:
        raise BadUsage("inconsistent usage (cached > input or reasoning > output)")
    call.input, call.cache_read = logged_in - cached, cached
    call.output, call.reasoning = logged_out, reasoning


def _anthropic(
    call: Call, logged_in: int, logged_out: int, details: dict[str, Any], raw: dict[str, Any]
) -> None:
    usage = details if "cache_read_input_tokens" in details else _sub(raw, "usage")
    write_5m, write_1h = anthropic_cache_writes(usage)
    call.input = logged_in
    call.cache_read = token_count(usage, "cache_read_input_tokens", nullable=True)
    call.cache_write_5m, call.cache_write_1h = write_5m, write_1h
    call.output = logged_out


def _gemini(call: Call, logged_in: int, logged_out: int, details: dict[str, Any]) -> None:
    cached = token_count(details, "cachedContentTokenCount")
    thoughts = token_count(details, "thoughtsTokenCount")
    if cached > logged_in:
        raise BadUsage("cached tokens exceed the prompt")
    call.input, call.cache_read = logged_in - cached, cached
    call.output, call.reasoning = logged_out + thoughts, thoughts
