"""Codex CLI / Desktop rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``.

- The model comes from the event's own ``info.model`` where it has one, else from the latest
  ``turn_context`` line.
- A sub-agent's rollout (``spawn_agent``, forks) opens with its *own* ``session_meta`` and may
  copy its parent's after it: the file's first ``session_meta`` names its session, and
  ``parent_thread_id`` / ``source.subagent.thread_spawn.parent_thread_id`` its parent.
- Each ``token_count`` event is emitted twice with identical totals: an event whose running
  ``total_token_usage`` equals the previous one is a re-emit, not a call.
- ``last_token_usage`` is the call; without it, the difference of running totals is.
- OpenAI conventions: ``input_tokens`` includes ``cached_input_tokens``; ``output_tokens``
  includes ``reasoning_output_tokens``.

A rollout is re-read whole when it changes (state such as the model and the running total
lives earlier in the file); call ids are stable, so re-reading changes no total.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tokenomy.calls import Call
from tokenomy.sources.base import (
    BadUsage,
    FileReport,
    iter_json_lines,
    parse_time,
    register,
    token_count,
)

__all__ = ["Codex"]

_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


@register
class Codex:
    name = "codex"
    incremental = False

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".jsonl" and b'"session_meta"' in head

    def read(self, path: Path, offset: int, report: FileReport) -> Iterator[Call]:
        session = path.stem.removeprefix("rollout-")
        parent = ""
        project = ""
        model = ""
        owned = False  # the file's own session_meta was read (later ones are copied)
        previous_total: dict[str, int] | None = None
        for row in iter_json_lines(path, 0, report):
            kind = row.get("type")
            payload = row.get("payload")
            if not isinstance(payload, dict):
                continue
            if kind == "session_meta":
                if owned:
                    continue
                owned = True
                session = str(payload.get("id") or session)
                parent = _parent(payload)
                cwd = payload.get("cwd")
                project = Path(str(cwd)).name if cwd else ""
            elif kind == "turn_context":
                model = str(payload.get("model") or model)
            elif kind == "event_msg" and payload.get("type") == "token_count":
                info = payload.get("info")
                if not isinstance(info, dict):
                    continue  # rate-limit only events carry no usage
                try:
                    total = _usage(info.get("total_token_usage"))
                    last = _usage(info.get("last_token_usage"))
                except BadUsage as exc:
                    report.skip(str(exc))
                    continue
                if total is not None and total == previous_total:
                    report.duplicates += 1  # the re-emitted twin of the previous event
                    continue
                if last is None:
                    if total is None:
                        report.skip("token_count without usage")
                        continue
                    base = previous_total or dict.fromkeys(_FIELDS, 0)
                    last = {k: total[k] - base[k] for k in _FIELDS}
                    if min(last.values()) < 0:  # a fork restarted the running total
                        last = total
                previous_total = total
                time = parse_time(row.get("timestamp"))
                if time is None:
                    report.skip("missing or bad timestamp")
                    continue
                served = info.get("model")
                named = served if isinstance(served, str) and served else model
                call = _call(session, project, named, time, last, total, report)
                if call is not None:
                    call.file = str(path)
                    if parent and parent != session:
                        call.parent_session = parent
                        call.agent = session
                    report.calls += 1
                    yield call


def _parent(meta: dict[str, Any]) -> str:
    """The parent session of a sub-agent's rollout, from its ``session_meta``."""
    found = meta.get("parent_thread_id")
    source = meta.get("source")
    if not found and isinstance(source, dict):
        spawn = source.get("subagent")
        spawn = spawn.get("thread_spawn") if isinstance(spawn, dict) else None
        found = spawn.get("parent_thread_id") if isinstance(spawn, dict) else None
    return found if isinstance(found, str) else ""


def _usage(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, dict):
        return None
    return {k: token_count(raw, k) for k in _FIELDS}


def _call(
    session: str,
    project: str,
    model: str,
    time: Any,
    last: dict[str, int],
    total: dict[str, int] | None,
    report: FileReport,
) -> Call | None:
    cached = last["cached_input_tokens"]
    if cached > last["input_tokens"] or last["reasoning_output_tokens"] > last["output_tokens"]:
        report.skip("inconsistent token_count (cached > input or reasoning > output)")
        return None
    # The running total identifies the call: stable across re-reads and copies of the file.
    marker = sum(total.values()) if total is not None else time.isoformat()
    return Call(
        source="codex",
        id=f"{session}:{marker}",
        time=time,
        model=model,
        provider="openai",
        session=session,
        project=project,
        input=last["input_tokens"] - cached,
        cache_read=cached,
        output=last["output_tokens"],
        reasoning=last["reasoning_output_tokens"],
    )
