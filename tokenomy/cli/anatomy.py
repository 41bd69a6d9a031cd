"""``tokenomy anatomy``: what the bill is made of, the context tax and cache efficiency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tokenomy.cli import common as c
from tokenomy.cli.app import app
from tokenomy.cli.output import Format, emit, err

if TYPE_CHECKING:
    from tokenomy.anatomy import Anatomy

SessionOpt = Annotated[
    str | None, typer.Option("--session", help="One session (with its sub-agents); default all.")
]


@app.command("anatomy")
@c.ledger_options(csv=False)
def anatomy_command(options: c.LedgerOptions, session: SessionOpt = None) -> None:
    """Cost by token kind, the context tax (history re-sent each call), cache efficiency and
    waste, sub-agent and compaction shares."""
    from tokenomy.anatomy import anatomy  # numpy: loaded only for this command

    as_json = options.fmt is Format.json
    ledger, _ = options.open(quiet=as_json)
    with ledger:
        calls = ledger.calls(options.filters)
        pricer = ledger.pricer
    if not calls:
        err.print("no calls found")
        raise typer.Exit(1)
    result = anatomy(calls, pricer, session=session)
    if result.calls == 0:
        err.print(f"no calls in session {session!r}")
        raise typer.Exit(1)
    if as_json:
        emit([], Format.json, extra=result.to_dict())
        return
    print_anatomy(result)


# What each cache measure means, in the words the table shows (the JSON keeps the keys).
CACHE_MEASURES = {
    "hit_share": "prompt tokens served from cache",
    "written_tokens": "tokens written to cache",
    "written_never_read_tokens": "written, never read",
    "expired_before_reuse_tokens": "  of which expired before reuse",
    "not_reused_history_rewritten_tokens": "  of which history rewritten",
    "written_at_thread_end_tokens": "  of which written at a thread's end",
    "wasted_write_cost_usd": "cost of the writes never read",
    "wasted_write_premium_usd": "  of which premium over fresh input",
}


def print_anatomy(a: Anatomy) -> None:
    from tokenomy.cost_by_kind import KIND_LABELS

    by_kind = [{**r, "kind": KIND_LABELS.get(r["kind"], r["kind"])} for r in a.by_kind]
    emit(by_kind, Format.table, title=f"Cost by token kind ({a.calls:,} calls, ${a.cost:,.2f})")
    t = a.context_tax
    err.print(
        f"context tax: {t['resent_share']:.1%} of {t['prompt_tokens']:,} prompt tokens were "
        f"history already sent earlier in the same thread ({t['new_tokens']:,} new)",
        highlight=False,
    )
    curve = [r for r in a.curve if r["call_index"] in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500)]
    emit(curve, Format.table, title="Context tax by call index")
    cache = [
        {"measure": CACHE_MEASURES.get(k, k), "value": f"{v:.1%}" if k.endswith("_share") else v}
        for k, v in a.cache.items()
    ]
    emit(cache, Format.table, title="Cache efficiency (as reported by the provider)")
    shares = [{"who": k, **v} for k, v in a.shares.items()]
    emit(shares, Format.table, title="Sub-agents and compaction")
    if a.lower_bound["calls"]:
        err.print(
            f"note: {a.lower_bound['calls']:,} call(s) have output that is only a lower bound "
            f"({a.lower_bound['output_tokens']:,} tokens).",
            highlight=False,
        )
