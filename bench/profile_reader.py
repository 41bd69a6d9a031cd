"""Where the Claude Code reader spends its time, one process, phase by phase (each phase
includes the ones above it): reading the bytes, counting lines, finding the ``"usage"`` lines,
parsing them, building the call records (the source module), and the columns an import stores.

    python bench/make_corpus.py --size-gb 0.1 --out /tmp/corpus-0.1
    python bench/profile_reader.py /tmp/corpus-0.1 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from tokenomy.ledger.importing import calls_columns
from tokenomy.sources import FileReport, registry

NEEDLE = b'"usage"'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    files = sorted(args.corpus.rglob("*.jsonl"))
    size = sum(f.stat().st_size for f in files)
    source = registry()["claude_code"]

    def read() -> int:
        return sum(len(f.read_bytes()) for f in files)

    def count() -> int:
        return sum(f.read_bytes().count(b"\n") for f in files)

    def scan(parse: bool) -> int:
        found = 0
        for f in files:
            data = f.read_bytes()
            data.count(b"\n")
            pos = data.find(NEEDLE)
            while pos >= 0:
                start, end = data.rfind(b"\n", 0, pos) + 1, data.find(b"\n", pos)
                if parse:
                    orjson.loads(data[start:end])
                found += 1
                pos = data.find(NEEDLE, end)
        return found

    def records() -> list[object]:
        out: list[object] = []
        for f in files:
            out += source.read(f, 0, FileReport(str(f), source="claude_code"))
        return out

    def columns() -> int:
        calls = records()
        calls_columns(calls)  # type: ignore[arg-type]
        return len(calls)

    phases: list[tuple[str, Callable[[], object]]] = [
        ("read the bytes", read),
        ("+ count lines", count),
        ('+ find the "usage" lines', lambda: scan(False)),
        ("+ parse them (orjson)", lambda: scan(True)),
        ("+ call records (the source)", records),
        ("+ stored columns (numpy)", columns),
    ]
    print(f"{len(files)} files, {size / 1e6:.1f} MB, median of {args.runs} runs, one process")
    for label, fn in phases:
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"{label:30} {median:7.3f} s  {size / 1e6 / median:8.0f} MB/s")


if __name__ == "__main__":
    main()
