"""softviz.exercises: self-checks for the "Your turn" cells of the notebooks.

A check takes the student's function, runs it on a few named cases, prints one
friendly line (or a short hint) and returns a :class:`CheckResult`::

    def stable_softmax(z):
        return None            # the stub a student sees

    check_stable_softmax(stable_softmax)
    # ... not done yet: stable_softmax returned None (the stub). ...

A check never raises (a notebook must execute top to bottom even with the
stubs in place): a function that returns None is "not done yet", a function
that raises is reported with the exception and the case, and a wrong answer
gets the failing case, expected vs got, and a nudge towards the likely mistake.

One module per lesson topic holds its checks; they are all importable from
here (``from softviz.exercises import check_entropy``). A topic's checks are
imported on first use, so ``import softviz`` stays light.

Used in: every notebook's "Your turn" cell.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .checking import CheckResult

# Public name -> module of this package that defines it, imported on first use.
_LAZY = {
    "check_softmax": "start_here",                       # notebooks/00_start_here.ipynb
    "check_logits_for_probabilities": "start_here",      # notebooks/00_start_here.ipynb
    "check_stablemax": "overflow",                       # notebooks/01_overflow.ipynb
    "check_stable_softmax": "overflow",                  # notebooks/01_overflow.ipynb
    "check_stable_log_softmax": "overflow",              # notebooks/01_overflow.ipynb
    "check_entropy": "temperature",                      # notebooks/02_temperature.ipynb
    "check_smooth_max": "temperature",                   # notebooks/02_temperature.ipynb
    "check_temperature_for_entropy": "temperature",      # notebooks/02_temperature.ipynb
    "check_gumbel_max": "gumbel",                        # notebooks/03_gumbel.ipynb
    "check_relaxed_sample": "gumbel",                    # notebooks/03_gumbel.ipynb
    "check_gumbel_top_k": "gumbel",                      # notebooks/03_gumbel.ipynb
    "check_box_iou": "soft_nms",                         # notebooks/04_soft_nms.ipynb
    "check_gaussian_step": "soft_nms",                   # notebooks/04_soft_nms.ipynb
    "check_log_density": "kde",                          # notebooks/05_kde_regimes_further.ipynb
    "check_participation_ratio": "kde",                  # notebooks/05_kde_regimes.ipynb
    "check_condensation_bandwidth": "kde",               # notebooks/05_kde_regimes.ipynb
    "check_online_merge": "two_pass",                    # notebooks/06_two_pass.ipynb
    "check_extexp_merge": "two_pass",                    # notebooks/06_two_pass.ipynb
    "check_memory_floor": "two_pass",                    # notebooks/06_two_pass.ipynb
    "check_cross_entropy_grad": "training",              # notebooks/07_training.ipynb
    "check_stablemax_cross_entropy": "training",         # notebooks/07_training.ipynb
    "check_collapse_prediction": "training",             # notebooks/07_training.ipynb
    "check_tile_update": "attention",                    # notebooks/08_attention.ipynb
    "check_masked_tile_update": "attention",             # notebooks/08_attention.ipynb
    "check_tile_size": "attention",                      # notebooks/08_attention.ipynb
}

# The same names for type checkers and editors, which cannot see through __getattr__ (``X as X``:
# an explicit re-export); tests/test_lazy_exports.py fails when this block and _LAZY disagree.
if TYPE_CHECKING:
    from .attention import check_masked_tile_update as check_masked_tile_update
    from .attention import check_tile_size as check_tile_size
    from .attention import check_tile_update as check_tile_update
    from .gumbel import check_gumbel_max as check_gumbel_max
    from .gumbel import check_gumbel_top_k as check_gumbel_top_k
    from .gumbel import check_relaxed_sample as check_relaxed_sample
    from .kde import check_condensation_bandwidth as check_condensation_bandwidth
    from .kde import check_log_density as check_log_density
    from .kde import check_participation_ratio as check_participation_ratio
    from .overflow import check_stable_log_softmax as check_stable_log_softmax
    from .overflow import check_stable_softmax as check_stable_softmax
    from .overflow import check_stablemax as check_stablemax
    from .soft_nms import check_box_iou as check_box_iou
    from .soft_nms import check_gaussian_step as check_gaussian_step
    from .start_here import check_logits_for_probabilities as check_logits_for_probabilities
    from .start_here import check_softmax as check_softmax
    from .temperature import check_entropy as check_entropy
    from .temperature import check_smooth_max as check_smooth_max
    from .temperature import check_temperature_for_entropy as check_temperature_for_entropy
    from .training import check_collapse_prediction as check_collapse_prediction
    from .training import check_cross_entropy_grad as check_cross_entropy_grad
    from .training import check_stablemax_cross_entropy as check_stablemax_cross_entropy
    from .two_pass import check_extexp_merge as check_extexp_merge
    from .two_pass import check_memory_floor as check_memory_floor
    from .two_pass import check_online_merge as check_online_merge

__all__ = ["CheckResult", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
