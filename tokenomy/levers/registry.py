"""The lever registry: a lever is a small policy that rewrites a scenario; third parties add
their own with ``register`` or an entry point in the ``tokenomy.levers`` group, which is
how the built-in levers are found too.

A *scenario* is what a replay prices: a trace (possibly rewritten), the caching rules the
replay applies to it, and the assumptions made on the way. Each lever has a *slot* ("model",
"caching", "compaction", "output", "batch", "routing"): a combination holds at most one lever
per slot, since two caching rule sets or two target models cannot both apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Protocol

from tokenomy.replay.cache import CacheRules, rules_for
from tokenomy.replay.trace import Trace

__all__ = [
    "Lever",
    "LeverFactory",
    "Scenario",
    "UnknownLever",
    "lever_names",
    "make_lever",
    "parse_spec",
    "register",
]

RulesChoice = CacheRules | Callable[[str, str], CacheRules]


@dataclass(frozen=True)
class Scenario:
    """A trace, the caching rules to replay it under, and what was assumed to get here."""

    trace: Trace
    rules: RulesChoice = rules_for
    assumptions: tuple[str, ...] = ()
    relative_error: float = 0.0  # of the token counts (a tokenizer conversion), else 0

    def evolve(
        self,
        trace: Trace | None = None,
        note: str = "",
        *,
        rules: RulesChoice | None = None,
        relative_error: float | None = None,
    ) -> Scenario:
        return replace(
            self,
            trace=self.trace if trace is None else trace,
            rules=self.rules if rules is None else rules,
            assumptions=(*self.assumptions, note) if note else self.assumptions,
            relative_error=self.relative_error if relative_error is None else relative_error,
        )


class Lever(Protocol):
    """A policy replayed call by call: it returns a new scenario, never edits one."""

    @property
    def name(self) -> str: ...

    @property
    def slot(self) -> str: ...

    def apply(self, s: Scenario) -> Scenario: ...


# A factory takes the spec's positional argument and its key=value options.
LeverFactory = Callable[[str, dict[str, str]], Lever]
_FACTORIES: dict[str, LeverFactory] = {}
_loaded_plugins = False


class UnknownLever(ValueError):
    pass


def register(name: str, factory: LeverFactory) -> None:
    """Make ``--lever NAME[:ARG][,KEY=VALUE...]`` build a lever with ``factory``."""
    _FACTORIES[name] = factory


def _load_plugins() -> None:
    """Every lever of the ``tokenomy.levers`` entry-point group, the built-in ones included
    (pyproject.toml declares them as a third-party package would)."""
    global _loaded_plugins
    if _loaded_plugins:
        return
    _loaded_plugins = True
    for ep in entry_points(group="tokenomy.levers"):
        if ep.name not in _FACTORIES:  # a lever registered in code wins
            register(ep.name, ep.load())


def lever_names() -> list[str]:
    _load_plugins()
    return sorted(_FACTORIES)


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """``"compaction:100000,keep=3"`` -> ("compaction", "100000", {"keep": "3"})."""
    name, _, rest = spec.partition(":")
    arg = ""
    options: dict[str, str] = {}
    for part in filter(None, rest.split(",")):
        if "=" in part:
            k, _, v = part.partition("=")
            options[k.strip()] = v.strip()
        elif not arg:
            arg = part.strip()
        else:
            raise UnknownLever(f"{spec!r}: only one positional argument is allowed")
    return name.strip(), arg, options


def make_lever(spec: str) -> Lever:
    _load_plugins()
    name, arg, options = parse_spec(spec)
    if name not in _FACTORIES:
        raise UnknownLever(f"unknown lever {name!r}; known: {', '.join(lever_names())}")
    try:
        return _FACTORIES[name](arg, options)
    except (ValueError, KeyError) as exc:
        raise UnknownLever(f"{spec!r}: {exc}") from exc
