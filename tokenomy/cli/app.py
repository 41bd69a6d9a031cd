"""The Typer application that every command module registers itself on."""

from __future__ import annotations

import os

import typer

app = typer.Typer(
    name="tokenomy",
    help="Exact LLM token bills from real usage logs, what they are made of, "
    "and which lever cuts them most.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # wrapped docstring lines join into one paragraph
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tokenomy {version('tokenomy')}")
        raise typer.Exit()


_debug = False


def debugging() -> bool:
    """Whether a failure shows its traceback (``tokenomy --debug ...`` or ``TOKENOMY_DEBUG=1``)."""
    return _debug or os.environ.get("TOKENOMY_DEBUG", "") not in ("", "0")


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of a failure."),
) -> None:
    """Exact LLM token bills from real usage logs, what they are made of, and which lever
    cuts them most."""
    global _debug
    _debug = debug
