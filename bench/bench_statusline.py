"""``tokenomy statusline`` as Claude Code runs it: one process per status-line refresh, the
hook JSON on stdin. Side by side with ccusage's ``statusline --offline`` when installed.

    (cd bench/peers && npm install ccusage@20.0.24)        # optional: the peer
    python bench/bench_statusline.py --runs 30

Measured, each as the median wall time of ``--runs`` runs of the real command:

- ``warm``: the status line asked again with nothing new (Claude Code refreshes it on every
  message and on a timer): the cached figures, the block's rate recomputed at the clock;
- ``new message``: the transcript grew by one assistant turn since the last run: the new lines
  are imported into the ledger, the figures recomputed and cached;
- ``cold``: a fresh ledger, the whole session imported (first run of a session);
- ``python -c pass``: the interpreter's own start-up on this machine, for scale;
- ``ccusage``: ``ccusage statusline --offline`` on the same session (it re-reads the logs).

The session is a real Claude Code session (spotter, shipped in tokenomy/data/sample_logs),
laid out under a temporary ``CLAUDE_CONFIG_DIR`` as Claude Code writes it.
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
REPO = HERE.parent
TOKENOMY = Path(sys.executable).with_name("tokenomy")
CCUSAGE = HERE / "peers" / "node_modules" / ".bin" / "ccusage"
SPOTTER = REPO / "tokenomy" / "data" / "sample_logs" / "claude-code" / "spotter"
SESSION = "4d5611e5-241a-462a-8d15-5122611a9569"


def hook(transcript: Path) -> str:
    return json.dumps({
        "hook_event_name": "Status", "session_id": SESSION, "transcript_path": str(transcript),
        "cwd": str(transcript.parent), "model": {"id": "claude-opus-4-6", "display_name": "Opus"},
        "workspace": {"current_dir": str(transcript.parent), "project_dir": str(transcript.parent)},
        "version": "2.1.31", "cost": {"total_cost_usd": 10.2, "total_duration_ms": 60000},
    })  # fmt: skip


def timed(cmd: list[str], stdin: str, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return wall, done.stdout.strip()


def median_ms(walls: list[float]) -> float:
    return round(statistics.median(walls) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    runs = max(1, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = root / "claude" / "projects" / "-home-user-spotter"
        project.mkdir(parents=True)
        transcript = project / f"{SESSION}.jsonl"
        shutil.copytree(SPOTTER / SESSION, project / SESSION)
        lines = (SPOTTER / f"{SESSION}.jsonl").read_bytes().splitlines(keepends=True)
        env = {**os.environ, "CLAUDE_CONFIG_DIR": str(root / "claude"), "TZ": "UTC"}
        env.pop("TOKENOMY_CONFIG", None)
        cmd = [str(TOKENOMY), "statusline", "-z", "UTC"]
        stdin = hook(transcript)

        cold = []
        for i in range(min(3, runs)):
            transcript.write_bytes(b"".join(lines))
            env["TOKENOMY_HOME"] = str(root / f"cold{i}")
            cold.append(timed(cmd, stdin, env)[0])

        # a session that grows: start from its first half, add one assistant turn per run
        env["TOKENOMY_HOME"] = str(root / "home")
        half = len(lines) // 2
        transcript.write_bytes(b"".join(lines[:half]))
        timed(cmd, stdin, env)
        turns = [i for i in range(half, len(lines)) if b'"type":"assistant"' in lines[i]]
        grown, at = [], half
        for end in turns[1 : runs + 1]:
            with transcript.open("ab") as f:
                f.write(b"".join(lines[at:end]))
            at = end
            grown.append(timed(cmd, stdin, env)[0])
        with transcript.open("ab") as f:
            f.write(b"".join(lines[at:]))
        timed(cmd, stdin, env)

        warm, line = [], ""
        for _ in range(runs):
            wall, line = timed(cmd, stdin, env)
            warm.append(wall)
        python = [timed([sys.executable, "-c", "pass"], "", env)[0] for _ in range(runs)]

        result: dict[str, object] = {
            "runs": runs,
            "tokenomy_warm_ms": median_ms(warm),
            "tokenomy_new_message_ms": median_ms(grown) if grown else None,
            "tokenomy_cold_ms": median_ms(cold),
            "python_startup_ms": median_ms(python),
            "tokenomy_line": line,
        }
        if CCUSAGE.exists():
            peer_cmd = [str(CCUSAGE), "statusline", "--offline"]
            timed(peer_cmd, stdin, env)
            peer, peer_line = [], ""
            for _ in range(runs):
                wall, peer_line = timed(peer_cmd, stdin, env)
                peer.append(wall)
            result["ccusage_ms"] = median_ms(peer)
            result["ccusage_line"] = peer_line
        else:
            result["ccusage_ms"] = None
            result["ccusage_line"] = f"not installed ({CCUSAGE})"
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
