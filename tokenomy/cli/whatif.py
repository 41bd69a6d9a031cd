"""``tokenomy whatif``: real traces replayed under each lever and the best combination."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

if TYPE_CHECKING:
    from tokenomy.whatif import WhatIf

LeverOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--lever",
        help="A lever NAME[:ARG][,KEY=VALUE...], repeatable: cache:auto, cache:anthropic-1h, "
        "no-cache, "
        "model:claude-haiku-4-5, route:claude-haiku-4-5,max_prompt=20000, "
        "compact:100000,keep=3,summary=3000, clear-tools:100000, cap:2000, batch:subagents. "
        "Default: a set that fits the logs.",
        show_default=False,
    ),
]


def table_rows(result: WhatIf, fmt: Format = Format.table) -> list[dict[str, Any]]:
    """The rows ``whatif`` prints: in a table the saving's range sits beside it as one cell
    ("$0.38 to $0.40"); CSV keeps every field (``saved_low_usd``, ``saved_high_usd``)."""
    from tokenomy.cli.output import _cell

    rows = [{k: v for k, v in r.items() if k != "assumptions"} for r in result.rows()]
    if fmt is not Format.table:
        return rows
    out = []
    for r in rows:
        low, high = r.pop("saved_low_usd"), r.pop("saved_high_usd")
        unpriced = r.pop("unpriced")
        shown: dict[str, Any] = {}
        for k, v in r.items():
            shown[k] = v
            if k == "saved_usd":
                shown["saved range"] = (
                    f"unpriced: {unpriced}" if unpriced else f"{_cell(low)} to {_cell(high)}"
                )
        out.append(shown)
    return out


def error_line(result: WhatIf) -> str | None:
    """One line saying how far the replay is from the log's bill (the savings' range)."""
    if result.replay_error is None:
        return None
    return (
        f"savings as ranges: the replayed baseline is {result.bill_error:+.1%} from the "
        f"reported bill, {result.replay_error:.1%} summed call by call; each saving is shown "
        f"x (1 -/+ {result.replay_error:.1%}), widened by a lever's token-count error"
    )


@app.command("whatif")
@c.ledger_options()
def whatif_command(
    options: c.LedgerOptions,
    lever: LeverOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Also show how well the replay reproduces the log.")
    ] = False,
) -> None:
    """Baseline, each lever alone and the best combination, ranked by dollars saved."""
    # Imported here: the replay engine loads numpy, which every other command can do without.
    from tokenomy.levers import UnknownLever, lever_names, make_lever
    from tokenomy.replay.trace import from_calls
    from tokenomy.whatif import replay_agreement, whatif

    fmt = options.fmt
    try:
        levers = [make_lever(spec) for spec in lever] if lever else None
    except UnknownLever as exc:
        raise typer.BadParameter(f"{exc} (known: {', '.join(lever_names())})") from exc
    ledger, _ = options.open(quiet=fmt is not Format.table)
    with ledger:
        calls = ledger.calls(options.filters)
        digests = ledger.prompt_digests()
        pricer = ledger.pricer
    if not calls:
        err.print("no calls found")
        raise typer.Exit(1)
    trace = from_calls(calls, digests=digests)
    c.note_compile(len(trace))
    with c.busy(f"replaying {len(trace):,} calls under each lever", fmt is Format.table):
        result = whatif(trace, levers, pricer)
    extra = result.to_dict()
    if check:
        extra["replay_agreement"] = replay_agreement(trace, pricer).to_dict()
    if fmt is Format.json:
        emit([], fmt, extra=extra)
        return
    rows = table_rows(result, fmt)
    emit(rows, fmt, title=(
        f"What if: {result.calls:,} calls; reported ${result.reported:,.2f}, replayed baseline "
        f"${result.baseline.cost:,.2f}"
    ))  # fmt: skip
    if fmt is Format.table:
        for r in result.rows():
            for note in r["assumptions"]:
                err.print(f"  {r['scenario']}: {note}", highlight=False)
        err.print("note: answer quality is not simulated by any lever.", highlight=False)
        err.print(
            "note: token count error is how far a lever's converted token counts may be from "
            "the target model's own tokenizer (measured ratios; 0 when the model is kept).",
            highlight=False,
        )
        line = error_line(result)
        if line:
            err.print(line, highlight=False)
        if check:
            a = extra["replay_agreement"]
            err.print(
                f"replay check: {a['share_of_calls_within_1pct']:.1%} of calls and "
                f"{a['share_of_dollars_within_1pct']:.1%} of dollars within 1% of the log",
                highlight=False,
            )
            for line in check_lines(a):
                err.print(line, highlight=False)


def check_lines(a: dict[str, Any]) -> list[str]:
    """What ``--check`` adds in a table: routes, the rates measured and used, the spread, and
    the calls it cannot reproduce by cause."""
    routes = ", ".join(f"{n:,} {r}" for r, n in a["routes"].items())
    low, high = a["replayed_range_usd"]
    rules = a["rules_only"]
    lines = [
        f"routes: {routes}",
        f"replayed ${a['replayed_cost_usd']:,.4f} (90% range ${low:,.4f} .. ${high:,.4f}); "
        f"documented rules alone ${rules['replayed_cost_usd']:,.4f}, "
        f"{rules['share_of_calls_within_1pct']:.1%} of calls within 1%",
    ]
    observed = a.get("observed") or {}
    for g in observed.get("rates", []):
        if not g["used"]:
            continue
        survival = ", ".join(
            f"{k}/{n}" for k, n in zip(g["idle_survived"], g["idle_calls"], strict=True)
        )
        lines.append(
            f"observed on {g['route']} {g['family']}: {g['live_missed']}/{g['live_calls']} live "
            f"entries missed ({g['sessions_with_misses']} sessions; rate used "
            f"{g['miss_rate_used']:.1%} of the live cached tokens), idle survival {survival} "
            "(1-2, 2-6, 6-12 TTLs)"
            + (
                f", hits read {g['hit_short_share']:.2%} less than the rules"
                if g.get("hit_short_share")
                else ""
            )
        )
    if a.get("given_reads"):
        lines.append(f"{a['given_reads']} first calls read a prefix cached outside the log")
    if a.get("linked_sessions"):
        lines.append(f"{a['linked_sessions']} resumed sessions joined to the thread they continue")
    causes: dict[str, int] = {}
    for d in a["disagreements"]:
        why = re.sub(r"\d[\d,.]*", "N", d["why"])
        causes[why] = causes.get(why, 0) + 1
    for why, n in sorted(causes.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {n:,} calls not reproduced: {why}")
    return lines


def print_chat(limit: int, model: str, system_tokens: int, levers: list[str] | None) -> None:
    """The chat workload: ShareGPT conversations replayed with full history every turn."""
    from tokenomy.anatomy import anatomy
    from tokenomy.whatif import whatif
    from tokenomy.workloads.chat import chat_workload

    work = chat_workload(limit=limit, model=model, system_tokens=system_tokens)
    if work.read is not None:
        r = work.read
        cut = (
            f"; the file is cut off mid-record, {r.bytes_left_unparsed:,} bytes left unparsed"
            if r.truncated
            else ""
        )
        err.print(f"ShareGPT: {r.records_read:,} whole records read{cut}", highlight=False)
    for note in work.assumptions:
        err.print(f"assumed: {note}", highlight=False)
    tax = anatomy(work.trace).context_tax
    err.print(
        f"context tax: {tax['resent_share']:.1%} of {tax['prompt_tokens']:,} prompt tokens "
        f"re-send earlier turns ({work.calls:,} calls in {work.conversations:,} conversations)",
        highlight=False,
    )
    result = whatif(work.trace, levers or ["no-cache", "cache:anthropic-5m",
                                           "cache:anthropic-1h", "compact:8000,keep=4,summary=500",
                                           "cap:500", "model:claude-haiku-4-5"],
                    measure_error=False)  # fmt: skip
    rows = table_rows(result)
    emit(rows, Format.table, title=f"What if (chat workload, {model}): replayed baseline "
         f"${result.baseline.cost:,.2f} with the provider's caching")  # fmt: skip


def chat_demo() -> None:
    """What ``tokenomy demo`` shows when there are no logs at all."""
    print_chat(200, "claude-sonnet-4-5", 2000, None)


@app.command("whatif-chat")
def whatif_chat_command(
    conversations: Annotated[int, typer.Option("--conversations", help="How many.")] = 1000,
    model: Annotated[str, typer.Option("--chat-model")] = "claude-sonnet-4-5",
    system_tokens: Annotated[int, typer.Option("--system-tokens")] = 2000,
    lever: LeverOpt = None,
) -> None:
    """The levers on real ShareGPT conversations replayed as a chat product sends them."""
    print_chat(conversations, model, system_tokens, lever)
