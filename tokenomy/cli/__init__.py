"""The command line: thin wrappers that parse, call the library and render.

Each module below registers its commands on ``app`` when imported.
"""

from __future__ import annotations

from typing import NoReturn

# Each module registers its commands on `app` when imported.
from tokenomy.cli import (  # noqa: F401
    anatomy,
    budget,
    count,
    demo,
    gateway,
    html,
    mcp,
    output,
    push,
    report,
    selfhost,
    statusline,
    whatif,
)
from tokenomy.cli.app import app, debugging
from tokenomy.cli.output import err

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI; any failure is one line on stderr (``--debug`` or ``TOKENOMY_DEBUG=1``
    shows the traceback)."""
    from tokenomy.extras import MissingExtra

    try:
        app()
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except MissingExtra as error:
        _fail(str(error), 2)
    except Exception as error:
        if debugging():
            raise
        _fail(f"{type(error).__name__}: {error} (--debug shows the traceback)", 1)


def _fail(message: str, code: int) -> NoReturn:
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    err.print(f"tokenomy: {first}", markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(code)
