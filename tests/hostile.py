"""The hostile-input corpus: a real Claude Code session (tests/data/hostile) and the bad lines,
names and shapes added to it, one case each (see tests/test_hostile_*.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tokenomy.calls import Call

CLEAN = Path(__file__).parent / "data" / "hostile" / "claude_code_short.jsonl"
CLEAN_LINES = CLEAN.read_bytes().splitlines()


def assistant_row() -> dict[str, Any]:
    """The clean file's first assistant row (a real one), as a template."""
    for line in CLEAN_LINES:
        row = json.loads(line)
        if row.get("type") == "assistant" and "usage" in row.get("message", {}):
            return row
    raise AssertionError("no assistant row in the clean file")


REAL_ID = assistant_row()["message"]["id"]


def row(
    msg_id: str = "msg_hostile", usage: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """A well-formed new assistant row (its own message id), with ``usage`` and top-level
    ``fields`` replaced; ``model`` goes into the message."""
    out = copy.deepcopy(assistant_row())
    out["message"]["id"] = msg_id
    out["message"]["stop_reason"] = "end_turn"
    out["uuid"] = "hostile-" + msg_id
    if usage is not None:
        out["message"]["usage"] = usage
    if "model" in fields:
        out["message"]["model"] = fields.pop("model")
    out.update(fields)
    return out


def write(path: Path, *extra: dict[str, Any] | bytes, first: bytes | None = None) -> Path:
    """The clean file plus ``extra`` lines (dicts are JSON-encoded), optionally after a new
    ``first`` line."""
    lines = list(CLEAN_LINES)
    if first is not None:
        lines.insert(0, first)
    for item in extra:
        lines.append(item if isinstance(item, bytes) else json.dumps(item).encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def tokens(calls: list[Call]) -> int:
    return sum(c.total for c in calls)
