"""One way to print rows for every command: a Rich table, ``--json`` or ``--csv``.

Data goes to stdout, messages to stderr (as sqlite-utils does).
"""

from __future__ import annotations

import csv
import enum
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tokenomy.jsonable import SCHEMA_VERSION, to_jsonable

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

PIPE_WIDTH = 160  # a pipe with no COLUMNS: wide and fixed, so output is deterministic
FOLD_AT = 40  # a text column wider than this may fold rather than hide a number


def width(stream: Any) -> int | None:
    """The width to draw for: ``COLUMNS`` when set, the terminal's own (Rich detects it), or
    ``PIPE_WIDTH`` for a pipe."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if stream.isatty() else PIPE_WIDTH


# Messages are plain text: names from logs are data, never markup or escape codes.
err = Console(stderr=True, width=width(sys.stderr), markup=False, highlight=False)


def console() -> Console:
    """The stdout console."""
    return Console(soft_wrap=False, width=width(sys.stdout))


# Column headers people read; any other key is shown with spaces for underscores.
LABELS = {
    "cost_usd": "cost ($)",
    "saved_usd": "saved ($)",
    "saved_share": "saved %",
    "token_error": "token count error",
    "duration_s": "duration (s)",
    "total_tokens": "total tokens",
    "cache_write_5m": "cache write 5m",
    "cache_write_1h": "cache write 1h",
    "mean_resent_share": "mean re-sent",
    "cumulative_resent_share": "cumulative re-sent",
    "cost_share": "cost share",
    "budget_usd": "budget ($)",
    "spent_usd": "spent ($)",
    "spent_share": "spent %",
    "projected_usd": "projected ($)",
}
# Below the width a table needs, these go first (then any other column, right to left);
# the first column and the money columns always stay.
_DROP_FIRST = (
    "reasoning", "cache_write_1h", "cache_write_5m", "subagents", "duration_s", "start",
    "token_error", "input", "project", "output", "cache_read", "calls", "saved_share",
)  # fmt: skip


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def _kept(key: str) -> bool:
    return "cost" in key or key.endswith("usd") or key == "saved range"


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


def _text(value: Any, key: str = "") -> Text:
    """A table cell as plain text: Rich markup in data (``[/x]``, ``[bold]``) is not parsed."""
    return Text(visible(_cell(value, key)))


def _cell(value: Any, key: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and key == "token_error":
        return f"±{value:.1%}"
    if isinstance(value, float) and key.endswith("_share"):
        return f"{value:.1%}"
    if isinstance(value, float) and key.endswith("_pct"):
        return f"{value:.1f}%"
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
    out = console()
    shown = _fit(cols, rows, totals, out.width)
    table = Table(title=title or None, show_footer=totals is not None)
    for c in shown:
        numeric = _numeric(rows, c)
        footer = _text(totals.get(c), c) if totals and c in totals else ""
        table.add_column(
            Text(label(c)),
            justify="right" if numeric else "left",
            footer=footer,
            no_wrap=numeric,  # a number is never cut; long names fold onto a second line
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(_text(row.get(c), c) for c in shown))
    out.print(table)
    hidden = [label(c) for c in cols if c not in shown]
    if hidden:
        err.print(
            f"note: {', '.join(hidden)} not shown at {out.width} columns "
            "(a wider terminal, --json or --csv show every column)",
            highlight=False,
        )


def _numeric(rows: Sequence[Mapping[str, Any]], column: str) -> bool:
    """Whether a column holds numbers (right-aligned, never folded)."""
    return any(isinstance(r.get(column), int | float | Decimal) for r in rows)


def _fit(
    cols: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    totals: Mapping[str, Any] | None,
    limit: int,
) -> list[str]:
    """The columns that fit in ``limit`` characters, dropping the least telling first."""

    def need(c: str) -> int:
        cells = [_cell(r.get(c), c) for r in rows]
        if totals and c in totals:
            cells.append(_cell(totals[c], c))
        widest = max((len(x) for x in [label(c), *cells]), default=0)
        numeric = _numeric(rows, c)
        # Text folds onto more lines, so a long name need not push numbers out.
        return (widest if numeric else min(widest, FOLD_AT)) + 3  # padding, border

    widths = {c: need(c) for c in cols}
    shown = list(cols)
    order = [c for c in _DROP_FIRST if c in cols] + [
        c for c in reversed(cols) if c not in _DROP_FIRST
    ]
    for c in order:
        if sum(widths[k] for k in shown) + 1 <= limit:
            break
        if c != cols[0] and not _kept(c):
            shown.remove(c)
    return shown
