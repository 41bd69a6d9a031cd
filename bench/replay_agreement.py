"""How close the replayed baseline of ``tokenomy whatif`` comes to the bill each real log reports.

For every held-out set in tests/data/heldout (see its MANIFEST.md) and the sets in
../shared/data/logs, the set is imported into a fresh temporary ledger and replayed with
``tokenomy whatif SET --check --json``: its ``replay_agreement`` gives the reported and replayed
dollars and the share of calls whose replayed cost is within 1% of the logged one. Only the
public CLI output is read, so this keeps working while the replay's internals move.

    .venv/bin/python bench/replay_agreement.py                 # markdown table
    .venv/bin/python bench/replay_agreement.py --causes        # plus the misses by cause
    .venv/bin/python bench/replay_agreement.py --json out.json # everything, for docs
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "tests" / "data" / "heldout"
ALIASES = HELDOUT / "aliases.toml"
SHARED = ROOT.parent / "shared" / "data" / "logs"
# The shared sets, described as the held-out manifest describes its own (../shared MANIFEST.md).
SHARED_SETS = {
    "claude-code/spotter": ("Claude Code 2.1.x", "direct"),
    "claude-code/claude-reliability": ("Claude Code 2.1.14", "direct"),
    "codex/localpush": ("Codex 0.104, gpt-5.3-codex", "OpenAI direct"),
}


@dataclass
class SetResult:
    """One log set replayed: the bill it reports against the replayed baseline."""

    name: str
    origin: str  # "held-out" or "shared"
    tool: str
    route: str
    calls: int
    reported: float
    replayed: float
    calls_within_1pct: float
    dollars_within_1pct: float
    skipped_lines: int
    unpriced_calls: int
    causes: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def diff(self) -> float:
        """Replayed minus reported, as a share of reported (nan when nothing is reported)."""
        return (self.replayed - self.reported) / self.reported if self.reported else float("nan")


def manifest_rows(path: Path = HELDOUT / "MANIFEST.md") -> dict[str, dict[str, str]]:
    """The manifest's table as {set: {column: cell}}."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells, strict=False))
    return rows


def tokenomy(*args: str) -> dict[str, Any]:
    """Run the CLI and parse its JSON output; a failure stops with its stderr."""
    cmd = [sys.executable, "-m", "tokenomy", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def replay(name: str, origin: str, path: Path, tool: str, route: str) -> SetResult:
    """Import ``path`` into a fresh ledger and read the replay check from ``whatif --json``."""
    with tempfile.TemporaryDirectory(prefix="tokenomy-agreement-") as home:
        common = ["--home", home, "--prices", str(ALIASES)]
        imported = tokenomy("import", str(path), *common, "--json")
        out = tokenomy("whatif", str(path), *common, "--check", "--json")
    check = out["replay_agreement"]
    causes: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "usd_off": 0.0})
    for d in check["disagreements"]:
        c = causes[re.sub(r"\d[\d,]*", "N", d["why"])]  # one cause, whatever its numbers
        c["calls"] += 1
        c["usd_off"] += d["replayed_usd"] - d["reported_usd"]
    return SetResult(
        name, origin, tool, route, int(check["calls"]),
        float(check["reported_cost_usd"]), float(check["replayed_cost_usd"]),
        float(check["share_of_calls_within_1pct"]), float(check["share_of_dollars_within_1pct"]),
        sum(imported["skipped"].values()), sum(imported["unpriced_calls"].values()), dict(causes),
    )  # fmt: skip


def all_sets() -> list[SetResult]:
    """Every held-out set, then every shared set that is present on this machine."""
    out = []
    for name, row in manifest_rows().items():
        out.append(replay(name, "held-out", HELDOUT / name, row["tool, version"], row["route"]))
    for rel, (tool, route) in SHARED_SETS.items():
        if (SHARED / rel).is_dir():
            out.append(replay(rel, "shared", SHARED / rel, tool, route))
    return out


def markdown(results: list[SetResult]) -> str:
    """The agreement table, one row per set."""
    lines = [
        "| set | from | source tool, route | calls | reported $ | replayed $ | diff % "
        "| calls within 1% | $ within 1% |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        route = r.route.split(" (")[0]
        lines.append(
            f"| {r.name} | {r.origin} | {r.tool}, {route} | {r.calls} | {r.reported:,.4f} "
            f"| {r.replayed:,.4f} | {100 * r.diff:+.1f} | {r.calls_within_1pct:.0%} "
            f"| {r.dollars_within_1pct:.0%} |"
        )
    held = [r for r in results if r.origin == "held-out"]
    within3 = sum(abs(r.diff) <= 0.03 for r in held)
    lines.append("")
    lines.append(f"{within3} of {len(held)} held-out sets within 3% of the reported bill.")
    return "\n".join(lines)


def causes_markdown(results: list[SetResult]) -> str:
    """The calls the replay does not reproduce, by the cause ``--check`` names."""
    lines = ["| set | cause (as `--check` names it) | calls | replayed - reported $ |",
             "|---|---|---:|---:|"]  # fmt: skip
    for r in results:
        for why, c in sorted(r.causes.items(), key=lambda kv: -abs(kv[1]["usd_off"])):
            lines.append(f"| {r.name} | {why} | {int(c['calls'])} | {c['usd_off']:+,.4f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--causes", action="store_true", help="also list misses by cause")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args()
    results = all_sets()
    print(markdown(results))
    if args.causes:
        print()
        print(causes_markdown(results))
    if args.json:
        rows = [asdict(r) | {"diff": r.diff} for r in results]
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
