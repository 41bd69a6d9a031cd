"""The live gateway against a stub upstream that returns recorded payloads: what it records
(bill equal to the same payloads imported as files), attribution, levers, budgets, the spool,
and hostile input."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from gateway_harness import DATA, FIXTURES, running
from typer.testing import CliRunner

from tokenomy.cli import app
from tokenomy.gateway import policies
from tokenomy.gateway.providers import estimated_tokens, redact
from tokenomy.gateway.recorder import drain
from tokenomy.gateway.stub import StubUpstream
from tokenomy.ledger import Ledger

SECRET_KEY = "sk-test-DO-NOT-STORE-1234567890"
SECRET_TEXT = "the-prompt-text-must-never-be-stored"


def post(
    url: str, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("content-type", "application/json")
    request.add_header("authorization", f"Bearer {SECRET_KEY}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def chat(stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": SECRET_TEXT}],
            "stream": stream, **extra}  # fmt: skip


def messages(stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": "claude-opus-4-6", "max_tokens": 1000, "stream": stream,
            "messages": [{"role": "user", "content": SECRET_TEXT}], **extra}  # fmt: skip


GEMINI = {"contents": [{"role": "user", "parts": [{"text": SECRET_TEXT}]}]}
# (path, body) of each API, whole and streamed: one call per fixture payload.
REQUESTS = [
    ("/v1/chat/completions", chat()),
    ("/v1/chat/completions", chat(stream=True)),
    ("/v1/responses", {"model": "gpt-5.5", "input": SECRET_TEXT}),
    ("/v1/responses", {"model": "gpt-5.5", "input": SECRET_TEXT, "stream": True}),
    ("/v1/messages", messages()),
    ("/v1/messages", messages(stream=True)),
    ("/v1beta/models/gemini-3-flash-preview:generateContent", GEMINI),
    ("/v1beta/models/gemini-3-flash-preview:streamGenerateContent?alt=sse", GEMINI),
]
BILLED = ("model", "service_tier", "input", "cache_read", "cache_write_5m", "cache_write_1h",
          "output", "reasoning", "output_exact", "cost")  # fmt: skip


def bill(home: Path, source: str | None = None) -> dict[str, tuple[Any, ...]]:
    """call id -> what it was billed (tokens by kind, model, tier, cost)."""
    cols = ", ".join(BILLED)
    where = "WHERE source = ?" if source else "WHERE source <> ?"
    with Ledger(home) as ledger:
        rows = ledger.sql(f"SELECT id, {cols} FROM calls {where}", [source or "gateway"])
    return {row[0]: tuple(row[1:]) for row in rows}


def requests_rows(home: Path) -> list[dict[str, Any]]:
    with Ledger(home) as ledger:
        cur = ledger.db.execute("SELECT * FROM gateway_requests ORDER BY time")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_bill_equals_the_payloads_imported_as_files(tmp_path: Path) -> None:
    home = tmp_path / "gw"
    with running(home) as env:
        for path, body in REQUESTS:
            status, headers, data = post(env.url + path, body, {"x-tokenomy-project": "acme"})
            assert status == 200, data
            assert headers["x-tokenomy-request-id"]
        env.flush()
        assert env.stub.requests[1]["stream_options"] == {"include_usage": True}
    recorded = bill(home, "gateway")
    files = tmp_path / "files"
    files.mkdir()
    for name in FIXTURES:
        shutil.copy(DATA / name, files / name)
    with Ledger(tmp_path / "imported") as ledger:
        report = ledger.import_paths([files])
        assert not report.skipped, report.skipped
    imported = bill(tmp_path / "imported")
    assert len(recorded) == len(REQUESTS) == len(imported)
    assert recorded == imported  # call for call: tokens by kind, model, tier and dollars
    assert all(row[-1] is not None for row in recorded.values())  # every call priced
    rows = requests_rows(home)
    assert len(rows) == len(REQUESTS)
    assert all(r["ok"] and r["project"] == "acme" and r["call_id"] for r in rows)
    assert sum(r["cost"] for r in rows) == sum(row[-1] for row in recorded.values())


def test_attribution_and_nothing_secret_stored(tmp_path: Path) -> None:
    home = tmp_path / "gw"
    headers = {"x-tokenomy-project": "acme", "x-tokenomy-user": "ana", "x-tokenomy-key": "vk-1",
               "x-tokenomy-tags": "batch,nightly", "x-tokenomy-session": "s-42"}  # fmt: skip
    with running(home) as env:
        assert post(env.url + "/v1/messages", messages(stream=True), headers)[0] == 200
        env.flush()
        # the attribution headers are the gateway's: not forwarded; the key is
        assert not any(k.lower().startswith("x-tokenomy") for k in env.stub.headers[0])
        assert env.stub.headers[0]["Authorization"] == f"Bearer {SECRET_KEY}"
    (row,) = requests_rows(home)
    assert (row["project"], row["user"], row["vkey"], row["tags"]) == (
        "acme", "ana", "vk-1", "batch,nightly")  # fmt: skip
    assert len(row["key_hash"]) == 16 and SECRET_KEY not in row["key_hash"]
    with Ledger(home) as ledger:
        (call,) = ledger.calls()
    assert (call.source, call.project, call.session) == ("gateway", "acme", "s-42")
    for file in home.rglob("*"):
        if file.is_file():
            content = file.read_bytes()
            assert SECRET_KEY.encode() not in content, file
            assert SECRET_TEXT.encode() not in content, file
            assert b"Hello" not in content, file  # the response text either


def test_prompt_blocks_are_hashed_not_stored(tmp_path: Path) -> None:
    """Each request's prompt blocks as hashes and sizes: a follow-up shares its prefix."""
    home = tmp_path / "gw"
    first = {"model": "claude-opus-4-6", "max_tokens": 10, "system": "be brief",
             "messages": [{"role": "user", "content": SECRET_TEXT}]}  # fmt: skip
    follow = {**first, "messages": [*first["messages"], {"role": "assistant", "content": "ok"},
                                    {"role": "user", "content": "and then?"}]}  # fmt: skip
    with running(home) as env:
        for body in (first, follow):
            assert post(env.url + "/v1/messages", body)[0] == 200
        env.flush()
    rows = sorted(requests_rows(home), key=lambda r: r["request_id"])
    a, b = (json.loads(r["blocks"]) for r in rows)
    assert len(a) == 2 and len(b) == 4 and b[:2] == a  # system + first turn shared
    assert all(len(h) == 32 and tokens > 0 for h, tokens in b)
    for file in home.rglob("*"):
        if file.is_file():
            assert SECRET_TEXT.encode() not in file.read_bytes(), file


