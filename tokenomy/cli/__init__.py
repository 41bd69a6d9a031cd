"""The command line: thin wrappers that parse, call the library and render.

Each module below registers its commands on ``app`` when imported.
"""

from __future__ import annotations

from tokenomy.cli import demo, html, output, report  # noqa: F401  (each registers its commands)
from tokenomy.cli import anatomy, whatif  # noqa: F401
from tokenomy.cli import count  # noqa: F401
from tokenomy.cli import selfhost  # noqa: F401
from tokenomy.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
