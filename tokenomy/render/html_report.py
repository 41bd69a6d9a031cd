"""The HTML page: the bill at a glance, then one section per view, each a chart with a legend
and a sortable table beneath. One self-contained file: styles, script and charts inline, and
nothing that loads from the network."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape
from importlib.resources import files
from typing import Any

from tokenomy.render import charts
from tokenomy.render.charts import Series, fmt
from tokenomy.render.cost_by_kind import KIND_LABELS
from tokenomy.render.tables import Column, table
from tokenomy.render.views import Views

__all__ = ["SECTIONS", "FilterChoices", "render_page", "render_views"]

FilterChoices = dict[str, list[str]]  # "models" / "projects" / "sources" -> what the ledger has

# (anchor, heading) of each view, in page order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("glance", "The bill at a glance"),
    ("cost", "Cost over time"),
    ("tasks", "Tokens per task"),
    ("context", "Context tax"),
    ("cache", "Cache efficiency"),
    ("whatif", "What-if: levers ranked"),
    ("selfhost", "Self-host break-even"),
)
SESSIONS_CHARTED = 25  # the largest tasks get a bar; the table lists them all

_TOKENS = [  # tokens by kind (the caption says so), then the cost
    Column("input", "fresh input", "tokens"),
    Column("cache_read", "cache read", "tokens"),
    Column("cache_write_5m", "write 5 min", "tokens"),
    Column("cache_write_1h", "write 1 h", "tokens"),
    Column("output", "output", "tokens"),
    Column("total_tokens", "total tokens", "tokens"),
    Column("cost_usd", "cost ($)", "usd"),
]


def _asset(name: str) -> str:
    return (files("tokenomy.render") / "assets" / name).read_text(encoding="utf-8")


def _money(value: Any) -> str:
    return fmt(float(value), "usd", short=False)


def _card(label: str, value: str, key: str, raw: Any, big: bool = False) -> str:
    raw_text = str(raw.normalize()) if isinstance(raw, Decimal) else str(raw)
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value{" big" if big else ""}" data-key="{escape(key)}" '
        f'data-v="{escape(raw_text)}">{escape(value)}</div></div>'
    )


def _section(anchor: str, body: str, intro: str = "") -> str:
    heading = dict(SECTIONS)[anchor]
    note = f'<p class="sub">{escape(intro)}</p>' if intro else ""
    return (
        f'<section id="{anchor}" data-view="{anchor}"><h2>{escape(heading)}</h2>{note}{body}'
        "</section>"
    )


def _missing(anchor: str, reason: str) -> str:
    return _section(
        anchor,
        f'<div class="missing" data-missing="{anchor}"><b>Not available in this build.</b> '
        f"{escape(reason)}.</div>",
    )


def _glance(v: Views) -> str:
    t = v.bills["daily"].totals
    days = [r["daily"] for r in v.bills["daily"].rows]
    prompt = t["input"] + t["cache_read"] + t["cache_write_5m"] + t["cache_write_1h"]
    cached_share = 100 * t["cache_read"] / prompt if prompt else 0.0
    tasks = len(v.bills["session"].rows)
    per_task = t["cost_usd"] / tasks if tasks else Decimal(0)
    cards = [
        _card("total cost", _money(t["cost_usd"]), "totals.cost_usd", t["cost_usd"], big=True),
        _card("calls", f"{t['calls']:,}", "totals.calls", t["calls"]),
        _card(
            "tokens",
            fmt(t["total_tokens"], "tokens") + " tokens",
            "totals.total_tokens",
            t["total_tokens"],
        ),
        _card("tasks (sessions)", f"{tasks:,}", "tasks", tasks),
        _card("cost per task", _money(per_task), "cost_per_task", round(per_task, 6)),
        _card(
            "prompt served from cache",
            fmt(cached_share, "pct"),
            "cache_read_share_pct",
            round(cached_share, 3),
        ),
    ]
    notes = []
    if days:
        notes.append(f"{days[0]} to {days[-1]} ({v.filters.timezone}), {len(days)} active day(s)")
    if t["unpriced_calls"]:
        notes.append(f"{t['unpriced_calls']:,} call(s) of unknown models are counted, not priced")
    if t["lower_bound_calls"]:
        notes.append(
            f"{t['lower_bound_calls']:,} call(s) come from logs that never wrote the final output "
            "count: their output is a lower bound"
        )
    models = v.bills["model"]
    by_model = table(
        [Column("model", "model"), Column("calls", "calls", "count"), *_TOKENS],
        models.rows,
        name="model",
        totals=models.totals,
        caption="By model (cost in $, tokens by kind)",
    )
    projects = v.bills["project"]
    by_project = table(
        [Column("project", "project"), Column("calls", "calls", "count"), *_TOKENS],
        projects.rows,
        name="project",
        totals=projects.totals,
        caption="By project (tokens by kind, cost in $)",
    )
    cost_series = [Series("cost ($)", [float(r["cost_usd"]) for r in models.rows])]
    model_chart = charts.hbars(
        [str(r["model"]) for r in models.rows],
        cost_series,
        unit="usd",
        x_label="cost ($) by model",
        title="Cost by model",
    )
    body = (
        f'<div class="cards">{"".join(cards)}</div>'
        f'<p class="note">{escape("; ".join(notes))}.</p>{model_chart}{by_model}{by_project}'
    )
    return _section("glance", body)


def _cost(v: Views) -> str:
    c = v.cost
    kinds = list(c.usd)
    series = [
        Series(KIND_LABELS[k], [float(x) for x in c.usd[k]], charts.PALETTE[i])
        for i, k in enumerate(kinds)
    ]
    period = "day" if c.grouping == "daily" else "week (from Monday)"
    chart = charts.stacked_bars(
        c.periods,
        series,
        unit="usd",
        y_label="cost ($)",
        x_label=f"{period}, {v.filters.timezone}",
        title="Cost over time, stacked by token kind",
    )
    rows = [
        {"period": p, **{k: c.usd[k][i] for k in kinds}, "total": c.total(i)}
        for i, p in enumerate(c.periods)
    ]
    totals = {k: sum(c.usd[k], Decimal(0)) for k in kinds}
    totals["total"] = sum(totals.values(), Decimal(0))
    cols = [
        Column("period", period),
        *(Column(k, f"{KIND_LABELS[k]} ($)", "usd") for k in kinds),
        Column("total", "total ($)", "usd"),
    ]
    daily = v.bills["daily"]
    tokens_table = table(
        [Column("daily", "day"), Column("calls", "calls", "count"), *_TOKENS],
        daily.rows,
        name="daily",
        totals=daily.totals,
        caption="Tokens by day, by kind",
    )
    body = (
        charts.legend(series)
        + chart
        + table(cols, rows, name="cost_by_kind", totals=totals, caption="Cost by token kind")
        + f"<details><summary>Tokens by day</summary>{tokens_table}</details>"
    )
    return _section(
        "cost", body, "Each bar is what the period cost, split by the kind of token it paid for."
    )


def _tasks(v: Views) -> str:
    sessions = v.bills["session"]
    split = {s.session: s for s in v.session_tokens}
    largest = sorted(sessions.rows, key=lambda r: r["total_tokens"], reverse=True)
    charted = largest[:SESSIONS_CHARTED]
    labels = [f"{r.get('project') or '?'} · {str(r['session'])[:8]}" for r in charted]
    main = [split[r["session"]].main_tokens for r in charted]
    subagents = [split[r["session"]].subagent_tokens for r in charted]
    series = [
        Series("main thread", main, charts.PALETTE[0]),
        Series("sub-agents", subagents, charts.PALETTE[1]),
    ]
    chart = charts.hbars(
        labels, series, unit="tokens", x_label="tokens per task", title="Tokens per task"
    )
    rows = [{**r, "subagent_tokens": split[r["session"]].subagent_tokens} for r in sessions.rows]
    cols = [
        Column("session", "session"),
        Column("project", "project"),
        Column("start", "start"),
        Column("duration_s", "duration (s)", "count"),
        Column("calls", "calls", "count"),
        Column("subagents", "sub-agents", "count"),
        Column("subagent_calls", "sub-agent calls", "count"),
        Column("subagent_tokens", "sub-agent tokens", "tokens"),
        Column("total_tokens", "total (tokens)", "tokens"),
        Column("cost_usd", "cost ($)", "usd"),
        Column("models", "models"),
    ]
    shown = min(len(charted), SESSIONS_CHARTED)
    intro = (
        f"The {shown} largest of {len(sessions.rows)} tasks, each session with the sub-agents "
        "it spawned; the table lists every task."
    )
    body = (
        charts.legend(series)
        + chart
        + table(cols, rows, name="session", totals=sessions.totals, caption="Every task")
    )
    return _section("tasks", body, intro)


def render_views(v: Views) -> str:
    """The views alone (what the dashboard swaps in on refresh), with their data as JSON."""
    builders: Sequence[tuple[str, Callable[[Views], str]]] = (
        ("glance", _glance),
        ("cost", _cost),
        ("tasks", _tasks),
    )
    parts = [build(v) for _, build in builders]
    for anchor, reason in _optional_sections(v):
        parts.append(reason if reason.startswith("<section") else _missing(anchor, reason))
    data = json.dumps(v.to_dict(), separators=(",", ":")).replace("</", "<\\/")
    parts.append(f'<script type="application/json" id="tokenomy-data">{data}</script>')
    return "".join(parts)


def _optional_sections(v: Views) -> list[tuple[str, str]]:
    """(anchor, rendered section or the reason it is missing) for the other modules' views."""
    out = []
    for anchor, view in (
        ("context", "anatomy"),
        ("cache", "anatomy"),
        ("whatif", "whatif"),
        ("selfhost", "selfhost"),
    ):
        out.append((anchor, v.missing.get(view, f"{view} has no renderer yet")))
    return out