def test_redact_keeps_usage_drops_text() -> None:
    for name in FIXTURES:
        payload = (DATA / name).read_bytes()
        skeleton = redact(payload, name.endswith(".sse"))
        assert b'"usage' in skeleton
        for text in (b"Hello", b"pong", b'"Hi"', b"Hel"):
            assert text not in skeleton, (name, text)


def test_gemini_stream_without_sse_is_recorded(tmp_path: Path) -> None:
    """``streamGenerateContent`` without ``alt=sse`` answers one JSON array, chunk by chunk."""
    stub_payloads = {
        "gemini_stream": (
            Path(__file__).parent / "data" / "api" / "gemini_stream.json"
        ).read_bytes()
    }
    with running(tmp_path, StubUpstream(stub_payloads)) as env:
        status, _, data = post(
            env.url + "/v1beta/models/gemini-3-flash-preview:streamGenerateContent", GEMINI
        )
        assert status == 200 and data.lstrip().startswith(b"[")
        env.flush()
    ((model, *_, output, reasoning, exact, cost),) = bill(tmp_path, "gateway").values()
    assert (model, output, reasoning, exact) == ("gemini-3-flash-preview", 856, 438, True)
    assert cost is not None


def test_levers_clamp_route_and_cache(tmp_path: Path) -> None:
    levers = {"max_tokens": 256, "route": {"gpt-4o": "gpt-4o-mini"}, "anthropic_cache": True,
              "openai_prompt_cache_key": True}  # fmt: skip
    with running(tmp_path, levers=levers) as env:
        status, headers, _ = post(env.url + "/v1/chat/completions", chat(model="gpt-4o"),
                                  {"x-tokenomy-project": "acme"})  # fmt: skip
        assert status == 200
        assert "route:gpt-4o->gpt-4o-mini" in headers["x-tokenomy-levers"]
        sent = env.stub.requests[-1]
        assert sent["model"] == "gpt-4o-mini"
        assert sent["max_completion_tokens"] == 256
        assert sent["prompt_cache_key"].startswith("tk-")
        post(env.url + "/v1/messages", messages(max_tokens=100_000))
        sent = env.stub.requests[-1]
        assert sent["max_tokens"] == 256
        assert "cache_control" not in sent  # below claude-opus-4-6's minimum: nothing to cache
        long = {"model": "claude-opus-4-6", "max_tokens": 10,
                "messages": [{"role": "user", "content": LONG_PROMPT}]}  # fmt: skip
        post(env.url + "/v1/messages", long)
        assert env.stub.requests[-1]["cache_control"] == {"type": "ephemeral"}  # automatic
        marked = {"type": "text", "text": LONG_PROMPT, "cache_control": {"type": "ephemeral"}}
        post(env.url + "/v1/messages", {**long, "system": [marked]})
        sent = env.stub.requests[-1]
        assert sent["system"] == [marked]  # the client's own marker kept as it was
        post(env.url + "/v1beta/models/gemini-2.5-pro:generateContent",
             {**GEMINI, "generationConfig": {"maxOutputTokens": 9999}})  # fmt: skip
        assert env.stub.requests[-1]["generationConfig"]["maxOutputTokens"] == 256
        env.flush()
    rows = requests_rows(tmp_path)
    assert rows[0]["model_requested"] == "gpt-4o" and rows[0]["model_sent"] == "gpt-4o-mini"


