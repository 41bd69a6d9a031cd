"""Shared fixtures: the real logs in ../shared/data/logs (see its MANIFEST.md for origins)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_LOGS = REPO.parent / "shared" / "data" / "logs"


# A payload with no timestamp of its own is dated by its file's modification time, and a
# fresh clone stamps files with the moment of the clone: pin it so that date-grouped reports
# do not depend on when the tests run.
PAYLOAD_MTIME = datetime(2026, 5, 14, 9, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the real logs, with payload files dated ``PAYLOAD_MTIME``."""
    if not SHARED_LOGS.is_dir():
        pytest.skip(f"real logs not found at {SHARED_LOGS}")
    copy = tmp_path_factory.mktemp("shared") / "logs"
    shutil.copytree(SHARED_LOGS, copy)
    for payload in (copy / "api").iterdir():
        os.utime(payload, (PAYLOAD_MTIME, PAYLOAD_MTIME))
    return copy


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh ledger directory."""
    return tmp_path / "home"
