"""tokenomy: exact LLM token bills from real usage logs, what they are made of, and which lever
cuts them most.

The command line (``tokenomy``) wraps this API; everything it prints can be had from here:

- measure: ``Ledger`` (import logs, ask with ``Filters``), ``bill``, ``blocks``, ``read_paths``
- price: ``Pricer``, ``Rates``, ``Overrides``
- explain: ``tokenomy.anatomy.anatomy`` (an ``Anatomy``); cut: ``tokenomy.whatif.whatif`` (a
  ``WhatIf``), ``make_lever``, ``replay_agreement``, on a ``Trace`` (``from_calls``)
- see: ``collect``, the report model (``Views``) every renderer draws

Every name loads its module on first use, so ``import tokenomy`` (and each command) pays only
for what it uses.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Eager (and cheap): the function ``bill`` must shadow the submodule of the same name.
from tokenomy.bill import GROUPINGS, Bill, bill, blocks

if TYPE_CHECKING:
    from tokenomy.anatomy import Anatomy
    from tokenomy.calls import TOKEN_KINDS, Call
    from tokenomy.ledger import Filters, ImportReport, Ledger, Store, default_home
    from tokenomy.levers import make_lever
    from tokenomy.pricing import Overrides, Pricer, Rates
    from tokenomy.replay import Trace, from_calls
    from tokenomy.report import Views, collect
    from tokenomy.sources import read_paths
    from tokenomy.whatif import WhatIf, replay_agreement

# name -> module, imported on first access (PEP 562): a command pays only for what it uses
_LAZY = {
    "TOKEN_KINDS": "tokenomy.calls",
    "Call": "tokenomy.calls",
    "Filters": "tokenomy.ledger",
    "ImportReport": "tokenomy.ledger",
    "Ledger": "tokenomy.ledger",
    "Store": "tokenomy.ledger",
    "default_home": "tokenomy.ledger",
    "Overrides": "tokenomy.pricing",
    "Pricer": "tokenomy.pricing",
    "Rates": "tokenomy.pricing",
    "read_paths": "tokenomy.sources",
    "Anatomy": "tokenomy.anatomy",
    "WhatIf": "tokenomy.whatif",
    "replay_agreement": "tokenomy.whatif",
    "make_lever": "tokenomy.levers",
    "Trace": "tokenomy.replay",
    "from_calls": "tokenomy.replay",
    "Views": "tokenomy.report",
    "collect": "tokenomy.report",
}

__all__ = [
    "GROUPINGS",
    "TOKEN_KINDS",
    "Anatomy",
    "Bill",
    "Call",
    "Filters",
    "ImportReport",
    "Ledger",
    "Overrides",
    "Pricer",
    "Rates",
    "Store",
    "Trace",
    "Views",
    "WhatIf",
    "bill",
    "blocks",
    "collect",
    "default_home",
    "from_calls",
    "make_lever",
    "read_paths",
    "replay_agreement",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tokenomy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
