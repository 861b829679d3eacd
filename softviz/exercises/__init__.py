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

from .._lazy import lazy_exports
from ._check import CheckResult

# Public name -> module of this package that defines it, imported on first use.
_LAZY = {
    "check_softmax": "softmax",                          # notebooks/00_start_here.ipynb
    "check_logits_for_probabilities": "softmax",         # notebooks/00_start_here.ipynb
    "check_stablemax": "softmax",                        # notebooks/01_overflow.ipynb
    "check_stable_softmax": "softmax",                   # notebooks/01_overflow.ipynb
    "check_stable_log_softmax": "softmax",               # notebooks/01_overflow.ipynb
    "check_entropy": "temperature",                      # notebooks/02_temperature.ipynb
    "check_smooth_max": "temperature",                   # notebooks/02_temperature.ipynb
    "check_temperature_for_entropy": "temperature",      # notebooks/02_temperature.ipynb
    "check_gumbel_max": "gumbel",                        # notebooks/03_gumbel.ipynb
    "check_relaxed_sample": "gumbel",                    # notebooks/03_gumbel.ipynb
    "check_gumbel_top_k": "gumbel",                      # notebooks/03_gumbel.ipynb
    "check_box_iou": "nms",                              # notebooks/04_soft_nms.ipynb
    "check_gaussian_step": "nms",                        # notebooks/04_soft_nms.ipynb
    "check_log_density": "kde",                          # notebooks/05_kde_regimes_further.ipynb
    "check_participation_ratio": "kde",                  # notebooks/05_kde_regimes.ipynb
    "check_condensation_bandwidth": "kde",               # notebooks/05_kde_regimes.ipynb
    "check_online_merge": "kernels",                     # notebooks/06_two_pass.ipynb
    "check_extexp_merge": "kernels",                     # notebooks/06_two_pass.ipynb
    "check_memory_floor": "kernels",                     # notebooks/06_two_pass.ipynb
    "check_cross_entropy_grad": "training",              # notebooks/07_training.ipynb
    "check_stablemax_cross_entropy": "training",         # notebooks/07_training.ipynb
    "check_collapse_prediction": "training",             # notebooks/07_training.ipynb
}

__all__ = ["CheckResult", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
