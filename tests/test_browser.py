"""The report and the dashboard in headless Chromium (Debian's ``chromium`` driven by Selenium
through ``chromium-driver``): every view renders, the console stays clean, no request leaves
the machine, and the numbers on the page equal ``tokenomy report ... --json``."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.ledger import Ledger
from tokenomy.render.dashboard import Dashboard
from tokenomy.render.html_report import SECTIONS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (run .ci/install-browser)",
)
webdriver = pytest.importorskip("selenium.webdriver")
runner = CliRunner()
LOCAL_SCHEMES = ("file", "data", "about", "chrome")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def cli_json(home: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    data: dict[str, Any] = json.loads(out[out.index("{") :])
    return data


def page_data(driver: Any) -> dict[str, Any]:
    text = driver.execute_script("return document.getElementById('tokenomy-data').textContent")
    data: dict[str, Any] = json.loads(text)
    return data


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requested_urls(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def assert_views_render(driver: Any) -> None:
    for anchor, heading in SECTIONS:
        section = driver.find_element("id", anchor)
        assert section.is_displayed()
        assert heading in section.text
        charted = section.find_elements("css selector", "svg.chart rect, svg.chart polyline")
        missing = section.find_elements("css selector", "[data-missing]")
        # Each view draws a chart, or says plainly that this build does not have it.
        assert charted or (missing and "Not available in this build" in missing[0].text), anchor
        if charted:
            width = section.find_element("css selector", "svg.chart").size["width"]
            assert width > 900  # drawn at laptop width, not collapsed
    assert driver.find_element("css selector", '[data-key="totals.cost_usd"]').text.startswith("$")


def test_report_renders_offline_with_the_cli_numbers(
    browser: Any, logs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["report", "html", str(logs), "--out", str(out), "--home", str(tmp_path / "h")],
    )
    assert result.exit_code == 0, result.output
    browser.get_log("performance")  # start from a clean log
    browser.get(out.as_uri())
    assert_views_render(browser)
    opened_ms = browser.execute_script(
        "const t = performance.getEntriesByType('navigation')[0];"
        "return t.loadEventEnd - t.startTime;"
    )
    assert 0 < opened_ms < 2000  # the bar: open in under 2 s
    assert console_errors(browser) == []
    urls = requested_urls(browser)
    assert urls and all(urlsplit(u).scheme in LOCAL_SCHEMES for u in urls), urls

    data = page_data(browser)
    for grouping in ("daily", "session", "model", "project"):
        expected = cli_json(tmp_path / "cli", "report", grouping, str(logs))
        assert data["bills"][grouping]["rows"] == expected["rows"]
        assert data["bills"][grouping]["totals"] == expected["totals"]
    # What the reader sees, not only the embedded data: the cards and the table cells.
    totals = cli_json(tmp_path / "cli", "report", "daily", str(logs))["totals"]
    shown = browser.find_element("css selector", '[data-key="totals.cost_usd"]')
    assert float(shown.get_attribute("data-v")) == totals["cost_usd"] == 38.1917446
    assert shown.text == "$38.19"
    calls = browser.find_element("css selector", '[data-key="totals.calls"]').text
    assert calls == f"{totals['calls']:,}" == "697"
    cells = browser.find_elements(
        "css selector", 'table[data-table="daily"] tbody td[data-col="cost_usd"]'
    )
    daily = cli_json(tmp_path / "cli", "report", "daily", str(logs))["rows"]
    assert [float(c.get_attribute("data-v")) for c in cells] == [r["cost_usd"] for r in daily]
    # The other modules' views show their own numbers, as their commands print them.
    anatomy = cli_json(tmp_path / "cli", "anatomy", str(logs))
    resent = browser.find_element("css selector", '[data-key="context_tax.resent_share"]')
    assert float(resent.get_attribute("data-v")) == anatomy["context_tax"]["resent_share"]
    assert resent.text == f"{100 * anatomy['context_tax']['resent_share']:.1f}%" == "97.0%"
    assert data["anatomy"]["cache"] == anatomy["cache"]


# Every table's first money column, the page's horizontal overflow, and rendered chart text.
LAYOUT_JS = """
const money = [];
for (const t of document.querySelectorAll('table[data-table]')) {
  const th = [...t.querySelectorAll('thead th')].find(h => h.textContent.includes('$'));
  if (!th) continue;
  const wrap = t.closest('.table-wrap').getBoundingClientRect();
  money.push([t.dataset.table, th.getBoundingClientRect().right - wrap.left]);
}
const texts = [...document.querySelectorAll('svg.chart text')].map(
  e => e.getBoundingClientRect().height).filter(h => h > 0);
