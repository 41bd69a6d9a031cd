"""The format tax of a structured payload: what its structure costs, and what other shapes cost.

A JSON, YAML or CSV payload is parsed once, then:

- its tokens are split into keys, values, and the rest (punctuation and whitespace). Keys and
  values are counted on their own text, so the split is an approximation (a token can straddle a
  quote and a value); the total is exact;
- the same data is re-encoded as pretty JSON, compact JSON, YAML, TOON (``toon-format``), and,
  when it is a table (a list of flat records), CSV and a Markdown table; each is counted exactly.

Every shape is the same data: a caller can price each one and see what the format costs.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import yaml

from tokenomy.tokens.registry import Tokenizer, get_tokenizer

__all__ = [
    "FormatCount", "PayloadFormat", "RefusedPayload", "TaxReport", "UnsupportedPayload",
    "format_tax", "parse",
]  # fmt: skip

PayloadFormat = Literal["json", "yaml", "csv"]


class UnsupportedPayload(ValueError):
    """The text is not JSON, YAML or CSV data (or is empty)."""


class RefusedPayload(ValueError):
    """Structured data too costly to walk safely (a YAML alias bomb, a recursive alias)."""


@dataclass(frozen=True, slots=True)
class FormatCount:
    format: str
    tokens: int
    characters: int
    exact: bool = True  # False: YAML of a large payload, scaled up from an even sample


@dataclass(slots=True)
class TaxReport:
    input_format: str
    tokenizer: str
    tokens: int  # the payload as given, exact
    key_tokens: int  # approximate split, see the module docstring
    value_tokens: int
    structure_tokens: int  # punctuation and whitespace: tokens - keys - values
    tabular: bool
    shapes: list[FormatCount] = field(default_factory=list)  # re-encodings, smallest first


def parse(text: str, fmt: PayloadFormat | None = None) -> tuple[Any, PayloadFormat]:
    """Parse ``text`` as ``fmt``, or detect it: JSON, then CSV (a header and commas), then YAML."""
    if not text.strip():
        raise UnsupportedPayload("empty input: nothing to analyse")
    if fmt in (None, "json"):
        try:
            return json.loads(text), "json"
        except ValueError as error:
            if fmt == "json":
                raise UnsupportedPayload(f"not valid JSON: {error}") from None
    if fmt == "csv" or (fmt is None and _looks_like_csv(text)):
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise UnsupportedPayload("CSV with a header and no rows")
        return rows, "csv"
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise UnsupportedPayload(f"not JSON, CSV or YAML: {error}") from None
    if not isinstance(data, dict | list):
        raise UnsupportedPayload("not structured data (JSON, YAML or CSV): a plain scalar or text")
    _check_aliases(data)
    return data, "yaml"


# YAML aliases share one parsed node between many places; counting tokens walks every place.
# Nine levels of nine aliases (470 bytes) are 43 million leaves: minutes and gigabytes. A payload
# whose aliases multiply it beyond both bounds is refused before anything walks it.
MAX_EXPANDED_NODES = 1_000_000
MAX_EXPANSION = 4  # expanded nodes per parsed node


def _check_aliases(data: Any) -> None:
    """Raise ``RefusedPayload`` for a recursive alias or an alias bomb. Sizes are summed
    once per shared node (memoised by identity), so the check is linear in the parsed size."""
    expanded: dict[int, int] = {}  # id(node) -> nodes under it, itself included, once expanded
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, done = stack.pop()
        children = list(node.values()) if isinstance(node, dict) else node
        if done:
            on_path.discard(id(node))
            expanded[id(node)] = 1 + sum(
                expanded.get(id(c), 1) if isinstance(c, dict | list) else 1 for c in children
            )
            continue
        if id(node) in expanded:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            if isinstance(child, dict | list):
                if id(child) in on_path:
                    raise RefusedPayload("YAML alias refers to itself (recursive data): refused")
                stack.append((child, False))
    total, distinct = expanded[id(data)], len(expanded)
    if total > MAX_EXPANDED_NODES and total > MAX_EXPANSION * distinct:
        raise RefusedPayload(
            f"YAML aliases expand {distinct:,} containers into {total:,} nodes (limit "
            f"{MAX_EXPANDED_NODES:,}): refused as an alias bomb"
        )


def _looks_like_csv(text: str) -> bool:
    lines = text.splitlines()[:20]
    if len(lines) < 2 or "," not in lines[0]:
        return False
    width = lines[0].count(",")
    return all(line.count(",") >= width for line in lines[1:] if line)


def _leaves(data: Any, keys: Counter[str]) -> Iterator[str]:
    """Scalar values as text, in order; every key occurrence is tallied into ``keys``."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                keys[str(key)] += 1
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
        elif node is not None:
            yield node if isinstance(node, str) else json.dumps(node)


