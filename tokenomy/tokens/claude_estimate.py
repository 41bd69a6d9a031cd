"""Claude's token count, estimated: Claude has no public tokenizer.

The estimate is the exact o200k_base count times a ratio per content type, calibrated on real
Claude Code transcripts where the logged prompt sizes give Claude's exact count of known text
(``bench/calibrate_claude_estimate.py`` fits it and measures the error on held-out sessions;
the numbers live in ``tokenomy/data/claude_estimate.toml``). It is always labelled an estimate:
``exact`` is False and ``encode`` refuses to invent ids.

Measured for Claude 3 to 4.6 models only (the logs are opus-4-5/4-6, sonnet-4-5, haiku-4-5).
Opus 4.7 and later use a new tokenizer; for them we apply the published 1.325x
(claudecodecamp.com's weighted real-content measurement with ``count_tokens``), not measured here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from tokenomy.tokens.content_type import ContentType, classify

__all__ = ["CLAUDE_47_FACTOR", "ClaudeEstimate", "EstimateHasNoIds", "calibration"]

# Opus 4.7+ vs earlier Claude tokens on real content, published (not measured here).
CLAUDE_47_FACTOR = 1.325
# Non-English text is too rare in our logs to fit. Research notes (ctok approximation, not real
# Claude counts) put Claude v3 at 1.52x o200k on Chinese and 1.59x on Russian.
NON_ENGLISH_RATIO = 1.52


class EstimateHasNoIds(NotImplementedError):
    """An estimate counts tokens; it cannot produce Claude's token ids."""


@cache
def calibration() -> dict[str, Any]:
    """The calibration file: ratios, framing, and the measured error."""
    text = resources.files("tokenomy.data").joinpath("claude_estimate.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True, slots=True)
class ClaudeEstimate:
    """Estimated Claude tokens of a text (see the module docstring for how, and how wrong)."""

    generation: str = "3-4.6"  # "3-4.6" or "4.7" (Opus 4.7 and later)
    exact: bool = False

    @property
    def name(self) -> str:
        return "claude-4.7-estimate" if self.generation == "4.7" else "claude-estimate"

    def ratio(self, content_type: ContentType) -> float:
        """Claude tokens per o200k_base token for this content type."""
        ratios: dict[str, float] = calibration()["ratio"]
        if content_type == "non_english":
            base = NON_ENGLISH_RATIO
        else:
            base = ratios.get(content_type, ratios["mixed"])
        return base * (CLAUDE_47_FACTOR if self.generation == "4.7" else 1.0)

    def count(self, text: str) -> int:
        from tokenomy.tokens.registry import get_tokenizer

        if not text:
            return 0
        return round(get_tokenizer("o200k_base").count(text) * self.ratio(classify(text)))

    def encode(self, text: str) -> list[int]:
        raise EstimateHasNoIds(f"{self.name} is an estimate: it counts tokens but has no ids")
