"""softviz.figures: the static figures of the lessons, one module per lesson.

A panel (softviz.panels) is live; a figure here is drawn once, in the house style
(``softviz.panels.style``), for a notebook cell or a slide: ``plot_collapse``
(lesson 01), the Gumbel figures (03), the Soft-NMS drawing helpers (04), the KDE
figures (05), ``plot_runs`` (07) and the attention figures (08). Panels draw on the same helpers
(``ternary_axes``, ``draw_phase_background``, ``score_colormap``), so a figure and
its panel never drift apart.

Every name is importable from here (``from softviz.figures import plot_collapse``)
or from its lesson's module (``from softviz.figures import kde as kde_figures``);
a module is imported on first use (matplotlib is slow to import).

Used in: notebooks/01_overflow.ipynb, 03_gumbel, 04_soft_nms, 05_kde_regimes(_further), 07_training,
08_attention.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# Public name -> module of this package that defines it, imported on first use.
_LAZY = {
    "plot_collapse": "overflow",               # notebooks/01_overflow.ipynb
    "gumbel_noise_figure": "gumbel",           # notebooks/03_gumbel.ipynb
    "tau_sweep_figure": "gumbel",              # notebooks/03_gumbel.ipynb
    "binary_concrete_figure": "gumbel",        # notebooks/03_gumbel.ipynb
    "simplex_uses_figure": "gumbel",           # notebooks/03_gumbel.ipynb
    "ternary_axes": "gumbel",                  # notebooks/03_gumbel.ipynb (and GumbelPanel)
    "draw_scene": "soft_nms",                  # notebooks/04_soft_nms.ipynb
    "draw_decay_curves": "soft_nms",           # notebooks/04_soft_nms.ipynb
    "score_colormap": "soft_nms",              # notebooks/04_soft_nms.ipynb (and SoftNMSPanel)
    "plot_low_dimension": "kde",               # notebooks/05_kde_regimes.ipynb
    "plot_h_sweep": "kde",                     # notebooks/05_kde_regimes.ipynb
    "plot_phase_diagram": "kde",               # notebooks/05_kde_regimes.ipynb
    "plot_kl": "kde",                          # notebooks/05_kde_regimes_further.ipynb
    "draw_phase_background": "kde",            # notebooks/05_kde_regimes.ipynb (and KDEPanel)
    "plot_runs": "training",                   # notebooks/07_training.ipynb
    "plot_precision": "attention",             # notebooks/08_attention.ipynb
    "plot_attention_benchmark": "attention",   # notebooks/08_attention.ipynb
}

# The same names for type checkers and editors, which cannot see through __getattr__ (``X as X``:
# an explicit re-export); tests/test_lazy_exports.py fails when this block and _LAZY disagree.
if TYPE_CHECKING:
    from .attention import plot_attention_benchmark as plot_attention_benchmark
    from .attention import plot_precision as plot_precision
    from .gumbel import binary_concrete_figure as binary_concrete_figure
    from .gumbel import gumbel_noise_figure as gumbel_noise_figure
    from .gumbel import simplex_uses_figure as simplex_uses_figure
    from .gumbel import tau_sweep_figure as tau_sweep_figure
    from .gumbel import ternary_axes as ternary_axes
    from .kde import draw_phase_background as draw_phase_background
    from .kde import plot_h_sweep as plot_h_sweep
    from .kde import plot_kl as plot_kl
    from .kde import plot_low_dimension as plot_low_dimension
    from .kde import plot_phase_diagram as plot_phase_diagram
    from .overflow import plot_collapse as plot_collapse
    from .soft_nms import draw_decay_curves as draw_decay_curves
    from .soft_nms import draw_scene as draw_scene
    from .soft_nms import score_colormap as score_colormap
    from .training import plot_runs as plot_runs

# The lesson modules themselves are public too (``softviz.figures.kde``).
_MODULES = ("overflow", "gumbel", "soft_nms", "kde", "training", "attention")

__all__ = [*_LAZY, *_MODULES]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__, modules=_MODULES)
