"""Levers: small composable policies replayed call by call on real traces.

Each lever is one module that registers itself (``registry.register``); ``replay.replay`` runs
a pipeline of them, replays prompt caching under the resulting rules (``caching``) and prices
the result exactly with genai-prices (``cost``).

    >>> from tokenomy.levers import make_lever, replay
    >>> outcome = replay(trace, [make_lever("cache:anthropic-1h"), make_lever("cap:4000")])
"""

from __future__ import annotations

from tokenomy.levers import batch, compaction, model, output_cap, prompt_cache, routing
from tokenomy.levers.batch import Batch
from tokenomy.levers.caching import RULES, CacheRules, rules_for, simulate
from tokenomy.levers.compaction import Compaction
from tokenomy.levers.cost import Split, price
from tokenomy.levers.model import ModelSwap
from tokenomy.levers.output_cap import OutputCap
from tokenomy.levers.prompt_cache import Caching
from tokenomy.levers.registry import (
    Lever,
    Scenario,
    UnknownLever,
    lever_names,
    make_lever,
    register,
)
from tokenomy.levers.replay import Outcome, replay
from tokenomy.levers.routing import Route

__all__ = [
    "RULES",
    "Batch",
    "CacheRules",
    "Caching",
    "Compaction",
    "Lever",
    "ModelSwap",
    "Outcome",
    "OutputCap",
    "Route",
    "Scenario",
    "Split",
    "UnknownLever",
    "lever_names",
    "make_lever",
    "price",
    "register",
    "replay",
    "rules_for",
    "simulate",
]

_ = (batch, compaction, model, output_cap, prompt_cache, routing)  # registered on import
