"""Levers: small composable policies replayed call by call on real traces.

One module per lever, named as its spec (``cache``, ``model``, ``route``, ``compact``, ``cap``,
``batch``; ``cache_auto`` behind ``cache:auto``), each found through the ``tokenomy.levers``
entry-point group as a third party's would be (``registry``). ``pipeline.replay`` applies a
list of them, then hands the scenario to the replay engine (``tokenomy.replay``: cache replay
and exact pricing), which knows no lever.

    >>> from tokenomy.levers import make_lever, replay
    >>> outcome = replay(trace, [make_lever("cache:anthropic-1h"), make_lever("cap:4000")])
"""

from __future__ import annotations

from tokenomy.levers.batch import Batch
from tokenomy.levers.cache import Caching
from tokenomy.levers.cache_auto import CacheAuto, Plan, anthropic_plan
from tokenomy.levers.cap import OutputCap
from tokenomy.levers.compact import Compaction
from tokenomy.levers.model import ModelSwap
from tokenomy.levers.pipeline import Outcome, replay
from tokenomy.levers.registry import (
    Lever,
    Scenario,
    UnknownLever,
    lever_names,
    make_lever,
    register,
)
from tokenomy.levers.route import Route

__all__ = [
    "Batch",
    "CacheAuto",
    "Caching",
    "Compaction",
    "Lever",
    "ModelSwap",
    "Outcome",
    "OutputCap",
    "Plan",
    "Route",
    "Scenario",
    "UnknownLever",
    "anthropic_plan",
    "lever_names",
    "make_lever",
    "register",
    "replay",
]
