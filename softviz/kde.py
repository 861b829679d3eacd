"""High-dimensional Gaussian kernel density estimation as a softmax over data points.

A Gaussian KDE with bandwidth h built on data y_1 .. y_n in d dimensions is

    rho_hat(x) = (1 / (n h^d)) sum_i K((x - y_i) / h),   K the standard Gaussian density,

so log rho_hat(x) = logsumexp_i(-|x - y_i|^2 / (2 h^2)) - log n - (d/2) log(2 pi h^2),
and the share of each data point in the estimate is a softmax,
w_i(x) = softmax_i(-|x - y_i|^2 / (2 h^2)). In high dimension the exponents are of
order d: computed naively every term underflows to 0 (log 0 = -inf), and for small
h the softmax becomes an argmax -- one nearest data point carries the estimate.

Biroli & Mezard ("Kernel Density Estimators in Large Dimensions", G. Biroli and
M. Mezard, 2024, arXiv:2408.05807) show that with alpha = log(n) / d fixed there
are three regimes in h: a classical (CLT) one for large h, a heavy-tailed
(alpha-stable) one below h_CLT(alpha), and a condensed (extreme-value) one below
h_G(alpha), where the KL-optimal bandwidth lies. The closed forms here are our
own random-energy-model derivation for Gaussian data y_i, x ~ N(0, I_d) and a
Gaussian kernel (derived step by step in softviz/derive/kde.py, checked by
simulation in the lesson), not formulas quoted from the paper:

* u_i = |x - y_i|^2 / d has the large-deviation rate I(u) = (s^2 - s - ln s) / 2
  with u = s + s^2 (typical u = 2 at s = 1);
* s_min(alpha) in (0, 1) solves s^2 - s - ln s = 2 alpha; u_min = s_min + s_min^2
  is where the nearest of n = e^{alpha d} points sits;
* h_G = sqrt(s_min / (1 - s_min)), h_CLT = sqrt(2) h_G, stable index
  mu = (h / h_G)^2: mu > 2 CLT, 1 < mu < 2 stable, mu < 1 condensed;
* KL per dimension: (1/2) ln(1 + h^2) + 1 / (2 (1 + h^2)) - 1/2 for h >= h_G,
  (1/2) ln h^2 + alpha + u_min / (2 h^2) - 1/2 below; minimum at h_opt = sqrt(u_min).

The simulation side (``simulate`` -> :class:`KDESimulation`) samples data and test
points, keeps the squared distances once, and gives for any h the log-densities,
kernel weights, participation ratios, the measured regime and the KL.

Used in: notebooks/05_kde_regimes.ipynb
"""
from __future__ import annotations

import functools
import math

import numpy as np

from . import _validate as V
from .core import logsumexp, softmax

