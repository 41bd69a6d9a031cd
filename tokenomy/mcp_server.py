"""``tokenomy mcp``: a Model Context Protocol server, so an agent can ask what its own sessions
cost, what the bill is made of and which lever would cut it.

Four tools, each the library call a command makes, answering with the same JSON as the
command's ``--json`` (``docs/json.md``), so the numbers are the CLI's to the last digit:

- ``bill``: ``tokenomy report GROUPING --json`` (daily, weekly, monthly, session, model,
  project, source or blocks)
- ``anatomy``: ``tokenomy anatomy --json``
- ``whatif``: ``tokenomy whatif --json``
- ``count``: ``tokenomy count FILE --json`` (a file, or text passed inline)

The ledger is opened per call and closed after it (DuckDB lets one process hold it at a time,
so the CLI keeps working beside the server), importing what is new in the logs first.

The payload functions (``bill_payload`` ...) need only the library; ``build_server`` needs the
``mcp`` extra (the official SDK).
"""

from __future__ import annotations

import contextlib
import inspect
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from tokenomy.jsonable import SCHEMA_VERSION, to_jsonable
from tokenomy.ledger.filters import GROUPINGS, Filters, parse_day

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from tokenomy.ledger import ImportReport, Ledger

__all__ = [
    "COUNT_MODELS",
    "NoCalls",
    "Settings",
    "Tools",
    "anatomy_payload",
    "bill_payload",
    "build_server",
    "count_payload",
    "whatif_payload",
]

# The models ``count`` prices by default (as ``tokenomy count``).
COUNT_MODELS = (
    "gpt-4o", "gpt-4.1", "claude-sonnet-4-5", "claude-opus-4-7", "llama-3.3-70b", "deepseek-chat",
)  # fmt: skip

INSTRUCTIONS = (
    "tokenomy answers what LLM usage cost, exactly, from the agents' own logs (Claude Code, "
    "Codex, Gemini CLI...). `bill` sums cost and tokens by day, session, model, project or "
    "5-hour block (grouping='session' lists sessions, newest last; pass session=ID to the "
    "other tools to look at one); `anatomy` says what the bill is made of (token kinds, the "
    "context tax of re-sent history, cache efficiency); `whatif` replays the real calls under "
    "levers (caching, a cheaper model, compaction, output caps, batching) ranked by dollars "
    "saved; `count` gives exact token counts of a text or file. Money is in US dollars."
)


class NoCalls(ValueError):
    """The filters leave no call to describe."""


@dataclass(frozen=True)
class Settings:
    """Where the ledger lives, which prices, which logs to import when a tool is given none,
    and the default time zone (the command resolves these from its options and the config)."""

    home: Path | None = None
    prices: Path | None = None
    paths: tuple[Path, ...] = ()
    timezone: str = "UTC"

    def open(self, paths: Sequence[str | Path] | None = None) -> tuple[Ledger, ImportReport]:
        """The ledger, with ``paths`` (else the settings', else the usual locations) imported
        first, as ``tokenomy.cli.common.open_ledger`` does."""
        from tokenomy.ledger import ImportReport, Ledger
        from tokenomy.pricing import Overrides, Pricer
        from tokenomy.sources import default_locations

        targets = [Path(p).expanduser() for p in paths] if paths else list(self.paths)
        for path in targets:
            if not path.exists():
                raise FileNotFoundError(f"no such file or directory: {path}")
        pricer = Pricer(Overrides.load(self.prices)) if self.prices else None
        ledger = Ledger(self.home, pricer)
        try:
            if self.prices:
                ledger.price()
            targets = targets or default_locations()
            report = ledger.import_paths(targets) if targets else ImportReport()
        except BaseException:
            ledger.close()
            raise
        return ledger, report

    def filters(
        self,
        since: str | None = None,
        until: str | None = None,
        model: Sequence[str] | None = None,
        project: Sequence[str] | None = None,
        source: Sequence[str] | None = None,
        session: Sequence[str] | None = None,
        timezone: str | None = None,
    ) -> Filters:
        return Filters(
            since=parse_day(since, "since"),
            until=parse_day(until, "until"),
            models=tuple(model or ()),
            projects=tuple(project or ()),
            sources=tuple(source or ()),
            sessions=tuple(session or ()),
            timezone=timezone or self.timezone,
        )


