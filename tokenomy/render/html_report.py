"""The HTML page: the bill at a glance, then one section per view, each a chart with a legend
and a sortable table beneath. One self-contained file: styles, script and charts inline, and
nothing that loads from the network."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape
from importlib.resources import files
from typing import Any

from tokenomy.cost_by_kind import KIND_LABELS
from tokenomy.render import charts
from tokenomy.render.charts import Series, fmt
from tokenomy.render.tables import Column, table
from tokenomy.report import TREND_MONTHS_AFTER_DAYS, TREND_WEEKS_AFTER_DAYS, Views

__all__ = ["SECTIONS", "FilterChoices", "render_page", "render_views", "script_json"]

FilterChoices = dict[str, list[str]]  # "models" / "projects" / "sources" -> what the ledger has

# (anchor, heading) of each view, in page order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("glance", "The bill at a glance"),
    ("cost", "Cost over time"),
    ("tasks", "Tokens per task"),
    ("trend", "Why the bill changed: volume and price"),
    ("context", "Context tax"),
    ("cache", "Cache efficiency"),
    ("whatif", "What-if: levers ranked"),
    ("selfhost", "Self-host break-even"),
)
SESSIONS_CHARTED = 25  # the largest tasks get a bar; the table lists them all

# The cost comes right after the row's name in every table, so it stays in view on a laptop
# however many token columns follow (a browser test checks it at 1280 px).
_COST = Column("cost_usd", "cost ($)", "usd")
_TOKENS = [  # tokens by kind (the caption says so)
    Column("input", "fresh input", "tokens"),
    Column("cache_read", "cache read", "tokens"),
    Column("cache_write_5m", "write 5 min", "tokens"),
    Column("cache_write_1h", "write 1 h", "tokens"),
    Column("output", "output", "tokens"),
    Column("total_tokens", "total tokens", "tokens"),
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
        [Column("model", "model"), _COST, Column("calls", "calls", "count"), *_TOKENS],
        models.rows,
        name="model",
        totals=models.totals,
        caption="By model (cost in $, tokens by kind)",
    )
    projects = v.bills["project"]
    by_project = table(
        [Column("project", "project"), _COST, Column("calls", "calls", "count"), *_TOKENS],
        projects.rows,
        name="project",
        totals=projects.totals,
        caption="By project (cost in $, tokens by kind)",
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
        Column("total", "total ($)", "usd"),
        *(Column(k, f"{KIND_LABELS[k]} ($)", "usd") for k in kinds),
    ]
    daily = v.bills["daily"]
    tokens_table = table(
        [Column("daily", "day"), _COST, Column("calls", "calls", "count"), *_TOKENS],
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
        _COST,
        Column("project", "project"),
        Column("start", "start"),
        Column("duration_s", "duration (s)", "count"),
        Column("calls", "calls", "count"),
        Column("subagents", "sub-agents", "count"),
        Column("subagent_calls", "sub-agent calls", "count"),
        Column("subagent_tokens", "sub-agent tokens", "tokens"),
        Column("total_tokens", "total (tokens)", "tokens"),
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


_PERIOD_NAMES = {"monthly": "month", "weekly": "week", "daily": "day"}


def _trend(v: Views) -> str:
    """The Jevons view (``tokenomy.trend``): each period's change of the bill split into a
    volume and a price effect, and each model's tokens per task over time."""
    if v.trend is None:
        return _missing("trend", "no calls match these filters")
    t = v.trend
    period = _PERIOD_NAMES[t.grouping]
    labels = [p[0] for p in t.periods]
    steps = [c.to_dict() for c in t.changes]
    step_labels = [f"{labels[i]} → {labels[i + 1]}" for i in range(len(steps))]
    body = ""
    if steps:
        series = [
            Series("volume effect (more or fewer tokens)",
                   [float(s["totals"]["volume_effect_usd"]) for s in steps], charts.PALETTE[0]),
            Series("price effect (dearer or cheaper per token)",
                   [float(s["totals"]["price_effect_usd"]) for s in steps], charts.PALETTE[1]),
        ]  # fmt: skip
        net = Series("change of the bill", [float(s["totals"]["change_usd"]) for s in steps],
                     charts.PALETTE[7])  # fmt: skip
        chart = charts.diverging_bars(
            step_labels, series, unit="usd", y_label="change of the bill ($)",
            x_label=f"from one {period} to the next, {v.filters.timezone}",
            title="The bill's change per period: volume and price effects", net=net,
        )  # fmt: skip
        money = [
            Column("change_usd", "change ($)", "usd"),
            Column("volume_effect_usd", "volume effect ($)", "usd"),
            Column("price_effect_usd", "price effect ($)", "usd"),
            Column("base_cost_usd", "before ($)", "usd"),
            Column("current_cost_usd", "after ($)", "usd"),
        ]
        rest = [
            Column("base_tokens", "tokens before", "tokens"),
            Column("current_tokens", "tokens after", "tokens"),
            Column("base_usd_per_mtok", "$/Mtok before", "usd"),
            Column("current_usd_per_mtok", "$/Mtok after", "usd"),
        ]
        overall = [
            {"step": label, **s["totals"]} for label, s in zip(step_labels, steps, strict=True)
        ]
        totals = {
            k: sum((r[k] for r in overall), Decimal(0))
            for k in ("change_usd", "volume_effect_usd", "price_effect_usd")
        }
        per_model = [
            {"step": label, **row}
            for label, s in zip(step_labels, steps, strict=True)
            for row in s["rows"]
        ]
        body += (
            charts.legend([*series, net])
            + chart
            + table([Column("step", "from → to"), *money, *rest], overall, name="trend",
                    totals=totals, caption="All models: the change, period to period")
            + table([Column("model", "model"), *money, Column("step", "from → to"), *rest],
                    per_model, name="trend_model",
                    caption="Per model: the change, period to period")
        )  # fmt: skip
    else:
        body += (
            f'<p class="note">One {escape(period)} of calls only ({escape(labels[0])}): '
            "nothing to compare it with yet.</p>"
        )
    models = sorted({r["model"] for r in t.per_task})
    index = {p: i for i, p in enumerate(labels)}
    lines = []
    for i, model in enumerate(models):
        values = [math.nan] * len(labels)
        for r in t.per_task:
            if r["model"] == model and r["tokens_per_task"] is not None:
                values[index[r["period"]]] = float(r["tokens_per_task"])
        lines.append(Series(model, values, charts.PALETTE[i % len(charts.PALETTE)]))
    per_task_chart = charts.lines(
        [float(i) for i in range(len(labels))], lines, x_unit="count", y_unit="tokens",
        x_label=f"{period}, {v.filters.timezone}", y_label="tokens per task",
        title="Tokens per task, per model, over time", x_labels=labels,
    )  # fmt: skip
    per_task_table = table(
        [Column("model", "model"), Column("period", period), Column("tasks", "tasks", "count"),
         Column("tokens", "tokens", "tokens"),
         Column("tokens_per_task", "tokens per task", "tokens")],
        t.per_task, name="trend_tokens_per_task", caption="Tokens per task, per model",
    )  # fmt: skip
    body += charts.legend(lines) + per_task_chart + per_task_table
    intro = (
        f"From each {period} to the next (months when the calls span "
        f"{TREND_MONTHS_AFTER_DAYS} days or more, weeks from Monday from "
        f"{TREND_WEEKS_AFTER_DAYS} days, else days; a period with no calls is left out): how "
        "much the bill changed because more or fewer tokens were used (volume) and because each "
        "token cost more or less (price: list prices and cache hits), per model and overall; "
        "volume + price = the change, to the "
        "cent. Cheaper tokens that made the bill grow show as a negative price effect under a "
        "larger volume effect. Then each model's tokens per task (session) over time."
    )
    return _section("trend", body, intro)