def test_levers_off_by_default_body_untouched(tmp_path: Path) -> None:
    raw = b'{"model": "claude-opus-4-6", "max_tokens": 99999,   "messages": []}'
    with running(tmp_path) as env:
        status, headers, _ = post(env.url + "/v1/messages", None, raw=raw)
        assert status == 200 and "x-tokenomy-levers" not in headers
        assert env.stub.requests[-1] == json.loads(raw)


LONG_PROMPT = " ".join(f"w{i}" for i in range(6_000))


def test_cache_breakpoints_policy_is_the_cache_auto_plan() -> None:
    from tokenomy.levers.cache_auto import anthropic_plan

    history = [{"role": "user" if i % 2 else "assistant", "content": f"turn {i} {LONG_PROMPT}"}
               for i in range(30)]  # fmt: skip
    body: dict[str, Any] = {
        "model": "claude-opus-4-6",
        "system": LONG_PROMPT,
        "tools": [{"name": "a"}, {"name": "b"}],
        "messages": history,
    }
    blocks, stable = policies._cacheable_blocks(json.loads(json.dumps(body)))
    plan = anthropic_plan(
        [estimated_tokens(b) for b in blocks], "claude-opus-4-6",
        stable_blocks=stable,
    )  # fmt: skip
    set_ = policies.anthropic_cache_breakpoints(body, "1h")
    marker = {"type": "ephemeral", "ttl": "1h"}
    assert plan.mode == "automatic" and body["cache_control"] == marker
    blocks, _ = policies._cacheable_blocks(body)
    assert [i for i, b in enumerate(blocks) if "cache_control" in b] == list(plan.add)
    assert set_ == len(plan.add) + 1
    assert policies.anthropic_cache_breakpoints(body) == 0  # automatic already on: stands aside
    assert policies.anthropic_cache_breakpoints({"messages": []}) == 0
    short = {"model": "claude-opus-4-6", "messages": [{"role": "user", "content": "hi"}]}
    assert policies.anthropic_cache_breakpoints(short) == 0  # below the model's minimum


