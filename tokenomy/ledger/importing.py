"""Reading logs for a ledger: which files are new, reading them (in worker processes when there
is much to read) and the counts an import reports. Backend-neutral: a store gets ``Columns``
(one numpy array per stored field) and writes them its own way; DuckDB scans such arrays
directly, so the core install needs no Arrow.

- **Incremental**: each file's size, mtime, first-bytes hash and the byte offset read so far are
  kept. An unchanged file costs one ``stat``; an appended line log is read from its offset; a
  file whose first bytes changed (rewritten, rotated) is read again from the start.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenomy.calls import STORED_FIELDS, TOKEN_KINDS, Call
from tokenomy.sources import FileReport, detect, registry

if TYPE_CHECKING:
    import numpy as np

    from tokenomy.pricing import Pricer

__all__ = ["Columns", "ImportReport", "Job", "calls_columns", "plan", "read", "utc_now"]

# Calls as columns: stored field -> array (strings and money as object arrays, money as exact
# decimal strings; times as datetime64[us], naive UTC).
Columns = dict[str, "np.ndarray[Any, Any]"]

HEAD_HASH_BYTES = 1024
# Below this a process pool costs more than it saves (the environment variable lets the fault
# tests exercise the pool on a small corpus).
_MIN = os.environ.get("TOKENOMY_PARALLEL_MIN_BYTES", "")
PARALLEL_MIN_BYTES = int(_MIN) if _MIN.isdigit() else 64 * 1024 * 1024
INT_FIELDS = (*TOKEN_KINDS, "reasoning")


@dataclass
class ImportReport:
    """What an import did, in counts. ``warnings`` lists everything a user should know."""

    files_seen: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_unrecognised: int = 0
    lines: int = 0
    calls_found: int = 0
    new_calls: int = 0
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    pending_lines: int = 0  # files ending in an incomplete line (left for the next import)
    unpriced: Counter[str] = field(default_factory=Counter)  # model -> calls without a price
    files: list[FileReport] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)  # files no source reads
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (path, why) not walked
    standing: list[str] = field(default_factory=list)  # what earlier imports left in the ledger

    @property
    def warnings(self) -> list[str]:
        out = [f"skipped {n:,} line(s): {reason}" for reason, n in sorted(self.skipped.items())]
        if self.pending_lines:
            out.append(
                f"{self.pending_lines} file(s) end in an incomplete line "
                "(not read yet; it will be read once complete)"
            )
        if self.unrecognised:
            n = len(self.unrecognised)
            shown = ", ".join(self.unrecognised[:3])
            more = f" and {n - 3:,} more" if n > 3 else ""
            out.append(f"{n:,} file(s) are no log format tokenomy reads: {shown}{more}")
        out += [f"left out {path}: {why}" for path, why in self.left_out]
        out += [_unpriced_warning(model, n) for model, n in sorted(self.unpriced.items())]
        out += self.standing
        return out

    def add(self, file_report: FileReport) -> None:
        """Count one file's reading."""
        self.files.append(file_report)
        self.lines += file_report.lines
        self.calls_found += file_report.calls
        self.duplicates += file_report.duplicates
        self.skipped.update(file_report.skipped)
        self.pending_lines += 1 if file_report.pending_bytes else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "files_read": self.files_read,
            "files_unchanged": self.files_unchanged,
            "files_unrecognised": self.files_unrecognised,
            "lines": self.lines,
            "calls_found": self.calls_found,
            "new_calls": self.new_calls,
            "duplicates_dropped": self.duplicates,
            "skipped": dict(self.skipped),
            "pending_incomplete_lines": self.pending_lines,
            "unpriced_calls": dict(self.unpriced),
            "warnings": self.warnings,
        }


# Files beside logs that are plainly not logs: counted, never warned about.
_NOT_LOGS = (".md", ".txt.md", ".DS_Store")


def _unpriced_warning(model: str, n: int) -> str:
    from tokenomy.pricing import suggest_alias

    text = f"{n:,} call(s) of unknown model {model or '(none)'!r} are unpriced (not $0)"
    alias = suggest_alias(model) if model else None
    if alias:
        text += f"; if it is {alias}, add to a --prices file: [aliases] {model!r} = {alias!r}"
    return text


