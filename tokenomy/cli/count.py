"""``tokenomy count`` and ``tokenomy tax``: exact token counts of a file, and its format tax."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from tokenomy.cli.app import app
from tokenomy.cli.common import FormatCsv, FormatJson, output_format
from tokenomy.cli.output import Format, emit, err

DEFAULT_MODELS = "gpt-4o,gpt-4.1,claude-sonnet-4-5,claude-opus-4-7,llama-3.3-70b,deepseek-chat"


def _open(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    file = Path(path)
    if not file.is_file():
        err.print(f"no such file: {path}")
        raise typer.Exit(2)
    return file.open("rb")


def _input_price(model: str, at: datetime | None) -> Decimal | None:
    """Dollars per million input tokens for ``model`` at ``at`` (now if None), from
    genai-prices; None if unknown. Off-peak discounts make the answer depend on the hour."""
    from tokenomy.pricing import Pricer

    rates = Pricer().rates(model, time=at)
    return None if rates is None else rates.bands[0].input


@app.command()
def count(
    path: str = typer.Argument(..., metavar="FILE|-", help="A text file, or - for stdin."),
    models: str = typer.Option(DEFAULT_MODELS, help="Comma-separated models to price."),
    tokenizer: Annotated[
        list[str] | None,
        typer.Option("--tokenizer", help="Count with these only (repeatable), e.g. o200k_base."),
    ] = None,
    at: Annotated[
        datetime | None,
        typer.Option(
            "--at",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"],
            help="Price as at this UTC time (default: now; some prices vary by hour).",
        ),
    ] = None,
    as_json: FormatJson = False,
    as_csv: FormatCsv = False,
) -> None:
    """Exact tokens of a file under every tokenizer, and what it costs as input per model.

    The input is streamed in blocks: a file of any size is counted in bounded memory."""
    from tokenomy.tokens import EXACT_TOKENIZERS, BinaryInput, count_stream, get_tokenizer
    from tokenomy.tokens.registry import tokenizer_name_for_model

    fmt = output_format(as_json, as_csv)
    names = tokenizer or [*EXACT_TOKENIZERS, "claude-estimate", "claude-4.7-estimate"]
    try:
        tokenizers = [get_tokenizer(n) for n in names]
    except KeyError as error:
        raise typer.BadParameter(str(error.args[0]), param_hint="--tokenizer") from None
    try:
        with _open(path) as stream:
            result = count_stream(stream, tokenizers)
    except BinaryInput as error:
        err.print(f"{path}: {error}")
        raise typer.Exit(1) from None
    if result.bytes == 0:
        err.print(f"{path}: empty input, 0 tokens")
    if result.invalid_utf8:
        err.print(f"{path}: {result.invalid_utf8} invalid UTF-8 sequences counted as U+FFFD")
    if result.forced_cuts:
        err.print(f"{path}: {result.forced_cuts} forced cuts: counts may be off by ~1 per cut")
    rows: list[dict[str, Any]] = [
        {"tokenizer": t.name, "exact": t.exact, "tokens": result.tokens[t.name]} for t in tokenizers
    ]
    prices: list[dict[str, Any]] = []
    for model in [m.strip() for m in models.split(",") if m.strip()]:
        tokenizer_name = tokenizer_name_for_model(model)
        if tokenizer_name not in result.tokens:
            continue  # its tokenizer was not asked for
        tokens = result.tokens[tokenizer_name]
        per_mtok = _input_price(model, None if at is None else at.replace(tzinfo=UTC))
        prices.append(
            {
                "model": model,
                "tokenizer": tokenizer_name,
                "tokens": tokens,
                "input_usd_per_mtok": per_mtok,
                "input_usd": None if per_mtok is None else per_mtok * tokens / 1_000_000,
            }
        )
    if fmt is Format.table:
        emit(rows, fmt, title=f"{path}: {result.bytes:,} bytes")
        emit(prices, fmt, title="as input, per model (Claude: estimated)")
        return
    emit(
        rows,
        fmt,
        extra={
            "tokens": {r["tokenizer"]: r["tokens"] for r in rows},
            "models": prices,
            "bytes": result.bytes,
            "characters": result.characters,
            "invalid_utf8": result.invalid_utf8,
        },
    )


@app.command()
def tax(
    path: str = typer.Argument(..., metavar="FILE|-", help="JSON, YAML, CSV or source code."),
    model: str = typer.Option("gpt-4o", help="Model whose tokenizer and price to use."),
    as_json: FormatJson = False,
    as_csv: FormatCsv = False,
) -> None:
    """What a payload's format costs: structure vs values, and the same data in other shapes."""
    from tokenomy.tokens import tokenizer_for_model
    from tokenomy.tokens.code_tax import code_tax
    from tokenomy.tokens.tax import RefusedPayload, UnsupportedPayload, format_tax

    fmt = output_format(as_json, as_csv)
    with _open(path) as stream:
        raw = stream.read()
    if b"\0" in raw[:8192]:
        err.print(f"{path}: binary input (NUL bytes): not text")
        raise typer.Exit(1)
    text = raw.decode("utf-8", errors="replace")
    if "\ufffd" in text:
        err.print(f"{path}: invalid UTF-8 replaced by U+FFFD")
    tokenizer = tokenizer_for_model(model)
    per_mtok = _input_price(model, None)
    if not tokenizer.exact:
        err.print(f"{tokenizer.name}: Claude counts are estimates (see docs/tokens.md)")
    try:
        report = format_tax(text, tokenizer)
    except RefusedPayload as error:
        err.print(f"{path}: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except UnsupportedPayload as error:
        if not text.strip():
            err.print(f"{path}: {error}")
            raise typer.Exit(1) from None
        code = code_tax(text, tokenizer)
        rows = [{"part": k, "tokens": v, "share": v / max(code.tokens, 1)} for k, v in code.parts()]
        emit(
            rows,
            fmt,
            title=f"{path}: code, {code.tokens:,} {tokenizer.name} tokens",
            totals={"part": "total", "tokens": code.tokens},
            extra={"kind": "code", "tokenizer": tokenizer.name, "tokens": code.tokens},
        )
        return

    def usd_per_million_calls(tokens: int) -> Decimal | None:
        # A million calls each sending `tokens` input tokens: tokens x $/Mtok dollars.
        return None if per_mtok is None else per_mtok * tokens

    base = report.tokens
    rows = [
        {
            "shape": s.format,
            "tokens": s.tokens,
            "vs_input": s.tokens / base - 1 if base else 0.0,
            "exact": s.exact,
            "usd_per_million_calls": usd_per_million_calls(s.tokens),
        }
        for s in report.shapes
    ]
    split = {
        "keys": report.key_tokens,
        "values": report.value_tokens,
        "punctuation_whitespace": report.structure_tokens,
    }
    if fmt is Format.table:
        err.print(
            f"{path}: {report.input_format}, {base:,} {tokenizer.name} tokens; "
            f"keys {report.key_tokens:,}, values {report.value_tokens:,}, "
            f"punctuation+whitespace {report.structure_tokens:,} (approximate split)"
        )
    emit(
        rows,
        fmt,
        title=f"{path} re-encoded ({model}, input price)",
        extra={
            "kind": report.input_format,
            "tokenizer": tokenizer.name,
            "tokens": base,
            "split": split,
            "usd_per_million_calls": usd_per_million_calls(base),
        },
    )
