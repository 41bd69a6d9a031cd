"""The command line: thin wrappers that parse, call the library and render.

Each command module registers its commands on ``app`` when imported. A run imports only the
module of the command it runs (Typer builds every registered command's parameters at start,
about 50 ms for all of them); ``--help``, completion and anything unrecognised load them all.
Code that drives ``app`` itself (the tests) calls ``load()`` first.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NoReturn

from tokenomy.cli.app import app, debugging

__all__ = ["app", "load", "main"]

# Command -> the modules that register it, in the order `tokenomy --help` lists them.
COMMANDS: dict[str, tuple[str, ...]] = {
    "anatomy": ("anatomy",),
    "budget": ("budget",),
    "count": ("count",),
    "tax": ("count",),
    "demo": ("demo",),
    "gateway": ("gateway",),
    "report": ("report", "html"),  # `report html` is registered by cli/html.py
    "import": ("report",),
    "serve": ("html",),
    "mcp": ("mcp",),
    "push": ("push",),
    "selfhost": ("selfhost",),
    "bench": ("selfhost",),
    "statusline": ("statusline",),
    "whatif": ("whatif",),
    "whatif-chat": ("whatif",),
}
MODULES = tuple(dict.fromkeys(m for ms in COMMANDS.values() for m in ms))
_VALUED = ("--config",)  # root options that take a value


def load(modules: tuple[str, ...] = MODULES) -> None:
    """Register the commands of ``modules`` (all by default) on ``app``."""
    for name in modules:
        importlib.import_module(f"tokenomy.cli.{name}")


def command_of(argv: list[str]) -> str | None:
    """The command ``argv`` runs, past the root options; None for help or anything else."""
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help") or arg.startswith("--install-") or arg == "--show-completion":
            return None
        if arg in _VALUED:
            next(args, None)
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main() -> None:
    """Run the CLI; any failure is one line on stderr (``--debug`` or ``TOKENOMY_DEBUG=1``
    shows the traceback)."""
    from tokenomy.extras import MissingExtra

    command = None if "_TOKENOMY_COMPLETE" in os.environ else command_of(sys.argv[1:])
    load(COMMANDS[command] if command else MODULES)
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
    from tokenomy.cli.output import err

    first = message.strip().splitlines()[0] if message.strip() else "failed"
    err.print(f"tokenomy: {first}", markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(code)
