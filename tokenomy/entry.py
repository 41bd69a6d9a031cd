"""The ``tokenomy`` command's entry point: ``tokenomy statusline`` first tries its warm path,
which needs neither the command-line framework nor the ledger; everything else (and a status
line that must be computed) goes to ``tokenomy.cli``."""

from __future__ import annotations

import os
import sys

__all__ = ["main"]


def main() -> None:
    # numpy's work here is elementwise; starting OpenBLAS's thread pool, one thread per core,
    # costs up to 50 ms of a run that imports numpy when the cores are busy (a user's own
    # setting stands).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = sys.argv[1:]
    if argv[:1] == ["statusline"]:
        from tokenomy.statusline import fast

        if fast(argv[1:]):
            return
    from tokenomy.cli import main as cli_main

    cli_main()
