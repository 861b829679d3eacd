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
from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .style import PALETTE, lecture_mode

# Public name -> module that defines it, imported on first use.
_LAZY = {
    "Panel": "base",
    "SoftmaxBarsPanel": "softmax_bars",    # notebooks/00_start_here.ipynb
    "OverflowPanel": "overflow",           # notebooks/01_overflow.ipynb
    "TemperaturePanel": "temperature",     # notebooks/02_temperature.ipynb
    "GumbelPanel": "gumbel",               # notebooks/03_gumbel.ipynb
    "SoftNMSPanel": "soft_nms",            # notebooks/04_soft_nms.ipynb
    "KDEPanel": "kde",                     # notebooks/05_kde_regimes.ipynb
    "TwoPassPanel": "two_pass",            # notebooks/06_two_pass.ipynb
    "StepThroughPanel": "two_pass",        # the old name of TwoPassPanel, kept so old code runs
    "TrainingPanel": "training",           # notebooks/07_training.ipynb
    "AttentionPanel": "attention",         # notebooks/08_attention.ipynb
    "AttentionScalePanel": "attention",    # notebooks/08_attention.ipynb
}

# The same names for type checkers and editors, which cannot see through __getattr__ (``X as X``:
# an explicit re-export); tests/test_lazy_exports.py fails when this block and _LAZY disagree.
if TYPE_CHECKING:
    from .attention import AttentionPanel as AttentionPanel
    from .attention import AttentionScalePanel as AttentionScalePanel
    from .base import Panel as Panel
    from .gumbel import GumbelPanel as GumbelPanel
    from .kde import KDEPanel as KDEPanel
    from .overflow import OverflowPanel as OverflowPanel
    from .soft_nms import SoftNMSPanel as SoftNMSPanel
    from .softmax_bars import SoftmaxBarsPanel as SoftmaxBarsPanel
    from .temperature import TemperaturePanel as TemperaturePanel
    from .training import TrainingPanel as TrainingPanel
    from .two_pass import StepThroughPanel as StepThroughPanel
    from .two_pass import TwoPassPanel as TwoPassPanel

__all__ = [*_LAZY, "PALETTE", "lecture_mode", "registry"]

# Modules of this package that hold no panel.
_NOT_PANELS = {"base", "controls", "style"}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)


def registry() -> dict[str, type[Panel]]:
    """Every panel class shipped in softviz.panels, as ``{class name: class}``.

    Imports each module of the package, so a new topic panel needs no list
    to be added to: putting its module here registers it.
    """
    from . import base

    for info in pkgutil.iter_modules(__path__):
        if info.name not in _NOT_PANELS and not info.name.startswith("_"):
            importlib.import_module(f".{info.name}", __name__)
    prefix = __name__ + "."
    return {cls.__name__: cls for key, cls in sorted(base.registered().items())
            if key.startswith(prefix)}