def script_json(value: Any) -> str:
    """``value`` as JSON that is inert inside a ``<script>`` element: ``<``, ``>`` and ``&``
    become ``\\u`` escapes (``JSON.parse`` reads them back), so no name can close the block
    (``</script>``) or open a comment that swallows the page (``<!--<script>``)."""
    text = json.dumps(value, separators=(",", ":"))  # ASCII: U+2028/2029 are escaped too
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_views(v: Views) -> str:
    """The views alone (what the dashboard swaps in on refresh), with their data as JSON."""
    builders: Sequence[tuple[str, Callable[[Views], str]]] = (
        ("glance", _glance),
        ("cost", _cost),
        ("tasks", _tasks),
        ("trend", _trend),
    )
    parts = [build(v) for _, build in builders]
    for anchor, reason in _optional_sections(v):
        parts.append(reason if reason.startswith("<section") else _missing(anchor, reason))
    data = script_json(v.to_dict())
    parts.append(f'<script type="application/json" id="tokenomy-data">{data}</script>')
    return "".join(parts)


def _optional_sections(v: Views) -> list[tuple[str, str]]:
    """(anchor, rendered section or the reason it is missing) for the other modules' views."""
    renderers: dict[str, Callable[[Any], str]] = {
        "context": _context,
        "cache": _cache,
        "whatif": _whatif,
        "selfhost": _selfhost,
    }
    out = []
    for anchor, view in (
        ("context", "anatomy"),
        ("cache", "anatomy"),
        ("whatif", "whatif"),
        ("selfhost", "selfhost"),
    ):
        result = v.optional.get(view)
        if result is not None and anchor in renderers:
            out.append((anchor, renderers[anchor](result)))
        else:
            out.append((anchor, v.missing.get(view, f"this build cannot draw the {view} view")))
    return out