def is_plainly_not_a_log(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(_NOT_LOGS) or name.upper().startswith(("LICENSE", "README"))


@dataclass(frozen=True)
class Job:
    """One file to read, from ``offset``."""

    path: str
    source: str
    offset: int
    size: int
    mtime_ns: int
    head_hash: str


def plan(
    path: str, st: os.stat_result, known: tuple[Any, ...] | None, report: ImportReport
) -> Job | None:
    """What to read of ``path``, given what the ledger knows of it (``known``: source, size,
    mtime_ns, head hash, offset); ``None`` when nothing."""
    if known is not None and known[1] == st.st_size and known[2] == st.st_mtime_ns:
        report.files_unchanged += 1
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        report.skipped["unreadable file"] += 1
        return None
    source = detect(Path(path), head)
    if source is None:
        report.files_unrecognised += 1
        if not is_plainly_not_a_log(path):
            report.unrecognised.append(path)
        return None
    head_hash = hashlib.blake2b(head[:HEAD_HASH_BYTES], digest_size=8).hexdigest()
    offset = 0
    if (
        known is not None
        and source.incremental
        and known[0] == source.name
        and known[3] == head_hash
        and st.st_size >= known[4]
    ):
        offset = known[4]
    return Job(path, source.name, offset, st.st_size, st.st_mtime_ns, head_hash)


# Told (bytes read so far, bytes to read) as an import goes: a progress bar.
Progress = Callable[[int, int], None]


def read(
    jobs: Sequence[Job], pricer: Pricer | None = None, progress: Progress | None = None
) -> list[tuple[Columns | None, list[FileReport]]]:
    """Read the jobs: in this process when there is little to read, else in a process pool
    (``pricer`` loads its data meanwhile). One set of call columns per batch of files."""
    todo = sum(j.size - j.offset for j in jobs)
    workers = min(os.cpu_count() or 1, 8)
    if todo < PARALLEL_MIN_BYTES or workers < 2 or len(jobs) < 2:
        out = [_read_jobs(jobs)]
        if progress is not None:
            progress(todo, todo)
        return out
    # Largest first, dealt into a few batches per worker so the pool ends together; one
    # set of columns per batch (one per file would cost more to build and send than it holds).
    ordered = sorted(jobs, key=lambda j: j.size - j.offset, reverse=True)
    batches = [ordered[i :: workers * 4] for i in range(workers * 4)]
    from concurrent.futures import ProcessPoolExecutor  # costs ~30 ms: only when used

    with ProcessPoolExecutor(workers, initializer=_die_with, initargs=(os.getpid(),)) as pool:
        batches = [b for b in batches if b]
        results = pool.map(_read_jobs, batches)
        if pricer is not None:
            pricer.load()  # genai-prices (~0.15 s) while the workers read, unless memoised
        out, done = [], 0
        for batch, result in zip(batches, results, strict=True):
            out.append(result)
            done += sum(j.size - j.offset for j in batch)
            if progress is not None:
                progress(done, todo)
        return out


def _die_with(parent: int) -> None:
    """Make a worker end when the importing process does, even on ``kill -9`` (Linux's
    parent-death signal): otherwise it would wait on the pool's queue forever."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _read_jobs(jobs: Sequence[Job]) -> tuple[Columns | None, list[FileReport]]:
    """Read some files (in a worker process when the import is large) into columns: the
    conversion runs in the workers, and arrays cross the process boundary cheaply."""
    calls: list[Call] = []
    reports = []
    for job in jobs:
        report = FileReport(job.path, source=job.source)
        src = registry()[job.source]
        calls += src.read(Path(job.path), job.offset, report)
        reports.append(report)
    return (calls_columns(calls) if calls else None), reports


def calls_columns(calls: Sequence[Call]) -> Columns:
    """Call records as columns of their stored fields."""
    return {name: column([getattr(c, name) for c in calls], _kind(name)) for name in STORED_FIELDS}


def _kind(name: str) -> str:
    if name == "time":
        return "time"
    if name in INT_FIELDS:
        return "int"
    return {"output_exact": "bool", "reported_cost": "decimal"}.get(name, "object")


def column(values: list[Any], kind: str) -> np.ndarray[Any, Any]:
    """One column for DuckDB to scan (a scan costs microseconds a row, ``executemany``
    milliseconds): ``time`` (aware datetimes, stored as naive UTC), ``int``, ``bool``,
    ``float``, ``decimal`` (as text, cast by the query: no float rounding), ``text`` (``str``
    of each) or ``object`` (as they are)."""
    import numpy as np

    if kind == "time":
        return np.array([t.astimezone(UTC).replace(tzinfo=None) for t in values], "datetime64[us]")
    numeric = {"int": np.int64, "bool": np.bool_, "float": np.float64}
    if kind in numeric:
        return np.array(values, dtype=numeric[kind])
    if kind == "decimal":
        return np.array([None if v is None else str(v) for v in values], dtype=object)
    if kind == "text":
        return np.array([str(v) for v in values], dtype=object)
    return np.array(values, dtype=object)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
