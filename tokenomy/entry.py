"""The ``tokenomy`` command's entry point: ``tokenomy statusline`` first tries its warm path,
which needs neither the command-line framework nor the ledger; everything else (and a status
line that must be computed) goes to ``tokenomy.cli``."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["statusline"]:
        from tokenomy.statusline import fast

        if fast(argv[1:]):
            return
    from tokenomy.cli import main as cli_main

    cli_main()