def _context(a: Any) -> str:
    """The context tax (``tokenomy.anatomy``): history re-sent on each call of a thread."""
    t, curve = a.context_tax, a.curve
    cards = (
        _card("history re-sent", fmt(100 * t["resent_share"], "pct"), "context_tax.resent_share",
              t["resent_share"], big=True)
        + _card("prompt tokens", fmt(t["prompt_tokens"], "tokens"), "context_tax.prompt_tokens",
                t["prompt_tokens"])
        + _card("re-sent tokens", fmt(t["resent_tokens"], "tokens"), "context_tax.resent_tokens",
                t["resent_tokens"])
        + _card("new tokens", fmt(t["new_tokens"], "tokens"), "context_tax.new_tokens",
                t["new_tokens"])
    )  # fmt: skip
    xs = [float(r["call_index"]) for r in curve]
    series = [
        Series("mean re-sent share of the prompt at this call",
               [100 * r["mean_resent_share"] for r in curve], charts.PALETTE[0]),
        Series("cumulative re-sent share, calls 1..n",
               [100 * r["cumulative_resent_share"] for r in curve], charts.PALETTE[5], dashed=True),
    ]  # fmt: skip
    chart = charts.lines(
        xs, series, x_unit="count", y_unit="pct", x_label="call index within a thread",
        y_label="prompt re-sent (%)", title="Context tax by call index",
    )  # fmt: skip
    rows = [
        {**r, "mean_pct": 100 * r["mean_resent_share"],
         "cumulative_pct": 100 * r["cumulative_resent_share"]}
        for r in curve
    ]  # fmt: skip
    cols = [
        Column("call_index", "call index", "count"),
        Column("threads", "threads reaching it", "count"),
        Column("mean_pct", "mean re-sent (%)", "pct"),
        Column("cumulative_pct", "cumulative re-sent (%)", "pct"),
    ]
    body = f'<div class="cards">{cards}</div>{charts.legend(series)}{chart}' + table(
        cols, rows, name="context_tax_curve", caption="The curve, call by call"
    )
    intro = (
        "Each call re-sends its thread's history: the share of each prompt that was already "
        "sent earlier in the same thread (from tokenomy.anatomy)."
    )
    return _section("context", body, intro)


def _cache(a: Any) -> str:
    """Cache efficiency (``tokenomy.anatomy``): reads, writes, and writes never read again."""
    c = a.cache
    kinds = {k["kind"]: k for k in a.by_kind}
    read = kinds["cache_read"]["tokens"]
    written = c["written_tokens"]
    wasted = c["written_never_read_tokens"]
    cards = (
        _card("prompt served from cache", fmt(100 * c["hit_share"], "pct"), "cache.hit_share",
              c["hit_share"], big=True)
        + _card("cache writes", fmt(written, "tokens"), "cache.written_tokens", written)
        + _card("written, never read", fmt(wasted, "tokens"), "cache.written_never_read_tokens",
                wasted)
        + _card("wasted writes cost", _money(c["wasted_write_cost_usd"]),
                "cache.wasted_write_cost_usd", c["wasted_write_cost_usd"])
        + _card("premium over plain input", _money(c["wasted_write_premium_usd"]),
                "cache.wasted_write_premium_usd", c["wasted_write_premium_usd"])
    )  # fmt: skip
    reused = written - wasted
    labels = ["cache reads", "cache writes"]
    series = [
        Series("read from cache", [read, 0], charts.PALETTE[4]),
        Series("written, read again", [0, reused], charts.PALETTE[2]),
        Series("expired before reuse", [0, c["expired_before_reuse_tokens"]], charts.PALETTE[5]),
        Series("not reused (history rewritten)",
               [0, c["not_reused_history_rewritten_tokens"]], charts.PALETTE[3]),
        Series("written at a thread's end", [0, c["written_at_thread_end_tokens"]],
               charts.PALETTE[1]),
    ]  # fmt: skip
    writes_chart = charts.hbars(
        ["cache writes"], [Series(x.name, x.values[1:], x.colour) for x in series[1:]],
 unit="tokens", x_label="tokens written to the cache",
        title="Cache writes: read again or wasted",
    )  # fmt: skip
    both_chart = charts.hbars(
        labels, series, unit="tokens", x_label="tokens", title="Cache reads and writes"
    )
    rows = [
        {"what": "read from cache", "tokens": read, "cost_usd": kinds["cache_read"]["cost_usd"]},
        {"what": "written (5 min)", "tokens": kinds["cache_write_5m"]["tokens"],
         "cost_usd": kinds["cache_write_5m"]["cost_usd"]},
        {"what": "written (1 h)", "tokens": kinds["cache_write_1h"]["tokens"],
         "cost_usd": kinds["cache_write_1h"]["cost_usd"]},
        {"what": "written, never read", "tokens": wasted, "cost_usd": c["wasted_write_cost_usd"]},
        {"what": "… expired before reuse", "tokens": c["expired_before_reuse_tokens"]},
        {"what": "… history rewritten", "tokens": c["not_reused_history_rewritten_tokens"]},
        {"what": "… at a thread's end", "tokens": c["written_at_thread_end_tokens"]},
    ]  # fmt: skip
    cols = [Column("what", "cache"), Column("tokens", "tokens", "tokens"),
            Column("cost_usd", "cost ($)", "usd")]  # fmt: skip
    body = (
        f'<div class="cards">{cards}</div>{charts.legend(series)}{both_chart}{writes_chart}'
        + table(cols, rows, name="cache", caption="Reads, writes and wasted writes")
    )
    intro = (
        "How much of the prompt the cache served, and which written tokens no later call read "
        "(from tokenomy.anatomy)."
    )
    return _section("cache", body, intro)


