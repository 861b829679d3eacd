"""softviz.derive: the sympy derivations shown in the notebooks.

One module per lesson topic; each function returns sympy objects (equations,
expressions, or a short list of steps) that a notebook displays, and its
tests check the algebra, so a derivation on screen is never just typed in.
Names are re-exported here and imported on first use (sympy is slow to import).

Used in: notebooks/01_overflow.ipynb ... notebooks/08_attention.ipynb
"""
from __future__ import annotations

from typing import TYPE_CHECKING

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
    # notebooks/08_attention.ipynb
    "score_variance": "attention",
    "online_rescale": "attention",
}

# The same names for type checkers and editors, which cannot see through __getattr__ (``X as X``:
# an explicit re-export); tests/test_lazy_exports.py fails when this block and _LAZY disagree.
if TYPE_CHECKING:
    from .attention import online_rescale as online_rescale
    from .attention import score_variance as score_variance
    from .gumbel import binary_concrete_derivation as binary_concrete_derivation
    from .gumbel import gumbel_cdf as gumbel_cdf
    from .gumbel import gumbel_max_derivation as gumbel_max_derivation
    from .kde import kde_h_clt as kde_h_clt
    from .kde import kde_h_g as kde_h_g
    from .kde import kde_kl_pieces as kde_kl_pieces
    from .kde import kde_rate_function as kde_rate_function
    from .kde import kde_s_min_equation as kde_s_min_equation
    from .overflow import collapse_gradients as collapse_gradients
    from .overflow import collapse_point as collapse_point
    from .overflow import log_softmax_derivation as log_softmax_derivation
    from .overflow import logsumexp_derivation as logsumexp_derivation
    from .overflow import max_shift_bounds as max_shift_bounds
    from .overflow import shift_invariance as shift_invariance
    from .soft_nms import nms_decay_functions as nms_decay_functions
    from .soft_nms import nms_decay_jumps as nms_decay_jumps
    from .soft_nms import nms_gaussian_half_decay as nms_gaussian_half_decay
    from .soft_nms import nms_gaussian_inflection as nms_gaussian_inflection
    from .soft_nms import nms_gaussian_small_sigma as nms_gaussian_small_sigma
    from .soft_nms import nms_symbols as nms_symbols
    from .temperature import entropy_temperature_derivative as entropy_temperature_derivative
    from .temperature import moe_gate_homogeneity as moe_gate_homogeneity
    from .temperature import probability_temperature_derivative as probability_temperature_derivative
    from .temperature import smooth_max_temperature_derivative as smooth_max_temperature_derivative
    from .training import cross_entropy_gradient as cross_entropy_gradient
    from .training import softmax_jacobian as softmax_jacobian

__all__ = [*_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
