"""Shared fixtures: real logs.

``licensed_logs`` are the real logs shipped in ``tests/data/logs`` (their licences allow it: see
its MANIFEST.md), always there. ``logs`` adds the real sets that state no licence and so are
not shipped (claude-reliability sessions, localpush Codex rollouts), read from
``../shared/data/logs`` beside the checkout; tests that need them skip without it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

# The user's config file, cache and the machine's time zone must not reach the tests: no
# config (an empty config folder), an empty cache, and UTC as the machine's zone.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="tokenomy-test-config-")
os.environ["TOKENOMY_CACHE"] = tempfile.mkdtemp(prefix="tokenomy-test-cache-")
os.environ.pop("TOKENOMY_CONFIG", None)
os.environ["TZ"] = "UTC"

REPO = Path(__file__).resolve().parents[1]
SHIPPED_LOGS = REPO / "tests" / "data" / "logs"
SAMPLE_LOGS = REPO / "tokenomy" / "data" / "sample_logs"
SHARED_LOGS = REPO.parent / "shared" / "data" / "logs"
UNLICENSED = ("claude-code/claude-reliability", "codex/localpush")

# pytest-xdist gives its workers COLUMNS=80; tokenomy draws for COLUMNS when it is set, so
# without this the output under test would depend on how the suite was started.
os.environ.pop("COLUMNS", None)

# Every command on the application the tests drive (a run of `tokenomy` loads only its own);
# after the environment above, which the command modules read when imported.
import tokenomy.cli  # noqa: E402

tokenomy.cli.load()


# A payload with no timestamp of its own is dated by its file's modification time, and a
# fresh clone stamps files with the moment of the clone: pin it so that date-grouped reports
# do not depend on when the tests run.
PAYLOAD_MTIME = datetime(2026, 5, 14, 9, 0, tzinfo=UTC).timestamp()


def shipped_logs(to: Path) -> Path:
    """The shipped real logs laid out as in ``../shared/data/logs``."""
    shutil.copytree(SHIPPED_LOGS, to)
    shutil.copytree(SAMPLE_LOGS / "claude-code", to / "claude-code", dirs_exist_ok=True)
    return to


def _copy_logs(to: Path, unlicensed: bool) -> Path:
    shipped_logs(to)
    if unlicensed:
        for part in UNLICENSED:
            shutil.copytree(SHARED_LOGS / part, to / part)
    for payload in (to / "api").iterdir():
        os.utime(payload, (PAYLOAD_MTIME, PAYLOAD_MTIME))
    return to


@pytest.fixture(scope="session")
def licensed_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped real logs (spotter sessions, API payloads), payloads dated
    ``PAYLOAD_MTIME``."""
    return _copy_logs(tmp_path_factory.mktemp("shipped") / "logs", unlicensed=False)


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real log: the shipped ones and the unlicensed sets from ``../shared``."""
    if not all((SHARED_LOGS / part).is_dir() for part in UNLICENSED):
        pytest.skip(
            f"needs {', '.join(UNLICENSED)} from {SHARED_LOGS}: real logs that state no "
            "licence, so they are not shipped in tests/data"
        )
    return _copy_logs(tmp_path_factory.mktemp("shared") / "logs", unlicensed=True)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh ledger directory."""
    return tmp_path / "home"


GOLDEN_FIXTURES = ("logs", "api", "gemini_cli", "otel", "llm")


@pytest.fixture(scope="session")
def golden_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden suite's fixtures (tests/golden), every file dated ``PAYLOAD_MTIME``: payloads
    that carry no time of their own are dated by their file. Read only."""
    root = tmp_path_factory.mktemp("golden") / "data"
    shipped_logs(root / "logs")
    for name in GOLDEN_FIXTURES[1:]:
        shutil.copytree(REPO / "tests" / "data" / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (PAYLOAD_MTIME, PAYLOAD_MTIME))
    return root
