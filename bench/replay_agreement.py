"""How close the replayed baseline of ``tokenomy whatif`` comes to the bill each real log reports.

For every held-out set in tests/data/heldout (see its MANIFEST.md) and the sets in
../shared/data/logs, the set is imported into a fresh temporary ledger and replayed with
``tokenomy whatif SET --check --json``: its ``replay_agreement`` gives the reported and replayed
dollars and the share of calls whose replayed cost is within 1% of the logged one. Only the
public CLI output is read, so this keeps working while the replay's internals move.

    .venv/bin/python bench/replay_agreement.py                 # markdown table
    .venv/bin/python bench/replay_agreement.py --causes        # plus the misses by cause
    .venv/bin/python bench/replay_agreement.py --json out.json # everything, for docs
    .venv/bin/python bench/replay_agreement.py --fit-predict   # the stand-in experiment
    .venv/bin/python bench/replay_agreement.py --held-out      # the replay's rates, held out

``--held-out`` runs the replay itself (``tokenomy.whatif.held_out_agreement``): provider
behaviour measured on the first half of each set's calls (by time) predicts the second half,
beside the documented rules on the same calls.

``--fit-predict`` is an experiment for the replay's next step, not the replay itself: a small
stand-in model (each call reads what its thread's previous call left cached, else nothing)
whose provider behaviour - how often a live entry is missed, what a miss still reads, how often
an entry outlives the idle limit, what a thread's first call reads - is measured on the first
half of a set's calls (by time) and predicts the bill of the second half; and, across sets of
one route, measured on one set and predicting the others.
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
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokenomy.calls import Call
from tokenomy.pricing import Overrides, Pricer
from tokenomy.sources import read_paths

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
    directions: dict[str, dict[str, float]] = field(default_factory=dict)
    rules_replayed: float = 0.0  # the documented rules alone (no rates measured on the log)
    rules_within_1pct: float = 0.0
    low: float = 0.0  # the replay at both ends of the measured rates' 90% intervals
    high: float = 0.0
    routes: dict[str, int] = field(default_factory=dict)

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
    directions: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "usd_off": 0.0})
    for d in check["disagreements"]:
        c = causes[re.sub(r"\d[\d,]*", "N", d["why"])]  # one cause, whatever its numbers
        c["calls"] += 1
        c["usd_off"] += d["replayed_usd"] - d["reported_usd"]
        read, replay_read = d["reported"][1], d["replayed"][1]  # [input, read, write 5m, 1h]
        way = directions[
            "log read less (missed)" if read < replay_read
            else "log read more (prefix kept elsewhere)" if read > replay_read
            else "same read, other split"
        ]  # fmt: skip
        way["calls"] += 1
        way["usd_off"] += d["replayed_usd"] - d["reported_usd"]
    return SetResult(
        name, origin, tool, route, int(check["calls"]),
        float(check["reported_cost_usd"]), float(check["replayed_cost_usd"]),
        float(check["share_of_calls_within_1pct"]), float(check["share_of_dollars_within_1pct"]),
        sum(imported["skipped"].values()), sum(imported["unpriced_calls"].values()), dict(causes),
        dict(directions), float(check["rules_only"]["replayed_cost_usd"]),
        float(check["rules_only"]["share_of_calls_within_1pct"]),
        float(check["replayed_range_usd"][0]), float(check["replayed_range_usd"][1]),
        dict(check["routes"]),
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
    """The agreement table, one row per set: the documented rules alone, then with the
    provider behaviour measured on the set (in sample; ``--held-out`` for out of sample)."""
    lines = [
        "| set | from | source tool | routes seen | calls | reported $ | rules $ (diff) "
        "| calls within 1% | observed $ (diff) | 90% range | calls within 1% | $ within 1% |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def pct(x: float, r: SetResult) -> str:
        return f"{100 * (x - r.reported) / r.reported:+.1f}%" if r.reported else "n/a"

    for r in results:
        routes = ", ".join(f"{n} {k}" for k, n in r.routes.items())
        lines.append(
            f"| {r.name} | {r.origin} | {r.tool} | {routes} | {r.calls} | {r.reported:,.4f} "
            f"| {r.rules_replayed:,.4f} ({pct(r.rules_replayed, r)}) | {r.rules_within_1pct:.0%} "
            f"| {r.replayed:,.4f} ({pct(r.replayed, r)}) | {pct(r.low, r)} .. {pct(r.high, r)} "
            f"| {r.calls_within_1pct:.0%} | {r.dollars_within_1pct:.0%} |"
        )
    held = [r for r in results if r.origin == "held-out"]
    within3 = sum(abs(r.diff) <= 0.03 for r in held)
    lines.append("")
    lines.append(f"{within3} of {len(held)} held-out sets within 3% of the reported bill.")
    for r in results:  # a set that did not import whole is named, never silently compared
        if r.skipped_lines or r.unpriced_calls:
            lines.append(
                f"{r.name}: {r.skipped_lines} line(s) skipped, {r.unpriced_calls} unpriced"
            )
    return "\n".join(lines)


def held_out() -> str:
    """Each set: rates fitted on its first half (by time) predict its second half. "before" is
    the replay as it was before issue 12 on the same calls: a Bedrock short read taken as a
    rewrite, and a first call's read of a prefix cached outside the log written."""
    import tempfile

    import numpy as np

    import tokenomy.replay.trace as trace_module
    from tokenomy.ledger import Ledger
    from tokenomy.replay import from_calls
    from tokenomy.whatif import held_out_agreement

    folders = {name: HELDOUT / name for name in manifest_rows()}
    folders |= {rel: SHARED / rel for rel in SHARED_SETS if (SHARED / rel).is_dir()}
    lines = [
        "| set | calls predicted | reported $ | before $ (diff) | calls within 1% "
        "| rules $ (diff) | calls within 1% | fitted $ (diff) | calls within 1% "
        "| fitted closer than rules |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, path in folders.items():
        with (
            tempfile.TemporaryDirectory(prefix="tokenomy-heldout-") as home,
            Ledger(home, Pricer(Overrides.load(ALIASES))) as ledger,
        ):
            ledger.import_paths([path])
            calls, pricer = ledger.calls(), ledger.pricer
        a = held_out_agreement(from_calls(calls), pricer)
        kept = trace_module._BEST_EFFORT
        trace_module._BEST_EFFORT = frozenset()
        try:
            old = from_calls(calls)
        finally:
            trace_module._BEST_EFFORT = kept
        b = held_out_agreement(old.with_arrays(given=np.zeros(len(old), dtype=np.int64)), pricer)
        rep, rules, fitted = float(a.reported_cost), float(a.rules_cost), float(a.replayed_cost)

        def pct(x: float, rep: float = rep) -> str:
            return f"{100 * (x - rep) / rep:+.1f}%" if rep else "n/a"

        better = abs(fitted - rep) < abs(rules - rep) - 1e-9
        same = abs(abs(fitted - rep) - abs(rules - rep)) <= 1e-9
        lines.append(
            f"| {name} | {a.calls} | {rep:,.4f} "
            f"| {float(b.rules_cost):,.4f} ({pct(float(b.rules_cost))}) "
            f"| {b.rules_calls_within_1pct / b.calls:.0%} | {rules:,.4f} ({pct(rules)}) "
            f"| {a.rules_calls_within_1pct / a.calls:.0%} | {fitted:,.4f} ({pct(fitted)}) "
            f"| {a.calls_within_1pct / a.calls:.0%} "
            f"| {'same' if same else 'yes' if better else 'no'} |"
        )
    return "\n".join(lines)


def causes_markdown(results: list[SetResult]) -> str:
    """The calls the replay does not reproduce, by the cause ``--check`` names."""
    lines = ["| set | cause (as `--check` names it) | calls | replayed - reported $ |",
             "|---|---|---:|---:|"]  # fmt: skip
    for r in results:
        for why, c in sorted(r.causes.items(), key=lambda kv: -abs(kv[1]["usd_off"])):
            lines.append(f"| {r.name} | {why} | {int(c['calls'])} | {c['usd_off']:+,.4f} |")
    return "\n".join(lines)


# -- fit on one part, predict the rest -------------------------------------------------------

TTL_5M, TTL_1H = 300.0, 3600.0


@dataclass
class Step:
    """One call seen from its thread: what the provider's rules would let it read."""

    call: Call
    state: str  # "first", "live" (previous entry within its TTL) or "expired"
    reusable: int  # tokens the previous call left cached (0 for a first call)
    cached: bool  # prompt caching of Anthropic's kind (reads + writes) or automatic (OpenAI...)


def steps(calls: list[Call]) -> list[Step]:
    """Every call with its thread's previous call (a thread: one session and agent)."""
    threads: dict[tuple[str, str], list[Call]] = defaultdict(list)
    for c in calls:
        threads[(c.session, c.agent)].append(c)
    out = []
    for thread in threads.values():
        thread.sort(key=lambda c: c.time)
        prev: Call | None = None
        for c in thread:
            writes = c.provider == "anthropic" or c.model.startswith("claude")
            if prev is None:
                out.append(Step(c, "first", 0, writes))
            else:
                gap = (c.time - prev.time).total_seconds()
                ttl = TTL_1H if prev.cache_write_1h else TTL_5M
                if writes:  # Anthropic: the previous call's breakpoint covers what it read/wrote
                    reusable = min(prev.cache_read + prev.cache_write, c.prompt)
                else:  # automatic caching: the previous request's prefix, in 128-token blocks
                    reusable = min(prev.prompt, c.prompt) // 128 * 128
                out.append(Step(c, "live" if gap <= ttl else "expired", reusable, writes))
            prev = c
    out.sort(key=lambda s: s.call.time)
    return out


@dataclass
class Rates:
    """Provider behaviour measured on calls; ``Rates()`` is the documented rules (no misses,
    entries gone at the idle limit, nothing cached outside the log)."""

    live: int = 0  # live calls seen: the sample the miss rate comes from
    miss: float = 0.0  # share of live calls that read under half of what was left cached
    partial: float = 0.0  # share of those misses that still read a prefix kept elsewhere
    miss_read: int = 0  # what such a partial miss reads (median): the system prompt
    hit_read: float = 1.0  # read / reusable on the other live calls (sum over sum)
    late: int = 0  # calls after the idle limit seen
    survive: float = 0.0  # share of them that still read >= half of what was left cached
    late_read: int = 0  # what the others read (median)
    first_hit: float = 0.0  # share of first calls that read a prefix cached outside the log
    first_read: int = 0  # what they read (median)

    def bounds(self, z: float = 1.645) -> tuple[Rates, Rates]:
        """The rates at the ends of the 90% Wilson intervals of ``miss`` and ``survive``: the
        cheapest (fewest misses, most survivals) and the dearest."""
        m_lo, m_hi = wilson(self.miss, self.live, z)
        s_lo, s_hi = wilson(self.survive, self.late, z)
        low = Rates(**{**asdict(self), "miss": m_lo, "survive": s_hi})
        high = Rates(**{**asdict(self), "miss": m_hi, "survive": s_lo})
        return low, high


def wilson(p: float, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a share ``p`` seen on ``n`` trials (the point when n = 0)."""
    if n == 0:
        return p, p
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _median(xs: list[int]) -> int:
    return sorted(xs)[len(xs) // 2] if xs else 0


def fit(fit_steps: list[Step]) -> Rates:
    """The behaviour the provider showed on ``fit_steps``."""
    live = [s for s in fit_steps if s.state == "live" and s.reusable > 0]
    missed = [s for s in live if s.call.cache_read < s.reusable / 2]
    hits = [s for s in live if s.call.cache_read >= s.reusable / 2]
    partial = [s.call.cache_read for s in missed if s.call.cache_read > 0]
    late = [s for s in fit_steps if s.state == "expired" and s.reusable > 0]
    lost = [s.call.cache_read for s in late if s.call.cache_read < s.reusable / 2]
    firsts = [s.call.cache_read for s in fit_steps if s.state == "first"]
    return Rates(
        len(live),
        len(missed) / len(live) if live else 0.0,
        len(partial) / len(missed) if missed else 0.0,
        _median(partial),
        sum(s.call.cache_read for s in hits) / max(1, sum(s.reusable for s in hits)),
        len(late),
        1 - len(lost) / len(late) if late else 0.0,
        _median(lost),
        sum(r > 0 for r in firsts) / len(firsts) if firsts else 0.0,
        _median([r for r in firsts if r > 0]),
    )


def _prompt_cost(pricer: Pricer, s: Step, read: int) -> float:
    """The call's cost had it read ``read`` tokens: the rest written (Anthropic) or fresh."""
    c = s.call
    rates = pricer.rates(c.model, c.provider, c.time, c.service_tier)
    if rates is None:
        return float("nan")
    read = max(0, min(read, c.prompt - c.input if s.cached else c.prompt))
    rest = c.prompt - read
    if s.cached:  # the logged uncached tail stays fresh; the rest is written at the call's TTL
        write = rest - c.input
        w1h = write if c.cache_write_1h else 0
        cost = rates.cost(c.input, read, write - w1h, w1h, c.output)
    else:
        cost = rates.cost(rest, read, 0, 0, c.output)
    return float(cost)


def expected_cost(pricer: Pricer, s: Step, r: Rates) -> float:
    """Expected cost of one call under rates ``r`` (its output as logged)."""
    hit = _prompt_cost(pricer, s, round(r.hit_read * s.reusable))
    if s.state == "live" and s.reusable > 0:
        miss = r.partial * _prompt_cost(pricer, s, r.miss_read) + (1 - r.partial) * (
            _prompt_cost(pricer, s, 0)
        )
        return (1 - r.miss) * hit + r.miss * miss
    if s.state == "expired" and s.reusable > 0:
        return r.survive * hit + (1 - r.survive) * _prompt_cost(pricer, s, r.late_read)
    first = _prompt_cost(pricer, s, r.first_read)
    return r.first_hit * first + (1 - r.first_hit) * _prompt_cost(pricer, s, 0)


def reported_cost(pricer: Pricer, calls: list[Call]) -> float:
    total = Decimal(0)
    for c in calls:
        rates = pricer.rates(c.model, c.provider, c.time, c.service_tier)
        if rates is not None:
            total += rates.cost(c.input, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.output)
    return float(total)


@dataclass
class Prediction:
    """A part of a set predicted with rates fitted elsewhere, beside the rules alone."""

    name: str
    fitted_on: str
    calls: int
    reported: float
    rules: float
    fitted: float
    low: float  # the fitted rates at the cheap and dear ends of their 90% intervals
    high: float
    rates: Rates


def predict(name: str, fitted_on: str, part: list[Step], r: Rates, pricer: Pricer) -> Prediction:
    def total(rates: Rates) -> float:
        return sum(expected_cost(pricer, s, rates) for s in part)

    low, high = r.bounds()
    reported = reported_cost(pricer, [s.call for s in part])
    return Prediction(
        name, fitted_on, len(part), reported, total(Rates()), total(r), total(low), total(high), r
    )


def set_steps(pricer: Pricer) -> dict[str, list[Step]]:
    """Every held-out and shared set as thread steps, by name."""
    folders = {name: HELDOUT / name for name in manifest_rows()}
    folders |= {rel: SHARED / rel for rel in SHARED_SETS if (SHARED / rel).is_dir()}
    return {name: steps(read_paths([path])[0]) for name, path in folders.items()}


def fit_predict(route_of: dict[str, str]) -> list[Prediction]:
    """Within each set: fit on the first half of its calls, predict the second. Across sets:
    fit on every other set of the same route, predict this one whole."""
    pricer = Pricer(Overrides.load(ALIASES))
    by_set = set_steps(pricer)
    out = []
    for name, st in by_set.items():
        half = len(st) // 2
        if half >= 2:
            cut: datetime = st[half].call.time
            first = [s for s in st if s.call.time < cut]
            rest = [s for s in st if s.call.time >= cut]
            out.append(predict(name, "first half (time)", rest, fit(first), pricer))
        others = [s for o, ost in by_set.items() if o != name and route_of[o] == route_of[name]
                  for s in ost]  # fmt: skip
        if others:
            out.append(predict(name, f"other {route_of[name]} sets", st, fit(others), pricer))
    return out


def route_family(name: str) -> str:
    """Which sets share a provider route (for fitting on one and predicting another)."""
    if "bedrock" in name:
        return "Claude on Bedrock"
    if name.startswith(("cc-", "claude-code/")):
        return "Claude direct"
    if "gpt55" in name:
        return "gpt-5.5"
    if "gpt53" in name or name == "codex/localpush":
        return "gpt-5.3-codex"
    return name  # alone in its family


def prediction_markdown(preds: list[Prediction]) -> str:
    lines = [
        "| set | rates fitted on | calls predicted | reported $ | rules $ (diff) "
        "| fitted rates $ (diff) | 90% range | reported in range | live miss (n) "
        "| survive idle limit (n) | first call reads |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for p in preds:

        def pct(x: float, reported: float = p.reported) -> str:
            return f"{100 * (x - reported) / reported:+.1f}%" if reported else "n/a"

        r = p.rates
        lines.append(
            f"| {p.name} | {p.fitted_on} | {p.calls} | {p.reported:,.4f} "
            f"| {p.rules:,.4f} ({pct(p.rules)}) | {p.fitted:,.4f} ({pct(p.fitted)}) "
            f"| {pct(p.low)} .. {pct(p.high)} | {'yes' if p.low <= p.reported <= p.high else 'no'} "
            f"| {r.miss:.0%} ({r.live}) | {r.survive:.0%} ({r.late}) "
            f"| {r.first_hit:.0%} x {r.first_read:,} |"
        )
    return "\n".join(lines)


def directions_markdown(results: list[SetResult]) -> str:
    """The same misses by which way the log's cache read differs from the replay's."""
    ways = ["log read less (missed)", "log read more (prefix kept elsewhere)",
            "same read, other split"]  # fmt: skip
    lines = ["| set | " + " | ".join(f"{w}: calls, $" for w in ways) + " |",
             "|---|" + "---:|" * len(ways)]  # fmt: skip
    for r in results:
        cells = []
        for w in ways:
            c = r.directions.get(w, {"calls": 0, "usd_off": 0.0})
            cells.append(f"{int(c['calls'])}, {c['usd_off']:+,.2f}")
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--causes", action="store_true", help="also list misses by cause")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("--fit-predict", action="store_true", help="measured-rates experiment")
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="the replay's rates fitted on each set's first half predicting its second",
    )
    args = parser.parse_args()
    if args.held_out:
        print(held_out())
        return
    if args.fit_predict:
        names = list(manifest_rows()) + list(SHARED_SETS)
        print(prediction_markdown(fit_predict({n: route_family(n) for n in names})))
        return
    results = all_sets()
    print(markdown(results))
    if args.causes:
        print()
        print(causes_markdown(results))
        print()
        print(directions_markdown(results))
    if args.json:
        rows = [asdict(r) | {"diff": r.diff} for r in results]
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
