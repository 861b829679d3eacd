"""The regime theory of lesson 05: where a Gaussian KDE in high dimension condenses.

Our own random-energy-model derivation for Gaussian data and a Gaussian kernel with
alpha = log(n) / d fixed (the estimator and the simulation are in softviz.kde, the
derivation step by step in softviz/derive/kde.py), after Biroli & Mezard, "Kernel
Density Estimators in Large Dimensions" (2024, arXiv:2408.05807): s_min, u_min, the
regime boundaries h_G and h_CLT, the stable index, the KL per dimension and its
minimum h_opt, the regime of a (h, alpha) point and of a measurement, and the exact
finite-size nearest-neighbour terms.

Every public name here is re-exported by softviz.kde, the module the lessons use.

Used in: notebooks/05_kde_regimes.ipynb, notebooks/05_kde_regimes_further.ipynb
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V

__all__ = [
    "REGIMES",
    "MAX_N",
    "MAX_ALPHA",
    "s_min",
    "u_min",
    "h_g",
    "h_clt",
    "h_opt",
    "stable_index",
    "kl_per_dim",
    "regime",
    "measured_regime",
    "nearest_neighbour_u",
    "kl_bounds",
]

#: The three regimes, from small h to large h.
REGIMES = ("condensed", "stable", "clt")
#: Largest number of data points the simulation helpers accept (memory: n * n_test doubles).
MAX_N = 60_000

# Measured-regime thresholds (see measured_regime): one point "dominates" when it
# carries more than half of rho_hat; the CLT "holds" when the sample realises at
# least half of the kernel's exact second moment.
_DOMINANT_WEIGHT = 0.5
_SECOND_MOMENT_FRACTION = 0.5

#: Largest alpha = log(n)/d the theory functions take (s_min ~ e^{-2 alpha} stays a normal float).
MAX_ALPHA = 300.0
# Largest array of alphas/bandwidths the theory functions take (one root solve per alpha).
_MAX_THEORY = 100_000


def _log_1p_sq(h: ArrayLike) -> np.ndarray:
    """log(1 + h^2) for arrays or floats h > 0, finite even where h^2 over- or underflows."""
    h = np.asarray(h, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        big = h > 1.0
        inv = np.where(big, 1.0 / h, 0.0)
        return np.where(big, 2.0 * np.log(np.where(big, h, 1.0)) + np.log1p(inv * inv),
                        np.log1p(np.where(big, 0.0, h) ** 2))


# --------------------------------------------------------------------------
# Theory (Gaussian data, Gaussian kernel, alpha = log(n) / d)
# --------------------------------------------------------------------------

def _positive_values(value: ArrayLike, name: str, hi: float | None = None) -> np.ndarray:
    """``value`` (scalar or array) as float64 if every entry is finite, > 0 (and <= hi)."""
    a = V.real_array(name, value, max_size=_MAX_THEORY)
    if not np.all(a > 0):
        raise ValueError(f"{name} must be finite and > 0, got {V.short(value)}")
    if hi is not None and not np.all(a <= hi):
        raise ValueError(f"{name} must be at most {hi:g}, got {V.short(value)}")
    return a


def _alpha(alpha: ArrayLike) -> np.ndarray:
    return _positive_values(alpha, "alpha", MAX_ALPHA)


def _h(h: ArrayLike) -> np.ndarray:
    return _positive_values(h, "h")


def _broadcast(h: ArrayLike, alpha: ArrayLike) -> tuple[np.ndarray, ...]:
    try:
        return np.broadcast_arrays(h, alpha)
    except ValueError:
        raise ValueError(f"h and alpha must broadcast together, got shapes {np.shape(h)} and "
                         f"{np.shape(alpha)}") from None


def _out(values: Any, like: ArrayLike) -> float | np.ndarray:
    return float(values) if np.ndim(like) == 0 else values


def _g(t: float) -> float:
    """e^{2t} - e^t - t, accurate also for tiny |t| (where it is 1.5 t^2 and the direct form cancels)."""
    if abs(t) > 0.1:
        return math.exp(2 * t) - math.exp(t) - t
    # sum over k >= 2 of (2^k - 1) t^k / k!: 25 terms reach full precision for |t| <= 0.1
    total, term = 0.0, t
    for k in range(2, 27):
        term *= t / k
        total += ((1 << k) - 1) * term
    return total


@functools.lru_cache(maxsize=4096)
def _t_min_scalar(alpha: float) -> float:
    """t = ln s_min(alpha) < 0: kept as a log so that 1 - s_min stays accurate for tiny alpha."""
    from scipy.optimize import brentq

    # e^{2t} - e^t - t = 2 alpha is monotone decreasing in t < 0, and for large
    # alpha s ~ e^{-2 alpha} is far below any linear bracket.
    if alpha < 0.01:
        # near t = 0, g(t) = 1.5 t^2 (1 + O(t)): bracket the root around -sqrt(4 alpha / 3),
        # else Brent would bisect from [-2, 0] down to |t| ~ 1e-100 for alpha ~ 1e-200
        t0 = -math.sqrt(4.0 * alpha / 3.0)
        lo, hi = 2.0 * t0, 0.5 * t0
    else:
        lo, hi = -2 * alpha - 2.0, 0.0
    return brentq(lambda t: _g(t) - 2 * alpha, lo, hi, xtol=1e-300, rtol=1e-15, maxiter=500)


def _t_min(alpha: ArrayLike) -> np.ndarray:
    a = _alpha(alpha)
    return np.vectorize(_t_min_scalar, otypes=[float])(a)


def s_min(alpha: ArrayLike) -> float | np.ndarray:
    """The root s in (0, 1) of s^2 - s - ln s = 2 alpha (REM edge of the distance spectrum).

    Scalar or array ``alpha`` in (0, MAX_ALPHA]. Used in: notebooks/05_kde_regimes.ipynb
    """
    return _out(np.exp(_t_min(alpha)), alpha)


def u_min(alpha: ArrayLike) -> float | np.ndarray:
    """u_min = s_min + s_min^2: |x - y_nn|^2 / d of the nearest of e^{alpha d} points (d -> inf).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    s = np.exp(_t_min(alpha))
    return _out(s + s * s, alpha)


