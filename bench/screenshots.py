"""Screenshots of each view at laptop width (1366 px), and of the page's top at 1280 and 390 px
(a phone), for docs/ and the README.

    python bench/screenshots.py [LOGS] [--out docs/screenshots]

Renders the report of the real logs (``../shared/data/logs`` by default), then captures each
view of the file in headless Chromium, and the dashboard's filter bar from ``tokenomy serve``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import chromium

from tokenomy.render.html_report import SECTIONS

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO.parent / "shared" / "data" / "logs"
TOKENOMY = Path(sys.executable).with_name("tokenomy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("logs", nargs="?", type=Path, default=LOGS)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        report = Path(tmp) / "report.html"
        subprocess.run(
            [TOKENOMY, "report", "html", str(args.logs), "--out", str(report),
             "--home", str(home)],
            check=True,
        )  # fmt: skip
        driver = chromium(1366, 900)
        try:
            driver.get(report.as_uri())
            for anchor, _ in SECTIONS:
                section = driver.find_element("id", anchor)
                driver.execute_script("arguments[0].scrollIntoView()", section)
                path = args.out / f"{anchor}.png"
                section.screenshot(str(path))
                print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
            for width, height in ((1280, 1800), (390, 2400)):
                driver.set_window_size(width, height)
                driver.get(report.as_uri())
                path = args.out / f"page-{width}.png"
                driver.save_screenshot(str(path))
                print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
            driver.set_window_size(1366, 900)
            server = subprocess.Popen(
                [TOKENOMY, "serve", str(args.logs), "--home", str(home), "--port", "8767"],
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(3)
                driver.get("http://127.0.0.1:8767/?source=claude_code")
                path = args.out / "dashboard.png"
                driver.save_screenshot(str(path))  # the filter bar and the first view
                print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
            finally:
                server.terminate()
                server.wait()
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
