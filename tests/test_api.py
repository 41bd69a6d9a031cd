"""The public Python API: ``__all__`` is the contract, and importing the CLI stays cheap."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import tokenomy

LOGS = Path(tokenomy.__file__).parent / "data" / "sample_logs"


def test_all_equals_the_sorted_public_names() -> None:
    # As httpx's test_exported_members: every public name is exported, nothing else is.
    public = [
        name
        for name in dir(tokenomy)
        if not name.startswith("_")
        and not isinstance(getattr(tokenomy, name), types.ModuleType)
        and name not in ("annotations", "import_module", "Any", "TYPE_CHECKING")
    ]
    assert tokenomy.__all__ == sorted(tokenomy.__all__, key=lambda n: (not n.isupper(), n))
    assert sorted(tokenomy.__all__) == sorted(public)


def test_cli_import_does_not_load_heavy_libraries() -> None:
    # A warm re-run must start fast: loading DuckDB alone costs ~0.25 s, so the CLI's module
    # imports must not pull it (or tokenizers, numpy, genai-prices' data) in.
    code = (
        "import sys, tokenomy.cli; "
        "print(sorted(m for m in ('duckdb', 'numpy', 'tiktoken', 'genai_prices', 'pyarrow', "
        "'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_warm_rerun_answered_from_the_cache_loads_no_database(tmp_path: Path) -> None:
    # The report cache exists to skip DuckDB, numpy and genai-prices (~0.5 s): a folder that
    # also holds files that are no logs (a manifest) must still hit it.
    logs = tmp_path / "logs"
    shutil.copytree(LOGS / "claude-code" / "spotter", logs)
    (logs / "MANIFEST.md").write_text("not a log")
    argv = ["tokenomy", "report", "daily", str(logs), "--home", str(tmp_path / "home")]
    code = (
        "import sys\n"
        f"sys.argv = {argv!r}\n"
        "from tokenomy.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('duckdb', 'numpy', 'genai_prices') if m in sys.modules))"
    )
    # An empty user cache: the first run resolves its day rates from genai-prices.
    env = {**os.environ, "TOKENOMY_CACHE": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.stdout.strip().endswith("['duckdb', 'genai_prices', 'numpy']"), first.stderr
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert again.stdout.strip().endswith("[]"), again.stderr
    assert again.stdout.replace("[]", "") == first.stdout.replace(
        "['duckdb', 'genai_prices', 'numpy']", ""
    )
