"""The code tax: which share of a source file's tokens go to identifiers, whitespace, comments.

Each part is counted on its own text (identifiers joined by spaces, whitespace runs, comments),
so the split is an approximation; the total is the exact count of the file. Comments are
recognised by the common markers (``#``, ``//``, ``/* */``, Python docstrings are counted as
strings, not comments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tokenomy.tokens.registry import Tokenizer

__all__ = ["CodeTax", "code_tax"]

_COMMENT = re.compile(r"(?m)(?:#|//)[^\n]*|/\*.*?\*/", re.S)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDENT = re.compile(r"(?m)^[ \t]+")
_BLANK_RUN = re.compile(r"\n{2,}")


@dataclass(frozen=True, slots=True)
class CodeTax:
    tokens: int  # exact
    identifiers: int
    whitespace: int
    comments: int

    def parts(self) -> list[tuple[str, int]]:
        other = max(self.tokens - self.identifiers - self.whitespace - self.comments, 0)
        return [
            ("identifiers", self.identifiers),
            ("whitespace", self.whitespace),
            ("comments", self.comments),
            ("other (punctuation, literals)", other),
        ]


def code_tax(text: str, tokenizer: Tokenizer) -> CodeTax:
    """Split ``text``'s tokens into identifiers, indentation/blank lines and comments."""
    comments = _COMMENT.findall(text)
    code = _COMMENT.sub("", text)
    identifiers = " ".join(_IDENTIFIER.findall(code))
    # Whitespace that costs tokens of its own: indentation and runs of blank lines.
    whitespace = _INDENT.findall(code) + _BLANK_RUN.findall(code)
    return CodeTax(
        tokens=tokenizer.count(text),
        identifiers=tokenizer.count(identifiers),
        whitespace=sum(tokenizer.count(w) for w in whitespace) if whitespace else 0,
        comments=tokenizer.count("\n".join(comments)),
    )
