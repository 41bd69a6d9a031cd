"""The caching lever: replay the trace under one provider's caching rules, or none at all."""

from __future__ import annotations

from dataclasses import dataclass

from tokenomy.levers.registry import Lever, Scenario
from tokenomy.replay.cache import RULES, CacheRules, rules_for

__all__ = ["Caching", "cache", "no_cache"]


@dataclass(frozen=True)
class Caching:
    """Replace every call's caching behaviour with ``RULES[rules]`` ("none": no caching)."""

    rules: str
    slot: str = "caching"

    def __post_init__(self) -> None:
        if self.rules not in RULES:
            raise ValueError(f"unknown caching rules {self.rules!r}; known: {', '.join(RULES)}")

    @property
    def name(self) -> str:
        return "no-cache" if self.rules == "none" else f"cache:{self.rules}"

    def apply(self, s: Scenario) -> Scenario:
        chosen = RULES[self.rules]
        if self.rules == "none":
            return s.evolve(note=chosen.description, rules=chosen)
        family = _family(chosen)

        def rules(provider: str, model: str) -> CacheRules:
            own = rules_for(provider, model)
            return chosen if _family(own) == family else own

        return s.evolve(
            note=f"{chosen.description} (calls to other providers keep their own rules)",
            rules=rules,
        )


def _family(rules: CacheRules) -> str:
    """A rule set's provider: a provider's rules only apply to that provider's models."""
    return rules.name.split("-")[0]


def cache(arg: str, kw: dict[str, str]) -> Lever:
    """``cache:RULES`` (``RULES`` names one of ``tokenomy.replay.cache.RULES``), or
    ``cache:auto[,ttl=own|5m|1h]``: breakpoints where a well-configured client puts them
    (``tokenomy.levers.cache_auto``)."""
    if (arg or kw.get("rules")) == "auto":
        from tokenomy.levers.cache_auto import auto

        return auto(arg, kw)
    return Caching(arg or kw.get("rules", "anthropic"))


def no_cache(arg: str, kw: dict[str, str]) -> Caching:
    """``no-cache``: every call pays full input price."""
    return Caching("none")
