"""Gumbel noise and what it samples: Gumbel-max, Gumbel-softmax (soft and hard), Gumbel-top-k.

The one fact behind the whole module: if G_1, ..., G_n are independent standard
Gumbel variables (G = -log(-log U), U uniform on (0, 1)), then

    argmax_i (z_i + G_i)  ~  Categorical(softmax(z)),

so sampling from a softmax needs no normalisation at all (the Gumbel-max trick).
Replacing the argmax by a tempered softmax gives the Gumbel-softmax / Concrete
relaxation, whose samples live inside the probability simplex and are
differentiable in the logits; keeping the k largest of z + G instead of the
largest gives k distinct items drawn without replacement (Gumbel-top-k).

Papers:

* E. Jang, S. Gu, B. Poole, "Categorical Reparameterization with Gumbel-Softmax",
  2017, arXiv:1611.01144 (Gumbel-softmax, straight-through estimator);
* C. J. Maddison, A. Mnih, Y. W. Teh, "The Concrete Distribution: A Continuous
  Relaxation of Discrete Random Variables", 2017, arXiv:1611.00712 (density,
  binary closed form);
* W. Kool, H. van Hoof, M. Welling, "Stochastic Beams and Where to Find Them: The
  Gumbel-Top-k Trick for Sampling Sequences Without Replacement", 2019,
  arXiv:1903.06059.

Conventions: logits are float64; ``-inf`` marks a class that must never be drawn;
``+inf`` and NaN are errors. Every sampler takes ``rng`` (a
``numpy.random.Generator``, a seed, or None) and is reproducible with it.
``gumbel_softmax`` follows the forward value of
``torch.nn.functional.gumbel_softmax(logits, tau, hard, dim)``, except that
``hard=True`` returns an exact one-hot vector (torch returns
``y_hard - y_soft.detach() + y_soft``, one-hot up to rounding, to carry the
straight-through gradient; without autograd, :func:`soft_sample_jacobian` is
that gradient).

Used in: notebooks/03_gumbel.ipynb
"""
from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
import scipy.special
import scipy.stats
from numpy.typing import ArrayLike

from . import _validate as V
from . import core
from ._validate import RngLike, ShapeLike

__all__ = [
    "sample_gumbel",
    "gumbel_max",
    "gumbel_softmax",
    "gumbel_top_k",
    "soft_sample_jacobian",
    "binary_concrete_cdf",
    "concrete_log_density",
    "concrete_density",
    "plackett_luce_probability",
    "GoodnessOfFit",
    "chisquare_gof",
    "TopKComparison",
    "compare_top_k",
    "ternary_xy",
]

_TINY = np.finfo(np.float64).tiny
# scipy's chi-square approximation needs expected counts of about 5 or more.
_MIN_EXPECTED = 5.0
# Most noise values (or matrix entries) one call may produce: about two seconds of work.
_MAX_WORK = 100_000_000
# Most draws compare_top_k makes with numpy's sampler, one Python call each (~30 us).
_MAX_NUMPY_DRAWS = 1_000_000


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------

def _logits(logits: ArrayLike, name: str = "logits", *, ndim1: bool = False) -> np.ndarray:
    """``logits`` as a float64 array; -inf allowed, +inf/NaN/complex/empty rejected."""
    return V.real_array(name, logits, ndim=1 if ndim1 else None, min_ndim=1, nonempty=True,
                        finite="neginf")


def _need_a_class(arr: np.ndarray, axis: int = -1, name: str = "logits") -> None:
    if np.isneginf(arr).all(axis=axis).any():
        raise ValueError(f"every entry of {name} along an axis is -inf: there is no class to sample")


def _tau(tau: object) -> float:
    return V.positive_real("tau", tau)


def _count(value: object, name: str, lo: int | None = None, hi: int | None = None) -> int:
    return V.integer(name, value, lo=lo, hi=hi)


def _size(size: ShapeLike | None) -> tuple[int, ...]:
    """``size`` as a shape tuple (None -> ())."""
    return () if size is None else V.shape("size", size)


def _work(count: float, what: str) -> None:
    # noise values drawn (or numbers stored): past the limit a call would run for minutes
    if count > _MAX_WORK:
        raise ValueError(f"{what} asks for {count:.3g} random numbers; the limit is {_MAX_WORK:.3g}")


# --------------------------------------------------------------------------
# Samplers
# --------------------------------------------------------------------------

