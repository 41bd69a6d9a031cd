"""The Typer application that every command module registers itself on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tokenomy import config as cfg

app = typer.Typer(
    name="tokenomy",
    help="Exact LLM token bills from real usage logs, what they are made of, "
    "and which lever cuts them most.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # wrapped docstring lines join into one paragraph
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tokenomy {version('tokenomy')}")
        raise typer.Exit()


_debug = False
_config_file: Path | None = None


def config() -> cfg.Config:
    """The config file's settings (``--config``, ``$TOKENOMY_CONFIG`` or the default file)."""
    try:
        return cfg.load(_config_file)
    except cfg.ConfigError as exc:
        from tokenomy.cli.output import err

        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc


def debugging() -> bool:
    """Whether a failure shows its traceback (``tokenomy --debug ...`` or ``TOKENOMY_DEBUG=1``)."""
    return _debug or os.environ.get("TOKENOMY_DEBUG", "") not in ("", "0")


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of a failure."),
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="TOKENOMY_CONFIG",
            help="Config file (default: ~/.config/tokenomy/config.toml; see docs/config.md).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Exact LLM token bills from real usage logs, what they are made of, and which lever
    cuts them most."""
    global _debug, _config_file
    _debug = debug
    _config_file = config_file
