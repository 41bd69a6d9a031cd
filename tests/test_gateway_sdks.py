"""The official SDKs (``openai``, ``anthropic``, ``google-genai``) as gateway clients, changing
only their base URL: every call recorded, and billed as the same payloads imported as files;
a spent budget raises each SDK's own rate-limit error."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from gateway_harness import DATA, FIXTURES, running

from tokenomy.ledger import Ledger

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")
genai = pytest.importorskip("google.genai")
from google.genai import errors as genai_errors  # noqa: E402
from google.genai import types as genai_types  # noqa: E402

KEY = "sk-sdk-test"
COLS = (
    "model, service_tier, input, cache_read, cache_write_5m, cache_write_1h, output, "
    "reasoning, cost"
)


def _bill(home: Path, where: str) -> dict[str, tuple[Any, ...]]:
    with Ledger(home) as ledger:
        rows = ledger.sql(f"SELECT id, {COLS} FROM calls WHERE {where}")
    return {row[0]: tuple(row[1:]) for row in rows}


def _clients(url: str) -> tuple[Any, Any, Any]:
    oa = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)
    an = anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0)
    gm = genai.Client(api_key=KEY, http_options=genai_types.HttpOptions(base_url=url))
    return oa, an, gm


def test_sdks_through_the_gateway_bill_as_files(tmp_path: Path) -> None:
    home = tmp_path / "gw"
    with running(home) as env:
        oa, an, gm = _clients(env.url)
        msgs = [{"role": "user", "content": "hi"}]
        whole = oa.chat.completions.create(model="gpt-4o-mini", messages=msgs)
        assert whole.usage.prompt_tokens == 2054
        chunks = list(oa.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True))
        assert chunks[-1].usage.completion_tokens == 20
        resp = oa.responses.create(model="gpt-5.5", input="ping")
        assert resp.output_text == "pong"
        events = list(oa.responses.create(model="gpt-5.5", input="ping", stream=True))
        assert events[-1].type == "response.completed"
        message = an.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=msgs)
        assert message.usage.cache_read_input_tokens == 20000
        streamed = list(
            an.messages.create(model="claude-opus-4-6", max_tokens=10, messages=msgs, stream=True)
        )
        assert streamed[-1].type == "message_stop"
        answer = gm.models.generate_content(model="gemini-3-flash-preview", contents="hi")
        assert answer.usage_metadata.thoughts_token_count == 438
        parts = list(
            gm.models.generate_content_stream(model="gemini-3-flash-preview", contents="hi")
        )
        assert parts[-1].usage_metadata.candidates_token_count == 418
        env.flush()
    recorded = _bill(home, "source = 'gateway'")
    files = tmp_path / "files"
    files.mkdir()
    for name in FIXTURES:
        shutil.copy(DATA / name, files / name)
    with Ledger(tmp_path / "imported") as ledger:
        ledger.import_paths([files])
    imported = _bill(tmp_path / "imported", "true")
    assert len(recorded) == 8
    assert recorded == imported


def test_sdks_get_their_own_rate_limit_error_on_a_spent_budget(tmp_path: Path) -> None:
    budgets = [{"scope": "all", "period": "day", "usd": 0, "hard": True}]
    with running(tmp_path, budgets=budgets) as env:
        oa, an, gm = _clients(env.url)
        msgs = [{"role": "user", "content": "hi"}]
        with pytest.raises(openai.RateLimitError, match="budget"):
            oa.chat.completions.create(model="gpt-4o-mini", messages=msgs)
        with pytest.raises(anthropic.RateLimitError, match="budget"):
            an.messages.create(model="claude-opus-4-6", max_tokens=10, messages=msgs)
        with pytest.raises(genai_errors.ClientError) as caught:
            gm.models.generate_content(model="gemini-3-flash-preview", contents="hi")
        assert caught.value.code == 429 and "budget" in str(caught.value)
        assert env.stub.requests == []
