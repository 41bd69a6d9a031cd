"""The ledger: every call imported so far, stored once, priced, and asked through typed filters.

- ``store``: the ``Store`` interface and ``Ledger``, the embedded DuckDB backend (the default)
- ``importing``: which files are new, reading them, ``ImportReport``
- ``repricing``: pricing stored calls from ``tokenomy.pricing``'s rates
- ``freshness``: knowing that nothing changed without opening the ledger; the report cache
- ``filters``: ``Filters``, which calls a question covers
"""

from __future__ import annotations

from tokenomy.ledger.filters import Filters
from tokenomy.ledger.importing import ImportReport
from tokenomy.ledger.store import GROUPINGS, Ledger, Store, default_home

__all__ = ["GROUPINGS", "Filters", "ImportReport", "Ledger", "Store", "default_home"]
