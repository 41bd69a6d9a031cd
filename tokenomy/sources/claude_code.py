"""Claude Code transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` and
``<session>/subagents/agent-*.jsonl``.

Traps handled (all seen in the real fixtures):

- One row per streamed content block, each with a copy of the message's ``usage``; early rows
  carry a placeholder ``output_tokens`` (often 1). Rows are merged on ``message.id`` and the
  largest usage kept. Where no row carries a ``stop_reason`` the final count was never written:
  the call's output is marked a lower bound (``output_exact=False``).
- A parent's ``progress``/``agent_progress`` rows echo the sub-agent's usage, which also sits in
  ``subagents/agent-*.jsonl``. The echo has the same ``message.id``, so it merges with the
  sub-agent's own row and counts once; where the sub-agent file is missing, the echo (a lower
  bound) is all there is, and the call is still counted.
- ``<synthetic>`` messages and API-error messages are not API calls.
- Sub-agents (``agentId``) become sessions of their own that point at the parent session;
  ``acompact-*`` agents are auto-compaction calls.
- Anthropic's ``input_tokens`` already excludes cache reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from tokenomy.calls import Call
from tokenomy.sources.base import (
    CONFLICT,
    BadUsage,
    FileReport,
    anthropic_cache_writes,
    anthropic_tier,
    iter_json_lines,
    parse_time,
    register,
    same_call,
    token_count,
)

__all__ = ["ClaudeCode", "call_from_row"]


@register
class ClaudeCode:
    name = "claude_code"
    incremental = True

    def detect(self, path: Path, head: bytes) -> bool:
        # ``projectHash`` marks a Gemini CLI chat recording, which also has a ``sessionId``.
        return (
            path.suffix == ".jsonl"
            and b'"sessionId"' in head
            and b'"payload"' not in head
            and b'"projectHash"' not in head
        )

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        # Rows of one message are merged as raw dicts first, so only the kept row of each
        # call is validated and turned into a Call (half the rows are streaming copies).
        # Rows that name another model or session than the message's first row are not
        # streaming copies: they are dropped and counted, whatever their usage.
        kept: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        first: dict[str, tuple[int, tuple[Any, ...]]] = {}  # id -> (row index, identity)
        earliest: dict[str, str] = {}
        final: set[str] = set()
        calls: list[tuple[int, Call]] = []
        for index, row in enumerate(iter_json_lines(path, offset, report, needle=b'"usage"')):
            if row.get("type") == "progress":
                row = _echoed_subagent_row(row)
            message = row.get("message")
            size = _quick_size(message) if row.get("type") == "assistant" else None
            if size is None:  # not a clean assistant row: validate it alone (counts its skip)
                call = call_from_row(row, report)
                if call is not None:
                    calls.append((index, call))
                continue
            assert isinstance(message, dict)
            key = str(message.get("id"))
            identity = (message.get("model"), row.get("sessionId"), row.get("agentId"))
            if key in first and first[key][1] != identity:
                report.skip(CONFLICT)
                continue
            stamp = str(row.get("timestamp") or "")
            if message.get("stop_reason") is not None:
                final.add(key)
            if key in kept:
                report.duplicates += 1
                if stamp < earliest[key]:
                    earliest[key] = stamp
                if size <= kept[key][0]:
                    continue
            else:
                first[key] = (index, identity)
                earliest[key] = stamp
            kept[key] = (size, row)
        for key, (_, row) in kept.items():
            # The earliest row's time; a junk stamp on a copy (year 1) falls back to the kept
            # row's own, so it cannot void the call's real rows.
            own = row.get("timestamp")
            time = parse_time(earliest[key]) if earliest[key] != own else None
            call = call_from_row(row, report, time)
            if call is not None:
                call.output_exact = call.output_exact or key in final
                calls.append((first[key][0], call))
        calls.sort(key=lambda pair: pair[0])  # the first record of an id is the reference
        merged: dict[str, Call] = {}
        for _, call in calls:
            call.file = str(path)
            other = merged.get(call.id)
            if other is None:
                merged[call.id] = call
            elif not same_call(other, call):
                report.skip(CONFLICT)
            else:
                merged[call.id] = merge_rows(other, call, report)
        report.calls += len(merged)
        yield from merged.values()


def _quick_size(message: Any) -> tuple[int, int] | None:
    """(output, prompt) of a well-formed usage block, or ``None`` if anything is unusual."""
    if not isinstance(message, dict) or not message.get("id"):
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict) or message.get("model") == "<synthetic>":
        return None
    fields: tuple[Any, ...] = (
        usage.get("output_tokens"),
        usage.get("input_tokens"),
        usage.get("cache_read_input_tokens", 0),
        usage.get("cache_creation_input_tokens", 0),
    )
    if any(type(v) is not int or v < 0 for v in fields):
        return None
    out, fresh, read, written = fields
    return int(out), int(fresh + read + written)


def call_from_row(
    row: dict[str, Any], report: FileReport, time: datetime | None = None
) -> Call | None:
    """One assistant row as a call, or ``None`` (counted in ``report``) if it is not one.
    ``time``: the call's time where the caller knows it better than the row (merged rows)."""
    if row.get("type") == "progress":
        row = _echoed_subagent_row(row)
    if row.get("type") != "assistant":
        return None
    message = row.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
        report.skip("assistant row without usage")
        return None
    model = str(message.get("model") or "")
    if model == "<synthetic>" or row.get("isApiErrorMessage"):
        report.skip("synthetic or API-error message (not an API call)")
        return None
    time = time or parse_time(row.get("timestamp"))
    if time is None:
        report.skip("missing or bad timestamp")
        return None
    usage = message["usage"]
    if "input_tokens" not in usage and "output_tokens" not in usage:
        report.skip("usage without token fields")
        return None
    try:
        write_5m, write_1h = anthropic_cache_writes(usage)
        call = Call(
            source="claude_code",
            id=str(message.get("id") or row.get("uuid") or ""),
            time=time,
            model=model,
            provider="anthropic",
            session=str(row.get("sessionId") or ""),
            project=_project(row),
            service_tier=anthropic_tier(usage),
            input=token_count(usage, "input_tokens"),
            cache_read=token_count(usage, "cache_read_input_tokens", nullable=True),
            cache_write_5m=write_5m,
            cache_write_1h=write_1h,
            output=token_count(usage, "output_tokens"),
            output_exact=message.get("stop_reason") is not None,
        )
    except BadUsage as exc:
        report.skip(str(exc))
        return None
    if not call.id:
        report.skip("assistant row without message id")
        return None
    agent = row.get("agentId")
    if agent:
        call.agent = str(agent)
        call.parent_session = call.session
        call.session = f"{call.session}/{agent}"
    cost = row.get("costUSD")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        call.reported_cost = Decimal(str(cost))
    server_tools = usage.get("server_tool_use")
    if isinstance(server_tools, dict):
        searches = server_tools.get("web_search_requests")
        if isinstance(searches, int) and searches > 0:
            call.extra["web_search_requests"] = searches
    return call


def _echoed_subagent_row(row: dict[str, Any]) -> dict[str, Any]:
    """The sub-agent's assistant row inside a parent's ``agent_progress`` row, if any."""
    data = row.get("data")
    if not isinstance(data, dict) or data.get("type") != "agent_progress":
        return {}
    inner = data.get("message")
    if not isinstance(inner, dict) or inner.get("type") != "assistant":
        return {}
    return {
        **inner,
        "sessionId": row.get("sessionId"),
        "cwd": row.get("cwd"),
        "agentId": data.get("agentId") or "unknown",
    }


def merge_rows(kept: Call, new: Call, report: FileReport) -> Call:
    """Two rows of one message: keep the fuller usage and the earliest time."""
    report.duplicates += 1
    best = new if (new.output, new.total) > (kept.output, kept.total) else kept
    best.output_exact = kept.output_exact or new.output_exact
    best.time = min(kept.time, new.time)
    return best


def _project(row: dict[str, Any]) -> str:
    cwd = row.get("cwd")
    return _project_name(cwd) if isinstance(cwd, str) else ""


@lru_cache(maxsize=4096)
def _project_name(cwd: str) -> str:
    return Path(cwd).name  # a hot path: a session has thousands of rows and one cwd
