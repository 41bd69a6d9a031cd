"""Calibrate the Claude token estimate on real Claude Code transcripts, and measure its error.

Claude has no public tokenizer, but every Claude Code call logs its exact prompt size
(input + cache_read + cache_creation tokens). Between two consecutive calls of one session the
prompt grows by exactly the tokens of what was appended: the assistant's previous message
(text and tool calls) and the tool results or user text that came back, plus a fixed framing per
content block. So for each such pair we know Claude's exact count of a known text.

We fit  growth = sum over content types of ratio[type] * o200k_tokens[type] + framing * blocks
+ per_pair  by least squares, and measure the error leaving one whole session out at a time
(the fit never sees the session it predicts). Pairs are skipped when the appended content holds a
thinking block (its full text is not in the log), an image, or a system event (compaction), or
when the model changes.

    .venv/bin/python bench/calibrate_claude_estimate.py          # prints the fit and the error
    .venv/bin/python bench/calibrate_claude_estimate.py --write  # also updates the data file
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from tokenomy.tokens.content_type import classify
from tokenomy.tokens.registry import get_tokenizer

LOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "logs" / "claude-code"
OUT = Path(__file__).resolve().parents[1] / "tokenomy" / "data" / "claude_estimate.toml"
TYPES = ("prose", "code")  # JSON and non-English text are too rare in these logs to fit


@dataclass
class Call:
    id: str
    model: str
    prompt: int
    blocks: list[tuple[str, str]] = field(default_factory=list)  # appended after this call
    skip: bool = False


def _block(b: dict[str, object]) -> tuple[str, str]:
    kind = str(b.get("type"))
    if kind == "text":
        return kind, str(b["text"])
    if kind == "tool_use":
        return kind, str(b["name"]) + json.dumps(b.get("input"), ensure_ascii=False)
    if kind == "tool_result":
        content = b.get("content")
        if isinstance(content, list):
            if any(x.get("type") != "text" for x in content):
                return "image", ""
            content = "\n".join(str(x["text"]) for x in content)
        return kind, str(content or "")
    return kind, ""  # thinking, image, ...


def calls_of(path: Path) -> list[Call]:
    calls: list[Call] = []
    for line in path.open(encoding="utf-8"):
        row = json.loads(line)
        kind = row.get("type")
        if kind == "assistant":
            message = row["message"]
            usage = message.get("usage") or {}
            if not calls or calls[-1].id != message["id"]:
                prompt = sum(
                    usage.get(k, 0)
                    for k in (
                        "input_tokens",
                        "cache_read_input_tokens",
                        "cache_creation_input_tokens",
                    )
                )
                calls.append(Call(message["id"], message.get("model", ""), prompt))
            calls[-1].blocks += [_block(b) for b in message.get("content") or []]
        elif kind == "user" and calls:
            content = row["message"]["content"]
            if isinstance(content, str):
                calls[-1].blocks.append(("text", content))
            else:
                calls[-1].blocks += [_block(b) for b in content]
        elif kind == "system" and calls:
            calls[-1].skip = True
    return calls


@dataclass
class Pair:
    session: str
    model: str
    growth: int  # exact Claude tokens appended, from the logged prompt sizes
    tokens: dict[str, int]  # o200k tokens of the appended text, by content type
    blocks: int


def pairs() -> list[Pair]:
    o200k = get_tokenizer("o200k_base")
    found: list[Pair] = []
    for path in sorted(LOGS.rglob("*.jsonl")):
        session = str(path.relative_to(LOGS)).split("/subagents")[0].removesuffix(".jsonl")
        calls = calls_of(path)
        for a, b in itertools.pairwise(calls):
            kinds = {k for k, _ in a.blocks}
            if a.skip or a.model != b.model or kinds - {"text", "tool_use", "tool_result"}:
                continue
            growth = b.prompt - a.prompt
            if growth <= 0:
                continue
            tokens = dict.fromkeys(TYPES, 0)
            for _, text in a.blocks:
                kind = classify(text)
                tokens[kind if kind in TYPES else "prose"] += o200k.count(text)
            found.append(Pair(session, a.model, growth, tokens, len(a.blocks)))
    return found


def design(ps: list[Pair]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[p.tokens[t] for t in TYPES] + [p.blocks, 1.0] for p in ps], dtype=float)
    return x, np.array([p.growth for p in ps], dtype=float)


def fit(ps: list[Pair]) -> np.ndarray:
    x, y = design(ps)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return np.asarray(coef)


def fit_mixed(ps: list[Pair]) -> float:
    """One ratio for all content (framing fitted alongside and dropped)."""
    x, y = design(ps)
    single = np.c_[x[:, : len(TYPES)].sum(1), x[:, len(TYPES) :]]
    coef, *_ = np.linalg.lstsq(single, y, rcond=None)
    return float(coef[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {OUT.name}")
    args = parser.parse_args()
    ps = pairs()
    sessions = sorted({p.session for p in ps})
    print(
        f"{len(ps)} call pairs from {len(sessions)} sessions; models:",
        dict(Counter(p.model for p in ps)),
    )
    coef = fit(ps)
    mixed = fit_mixed(ps)
    names = [*TYPES, "per_block", "per_pair"]
    print("fit on all:", {n: round(float(c), 3) for n, c in zip(names, coef, strict=True)})

    # Leave one session out: each session predicted by a fit on all the others.
    pair_errors: list[float] = []
    session_rows: list[tuple[str, int, int, int]] = []
    for s in sessions:
        train = [p for p in ps if p.session != s]
        test = [p for p in ps if p.session == s]
        x, y = design(test)
        predicted = x @ fit(train)
        pair_errors += list((predicted - y) / y)
        session_rows.append((s, len(test), int(y.sum()), round(predicted.sum())))
    errors = np.array(pair_errors)
    print("one ratio for all content:", round(mixed, 4))
    # Text-only error: pairs whose appended text is large, so the framing is a small part.
    big_errors: list[float] = []
    for s in sessions:
        train = [p for p in ps if p.session != s]
        c = fit(train)
        for p in ps:
            if p.session == s and sum(p.tokens.values()) >= 2000:
                content = p.growth - c[-2] * p.blocks - c[-1]
                estimate = sum(c[i] * p.tokens[t] for i, t in enumerate(TYPES))
                big_errors.append((estimate - content) / content)
    big = np.array(big_errors)
    print(
        f"text of >= 2000 o200k tokens ({len(big)} pairs, held out): median |error| "
        f"{np.median(abs(big)):.1%}, p90 {np.percentile(abs(big), 90):.1%}, mean {big.mean():+.1%}"
    )
    print(f"\n{'held-out session':48} pairs   actual  estimate  error")
    for s, n, actual, estimate in session_rows:
        print(f"{s[:48]:48} {n:5} {actual:8} {estimate:9} {(estimate - actual) / actual:+6.1%}")
    total_actual = sum(r[2] for r in session_rows)
    total_estimate = sum(r[3] for r in session_rows)
    total_error = (total_estimate - total_actual) / total_actual
    session_errors = np.array([(r[3] - r[2]) / r[2] for r in session_rows])
    print(
        f"\nper pair: median |error| {np.median(abs(errors)):.1%},"
        f" p90 {np.percentile(abs(errors), 90):.1%};"
        f" per session: median |error| {np.median(abs(session_errors)):.1%},"
        f" max {abs(session_errors).max():.1%}; all held-out tokens: {total_error:+.1%}"
    )
    if args.write:
        lines = [
            "# Claude token estimate: o200k_base tokens x ratio per content type, plus framing.",
            "# Written by bench/calibrate_claude_estimate.py; do not edit by hand.",
            f'measured_on = "{date.today().isoformat()}"',
            'source = "prompt growth between consecutive calls in the Claude Code transcripts of '
            '../shared/data/logs/claude-code (marot/spotter, DRMacIver/claude-reliability)"',
            f'models = "{", ".join(sorted({p.model for p in ps}))}"',
            f"pairs = {len(ps)}",
            f"sessions = {len(sessions)}",
            f"per_block = {coef[-2]:.2f}  # tokens of framing per content block",
            f"per_pair = {coef[-1]:.2f}  # tokens of framing per assistant/user exchange",
            "",
            "[ratio]  # Claude tokens per o200k_base token",
            *(f"{t} = {c:.4f}" for t, c in zip(TYPES, coef[: len(TYPES)], strict=True)),
            f"mixed = {mixed:.4f}",
            "",
            "[error]  # measured leaving one session out",
            f"pair_median_abs = {np.median(abs(errors)):.4f}",
            f"pair_p90_abs = {np.percentile(abs(errors), 90):.4f}",
            f"session_median_abs = {np.median(abs(session_errors)):.4f}",
            f"session_max_abs = {abs(session_errors).max():.4f}",
            f"total = {total_error:.4f}",
            f"text_pairs = {len(big)}  # pairs with >= 2000 o200k tokens of appended text",
            f"text_median_abs = {np.median(abs(big)):.4f}",
            f"text_p90_abs = {np.percentile(abs(big), 90):.4f}",
            f"text_mean = {big.mean():.4f}",
        ]
        OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
