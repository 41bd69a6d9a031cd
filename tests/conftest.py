"""Shared fixtures: the real logs in ../shared/data/logs (see its MANIFEST.md for origins)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_LOGS = REPO.parent / "shared" / "data" / "logs"


@pytest.fixture(scope="session")
def logs() -> Path:
    if not SHARED_LOGS.is_dir():
        pytest.skip(f"real logs not found at {SHARED_LOGS}")
    return SHARED_LOGS


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh ledger directory."""
    return tmp_path / "home"
