"""One way to print rows for every command: a Rich table, ``--json`` or ``--csv``.

Data goes to stdout, messages to stderr (as sqlite-utils does).
"""

from __future__ import annotations

import csv
import enum
import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tokenomy.jsonable import to_jsonable

__all__ = [
    "SCHEMA_VERSION",
    "Format",
    "console",
    "csv_cell",
    "emit",
    "err",
    "to_jsonable",
    "visible",
]

# The version of every ``--json`` output's layout (docs/json.md): bumped when a key is renamed,
# removed or changes meaning; new keys may appear within a version.
SCHEMA_VERSION = 1

# Not a terminal (a pipe, a test): a fixed wide width and no colour, so output is deterministic.
# Messages are plain text: names from logs are data, never markup or escape codes.
err = Console(
    stderr=True, width=None if sys.stderr.isatty() else 160, markup=False, highlight=False
)


def console() -> Console:
    """The stdout console."""
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


# C0/C1 controls (ESC starts terminal sequences: colours, window titles, a cleared screen) and
# bidi overrides: data from logs may hold any of them, and none may reach a terminal raw.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV Injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), not obeyed."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


def csv_cell(value: Any) -> Any:
    """A CSV field: text that a spreadsheet would run as a formula gets a leading ``'`` (as
    OWASP recommends); numbers are left as they are."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return visible(value)


def _text(value: Any) -> Text:
    """A table cell as plain text: Rich markup in data (``[/x]``, ``[bold]``) is not parsed."""
    return Text(visible(_cell(value)))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        sign, size = ("-" if value < 0 else ""), abs(value)
        if size and size < Decimal("0.01"):
            return f"{sign}${size:.4f}"
        return f"{sign}${size:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: Format,
    *,
    title: str = "",
    totals: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Print ``rows`` (and a totals row) in the chosen format.

    JSON is ``{"schema_version": N, "rows": [...], "totals": {...}, **extra}`` so scripts get
    the totals too; each command's keys are documented in docs/json.md.
    """
    cols = list(columns or (rows[0].keys() if rows else (totals or {}).keys()))
    if fmt is Format.json:
        payload: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "rows": [dict(r) for r in rows],
        }
        if totals is not None:
            payload["totals"] = dict(totals)
        payload.update(extra or {})
        sys.stdout.write(json.dumps(to_jsonable(payload), indent=2) + "\n")
        return
    if fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in cols])
        for row in rows:
            writer.writerow([csv_cell(to_jsonable(row.get(c))) for c in cols])
        return
    table = Table(title=title or None, show_footer=totals is not None)
    for c in cols:
        numeric = any(isinstance(r.get(c), int | float | Decimal) for r in rows)
        footer = _text(totals.get(c)) if totals and c in totals else ""
        table.add_column(
            _text(c.replace("_", " ")), justify="right" if numeric else "left", footer=footer
        )
    for row in rows:
        table.add_row(*(_text(row.get(c)) for c in cols))
    console().print(table)
