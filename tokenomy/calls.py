"""The call record: one API call, normalised so that token fields never overlap.

Every source converts its provider's conventions into this record, and nothing downstream
knows which provider a record came from:

- ``input``: fresh (uncached) prompt tokens only;
- ``cache_read``, ``cache_write_5m``, ``cache_write_1h``: cached prompt tokens by kind;
- ``output``: all output tokens, reasoning included; ``reasoning`` is the hidden part of it.

So the prompt size of a call is ``input + cache_read + cache_write_5m + cache_write_1h``
(``PROMPT_KINDS``; ``Call.prompt`` in Python, ``prompt_sql`` in SQL: one definition).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["CALL_FIELDS", "PROMPT_KINDS", "STORED_FIELDS", "TOKEN_KINDS", "Call", "prompt_sql"]

# The additive token kinds of a call (``reasoning`` is a part of ``output``, not beside it).
TOKEN_KINDS: tuple[str, ...] = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
# The kinds that make up the prompt: every input token the model saw, cached or not.
PROMPT_KINDS: tuple[str, ...] = TOKEN_KINDS[:4]


def prompt_sql(table: str = "") -> str:
    """The prompt size as a SQL expression over the stored columns (``table.`` prefixed)."""
    prefix = f"{table}." if table else ""
    return "(" + " + ".join(prefix + kind for kind in PROMPT_KINDS) + ")"


@dataclass(slots=True)
class Call:
    """One API call as the provider billed it."""

    source: str  # the log format it came from: "claude_code", "codex", "openai", ...
    id: str  # the provider's own call id; with ``source`` the deduplication key
    time: datetime  # UTC, timezone-aware
    model: str
    provider: str = ""  # genai-prices provider id ("anthropic", "openai", "google"); "" = guess
    session: str = ""  # the task this call belongs to
    parent_session: str = ""  # for a sub-agent: the session that spawned it
    agent: str = ""  # "" for the main thread, else the sub-agent's id ("acompact-..." = compaction)
    project: str = ""
    service_tier: str = ""  # "", "batch", "priority", "flex", "fast" ...
    input: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    reasoning: int = 0
    output_exact: bool = True  # False where the log held a placeholder: ``output`` is a lower bound
    reported_cost: Decimal | None = None  # the cost the log itself states, if any
    file: str = ""  # the file it was read from (not part of identity)
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific counts, never text

    @property
    def prompt(self) -> int:
        """Prompt size: every input token the model saw, cached or not."""
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> int:
        return self.prompt + self.output

    @property
    def is_subagent(self) -> bool:
        return bool(self.agent)

    @property
    def is_compaction(self) -> bool:
        return self.agent.startswith("acompact")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        data["reported_cost"] = None if self.reported_cost is None else str(self.reported_cost)
        return data


CALL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Call))
# What a ledger stores of a call, in this order: every field but ``extra``.
STORED_FIELDS: tuple[str, ...] = tuple(name for name in CALL_FIELDS if name != "extra")
