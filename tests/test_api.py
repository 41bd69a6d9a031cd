"""The public Python API: ``__all__`` is the contract, and importing the CLI stays cheap."""

from __future__ import annotations

import subprocess
import sys
import types

import tokenomy


def test_all_equals_the_sorted_public_names() -> None:
    # As httpx's test_exported_members: every public name is exported, nothing else is.
    public = [
        name
        for name in dir(tokenomy)
        if not name.startswith("_")
        and not isinstance(getattr(tokenomy, name), types.ModuleType)
        and name not in ("annotations", "import_module", "Any")
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
