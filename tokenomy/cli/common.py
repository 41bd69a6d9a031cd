"""Options and steps every report-like command shares: where the ledger lives, which logs to
import first, filters, and how to print warnings."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from tokenomy import freshness
from tokenomy.bill import Filters
from tokenomy.cli.output import Format, err
from tokenomy.ledger import ImportReport, Ledger, default_home
from tokenomy.pricing import Overrides, Pricer
from tokenomy.sources import default_locations

__all__ = [
    "FormatJson",
    "Home",
    "Paths",
    "Prices",
    "Strict",
    "filters_from",
    "open_ledger",
    "output_format",
]

Paths = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Log files or directories to import first. With none, the usual locations "
        "(~/.claude/projects or $CLAUDE_CONFIG_DIR, ~/.codex/sessions or $CODEX_HOME, "
        "~/.gemini/tmp) are discovered and imported.",
        show_default=False,
    ),
]
Home = Annotated[
    Path | None,
    typer.Option("--home", envvar="TOKENOMY_HOME", help="Ledger directory.", show_default=False),
]
Prices = Annotated[
    Path | None,
    typer.Option("--prices", help="TOML file of price overrides and model aliases."),
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Exit non-zero when the import had any warning.")
]
FormatJson = Annotated[bool, typer.Option("--json", help="Print JSON (with totals).")]
FormatCsv = Annotated[bool, typer.Option("--csv", help="Print CSV.")]
Since = Annotated[str | None, typer.Option("--since", help="First day (YYYY-MM-DD or YYYYMMDD).")]
Until = Annotated[str | None, typer.Option("--until", help="Last day, inclusive.")]
Model = Annotated[list[str] | None, typer.Option("--model", help="Model (prefix); repeatable.")]
Project = Annotated[list[str] | None, typer.Option("--project", help="Project; repeatable.")]
SourceOpt = Annotated[
    list[str] | None, typer.Option("--source", help="Source format (claude_code, codex, ...).")
]
Timezone = Annotated[str, typer.Option("--timezone", "-z", help="IANA zone for days and blocks.")]


def output_format(as_json: bool, as_csv: bool) -> Format:
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    return Format.json if as_json else Format.csv if as_csv else Format.table


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    text = value.replace("-", "")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError) as exc:
        raise typer.BadParameter(f"{name}: expected YYYY-MM-DD, got {value!r}") from exc


def filters_from(
    since: str | None,
    until: str | None,
    model: list[str] | None,
    project: list[str] | None,
    source: list[str] | None,
    timezone: str,
) -> Filters:
    try:
        return Filters(
            since=_day(since, "--since"),
            until=_day(until, "--until"),
            models=tuple(model or ()),
            projects=tuple(project or ()),
            sources=tuple(source or ()),
            timezone=timezone,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def open_ledger(
    paths: list[Path] | None,
    home: Path | None,
    prices: Path | None = None,
    strict: bool = False,
    quiet: bool = False,
) -> tuple[Ledger, ImportReport]:
    """Open the ledger and import ``paths`` (or the usual locations) into it first."""
    try:
        pricer = Pricer(Overrides.load(prices)) if prices else None
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    for path in paths or []:
        if not path.exists():
            err.print(f"[red]error:[/] no such file or directory: {path}")
            raise typer.Exit(2)
    ledger = Ledger(home, pricer)
    if prices:
        ledger.price()
    targets = list(paths) if paths else default_locations()
    report = ledger.import_paths(targets) if targets else ImportReport()
    if not quiet:
        print_import(report)
    if strict and report.warnings:
        err.print(f"[red]--strict:[/] {len(report.warnings)} warning(s); exiting non-zero")
        raise typer.Exit(1)
    return ledger, report


def _cache_args(paths: list[Path] | None, prices: Path | None, args: Any) -> Any:
    targets = [str(p) for p in (paths or default_locations())]
    prices_hash = hashlib.sha256(prices.read_bytes()).hexdigest() if prices else ""
    return (targets, prices_hash, args)


def cached_report(
    paths: list[Path] | None, home: Path | None, prices: Path | None, args: Any
) -> Any | None:
    """A report computed earlier for these arguments, if no log changed since (see
    ``tokenomy.freshness``); ``None`` otherwise."""
    home_dir = home or default_home()
    targets = paths or default_locations()
    try:
        version = freshness.unchanged_version(home_dir, targets)
        if version is None:
            return None
        result = freshness.cached_result(home_dir, version, _cache_args(paths, prices, args))
    except OSError:
        return None
    if result is not None:
        err.print("nothing new since the last import: report reused", highlight=False)
    return result


def store_report(
    paths: list[Path] | None, home: Path | None, prices: Path | None, args: Any, result: Any
) -> None:
    home_dir = home or default_home()
    version = freshness.read_version(home_dir)
    if version is not None:
        freshness.store_result(home_dir, version, _cache_args(paths, prices, args), result)


def print_import(report: ImportReport) -> None:
    """One line of counts on stderr, then one line per warning."""
    err.print(
        f"imported {report.files_read} file(s) ({report.files_unchanged} unchanged), "
        f"{report.lines:,} lines, {report.calls_found:,} calls found, "
        f"{report.new_calls:,} new, {report.duplicates:,} duplicates dropped",
        highlight=False,
    )
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)


def note_compile(calls: int) -> None:
    """Say so before a replay that first compiles the kernels (once after an install)."""
    from tokenomy.replay.cache import compiles_first

    if compiles_first(calls):
        err.print(
            f"compiling the replay kernels for {calls:,} calls (once after an install, "
            "about 15 s)...",
            highlight=False,
        )