def _filters_form(v: Views, choices: FilterChoices) -> str:
    f = v.filters

    def select(name: str, label: str, chosen: Sequence[str]) -> str:
        opts = "".join(
            f'<option value="{escape(o)}"{" selected" if o in chosen else ""}>{escape(o)}</option>'
            for o in choices.get(name + "s", [])
        )
        return (
            f'<label>{label}<select name="{name}"><option value="">all</option>{opts}'
            "</select></label>"
        )

    return (
        '<form class="filters" method="get" action="/">'
        f'<label>from<input type="date" name="since" value="{f.since or ""}"></label>'
        f'<label>to<input type="date" name="until" value="{f.until or ""}"></label>'
        + select("model", "model", f.models)
        + select("project", "project", f.projects)
        + select("source", "source", f.sources)
        + '<button type="submit">apply</button>'
        '<span class="live" id="live-status">live refresh on</span></form>'
    )


def render_page(
    v: Views,
    *,
    version: str = "",
    live: bool = False,
    choices: FilterChoices | None = None,
    poll_ms: int = 2000,
) -> str:
    """The whole page. ``live``: the dashboard's page, with filters and refresh."""
    nav = "".join(f'<a href="#{a}">{escape(h)}</a>' for a, h in SECTIONS)
    f = v.filters
    scope = [f"generated {v.generated:%Y-%m-%d %H:%M} UTC", f"days in {f.timezone}"]
    for label, values in (("model", f.models), ("project", f.projects), ("source", f.sources)):
        if values:
            scope.append(f"{label}: {', '.join(values)}")
    if f.since or f.until:
        scope.append(f"from {f.since or 'the start'} to {f.until or 'the end'}")
    form = _filters_form(v, choices or {}) if live else ""
    script = _asset("report.js") + (_asset("live.js") if live else "")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        "<title>tokenomy: where the money goes</title>"
        f"<style>{_asset('report.css')}</style></head>"
        f'<body data-version="{escape(version)}" data-poll="{poll_ms}">'
        "<header><h1>tokenomy: where the money goes</h1>"
        f'<div class="sub">{escape(" · ".join(scope))}</div>'
        f"<nav>{nav}</nav>{form}</header>"
        f'<main id="views">{render_views(v)}</main>'
        f"<script>{script}</script></body></html>"
    )
