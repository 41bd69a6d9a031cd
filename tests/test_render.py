"""The HTML report and the dashboard's server, without a browser: structure, exact numbers,
self-containment and size on the real logs."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tokenomy.bill import bill
from tokenomy.cli import app
from tokenomy.cost_by_kind import cost_by_kind
from tokenomy.ledger import Filters, Ledger
from tokenomy.render import charts, render_page
from tokenomy.render.dashboard import Dashboard, filters_from_query
from tokenomy.render.html_report import SECTIONS
from tokenomy.report import collect, trend_periods

runner = CliRunner()
MAX_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def ledger(logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    with Ledger(tmp_path_factory.mktemp("home")) as led:
        led.import_paths([logs])
        yield led


@pytest.fixture(scope="module")
def report(logs: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    home = tmp_path_factory.mktemp("cli-home")
    result = runner.invoke(
        app, ["report", "html", str(logs), "--out", str(out), "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def embedded(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="tokenomy-data">(.*?)</script>', page)
    assert match, "the page embeds its data"
    data: dict[str, Any] = json.loads(match.group(1).replace("<\\/", "</"))
    return data


def cli_json(home: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    data: dict[str, Any] = json.loads(out[out.index("{") :])
    return data


def test_report_is_small_and_self_contained(report: str) -> None:
    assert len(report.encode()) <= MAX_BYTES
    # Nothing that could load from the network: no external src/href, no imports in CSS.
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', report)
    assert "<script src" not in report and 'rel="stylesheet"' not in report
    assert "@import" not in report and "url(http" not in report


def test_report_has_every_view_in_order(report: str) -> None:
    found = re.findall(r'<section id="([a-z]+)" data-view=', report)
    assert found == [anchor for anchor, _ in SECTIONS]
    # The bill views are charts with a legend and a sortable table beneath.
    for anchor in ("cost", "tasks"):
        body = report.split(f'<section id="{anchor}"')[1].split("</section>")[0]
        assert '<svg class="chart"' in body and 'class="legend"' in body
        assert '<table class="sortable"' in body


def test_report_numbers_equal_the_cli_json(report: str, logs: Path, tmp_path: Path) -> None:
    data = embedded(report)
    for grouping in ("daily", "session", "model", "project"):
        assert data["bills"][grouping] | {"grouping": grouping} == {
            "grouping": grouping,
            **{k: v for k, v in cli_json(tmp_path, "report", grouping, str(logs)).items()
               if k != "schema_version"},  # the page embeds the bill, not the JSON layout
        }  # fmt: skip
    totals = data["bills"]["daily"]["totals"]
    assert totals["calls"] == 697
    assert totals["cost_usd"] == 38.1917446  # 38.1909345 from the agent logs + $0.0008101 API
    card = re.search(r'data-key="totals.cost_usd" data-v="([0-9.]+)">\$38.19<', report)
    assert card and Decimal(card.group(1)) == Decimal("38.1917446")


def test_cost_by_kind_adds_up_to_each_days_bill_exactly(ledger: Ledger) -> None:
    split = cost_by_kind(ledger, Filters())
    daily = bill(ledger, "daily", Filters())
    assert split.periods == [r["daily"] for r in daily.rows]
    for i, row in enumerate(daily.rows):
        assert split.total(i) == row["cost_usd"]
    # Cache reads are most of this bill: 54.6M of 56.7M tokens, at a tenth of the input rate.
    total = sum(split.total(i) for i in range(len(split.periods)))
    assert 0.55 < sum(split.usd["cache_read"]) / total < 0.7
    assert "other" not in split.usd  # no per-request fees in these models


def test_tasks_split_main_thread_and_subagents(ledger: Ledger) -> None:
    views = collect(ledger)
    by_session = {s.session: s for s in views.session_tokens}
    for row in views.bills["session"].rows:
        s = by_session[row["session"]]
        assert s.main_tokens + s.subagent_tokens == row["total_tokens"]
    fa = by_session["fa812bfe-b295-4cca-9c2f-fdf01028cb46"]
    assert fa.subagent_tokens > 0  # 21 calls from its Haiku sub-agents and compaction


def test_filters_narrow_every_view(ledger: Ledger) -> None:
    views = collect(ledger, Filters(sources=("codex",)))
    assert views.bills["daily"].totals["calls"] == 116
    assert [r["model"] for r in views.bills["model"].rows] == ["gpt-5.3-codex"]
    page = render_page(views)
    assert "source: codex" in page


def test_units_and_palette() -> None:
    assert charts.fmt(38.1917446, "usd") == "$38.19"
    assert charts.fmt(0.0031, "usd") == "$0.0031"
    assert charts.fmt(56_745_395, "tokens") == "56.7M"
    assert charts.fmt(56_745_395, "tokens", short=False) == "56,745,395"
    assert charts.fmt(96.54, "pct") == "96.5%"
    assert len(set(charts.PALETTE)) == 8  # Okabe-Ito


def test_filters_from_query() -> None:
    f = filters_from_query("since=2026-02-01&until=&model=claude-opus&model=gpt&source=")
    assert f.since is not None and f.since.isoformat() == "2026-02-01"
    assert f.until is None and f.models == ("claude-opus", "gpt") and f.sources == ()


def test_dashboard_serves_page_view_and_json(ledger: Ledger, licensed_logs: Path) -> None:
    dash = Dashboard(ledger, [licensed_logs], port=0)
    dash.start()
    try:
        assert dash.url.startswith("http://127.0.0.1:")

        def get(path: str) -> str:
            with urllib.request.urlopen(dash.url + path, timeout=10) as resp:
                body: bytes = resp.read()
            return body.decode()

        version = json.loads(get("api/version"))["version"]
        assert len(version) == 32
        page = get("?model=claude-haiku")
        assert 'class="filters"' in page and f'data-version="{version}"' in page
        haiku = embedded(page)["bills"]["daily"]["totals"]
        assert haiku["calls"] == 25
        data = json.loads(get("api/report?project=spotter-a0y"))
        assert data["bills"]["daily"]["totals"]["calls"] == 178
        assert "<section" in get("view") and "<html" not in get("view")
        assert '<section id="trend"' in get("view") and data["trend"]["periods"]
        with pytest.raises(urllib.error.HTTPError) as bad:
            get("?since=yesterday")
        assert bad.value.code == 400
    finally:
        dash.close()


class HalfWritten:
    """A copy of the licensed logs with one session half written, as an agent leaves it."""

    def __init__(self, licensed_logs: Path, tmp_path: Path) -> None:
        self.watched = tmp_path / "logs"
        shutil.copytree(licensed_logs, self.watched)
        self.log = next(self.watched.rglob("*.jsonl"))
        self.lines = self.log.read_bytes().splitlines(keepends=True)
        self.log.write_bytes(b"".join(self.lines[: len(self.lines) // 2]))

    def finish(self) -> None:
        self.log.write_bytes(b"".join(self.lines))  # the agent writes the rest


def next_version(events: Any) -> str:
    """The next version a server-sent event stream announces."""
    while True:
        line = events.readline().decode()
        if line.startswith("data: "):
            return line[6:].strip()


def test_dashboard_answers_head_refuses_foreign_hosts_and_streams_versions(
    licensed_logs: Path, tmp_path: Path
) -> None:
    logs = HalfWritten(licensed_logs, tmp_path)
    with Ledger(tmp_path / "home") as led:
        dash = Dashboard(led, [logs.watched], port=0, poll_s=0.1)
        dash.start()
        try:
            head = urllib.request.Request(dash.url, method="HEAD")
            with urllib.request.urlopen(head, timeout=10) as resp:
                assert resp.status == 200 and resp.read() == b""
                assert resp.headers["Content-Type"].startswith("text/html")
            # DNS rebinding: a page served by evil.example that resolves to 127.0.0.1.
            spoofed = urllib.request.Request(dash.url, headers={"Host": "evil.example:80"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(spoofed, timeout=10)
            assert refused.value.code == 421
            with urllib.request.urlopen(dash.url + "api/events", timeout=10) as events:
                assert events.headers["Content-Type"] == "text/event-stream"
                first = next_version(events)
                assert len(first) == 32
                logs.finish()
                second = next_version(events)
            assert second != first
        finally:
            dash.close()
        full = cli_json(tmp_path / "c", "report", "daily", str(logs.watched))
        assert led.count() == full["totals"]["calls"]


def test_open_tabs_share_one_watcher_and_each_sees_a_change(
    licensed_logs: Path, tmp_path: Path
) -> None:
    logs = HalfWritten(licensed_logs, tmp_path)
    with Ledger(tmp_path / "home") as led:
        dash = Dashboard(led, [logs.watched], port=0, poll_s=0.1)
        refreshes = 0
        refresh = dash.refresh

        def counted() -> str:
            nonlocal refreshes
            refreshes += 1
            return refresh()

        dash.refresh = counted  # type: ignore[method-assign]
        dash.start()
        tabs = [urllib.request.urlopen(dash.url + "api/events", timeout=10) for _ in range(4)]
        try:
            first = [next_version(tab) for tab in tabs]
            assert len(set(first)) == 1
            before, started = refreshes, time.monotonic()
            time.sleep(1.0)
            polls = (time.monotonic() - started) / dash.poll_s
            # One loop for the four tabs: about one import per poll, not four.
            assert refreshes - before <= polls + 2
            logs.finish()
            assert all(next_version(tab) != first[0] for tab in tabs)
        finally:
            for tab in tabs:
                tab.close()
            dash.close()


def test_anatomy_and_whatif_views_equal_their_cli_json(
    report: str, logs: Path, tmp_path: Path
) -> None:
    data = embedded(report)
    anatomy = cli_json(tmp_path, "anatomy", str(logs))
    for key in ("context_tax", "cache", "context_tax_curve", "by_kind"):
        assert data["anatomy"][key] == anatomy[key]
    assert round(data["anatomy"]["cache"]["hit_share"], 4) == 0.9647
    whatif = cli_json(tmp_path, "whatif", str(logs))
    assert data["whatif"]["scenarios"] == whatif["scenarios"]
    assert data["whatif"]["baseline_cost_usd"] == whatif["baseline_cost_usd"]
    # The page draws them: the context-tax curve and the ranking, with their numbers.
    assert 'data-key="context_tax.resent_share"' in report
    assert 'data-table="whatif"' in report and 'data-table="context_tax_curve"' in report
    assert data["missing"] == {}
    # The self-host break-even equals `tokenomy selfhost --from-ledger` on the same ledger.
    sh = data["selfhost"]
    cli = cli_json(tmp_path, "selfhost", "--from-ledger", "--model", sh["model"], "--gpu",
                   sh["gpu"], "--gpus", str(sh["gpus_per_replica"]))  # fmt: skip
    page_off = [r for r in sh["rows"] if r["speculation"] == "off"]
    assert [(r["api_model"], r["api_monthly"], r["self_host_monthly"]) for r in page_off] == [
        (r["api_model"], r["api_monthly"], r["self_host_monthly"]) for r in cli["rows"]
    ]
    assert 'data-table="selfhost"' in report and "Self-host break-even" in report


def test_cost_by_kind_totals_equal_the_anatomy(ledger: Ledger, report: str) -> None:
    split = cost_by_kind(ledger, Filters())
    by_kind = {k["kind"]: k["cost_usd"] for k in embedded(report)["anatomy"]["by_kind"]}
    for kind, values in split.usd.items():
        assert float(sum(values)) == pytest.approx(by_kind[kind], abs=1e-9)


def test_trend_periods_are_months_weeks_or_days_by_span() -> None:
    grouping, periods = trend_periods(date(2026, 1, 30), date(2026, 4, 2))
    assert grouping == "monthly"
    assert [p[0] for p in periods] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert periods[1][1:] == (date(2026, 2, 1), date(2026, 2, 28))
    grouping, periods = trend_periods(date(2026, 2, 4), date(2026, 2, 20))  # a Wednesday
    assert grouping == "weekly"
    assert periods[0][1:] == (date(2026, 2, 2), date(2026, 2, 8))  # Monday to Sunday
    assert periods[-1][1:] == (date(2026, 2, 16), date(2026, 2, 22))
    grouping, periods = trend_periods(date(2026, 2, 4), date(2026, 2, 6))
    assert grouping == "daily" and [p[0] for p in periods] == [
        "2026-02-04", "2026-02-05", "2026-02-06"
    ]  # fmt: skip


def test_trend_view_equals_report_trend_json_and_adds_up(
    report: str, logs: Path, tmp_path: Path
) -> None:
    data = embedded(report)["trend"]
    # these logs span 2025-05 to 2026-05: months, the ones with calls
    assert data["grouping"] == "monthly"
    assert [p["label"] for p in data["periods"]] == ["2025-05", "2026-01", "2026-02", "2026-05"]
    assert len(data["changes"]) == len(data["periods"]) - 1
    for i, change in enumerate(data["changes"]):
        before, after = data["periods"][i], data["periods"][i + 1]
        cli = cli_json(tmp_path, "report", "trend", str(logs),
                       "--base", f"{before['since']}..{before['until']}",
                       "--current", f"{after['since']}..{after['until']}")  # fmt: skip
        assert change["base"] == cli["base"] == [before["since"], before["until"]]
        assert change["current"] == cli["current"]
        assert change["rows"] == cli["rows"]
        assert change["totals"] == cli["totals"]
        for row in [*change["rows"], change["totals"]]:
            volume, price = (
                Decimal(str(row["volume_effect_usd"])),
                Decimal(str(row["price_effect_usd"])),
            )
            assert volume + price == Decimal(str(row["change_usd"])), row  # to the cent
    # Jan to Feb 2026: the bill grew by $35.84, all of it volume (new models)
    jan_feb = data["changes"][1]["totals"]
    assert jan_feb["change_usd"] == 35.84 and jan_feb["volume_effect_usd"] == 35.84
    # the changes chain from the first period's bill to the last one's
    first, last = data["changes"][0]["totals"], data["changes"][-1]["totals"]
    chained = sum(Decimal(str(c["totals"]["change_usd"])) for c in data["changes"])
    assert chained == Decimal(str(last["current_cost_usd"])) - Decimal(str(first["base_cost_usd"]))
    # the page draws them: the chart, the overall and per-model tables, tokens per task
    body = report.split('<section id="trend"')[1].split("</section>")[0]
    assert body.count('<svg class="chart"') == 2 and 'class="legend"' in body
    for name in ("trend", "trend_model", "trend_tokens_per_task"):
        assert f'data-table="{name}"' in body
    cells = re.findall(r'<td class="num" data-col="change_usd" data-v="([-0-9.E]+)"', body)
    assert cells[: len(data["changes"])] == [
        str(Decimal(str(c["totals"]["change_usd"])).normalize()) for c in data["changes"]
    ]


def test_trend_tokens_per_task_add_up_to_each_periods_tokens(ledger: Ledger) -> None:
    views = collect(ledger)
    assert views.trend is not None
    per_task = views.trend.per_task
    for label, since, until in views.trend.periods:
        rows = [r for r in per_task if r["period"] == label]
        bill_rows = bill(ledger, "model", Filters(since=since, until=until)).rows
        assert {r["model"]: r["tokens"] for r in rows} == {
            r["model"]: r["total_tokens"] for r in bill_rows
        }
        for r in rows:
            assert r["tasks"] >= 1 and r["tokens_per_task"] == round(r["tokens"] / r["tasks"])
    opus = [r for r in per_task if r["model"] == "claude-opus-4-6"]
    assert opus and opus[0]["tasks"] == 6  # February 2026: six sessions used it
