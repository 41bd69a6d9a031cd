"""The ledger: every call imported so far, stored once, priced, and asked through typed filters.

- ``home``: where the ledger lives
- ``store``: the ``Store`` interface and ``Ledger``, the embedded DuckDB backend (the default);
  ``open_store`` opens either backend
- ``postgres``: ``PostgresLedger``, one shared ledger on a PostgreSQL server (extra ``postgres``)
- ``importing``: which files are new, reading them, ``ImportReport``
- ``repricing``: pricing stored calls from ``tokenomy.pricing``'s rates
- ``freshness``: knowing that nothing changed without opening the ledger; the report cache
- ``filters``: ``Filters``, which calls a question covers
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.ledger.filters import GROUPINGS, Filters
    from tokenomy.ledger.home import default_home
    from tokenomy.ledger.importing import ImportReport
    from tokenomy.ledger.postgres import PostgresLedger
    from tokenomy.ledger.store import Ledger, LedgerBusy, Store, open_store

__all__ = [
    "GROUPINGS", "Filters", "ImportReport", "Ledger", "LedgerBusy", "PostgresLedger", "Store",
    "default_home", "open_store",
]  # fmt: skip

# Loaded on first use: a warm re-run answered from the report cache never loads the store.
_WHERE = {
    "Filters": "filters", "GROUPINGS": "filters", "default_home": "home",
    "ImportReport": "importing", "Ledger": "store", "LedgerBusy": "store", "Store": "store",
    "open_store": "store", "PostgresLedger": "postgres",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(f"tokenomy.ledger.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tokenomy.ledger' has no attribute {name!r}")
