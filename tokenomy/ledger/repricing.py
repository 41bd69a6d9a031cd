"""Pricing the calls of a DuckDB ledger in SQL, from the same ``Rates`` every report uses.

Each distinct (model, provider, tier, day) is resolved once by ``tokenomy.pricing.Pricer``; its
long-context bands become rows of a temporary ``rates`` table, and one ``UPDATE`` joins the calls
to their band (a prompt above a band's threshold pays that band for every token, as
genai-prices bills it). Models priced by the time of day are priced call by call. A model
without rates stays unpriced: ``cost`` NULL, never 0. Every call priced gets the prices'
fingerprint, so a change of prices or overrides reprices exactly what it must.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.calls import prompt_sql

if TYPE_CHECKING:
    from tokenomy.ledger.store import Ledger
    from tokenomy.pricing import Pricer

__all__ = ["RATE_COLUMNS", "call_costs", "price", "rate_table"]

# The columns of a rate row: a (model, provider, tier, UTC day) key, a long-context band
# (prompts above ``above`` up to ``upper`` tokens), its rates per million tokens, the price
# per request, and the model genai-prices priced it as. Every backend prices from these rows.
RATE_COLUMNS = (
    "model", "provider", "tier", "day", "above", "upper", "r_input", "r_cache_read", "r_cw5",
    "r_cw1h", "r_output", "per_request", "priced_model",
)  # fmt: skip


def price(ledger: Ledger, everything: bool = False) -> int:
    """Price the calls not priced with the current prices (all with ``everything``), inside
    the caller's transaction if one is open; returns how many rate keys were resolved."""
    pricer = ledger.pricer
    fp = pricer.fingerprint
    where = "" if everything else "WHERE price_fp IS DISTINCT FROM ?"
    params: list[Any] = [] if everything else [fp]
    keys = ledger.sql(
        "SELECT DISTINCT model, provider, service_tier, min(time), "
        "strftime(time, '%Y-%m-%d') AS day "
        f"FROM calls {where} GROUP BY ALL",
        params,
    )
    if not keys:
        return 0
    rate_rows, by_the_minute = rate_table(pricer, keys)
    ledger.sql(
        "CREATE OR REPLACE TEMP TABLE rates (model VARCHAR, provider VARCHAR, tier VARCHAR, "
        "day VARCHAR, above BIGINT, upper BIGINT, r_input DECIMAL(38,12), "
        "r_cache_read DECIMAL(38,12), r_cw5 DECIMAL(38,12), r_cw1h DECIMAL(38,12), "
        "r_output DECIMAL(38,12), per_request DECIMAL(38,12), priced_model VARCHAR)"
    )
    if rate_rows:
        money = ", ".join(f"CAST({c} AS DECIMAL(38, 12))" for c in RATE_COLUMNS[6:12])
        with ledger.staged("new_rates", RATE_COLUMNS, rate_rows):
            ledger.sql(
                "INSERT INTO rates SELECT model, provider, tier, day, CAST(above AS BIGINT), "
                f"CAST(upper AS BIGINT), {money}, priced_model FROM new_rates"
            )
    prompt = prompt_sql("c")
    # One pass: every call needing a price gets the fingerprint, and a cost where a rate
    # band matches (a model without rates stays unpriced: NULL, never 0).
    ledger.sql(
        "UPDATE calls SET cost = p.cost, priced_model = p.priced_model, price_fp = ? "
        "FROM (SELECT c.source, c.id, "
        "CAST((c.input * r.r_input + c.cache_read * r.r_cache_read "
        "+ c.cache_write_5m * r.r_cw5 + c.cache_write_1h * r.r_cw1h "
        "+ c.output * r.r_output) / 1000000 + r.per_request AS DECIMAL(38, 12)) AS cost, "
        "r.priced_model "
        "FROM calls c LEFT JOIN rates r ON c.model = r.model AND c.provider = r.provider "
        "AND c.service_tier = r.tier AND strftime(c.time, '%Y-%m-%d') = r.day "
        f"AND (r.above = 0 OR {prompt} > r.above) AND (r.upper IS NULL OR {prompt} <= r.upper) "
        f"{where.replace('price_fp', 'c.price_fp')}) p "
        "WHERE calls.source = p.source AND calls.id = p.id",
        [fp, *params],
    )
    for model, provider in by_the_minute:
        _price_call_by_call(ledger, model, provider, fp)
    pricer.save()
    return len(keys)


def rate_table(
    pricer: Pricer, keys: Iterable[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], set[tuple[str, str]]]:
    """The rate rows (``RATE_COLUMNS``) of each (model, provider, tier, first UTC time, day)
    key, and the (model, provider) pairs priced by the time of day, which are priced call by
    call (``call_costs``). A model without rates gets no row: its calls stay unpriced."""
    rate_rows = []
    by_the_minute = set()
    for model, provider, tier, first, day in keys:
        if pricer.varies_within_a_day(model, provider):
            by_the_minute.add((model, provider))
            continue
        rates = pricer.rates(model, provider, first.replace(tzinfo=UTC), tier)
        if rates is None:
            continue
        for i, band in enumerate(rates.bands):
            upper = rates.bands[i + 1].above if i + 1 < len(rates.bands) else None
            rate_rows.append(
                (model, provider, tier, str(day), band.above, upper, band.input,
                 band.cache_read, band.cache_write_5m, band.cache_write_1h, band.output,
                 rates.per_request, rates.model)
            )  # fmt: skip
    return rate_rows, by_the_minute


def call_costs(
    pricer: Pricer, model: str, provider: str, rows: Iterable[tuple[Any, ...]]
) -> list[tuple[str, str, Decimal, str]]:
    """(source, id, cost, priced model) of calls given as (source, id, UTC time, tier,
    *token kinds), each priced at its own moment (rates that change within a day)."""
    priced = []
    for source, id_, time, tier, *tokens in rows:
        rates = pricer.rates(model, provider, time.replace(tzinfo=UTC), tier)
        if rates is not None:
            priced.append((source, id_, rates.cost(*tokens), rates.model))
    return priced


def _price_call_by_call(ledger: Ledger, model: str, provider: str, fp: str) -> None:
    """Price a model whose rates change within a day (off-peak discounts) call by call."""
    rows = ledger.sql(
        "SELECT source, id, time, service_tier, input, cache_read, cache_write_5m, "
        "cache_write_1h, output FROM calls "
        "WHERE model = ? AND provider = ? AND cost IS NULL AND price_fp = ?",
        [model, provider, fp],
    )
    priced = call_costs(ledger.pricer, model, provider, rows)
    if priced:
        columns = ("source", "id", "cost", "priced_model")
        with ledger.staged("priced", columns, priced):
            ledger.sql(
                "UPDATE calls AS c SET cost = CAST(p.cost AS DECIMAL(38, 12)), "
                "priced_model = p.priced_model FROM priced p "
                "WHERE c.source = p.source AND c.id = p.id"
            )
