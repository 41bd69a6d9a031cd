"""Rendering for people: a self-contained HTML report and a local dashboard over the ledger.

Both draw the report model (``tokenomy.report.Views``) as inline SVG (``charts``) with sortable
tables beneath; nothing here queries the ledger, and nothing on the page loads from the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenomy.render.html_report import render_page

if TYPE_CHECKING:
    from tokenomy.report import Views

__all__ = ["render_page", "write_report"]


def write_report(views: Views, out: str) -> int:
    """Write the report page to ``out``; returns its size in bytes."""
    data = render_page(views).encode("utf-8")
    with open(out, "wb") as fh:
        fh.write(data)
    return len(data)
