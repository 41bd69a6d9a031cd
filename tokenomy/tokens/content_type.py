"""A cheap guess of what a text is: prose, code, JSON or non-English.

Tokenizers differ most by content type (code and JSON are punctuation-heavy, non-Latin
scripts split into many more tokens on older vocabularies), so cross-tokenizer ratios are
measured and applied per type. The rules are simple and fast on purpose; ``mixed`` is the
answer for content we do not classify (a whole file of many kinds, or a bare count).
"""

from __future__ import annotations

import json
import re
from typing import Literal

__all__ = ["CONTENT_TYPES", "ContentType", "classify"]

ContentType = Literal["prose", "code", "json", "non_english", "mixed"]
CONTENT_TYPES: tuple[ContentType, ...] = ("prose", "code", "json", "non_english", "mixed")

_CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import|return\b|if\b.*[:{)]\s*$|for\b.*[:{)]\s*$|"
    r"function\b|const |let |var |#include|public |private |fn |pub |package |}|{|@|//|/\*|\*)"
    r"|[;{}]\s*$|\)\s*:\s*$|=>"
)
_SAMPLE = 20_000  # characters looked at: enough to decide, cheap on huge inputs


def _non_ascii_letter_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if not c.isascii()) / len(letters)


def _is_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return False
    try:
        json.loads(stripped)
    except ValueError:
        # A long payload cut short still looks like JSON: quotes and colons everywhere.
        head = stripped[:_SAMPLE]
        return len(stripped) > _SAMPLE and head.count('":') > len(head) / 200
    return True


def classify(text: str) -> ContentType:
    """The content type of ``text`` (a guess: see the module docstring)."""
    sample = text[:_SAMPLE]
    if _is_json(text):
        return "json"
    if _non_ascii_letter_share(sample) > 0.3:
        return "non_english"
    lines = [line for line in sample.splitlines() if line.strip()]
    if lines:
        code_lines = sum(1 for line in lines if _CODE_LINE.search(line))
        if code_lines / len(lines) > 0.3:
            return "code"
    return "prose"
