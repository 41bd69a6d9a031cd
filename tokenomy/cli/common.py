"""Options and steps every report-like command shares: where the ledger lives, which logs to
import first, filters, and how to print warnings."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

from tokenomy.cli.app import config
from tokenomy.cli.output import Format, err
from tokenomy.ledger import freshness
from tokenomy.ledger.filters import Filters, parse_day
from tokenomy.ledger.home import default_home, is_postgres_url
from tokenomy.sources import default_locations

if TYPE_CHECKING:  # loaded when a ledger is opened: a cached warm run never needs them
    from tokenomy.ledger import ImportReport, Ledger

__all__ = [
    "FormatCsv",
    "FormatJson",
    "Home",
    "LedgerOptions",
    "Paths",
    "Prices",
    "Strict",
    "ledger_options",
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
LedgerTarget = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        envvar="TOKENOMY_LEDGER",
        help="A shared ledger: postgresql://user@host/db (needs tokenomy[postgres]); "
        "default: the DuckDB ledger in --home.",
        show_default=False,
        show_envvar=False,
    ),
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
UserOpt = Annotated[
    list[str] | None,
    typer.Option("--user", help="Who stored the calls (a shared ledger); repeatable."),
]
TeamOpt = Annotated[
    list[str] | None,
    typer.Option("--team", help="A team's users, from the config's [teams]; repeatable."),
]
Timezone = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        "-z",
        help="IANA zone for days and blocks (default: the config's, else the machine's).",
        show_default=False,
    ),
]


def output_format(as_json: bool, as_csv: bool) -> Format:
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    return Format.json if as_json else Format.csv if as_csv else Format.table


def _filters(
    since: str | None,
    until: str | None,
    model: list[str] | None,
    project: list[str] | None,
    source: list[str] | None,
    user: list[str] | None,
    team: list[str] | None,
    timezone: str | None,
) -> Filters:
    conf = config()
    timezone = timezone or conf.zone
    users = list(user or ())
    for name in team or ():
        if name not in conf.teams:
            known = ", ".join(sorted(conf.teams)) or "none: add [teams] to the config file"
            raise typer.BadParameter(f"unknown team {name!r} (known: {known})", param_hint="--team")
        users += conf.teams[name]
    try:
        return Filters(
            since=parse_day(since, "--since"),
            until=parse_day(until, "--until"),
            models=tuple(model or ()),
            projects=tuple(project or ()),
            sources=tuple(source or ()),
            users=tuple(dict.fromkeys(users)),
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
    ledger_url: str | None = None,
) -> tuple[Ledger, ImportReport]:
    """Open the ledger (``ledger_url``: a shared PostgreSQL ledger) and import ``paths`` (or
    the usual locations) into it first. The config file's ``home``, ``prices`` and ``paths``
    stand in for those not given."""
    from tokenomy.gateway.spool import spool_files
    from tokenomy.ledger import ImportReport, Ledger, open_store
    from tokenomy.pricing import Overrides, Pricer

    home, prices, paths = resolve(home, prices, paths)
    try:
        pricer = Pricer(Overrides.load(prices)) if prices else None
    except (OSError, ValueError) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from exc
    for path in paths or []:
        if not path.exists():
            err.print(f"error: no such file or directory: {path}", markup=False)
            raise typer.Exit(2)
    no_logs = not paths and _no_logs(strict)
    # Either backend (a Store); the DuckDB file is waited for while a gateway or an import
    # holds it.
    ledger: Any = open_store(ledger_url, pricer, home=home)
    if isinstance(ledger, Ledger) and spool_files(ledger.home):
        from tokenomy.gateway.recorder import drain_into

        drain_into(ledger)  # calls a gateway spooled while the ledger was busy
    if prices:
        ledger.price()
    targets = list(paths) if paths else default_locations()
    with import_progress(not quiet and err.is_terminal) as progress:
        report = ledger.import_paths(targets, progress) if targets else ImportReport()
    if not quiet and no_logs:
        earlier = ledger.count()
        err.print(
            f"the ledger's {earlier:,} calls imported earlier are shown"
            if earlier
            else "No usage data found: nothing to show",
            highlight=False,
        )
    elif not quiet:
        print_import(report)
    if strict and report.warnings:
        err.print(f"--strict: {len(report.warnings)} warning(s); exiting non-zero")
        raise typer.Exit(1)
    return ledger, report


def resolve(
    home: Path | None, prices: Path | None, paths: list[Path] | None
) -> tuple[Path | None, Path | None, list[Path] | None]:
    """``--home``, ``--prices`` and the paths, with the config file's where not given
    (``$TOKENOMY_HOME`` is read by the option itself, so it comes before the file)."""
    conf = config()
    return (
        home or conf.home,
        prices or conf.prices,
        list(paths) if paths else (list(conf.paths) or None),
    )


@contextlib.contextmanager
def import_progress(show: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A bar on stderr while logs are read (a terminal only; it goes when done)."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("reading logs"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, auto_refresh=False) as bar:
        task = bar.add_task("import", total=None)

        def update(done: int, todo: int) -> None:
            bar.update(task, completed=done, total=todo, refresh=True)

        yield update


@dataclass(frozen=True)
class LedgerOptions:
    """The options every ledger command shares, parsed: which logs, which ledger, which prices,
    how strict, which calls (``filters``) and how to print (``fmt``)."""

    paths: list[Path] | None
    home: Path | None
    prices: Path | None
    strict: bool
    filters: Filters
    fmt: Format
    ledger: str | None = None  # --ledger / $TOKENOMY_LEDGER: a postgresql:// URL

    def open(self, quiet: bool = False) -> tuple[Ledger, ImportReport]:
        """The ledger, with ``paths`` (or the usual locations) imported first."""
        return open_ledger(self.paths, self.home, self.prices, self.strict, quiet=quiet,
                           ledger_url=self.ledger)  # fmt: skip

    @property
    def shared(self) -> bool:
        """Whether the ledger is a shared server (others write to it: no local report cache)."""
        return is_postgres_url(self.ledger)


_LEDGER: dict[str, tuple[Any, Any]] = {
    "home": (Home, None),
    "ledger": (LedgerTarget, None),
    "prices": (Prices, None),
    "strict": (Strict, False),
}
_FILTERS: dict[str, tuple[Any, Any]] = {
    "since": (Since, None),
    "until": (Until, None),
    "model": (Model, None),
    "project": (Project, None),
    "source": (SourceOpt, None),
    "user": (UserOpt, None),
    "team": (TeamOpt, None),
    "timezone": (Timezone, None),
}
_FORMATS: dict[str, tuple[Any, Any]] = {
    "as_json": (FormatJson, False),
    "as_csv": (FormatCsv, False),
}

F = TypeVar("F", bound=Callable[..., Any])


def ledger_options(*, filters: bool = True, csv: bool = True) -> Callable[[F], F]:
    """Give a command the shared options (paths, ``--home``, ``--prices``, ``--strict``, the
    filters, ``--json``/``--csv``), parsed into one ``options: LedgerOptions`` argument, as
    sqlite-utils' ``output_options`` does for click."""

    def decorate(command: F) -> F:
        shared = {
            **_LEDGER,
            **(_FILTERS if filters else {}),
            **(_FORMATS if csv else {"as_json": _FORMATS["as_json"]}),
        }
        hints = get_type_hints(command, include_extras=True)  # Typer reads Annotated metadata
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(command).parameters.values()
            if p.name != "options"
        ]

        def param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
            return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                     annotation=annotation)  # fmt: skip

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            got = {name: kwargs.pop(name, default) for name, (_, default) in shared.items()}
            if got["ledger"] and not is_postgres_url(got["ledger"]):
                raise typer.BadParameter(
                    "--ledger (or $TOKENOMY_LEDGER) takes a postgresql:// URL; a DuckDB ledger "
                    "directory is --home"
                )
            got_filters = _filters(*(got[n] for n in _FILTERS)) if filters else Filters()
            home, prices, paths = resolve(got["home"], got["prices"], kwargs.pop("paths"))
            kwargs["options"] = LedgerOptions(
                paths=paths,
                home=home,
                prices=prices,
                strict=got["strict"],
                filters=got_filters,
                fmt=output_format(got["as_json"], got.get("as_csv", False)),
                ledger=got["ledger"],
            )
            return command(**kwargs)

        params = [
            param("paths", Paths, None),
            *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own),
            *(param(name, ann, default) for name, (ann, default) in shared.items()),
        ]
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper  # type: ignore[return-value]

    return decorate


