"""Convert a token count from one tokenizer to another with measured ratios ("what if model X").

Ratios are measured on real text per content type (``tokenomy/data/token_ratios.csv``, written
by ``bench/measure_token_ratios.py``), all against o200k_base; a pair A -> B goes through it:
n_B = n_A * ratio(o200k -> B) / ratio(o200k -> A). Claude's ratios come from its calibrated
estimate. The relative error returned is the measured median spread of single documents' ratios
(both legs added), so callers can show a count that came from a ratio as the estimate it is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tokenomy.tokens.claude_estimate import ClaudeEstimate, calibration
from tokenomy.tokens.content_type import CONTENT_TYPES, ContentType
from tokenomy.tokens.registry import get_tokenizer

__all__ = ["PIVOT", "Ratio", "convert_tokens", "ratio_table", "ratio_to_pivot"]

PIVOT = "o200k_base"


@dataclass(frozen=True, slots=True)
class Ratio:
    """Tokens of ``to_tokenizer`` per o200k_base token on one content type, as measured."""

    content_type: str
    to_tokenizer: str
    ratio: float
    median_abs_error: float
    documents: int
    source: str
    measured_on: str


@cache
def ratio_table() -> dict[tuple[str, str], Ratio]:
    """The measured ratios, keyed by (content_type, to_tokenizer)."""
    text = resources.files("tokenomy.data").joinpath("token_ratios.csv").read_text("utf-8")
    table: dict[tuple[str, str], Ratio] = {}
    for row in csv.DictReader(text.splitlines()):
        table[row["content_type"], row["to_tokenizer"]] = Ratio(
            row["content_type"],
            row["to_tokenizer"],
            float(row["ratio"]),
            float(row["median_abs_error"]),
            int(row["documents"]),
            row["source"],
            row["measured_on"],
        )
    return table


def ratio_to_pivot(tokenizer: str, content_type: ContentType = "mixed") -> tuple[float, float]:
    """(tokens of ``tokenizer`` per o200k_base token, its relative error) for a content type."""
    if content_type not in CONTENT_TYPES:
        raise ValueError(f"content_type must be one of {', '.join(CONTENT_TYPES)}")
    name = get_tokenizer(tokenizer).name  # validates the name
    if name in {PIVOT, "o200k_harmony"}:
        return 1.0, 0.0
    if name in {"claude-estimate", "claude-4.7-estimate"}:
        estimate = ClaudeEstimate(generation="4.7" if "4.7" in name else "3-4.6")
        error: float = calibration()["error"]["text_median_abs"]
        return estimate.ratio(content_type), error
    row = ratio_table().get((content_type, name)) or ratio_table()["mixed", name]
    return row.ratio, row.median_abs_error


def convert_tokens(
    n: int, from_tokenizer: str, to_tokenizer: str, content_type: ContentType = "mixed"
) -> tuple[int, float]:
    """Estimate how many ``to_tokenizer`` tokens ``n`` ``from_tokenizer`` tokens are.

    Returns ``(estimate, relative_error)``: the error is the measured median relative error of
    one document's conversion (0.0 when the two tokenizers are the same).
    """
    if n < 0:
        raise ValueError("a token count cannot be negative")
    source_ratio, source_error = ratio_to_pivot(from_tokenizer, content_type)
    target_ratio, target_error = ratio_to_pivot(to_tokenizer, content_type)
    if get_tokenizer(from_tokenizer).name == get_tokenizer(to_tokenizer).name:
        return n, 0.0
    return round(n * target_ratio / source_ratio), source_error + target_error
