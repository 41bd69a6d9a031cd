"""tokenomy: exact LLM token bills from real usage logs, what they are made of, and which lever
cuts them most.

The command line (``tokenomy``) wraps this API; everything it prints can be had from here.
"""

from __future__ import annotations

from tokenomy.bill import GROUPINGS, Bill, Filters, bill, blocks
from tokenomy.calls import TOKEN_KINDS, Call, Session
from tokenomy.ledger import ImportReport, Ledger, default_home
from tokenomy.pricing import Overrides, Pricer, Rates
from tokenomy.sources import read_paths

__all__ = [
    "GROUPINGS",
    "TOKEN_KINDS",
    "Bill",
    "Call",
    "Filters",
    "ImportReport",
    "Ledger",
    "Overrides",
    "Pricer",
    "Rates",
    "Session",
    "bill",
    "blocks",
    "default_home",
    "read_paths",
]
