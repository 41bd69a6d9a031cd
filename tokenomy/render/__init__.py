"""Rendering for people: a self-contained HTML report and a local dashboard over the ledger.

Both show the same views (``views.collect``), drawn as inline SVG (``charts``) with sortable
tables beneath; nothing on the page loads from the network.
"""

from __future__ import annotations

from tokenomy.render.html_report import render_page
from tokenomy.render.views import Views, collect

__all__ = ["Views", "collect", "render_page", "write_report"]


def write_report(views: Views, out: str) -> int:
    """Write the report page to ``out``; returns its size in bytes."""
    data = render_page(views).encode("utf-8")
    with open(out, "wb") as fh:
        fh.write(data)
    return len(data)