__all__ = [
    "REGIMES",
    "MAX_N",
    "log_density",
    "kernel_weights",
    "participation_ratio",
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
    "sample_gaussian",
    "simulate",
    "cached_simulation",
    "phase_points",
    "KDESimulation",
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
# Elements of one (points x data) block: bounds memory of log_density to ~ 32 MB.
_CHUNK = 4_000_000


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------

def _real_array(name, a, **kw):
    return V.real_array(name, a, **kw)


def _positive(name, value):
    return V.positive_real(name, value)


#: Largest alpha = log(n)/d the theory functions take (s_min ~ e^{-2 alpha} stays a normal float).
MAX_ALPHA = 300.0
# Largest array of alphas/bandwidths the theory functions take (one root solve per alpha).
_MAX_THEORY = 100_000


def _scaled_sq(sq, h, k=0):
    """-(|x - y|^2 4^k) / (2 h^2) without forming h^2 (1e-200 squared is 0, 1e200 squared inf).

    ``sq`` holds squared distances in units of 2^k (k > 0 only for coordinates
    beyond 1e150, see ``_sq_distances``).
    """
    if k == 0 and 1e-150 < h < 1e150:
        return sq * (-0.5 / (h * h))  # the usual case: one multiplication, as before
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(np.ldexp((sq * -0.5) / h, k) / h, k)


def _kernel_logits(sq, h, k=0):
    """(logits, offset): -|x - y|^2 / (2 h^2) per row, and what was taken off each row.

    For tiny h every logit of a row can overflow to -inf (then softmax would be
    0/0); such rows are computed relative to their nearest point, which is exact
    for the weights, and the offset -min|x - y|^2 / (2 h^2) (possibly -inf, the
    true value past the float range) goes back into the log-density.
    """
    logits = _scaled_sq(sq, h, k)
    offset = np.zeros(sq.shape[:-1])
    lost = np.isneginf(logits).all(axis=-1)
    if lost.any():
        near = sq[lost].min(axis=-1, keepdims=True)
        logits[lost] = _scaled_sq(sq[lost] - near, h, k)
        offset[lost] = _scaled_sq(near[..., 0], h, k)
    return logits, offset


def _log_1p_sq(h):
    """log(1 + h^2) for arrays or floats h > 0, finite even where h^2 over- or underflows."""
    h = np.asarray(h, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        big = h > 1.0
        inv = np.where(big, 1.0 / h, 0.0)
        return np.where(big, 2.0 * np.log(np.where(big, h, 1.0)) + np.log1p(inv * inv),
                        np.log1p(np.where(big, 0.0, h) ** 2))


def _points_and_data(x, data):
    """(points (m, d), data (n, d), x was a single point)."""
    data = _real_array("data", data)
    x = _real_array("x", x)
    if data.ndim == 1:  # n scalars: one-dimensional data
        data = data[:, None]
        single = x.ndim == 0
        x = x.reshape(-1, 1)
    elif data.ndim == 2:
        d = data.shape[1]
        if x.ndim == 1 and x.shape[0] == d:
            single, x = True, x[None, :]
        elif x.ndim == 2 and x.shape[1] == d:
            single = False
        else:
            raise ValueError(f"x must have shape ({d},) or (m, {d}) to match data of shape "
                             f"{data.shape}, got shape {x.shape}")
    else:
        raise ValueError(f"data must have shape (n, d) (or (n,) for d = 1), got shape {data.shape}")
    if data.shape[0] == 0:
        raise ValueError("data is empty: a density estimate needs at least one data point")
    if data.shape[1] == 0:
        raise ValueError("data has dimension d = 0")
    return x, data, single


def _sq_distances(x, data):
    """(sq, k): |x_a - y_i|^2 = sq * 4^k for x (m, d), data (n, d), sq of shape (m, n).

    The expansion |x|^2 + |y|^2 - 2 x.y runs on BLAS; its rounding can make an
    exact zero slightly negative, hence the clip. Coordinates beyond 1e150
    would overflow |x|^2 (and inf - inf is NaN): they are first scaled by 2^-k,
    exactly, and k is returned (0 otherwise).
    """
    big = max(float(np.max(np.abs(x), initial=0.0)), float(np.max(np.abs(data), initial=0.0)))
    k = math.frexp(big)[1] if big > 1e150 else 0
    if k:
        x, data = np.ldexp(x, -k), np.ldexp(data, -k)
    sq = (x * x).sum(1)[:, None] + (data * data).sum(1)[None, :] - 2.0 * (x @ data.T)
    return np.maximum(sq, 0.0, out=sq), k


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------

def log_density(x, data, h):
    """log rho_hat(x) = log[(1 / (n h^d)) sum_i K((x - y_i) / h)], K the standard Gaussian.

    ``x``: one point (d,) or m points (m, d); ``data``: (n, d) (or (n,) for d = 1,
    then ``x`` may be a scalar or any array of scalars). Natural log. Returns a
    float for one point, an (m,) array otherwise. Computed as
    ``logsumexp(-|x - y_i|^2 / (2 h^2)) - log n - (d/2) log(2 pi h^2)`` with
    ``softviz.logsumexp``, in blocks of points so memory stays bounded for any m.
    Finite even where every kernel value underflows (high d, small h).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    h = _positive("h", h)
    pts, data, single = _points_and_data(x, data)
    n, d = data.shape
    if pts.shape[0] * n > 50 * V.MAX_ELEMENTS:
        raise ValueError(f"x ({pts.shape[0]} points) x data ({n} points) is too much work; keep "
                         f"the product below {50 * V.MAX_ELEMENTS}")
    # log(2 pi h^2) as a sum of logs: h^2 would under- or overflow for h = 1e-200 or 1e200
    const = -math.log(n) - 0.5 * d * (math.log(2.0 * math.pi) + 2.0 * math.log(h))
    out = np.empty(pts.shape[0])
    step = max(1, _CHUNK // n)
    for start in range(0, pts.shape[0], step):
        sq, k = _sq_distances(pts[start:start + step], data)
        logits, offset = _kernel_logits(sq, h, k)
        out[start:start + step] = logsumexp(logits, axis=1) + offset + const
    return float(out[0]) if single else out


def kernel_weights(x, data, h):
    """The share of each data point in rho_hat(x): softmax_i(-|x - y_i|^2 / (2 h^2)).

    ``x`` (d,) gives (n,) weights summing to 1; ``x`` (m, d) gives (m, n).
    Computed with ``softviz.softmax``, so no underflow to 0/0 in high dimension.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    h = _positive("h", h)
    pts, data, single = _points_and_data(x, data)
    if pts.shape[0] * data.shape[0] > V.MAX_ELEMENTS:
        raise ValueError(f"x ({pts.shape[0]} points) x data ({data.shape[0]} points) weights exceed "
                         f"the limit {V.MAX_ELEMENTS}")
    sq, k = _sq_distances(pts, data)
    w = softmax(_kernel_logits(sq, h, k)[0], axis=1)
    return w[0] if single else w


def participation_ratio(weights):
    """Effective number of contributing points, (sum w)^2 / sum w^2 (= 1 / sum w^2 if normalised).

    Between 1 (one point carries everything) and n (all equal). Works along the
    last axis; weights must be non-negative, finite, not all zero.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    w = _real_array("weights", weights)
    if w.ndim == 0 or w.shape[-1] == 0:
        raise ValueError("weights must be a non-empty array (the kernel weights of the data points)")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    total = w.sum(-1)
    if (total == 0).any():
        raise ValueError("weights must not be all zero")
    # Scale first: squares of tiny weights would underflow.
    w = w / np.max(w, axis=-1, keepdims=True)
    pr = w.sum(-1) ** 2 / (w * w).sum(-1)
    return float(pr) if pr.ndim == 0 else pr


# --------------------------------------------------------------------------
# Theory (Gaussian data, Gaussian kernel, alpha = log(n) / d)
# --------------------------------------------------------------------------

def _positive_values(value, name, hi=None):
    """``value`` (scalar or array) as float64 if every entry is finite, > 0 (and <= hi)."""
    a = V.real_array(name, value, max_size=_MAX_THEORY)
    if not np.all(a > 0):
        raise ValueError(f"{name} must be finite and > 0, got {V.short(value)}")
    if hi is not None and not np.all(a <= hi):
        raise ValueError(f"{name} must be at most {hi:g}, got {V.short(value)}")
    return a


def _alpha(alpha):
    return _positive_values(alpha, "alpha", MAX_ALPHA)


def _h(h):
    return _positive_values(h, "h")


def _broadcast(h, alpha):
    try:
        return np.broadcast_arrays(h, alpha)
    except ValueError:
        raise ValueError(f"h and alpha must broadcast together, got shapes {np.shape(h)} and "
                         f"{np.shape(alpha)}") from None


def _out(values, like):
    return float(values) if np.ndim(like) == 0 else values


def _g(t):
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
def _t_min_scalar(alpha):
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


def _t_min(alpha):
    a = _alpha(alpha)
    return np.vectorize(_t_min_scalar, otypes=[float])(a)


def s_min(alpha):
    """The root s in (0, 1) of s^2 - s - ln s = 2 alpha (REM edge of the distance spectrum).

    Scalar or array ``alpha`` in (0, MAX_ALPHA]. Used in: notebooks/05_kde_regimes.ipynb
    """
    return _out(np.exp(_t_min(alpha)), alpha)


def u_min(alpha):
    """u_min = s_min + s_min^2: |x - y_nn|^2 / d of the nearest of e^{alpha d} points (d -> inf).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    s = np.exp(_t_min(alpha))
    return _out(s + s * s, alpha)


def h_g(alpha):
    """Condensation bandwidth h_G = sqrt(s_min / (1 - s_min)) (stable index mu = 1).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    t = _t_min(alpha)
    # 1 - s_min = -expm1(t): exact even when s_min rounds to 1 (alpha -> 0)
    return _out(np.sqrt(np.exp(t) / -np.expm1(t)), alpha)


def h_clt(alpha):
    """CLT bandwidth h_CLT = sqrt(2) h_G (stable index mu = 2).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    return _out(math.sqrt(2.0) * np.asarray(h_g(alpha)), alpha)


def h_opt(alpha):
    """KL-optimal bandwidth h_opt = sqrt(u_min) (< h_G: it lies in the condensed regime).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    return _out(np.sqrt(np.asarray(u_min(alpha))), alpha)


def stable_index(h, alpha):
    """mu = (h / h_G(alpha))^2: the tail index of the kernel weights near the nearest points.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    hh, a = _broadcast(_h(h), _alpha(alpha))
    with np.errstate(over="ignore", under="ignore"):  # mu = inf or 0 at extreme h: still ordered
        mu = (hh / np.asarray(h_g(a))) ** 2
    return _out(mu, hh)


def _annealed_kl(hh):
    with np.errstate(over="ignore", under="ignore"):
        return 0.5 * _log_1p_sq(hh) + 0.5 / (1.0 + hh * hh) - 0.5


def _nearest_kl(hh, log_n_over_d, u):
    # (1/2) ln h^2 + ln(n)/d + u / (2 h^2) - 1/2, with ln h^2 = 2 ln h and u / h / h:
    # no h^2 formed, so h = 1e-200 gives +inf (the true value overflows), not NaN
    with np.errstate(over="ignore", under="ignore"):
        return np.log(hh) + log_n_over_d + (0.5 * u) / hh / hh - 0.5


def kl_per_dim(h, alpha):
    """Theory KL(p || rho_hat) / d for d -> infinity, p = N(0, I_d), alpha = log(n) / d.

    (1/2) ln(1 + h^2) + 1/(2 (1 + h^2)) - 1/2 for h >= h_G (the annealed value);
    (1/2) ln h^2 + alpha + u_min / (2 h^2) - 1/2 below h_G (the nearest points rule).
    Continuous at h_G; minimum at h_opt. +inf where the value is beyond the
    largest float (h -> 0). Used in: notebooks/05_kde_regimes.ipynb
    """
    hh, a = _broadcast(_h(h), _alpha(alpha))
    kl = np.where(hh >= np.asarray(h_g(a)), _annealed_kl(hh), _nearest_kl(hh, a, np.asarray(u_min(a))))
    return _out(kl, hh)


def regime(h, alpha):
    """The theory regime at (h, alpha): "condensed" (mu < 1), "stable" (1 <= mu <= 2), "clt" (mu > 2).

    Scalar inputs give a str, arrays an array of str. Used in: notebooks/05_kde_regimes.ipynb
    """
    mu = np.asarray(stable_index(h, alpha))
    out = np.where(mu < 1.0, REGIMES[0], np.where(mu <= 2.0, REGIMES[1], REGIMES[2]))
    return str(out) if out.ndim == 0 else out


def measured_regime(dominant_weight, second_moment_ratio):
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


def _n_and_d(n, d):
    n = V.integer("n", n, lo=1, hi=_MAX_NN_N, hi_reason="n must be exact in float64")
    d = V.integer("d", d, lo=1, hi=_MAX_NN_D, hi_reason="the quadrature is tuned for d up to 1e5")
    return n, d


def nearest_neighbour_u(n, d):
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
def _nearest_neighbour_u(n, d):
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


def kl_bounds(h, n, d):
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


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------

def sample_gaussian(n, d, rng=None):
    """n points of N(0, I_d) as an (n, d) array, reproducible with ``rng`` (Generator or seed).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    n = V.integer("n", n, lo=1)
    d = V.integer("d", d, lo=1)
    gen = V.rng(rng)
    V.shape("n x d", (n, d))
    return gen.standard_normal((n, d))


class KDESimulation:
    """Data y_i ~ N(0, I_d) (n = round(e^{alpha d}) points) and test points x ~ N(0, I_d).

    The squared distances are computed once; every method takes the bandwidth h
    and is cheap (one logsumexp over n_test x n numbers), and ``statistics(h)`` is
    cached, so a panel slider or an h sweep reuses them. Build with :func:`simulate`.

    Used in: notebooks/05_kde_regimes.ipynb
    """

    def __init__(self, data, test, alpha=None):
        self.data = _real_array("data", data, ndim=2)
        self.test = _real_array("test", test, ndim=2)
        if self.data.shape[1] != self.test.shape[1] or self.data.shape[1] == 0:
            raise ValueError(f"data (n, d) and test (m, d) must have the same d >= 1, got shapes "
                             f"{self.data.shape} and {self.test.shape}")
        if self.data.shape[0] < 2 or self.test.shape[0] < 1:
            raise ValueError(f"data needs at least 2 points and test at least 1, got shapes "
                             f"{self.data.shape} and {self.test.shape}")
        if self.data.shape[0] * self.test.shape[0] > V.MAX_ELEMENTS:
            raise ValueError(f"data x test = {self.data.shape[0]} x {self.test.shape[0]} distances; "
                             f"the limit is {V.MAX_ELEMENTS}")
        self.n, self.d = self.data.shape
        self.n_test = self.test.shape[0]
        self.alpha = (math.log(self.n) / self.d if alpha is None
                      else float(_alpha(V.positive_real("alpha", alpha))))
        # squared distances (m, n), in units of 4^k (k > 0 only for coordinates past 1e150)
        self._sq, self._k = _sq_distances(self.test, self.data)
        with np.errstate(over="ignore"):
            self.sq = np.ldexp(self._sq, 2 * self._k) if self._k else self._sq
        self.test_sq_norm = (self.test * self.test).sum(1)     # |x|^2
        self._stats = {}

    def __repr__(self):
        return (f"KDESimulation(n={self.n}, d={self.d}, alpha={self.alpha:.4g}, "
                f"n_test={self.n_test})")

    def log_density(self, h):
        """log rho_hat at every test point, (n_test,)."""
        h = _positive("h", h)
        const = -math.log(self.n) - 0.5 * self.d * (math.log(2.0 * math.pi) + 2.0 * math.log(h))
        logits, offset = _kernel_logits(self._sq, h, self._k)
        return logsumexp(logits, axis=1) + offset + const

    def log_true_density(self):
        """log p(x) of N(0, I_d) at every test point."""
        return -0.5 * self.d * math.log(2.0 * math.pi) - 0.5 * self.test_sq_norm

    def log_mean_density(self, h):
        """log E_data[rho_hat(x)] = log N(x; 0, (1 + h^2) I_d), exact (the annealed value)."""
        h = _positive("h", h)
        log_v = float(_log_1p_sq(h))  # v = 1 + h^2, whose square may overflow
        with np.errstate(under="ignore"):
            return (-0.5 * self.d * (math.log(2.0 * math.pi) + log_v)
                    - 0.5 * self.test_sq_norm * math.exp(-log_v))

    def log_second_moment_ratio(self, h):
        """log(E[K_h(x - y)^2] / E[K_h(x - y)]^2) at every test point, exact.

        E[K_h(x - y)^2] = (4 pi h^2)^{-d/2} N(x; 0, (1 + h^2/2) I_d) (a Gaussian
        integral); the relative variance of rho_hat(x) is (this ratio - 1) / n.
        """
        h = _positive("h", h)
        log_v2 = float(_log_1p_sq(h / math.sqrt(2.0)))  # v2 = 1 + h^2 / 2
        with np.errstate(under="ignore"):
            log_m2 = (-0.5 * self.d * (math.log(4.0 * math.pi) + 2.0 * math.log(h))
                      - 0.5 * self.d * (math.log(2.0 * math.pi) + log_v2)
                      - 0.5 * self.test_sq_norm * math.exp(-log_v2))
        return log_m2 - 2.0 * self.log_mean_density(h)

    def weights(self, h, i=0):
        """Kernel weights (softmax over the n data points) of test point ``i``, (n,)."""
        h = _positive("h", h)
        i = V.integer("i", i, lo=0, hi=self.n_test - 1)
        return softmax(_kernel_logits(self._sq[i:i + 1], h, self._k)[0][0])

    def kl_per_dim(self, h):
        """Simulated KL(p || rho_hat) / d: the mean over test points of (log p - log rho_hat) / d."""
        return float(np.mean(self.log_true_density() - self.log_density(h)) / self.d)

    def statistics(self, h):
        """Everything the lesson shows at bandwidth h, as a dict of plain numbers (cached).

        Keys: h, mu (theory stable index), regime_theory, regime (measured, see
        :func:`measured_regime`), log_rho_mean, log_rho_std, log_ratio_mean,
        log_ratio_std (of log rho_hat - log E[rho_hat]), dominant_weight (median
        largest weight), second_moment_ratio (median of n sum w^2 over its exact
        expectation), inverse_pr_mean (mean of sum w^2; the REM gives
        E[sum w^2] = 1 - mu for mu < 1 as d -> inf), participation_median,
        kl_per_dim, kl_theory.
        """
        h = _positive("h", h)
        if h in self._stats:
            return dict(self._stats[h])
        w = softmax(_kernel_logits(self._sq, h, self._k)[0], axis=1)
        wmax = w.max(axis=1)
        y2 = (w * w).sum(axis=1)
        log_rho = self.log_density(h)
        log_ratio = log_rho - self.log_mean_density(h)
        # n sum w^2 = (mean K^2) / (mean K)^2 of the sample, over its exact expectation
        with np.errstate(under="ignore"):
            ratio = float(np.median(np.exp(np.log(self.n * y2) - self.log_second_moment_ratio(h))))
        dominant = float(np.median(wmax))
        stats = {
            "h": h,
            "mu": float(stable_index(h, self.alpha)),
            "regime_theory": regime(h, self.alpha),
            "regime": measured_regime(dominant, ratio),
            "log_rho_mean": float(np.mean(log_rho)),
            "log_rho_std": float(np.std(log_rho)),
            "log_ratio_mean": float(np.mean(log_ratio)),
            "log_ratio_std": float(np.std(log_ratio)),
            "dominant_weight": dominant,
            "second_moment_ratio": ratio,
            "inverse_pr_mean": float(np.mean(y2)),
            "participation_median": float(np.median(1.0 / y2)),
            "kl_per_dim": float(np.mean(self.log_true_density() - log_rho) / self.d),
            "kl_theory": float(kl_per_dim(h, self.alpha)),
        }
        if len(self._stats) > 512:  # a long slider session must not grow without bound
            self._stats.clear()
        self._stats[h] = stats
        return dict(stats)

    def log_ratio(self, h):
        """log rho_hat(x) - log E[rho_hat(x)] at every test point: the data's own fluctuation."""
        return self.log_density(h) - self.log_mean_density(h)

    def sweep(self, hs):
        """``statistics`` for every h in ``hs``, as a dict of arrays (str arrays for regimes)."""
        hs = V.real_array("hs", hs, ndim=(0, 1), max_size=10_000).reshape(-1)
        if hs.size == 0 or not (hs > 0).all():
            raise ValueError("hs must hold at least one bandwidth, each finite and > 0")
        rows = [self.statistics(float(h)) for h in hs]
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def _n_points(alpha, d):
    if alpha * d > math.log(MAX_N) + 1:  # e^(alpha d) would be far beyond MAX_N (or overflow)
        raise ValueError(f"alpha * d = {alpha * d:.3g} asks for n = e^(alpha d) data points; the "
                         f"simulation takes at most MAX_N = {MAX_N} (lower d to at most "
                         f"{int(math.log(MAX_N) / alpha)} or lower alpha)")
    n = int(round(math.exp(alpha * d)))
    if n > MAX_N:
        raise ValueError(f"alpha * d = {alpha * d:.3g} asks for n = e^(alpha d) ~ {n:.3g} data "
                         f"points; the simulation takes at most MAX_N = {MAX_N} "
                         f"(lower d to at most {int(math.log(MAX_N) / alpha)} or lower alpha)")
    return max(n, 2)


def simulate(alpha, d, *, n_test=200, rng=None):
    """A :class:`KDESimulation` with n = round(e^{alpha d}) Gaussian data points and
    ``n_test`` Gaussian test points in d dimensions, reproducible with ``rng``.

    Raises ValueError when n would exceed ``MAX_N``. Used in: notebooks/05_kde_regimes.ipynb
    """
    alpha = float(_alpha(V.positive_real("alpha", alpha)))
    d = V.integer("d", d, lo=1, hi=100_000, hi_reason="bounds memory")
    n_test = V.integer("n_test", n_test, lo=2, hi=100_000, hi_reason="bounds memory")
    gen = V.rng(rng)
    n = _n_points(alpha, d)
    if (n + n_test) * d > V.MAX_ELEMENTS or n * n_test > V.MAX_ELEMENTS:
        raise ValueError(f"n = {n} data and n_test = {n_test} test points in d = {d} dimensions "
                         f"exceed the limit of {V.MAX_ELEMENTS} numbers")
    data = gen.standard_normal((n, d))
    test = gen.standard_normal((n_test, d))
    return KDESimulation(data, test, alpha=math.log(n) / d)


def cached_simulation(alpha, d, n_test=200, seed=0):
    """:func:`simulate` with an integer seed, memoised (the panel moves alpha and d back and forth).

    Used by KDEPanel (notebooks/05_kde_regimes.ipynb).
    """
    alpha = float(_alpha(V.positive_real("alpha", alpha)))
    d = V.integer("d", d, lo=1)
    n_test = V.integer("n_test", n_test, lo=2)
    seed = V.integer("seed", seed, lo=0)
    return _cached_simulation(alpha, d, n_test, seed)


@functools.lru_cache(maxsize=6)
def _cached_simulation(alpha, d, n_test, seed):
    return simulate(alpha, d, n_test=n_test, rng=seed)


def phase_points(alphas, mus, d, *, n_test=150, rng=None):
    """Simulate a grid of (alpha, h) points, h = sqrt(mu) h_G(alpha), and measure each regime.

    For each alpha one :class:`KDESimulation` (n = round(e^{alpha d})) is drawn and
    reused for every mu. Returns a dict of flat arrays: alpha (the realised
    log(n)/d), h, mu (theory), regime (measured), regime_theory,
    dominant_weight, second_moment_ratio. Used in: notebooks/05_kde_regimes.ipynb
    """
    alphas = _positive_values(alphas, "alphas", MAX_ALPHA).reshape(-1)
    if alphas.size > 1_000:
        raise ValueError(f"alphas holds {alphas.size} values; the limit is 1000 (one simulation each)")
    mus = V.real_array("mus", mus, ndim=(0, 1), max_size=10_000).reshape(-1)
    if not (mus > 0).all():
        raise ValueError("mus must all be finite and > 0")
    d = V.integer("d", d, lo=1)
    n_test = V.integer("n_test", n_test, lo=2)
    gen = V.rng(rng)
    rows = []
    for a in alphas:
        try:
            sim = simulate(float(a), d, n_test=n_test, rng=gen)
        except ValueError as exc:
            raise ValueError(f"alphas entry {float(a):g}: {exc}") from None
        hg = h_g(sim.alpha)
        for mu in mus:
            st = sim.statistics(hg * math.sqrt(float(mu)))
            rows.append((sim.alpha, st["h"], st["mu"], st["regime"], st["regime_theory"],
                         st["dominant_weight"], st["second_moment_ratio"]))
    if not rows:
        raise ValueError("alphas and mus must not be empty")
    keys = ("alpha", "h", "mu", "regime", "regime_theory", "dominant_weight", "second_moment_ratio")
    return {k: np.array(col) for k, col in zip(keys, zip(*rows))}
