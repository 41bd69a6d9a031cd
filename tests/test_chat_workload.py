"""The ShareGPT chat workload: full history every turn, a system prompt of a chosen size."""

from __future__ import annotations

from tokenomy.anatomy import anatomy
from tokenomy.tokens import tokenizer_for_model
from tokenomy.whatif import whatif
from tokenomy.workloads.chat import chat_workload
from tokenomy.workloads.sharegpt import Conversation


def test_replays_full_history_with_exact_counts() -> None:
    conv = Conversation(
        "c1",
        [
            ("user", "Hello there"),
            ("assistant", "Hi! How can I help?"),
            ("user", "Tell me a joke"),
            ("assistant", "Why did the chicken"),
        ],
    )
    w = chat_workload(model="gpt-4.1", system_tokens=1000, conversations=[conv])
    tok = tokenizer_for_model("gpt-4.1")
    u1, a1, u2, a2 = (tok.count(t) for _, t in conv.turns)
    assert w.exact_counts
    assert w.trace.prompt.tolist() == [1000 + u1, 1000 + u1 + a1 + u2]
    assert w.trace.output.tolist() == [a1, a2]
    assert w.trace.shared.tolist() == [0, 1000 + u1]  # the reply is new to the prompt


def test_sharegpt_package_replay() -> None:
    w = chat_workload(limit=30, model="gpt-4.1", system_tokens=2000)
    assert w.read is not None and w.read.records_read == 30
    assert w.conversations == 30
    a = anatomy(w.trace)
    assert a.context_tax["resent_share"] > 0.3
    result = whatif(w.trace, ["no-cache", "cache:openai-24h"])
    assert result.levers[0].cost > result.baseline.cost  # caching helps real chats