def _table(data: Any) -> list[dict[str, Any]] | None:
    """``data`` as a list of flat records with the same keys, or None if it is not a table."""
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        return None
    columns = list(data[0])
    for row in data:
        if list(row) != columns or any(isinstance(v, dict | list) for v in row.values()):
            return None
    return data


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _markdown(rows: list[dict[str, Any]]) -> str:
    def cell(value: Any) -> str:
        return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")

    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _yaml(data: Any) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False)
    return text


# PyYAML's dumper runs ~1.5 MB/s even with libyaml; above this many characters of compact JSON,
# YAML is dumped for an even sample of the top-level items and scaled (labelled inexact).
YAML_EXACT_LIMIT = 2_000_000


def _yaml_count(data: Any, compact_size: int, tokenizer: Tokenizer) -> FormatCount:
    items = list(data.items()) if isinstance(data, dict) else data
    if compact_size <= YAML_EXACT_LIMIT or not isinstance(items, list) or len(items) < 100:
        text = _yaml(data)
        return FormatCount("yaml", tokenizer.count(text), len(text))
    step = max(1, round(len(items) * YAML_EXACT_LIMIT / compact_size / 4))
    sample = items[::step]
    text = _yaml(dict(sample) if isinstance(data, dict) else sample)
    scale = len(items) / len(sample)
    return FormatCount(
        "yaml", round(tokenizer.count(text) * scale), round(len(text) * scale), False
    )


def _toon(data: Any) -> str:
    import toon_format

    text: str = toon_format.encode(data)
    return text


# toon-format is pure Python (~1.5 MB/s): above this many characters TOON is encoded in a
# second process while this one does the rest, still exactly.
TOON_PARALLEL_CHARS = 1_000_000


def _toon_count(text: str, fmt: PayloadFormat, tokenizer_name: str) -> FormatCount:
    """The TOON shape of ``text`` (run in a worker process: it parses its own copy)."""
    data, _ = parse(text, fmt)
    shaped = _toon(data)
    return FormatCount("toon", get_tokenizer(tokenizer_name).count(shaped), len(shaped))


def format_tax(
    text: str, tokenizer: Tokenizer, fmt: PayloadFormat | None = None, *, shapes: bool = True
) -> TaxReport:
    """Where the tokens of a structured payload go, and what it costs in other shapes."""
    data, detected = parse(text, fmt)
    pool: ProcessPoolExecutor | None = None
    toon: Future[FormatCount] | None = None
    if shapes and len(text) >= TOON_PARALLEL_CHARS and (os.cpu_count() or 1) > 1:
        pool = ProcessPoolExecutor(1)
        toon = pool.submit(_toon_count, text, detected, tokenizer.name)
    try:
        return _format_tax(text, data, detected, tokenizer, shapes, toon)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _format_tax(
    text: str,
    data: Any,
    detected: PayloadFormat,
    tokenizer: Tokenizer,
    shapes: bool,
    toon: Future[FormatCount] | None,
) -> TaxReport:
    keys: Counter[str] = Counter()
    values = list(_leaves(data, keys))
    total = tokenizer.count(text)
    # Each distinct key counted once and multiplied: exact per key, fast on big payloads.
    key_tokens = sum(tokenizer.count(key) * n for key, n in keys.items())
    value_tokens = tokenizer.count(" ".join(values))
    structure = max(total - key_tokens - value_tokens, 0)
    table = _table(data)
    report = TaxReport(
        detected, tokenizer.name, total, key_tokens, value_tokens, structure, table is not None
    )
    if not shapes:
        return report
    encoders: dict[str, Callable[[], str]] = {
        # orjson writes what json.dumps(separators=(",", ":") / indent=2, ensure_ascii=False)
        # writes, ~10x faster.
        "json (compact)": lambda: orjson.dumps(data).decode(),
        "json (indent=2)": lambda: orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(),
    }
    if toon is None:
        encoders["toon"] = lambda: _toon(data)
    if table is not None:
        encoders["csv"] = lambda: _csv(table)
        encoders["markdown table"] = lambda: _markdown(table)
    compact_size = 0
    for name, encode in encoders.items():
        shaped = encode()
        compact_size = compact_size or len(shaped)
        report.shapes.append(FormatCount(name, tokenizer.count(shaped), len(shaped)))
    report.shapes.append(_yaml_count(data, compact_size, tokenizer))
    if toon is not None:
        report.shapes.append(toon.result())
    report.shapes.sort(key=lambda shape: shape.tokens)
    return report
