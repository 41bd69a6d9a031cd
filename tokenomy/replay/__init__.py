"""The replay engine: traces, each provider's prompt-cache rules, the cache replay (a Python
reference and compiled kernels that give the same arrays) and exact pricing of a replayed split.

It knows no lever: ``tokenomy.levers`` rewrites a trace and chooses rules, then calls in here.

- ``trace``: ``Trace`` (a thread of calls as arrays), ``from_calls``, ``from_messages``
- ``cache``: ``CacheRules``, ``RULES``, ``rules_for``, ``simulate`` (the cache replay)
- ``kernels``: the numba kernels behind ``simulate`` and compaction (imported lazily)
- ``costing``: ``Split`` (how tokens are billed), ``price`` (exact, vectorised)
- ``routes``: ``route_of`` (direct, Bedrock, Vertex, a proxy), ``family``
- ``observed``: provider behaviour measured on the log (live-entry misses, idle survival, the
  answer not cached) replayed as expected values; reads of prefixes cached outside the log
"""

from __future__ import annotations

from tokenomy.replay.cache import RULES, CacheRules, rules_for, simulate
from tokenomy.replay.costing import Priced, Split, price
from tokenomy.replay.trace import Trace, from_calls, from_messages

__all__ = [
    "RULES",
    "CacheRules",
    "Priced",
    "Split",
    "Trace",
    "from_calls",
    "from_messages",
    "price",
    "rules_for",
    "simulate",
]