def _whatif(w: Any) -> str:
    """The what-if ranking (``tokenomy.whatif``): each lever replayed on the real calls."""
    data = w.to_dict()
    rows = [
        {
            **r,
            "saved_pct": None if r["saved_share"] is None else 100 * r["saved_share"],
            "token_error_pct": 100 * r["token_error"],
            "assumptions": "; ".join(r["assumptions"]),
        }
        for r in data["scenarios"]
    ]
    saving = [r for r in rows if r["saved_usd"] is not None and r["saved_usd"] > 0]
    series = [Series("saved ($) against the replayed bill",
                     [float(r["saved_usd"]) for r in saving], charts.PALETTE[2])]  # fmt: skip
    chart = charts.hbars(
        [r["scenario"] for r in saving], series, unit="usd",
        x_label="dollars saved on these calls ($)", title="Levers ranked by dollars saved",
    )  # fmt: skip
    cards = (
        _card("replayed bill", _money(data["baseline_cost_usd"]), "whatif.baseline_cost_usd",
              data["baseline_cost_usd"], big=True)
        + _card("reported bill", _money(data["reported_cost_usd"]), "whatif.reported_cost_usd",
                data["reported_cost_usd"])
    )  # fmt: skip
    if saving:
        top = max(saving, key=lambda r: r["saved_usd"])
        cards += _card("most saved", f"{_money(top['saved_usd'])} ({fmt(top['saved_pct'], 'pct')})",
                       "whatif.most_saved_usd", top["saved_usd"])  # fmt: skip
    cols = [
        Column("scenario", "scenario"),
        Column("cost_usd", "cost ($)", "usd"),
        Column("saved_usd", "saved ($)", "usd"),
        Column("saved_low_usd", "saved, low ($)", "usd"),
        Column("saved_high_usd", "saved, high ($)", "usd"),
        Column("saved_pct", "saved (%)", "pct"),
        Column("calls", "calls", "count"),
        Column("token_error_pct", "token count error (%)", "pct"),
        Column("assumptions", "assumptions"),
    ]
    unpriced = [r["scenario"] for r in rows if r["saved_usd"] is None]
    costs_more = len(rows) - len(saving) - len(unpriced)
    note = f" {costs_more} scenario(s) cost more; the table lists them." if costs_more else ""
    if unpriced:
        note += (
            f" Unpriced (a model with no known price, saving unknown, ranked last): "
            f"{', '.join(unpriced)}."
        )
    error = data.get("replay_error")
    if error:
        note += (
            f" Savings as ranges: the replayed baseline is {error['bill']:+.1%} from the "
            f"reported bill ({error['per_call']:.1%} summed call by call); each saving is "
            f"shown x (1 -/+ {error['per_call']:.1%}), widened by a lever's token-count error."
        )
    body = (
        f'<div class="cards">{cards}</div>{charts.legend(series)}{chart}'
        f'<p class="note">Answer quality: {escape(data["quality"])}.{escape(note)}</p>'
        + table(cols, rows, name="whatif", caption="Every scenario, ranked by dollars saved")
    )
    intro = "Each lever replayed call by call on these calls, then the best combination."
    return _section("whatif", body, intro)