def sample_gumbel(shape: ShapeLike, rng: RngLike = None) -> np.ndarray:
    """Standard Gumbel noise G = -log(-log U), U uniform, as a float64 array of ``shape``.

    ``shape`` is an int or a tuple (``()`` gives a 0-d array). The CDF is
    P(G <= g) = exp(-exp(-g)); mean Euler's gamma 0.5772..., variance pi^2 / 6.

    ``rng.random()`` draws from [0, 1): 1 never comes, and 0 (probability 2^-53)
    would give -inf, so it is replaced by the smallest positive double; the
    noise then lies in [-6.57, 36.7].

    Used in: notebooks/03_gumbel.ipynb
    """
    shape = V.shape("shape", shape)
    rng = V.rng(rng)
    u = rng.random(shape)
    np.maximum(u, _TINY, out=u)
    return -np.log(-np.log(u))


def gumbel_max(logits: ArrayLike, size: ShapeLike | None = None, rng: RngLike = None) -> np.ndarray:
    """Indices argmax_i(logits_i + G_i): draws from Categorical(softmax(logits)).

    ``logits`` is 1-D (n classes; -inf classes are never drawn). ``size`` (None,
    an int or a tuple) is the shape of the result: None gives one index as a
    0-d integer array, ``size=1000`` a vector of 1000 independent draws.

    Used in: notebooks/03_gumbel.ipynb
    """
    z = _logits(logits, ndim1=True)
    _need_a_class(z)
    shape = _size(size)
    rng = V.rng(rng)
    _work(math.prod(shape) * z.size, "size x number of classes")
    # Chunks of about 2^20 noise values bound the temporary (draws x n) array.
    out = np.empty(shape, dtype=np.intp)
    flat = out.reshape(-1)
    chunk = max(1, (1 << 20) // z.size)
    for start in range(0, flat.size, chunk):
        stop = min(flat.size, start + chunk)
        flat[start:stop] = np.argmax(z + sample_gumbel((stop - start, z.size), rng), axis=-1)
    return out


def gumbel_softmax(logits: ArrayLike, tau: float = 1.0, hard: bool = False, axis: int = -1,
                   rng: RngLike = None) -> np.ndarray:
    """One Gumbel-softmax (Concrete) sample y = softmax((logits + G) / tau) along ``axis``.

    ``G`` has the shape of ``logits``: every row along ``axis`` gets its own
    noise, as in ``torch.nn.functional.gumbel_softmax``; broadcast the logits
    (``np.broadcast_to(z, (N, n))``) for N samples. ``tau`` must be finite and
    > 0: small tau puts samples near the corners of the simplex, large tau near
    its centre. With ``hard=True`` the result is the exact one-hot vector of the
    soft sample's argmax (so its argmax is a Gumbel-max draw, whatever tau).
    Logits of -inf get probability exactly 0 and are never the argmax.

    Used in: notebooks/03_gumbel.ipynb
    """
    z = _logits(logits)
    tau = _tau(tau)
    hard = V.boolean("hard", hard)
    axis = V.axis("axis", axis, z.ndim)
    rng = V.rng(rng)
    _need_a_class(z, axis)
    perturbed = z + sample_gumbel(z.shape, rng)
    # Shift by the row max before dividing by tau: for tiny tau, (z + G) / tau
    # alone would overflow to inf and the softmax would give inf / inf = NaN.
    perturbed -= perturbed.max(axis=axis, keepdims=True)
    y = core.softmax(perturbed, axis=axis, temperature=tau)
    if not hard:
        return y
    index = np.expand_dims(np.argmax(y, axis=axis), axis)
    one_hot = np.zeros_like(y)
    np.put_along_axis(one_hot, index, 1.0, axis=axis)
    return one_hot


def gumbel_top_k(logits: ArrayLike, k: int, rng: RngLike = None, *, size: ShapeLike | None = None) -> np.ndarray:
    """k distinct class indices, in the order drawn: the top k of logits + G.

    Equivalent to drawing k times from softmax(logits) without replacement
    (renormalising over the classes left after each draw), i.e. a
    Plackett-Luce ranking; the first index is a Gumbel-max draw (Kool, van Hoof
    and Welling 2019, arXiv:1903.06059). ``logits`` is 1-D; ``k`` an integer
    from 0 to the number of classes whose logit is not -inf. Returns shape
    ``(k,)``, or ``size + (k,)`` for independent rows of draws (``size`` goes
    beyond the torch-style contract, for statistics without a Python loop).

    Used in: notebooks/03_gumbel.ipynb
    """
    z = _logits(logits, ndim1=True)
    k = _count(k, "k")
    available = int(np.isfinite(z).sum())
    if not 0 <= k <= available:
        raise ValueError(f"k must be between 0 and {available} (the number of classes of logits "
                         f"whose logit is not -inf), got {k}")
    shape = _size(size)
    rng = V.rng(rng)
    _work(math.prod(shape) * z.size, "size x number of classes")
    keys = z + sample_gumbel(shape + (z.size,), rng)
    if k == 0:
        return np.zeros(shape + (0,), dtype=np.intp)
    # argpartition finds the k largest in O(n); only those k need sorting.
    top = np.argpartition(-keys, k - 1, axis=-1)[..., :k]
    order = np.argsort(-np.take_along_axis(keys, top, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(top, order, axis=-1)


# --------------------------------------------------------------------------
# Gradients, densities, exact probabilities
# --------------------------------------------------------------------------

def soft_sample_jacobian(y: ArrayLike, tau: float = 1.0) -> np.ndarray:
    """Jacobian dy/dlogits of a soft sample y = softmax((logits + G) / tau), from y alone.

    J[..., i, j] = (y_i * delta_ij - y_i * y_j) / tau for y of shape (..., n);
    the noise is held fixed, so this is also dy/dG. The straight-through
    estimator uses the hard one-hot vector forward and this Jacobian backward.
    Rows and columns sum to 0 (probabilities keep summing to 1).

    Used in: notebooks/03_gumbel.ipynb
    """
    y = V.real_array("y", y, min_ndim=1, nonempty=True)
    tau = _tau(tau)
    if (y < 0).any() or (y > 1).any():
        raise ValueError("y must be a probability vector (entries in [0, 1]), e.g. a soft sample")
    _work(y.size * y.shape[-1], "the Jacobian of y")
    outer = y[..., :, None] * y[..., None, :]
    diag = np.zeros_like(outer)
    idx = np.arange(y.shape[-1])
    diag[..., idx, idx] = y
    return (diag - outer) / tau


def binary_concrete_cdf(y1: ArrayLike, logits: ArrayLike, tau: float) -> np.ndarray:
    """P(Y_1 <= y1) for the first coordinate of a 2-class Concrete sample.

    Y_1 = sigmoid((z_1 - z_2 + G_1 - G_2) / tau), and G_1 - G_2 is standard
    logistic, so F(y1) = sigmoid(tau * logit(y1) - (z_1 - z_2)) (Maddison et al.
    2017, arXiv:1611.00712). ``logits`` holds the two finite logits; y1 outside
    [0, 1] gives 0 or 1.

    Used in: notebooks/03_gumbel.ipynb
    """
    z = _logits(logits, ndim1=True)
    if z.size != 2 or not np.isfinite(z).all():
        raise ValueError(f"the binary Concrete needs exactly two finite logits, got {z.tolist()}")
    tau = _tau(tau)
    y1 = V.real_array("y1", y1, finite="any")
    if np.isnan(y1).any():
        raise ValueError("y1 must not contain NaN")
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        inside = scipy.special.expit(tau * scipy.special.logit(np.clip(y1, 0.0, 1.0)) - (z[0] - z[1]))
    return np.where(y1 <= 0, 0.0, np.where(y1 >= 1, 1.0, inside))


def concrete_log_density(y: ArrayLike, logits: ArrayLike, tau: float) -> np.ndarray:
    """log of the Concrete density at points y of the open simplex, shape (..., n).

    p(y) = (n-1)! tau^(n-1) prod_i (pi_i y_i^(-tau-1)) / (sum_i pi_i y_i^(-tau))^n
    with pi = softmax(logits) (Maddison et al. 2017), a density with respect to
    Lebesgue measure on (y_1, ..., y_{n-1}). Computed in log space with
    logsumexp; the normalisation of pi cancels, so the raw logits are used.
    Points off the simplex (an entry <= 0 or >= 1 or a sum far from 1) raise.

    Used in: notebooks/03_gumbel.ipynb
    """
    z = _logits(logits, ndim1=True)
    if not np.isfinite(z).all():
        raise ValueError("concrete_log_density needs finite logits (a -inf class lives on a "
                         "lower-dimensional face of the simplex)")
    tau = _tau(tau)
    y = V.real_array("y", y, min_ndim=1)
    if y.shape[-1:] != (z.size,):
        raise ValueError(f"y must have {z.size} entries along its last axis (one per class of "
                         f"logits), got shape {y.shape}")
    if (y <= 0).any() or (y >= 1).any() or not np.allclose(y.sum(axis=-1), 1.0, atol=1e-9):
        raise ValueError("y must lie in the open simplex: entries in (0, 1) summing to 1")
    n = z.size
    log_y = np.log(y)
    with np.errstate(over="ignore", invalid="ignore"):
        return (math.lgamma(n) + (n - 1) * math.log(tau)
                + np.sum(z - (tau + 1) * log_y, axis=-1)
                - n * core.logsumexp(z - tau * log_y, axis=-1))


def concrete_density(y: ArrayLike, logits: ArrayLike, tau: float) -> np.ndarray:
    """exp(:func:`concrete_log_density`): the Concrete density on the open simplex.

    Used in: notebooks/03_gumbel.ipynb
    """
    return np.exp(concrete_log_density(y, logits, tau))


def plackett_luce_probability(order: ArrayLike, logits: ArrayLike) -> float:
    """Exact probability that drawing without replacement from softmax(logits) gives ``order``.

    prod_t p_{order_t} / (1 - sum_{s<t} p_{order_s}), computed as a sum of
    log-softmax terms over the classes not yet drawn. ``order`` holds distinct
    indices (a prefix of a ranking, e.g. the output of :func:`gumbel_top_k`).

    Used in: notebooks/03_gumbel.ipynb
    """
    z = _logits(logits, ndim1=True)
    arr = V.numeric_array("order", order)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"order must hold integer class indices, got dtype {arr.dtype}")
    indices: list[int] = arr.ravel().tolist()
    _work(len(indices) * z.size, "order x logits")
    if len(set(indices)) != len(indices) or any(not 0 <= i < z.size for i in indices):
        raise ValueError(f"order must hold distinct class indices of logits, in [0, {z.size}), "
                         f"got {V.short(indices)}")
    remaining = z.copy()
    log_p = 0.0
    for i in indices:
        log_p += float(remaining[i] - core.logsumexp(remaining))
        remaining[i] = -np.inf
    return math.exp(log_p)


# --------------------------------------------------------------------------
# Goodness of fit and plotting coordinates
# --------------------------------------------------------------------------

class GoodnessOfFit(NamedTuple):
    """Result of :func:`chisquare_gof`.

    ``counts`` and ``expected`` per class (before pooling); ``statistic``,
    ``dof`` and ``pvalue`` of the chi-square test on the pooled classes
    (``pvalue`` is NaN when fewer than two pooled classes remain).
    """

    counts: np.ndarray
    expected: np.ndarray
    statistic: float
    dof: int
    pvalue: float


def chisquare_gof(samples: ArrayLike, probs: ArrayLike) -> GoodnessOfFit:
    """Chi-square goodness of fit of integer ``samples`` to class probabilities ``probs``.

    Counts the samples per class, then runs ``scipy.stats.chisquare`` against
    N * probs. Classes with probability 0 must never occur (one that does gives
    p-value 0: the sampler drew an impossible class); they are left out of the
    test. Classes expected fewer than 5 times are pooled into one bin (merged
    with the smallest other bin if still below 5), the usual condition for the
    chi-square approximation.

    Used in: notebooks/03_gumbel.ipynb (and its check, the panel and the tests).
    """
    p = V.real_array("probs", probs, ndim=1, nonempty=True)
    if (p < 0).any():
        raise ValueError("probs must be a non-empty 1-D array of probabilities >= 0")
    with np.errstate(over="ignore"):
        total = float(p.sum())
    if not math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9):
        raise ValueError(f"probs must sum to 1, got {total!r}")
    s = V.numeric_array("samples", samples)
    if s.dtype.kind not in "iu":
        raise TypeError(f"samples must be integer class indices, got dtype {s.dtype}")
    s = s.ravel()
    if s.size and (s.min() < 0 or s.max() >= p.size):
        raise ValueError(f"samples must be class indices in [0, {p.size}) (one per entry of probs), "
                         f"got values from {s.min()} to {s.max()}")
    counts = np.bincount(s, minlength=p.size)
    expected = s.size * p
    if (counts[p == 0] > 0).any():
        return GoodnessOfFit(counts, expected, math.inf, int((p > 0).sum()) - 1, 0.0)
    obs, exp = counts[p > 0].astype(np.float64), expected[p > 0]
    small = exp < _MIN_EXPECTED
    if small.any():
        bins_obs, bins_exp = list(obs[~small]), list(exp[~small])
        pooled_obs, pooled_exp = obs[small].sum(), exp[small].sum()
        if pooled_exp < _MIN_EXPECTED and bins_exp:
            j = int(np.argmin(bins_exp))
            bins_obs[j] += pooled_obs
            bins_exp[j] += pooled_exp
        else:
            bins_obs.append(pooled_obs)
            bins_exp.append(pooled_exp)
        obs, exp = np.array(bins_obs), np.array(bins_exp)
    if obs.size < 2:
        return GoodnessOfFit(counts, expected, math.nan, 0, math.nan)
    result = scipy.stats.chisquare(obs, exp)
    return GoodnessOfFit(counts, expected, float(result.statistic), obs.size - 1,
                         float(result.pvalue))


class TopKComparison(NamedTuple):
    """Result of :func:`compare_top_k`: one entry per possible ordered k-tuple.

    ``orders`` (list of tuples), ``exact`` (Plackett-Luce probabilities),
    ``gumbel_counts`` and ``numpy_counts`` (how often each tuple was drawn),
    and the chi-square goodness-of-fit p-values of both samplers against ``exact``.
    """

    orders: list
    exact: np.ndarray
    gumbel_counts: np.ndarray
    numpy_counts: np.ndarray
    gumbel_pvalue: float
    numpy_pvalue: float


def compare_top_k(logits: ArrayLike, k: int, n_draws: int = 100_000, rng: RngLike = None) -> TopKComparison:
    """Draw ``n_draws`` ordered k-tuples with :func:`gumbel_top_k` and with numpy; test both.

    numpy's ``Generator.choice(n, k, replace=False, p=softmax(logits))`` draws
    one item at a time and renormalises, the textbook definition of sampling
    without replacement; the Gumbel-top-k trick must give the same distribution
    over ordered tuples, the Plackett-Luce probabilities of
    :func:`plackett_luce_probability`. numpy's draws run in a Python loop
    (about 30 us each); n_draws is at most 1,000,000. Classes with logit -inf (or a
    probability that underflows to 0) are
    left out (neither sampler may draw them).

    Used in: notebooks/03_gumbel.ipynb
    """
    z = _logits(logits, ndim1=True)
    n_draws = _count(n_draws, "n_draws", lo=1, hi=_MAX_NUMPY_DRAWS)
    rng = V.rng(rng)
    p = core.softmax(z)
    # a class whose probability underflows to 0 is as good as masked (-inf) for both samplers
    live = np.flatnonzero(p > 0)
    z = np.where(p > 0, z, -np.inf)
    k = _count(k, "k")
    if not 1 <= k <= live.size:
        raise ValueError(f"k must be between 1 and {live.size} (classes of logits with a non-zero "
                         f"probability), got {k}")
    count = math.perm(live.size, k)
    if count > 100_000:
        raise ValueError(f"{count:.3g} ordered {k}-tuples of the logits' classes are too many to "
                         f"tabulate (limit 100,000); use fewer classes or a smaller k")
    orders = list(itertools.permutations(live.tolist(), k))
    code = {order: i for i, order in enumerate(orders)}
    exact = np.array([plackett_luce_probability(order, z) for order in orders])
    exact /= exact.sum()  # the rounding of each product; the total is 1 in exact arithmetic
    ours = gumbel_top_k(z, k, rng, size=n_draws)
    theirs = [rng.choice(z.size, k, replace=False, p=p) for _ in range(n_draws)]
    ours_idx = np.array([code[tuple(row)] for row in ours.tolist()], dtype=np.intp)
    theirs_idx = np.array([code[tuple(row)] for row in np.asarray(theirs).tolist()], dtype=np.intp)
    fit_ours, fit_theirs = chisquare_gof(ours_idx, exact), chisquare_gof(theirs_idx, exact)
    return TopKComparison(orders, exact, fit_ours.counts, fit_theirs.counts,
                          fit_ours.pvalue, fit_theirs.pvalue)


_SQRT3_2 = math.sqrt(3.0) / 2.0


def ternary_xy(p: ArrayLike) -> np.ndarray:
    """Plane coordinates of points of the 3-class simplex, for a ternary plot.

    Class 1, 2, 3 (one-hot vectors) go to the corners (0, 0), (1, 0) and
    (1/2, sqrt(3)/2) of an equilateral triangle; p = (p1, p2, p3) goes to
    x = p2 + p3/2, y = (sqrt(3)/2) p3, the same weights of the corners. Shape
    (..., 3) -> (..., 2).

    Used in: notebooks/03_gumbel.ipynb (and GumbelPanel).
    """
    p = V.real_array("p", p, min_ndim=1)
    if p.shape[-1:] != (3,):
        raise ValueError(f"ternary coordinates need 3 entries along the last axis, got shape {p.shape}")
    return np.stack([p[..., 1] + 0.5 * p[..., 2], _SQRT3_2 * p[..., 2]], axis=-1)
