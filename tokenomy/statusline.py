"""Claude Code's status line: the session's cost, today's cost and the active 5-hour block, in
one line, from the JSON Claude Code pipes to a status-line command.

Claude Code runs the command after each message with a JSON object on stdin (``session_id``,
``transcript_path``, ``model.display_name``, ``workspace.current_dir``, ``cost`` ...). The
session's transcript (and its ``subagents/`` folder) is imported into the ledger incrementally,
then the line is computed from the ledger: the session with its sub-agents, every call of
today in the chosen time zone, and the 5-hour block as ``tokenomy report blocks`` counts it.

The warm path: the figures are kept in ``<home>/statusline/<session>.json`` with the size and
mtime of every file of the session and the ledger's version. While none of them changed (the
status line is asked again with no new message), the line is recomputed from that file with
the standard library alone (the block's burn rate and projection move with the clock), without
loading DuckDB, NumPy or the price tables. A file placed there is data (JSON), never code.
"""

from __future__ import annotations

import json
import marshal
import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tokenomy.bill import block_at, block_rates
from tokenomy.ledger.filters import Filters

if TYPE_CHECKING:
    from tokenomy.ledger import Store
    from tokenomy.pricing import Pricer

__all__ = [
    "SCHEMA_VERSION",
    "Hook",
    "Status",
    "cached_status",
    "compute",
    "parse_hook",
    "read_stdin",
    "refresh",
    "render",
    "session_files",
    "store_status",
]

SCHEMA_VERSION = 1
CACHE_DIR = "statusline"
_SNAPSHOT = "files.snapshot"  # tokenomy.ledger.freshness.SNAPSHOT (not imported: it is slower)
_CACHE_FORMAT = 2

_stdin: str | None = None


def read_stdin() -> str:
    """Standard input; what the fast path read, if it ran in this process and fell through."""
    global _stdin
    text, _stdin = _stdin, None
    if text is None:
        text = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    return text


@dataclass(frozen=True)
class Hook:
    """What the status line needs of the JSON Claude Code sends."""

    session_id: str
    transcript: Path | None
    model: str
    cwd: str
    reported_cost: Decimal | None = None  # Claude Code's own ``cost.total_cost_usd``


def parse_hook(text: str) -> Hook:
    """The hook JSON; ``ValueError`` if it is not a JSON object with a session or transcript."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"statusline: stdin is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ValueError("statusline: stdin is not a JSON object")

    def text_at(*keys: str) -> str:
        value: Any = data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, str) else ""

    path = text_at("transcript_path")
    transcript = Path(path).expanduser() if path else None
    session = text_at("session_id") or (transcript.stem if transcript else "")
    if not session:
        raise ValueError("statusline: the JSON has neither session_id nor transcript_path")
    cost = data.get("cost")
    reported = cost.get("total_cost_usd") if isinstance(cost, dict) else None
    return Hook(
        session_id=session,
        transcript=transcript,
        model=text_at("model", "display_name") or text_at("model", "id"),
        cwd=text_at("workspace", "current_dir") or text_at("cwd"),
        reported_cost=Decimal(str(reported))
        if isinstance(reported, int | float) and not isinstance(reported, bool)
        else None,
    )


def session_files(hook: Hook) -> list[Path]:
    """The session's transcript and, when there, its sibling folder (``subagents/``)."""
    if hook.transcript is None:
        return []
    out = [hook.transcript]
    folder = hook.transcript.with_suffix("")
    if folder != hook.transcript and folder.is_dir():
        out.append(folder)
    return out