def _selfhost(view: Any) -> str:
    """The self-host break-even (``tokenomy.selfhost``): your traffic on your own GPUs."""
    data = view.to_dict()
    w = data["workload"]
    # A log axis: "your volume" is often thousands of times below the cross-over.
    curve = {k: [r for r in rows if r["tokens_per_day"] > 0] for k, rows in data["curve"].items()}
    xs = [float(r["tokens_per_day"]) for r in curve["off"]]
    series = [
        Series(f"self-hosted {data['model']} on {data['gpus_per_replica']}x {data['gpu']}",
               [r["self_host_monthly"] for r in curve["off"]], charts.PALETTE[0]),
        Series(f"… with speculative decoding ({data['speculation']})",
               [r["self_host_monthly"] for r in curve["on"]], charts.PALETTE[4], dashed=True),
    ]  # fmt: skip
    shown = [m for m in dict.fromkeys(data["apis"]) if m in curve["off"][0]]
    for i, api in enumerate(shown):
        colour = charts.PALETTE[(1, 2, 3, 5, 7)[i % 5]]
        series.append(Series(f"API: {api}", [r[api] for r in curve["off"]], colour))
    here = (float(w["tokens_per_day"]), f"you are here: {fmt(w['tokens_per_day'], 'tokens')}/day")
    chart = charts.lines(
        xs, series, x_unit="tokens", y_unit="usd",
        x_label="tokens a day (input + output, log scale)", y_label="monthly cost ($)",
        title="Self-host break-even: monthly cost by daily volume",
        log_x=True, marker=here if here[0] > 0 else None,
    )  # fmt: skip
    off = [r for r in data["rows"] if r["speculation"] == "off"]
    crossings = [r["crossover_tokens_per_day"] for r in off if r["crossover_tokens_per_day"]]
    cards = (
        _card("your volume", f"{fmt(w['tokens_per_day'], 'tokens')} tokens/day",
              "selfhost.workload.tokens_per_day", w["tokens_per_day"], big=True)
        + _card("self-host, one replica", _money(off[0]["self_host_monthly"]) + "/month",
                "selfhost.self_host_monthly", off[0]["self_host_monthly"])
    )  # fmt: skip
    if crossings:
        first = min(crossings)
        cards += _card("first cross-over", f"{fmt(first, 'tokens')} tokens/day",
                       "selfhost.first_crossover_tokens_per_day", first)  # fmt: skip
    rows = [{**r, "crossover": r["crossover_tokens_per_day"]} for r in data["rows"]]
    cols = [
        Column("speculation", "speculation"),
        Column("api_model", "API model"),
        Column("api_monthly", "API monthly ($)", "usd"),
        Column("self_host_monthly", "self-host monthly ($)", "usd"),
        Column("gpus", "GPUs", "count"),
        Column("api_per_m_tokens", "API $/Mtok at your mix", "usd"),
        Column("crossover", "cross-over (tokens/day)", "tokens"),
        Column("cheaper", "cheaper at your volume"),
    ]
    note = (
        f"An estimate from tokenomy's calibrated serving model (median error on published "
        f"measurements in the README), at your mix: {fmt(100 * w['output_share'], 'pct')} "
        f"output, {fmt(100 * w['cached_share'], 'pct')} of prompts cached (the engine's prefix "
        f"cache assumed to hit as often), busiest hour {w['peak_factor']:.1f}x the mean, "
        f"measured over {w['days']:,.1f} days. GPUs rented around the clock at the dated "
        "price in gpus.toml; API prices from genai-prices today. Answer quality is not compared."
    )
    body = (
        f'<div class="cards">{cards}</div>{charts.legend(series)}{chart}'
        f'<p class="note">{escape(note)}</p>'
        + table(cols, rows, name="selfhost", caption="Monthly cost at your volume, per API")
    )
    intro = (
        "What your traffic would cost on your own GPUs, and the daily volume where that beats "
        "each API (`tokenomy selfhost --from-ledger` for other models and GPUs)."
    )
    return _section("selfhost", body, intro)


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
        f'<body data-version="{escape(version)}">'
        "<header><h1>tokenomy: where the money goes</h1>"
        f'<div class="sub">{escape(" · ".join(scope))}</div>'
        f"<nav>{nav}</nav>{form}</header>"
        f'<main id="views">{render_views(v)}</main>'
        f"<script>{script}</script></body></html>"
    )
