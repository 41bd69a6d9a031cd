"""``tokenomy serve``: the report's views as a local web page over the ledger.

Bound to 127.0.0.1 unless told otherwise (a bill is private). Routes:

- ``/``: the page, filtered by the query (``since``, ``until``, ``model``, ``project``,
  ``source``);
- ``/view``: the views alone, which the page swaps in when the ledger changed;
- ``/api/version``: the ledger's version, after importing whatever the watched logs gained
  (the import is incremental: an unchanged file costs one ``stat``);
- ``/api/report``: the views' data as JSON (the bills exactly as ``report ... --json``).

One ledger connection serves every request, one at a time (a lock), which is plenty for one
person's dashboard and keeps DuckDB single-threaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tokenomy.ledger import Filters, Ledger, freshness
from tokenomy.render.html_report import FilterChoices, render_page, render_views
from tokenomy.report import collect

__all__ = ["Dashboard", "filters_from_query"]


def filters_from_query(query: str, timezone: str = "UTC") -> Filters:
    """Filters from a page's query string; empty values mean "all"."""
    q = {k: [v for v in vs if v] for k, vs in parse_qs(query).items()}

    def day(name: str) -> date | None:
        values = q.get(name)
        return date.fromisoformat(values[0]) if values else None

    return Filters(
        since=day("since"),
        until=day("until"),
        models=tuple(q.get("model", ())),
        projects=tuple(q.get("project", ())),
        sources=tuple(q.get("source", ())),
        timezone=(q.get("timezone") or [timezone])[0],
    )


class Dashboard:
    """The server and the ledger it reads; ``serve_forever`` or ``start`` (a thread)."""

    def __init__(
        self,
        ledger: Ledger,
        watched: Sequence[Path | str],
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        poll_s: float = 2.0,
        timezone: str = "UTC",
    ) -> None:
        self.ledger = ledger
        self.watched = list(watched)
        self.poll_ms = int(poll_s * 1000)
        self.timezone = timezone
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> None:
        """Serve from a background thread (for tests and embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()

    # -- what the routes answer -----------------------------------------------------------

    def refresh(self) -> str:
        """Import what the watched logs gained; the ledger's version after it."""
        with self._lock:
            if self.watched:
                self.ledger.import_paths(self.watched)
            shared = getattr(self.ledger, "version", None)  # a server: others write too
            return shared() if shared else freshness.read_version(self.ledger.home) or ""

    def page(self, query: str, fragment: bool = False) -> str:
        filters = filters_from_query(query, self.timezone)
        version = self.refresh()
        with self._lock:
            views = collect(self.ledger, filters)
            if fragment:
                return render_views(views)
            return render_page(
                views, version=version, live=True, choices=self._choices(), poll_ms=self.poll_ms
            )

    def report(self, query: str) -> dict[str, Any]:
        filters = filters_from_query(query, self.timezone)
        version = self.refresh()
        with self._lock:
            data = collect(self.ledger, filters).to_dict()
        data["version"] = version
        return data

    def _choices(self) -> FilterChoices:
        out: FilterChoices = {}
        for column in ("model", "project", "source"):
            out[column + "s"] = self.ledger.distinct(column)
        return out


def _handler(dashboard: Dashboard) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "tokenomy"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            try:
                if url.path == "/":
                    self._send(dashboard.page(url.query), "text/html; charset=utf-8")
                elif url.path == "/view":
                    self._send(dashboard.page(url.query, True), "text/html; charset=utf-8")
                elif url.path == "/api/version":
                    self._json({"version": dashboard.refresh()})
                elif url.path == "/api/report":
                    self._json(dashboard.report(url.query))
                else:
                    self.send_error(HTTPStatus.NOT_FOUND)
            except ValueError as exc:  # a bad date or time zone in the query
                self.send_error(HTTPStatus.BAD_REQUEST, str(exc))

        def _json(self, data: Any) -> None:
            self._send(json.dumps(data), "application/json")

        def _send(self, body: str, content_type: str) -> None:
            data = body.encode("utf-8")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the terminal is for the URL and errors

    return Handler
