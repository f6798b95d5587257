"""Which registered codecs this installation can use: their optional libraries import.

A codec class names the library it needs in its ``requires`` class attribute
(``(module, what to install)``); codecs without one need only zarrkit's own dependencies.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from zarrkit.codecs.registry import codecs


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecAvailability:
    """One registered codec: its v3 name, whether it works here, and what it needs."""

    name: str
    usable: bool
    module: str | None = None
    install: str | None = None


def available() -> list[CodecAvailability]:
    """Every registered codec name (built-in, registered, entry points), sorted, with
    whether its library imports here and, if one is needed, which package provides it.

    Examples
    --------
    >>> [c for c in available() if c.name == "zstd"]
    [CodecAvailability(name='zstd', usable=True, module=None, install=None)]
    """
    result = []
    for name in codecs.names():
        module, install = getattr(codecs.get(name), "requires", None) or (None, None)
        usable = module is None or _imports(module)
        result.append(CodecAvailability(name=name, usable=usable, module=module, install=install))
    return result


def _imports(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:  # a broken install (an ImportError, or any error at import) is unusable
        return False
    return True