return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, money: money,
        smallest: Math.min(...texts),
        smallest_card: Math.min(...[...document.querySelectorAll('.card .value')].map(
          e => e.parentElement.clientWidth - e.scrollWidth))};
"""


def test_layout_keeps_cost_in_view_at_1280_and_fits_a_phone(
    browser: Any, logs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", "html", str(logs), "-o", str(out), "--home", str(tmp_path / "h")]
    )
    assert result.exit_code == 0, result.output
    try:
        browser.set_window_size(1280, 900)
        browser.get(out.as_uri())
        wide = browser.execute_script(LAYOUT_JS)
        width = browser.execute_script("return window.innerWidth")
        assert len(wide["money"]) >= 7  # every table that shows dollars
        for name, right in wide["money"]:
            assert right <= width, (name, right)  # the cost column without scrolling sideways
        assert wide["scroll"] <= wide["inner"]

        browser.set_window_size(390, 844)
        browser.get(out.as_uri())
        phone = browser.execute_script(LAYOUT_JS)
        assert phone["scroll"] <= phone["inner"], phone  # the page itself never scrolls sideways
        assert phone["smallest"] >= 11, phone  # chart text stays readable
        assert phone["smallest_card"] >= 0, phone  # KPI values stay inside their cards
    finally:
        browser.set_window_size(1366, 900)


def test_tables_sort_by_clicking_a_header(browser: Any, logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    runner.invoke(app, ["report", "html", str(logs), "-o", str(out), "--home", str(tmp_path)])
    browser.get(out.as_uri())
    header = browser.find_element(
        "css selector", 'table[data-table="session"] th[data-col="cost_usd"]'
    )
    browser.execute_script("arguments[0].scrollIntoView()", header)
    header.click()

    def costs() -> list[float]:
        cells = browser.find_elements(
            "css selector", 'table[data-table="session"] tbody td[data-col="cost_usd"]'
        )
        return [float(c.get_attribute("data-v")) for c in cells]

    # 17 sessions, and 3 lone API payloads each a task of its own.
    assert costs() == sorted(costs(), reverse=True) and len(costs()) == 17 + 3
    header.click()
    assert costs() == sorted(costs())
    assert console_errors(browser) == []


def test_dashboard_filters_and_refreshes_live(browser: Any, logs: Path, tmp_path: Path) -> None:
    # A copy of the logs in which one session's log is only half written so far.
    watched = tmp_path / "logs"
    shutil.copytree(logs, watched)
    grown = watched / "codex/localpush"
    log = next(grown.glob("rollout-*T12-40-23-*.jsonl"))
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")

    with Ledger(tmp_path / "dash-home") as ledger:
        ledger.import_paths([watched])
        dash = Dashboard(ledger, [watched], port=0, poll_s=0.3)
        dash.start()
        try:
            browser.get_log("performance")
            browser.get(dash.url + "?source=codex")
            assert_views_render(browser)
            before = page_data(browser)["bills"]["daily"]["totals"]["calls"]
            expected = cli_json(
                tmp_path / "c1", "report", "daily", str(watched), "--source", "codex"
            )
            assert page_data(browser)["bills"]["daily"]["totals"] == expected["totals"]
            # The filter form shows what is applied.
            chosen = browser.find_element("css selector", 'select[name="source"] option:checked')
            assert chosen.text == "codex"

            with log.open("a", encoding="utf-8") as fh:  # the agent writes the rest
                fh.write("".join(lines[len(lines) // 2 :]))
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                after = page_data(browser)["bills"]["daily"]["totals"]["calls"]
                if after != before:
                    break
                time.sleep(0.2)
            full = cli_json(tmp_path / "c2", "report", "daily", str(watched), "--source", "codex")
            assert after == full["totals"]["calls"] == 116 > before
            assert page_data(browser)["bills"]["daily"]["totals"] == full["totals"]
            shown = browser.find_element("css selector", '[data-key="totals.calls"]').text
            assert shown == "116"

            assert console_errors(browser) == []
            urls = requested_urls(browser)
            hosts = {urlsplit(u).hostname for u in urls if urlsplit(u).scheme.startswith("http")}
            assert hosts == {"127.0.0.1"}
            assert all(urlsplit(u).scheme in (*LOCAL_SCHEMES, "http") for u in urls)
        finally:
            browser.get("about:blank")  # stop polling before the server goes
            dash.close()
