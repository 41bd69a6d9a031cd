"""Build a large Claude Code corpus by replicating the real sessions with fresh ids.

Every replica rewrites session ids, message ids, request ids and row uuids (same lengths), so
no two replicas share a call: an importer that deduplicates correctly must count them all.

    python bench/make_corpus.py --size-gb 1.0 --out bench/corpus
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

LOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "logs" / "claude-code"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PREFIXED = re.compile(rb"(msg_|req_|toolu_)([A-Za-z0-9]{6})")


def replica(data: bytes, k: int) -> bytes:
    tag = f"{k:06x}".encode()
    data = UUID.sub(lambda m: tag[:6] + m.group(0)[6:], data)
    return PREFIXED.sub(lambda m: m.group(1) + tag, data)


def replicate(logs: Path, out: Path, replicas: int) -> tuple[int, int]:
    """``replicas`` copies of every ``*.jsonl`` under ``logs`` into ``out``, each with its own
    ids: (files, bytes) written."""
    files = [(p.relative_to(logs), p.read_bytes()) for p in sorted(logs.rglob("*.jsonl"))]
    written = 0
    count = 0
    for k in range(replicas):
        project = out / "projects" / f"-home-user-project-{k % 40:02d}"
        for rel, data in files:
            # Rename the session file/folder too, so replicas never collide on disk.
            parts = [replica(s.encode(), k).decode() for s in rel.parts]
            target = project.joinpath(f"r{k}", *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            body = replica(data, k)
            target.write_bytes(body)
            written += len(body)
            count += 1
    return count, written


def build(out: Path, size_gb: float, logs: Path = LOGS) -> tuple[int, int]:
    if out.exists():
        shutil.rmtree(out)
    per_replica = sum(p.stat().st_size for p in logs.rglob("*.jsonl"))
    return replicate(logs, out, max(1, round(size_gb * 1024**3 / per_replica)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpus")
    args = parser.parse_args()
    files, size = build(args.out, args.size_gb)
    print(f"wrote {files} files, {size / 1024**3:.2f} GiB under {args.out}")


if __name__ == "__main__":
    main()
