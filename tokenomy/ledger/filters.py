"""Which calls a question covers: typed filters that every ledger backend turns into its own
query (never SQL text across the storage boundary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["GROUPINGS", "ONE_PERSON", "SHARED_GROUPINGS", "Filters", "parse_day"]


def parse_day(value: str | None, name: str) -> date | None:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` (a ``--since``/``--until`` value); ``None`` for none."""
    if not value:
        return None
    text = value.replace("-", "")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{name}: expected YYYY-MM-DD, got {value!r}") from exc


# How a bill can be grouped (every backend answers each).
GROUPINGS: tuple[str, ...] = ("daily", "weekly", "monthly", "session", "model", "project", "source")
# Only a shared ledger knows who stored each call (``tokenomy push``, a gateway).
SHARED_GROUPINGS: tuple[str, ...] = ("user",)
ONE_PERSON = (
    "a local ledger holds one person's calls: --user, --team and `report user` need the shared "
    "ledger (--ledger postgresql://...; docs/postgres.md)"
)


@dataclass(frozen=True)
class Filters:
    """Calls between two days (inclusive, in ``timezone``), of some models (prefixes, case
    ignored), projects and sources (prefixes), sessions (a session or its sub-agents) and users
    (who pushed or sent them: a shared ledger's attribution, exact names)."""

    since: date | None = None
    until: date | None = None
    models: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    model_names: tuple[str, ...] = ()  # exact model names (a breakdown), beside the prefixes
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