def cached_report(options: LedgerOptions, args: Any) -> Any | None:
    """A report's data computed earlier for these options, if no log changed since."""
    if options.shared:
        return None  # other writers change a shared ledger: always ask it
    targets = options.paths or default_locations()
    data = freshness.cached_report(options.home or default_home(), targets, options.prices, args)
    if data is not None:
        err.print("nothing new since the last import: report reused", highlight=False)
    return data


def store_report(options: LedgerOptions, args: Any, data: Any) -> None:
    if options.shared:
        return
    targets = options.paths or default_locations()
    freshness.store_report(options.home or default_home(), targets, options.prices, args, data)


def _no_logs(strict: bool) -> bool:
    """With no paths given: whether the usual places hold no log. If so, say where we looked
    (a $0.00 table alone reads as "you spent nothing"); under ``--strict`` that is an error."""
    from tokenomy.sources import candidate_locations, has_logs

    if has_logs(default_locations()):
        return False
    looked = ", ".join(str(p) for p in candidate_locations())
    err.print(f"no agent logs in {looked}", markup=False, highlight=False)
    if strict:
        err.print("--strict: no logs found; exiting non-zero", markup=False, highlight=False)
        raise typer.Exit(1)
    return True


def print_import(report: ImportReport) -> None:
    """One line of counts on stderr, then one line per warning."""
    if report.files_read == 0:
        err.print(f"nothing new in {report.files_unchanged:,} log file(s)", highlight=False)
    else:
        err.print(
            f"imported {report.files_read:,} file(s) ({report.files_unchanged:,} unchanged), "
            f"{report.lines:,} lines, {report.calls_found:,} calls found, "
            f"{report.new_calls:,} new, {report.duplicates:,} duplicates dropped",
            highlight=False,
        )
    for warning in report.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)


def busy(message: str, show: bool = True) -> contextlib.AbstractContextManager[Any]:
    """A spinner with ``message`` on stderr while a long step runs (a terminal only, never
    when piped or printing JSON; it goes when the step ends)."""
    if show and err.is_terminal:
        return err.status(message, spinner="dots")
    return contextlib.nullcontext()


def note_compile(calls: int) -> None:
    """Say so before a replay that first compiles the kernels (once after an install)."""
    from tokenomy.replay.cache import COMPILED_FROM_CALLS, compiler_installed, compiles_first

    if calls >= COMPILED_FROM_CALLS and not compiler_installed():
        err.print(
            f"replaying {calls:,} calls in Python; pip install 'tokenomy[fast]' compiles the "
            "replay (same result, about 10x faster on large ledgers)",
            highlight=False,
        )
    elif compiles_first(calls):
        err.print(
            f"compiling the replay kernels for {calls:,} calls (once after an install, "
            "about 15 s)...",
            highlight=False,
        )