def _stamp(paths: list[Path]) -> list[list[Any]]:
    """(path, size, mtime_ns) of every ``.jsonl`` file under ``paths``, sorted."""
    out: list[list[Any]] = []

    def visit(path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            out.append([path, -1, -1])
            return
        if os.path.isdir(path):
            for entry in sorted(os.listdir(path)):
                child = os.path.join(path, entry)
                if entry.endswith(".jsonl") or os.path.isdir(child):
                    visit(child)
        else:
            out.append([path, st.st_size, st.st_mtime_ns])

    for path in paths:
        visit(str(path))
    return out


@dataclass
class Status:
    """The figures of one status line at the time they were computed; the block's rates are
    derived at any ``now`` (``figures``)."""

    session_id: str
    model: str
    timezone: str
    day: str  # today in ``timezone``, YYYY-MM-DD
    session_cost: Decimal
    session_calls: int
    session_unpriced: int
    today_cost: Decimal
    today_calls: int
    month_cost: Decimal
    block: dict[str, Any] | None  # the last block, UTC ISO times: start, end, first, last, cost
    reported_cost: Decimal | None = None

    def figures(self, now: datetime, budgets: dict[str, Decimal] | None = None) -> dict[str, Any]:
        """Everything the line shows, as of ``now``: JSON values, money as ``Decimal``; with
        the config's ``budgets`` (``daily_usd``, ``monthly_usd``, ``block_usd``), how much of
        each is spent."""
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "session_id": self.session_id,
            "model": self.model,
            "timezone": self.timezone,
            "day": self.day,
            "session_cost_usd": self.session_cost,
            "session_calls": self.session_calls,
            "session_unpriced_calls": self.session_unpriced,
            "today_cost_usd": self.today_cost,
            "today_calls": self.today_calls,
            "month_cost_usd": self.month_cost,
            "block": None,
        }
        if self.reported_cost is not None:
            out["claude_code_cost_usd"] = self.reported_cost
        b = self.block
        if b is not None:
            times = {k: datetime.fromisoformat(b[k]) for k in ("start", "end", "first", "last")}
            cost = Decimal(b["cost_usd"])
            rates = block_rates(times["start"], times["end"], times["first"], times["last"],
                                cost, now)  # fmt: skip
            if rates["active"]:
                zone = ZoneInfo(self.timezone)
                out["block"] = {
                    "start": times["start"].astimezone(zone).isoformat(timespec="minutes"),
                    "end": times["end"].astimezone(zone).isoformat(timespec="minutes"),
                    "minutes_left": int((times["end"] - now).total_seconds() // 60),
                    "calls": b["calls"],
                    "cost_usd": cost,
                    "usd_per_hour": rates["usd_per_hour"],
                    "projected_cost_usd": rates["projected_cost_usd"],
                }
        if budgets:
            block_cost = out["block"]["cost_usd"] if out["block"] else Decimal(0)
            spent = {
                "daily_usd": self.today_cost,
                "monthly_usd": self.month_cost,
                "block_usd": block_cost,
            }
            out["budgets"] = {
                key: {
                    "budget_usd": budgets[key],
                    "spent_usd": spent[key],
                    "spent_share": round(float(spent[key] / budgets[key]), 4),
                    "over": spent[key] > budgets[key],
                }
                for key in ("daily_usd", "monthly_usd", "block_usd")
                if key in budgets
            }
        return out

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("session_cost", "today_cost", "month_cost", "reported_cost"):
            data[key] = None if data[key] is None else str(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        data = dict(data)
        for key in ("session_cost", "today_cost", "month_cost", "reported_cost"):
            data[key] = None if data[key] is None else Decimal(data[key])
        return cls(**data)


def today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def compute(ledger: Store, hook: Hook, timezone: str, now: datetime) -> Status:
    """The figures from the ledger (the session's files already imported)."""
    day = today(now, timezone)
    session = ledger.sums(None, Filters(sessions=(hook.session_id,), timezone=timezone))[0]
    daily = ledger.sums(None, Filters(since=day, until=day, timezone=timezone))[0]
    month = ledger.sums(None, Filters(since=day.replace(day=1), until=day, timezone=timezone))[0]
    block = None
    b = block_at(ledger, timezone, now)
    if b is not None:
        block = {
            "start": b["_start"].isoformat(),
            "end": b["_end"].isoformat(),
            "first": b["_first"].isoformat(),
            "last": b["_last"].isoformat(),
            "calls": b["calls"],
            "cost_usd": str(b["cost_usd"]),
        }
    return Status(
        session_id=hook.session_id,
        model=hook.model,
        timezone=timezone,
        day=day.isoformat(),
        session_cost=_money(session["cost_usd"]),
        session_calls=int(session["calls"] or 0),
        session_unpriced=int(session["unpriced_calls"] or 0),
        today_cost=_money(daily["cost_usd"]),
        today_calls=int(daily["calls"] or 0),
        month_cost=_money(month["cost_usd"]),
        block=block,
        reported_cost=hook.reported_cost,
    )


def refresh(
    home: Path, hook: Hook, timezone: str, now: datetime, pricer: Pricer | None = None
) -> Status:
    """Import what is new in the session's files, compute the figures and keep them for the
    warm path (not under price overrides: ``pricer``). When another process holds the ledger,
    the figures stored last, if any."""
    from tokenomy.ledger import Ledger, LedgerBusy

    try:  # a status line cannot wait: half a second, then the last figures
        ledger = Ledger(home, pricer, wait=0.5)
    except LedgerBusy:  # another status line or report holds the ledger
        stale = cached_status(home, hook, timezone, now, stale=True)
        if stale is None:
            raise
        return stale
    with ledger:
        if pricer is not None:
            ledger.price()
        files = [p for p in session_files(hook) if p.exists()]  # a new session: none yet
        if files:
            ledger.import_paths(files)
        status = compute(ledger, hook, timezone, now)
    if pricer is None:
        store_status(home, hook, timezone, status)
    return status


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).normalize() + Decimal("0.000")


def _usd(value: Decimal) -> str:
    if value and abs(value) < Decimal("0.01"):
        return f"${value:.4f}"
    return f"${value:,.2f}"


def render(figures: dict[str, Any]) -> str:
    """The one line Claude Code shows."""
    parts = []
    if figures.get("model"):
        parts.append(str(figures["model"]))
    session = f"{_usd(figures['session_cost_usd'])} session"
    if figures["session_unpriced_calls"]:
        session += f" (+{figures['session_unpriced_calls']} unpriced)"
    parts.append(session)
    budgets = figures.get("budgets", {})
    parts.append(f"{_usd(figures['today_cost_usd'])} today{_of(budgets.get('daily_usd'))}")
    if "monthly_usd" in budgets:
        parts.append(f"{_usd(figures['month_cost_usd'])} month{_of(budgets['monthly_usd'])}")
    block = figures["block"]
    if block is None:
        parts.append("no active block")
    else:
        left = block["minutes_left"]
        parts.append(
            f"{_usd(block['cost_usd'])} block{_of(budgets.get('block_usd'))} "
            f"({left // 60}h{left % 60:02d}m left) "
            f"{_usd(block['usd_per_hour'])}/h, {_usd(block['projected_cost_usd'])} at "
            f"{block['end'][11:16]}"
        )
    return " | ".join(parts)


def _of(budget: dict[str, Any] | None) -> str:
    """`` (62% of $20)``, with ``!`` once over budget."""
    if not budget:
        return ""
    mark = "!" if budget["over"] else ""
    return f" ({budget['spent_share']:.0%} of {_usd(budget['budget_usd'])}{mark})"


# -- the warm path ----------------------------------------------------------------------------


def _ledger_version(home: Path) -> str | None:
    try:
        data = marshal.loads((home / _SNAPSHOT).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return str(data["version"]) if isinstance(data, dict) and "version" in data else None


def _cache_file(home: Path, session_id: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in session_id)[:100]
    return home / CACHE_DIR / f"{safe or 'session'}.json"


def _key(home: Path, hook: Hook, timezone: str, day: str) -> dict[str, Any]:
    return {
        "format": _CACHE_FORMAT,
        "files": _stamp(session_files(hook)),
        "version": _ledger_version(home),
        "timezone": timezone,
        "day": day,
        "session_id": hook.session_id,
    }


def cached_status(
    home: Path, hook: Hook, timezone: str, now: datetime, stale: bool = False
) -> Status | None:
    """The figures stored for this session, if no file of it and nothing in the ledger changed
    since (and it is still the same day); with ``stale``, whatever was stored last."""
    try:
        data = json.loads(_cache_file(home, hook.session_id).read_text(encoding="utf-8"))
        if not stale:
            key = _key(home, hook, timezone, today(now, timezone).isoformat())
            if key["version"] is None or data.get("key") != key:
                return None
        status = Status.from_json(data["status"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    status.model = hook.model or status.model
    status.reported_cost = hook.reported_cost
    return status


def store_status(home: Path, hook: Hook, timezone: str, status: Status) -> None:
    """Keep the figures for ``cached_status`` (after the import wrote the ledger's version)."""
    key = _key(home, hook, timezone, status.day)
    path = _cache_file(home, hook.session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": key, "status": status.to_json()}), encoding="utf-8")
    tmp.replace(path)


def parse_now(value: str | None) -> datetime:
    """``value`` (ISO 8601; UTC when it has no offset), else the current time."""
    if not value:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def emit(
    status: Status, now: datetime, as_json: bool, budgets: dict[str, Decimal] | None = None
) -> None:
    """Print the line (or ``--json``) on stdout."""
    figures = status.figures(now, budgets)
    if as_json:
        from tokenomy.jsonable import to_jsonable

        sys.stdout.write(json.dumps(to_jsonable(figures), indent=2) + "\n")
    else:
        sys.stdout.write(render(figures) + "\n")
    sys.stdout.flush()


def fast(argv: list[str]) -> bool:
    """The warm path of ``tokenomy statusline ARGS``: print the line from the cache and say
    ``True``; ``False`` (having printed nothing) when the full command must run: options this
    parser does not know, no cache or a changed session, a config to read."""
    options: dict[str, str] = {}
    flags = {"--home": "home", "--timezone": "timezone", "-z": "timezone", "--at": "at"}
    as_json = False
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if arg == "--json":
            as_json = True
        elif name in flags and eq:
            options[flags[name]] = value
        elif arg in flags and args:
            options[flags[arg]] = args.pop(0)
        else:
            return False
    try:
        from tokenomy import config as cfg

        conf = cfg.load()
        global _stdin
        _stdin = read_stdin()  # kept for the full command, should this path fall through
        hook = parse_hook(_stdin)
        zone = options.get("timezone") or conf.zone
        now = parse_now(options.get("at"))
        env_home = os.environ.get("TOKENOMY_HOME")
        if "home" in options:
            home = Path(options["home"])
        elif env_home:
            home = Path(env_home)
        elif conf.home is not None:
            home = conf.home
        else:
            from tokenomy.ledger.home import default_home

            home = default_home()
        if conf.prices is not None:
            return False  # the ledger's prices must be checked against the overrides
        ZoneInfo(zone)
        status = cached_status(home, hook, zone, now) or refresh(home, hook, zone, now)
    except Exception:  # the full command runs again and says what went wrong
        return False
    emit(status, now, as_json, conf.budgets)
    return True
