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

Each figure comes with the median CPU time (user + system) of the same runs: on a machine
shared with other work the wall time includes waiting for a core, the CPU time does not. The
load average at the end is printed for that reason.

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


def timed(cmd: list[str], stdin: str, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds (user + system), stdout) of one run. CPU time is less
    sensitive than wall time to a machine shared with other work."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write(stdin.encode())
    proc.stdin.close()
    out, errors = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{errors.decode()}")
    return wall, usage.ru_utime + usage.ru_stime, out.decode().strip()


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def series(cmd: list[str], stdin: str, env: dict[str, str], runs: int) -> tuple[float, float, str]:
    """(median wall ms, median CPU ms, last stdout) of ``runs`` runs."""
    walls, cpus, out = [], [], ""
    for _ in range(runs):
        wall, cpu, out = timed(cmd, stdin, env)
        walls.append(wall)
        cpus.append(cpu)
    return median_ms(walls), median_ms(cpus), out


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

        cold_wall, cold_cpu = [], []
        for i in range(min(3, runs)):
            transcript.write_bytes(b"".join(lines))
            env["TOKENOMY_HOME"] = str(root / f"cold{i}")
            wall, cpu, _ = timed(cmd, stdin, env)
            cold_wall.append(wall)
            cold_cpu.append(cpu)

        # a session that grows: start from its first half, add one assistant turn per run
        env["TOKENOMY_HOME"] = str(root / "home")
        half = len(lines) // 2
        transcript.write_bytes(b"".join(lines[:half]))
        timed(cmd, stdin, env)
        turns = [i for i in range(half, len(lines)) if b'"type":"assistant"' in lines[i]]
        grown_wall, grown_cpu, at = [], [], half
        for end in turns[1 : runs + 1]:
            with transcript.open("ab") as f:
                f.write(b"".join(lines[at:end]))
            at = end
            wall, cpu, _ = timed(cmd, stdin, env)
            grown_wall.append(wall)
            grown_cpu.append(cpu)
        with transcript.open("ab") as f:
            f.write(b"".join(lines[at:]))
        timed(cmd, stdin, env)

        warm_wall, warm_cpu, line = series(cmd, stdin, env, runs)
        py_wall, py_cpu, _ = series([sys.executable, "-c", "pass"], "", env, runs)
        result: dict[str, object] = {
            "runs": runs,
            "tokenomy_warm_ms": warm_wall,
            "tokenomy_warm_cpu_ms": warm_cpu,
            "tokenomy_new_message_ms": median_ms(grown_wall) if grown_wall else None,
            "tokenomy_new_message_cpu_ms": median_ms(grown_cpu) if grown_cpu else None,
            "tokenomy_cold_ms": median_ms(cold_wall),
            "tokenomy_cold_cpu_ms": median_ms(cold_cpu),
            "python_startup_ms": py_wall,
            "python_startup_cpu_ms": py_cpu,
            "tokenomy_line": line,
        }
        if CCUSAGE.exists():
            peer_cmd = [str(CCUSAGE), "statusline", "--offline"]
            timed(peer_cmd, stdin, env)
            peer_wall, peer_cpu, peer_line = series(peer_cmd, stdin, env, runs)
            result["ccusage_ms"] = peer_wall
            result["ccusage_cpu_ms"] = peer_cpu
            result["ccusage_line"] = peer_line
        else:
            result["ccusage_ms"] = None
            result["ccusage_line"] = f"not installed ({CCUSAGE})"
        result["load_average_1m"] = round(os.getloadavg()[0], 2)
        result["cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
