"""The ledger: incremental, idempotent import; bad input reported with counts, never changing a
total."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenomy.ledger import Ledger

SESSION = "claude-code/claude-reliability/python-to-rust-port.jsonl"


def totals(ledger: Ledger) -> tuple[Any, ...]:
    return ledger.sql(
        "SELECT count(*), sum(input), sum(cache_read), sum(cache_write_5m), sum(cache_write_1h), "
        "sum(output), sum(cost) FROM calls"
    )[0]


def reference(logs: Path, tmp_path: Path) -> tuple[Any, ...]:
    with Ledger(tmp_path / "reference") as ledger:
        ledger.import_paths([logs / SESSION])
        return totals(ledger)


def test_reimport_changes_nothing_and_reads_nothing(logs: Path, home: Path) -> None:
    with Ledger(home) as ledger:
        first = ledger.import_paths([logs])
        before = totals(ledger)
        again = ledger.import_paths([logs])
        assert totals(ledger) == before
    assert first.new_calls == 694 + 3  # Claude Code + Codex calls, and the 3 API payloads
    assert again.files_read == 0 and again.files_unchanged == first.files_read
    assert again.new_calls == 0 and again.lines == 0


def test_copy_under_a_second_path_adds_nothing(logs: Path, home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "renamed.jsonl"
    shutil.copy(logs / SESSION, copy)
    with Ledger(home) as ledger:
        ledger.import_paths([logs / SESSION])
        before = totals(ledger)
        report = ledger.import_paths([copy])
        assert totals(ledger) == before
    assert report.new_calls == 0
    assert report.calls_found == 39
    # 16 content-block rows merged inside the file, then all 39 calls already known.
    assert report.duplicates == 16 + 39


def test_appended_file_is_read_from_where_it_stopped(
    logs: Path, home: Path, tmp_path: Path
) -> None:
    data = (logs / SESSION).read_bytes()
    lines = data.splitlines(keepends=True)
    growing = tmp_path / "growing.jsonl"
    growing.write_bytes(b"".join(lines[:40]))
    with Ledger(home) as ledger:
        ledger.import_paths([growing])
        with growing.open("ab") as fh:
            fh.write(b"".join(lines[40:]))
        report = ledger.import_paths([growing])
        assert report.lines == len(lines) - 40  # only the new lines were read
        assert totals(ledger) == reference(logs, tmp_path)


def test_truncated_last_line_waits_for_the_rest(logs: Path, home: Path, tmp_path: Path) -> None:
    data = (logs / SESSION).read_bytes()
    cut = data.rfind(b'"usage"')  # in the middle of the last assistant row
    partial = tmp_path / "partial.jsonl"
    partial.write_bytes(data[:cut])
    with Ledger(home) as ledger:
        report = ledger.import_paths([partial])
        assert report.pending_lines == 1
        assert any("incomplete line" in w for w in report.warnings)
        with partial.open("ab") as fh:
            fh.write(data[cut:])
        ledger.import_paths([partial])
        assert totals(ledger) == reference(logs, tmp_path)


def test_junk_lines_are_counted_and_change_no_total(logs: Path, home: Path, tmp_path: Path) -> None:
    lines = (logs / SESSION).read_bytes().splitlines(keepends=True)
    assistant = next(json.loads(line) for line in lines if b'"assistant"' in line)
    negative = json.loads(json.dumps(assistant))
    negative["message"]["id"] = "msg_negative"
    negative["message"]["usage"]["output_tokens"] = -5
    missing = json.loads(json.dumps(assistant))
    missing["message"]["id"] = "msg_missing"
    missing["message"]["usage"] = {"service_tier": "standard"}
    junk = [
        b'{"type": "assistant", "message": {"usage": {"input_tokens": 1\n',  # invalid JSON
        b'{"type": "assistant", "usage": "\xff\xfe invalid utf-8 \xc3"}\n',
        json.dumps(negative).encode() + b"\n",
        json.dumps(missing).encode() + b"\n",
        b'["usage", 2, 3]\n',
    ]
    dirty = tmp_path / "dirty.jsonl"
    dirty.write_bytes(b"".join(lines[:10] + junk + lines[10:]))
    with Ledger(home) as ledger:
        report = ledger.import_paths([dirty])
        assert totals(ledger) == reference(logs, tmp_path)
    assert report.skipped == {
        "invalid JSON": 1,
        "invalid UTF-8": 1,
        "bad token field 'output_tokens'": 1,
        "usage without token fields": 1,
        "not a JSON object": 1,
    }
    assert len(report.warnings) == 5


def test_empty_and_binary_files_are_not_logs(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 10)
    with Ledger(home) as ledger:
        report = ledger.import_paths([folder])
        assert totals(ledger)[0] == 0
    assert report.files_unrecognised == 2 and report.calls_found == 0


def test_unknown_model_is_unpriced_not_free(logs: Path, home: Path, tmp_path: Path) -> None:
    text = (logs / "claude-code/claude-reliability/hello-world-script.jsonl").read_text()
    renamed = tmp_path / "unknown.jsonl"
    renamed.write_text(text.replace("claude-opus-4-5-20251101", "acme-llm-9000"))
    with Ledger(home) as ledger:
        report = ledger.import_paths([renamed])
        assert ledger.sql("SELECT count(*), count(cost) FROM calls")[0] == (4, 0)
    assert report.unpriced == {"acme-llm-9000": 4}
    assert "4 call(s) of unknown model 'acme-llm-9000' are unpriced (not $0)" in report.warnings


def test_no_text_is_stored(licensed_logs: Path, home: Path) -> None:
    # A phrase from the user's prompt in the fixture must not appear anywhere in the ledger.
    with Ledger(home) as ledger:
        ledger.import_paths([licensed_logs / "claude-code/spotter/short.jsonl"])
    ledger_bytes = (home / "ledger.duckdb").read_bytes()
    assert b"mix phx.server" not in ledger_bytes
    assert b"doesnt seem to start" not in ledger_bytes


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=1, max_value=96))
def test_splitting_a_file_into_two_imports_gives_the_same_totals(
    logs: Path, tmp_path_factory: Any, split: int
) -> None:
    tmp = tmp_path_factory.mktemp("split")
    lines = (logs / SESSION).read_bytes().splitlines(keepends=True)
    path = tmp / "session.jsonl"
    path.write_bytes(b"".join(lines[:split]))
    with Ledger(tmp / "home") as ledger:
        ledger.import_paths([path])
        with path.open("ab") as fh:
            fh.write(b"".join(lines[split:]))
        ledger.import_paths([path])
        split_totals = totals(ledger)
        ledger.import_paths([path])  # and re-importing changes nothing
        assert totals(ledger) == split_totals
    assert split_totals == reference(logs, tmp)


def test_a_call_comes_back_as_it_was_stored(home: Path) -> None:
    # The columns are derived from Call's fields and Ledger.calls builds each Call from a row
    # positionally: every stored field must survive the round trip.
    from datetime import UTC, datetime

    from tokenomy.calls import STORED_FIELDS, Call

    call = Call(
        "openai", "r1", datetime(2026, 3, 1, 12, tzinfo=UTC), "gpt-4o", "openai", "s", "p",
        "a", "proj", "batch", 1, 2, 3, 4, 5, 1, False, Decimal("0.5"), "f.json",
    )  # fmt: skip
    with Ledger(home) as ledger:
        assert ledger.add_calls([call]) == 1
        (back,) = ledger.calls()
    assert [getattr(back, f) for f in STORED_FIELDS] == [getattr(call, f) for f in STORED_FIELDS]


LEDGER_RUN = """
import sys
from tokenomy.ledger import Ledger
with Ledger(sys.argv[1]) as ledger:
    report = ledger.import_paths([sys.argv[2]])
    cost = ledger.sql("SELECT sum(cost) FROM calls")[0][0]
print(report.new_calls, cost, "genai_prices" in sys.modules)
"""


def test_a_new_ledger_reuses_the_day_rates_an_earlier_one_resolved(
    licensed_logs: Path, tmp_path: Path
) -> None:
    """The day rates live in the user cache, shared by every ledger: a second ledger's first
    import bills the same without loading genai-prices (about 0.15 s of a cold run)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TOKENOMY_CACHE": str(tmp_path / "cache")}

    def run(home: str) -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", LEDGER_RUN, str(tmp_path / home), str(licensed_logs)],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        return out.stdout.split()

    first, second = run("one"), run("two")
    assert first[:2] == second[:2] and int(first[0]) > 0
    assert first[2] == "True" and second[2] == "False"
    assert len(list((tmp_path / "cache").glob("rates-*.json"))) == 1
