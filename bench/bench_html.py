"""The HTML report: how long it takes to make, how big it is, how fast it opens.

    python bench/bench_html.py [LOGS] [--runs 5]

- generation: ``tokenomy report html LOGS`` as a user runs it, cold (a fresh ledger: import,
  price, render) and warm (the ledger already holds the logs), median wall time of ``--runs``;
- size: the file's bytes;
- open: the page opened from disk in headless Chromium (Debian's chromium), navigation start
  to the end of the load event, median of ``--runs`` fresh loads (cache disabled).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import chromium

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO.parent / "shared" / "data" / "logs"
TOKENOMY = Path(sys.executable).with_name("tokenomy")


def generate(logs: Path, out: Path, home: Path) -> float:
    cmd = [TOKENOMY, "report", "html", str(logs), "--out", str(out), "--home", str(home)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def open_times(page: Path, runs: int) -> list[float]:
    driver = chromium()
    try:
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        out = []
        for _ in range(runs):
            driver.get("about:blank")
            driver.get(page.as_uri())
            ms = driver.execute_script(
                "const t = performance.getEntriesByType('navigation')[0];"
                "return t.loadEventEnd - t.startTime;"
            )
            out.append(float(ms) / 1000)
        return out
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("logs", nargs="?", type=Path, default=LOGS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        cold = [generate(args.logs, page, Path(tmp) / f"cold{i}") for i in range(args.runs)]
        warm = [generate(args.logs, page, Path(tmp) / "cold0") for _ in range(args.runs)]
        size = page.stat().st_size
        opened = open_times(page, args.runs)
    print(f"logs: {args.logs} ({args.runs} runs, medians)")
    print(f"generate, cold ledger: {statistics.median(cold):.2f} s")
    print(f"generate, warm ledger: {statistics.median(warm):.2f} s")
    print(f"size: {size:,} bytes ({size / 1024 / 1024:.2f} MiB; limit 2 MiB)")
    print(f"open in headless Chromium (to load end): {statistics.median(opened) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
