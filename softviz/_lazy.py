"""Lazy re-exports for the packages of softviz (panels, exercises, derive), and for the
topic modules that hand part of their job to a sibling module (temperature, nms).

A package lists ``{public name: submodule}``; the submodule is imported the
first time the name is used, so ``import softviz`` stays light (no
matplotlib, ipywidgets or sympy until a lesson needs them).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str | None, table: Mapping[str, str], namespace: MutableMapping[str, Any],
                 public: Iterable[str], modules: Iterable[str] = (), owner: str | None = None
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for a package that re-exports ``table`` lazily.

    ``package`` is the package the names in ``table`` are imported relative to,
    ``namespace`` the re-exporting module's ``globals()`` (an imported name is cached
    there) and ``public`` its ``__all__``; ``modules`` names submodules that are
    themselves public attributes; ``owner`` is the re-exporting module's name when it is
    not ``package`` itself (for the error message).
    """
    def __getattr__(name: str) -> Any:
        if name in modules:
            value = importlib.import_module(f".{name}", package)
            namespace[name] = value
            return value
        if name in table:
            value = getattr(importlib.import_module(f".{table[name]}", package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {owner or package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