def _payload(
    rows: Sequence[Any] = (), totals: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The shape of every ``--json`` output: ``{"schema_version", "rows", "totals"?, ...}``."""
    payload: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "rows": [dict(r) for r in rows]}
    if totals is not None:
        payload["totals"] = dict(totals)
    payload.update(extra)
    return dict(to_jsonable(payload))


def bill_payload(
    settings: Settings,
    grouping: str = "daily",
    filters: Filters | None = None,
    paths: Sequence[str | Path] | None = None,
) -> dict[str, Any]:
    """``tokenomy report GROUPING --json``: rows and totals (``grouping`` added)."""
    from tokenomy.bill import bill, blocks

    if grouping not in (*GROUPINGS, "blocks"):
        raise ValueError(
            f"unknown grouping {grouping!r}; choose one of {', '.join((*GROUPINGS, 'blocks'))}"
        )
    ledger, _ = settings.open(paths)
    with ledger:
        filters = filters or settings.filters()
        if grouping == "blocks":
            result = blocks(ledger, filters)
        else:
            result = bill(ledger, grouping, filters)
    return _payload(result.rows, result.totals, grouping=grouping)


def anatomy_payload(
    settings: Settings,
    filters: Filters | None = None,
    session: str | None = None,
    paths: Sequence[str | Path] | None = None,
) -> dict[str, Any]:
    """``tokenomy anatomy --json``: cost by token kind, the context tax, cache efficiency,
    sub-agent and compaction shares (of one session and its sub-agents, or all)."""
    from tokenomy.anatomy import anatomy

    ledger, _ = settings.open(paths)
    with ledger:
        calls = ledger.calls(filters or settings.filters())
        pricer = ledger.pricer
    if not calls:
        raise NoCalls("no calls found")
    result = anatomy(calls, pricer, session=session)
    if result.calls == 0:
        raise NoCalls(f"no calls in session {session!r}")
    return _payload(**result.to_dict())


def whatif_payload(
    settings: Settings,
    levers: Sequence[str] | None = None,
    filters: Filters | None = None,
    check: bool = False,
    paths: Sequence[str | Path] | None = None,
) -> dict[str, Any]:
    """``tokenomy whatif --json``: the replayed baseline, each lever alone and the best
    combination, ranked by dollars saved (``levers``: specs as ``--lever``; default: a set
    that fits the logs)."""
    from tokenomy.levers import UnknownLever, lever_names, make_lever
    from tokenomy.replay.trace import from_calls
    from tokenomy.whatif import replay_agreement, whatif

    try:
        made = [make_lever(spec) for spec in levers] if levers else None
    except UnknownLever as exc:
        raise ValueError(f"{exc} (known: {', '.join(lever_names())})") from exc
    ledger, _ = settings.open(paths)
    with ledger:
        calls = ledger.calls(filters or settings.filters())
        digests = ledger.prompt_digests()
        pricer = ledger.pricer
    if not calls:
        raise NoCalls("no calls found")
    trace = from_calls(calls, digests=digests)
    result = whatif(trace, made, pricer)
    extra = result.to_dict()
    if check:
        extra["replay_agreement"] = replay_agreement(trace, pricer).to_dict()
    return _payload(**extra)


def count_payload(
    data: bytes,
    models: Sequence[str] = COUNT_MODELS,
    tokenizers: Sequence[str] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """``tokenomy count FILE --json``: exact tokens of ``data`` under every tokenizer (or
    those named), and what it costs as input per model (at ``at``, UTC; default now)."""
    from tokenomy.pricing import Pricer
    from tokenomy.tokens import EXACT_TOKENIZERS, count_stream, get_tokenizer
    from tokenomy.tokens.registry import tokenizer_name_for_model

    names = list(tokenizers or [*EXACT_TOKENIZERS, "claude-estimate", "claude-4.7-estimate"])
    try:
        chosen = [get_tokenizer(n) for n in names]
    except KeyError as error:
        raise ValueError(str(error.args[0])) from None
    result = count_stream(io.BytesIO(data), chosen)
    rows = [
        {"tokenizer": t.name, "exact": t.exact, "tokens": result.tokens[t.name]} for t in chosen
    ]
    pricer = Pricer()
    when = None if at is None else at.replace(tzinfo=UTC) if at.tzinfo is None else at
    prices: list[dict[str, Any]] = []
    for model in (m.strip() for m in models if m.strip()):
        name = tokenizer_name_for_model(model)
        if name not in result.tokens:
            continue  # its tokenizer was not asked for
        tokens = result.tokens[name]
        rates = pricer.rates(model, time=when)
        per_mtok: Decimal | None = None if rates is None else rates.bands[0].input
        prices.append({
            "model": model,
            "tokenizer": name,
            "tokens": tokens,
            "input_usd_per_mtok": per_mtok,
            "input_usd": None if per_mtok is None else per_mtok * tokens / 1_000_000,
        })  # fmt: skip
    return _payload(
        rows,
        tokens={r["tokenizer"]: r["tokens"] for r in rows},
        models=prices,
        bytes=result.bytes,
        characters=result.characters,
        invalid_utf8=result.invalid_utf8,
    )


# -- the tools: typed arguments the SDK turns into each tool's JSON schema --------------------

PathsArg = Annotated[
    list[str] | None,
    Field(
        description="Log files or directories to import first (only what is new is read). "
        "Default: the server's paths, else the usual locations (~/.claude/projects, "
        "~/.codex/sessions, ~/.gemini/tmp)."
    ),
]
SinceArg = Annotated[str | None, Field(description="First day, YYYY-MM-DD (inclusive).")]
UntilArg = Annotated[str | None, Field(description="Last day, YYYY-MM-DD (inclusive).")]
ModelArg = Annotated[list[str] | None, Field(description="Only these models (prefixes).")]
ProjectArg = Annotated[list[str] | None, Field(description="Only these projects (prefixes).")]
SourceArg = Annotated[
    list[str] | None, Field(description="Only these log formats (claude_code, codex, ...).")
]
SessionsArg = Annotated[
    list[str] | None,
    Field(description="Only these sessions (each with its sub-agents), by session id."),
]
TimezoneArg = Annotated[
    str | None, Field(description="IANA time zone for days and blocks (default: the server's).")
]


@contextlib.contextmanager
def _told() -> Iterator[None]:
    """A wrong argument, a missing file, a busy ledger or no calls: the agent is told why (the
    SDK keeps any other exception's text on the server)."""
    from tokenomy.ledger import LedgerBusy

    try:
        yield
    except (ValueError, OSError, LookupError, LedgerBusy) as exc:
        from mcp.server.mcpserver.exceptions import ToolError

        raise ToolError(str(exc) or type(exc).__name__) from exc


@dataclass
class Tools:
    """The tools an ``MCPServer`` serves, bound to the server's ``Settings``."""

    settings: Settings = field(default_factory=Settings)

    def bill(
        self,
        grouping: Annotated[
            str,
            Field(
                description="How to group: daily, weekly, monthly, session, model, project, "
                "source or blocks (5-hour windows with burn rate and projection)."
            ),
        ] = "daily",
        paths: PathsArg = None,
        since: SinceArg = None,
        until: UntilArg = None,
        model: ModelArg = None,
        project: ProjectArg = None,
        source: SourceArg = None,
        session: SessionsArg = None,
        timezone: TimezoneArg = None,
    ) -> dict[str, Any]:
        """The bill: cost (USD) and tokens (input, cache read and writes, output, reasoning)
        per group, with totals; exactly `tokenomy report GROUPING --json`. grouping='session'
        lists each session (with its sub-agents, project, start, duration)."""
        with _told():
            filters = self.settings.filters(since, until, model, project, source, session,
                                            timezone)  # fmt: skip
            return bill_payload(self.settings, grouping, filters, paths)

    def anatomy(
        self,
        session: Annotated[
            str | None,
            Field(description="One session (with its sub-agents), by session id; default all."),
        ] = None,
        paths: PathsArg = None,
        since: SinceArg = None,
        until: UntilArg = None,
        model: ModelArg = None,
        project: ProjectArg = None,
        source: SourceArg = None,
        timezone: TimezoneArg = None,
    ) -> dict[str, Any]:
        """What the bill is made of: cost by token kind, the context tax (history re-sent on
        each call) and its curve by call index, cache efficiency and waste, sub-agent and
        compaction shares; exactly `tokenomy anatomy --json`."""
        with _told():
            filters = self.settings.filters(since, until, model, project, source, None, timezone)
            return anatomy_payload(self.settings, filters, session, paths)

    def whatif(
        self,
        levers: Annotated[
            list[str] | None,
            Field(
                description="Levers NAME[:ARG][,KEY=VALUE...], e.g. cache:auto, "
                "cache:anthropic-1h, no-cache, model:claude-haiku-4-5, "
                "route:claude-haiku-4-5,max_prompt=20000, compact:100000,keep=3,summary=3000, "
                "clear-tools:100000, cap:2000, batch:subagents. Default: a set that fits the "
                "logs."
            ),
        ] = None,
        check: Annotated[
            bool, Field(description="Also measure how well the replay reproduces the log.")
        ] = False,
        paths: PathsArg = None,
        since: SinceArg = None,
        until: UntilArg = None,
        model: ModelArg = None,
        project: ProjectArg = None,
        source: SourceArg = None,
        session: SessionsArg = None,
        timezone: TimezoneArg = None,
    ) -> dict[str, Any]:
        """Which lever would cut the bill: the real calls replayed with no lever (the
        baseline), under each lever alone and under the best combination, each with dollars
        saved and its range; exactly `tokenomy whatif --json`."""
        with _told():
            filters = self.settings.filters(since, until, model, project, source, session,
                                            timezone)  # fmt: skip
            return whatif_payload(self.settings, levers, filters, check, paths)

    def count(
        self,
        text: Annotated[str | None, Field(description="The text to count.")] = None,
        path: Annotated[
            str | None, Field(description="A text file to count instead of `text`.")
        ] = None,
        models: Annotated[
            list[str] | None,
            Field(description="Models to price the input for (default: a spread of six)."),
        ] = None,
        tokenizers: Annotated[
            list[str] | None,
            Field(description="Count with these tokenizers only, e.g. o200k_base."),
        ] = None,
        at: Annotated[
            str | None,
            Field(description="Price as at this UTC time, YYYY-MM-DD or YYYY-MM-DDTHH:MM."),
        ] = None,
    ) -> dict[str, Any]:
        """Exact tokens of a text (or a file) under every tokenizer, and what it costs as
        input per model; exactly `tokenomy count FILE --json`."""
        with _told():
            if (text is None) == (path is None):
                raise ValueError("give one of text and path")
            if path is not None:
                file = Path(path).expanduser()
                if not file.is_file():
                    raise FileNotFoundError(f"no such file: {path}")
                data = file.read_bytes()
            else:
                data = (text or "").encode()
            when = datetime.fromisoformat(at) if at else None
            return count_payload(data, models or COUNT_MODELS, tokenizers, when)


def build_server(settings: Settings | None = None) -> MCPServer:
    """The MCP server with the four tools (needs the ``mcp`` extra)."""
    from tokenomy.extras import require

    require("mcp", "mcp", "the MCP server")
    from importlib.metadata import version

    from mcp.server.mcpserver import MCPServer
    from mcp_types import ToolAnnotations

    tools = Tools(settings or Settings())
    server: MCPServer = MCPServer(
        name="tokenomy",
        version=version("tokenomy"),
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    # The ledger tools import new log lines into the ledger (a write, never a destructive one).
    reads = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)  # fmt: skip
    pure = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    served: list[tuple[str, Callable[..., Any], str, ToolAnnotations]] = [
        ("bill", tools.bill, "Bill", reads),
        ("anatomy", tools.anatomy, "Anatomy of the bill", reads),
        ("whatif", tools.whatif, "What if: levers ranked by dollars saved", reads),
        ("count", tools.count, "Count tokens", pure),
    ]
    for name, fn, title, hints in served:
        server.add_tool(fn, name=name, title=title, description=inspect.getdoc(fn),
                        annotations=hints)  # fmt: skip
    return server
