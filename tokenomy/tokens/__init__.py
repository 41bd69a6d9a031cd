"""Tokens: exact offline counts per model family, Claude's labelled estimate, cross-tokenizer
ratios, and the format and code tax of a payload.

    >>> from tokenomy.tokens import tokenizer_for_model
    >>> tokenizer_for_model("gpt-4o").count("Hello, world!")
    4
"""

from __future__ import annotations

from tokenomy.tokens.claude_estimate import ClaudeEstimate, EstimateHasNoIds
from tokenomy.tokens.content_type import CONTENT_TYPES, ContentType, classify
from tokenomy.tokens.ratios import Ratio, convert_tokens, ratio_table, ratio_to_pivot
from tokenomy.tokens.registry import (
    EXACT_TOKENIZERS,
    Tokenizer,
    UnknownTokenizer,
    get_tokenizer,
    tokenizer_for_model,
    tokenizer_name_for_model,
    tokenizer_names,
)
from tokenomy.tokens.stream import BinaryInput, StreamCount, count_stream

__all__ = [
    "CONTENT_TYPES",
    "EXACT_TOKENIZERS",
    "BinaryInput",
    "ClaudeEstimate",
    "ContentType",
    "EstimateHasNoIds",
    "Ratio",
    "StreamCount",
    "Tokenizer",
    "UnknownTokenizer",
    "classify",
    "convert_tokens",
    "count_stream",
    "get_tokenizer",
    "ratio_table",
    "ratio_to_pivot",
    "tokenizer_for_model",
    "tokenizer_name_for_model",
    "tokenizer_names",
]
