"""``tokenomy serve``: the report's views as a local web page over the ledger.

Bound to 127.0.0.1 unless told otherwise (a bill is private), on aiohttp. Routes (GET and
HEAD):

- ``/``: the page, filtered by the query (``since``, ``until``, ``model``, ``project``,
  ``source``);
- ``/view``: the views alone, which the page swaps in when the ledger changed;
- ``/api/events``: server-sent events: the ledger's version now and each time an import of
  the watched logs changes it (one watcher for all open tabs imports every ``poll_s`` seconds
  while any tab listens; the import is incremental, so an unchanged file costs one ``stat``);
- ``/api/version``: the ledger's version, after importing whatever the watched logs gained;
- ``/api/report``: the views' data as JSON (the bills exactly as ``report ... --json``).

A request whose ``Host`` header names another machine is refused (421) while the server is
bound to loopback: a web page cannot reach the bill by pointing its own name at 127.0.0.1
(DNS rebinding). One ledger serves every request, one at a time (a lock, in a worker thread), and
holds the DuckDB file only while a request runs, so other tokenomy commands can use the same
ledger while the dashboard is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

from aiohttp import web

from tokenomy.ledger import Filters, Ledger, freshness
from tokenomy.render.html_report import FilterChoices, render_page, render_views
from tokenomy.report import collect

__all__ = ["Dashboard", "filters_from_query"]

T = TypeVar("T")
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


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
        self.poll_s = poll_s
        self.timezone = timezone
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._listeners = 0  # open event streams; the watcher imports only while there are any
        self._seen: str | None = None  # the watcher's last reading
        self._changed: asyncio.Condition | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        """Serve until ``close`` (from another thread) or Ctrl-C."""
        asyncio.run(self._serve())

    def start(self) -> None:
        """Serve from a background thread (for tests and embedding); returns once bound."""
        self._thread = threading.Thread(target=self._run_in_thread, daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._failed is not None:
            raise self._failed

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def _run_in_thread(self) -> None:
        try:
            self.serve_forever()
        except BaseException as exc:  # binding failed: start() re-raises it in the caller
            self._failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._changed = asyncio.Condition()
        watcher = asyncio.create_task(self._watch())
        runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = runner.addresses[0][1]  # the one picked when asked for port 0
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await watcher
            await runner.cleanup()

    async def _watch(self) -> None:
        """One refresh loop for every open tab: while any listens, import the watched logs every
        ``poll_s`` seconds and wake every stream when the version changes (and once at the end)."""
        assert self._stop is not None and self._changed is not None
        while not self._stop.is_set():
            if self._listeners:
                version = await self._blocking(self.refresh)
                if version != self._seen:
                    self._seen = version
                    async with self._changed:
                        self._changed.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_s)
        async with self._changed:
            self._changed.notify_all()

    # -- what the routes answer -----------------------------------------------------------

    # Each answer holds the ledger file only while it runs (``release``), so an ``import`` or
    # ``report`` in another terminal can use the same ledger while the dashboard is open.

    def refresh(self) -> str:
        """Import what the watched logs gained; the ledger's version after it."""
        with self._lock:
            try:
                if self.watched:
                    self.ledger.import_paths(self.watched)
                shared = getattr(self.ledger, "version", None)  # a server: others write too
                return shared() if shared else freshness.read_version(self.ledger.home) or ""
            finally:
                self.ledger.release()

    def page(self, query: str, fragment: bool = False) -> str:
        filters = filters_from_query(query, self.timezone)
        version = self.refresh()
        with self._lock:
            try:
                views = collect(self.ledger, filters)
                if fragment:
                    return render_views(views)
                return render_page(views, version=version, live=True, choices=self._choices())
            finally:
                self.ledger.release()

    def report(self, query: str) -> dict[str, Any]:
        filters = filters_from_query(query, self.timezone)
        version = self.refresh()
        with self._lock:
            try:
                data = collect(self.ledger, filters).to_dict()
            finally:
                self.ledger.release()
        data["version"] = version
        return data

    # -- the web application ---------------------------------------------------------------

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/view", self._view)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/report", self._report)
        app.router.add_get("/api/events", self._events)
        return app

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if self.host in LOOPBACK and request.url.host not in LOOPBACK:
            return web.Response(status=421, text="this dashboard answers only to localhost\n")
        try:
            response: web.StreamResponse = await handler(request)
        except ValueError as exc:  # a bad date or time zone in the query
            return web.Response(status=400, text=f"{exc}\n")
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _page(self, request: web.Request) -> web.Response:
        body = await self._blocking(self.page, request.query_string)
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def _view(self, request: web.Request) -> web.Response:
        body = await self._blocking(self.page, request.query_string, True)
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": await self._blocking(self.refresh)})

    async def _report(self, request: web.Request) -> web.Response:
        data = await self._blocking(self.report, request.query_string)
        return web.Response(text=json.dumps(data), content_type="application/json")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """The ledger's version now and whenever it changes, as server-sent events."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        assert self._stop is not None and self._changed is not None
        self._listeners += 1
        try:
            # Read now (the watcher may have slept while no tab listened), then follow it.
            self._seen = version = await self._blocking(self.refresh)
            sent = None
            while not self._stop.is_set():
                if version != sent:
                    await response.write(f"event: version\ndata: {version}\n\n".encode())
                    sent = version
                else:
                    await response.write(b": alive\n\n")  # notices a closed tab
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), self.poll_s)
                version = self._seen
        finally:
            self._listeners -= 1
        return response

    def _choices(self) -> FilterChoices:
        out: FilterChoices = {}
        for column in ("model", "project", "source"):
            out[column + "s"] = self.ledger.distinct(column)
        return out
