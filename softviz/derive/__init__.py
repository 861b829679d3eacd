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
    # notebooks/01_overflow.ipynb
    "shift_invariance": "overflow",
    "logsumexp_derivation": "overflow",
    "log_softmax_derivation": "overflow",
    "max_shift_bounds": "overflow",
    "collapse_gradients": "overflow",
    "collapse_point": "overflow",
    # notebooks/02_temperature.ipynb
    "entropy_temperature_derivative": "temperature",
    "probability_temperature_derivative": "temperature",
    "smooth_max_temperature_derivative": "temperature",
    "moe_gate_homogeneity": "temperature",
    # notebooks/03_gumbel.ipynb
    "gumbel_cdf": "gumbel",
    "gumbel_max_derivation": "gumbel",
    "binary_concrete_derivation": "gumbel",
    # notebooks/04_soft_nms.ipynb
    "nms_symbols": "soft_nms",
    "nms_decay_functions": "soft_nms",
    "nms_decay_jumps": "soft_nms",
    "nms_gaussian_half_decay": "soft_nms",
    "nms_gaussian_inflection": "soft_nms",
    "nms_gaussian_small_sigma": "soft_nms",
    # notebooks/05_kde_regimes.ipynb
    "kde_rate_function": "kde",
    "kde_s_min_equation": "kde",
    "kde_h_g": "kde",
    "kde_h_clt": "kde",
    "kde_kl_pieces": "kde",
    # notebooks/07_training.ipynb
    "softmax_jacobian": "training",
    "cross_entropy_gradient": "training",
}

__all__ = [*_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
