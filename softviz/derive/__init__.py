"""softviz.derive: the sympy derivations shown in the notebooks.

One module per lesson topic; each function returns sympy objects (equations,
expressions, or a short list of steps) that a notebook displays, and its
tests check the algebra, so a derivation on screen is never just typed in.
Names are re-exported here and imported on first use (sympy is slow to import).

Used in: notebooks/01_overflow.ipynb ... notebooks/05_kde_regimes.ipynb
"""
from __future__ import annotations

from .._lazy import lazy_exports

# Public name -> module of this package that defines it, imported on first use.
_LAZY = {
}

__all__ = [*_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