def test_literature_example_cache_lever(tmp_path: Path) -> None:
    """Ten calls of one 10,000-token prompt on claude-opus-4-6 within five minutes, the cache
    lever on, against a stub that applies Anthropic's caching rules: $0.0625 + 9 x $0.005."""
    prompt = " ".join(f"w{i}" for i in range(10_000))
    body = {"model": "claude-opus-4-6", "max_tokens": 1,
            "messages": [{"role": "user", "content": prompt}]}  # fmt: skip
    for lever, expected in ((True, Decimal("0.1075")), (False, Decimal("0.5"))):
        home = tmp_path / str(lever)
        stub = StubUpstream({}, anthropic_cache=True)
        with running(home, stub, levers={"anthropic_cache": lever}) as env:
            for _ in range(10):
                assert post(env.url + "/v1/messages", body)[0] == 200
            env.flush()
        costs = [row[-1] for row in bill(home, "gateway").values()]
        assert len(costs) == 10
        assert sum(costs) == expected
    # What whatif predicted for the calls recorded with the lever off: the same policy.
    (tmp_path / "none").mkdir()
    result = CliRunner().invoke(
        app, ["whatif", str(tmp_path / "none"), "--home", str(tmp_path / "False"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    auto = next(s for s in data["scenarios"] if s["scenario"] == "cache:auto")
    assert Decimal(str(data["baseline_cost_usd"])) == Decimal("0.5")
    assert Decimal(str(auto["cost_usd"])).quantize(Decimal("0.0001")) == Decimal("0.1075")


def test_whatif_reads_the_gateways_block_hashes(tmp_path: Path) -> None:
    """Ten *different* 10,000-token prompts: the usage numbers alone cannot tell them from ten
    repeats of one (the prefix assumption would predict $0.1075); the block hashes the gateway
    recorded can, and `whatif`'s cache:auto then predicts the bill the live lever gets: ten
    cache writes, dearer than not caching."""
    bodies = [
        {"model": "claude-opus-4-6", "max_tokens": 1,
         "messages": [{"role": "user", "content": " ".join(f"p{j}w{i}" for i in range(10_000))}]}
        for j in range(10)
    ]  # fmt: skip
    live = {}
    for lever in (True, False):
        home = tmp_path / str(lever)
        with running(home, StubUpstream({}, anthropic_cache=True),
                     levers={"anthropic_cache": lever}) as env:  # fmt: skip
            for body in bodies:
                assert post(env.url + "/v1/messages", body)[0] == 200
            env.flush()
        live[lever] = sum(row[-1] for row in bill(home, "gateway").values())
    assert live[True] > live[False]  # ten writes, no read
    (tmp_path / "none").mkdir()
    result = CliRunner().invoke(
        app, ["whatif", str(tmp_path / "none"), "--home", str(tmp_path / "False"), "--json",
              "--lever", "cache:auto"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    auto = next(s for s in data["scenarios"] if s["scenario"] == "cache:auto")
    assert Decimal(str(data["baseline_cost_usd"])) == live[False]
    assert Decimal(str(auto["cost_usd"])).quantize(Decimal("0.000001")) == live[True]
    assert any("known from content" in note for note in auto["assumptions"])


def test_budgets_hard_soft_and_restart(tmp_path: Path) -> None:
    budgets = [
        # above this prompt's least cost (~$0.000002), below what the first call costs
        {"scope": "project", "name": "acme", "period": "day", "usd": 0.00001, "hard": True},
        {"scope": "user", "name": "*", "period": "month", "usd": 0.000001, "hard": False},
    ]
    with running(tmp_path, budgets=budgets) as env:
        acme = {"x-tokenomy-project": "acme", "x-tokenomy-user": "bo"}
        assert post(env.url + "/v1/messages", messages(), acme)[0] == 200
        env.flush()
        status, _, data = post(env.url + "/v1/messages", messages(), acme)
        assert status == 429
        error = json.loads(data)
        assert error["type"] == "error" and error["error"]["type"] == "rate_limit_error"
        assert "daily budget" in error["error"]["message"]
        assert "project 'acme'" in error["error"]["message"]
        status, _, data = post(env.url + "/v1/chat/completions", chat(), acme)
        assert status == 429 and json.loads(data)["error"]["code"] == "budget_exceeded"
        status, _, data = post(env.url + "/v1beta/models/g:generateContent", GEMINI, acme)
        assert status == 429 and json.loads(data)["error"]["status"] == "RESOURCE_EXHAUSTED"
        # another project passes; its user "bo" is past the soft monthly budget: a header
        other = {"x-tokenomy-project": "other", "x-tokenomy-user": "bo"}
        status, headers, _ = post(env.url + "/v1/messages", messages(), other)
        assert status == 200
        assert "soft monthly budget" in headers["x-tokenomy-budget-warning"]
        assert len(env.stub.requests) == 2
        env.stop_gateway()
        env.start_gateway(tmp_path, budgets=budgets)  # a restart: state from the ledger
        assert post(env.url + "/v1/messages", messages(), acme)[0] == 429


def test_a_request_that_would_exceed_a_hard_budget_is_refused_before_it_is_sent(
    tmp_path: Path,
) -> None:
    # $0.01 on claude-opus-4-6 ($0.50/MTok cache read, its cheapest rate) is 20,000 tokens: a
    # prompt of 400,000 bytes of text holds at least 50,000 (8 bytes a token at most).
    budgets = [{"scope": "all", "period": "day", "usd": 0.01, "hard": True}]
    with running(tmp_path, budgets=budgets) as env:
        big = messages()
        big["messages"][0]["content"] = "lorem ipsum dolor " * 22_222
        status, _, data = post(env.url + "/v1/messages", big)
        assert status == 429, data
        message = json.loads(data)["error"]["message"]
        assert "would be exceeded" in message and "at least $0.02" in message
        assert env.stub.requests == []  # refused before it reached the provider
        # an image's bytes are not text: a 400 KB base64 image does not count as tokens
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "iVBO" * 100_000}}  # fmt: skip
        pic = messages()
        pic["messages"][0]["content"] = [image, {"type": "text", "text": "what is this?"}]
        assert post(env.url + "/v1/messages", pic)[0] == 200
        assert post(env.url + "/v1/messages", messages())[0] == 200


def test_budget_holds_count_requests_in_flight() -> None:
    from datetime import UTC, datetime

    from tokenomy.gateway.config import Budget
    from tokenomy.gateway.recorder import BudgetState

    budget = Budget(scope="project", name="acme", period="day", usd=Decimal("1.0"), hard=True)
    state = BudgetState([budget])
    acme, now = {"project": "acme", "user": "", "vkey": ""}, datetime.now(UTC)
    assert state.check(acme, now, Decimal("0.6"))[0] is None
    state.hold("r1", acme, now, Decimal("0.6"))  # admitted, its cost not yet recorded
    assert state.check(acme, now, Decimal("0.5"))[0] is budget  # 0.6 in flight + 0.5 > 1
    assert state.check({**acme, "project": "other"}, now, Decimal("0.5"))[0] is None
    state.add(acme, now, Decimal("0.3"), "r1")  # recorded: the hold gives way to the cost
    assert state.held(budget, "acme", now) == 0 and state.spent(budget, "acme", now) == Decimal(
        "0.3"
    )
    assert state.check(acme, now, Decimal("0.5"))[0] is None
    state.hold("r2", acme, now, Decimal("0.5"))
    state.release("r2")  # never sent
    assert state.held(budget, "acme", now) == 0
    state.hold("r3", acme, now, Decimal("0.5"))
    state.HOLD_S = -1.0  # a hold whose cost never came expires
    assert state.held(budget, "acme", now) == 0
    state.add(acme, now, Decimal("0.7"))
    assert state.check(acme, now)[0] is budget  # spent in full


def test_gemini_prompt_blocks_are_hashed(tmp_path: Path) -> None:
    with running(tmp_path) as env:
        assert post(env.url + "/v1beta/models/gemini-2.5-flash:generateContent", GEMINI)[0] == 200
        env.flush()
    with Ledger(tmp_path) as ledger:
        (blocks,) = ledger.sql("SELECT blocks FROM gateway_requests")[0]
    digest = json.loads(blocks)
    assert len(digest) == 1 and len(digest[0][0]) == 32 and digest[0][1] > 1


# -- hostile input -----------------------------------------------------------------------------


def test_malformed_json_and_unknown_routes_in_provider_shape(tmp_path: Path) -> None:
    with running(tmp_path) as env:
        status, _, data = post(env.url + "/v1/messages", None, raw=b'{"model": ')
        assert status == 400 and json.loads(data)["type"] == "error"
        status, _, data = post(env.url + "/v1/chat/completions", None, raw=b"[1, 2]")
        assert status == 400 and json.loads(data)["error"]["type"] == "invalid_request_error"
        status, _, data = post(env.url + "/v1beta/models/g:generateContent", None, raw=b"\xff")
        assert status == 400 and json.loads(data)["error"]["status"] == "INVALID_ARGUMENT"
        status, _, data = post(env.url + "/v1/nope", {})
        assert status == 404 and "error" in json.loads(data)
        status, _, data = post(env.url + "/v1/messages/batches/x", {})
        assert status == 404 and json.loads(data)["error"]["type"] == "not_found_error"
        status, _, data = post(env.url + "/v1beta/models/nocolon", {})
        assert status == 404 and json.loads(data)["error"]["status"] == "NOT_FOUND"
        assert env.stub.requests == []


def test_oversize_body_is_413(tmp_path: Path) -> None:
    with running(tmp_path, max_body_bytes=10_000) as env:
        big = messages(system="x" * 20_000)
        status, _, data = post(env.url + "/v1/messages", big)
        assert status == 413
        assert json.loads(data)["error"]["type"] == "request_too_large"


def test_upstream_errors_and_timeouts_are_recorded_as_failed(tmp_path: Path) -> None:
    with running(tmp_path, upstream_timeout_s=0.5) as env:
        status, _, data = post(env.url + "/v1/messages", messages(), {"x-stub-status": "529"})
        assert status == 529 and json.loads(data)["type"] == "error"  # the upstream's own
        status, _, data = post(env.url + "/v1/chat/completions", chat(), {"x-stub-drop": "1"})
        assert status == 502 and json.loads(data)["error"]["type"] == "server_error"
        status, _, data = post(env.url + "/v1beta/models/g:generateContent", GEMINI,
                               {"x-stub-delay": "2"})  # fmt: skip
        assert status == 504 and json.loads(data)["error"]["status"] == "DEADLINE_EXCEEDED"
        status, _, data = post(env.url + "/v1/messages", messages(stream=True), {"x-stub-cut": "1"})
        assert status == 200 and b"message_start" in data and b"message_stop" not in data
        env.flush()
    rows = requests_rows(tmp_path)
    assert [r["status"] for r in rows] == [529, 502, 504, 200]
    assert not any(r["ok"] for r in rows)
    assert "mid-stream" in rows[-1]["error"]
    with Ledger(tmp_path) as ledger:
        (cut,) = ledger.calls()  # the cut stream's message_start: a lower bound
    assert not cut.output_exact


def test_client_disconnect_mid_stream_is_recorded(tmp_path: Path) -> None:
    with running(tmp_path) as env:
        host, port = env.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/v1/messages", json.dumps(messages(stream=True)),
                     {"content-type": "application/json", "x-stub-chunk-delay": "0.1"})  # fmt: skip
        resp = conn.getresponse()
        assert resp.status == 200
        resp.read1(10)  # the first bytes, then hang up
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        time.sleep(1.0)  # the stub finishes its stream
        env.flush()
    (row,) = requests_rows(tmp_path)
    assert row["abandoned"] and row["ok"]
    with Ledger(tmp_path) as ledger:
        (call,) = ledger.calls()
    assert call.output == 20 and call.output_exact  # what the provider billed, in full


# -- the spool ---------------------------------------------------------------------------------

_HOLD = """
import sys, time, duckdb
db = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def test_spool_when_the_ledger_is_locked_drained_exactly_once(tmp_path: Path) -> None:
    Ledger(tmp_path).close()
    with running(tmp_path) as env:
        holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path / "ledger.duckdb")],
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            for path, body in REQUESTS:
                assert post(env.url + path, body)[0] == 200
            env.flush()
            assert env.gateway is not None
            assert env.gateway.recorder.failed_writes >= 1
            assert env.gateway.recorder.spooled == len(REQUESTS)
        finally:
            holder.kill()
            holder.wait()
        env.stop_gateway()
        spooled = sorted(tmp_path.glob("gateway-spool-*.jsonl"))
        assert spooled
        backup = tmp_path / "backup.jsonl"
        backup.write_bytes(b"".join(f.read_bytes() for f in spooled))
        env.start_gateway(tmp_path)  # the start drains the spool
        env.flush()
        assert not list(tmp_path.glob("gateway-spool-*.jsonl"))
    assert len(bill(tmp_path, "gateway")) == len(REQUESTS)
    assert len(requests_rows(tmp_path)) == len(REQUESTS)
    # a drain interrupted after storing (its file left behind) and repeated: nothing doubles
    shutil.copy(backup, tmp_path / "gateway-spool-0-again-000000001.jsonl")
    assert drain(tmp_path) == len(REQUESTS)
    assert drain(tmp_path) == 0
    assert len(bill(tmp_path, "gateway")) == len(REQUESTS)
    assert len(requests_rows(tmp_path)) == len(REQUESTS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gateway did not start")


def _gateway_process(home: Path, port: int, config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TOKENOMY_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "tokenomy", "gateway", "--port", str(port), "--config", str(config)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.parametrize("n", [40])
def test_kill_9_during_a_burst_then_restart(tmp_path: Path, n: int) -> None:
    """Every answered call is on disk before its answer: kill -9, restart, none lost or
    doubled. Two gateways on one ledger share it (each writes between the other's batches)."""
    home = tmp_path / "home"
    with running(tmp_path / "unused", start=False) as env:
        config = tmp_path / "gw.toml"
        config.write_text("[upstreams]\n" + "".join(
            f'{p} = "{env.stub_url}"\n' for p in ("openai", "anthropic", "gemini")))  # fmt: skip
        ports = [_free_port(), _free_port()]
        procs = [_gateway_process(home, port, config) for port in ports]
        try:
            for port in ports:
                _wait_up(port)
            answered = 0
            template = (DATA / "anthropic_message.json").read_bytes()
            for i in range(n):
                port = ports[i % 2]
                reply = template.replace(b"msg_gw_whole_01", f"msg_burst_{i:04d}".encode())
                env.stub.payloads["anthropic_messages"] = reply
                status, _, _ = post(f"http://127.0.0.1:{port}/v1/messages", messages())
                answered += status == 200
            procs[0].send_signal(signal.SIGKILL)
            procs[1].send_signal(signal.SIGKILL)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
        assert answered == n
        restarted = _gateway_process(home, ports[0], config)
        try:
            _wait_up(ports[0])
            time.sleep(0.5)
        finally:
            restarted.send_signal(signal.SIGINT)
            restarted.wait(30)
    assert not list(home.glob("gateway-journal-*.jsonl"))
    assert not list(home.glob("gateway-spool-*.jsonl"))
    ids = bill(home, "gateway")
    assert sorted(ids) == [f"msg_burst_{i:04d}" for i in range(n)]
    assert len(requests_rows(home)) == n


def test_a_ledger_command_drains_the_spool(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tokenomy.cli import app

    home, logs = tmp_path / "home", tmp_path / "logs"
    logs.mkdir()
    Ledger(home).close()
    with running(home) as env:
        holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(home / "ledger.duckdb")],
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            assert post(env.url + "/v1/messages", messages(), {"x-tokenomy-project": "p"})[0] == 200
            env.flush()
            env.stop_gateway()
        finally:
            holder.kill()
            holder.wait()
    assert list(home.glob("gateway-spool-*.jsonl"))
    result = CliRunner().invoke(
        app, ["report", "project", str(logs), "--home", str(home), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert not list(home.glob("gateway-spool-*.jsonl"))
    assert json.loads(result.stdout)["rows"][0]["project"] == "p"


def test_cli_drain_and_bad_config(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tokenomy.cli import app

    result = CliRunner().invoke(app, ["gateway", "--drain", "--home", str(tmp_path)])
    assert result.exit_code == 0 and "0 spooled" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[budgets]]\nscope = "team"\nusd = 1\n')
    result = CliRunner().invoke(app, ["gateway", "--config", str(bad), "--home", str(tmp_path)])
    assert result.exit_code == 2 and "budget scope" in result.output
