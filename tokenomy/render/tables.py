"""Sortable HTML tables: each cell shows a formatted value and keeps the raw one in ``data-v``
(the page's script sorts by it, and the browser tests read it)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape as _html_escape
from typing import Any

from tokenomy.render.charts import Unit, fmt

__all__ = ["Column", "table"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: Unit | None = None  # None: text


# C0/C1 controls (ESC starts terminal sequences) and bidi overrides: invisible, and able to
# make a copied name lie about itself. Shown as visible escapes, never passed through.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """HTML-escaped, with control characters shown as ``\\xNN`` / ``\\uNNNN``."""
    return _html_escape(_CONTROL.sub(lambda m: ascii(m.group())[1:-1], text))


def _raw(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value.normalize())
    return "" if value is None else str(value)


def _shown(value: Any, unit: Unit | None) -> str:
    if value is None:
        return "–"
    if unit is None:
        return str(value)
    return fmt(float(value), unit, short=False)


def table(
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    *,
    name: str,
    totals: Mapping[str, Any] | None = None,
    caption: str = "",
) -> str:
    """A table named ``name`` (``data-table``), numbers right-aligned, sortable by header."""
    head = "".join(
        f'<th data-type="{"num" if c.unit else "text"}" data-col="{escape(c.key)}" '
        f'tabindex="0">{escape(c.label)}</th>'
        for c in columns
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{"num" if c.unit else "text"}" data-col="{escape(c.key)}" '
            f'data-v="{escape(_raw(row.get(c.key)))}">{escape(_shown(row.get(c.key), c.unit))}</td>'
            for c in columns
        )
        body.append(f"<tr>{cells}</tr>")
    foot = ""
    if totals is not None:
        cells = "".join(
            f'<td class="{"num" if c.unit else "text"}" data-col="{escape(c.key)}" '
            f'data-v="{escape(_raw(totals.get(c.key)))}">'
            f"{escape(_shown(totals.get(c.key), c.unit) if c.key in totals else '')}</td>"
            if i
            else "<td>total</td>"
            for i, c in enumerate(columns)
        )
        foot = f"<tfoot><tr>{cells}</tr></tfoot>"
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table class="sortable" data-table="{escape(name)}">{cap}'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>{foot}</table></div>"
    )
