"""The command line: thin wrappers that parse, call the library and render.

Each module below registers its commands on ``app`` when imported.
"""

from __future__ import annotations

# Each module registers its commands on `app` when imported.
from tokenomy.cli import (  # noqa: F401
    anatomy,
    count,
    demo,
    html,
    output,
    report,
    selfhost,
    whatif,
)
from tokenomy.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
