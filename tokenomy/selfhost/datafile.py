"""Reading the self-hosting data files: TOML rows that each carry a source and a date.

A row that lacks a field, holds the wrong type or an impossible value is refused with an
error that names the file, the row and the field, so a typo never becomes a silent estimate.
"""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["DataFileError", "Row", "read_table"]


class DataFileError(ValueError):
    """A data file row is missing a field or holds an impossible value."""


class Row:
    """One TOML row with typed, validated accessors that name the row in every error."""

    def __init__(self, where: str, data: dict[str, Any]) -> None:
        self.where = where
        self.data = data

    def fail(self, message: str) -> DataFileError:
        return DataFileError(f"{self.where}: {message}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be a non-empty string, got {value!r}")
        return value

    def number(self, key: str, default: float | None = None, *, zero_ok: bool = False) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"'{key}' must be a number, got {value!r}")
        if value < 0 or (value == 0 and not zero_ok):
            raise self.fail(f"'{key}' must be {'>= 0' if zero_ok else '> 0'}, got {value!r}")
        return float(value)

    def integer(self, key: str, default: int | None = None, *, minimum: int = 1) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"'{key}' must be an integer, got {value!r}")
        if value < minimum:
            raise self.fail(f"'{key}' must be >= {minimum}, got {value!r}")
        return value

    def day(self, key: str = "date") -> date:
        value = self.data.get(key)
        if not isinstance(value, date):
            raise self.fail(f"'{key}' must be a TOML date (YYYY-MM-DD), got {value!r}")
        return value

    def provenance(self) -> tuple[str, date]:
        """Every row must say where its numbers come from and when."""
        return self.text("source"), self.day("date")


def read_table(file: str | Path, key: str) -> list[Row]:
    """The rows of ``[[key]]`` in a packaged data file name (or a path), each tagged for errors."""
    if isinstance(file, Path):
        text, label = file.read_text(encoding="utf-8"), str(file)
    else:
        text = resources.files("tokenomy.data").joinpath(file).read_text(encoding="utf-8")
        label = f"tokenomy/data/{file}"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{label}: not valid TOML: {exc}") from exc
    rows = doc.get(key)
    if not isinstance(rows, list) or not rows:
        raise DataFileError(f"{label}: no [[{key}]] rows")
    out: list[Row] = []
    for i, data in enumerate(rows, 1):
        name = data.get("name") or data.get("id") or f"#{i}"
        out.append(Row(f"{label} [[{key}]] {name}", data))
    return out
