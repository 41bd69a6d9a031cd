"""A chat workload no one here wrote: ShareGPT conversations replayed as a chat product
sends them.

Each conversation is one thread. Every user turn is one call whose prompt is a system prompt
of a chosen size, then the *whole* history so far, then the new user message; its output is
the assistant's reply. Token counts come from the model's tokenizer (exact for OpenAI, Llama,
Qwen and DeepSeek models; a labelled estimate for Claude, whose tokenizer is not public).

Timing is an assumption, since ShareGPT keeps no timestamps: conversations start
``conversation_gap_s`` apart and a user answers ``turn_gap_s`` after the previous turn. The
cache replay depends on it (a 5-minute TTL survives a 60-second pause, not a 10-minute one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tokenomy.replay.trace import Message, Trace, from_messages
from tokenomy.workloads.sharegpt import Conversation, ShareGPTReadReport, load_conversations

__all__ = ["ChatWorkload", "chat_requests", "chat_workload"]

_SYSTEM = "\x00system-prompt"  # a placeholder block: its size is chosen, not tokenized
START = datetime(2026, 2, 12, tzinfo=UTC)


@dataclass
class ChatWorkload:
    trace: Trace
    conversations: int
    calls: int
    exact_counts: bool  # False: the model's tokenizer is an estimate (Claude)
    read: ShareGPTReadReport | None
    assumptions: tuple[str, ...]


def chat_requests(
    conversations: Sequence[Conversation],
    model: str,
    turn_gap_s: float = 60.0,
    conversation_gap_s: float = 10.0,
    start: datetime = START,
) -> Iterator[Message]:
    """One request per user turn that got an answer, with the full history before it."""
    for c_index, conv in enumerate(conversations):
        history: list[str] = [_SYSTEM]
        when = start + timedelta(seconds=c_index * conversation_gap_s)
        turns = [(role, text) for role, text in conv.turns if role in ("user", "assistant")]
        for k, (role, text) in enumerate(turns):
            if role != "user":
                history.append(text)
                continue
            reply = (
                turns[k + 1][1] if k + 1 < len(turns) and turns[k + 1][0] == "assistant" else None
            )
            history.append(text)
            if reply is None:
                continue
            yield Message(when, model, tuple(history), 0, thread=conv.id or f"conv-{c_index}",
                          provider="")  # fmt: skip
            when += timedelta(seconds=turn_gap_s)


def chat_workload(
    limit: int | None = 1000,
    model: str = "claude-sonnet-4-5",
    system_tokens: int = 2000,
    turn_gap_s: float = 60.0,
    conversations: Sequence[Conversation] | None = None,
) -> ChatWorkload:
    """Replay ``limit`` ShareGPT conversations (or the given ones) as a chat product would."""
    from tokenomy.tokens import tokenizer_for_model

    tokenizer = tokenizer_for_model(model)
    report = None
    if conversations is None:
        conversations, report = load_conversations(limit)

    def count(_model: str, text: str) -> int:
        return system_tokens if text == _SYSTEM else tokenizer.count(text)

    requests = list(chat_requests(conversations, model, turn_gap_s))
    # The reply of call k is the last block of call k+1's history: count it as output.
    with_outputs = []
    for k, req in enumerate(requests):
        nxt = requests[k + 1] if k + 1 < len(requests) else None
        if nxt is not None and nxt.thread == req.thread:
            out = count(model, nxt.blocks[len(req.blocks)])
        else:
            out = _final_reply_tokens(conversations, req, count)
        with_outputs.append(Message(req.time, req.model, req.blocks, out, req.provider, req.thread))
    trace = from_messages(with_outputs, count)
    assumptions = (
        f"system prompt of {system_tokens:,} tokens, full history resent every turn",
        f"users answer {turn_gap_s:.0f} s after each reply; conversations start 10 s apart "
        "(ShareGPT keeps no times)",
        f"token counts by {tokenizer.name}" + ("" if tokenizer.exact else " (an estimate)"),
    )
    return ChatWorkload(trace, len(conversations), len(trace), tokenizer.exact, report,
                        assumptions)  # fmt: skip


def _final_reply_tokens(conversations: Sequence[Conversation], req: Message, count: object) -> int:
    """The last reply of a conversation (no later request repeats it)."""
    for conv in conversations:
        if conv.id == req.thread:
            for role, text in reversed(conv.turns):
                if role == "assistant":
                    return count(req.model, text)  # type: ignore[operator,no-any-return]
    return 0
