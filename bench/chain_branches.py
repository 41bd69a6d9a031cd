"""How often a Claude Code conversation branches: what rebuilding the chain from the messages'
own links (``uuid`` / ``parentUuid``) would change against the replay's numbers-only linking.

For every main-thread API call (one assistant message id), follow ``parentUuid`` back to the
previous assistant message. The replay links a call to the previous call of its thread; the
content disagrees only where that ancestor is another call (a rewind, an edited message) or
lies in no file given (a chain that leaves the log), or in another session's file (a resume).

    python bench/chain_branches.py ../shared/data/logs/claude-code tests/data/heldout/cc-*
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any


def rows_of(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_bytes().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args()
    files = sorted({f for p in args.paths for f in ([p] if p.is_file() else p.rglob("*.jsonl"))})
    by_file = {f: rows_of(f) for f in files}
    owner = {r["uuid"]: f for f, rows in by_file.items() for r in rows if r.get("uuid")}
    by_uuid = {r["uuid"]: r for rows in by_file.values() for r in rows if r.get("uuid")}
    counts: Counter[str] = Counter()
    for f, rows in by_file.items():
        previous = None  # the message id of the file's previous main-thread call
        for row in rows:
            message = row.get("message")
            if row.get("type") != "assistant" or row.get("isSidechain"):
                continue
            mid = message.get("id") if isinstance(message, dict) else None
            if not mid or mid == previous:
                continue  # a streaming copy of the call just counted
            counts["main-thread calls"] += 1
            parent, hops, ancestor = row.get("parentUuid"), 0, None
            while parent and hops < 100_000:
                up = by_uuid.get(parent)
                if up is None:
                    ancestor = "outside"
                    break
                msg = up.get("message")
                if up.get("type") == "assistant" and isinstance(msg, dict) and msg.get("id") != mid:
                    ancestor = "resumed" if owner[parent] != f else msg.get("id")
                    break
                parent, hops = up.get("parentUuid") or up.get("logicalParentUuid"), hops + 1
            if ancestor == "outside":
                counts["chain leaves the files given"] += 1
            elif ancestor == "resumed":
                counts["chain continues another file (resumed)"] += 1
            elif ancestor is None:
                counts["first call of its chain"] += 1
            elif ancestor != previous:
                counts["parent is not the previous call (rewind, edit)"] += 1
            previous = mid
    print(f"{len(files)} files")
    for name, n in counts.items():
        print(f"{name:50} {n:6,}")


if __name__ == "__main__":
    main()
