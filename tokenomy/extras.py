"""Optional parts of the install, and the one message that names the extra a command needs.

The core (bill, anatomy, count, the what-if of ordinary ledgers) installs light; heavier parts
come as extras: ``fast`` (numba: the compiled replay of large ledgers, which otherwise runs the
same Python reference, slower) and ``chat`` (the ShareGPT conversations of the chat workload).
"""

from __future__ import annotations

import importlib.util

__all__ = ["MissingExtra", "require"]


class MissingExtra(ImportError):
    """A command needs a package that only an extra installs."""


def require(module: str, extra: str, purpose: str) -> None:
    """Raise ``MissingExtra`` naming ``extra`` unless ``module`` can be imported."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(f"{purpose} needs the '{extra}' extra: pip install 'tokenomy[{extra}]'")
