"""softviz.panels: one interactive panel per notebook topic, on one small base class.

``Panel`` (softviz/panels/base.py) is the base; ``style`` holds the shared look
and ``lecture_mode``; each topic panel lives in its own module here and is
registered automatically (``registry()``), which is how ``python -m
softviz.bench --panels`` and the panel tests find every panel.

Importing this package is cheap: ipywidgets and matplotlib are imported the
first time a panel class is used, so ``import softviz`` stays fast and works
headless.

Used in: every notebook.
"""
from __future__ import annotations

import importlib
import pkgutil

from .style import PALETTE, lecture_mode

__all__ = ["Panel", "SoftmaxBarsPanel", "PALETTE", "lecture_mode", "registry"]

# Public name -> module that defines it, imported on first use.
_LAZY = {"Panel": "base", "SoftmaxBarsPanel": "softmax_bars"}
# Modules of this package that hold no panel.
_NOT_PANELS = {"base", "controls", "style"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def registry():
    """Every panel class shipped in softviz.panels, as ``{class name: class}``.

    Imports each module of the package, so a new topic panel needs no list
    to be added to: putting its module here registers it.
    """
    from . import base

    for info in pkgutil.iter_modules(__path__):
        if info.name not in _NOT_PANELS and not info.name.startswith("_"):
            importlib.import_module(f".{info.name}", __name__)
    prefix = __name__ + "."
    return {cls.__name__: cls for key, cls in sorted(base._REGISTRY.items())
            if key.startswith(prefix)}
