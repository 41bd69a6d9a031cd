"""Count the tokens of an input too large to hold in memory (a multi-GB file or a pipe).

The bytes are read in blocks, decoded as UTF-8 (invalid bytes are reported, never a crash), and
cut into pieces at points where every tokenizer's pre-tokenizer splits anyway, so the sum of the
pieces' counts equals the count of the whole text:

- after a newline that is followed by a letter or digit (no pre-token pattern runs from a
  newline into a letter or a digit);
- failing that (one enormous line), before a space that follows a letter and precedes a
  letter (a word's leading space belongs to the next word).

If a window holds neither (megabytes without a space or a newline), it is cut anyway and the
result says so (``forced_cuts``): the count may then be off by a token or two per cut.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from tokenomy.tokens.registry import Tokenizer

__all__ = ["BinaryInput", "StreamCount", "count_stream"]

BLOCK = 4 << 20  # bytes read at a time: the memory bound, with the carried-over tail


class BinaryInput(ValueError):
    """The input looks like a binary file (NUL bytes), not text."""


@dataclass(slots=True)
class StreamCount:
    """Token counts of a stream, per tokenizer name, and what reading it found."""

    tokens: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    characters: int = 0
    invalid_utf8: int = 0  # bytes that were not valid UTF-8 (counted as U+FFFD)
    forced_cuts: int = 0  # pieces cut where no safe split was found: counts may be off by ~1 each


def _safe_cut(text: str) -> int:
    """The last index at which ``text`` can be cut without changing any tokenization; 0 if none."""
    i = text.rfind("\n")
    while i > 0:
        if i + 1 < len(text) and text[i + 1].isalnum():
            return i + 1
        i = text.rfind("\n", 0, i)
    i = text.rfind(" ")
    while i > 0:
        if i + 1 < len(text) and text[i - 1].isalpha() and text[i + 1].isalpha():
            return i
        i = text.rfind(" ", 0, i)
    return 0


def count_stream(
    stream: IO[bytes], tokenizers: Sequence[Tokenizer], *, block: int = BLOCK
) -> StreamCount:
    """Count ``stream``'s tokens with each tokenizer, in bounded memory.

    Raises ``BinaryInput`` when the first block holds NUL bytes (a binary file).
    """
    result = StreamCount(tokens={t.name: 0 for t in tokenizers})
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    carry = ""
    first = True

    def count(piece: str) -> None:
        result.characters += len(piece)
        for tokenizer in tokenizers:
            result.tokens[tokenizer.name] += tokenizer.count(piece)

    while True:
        chunk = stream.read(block)
        if first and b"\0" in chunk[:8192]:
            raise BinaryInput("binary input (NUL bytes): not text, nothing counted")
        first = False
        result.bytes += len(chunk)
        text = decoder.decode(chunk, final=not chunk)
        result.invalid_utf8 += text.count("\ufffd")  # upper bound: U+FFFD typed in the text too
        text = carry + text
        if not chunk:
            if text:
                count(text)
            return result
        cut = _safe_cut(text)
        if cut == 0 and len(text) > 4 * block:
            cut = len(text) // 2  # nowhere safe in 4 blocks: cut anyway, and say so
            result.forced_cuts += 1
        if cut:
            count(text[:cut])
        carry = text[cut:]
