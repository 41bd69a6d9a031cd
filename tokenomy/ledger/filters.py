"""Which calls a question covers: typed filters that every ledger backend turns into its own
query (never SQL text across the storage boundary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["GROUPINGS", "Filters"]

# How a bill can be grouped (every backend answers each).
GROUPINGS: tuple[str, ...] = ("daily", "weekly", "monthly", "session", "model", "project", "source")


@dataclass(frozen=True)
class Filters:
    """Calls between two days (inclusive, in ``timezone``), of some models (prefixes, case
    ignored), projects and sources (prefixes), and sessions (a session or its sub-agents)."""

    since: date | None = None
    until: date | None = None
    models: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
