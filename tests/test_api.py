"""The public Python API: ``__all__`` is the contract, and importing the CLI stays cheap."""

from __future__ import annotations

import subprocess
import sys

import tokenomy


def test_all_names_exist() -> None:
    for name in tokenomy.__all__:
        assert hasattr(tokenomy, name), name


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
