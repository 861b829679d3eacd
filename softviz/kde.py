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

The theory functions live in :mod:`softviz.kde_theory` and are re-exported here, so the
lessons use one module name.  The simulation side (``simulate`` -> :class:`KDESimulation`) samples data and test
points, keeps the squared distances once, and gives for any h the log-densities,
kernel weights, participation ratios, the measured regime and the KL.

Used in: notebooks/05_kde_regimes.ipynb
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from ._validate import RngLike
from .core import logsumexp, softmax

# The regime theory lives in its own module; softviz.kde stays the lessons' one name for it.
from .kde_theory import (
    MAX_ALPHA,
    MAX_N,
    REGIMES,
    _alpha,
    _log_1p_sq,
    _positive_values,
    h_clt,
    h_g,
    h_opt,
    kl_bounds,
    kl_per_dim,
    measured_regime,
    nearest_neighbour_u,
    regime,
    s_min,
    stable_index,
    u_min,
)

__all__ = [
    "REGIMES",
    "MAX_N",
    "MAX_ALPHA",
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

# Elements of one (points x data) block: bounds memory of log_density to ~ 32 MB.
_CHUNK = 4_000_000


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------

def _real_array(name: str, a: ArrayLike, **kw: Any) -> np.ndarray:
    return V.real_array(name, a, **kw)


def _positive(name: str, value: object) -> float:
    return V.positive_real(name, value)




def _scaled_sq(sq: np.ndarray, h: float, k: int = 0) -> np.ndarray:
    """-(|x - y|^2 4^k) / (2 h^2) without forming h^2 (1e-200 squared is 0, 1e200 squared inf).

    ``sq`` holds squared distances in units of 2^k (k > 0 only for coordinates
    beyond 1e150, see ``_sq_distances``).
    """
    if k == 0 and 1e-150 < h < 1e150:
        return sq * (-0.5 / (h * h))  # the usual case: one multiplication, as before
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(np.ldexp((sq * -0.5) / h, k) / h, k)


def _kernel_logits(sq: np.ndarray, h: float, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
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




def _points_and_data(x: ArrayLike, data: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
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


def _sq_distances(x: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, int]:
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

def log_density(x: ArrayLike, data: ArrayLike, h: float) -> float | np.ndarray:
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


def kernel_weights(x: ArrayLike, data: ArrayLike, h: float) -> np.ndarray:
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


def participation_ratio(weights: ArrayLike) -> float | np.ndarray:
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
# Simulation
# --------------------------------------------------------------------------

def sample_gaussian(n: int, d: int, rng: RngLike = None) -> np.ndarray:
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

    def __init__(self, data: ArrayLike, test: ArrayLike, alpha: float | None = None) -> None:
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
        self._stats: dict[float, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return (f"KDESimulation(n={self.n}, d={self.d}, alpha={self.alpha:.4g}, "
                f"n_test={self.n_test})")

    def log_density(self, h: float) -> np.ndarray:
        """log rho_hat at every test point, (n_test,)."""
        h = _positive("h", h)
        const = -math.log(self.n) - 0.5 * self.d * (math.log(2.0 * math.pi) + 2.0 * math.log(h))
        logits, offset = _kernel_logits(self._sq, h, self._k)
        return logsumexp(logits, axis=1) + offset + const

    def log_true_density(self) -> np.ndarray:
        """log p(x) of N(0, I_d) at every test point."""
        return -0.5 * self.d * math.log(2.0 * math.pi) - 0.5 * self.test_sq_norm

    def log_mean_density(self, h: float) -> np.ndarray:
        """log E_data[rho_hat(x)] = log N(x; 0, (1 + h^2) I_d), exact (the annealed value)."""
        h = _positive("h", h)
        log_v = float(_log_1p_sq(h))  # v = 1 + h^2, whose square may overflow
        with np.errstate(under="ignore"):
            return (-0.5 * self.d * (math.log(2.0 * math.pi) + log_v)
                    - 0.5 * self.test_sq_norm * math.exp(-log_v))

    def log_second_moment_ratio(self, h: float) -> np.ndarray:
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

    def weights(self, h: float, i: int = 0) -> np.ndarray:
        """Kernel weights (softmax over the n data points) of test point ``i``, (n,)."""
        h = _positive("h", h)
        i = V.integer("i", i, lo=0, hi=self.n_test - 1)
        return softmax(_kernel_logits(self._sq[i:i + 1], h, self._k)[0][0])

    def kl_per_dim(self, h: float) -> float:
        """Simulated KL(p || rho_hat) / d: the mean over test points of (log p - log rho_hat) / d."""
        return float(np.mean(self.log_true_density() - self.log_density(h)) / self.d)

    def statistics(self, h: float) -> dict[str, Any]:
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

    def log_ratio(self, h: float) -> np.ndarray:
        """log rho_hat(x) - log E[rho_hat(x)] at every test point: the data's own fluctuation."""
        return self.log_density(h) - self.log_mean_density(h)

    def sweep(self, hs: ArrayLike) -> dict[str, np.ndarray]:
        """``statistics`` for every h in ``hs``, as a dict of arrays (str arrays for regimes)."""
        hs = V.real_array("hs", hs, ndim=(0, 1), max_size=10_000).reshape(-1)
        if hs.size == 0 or not (hs > 0).all():
            raise ValueError("hs must hold at least one bandwidth, each finite and > 0")
        rows = [self.statistics(float(h)) for h in hs]
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def _n_points(alpha: float, d: int) -> int:
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


def simulate(alpha: float, d: int, *, n_test: int = 200, rng: RngLike = None) -> KDESimulation:
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


def cached_simulation(alpha: float, d: int, n_test: int = 200, seed: int = 0) -> KDESimulation:
    """:func:`simulate` with an integer seed, memoised (the panel moves alpha and d back and forth).

    Used by KDEPanel (notebooks/05_kde_regimes.ipynb).
    """
    alpha = float(_alpha(V.positive_real("alpha", alpha)))
    d = V.integer("d", d, lo=1)
    n_test = V.integer("n_test", n_test, lo=2)
    seed = V.integer("seed", seed, lo=0)
    return _cached_simulation(alpha, d, n_test, seed)


@functools.lru_cache(maxsize=6)
def _cached_simulation(alpha: float, d: int, n_test: int, seed: int) -> KDESimulation:
    return simulate(alpha, d, n_test=n_test, rng=seed)


def phase_points(alphas: ArrayLike, mus: ArrayLike, d: int, *, n_test: int = 150,
                 rng: RngLike = None) -> dict[str, np.ndarray]:
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
        hg = float(h_g(sim.alpha))  # a float for a float alpha
        for mu in mus:
            st = sim.statistics(hg * math.sqrt(float(mu)))
            rows.append((sim.alpha, st["h"], st["mu"], st["regime"], st["regime_theory"],
                         st["dominant_weight"], st["second_moment_ratio"]))
    if not rows:
        raise ValueError("alphas and mus must not be empty")
    keys = ("alpha", "h", "mu", "regime", "regime_theory", "dominant_weight", "second_moment_ratio")
    return {k: np.array(col) for k, col in zip(keys, zip(*rows))}
