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
import numbers

import numpy as np

from ._args import positive_real
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

def _real_array(name, a):
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _positive(name, value):
    return positive_real(name, value)


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
    """|x_a - y_i|^2 for x (m, d), data (n, d), as (m, n).

    The expansion |x|^2 + |y|^2 - 2 x.y runs on BLAS; its rounding can make an
    exact zero slightly negative, hence the clip.
    """
    sq = (x * x).sum(1)[:, None] + (data * data).sum(1)[None, :] - 2.0 * (x @ data.T)
    return np.maximum(sq, 0.0, out=sq)


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
    const = -math.log(n) - 0.5 * d * math.log(2.0 * math.pi * h * h)
    out = np.empty(pts.shape[0])
    step = max(1, _CHUNK // n)
    for start in range(0, pts.shape[0], step):
        block = _sq_distances(pts[start:start + step], data)
        out[start:start + step] = logsumexp(block * (-0.5 / (h * h)), axis=1) + const
    return float(out[0]) if single else out


def kernel_weights(x, data, h):
    """The share of each data point in rho_hat(x): softmax_i(-|x - y_i|^2 / (2 h^2)).

    ``x`` (d,) gives (n,) weights summing to 1; ``x`` (m, d) gives (m, n).
    Computed with ``softviz.softmax``, so no underflow to 0/0 in high dimension.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    h = _positive("h", h)
    pts, data, single = _points_and_data(x, data)
    w = softmax(_sq_distances(pts, data) * (-0.5 / (h * h)), axis=1)
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

def _positive_values(value, name, label=None):
    """``value`` (scalar or array) as float64 if every entry is finite and > 0."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real number, got {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a) & (a > 0)):
        raise ValueError(f"{label or name} must be finite and > 0, got {value!r}")
    return a


def _alpha(alpha):
    return _positive_values(alpha, "alpha", "alpha = log(n)/d")


def _out(values, like):
    return float(values) if np.ndim(like) == 0 else values


@functools.lru_cache(maxsize=4096)
def _s_min_scalar(alpha):
    from scipy.optimize import brentq

    # Solve in t = ln s: e^{2t} - e^t - t = 2 alpha is monotone decreasing in t < 0,
    # and for large alpha s ~ e^{-2 alpha} is far below any linear bracket.
    f = lambda t: math.exp(2 * t) - math.exp(t) - t - 2 * alpha  # noqa: E731
    return math.exp(brentq(f, -2 * alpha - 2.0, 0.0, xtol=1e-15, rtol=1e-15))


def s_min(alpha):
    """The root s in (0, 1) of s^2 - s - ln s = 2 alpha (REM edge of the distance spectrum).

    Scalar or array ``alpha`` > 0. Used in: notebooks/05_kde_regimes.ipynb
    """
    a = _alpha(alpha)
    return _out(np.vectorize(_s_min_scalar, otypes=[float])(a), alpha)


def u_min(alpha):
    """u_min = s_min + s_min^2: |x - y_nn|^2 / d of the nearest of e^{alpha d} points (d -> inf).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    s = np.asarray(s_min(alpha))
    return _out(s + s * s, alpha)


def h_g(alpha):
    """Condensation bandwidth h_G = sqrt(s_min / (1 - s_min)) (stable index mu = 1).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    s = np.asarray(s_min(alpha))
    return _out(np.sqrt(s / (1.0 - s)), alpha)


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


def _h(h):
    return _positive_values(h, "h")


def stable_index(h, alpha):
    """mu = (h / h_G(alpha))^2: the tail index of the kernel weights near the nearest points.

    Used in: notebooks/05_kde_regimes.ipynb
    """
    hh = _h(h)
    mu = (hh / np.asarray(h_g(alpha))) ** 2
    return _out(mu, np.broadcast(np.asarray(h), np.asarray(alpha)))


def kl_per_dim(h, alpha):
    """Theory KL(p || rho_hat) / d for d -> infinity, p = N(0, I_d), alpha = log(n) / d.

    (1/2) ln(1 + h^2) + 1/(2 (1 + h^2)) - 1/2 for h >= h_G (the annealed value);
    (1/2) ln h^2 + alpha + u_min / (2 h^2) - 1/2 below h_G (the nearest points rule).
    Continuous at h_G; minimum at h_opt. Used in: notebooks/05_kde_regimes.ipynb
    """
    hh, a = np.broadcast_arrays(_h(h), _alpha(alpha))
    h2 = hh * hh
    annealed = 0.5 * np.log1p(h2) + 0.5 / (1.0 + h2) - 0.5
    condensed = 0.5 * np.log(h2) + a + np.asarray(u_min(a)) / (2.0 * h2) - 0.5
    kl = np.where(hh >= np.asarray(h_g(a)), annealed, condensed)
    return _out(kl, np.broadcast(np.asarray(h), np.asarray(alpha)))


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
    if not (math.isfinite(dominant_weight) and math.isfinite(second_moment_ratio)):
        raise ValueError("dominant_weight and second_moment_ratio must be finite numbers")
    if dominant_weight > _DOMINANT_WEIGHT:
        return REGIMES[0]
    if second_moment_ratio >= _SECOND_MOMENT_FRACTION:
        return REGIMES[2]
    return REGIMES[1]


@functools.lru_cache(maxsize=256)
def nearest_neighbour_u(n, d):
    """Exact E[|x - y_nn|^2] / d for the nearest of n points y_i ~ N(0, I_d) to x ~ N(0, I_d).

    Given |x|^2 = r, |x - y|^2 is non-central chi-square (d degrees of freedom,
    non-centrality r), so E[min] = integral of P(all n distances > t) dt; the
    outer average over r ~ chi^2_d uses 20-node generalised Gauss-Laguerre quadrature. The d -> inf
    limit is u_min(log(n) / d); at finite d this value sits above it by O(log d / d).
    Used in: notebooks/05_kde_regimes.ipynb
    """
    from scipy import integrate, special, stats

    if isinstance(n, bool) or isinstance(d, bool) or int(n) != n or int(d) != d or n < 1 or d < 1:
        raise ValueError(f"n and d must be positive integers, got n={n!r}, d={d!r}")
    n, d = int(n), int(d)
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
            surv_n = np.exp(n * np.log1p(-cdf))
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
    h2 = hh * hh
    lower = 0.5 * np.log1p(h2) + 0.5 / (1.0 + h2) - 0.5
    upper = 0.5 * np.log(h2) + math.log(n) / d + nearest_neighbour_u(n, d) / (2.0 * h2) - 0.5
    return _out(lower, h), _out(upper, h)


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------

def sample_gaussian(n, d, rng=None):
    """n points of N(0, I_d) as an (n, d) array, reproducible with ``rng`` (Generator or seed).

    Used in: notebooks/05_kde_regimes.ipynb
    """
    for name, v in (("n", n), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return np.random.default_rng(rng).standard_normal((int(n), int(d)))


class KDESimulation:
    """Data y_i ~ N(0, I_d) (n = round(e^{alpha d}) points) and test points x ~ N(0, I_d).

    The squared distances are computed once; every method takes the bandwidth h
    and is cheap (one logsumexp over n_test x n numbers), and ``statistics(h)`` is
    cached, so a panel slider or an h sweep reuses them. Build with :func:`simulate`.

    Used in: notebooks/05_kde_regimes.ipynb
    """

    def __init__(self, data, test, alpha=None):
        self.data = _real_array("data", data)
        self.test = _real_array("test", test)
        if self.data.ndim != 2 or self.test.ndim != 2 or self.data.shape[1] != self.test.shape[1]:
            raise ValueError("data (n, d) and test (m, d) must be 2-D with the same d")
        self.n, self.d = self.data.shape
        self.n_test = self.test.shape[0]
        self.alpha = math.log(self.n) / self.d if alpha is None else float(alpha)
        self.sq = _sq_distances(self.test, self.data)          # (m, n)
        self.test_sq_norm = (self.test * self.test).sum(1)     # |x|^2
        self._stats = {}

    def __repr__(self):
        return (f"KDESimulation(n={self.n}, d={self.d}, alpha={self.alpha:.4g}, "
                f"n_test={self.n_test})")

    def log_density(self, h):
        """log rho_hat at every test point, (n_test,)."""
        h = _positive("h", h)
        const = -math.log(self.n) - 0.5 * self.d * math.log(2.0 * math.pi * h * h)
        return logsumexp(self.sq * (-0.5 / (h * h)), axis=1) + const

    def log_true_density(self):
        """log p(x) of N(0, I_d) at every test point."""
        return -0.5 * self.d * math.log(2.0 * math.pi) - 0.5 * self.test_sq_norm

    def log_mean_density(self, h):
        """log E_data[rho_hat(x)] = log N(x; 0, (1 + h^2) I_d), exact (the annealed value)."""
        h = _positive("h", h)
        v = 1.0 + h * h
        return -0.5 * self.d * math.log(2.0 * math.pi * v) - 0.5 * self.test_sq_norm / v

    def log_second_moment_ratio(self, h):
        """log(E[K_h(x - y)^2] / E[K_h(x - y)]^2) at every test point, exact.

        E[K_h(x - y)^2] = (4 pi h^2)^{-d/2} N(x; 0, (1 + h^2/2) I_d) (a Gaussian
        integral); the relative variance of rho_hat(x) is (this ratio - 1) / n.
        """
        h = _positive("h", h)
        v2 = 1.0 + 0.5 * h * h
        log_m2 = (-0.5 * self.d * math.log(4.0 * math.pi * h * h)
                  - 0.5 * self.d * math.log(2.0 * math.pi * v2) - 0.5 * self.test_sq_norm / v2)
        return log_m2 - 2.0 * self.log_mean_density(h)

    def weights(self, h, i=0):
        """Kernel weights (softmax over the n data points) of test point ``i``, (n,)."""
        h = _positive("h", h)
        if not (0 <= int(i) < self.n_test):
            raise ValueError(f"test point index must be in [0, {self.n_test}), got {i!r}")
        return softmax(self.sq[int(i)] * (-0.5 / (h * h)))

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
        logits = self.sq * (-0.5 / (h * h))
        w = softmax(logits, axis=1)
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
        rows = [self.statistics(h) for h in np.asarray(hs, dtype=float).ravel()]
        if not rows:
            raise ValueError("hs is empty")
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def _n_points(alpha, d):
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
    alpha = float(_alpha(alpha))
    if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    if isinstance(n_test, bool) or not isinstance(n_test, (numbers.Integral, np.integer)) or n_test < 2:
        raise ValueError(f"n_test must be an integer >= 2, got {n_test!r}")
    n = _n_points(alpha, int(d))
    gen = np.random.default_rng(rng)
    data = gen.standard_normal((n, int(d)))
    test = gen.standard_normal((int(n_test), int(d)))
    return KDESimulation(data, test, alpha=math.log(n) / int(d))


@functools.lru_cache(maxsize=6)
def cached_simulation(alpha, d, n_test=200, seed=0):
    """:func:`simulate` with an integer seed, memoised (the panel moves alpha and d back and forth).

    Used by KDEPanel (notebooks/05_kde_regimes.ipynb).
    """
    return simulate(alpha, d, n_test=n_test, rng=seed)


def phase_points(alphas, mus, d, *, n_test=150, rng=None):
    """Simulate a grid of (alpha, h) points, h = sqrt(mu) h_G(alpha), and measure each regime.

    For each alpha one :class:`KDESimulation` (n = round(e^{alpha d})) is drawn and
    reused for every mu. Returns a dict of flat arrays: alpha (the realised
    log(n)/d), h, mu (theory), regime (measured), regime_theory,
    dominant_weight, second_moment_ratio. Used in: notebooks/05_kde_regimes.ipynb
    """
    gen = np.random.default_rng(rng)
    rows = []
    for a in np.asarray(alphas, dtype=float).ravel():
        sim = simulate(a, d, n_test=n_test, rng=gen)
        hg = h_g(sim.alpha)
        for mu in np.asarray(mus, dtype=float).ravel():
            st = sim.statistics(hg * math.sqrt(_positive("mu", mu)))
            rows.append((sim.alpha, st["h"], st["mu"], st["regime"], st["regime_theory"],
                         st["dominant_weight"], st["second_moment_ratio"]))
    if not rows:
        raise ValueError("alphas and mus must not be empty")
    keys = ("alpha", "h", "mu", "regime", "regime_theory", "dominant_weight", "second_moment_ratio")
    return {k: np.array(col) for k, col in zip(keys, zip(*rows))}
