"""The Typer application that every command module registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tokenomy",
    help="Exact LLM token bills from real usage logs, what they are made of, "
    "and which lever cuts them most.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