def h_g(alpha: ArrayLike) -> float | np.ndarray:
    """Condensation bandwidth h_G = sqrt(s_min / (1 - s_min)) (stable index mu = 1).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    t = _t_min(alpha)
    # 1 - s_min = -expm1(t): exact even when s_min rounds to 1 (alpha -> 0)
    return _out(np.sqrt(np.exp(t) / -np.expm1(t)), alpha)


def h_clt(alpha: ArrayLike) -> float | np.ndarray:
    """CLT bandwidth h_CLT = sqrt(2) h_G (stable index mu = 2).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    return _out(math.sqrt(2.0) * np.asarray(h_g(alpha)), alpha)


def h_opt(alpha: ArrayLike) -> float | np.ndarray:
    """KL-optimal bandwidth h_opt = sqrt(u_min) (< h_G: it lies in the condensed regime).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    return _out(np.sqrt(np.asarray(u_min(alpha))), alpha)


def stable_index(h: ArrayLike, alpha: ArrayLike) -> float | np.ndarray:
    """mu = (h / h_G(alpha))^2: the tail index of the kernel weights near the nearest points.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    hh, a = _broadcast(_h(h), _alpha(alpha))
    with np.errstate(over="ignore", under="ignore"):  # mu = inf or 0 at extreme h: still ordered
        mu = (hh / np.asarray(h_g(a))) ** 2
    return _out(mu, hh)


