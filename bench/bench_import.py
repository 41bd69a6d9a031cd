"""Cold import + daily report, and a warm re-run, side by side with ccusage.

    python bench/make_corpus.py --size-gb 1.0          # once: ~1 GiB of replicated real sessions
    (cd bench/peers && npm install ccusage@20.0.24 @ccusage/ccusage-linux-x64@20.0.24)
    python bench/bench_import.py --runs 5

First run: a fresh ledger and an empty user cache, as on a machine that never ran tokenomy.
Cold: a fresh ledger each run (tokenomy), the user cache kept (the day rates resolved from the
installed prices, shared by every ledger on a machine) / ccusage's only mode (it re-reads
everything). Warm: the same command again with nothing new. Both tools read the same files
from the page cache, in the same command, alternately, so machine noise hits both alike. Peak
memory is the largest resident set of the process and its workers (``wait4``'s ``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOKENOMY = Path(sys.executable).with_name("tokenomy")
CCUSAGE = HERE / "peers" / "node_modules" / ".bin" / "ccusage"


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_maxrss // 1024, out.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    size = sum(p.stat().st_size for p in corpus.rglob("*.jsonl"))
    files = sum(1 for _ in corpus.rglob("*.jsonl"))
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(corpus)}
    cc = [str(CCUSAGE), "daily", "--offline", "--json"]
    tk = [str(TOKENOMY), "report", "daily", str(corpus), "--json"]
    keys = ("cc", "tk_first", "tk_cold", "tk_warm")
    results: dict[str, list[tuple[float, int]]] = {k: [] for k in keys}
    totals: dict[str, float] = {}
    for _ in range(args.runs):
        wall, rss, out = run(cc, env)
        results["cc"].append((wall, rss))
        totals["ccusage"] = json.loads(out)["totals"]["totalCost"]
        scratch = Path(tempfile.mkdtemp(prefix="tokenomy-bench-"))
        try:
            tk_env = {**env, "TOKENOMY_CACHE": str(scratch / "cache")}
            for key in ("tk_first", "tk_cold"):  # the first run fills the cache, the cold reuses it
                tk_env["TOKENOMY_HOME"] = str(scratch / key)
                wall, rss, out = run(tk, tk_env)
                results[key].append((wall, rss))
                totals["tokenomy"] = json.loads(out)["totals"]["cost_usd"]
            wall, rss, _ = run(tk, tk_env)
            results["tk_warm"].append((wall, rss))
        finally:
            shutil.rmtree(scratch)

    def med(key: str) -> tuple[float, int]:
        walls, rsss = zip(*results[key], strict=True)
        return statistics.median(walls), max(rsss)

    cc_wall, cc_rss = med("cc")
    first_wall, first_rss = med("tk_first")
    cold_wall, cold_rss = med("tk_cold")
    warm_wall, warm_rss = med("tk_warm")
    print(f"corpus: {files} files, {size / 1024**3:.2f} GiB, {args.runs} runs, medians")
    print(f"{'':28} {'wall s':>8} {'peak MiB':>9} {'vs ccusage':>10}")
    for label, (wall, rss) in [
        ("ccusage daily (offline)", (cc_wall, cc_rss)),
        ("tokenomy first run", (first_wall, first_rss)),
        ("tokenomy cold import+daily", (cold_wall, cold_rss)),
        ("tokenomy warm re-run", (warm_wall, warm_rss)),
    ]:
        print(f"{label:28} {wall:8.2f} {rss:9d} {wall / cc_wall:10.2f}")
    print(f"total cost: ccusage ${totals['ccusage']:.6f}, tokenomy ${totals['tokenomy']:.6f}")


if __name__ == "__main__":
    main()
