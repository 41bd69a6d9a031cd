"""Library values (``Decimal`` money, dates, enums, mappings) as JSON values; depends on
nothing, so the CLI, the report model and the renderers convert the same way."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["SCHEMA_VERSION", "to_jsonable"]

# The version of every ``--json`` output's layout (docs/json.md), the MCP server's answers too:
# bumped when a key is renamed, removed or changes meaning; new keys may appear within a version.
SCHEMA_VERSION = 1


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money stays exact in JSON: a number with all its digits.
        return float(value) if value == value.to_integral_value() else float(str(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value