def _annealed_kl(hh: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        return 0.5 * _log_1p_sq(hh) + 0.5 / (1.0 + hh * hh) - 0.5


def _nearest_kl(hh: np.ndarray, log_n_over_d: float | np.ndarray, u: float | np.ndarray) -> np.ndarray:
    # (1/2) ln h^2 + ln(n)/d + u / (2 h^2) - 1/2, with ln h^2 = 2 ln h and u / h / h:
    # no h^2 formed, so h = 1e-200 gives +inf (the true value overflows), not NaN
    with np.errstate(over="ignore", under="ignore"):
        return np.log(hh) + log_n_over_d + (0.5 * u) / hh / hh - 0.5


def kl_per_dim(h: ArrayLike, alpha: ArrayLike) -> float | np.ndarray:
    """Theory KL(p || rho_hat) / d for d -> infinity, p = N(0, I_d), alpha = log(n) / d.

    (1/2) ln(1 + h^2) + 1/(2 (1 + h^2)) - 1/2 for h >= h_G (the annealed value);
    (1/2) ln h^2 + alpha + u_min / (2 h^2) - 1/2 below h_G (the nearest points rule).
    Continuous at h_G; minimum at h_opt. +inf where the value is beyond the
    largest float (h -> 0). Used in: notebooks/05_kde_regimes.ipynb
    """
    hh, a = _broadcast(_h(h), _alpha(alpha))
    kl = np.where(hh >= np.asarray(h_g(a)), _annealed_kl(hh), _nearest_kl(hh, a, np.asarray(u_min(a))))
    return _out(kl, hh)


def regime(h: ArrayLike, alpha: ArrayLike) -> str | np.ndarray:
    """The theory regime at (h, alpha): "condensed" (mu < 1), "stable" (1 <= mu <= 2), "clt" (mu > 2).

    Scalar inputs give a str, arrays an array of str. Used in: notebooks/05_kde_regimes.ipynb
    """
    mu = np.asarray(stable_index(h, alpha))
    out = np.where(mu < 1.0, REGIMES[0], np.where(mu <= 2.0, REGIMES[1], REGIMES[2]))
    return str(out) if out.ndim == 0 else out


def measured_regime(dominant_weight: float, second_moment_ratio: float) -> str:
    """The regime a simulation shows, from two statistics of the terms of rho_hat.

    * ``dominant_weight``: the median over test points of the largest kernel
      weight (the nearest data point's share of rho_hat); above 1/2 one point
      carries most of the estimate at most test points -> "condensed";
    * ``second_moment_ratio``: the median over test points of
      n sum_i w_i^2 = mean_i(K_i^2) / mean_i(K_i)^2 (K_i = K_h(x - y_i)) divided by
      its exact value E[K^2] / E[K]^2 for infinitely many points. The CLT
      for the sum needs the variance, i.e. the second moment; when the sample
      realises at least half of it -> "clt";
    * otherwise "stable": no single point dominates, but the second moment is
      carried by points closer than any in the sample (heavy tails).

    The thresholds are operational choices for finite n and d (measured
    boundaries near mu = 0.8-0.9 and mu = 2.1 for n of hundreds to tens of
    thousands); the lesson shows them next to h_G and h_CLT.
    Used in: notebooks/05_kde_regimes.ipynb
    """
    dominant_weight = V.real_scalar("dominant_weight", dominant_weight)
    second_moment_ratio = V.real_scalar("second_moment_ratio", second_moment_ratio)
    if dominant_weight > _DOMINANT_WEIGHT:
        return REGIMES[0]
    if second_moment_ratio >= _SECOND_MOMENT_FRACTION:
        return REGIMES[2]
    return REGIMES[1]


#: Largest n and d that ``nearest_neighbour_u`` and ``kl_bounds`` take.
_MAX_NN_N = 2 ** 53
_MAX_NN_D = 100_000


def _n_and_d(n: int, d: int) -> tuple[int, int]:
    n = V.integer("n", n, lo=1, hi=_MAX_NN_N, hi_reason="n must be exact in float64")
    d = V.integer("d", d, lo=1, hi=_MAX_NN_D, hi_reason="the quadrature is tuned for d up to 1e5")
    return n, d


def nearest_neighbour_u(n: int, d: int) -> float:
    """Exact E[|x - y_nn|^2] / d for the nearest of n points y_i ~ N(0, I_d) to x ~ N(0, I_d).

    Given |x|^2 = r, |x - y|^2 is non-central chi-square (d degrees of freedom,
    non-centrality r), so E[min] = integral of P(all n distances > t) dt; the
    outer average over r ~ chi^2_d uses 20-node generalised Gauss-Laguerre quadrature. The d -> inf
    limit is u_min(log(n) / d); at finite d this value sits above it by O(log d / d).
    ``n`` and ``d`` are positive integers (n <= 2**53, d <= 100,000).
    Used in: notebooks/05_kde_regimes.ipynb
    """
    return _nearest_neighbour_u(*_n_and_d(n, d))


@functools.lru_cache(maxsize=256)
def _nearest_neighbour_u(n: int, d: int) -> float:
    from scipy import integrate, special, stats

    # |x|^2 = 2 z with z ~ Gamma(d/2): generalised Gauss-Laguerre nodes average over it
    # exactly for polynomials of degree < 40, and well for the smooth E[min | r].
    z, weights = special.roots_genlaguerre(20, d / 2.0 - 1.0)
    weights = weights / weights.sum()
    total = 0.0
    for r, weight in zip(2.0 * z, weights):
        # Beyond the mean (d + r) plus 12 sd, P(all n distances > t) is below e^-70.
        t = np.linspace(0.0, d + r + 12.0 * math.sqrt(2.0 * (d + 2.0 * r)), 1001)
        cdf = stats.ncx2.cdf(t, d, r)
        with np.errstate(divide="ignore"):  # cdf == 1: log 0 = -inf, exp(-inf) = 0 as wanted
            surv_n = np.exp(float(n) * np.log1p(-cdf))
        total += weight * integrate.trapezoid(surv_n, t)
    return total / d


def kl_bounds(h: ArrayLike, n: int, d: int) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Exact finite-(n, d) bounds on KL(p || rho_hat) / d, as (lower, upper).

    lower: log E[rho_hat] >= E[log rho_hat] (Jensen), i.e. the annealed value
    (1/2) ln(1 + h^2) + 1/(2(1 + h^2)) - 1/2, exact at any d.
    upper: rho_hat(x) >= (1/n) K_h(x - y_nn) (keep only the nearest point), i.e.
    (1/2) ln h^2 + ln(n)/d + E[u_nn] / (2 h^2) - 1/2 with the exact E[u_nn] of
    :func:`nearest_neighbour_u`. Used in: notebooks/05_kde_regimes.ipynb
    """
    hh = _h(h)
    n, d = _n_and_d(n, d)
    lower = _annealed_kl(hh)
    upper = _nearest_kl(hh, math.log(n) / d, _nearest_neighbour_u(n, d))
    return _out(lower, h), _out(upper, h)
