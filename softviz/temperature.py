"""Temperature: softmax(z / T), its entropy, the smooth maximum, and sampling.

What lesson 02 computes, on top of ``softviz.softmax`` and ``softviz.logsumexp``:

* ``tempered_softmax(z, T)`` and ``tempered_softmax_grid`` (one row per T);
* ``entropy`` (natural log, 0 log 0 = 0), ``perplexity`` = exp(entropy) and
  ``entropy_curve`` H(T); ``temperature_for_entropy`` inverts H(T) by bisection
  on log T (H is non-decreasing: dH/dT = Var_p(z) / T^3, softviz/derive/temperature.py);
* ``smooth_max`` = T logsumexp(z / T) and its bounds [max z, max z + T ln n];
* ``peak_temperature``: where a middle entry of softmax(z / T) peaks
  (dp_i/dT = p_i (E_p[z] - z_i) / T^2 vanishes when E_p[z] = z_i);
* decoding: ``zipf_logits`` (a realistic, heavy-tailed next-token profile),
  ``top_k_filter``, ``top_p_filter``, ``sampling_probabilities``,
  ``sample_tokens`` and ``sample_diversity`` (every random draw takes ``rng``);
* temperature in the wild (``moe_gate``, ``sac_tune_alpha``, ``soft_targets``,
  ``distillation_loss``, ``distillation_gradient``) lives in
  :mod:`softviz.temperature_further` (lesson 02's going-further notebook) and is
  reachable from here too, loaded on first use.

Papers:
  G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural Network",
  2015, arXiv:1503.02531.
  T. Haarnoja et al., "Soft Actor-Critic Algorithms and Applications", 2018,
  arXiv:1812.05905.
  H. Nguyen, P. Akbarian, N. Ho, "Is Temperature Sample Efficient for Softmax
  Gaussian Mixture of Experts?", ICML 2024, arXiv:2401.13875.

Used in: notebooks/02_temperature.ipynb
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V
from ._lazy import lazy_exports
from .core import logsumexp, softmax

__all__ = [
    "tempered_softmax",
    "tempered_softmax_grid",
    "entropy",
    "perplexity",
    "entropy_curve",
    "smooth_max",
    "smooth_max_bounds",
    "temperature_for_entropy",
    "peak_temperature",
    "zipf_logits",
    "top_k_filter",
    "top_p_filter",
    "sampling_probabilities",
    "sample_tokens",
    "sample_diversity",
]



# --------------------------------------------------------------------------
# Argument checks (wording from softviz._validate)
# --------------------------------------------------------------------------

def _temperature(T: object, name: str = "T") -> float:
    return V.positive_real(name, T)


def _temperatures(Ts: ArrayLike, name: str = "temperatures") -> np.ndarray:
    Ts = V.real_array(name, Ts, ndim=1, nonempty=True, max_size=1_000_000)
    if not (Ts > 0).all():
        raise ValueError(f"{name} must all be finite and > 0")
    return Ts


def _logits(z: ArrayLike, name: str = "z", *, one_d: bool = False) -> np.ndarray:
    """z as a float array (at least 1-D, not empty); NaN and +inf are errors, -inf (masked) is allowed."""
    return V.real_array(name, z, ndim=1 if one_d else None, min_ndim=1, nonempty=True,
                        finite="neginf", dtype=None)


def _need_a_finite_entry(z: np.ndarray, axis: int, name: str = "z") -> None:
    # softmax of a row of -inf only is 0/0: say so instead of returning NaN
    if np.isneginf(z).all(axis=axis).any():
        raise ValueError(f"{name} has a row of -inf only along axis {axis}: no entry can get probability")


def _optional_k(name: str, k: int | None) -> int | None:
    return None if k is None else V.integer(name, k, lo=1)


def _optional_p(name: str, p: float | None) -> float | None:
    return None if p is None else V.real_scalar(name, p, lo=0.0, hi=1.0, lo_open=True)


def _shift(z: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    # Subtracting the (finite) max first makes every scaled logit <= 0: z / T
    # can then only underflow, never overflow, so T -> 0+ gives exactly the
    # uniform distribution over the argmax set instead of inf / inf.
    m = np.max(z, axis=axis, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 - (-1e308) -> -inf: a masked entry
        shifted = z - np.where(np.isfinite(m), m, 0).astype(z.dtype)
    return np.where(np.isnan(shifted), -np.inf, shifted).astype(z.dtype, copy=False), m


def _power_of_two_exponent(z: np.ndarray) -> int:
    """k with max |z| / 2**k in [0.5, 1) for logits beyond 2**500, else 0.

    H(softmax(z / T)) and E_p[z] = z_i are unchanged when z and T are scaled
    together; scaling by a power of two is exact, and keeps sums like the mean
    of z away from overflow.
    """
    finite = z[np.isfinite(z)]
    big = float(np.max(np.abs(finite))) if finite.size else 0.0
    return math.frexp(big)[1] if big > 2.0 ** 500 else 0


def _unscale(T: float, k: int) -> float:
    try:
        return math.ldexp(T, k)
    except OverflowError:
        raise ValueError("the temperature sought is beyond the largest float (logits z too large)") from None


def _rng(rng: object) -> np.random.Generator:
    return V.rng(rng)


def _tempered(z: np.ndarray, T: float, axis: int) -> np.ndarray:
    """softmax(z / T) of validated logits."""
    shifted, _ = _shift(z, axis)
    with np.errstate(over="ignore"):  # (z - max z) / T -> -inf is the intended T -> 0+ limit
        return softmax(shifted, axis=axis, temperature=T)


# --------------------------------------------------------------------------
# Tempered softmax, entropy, smooth max
# --------------------------------------------------------------------------

def tempered_softmax(z: ArrayLike, T: float, axis: int = -1) -> np.ndarray:
    """softmax(z / T) along ``axis``, for a temperature T > 0 (finite).

    T -> 0+ tends to the uniform distribution over the argmax set, T -> inf to
    the uniform distribution; for every T the order of the entries is kept.
    ``-inf`` entries (masked) get probability 0 (a row of -inf only is an
    error). Computed by ``softviz.softmax`` after shifting by the max, so even
    T = 1e-300 gives no overflow.

    Used in: notebooks/02_temperature.ipynb
    """
    T = _temperature(T)
    z = _logits(z)
    axis = V.axis("axis", axis, z.ndim)
    _need_a_finite_entry(z, axis)
    return _tempered(z, T, axis)


def tempered_softmax_grid(z: ArrayLike, temperatures: ArrayLike) -> np.ndarray:
    """Rows softmax(z / T) for each T in ``temperatures``: shape (len(temperatures), len(z)).

    Used in: notebooks/02_temperature.ipynb (probability paths, H(T)), TemperaturePanel.
    """
    Ts = _temperatures(temperatures)
    z = _logits(z, one_d=True)
    _need_a_finite_entry(z, -1)
    if Ts.size * z.size > V.MAX_ELEMENTS:
        raise ValueError(f"temperatures x z would have {Ts.size * z.size} entries; "
                         f"the limit is {V.MAX_ELEMENTS}")
    shifted, _ = _shift(z, -1)
    with np.errstate(over="ignore"):
        return softmax(shifted[None, :] / Ts[:, None], axis=-1)


def entropy(p: ArrayLike, axis: int = -1) -> np.ndarray | np.float64:
    """Shannon entropy -sum p log p in nats (natural log), with 0 log 0 = 0.

    ``p`` must hold probabilities: no negative entries, no NaN, summing to 1
    along ``axis`` (up to rounding). Zeros contribute exactly 0, never NaN.

    Used in: notebooks/02_temperature.ipynb
    """
    p = V.real_array("p", p, min_ndim=1, nonempty=True, dtype=None)
    axis = V.axis("axis", axis, p.ndim)
    if (p < 0).any():
        raise ValueError("p must hold probabilities: no negative entries")
    n = p.shape[axis]
    total = p.sum(axis=axis, dtype=np.float64)
    tol = 1e-9 + 8 * n * np.finfo(p.dtype).eps
    with np.errstate(over="ignore", invalid="ignore"):
        off = np.abs(total - 1)
    if not np.all(off <= tol):
        worst = total.flat[int(np.argmax(np.where(np.isnan(off), np.inf, off)))]
        raise ValueError(f"p must sum to 1 along axis {axis}, a row sums to {worst:.6g}")
    p = p.astype(np.float64)
    positive = p > 0
    # log is only taken where p > 0: 0 * log(0) would be 0 * -inf = NaN.
    terms = np.where(positive, -p * np.log(np.where(positive, p, 1.0)), 0.0)
    return terms.sum(axis=axis)


def perplexity(p: ArrayLike, axis: int = -1) -> np.ndarray | np.float64:
    """exp(entropy(p)): the "effective number of choices", from 1 (one-hot) to n (uniform).

    Used in: notebooks/02_temperature.ipynb
    """
    return np.exp(entropy(p, axis=axis))


def entropy_curve(z: ArrayLike, temperatures: ArrayLike) -> np.ndarray:
    """H(softmax(z / T)) for each T in ``temperatures`` (nats); non-decreasing in T.

    Used in: notebooks/02_temperature.ipynb, TemperaturePanel.
    """
    return np.asarray(entropy(tempered_softmax_grid(z, temperatures), axis=-1))


def smooth_max(z: ArrayLike, T: float, axis: int = -1) -> np.ndarray | float:
    """T * logsumexp(z / T): a smooth maximum, in [max z, max z + T ln n], -> max z as T -> 0+.

    Its slope in T is the entropy, d/dT = H(softmax(z / T)) in [0, ln n] (which
    is where the bounds come from). Computed as m + T logsumexp((z - m) / T),
    m = max z, so the result is never below max z by rounding.

    Used in: notebooks/02_temperature.ipynb
    """
    T = _temperature(T)
    z = _logits(z)
    axis = V.axis("axis", axis, z.ndim)
    shifted, m = _shift(z, axis)
    # An all -inf row gives -inf, as logsumexp does; (z - max z) / T may overflow to -inf.
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.squeeze(np.where(np.isfinite(m), m, 0), axis=axis) \
            + T * logsumexp(shifted / T, axis=axis)
        out = np.where(np.isneginf(np.squeeze(m, axis=axis)), -np.inf, out)
    return out.astype(np.float64) if np.ndim(out) else float(out)


def smooth_max_bounds(z: ArrayLike, T: float, axis: int = -1) -> tuple[np.ndarray, np.ndarray] | tuple[float, float]:
    """(max z, max z + T ln n): the bounds of ``smooth_max(z, T)``; n is the length along axis.

    Used in: notebooks/02_temperature.ipynb, TemperaturePanel.
    """
    T = _temperature(T)
    z = _logits(z)
    axis = V.axis("axis", axis, z.ndim)
    m = np.max(z, axis=axis)
    with np.errstate(over="ignore"):  # max z + T ln n past 1.8e308 is +inf, as it should be
        upper = m + T * math.log(z.shape[axis])
    if np.ndim(m) == 0:
        return float(m), float(upper)
    return m.astype(np.float64), upper.astype(np.float64)


def _entropy_at(z: np.ndarray, T: float) -> float:
    return float(entropy(_tempered(z, T, -1)))


def _bisect_log(f: Callable[[float], float], lo: float, hi: float, rtol: float, max_iter: int) -> float:
    """Root of an increasing f between lo and hi (f(lo) < 0 < f(hi)), bisecting log T."""
    for _ in range(max_iter):
        mid = math.sqrt(lo) * math.sqrt(hi)  # midpoint in log T; no overflow of lo * hi
        if not lo < mid < hi:
            break
        value = f(mid)
        if value == 0:
            return mid
        if value < 0:
            lo = mid
        else:
            hi = mid
        if hi / lo - 1 <= rtol:
            break
    return math.sqrt(lo) * math.sqrt(hi)


def _bracket(f: Callable[[float], float], start: float = 1.0, lo_limit: float = 1e-300,
             hi_limit: float = 1e300) -> tuple[float, float]:
    """[lo, hi] with f(lo) < 0 < f(hi) for an increasing f, by expanding from ``start``."""
    lo = hi = start
    while f(lo) >= 0:
        lo /= 10.0
        if lo < lo_limit:
            raise ValueError("no bracket found: the target is not above the T -> 0+ limit")
    while f(hi) <= 0:
        hi *= 10.0
        if hi > hi_limit:
            raise ValueError("no bracket found: the target is not below the T -> inf limit")
    return lo, hi


def _search_args(rtol: float, max_iter: int) -> tuple[float, int]:
    rtol = V.real_scalar("rtol", rtol, lo=0.0, hi=1.0, lo_open=True)
    max_iter = V.integer("max_iter", max_iter, lo=1, hi=10_000,
                         hi_reason="bisection halves log T each step; 10,000 is far beyond need")
    return rtol, max_iter


def temperature_for_entropy(z: ArrayLike, target: float, *, rtol: float = 1e-12, max_iter: int = 200) -> float:
    """The T > 0 with entropy(softmax(z / T)) == target (nats), by bisection on log T.

    H(T) grows (dH/dT = Var_p(z) / T^3 >= 0) from ln k at T -> 0+ (k = how
    many entries tie for the max) to ln n as T -> inf, strictly in between, so
    the answer is unique for ln k < target < ln n; other targets raise
    ``ValueError``. The bracket starts at [1, 1] and grows by factors of 10
    until it holds the answer; bisection stops when hi / lo - 1 <= rtol.

    Used in: notebooks/02_temperature.ipynb (and its "Your turn").
    """
    z = _logits(z, one_d=True)
    target = V.real_scalar("target", target)
    rtol, max_iter = _search_args(rtol, max_iter)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError("z has no finite entry")
    low = math.log(np.count_nonzero(finite == finite.max()))
    high = math.log(finite.size)
    if not low < target < high:
        raise ValueError(f"target entropy must lie strictly between ln k = {low:.6g} (T -> 0+) "
                         f"and ln n = {high:.6g} (T -> inf) for these logits z, got {target!r}")
    # masked entries never get probability: they do not count in n
    k = _power_of_two_exponent(finite)
    zs: np.ndarray = np.ldexp(finite.astype(np.float64), -k)

    def f(T: float) -> float:
        return _entropy_at(zs, T) - target

    lo, hi = _bracket(f)
    return _unscale(_bisect_log(f, lo, hi, rtol, max_iter), k)


def peak_temperature(z: ArrayLike, i: int, *, rtol: float = 1e-12, max_iter: int = 200) -> float | None:
    """The T at which p_i = softmax(z / T)_i is largest, or None when p_i is monotone.

    dp_i/dT = p_i (E_p[z] - z_i) / T^2, and E_p[z] falls from max z (T -> 0+)
    to mean(z) (T -> inf): p_i rises while E_p[z] > z_i and falls after. So a
    middle entry, mean(z) < z_i < max z, peaks where E_p[z] = z_i; the largest
    entry only falls and an entry at or below the mean only rises (None).

    Used in: notebooks/02_temperature.ipynb (z = [0, 9, 10]).
    """
    zv = V.real_array("z", z, ndim=1, nonempty=True)
    i = V.integer("i", i)
    if not -zv.size <= i < zv.size:
        raise ValueError(f"i must be an index into z, in [{-zv.size}, {zv.size - 1}], got {i}")
    rtol, max_iter = _search_args(rtol, max_iter)
    k = _power_of_two_exponent(zv)
    zs: np.ndarray = np.ldexp(zv, -k)
    zi = float(zs[i])
    if not float(zs.mean()) < zi < float(zs.max()):
        return None

    def f(T: float) -> float:  # increasing in T: E_p[z] decreases
        return zi - float(_tempered(zs, T, -1) @ zs)

    lo, hi = _bracket(f)
    return _unscale(_bisect_log(f, lo, hi, rtol, max_iter), k)


# --------------------------------------------------------------------------
# Decoding: a Zipf-like vocabulary, top-k, top-p, sampling
# --------------------------------------------------------------------------

def zipf_logits(n: int, s: float = 1.0) -> np.ndarray:
    """Logits z_r = -s ln r for ranks r = 1..n, so softmax(z / T)_r is proportional to r^(-s/T).

    Next-token distributions of language models are heavy-tailed, roughly
    Zipf-like: a few likely tokens and a long tail. Tempering a Zipf profile
    gives another one, with exponent s / T. ``n`` is at most
    ``softviz._validate.MAX_ELEMENTS``.

    Used in: notebooks/02_temperature.ipynb
    """
    n = V.integer("n", n, lo=1, hi=V.MAX_ELEMENTS, hi_reason="the largest array softviz builds")
    s = V.positive_real("s", s)
    with np.errstate(over="ignore"):  # s ln r past 1.8e308 is -inf: a token never drawn
        return -s * np.log(np.arange(1, n + 1, dtype=np.float64))


def top_k_filter(z: ArrayLike, k: int, axis: int = -1) -> np.ndarray:
    """Keep the k largest logits along ``axis``, set the rest to -inf.

    Ties with the k-th largest value are all kept (so more than k entries can
    survive), as the Hugging Face ``TopKLogitsWarper`` does; k >= n keeps all.

    Used in: notebooks/02_temperature.ipynb
    """
    z = _logits(z)
    k = V.integer("k", k, lo=1)
    axis = V.axis("axis", axis, z.ndim)
    n = z.shape[axis]
    if k >= n:
        return z.copy()
    kth = -np.partition(-z, k - 1, axis=axis).take([k - 1], axis=axis)
    return np.where(z >= kth, z, -np.inf)


def top_p_filter(z: ArrayLike, p: float, axis: int = -1) -> np.ndarray:
    """Nucleus filter: keep the most likely logits whose softmax mass first reaches p.

    Sorted by probability, a token is kept when the mass of the tokens before
    it is below ``p`` (so the token that crosses p is kept, and the top token
    always is); tokens tied with the last kept one are kept too. p = 1 keeps
    every token. Apply the temperature first (``z / T``), as samplers do.
    Holtzman et al., "The Curious Case of Neural Text Degeneration", 2020,
    arXiv:1904.09751.

    Used in: notebooks/02_temperature.ipynb
    """
    z = _logits(z)
    p = V.real_scalar("p", p, lo=0.0, hi=1.0, lo_open=True)
    axis = V.axis("axis", axis, z.ndim)
    _need_a_finite_entry(z, axis)
    if p == 1:
        return z.copy()
    probs = np.moveaxis(_tempered(z, 1.0, axis), axis, -1)
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_p, axis=-1) - sorted_p
    n_keep = np.maximum((before < p).sum(axis=-1, keepdims=True), 1)
    threshold = np.take_along_axis(sorted_p, n_keep - 1, axis=-1)
    keep = np.moveaxis(probs >= threshold, -1, axis)
    return np.where(keep, z, -np.inf)


def _sampling_probabilities(z: np.ndarray, T: float, top_k: int | None, top_p: float | None) -> np.ndarray:
    scaled, _ = _shift(z, -1)
    with np.errstate(over="ignore"):
        scaled = scaled / T
    if top_k is not None:
        scaled = top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = top_p_filter(scaled, top_p)
    return softmax(scaled)


def sampling_probabilities(z: ArrayLike, T: float = 1.0, *, top_k: int | None = None,
                           top_p: float | None = None) -> np.ndarray:
    """The distribution a sampler draws from: softmax of z / T after top-k, then top-p.

    The order (temperature, then top-k, then top-p) is the usual one of
    language-model samplers. ``z`` is 1-D.

    Used in: notebooks/02_temperature.ipynb
    """
    T = _temperature(T)
    z = _logits(z, one_d=True)
    _need_a_finite_entry(z, -1)
    return _sampling_probabilities(z, T, _optional_k("top_k", top_k), _optional_p("top_p", top_p))


def _inverse_cdf(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(p)
    cdf /= cdf[-1]  # so u < 1 always lands inside; zero-probability entries are never hit
    return np.searchsorted(cdf, u, side="right")


def sample_tokens(z: ArrayLike, T: float = 1.0, size: int | tuple[int, ...] | None = None, *,
                  top_k: int | None = None, top_p: float | None = None,
                  rng: int | np.random.Generator | None = None) -> int | np.ndarray:
    """Draw token indices from ``sampling_probabilities(z, T, top_k=..., top_p=...)``.

    Inverse-CDF sampling from ``rng.random(size)``: the same ``rng`` seed gives
    the same uniforms at every T, so the samples change with T only because
    the distribution does (common random numbers). Returns an int array of
    shape ``size`` (an int when size is None).

    Used in: notebooks/02_temperature.ipynb, TemperaturePanel.
    """
    shape = None if size is None else V.shape("size", size)
    gen = _rng(rng)
    p = sampling_probabilities(z, T, top_k=top_k, top_p=top_p)
    u = gen.random(shape)
    idx = _inverse_cdf(p, np.asarray(u))
    return int(idx) if size is None else idx


def sample_diversity(z: ArrayLike, temperatures: ArrayLike, n_samples: int, *, top_k: int | None = None,
                     top_p: float | None = None,
                     rng: int | np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """How diverse n_samples draws are at each temperature.

    Returns a dict of arrays, one entry per T: ``"distinct"`` (how many
    different tokens were drawn), ``"sample_entropy"`` (plug-in entropy of the
    sample frequencies, nats) and ``"entropy"`` (the exact entropy of the
    distribution sampled). The same uniforms are used at every T.

    Used in: notebooks/02_temperature.ipynb
    """
    Ts = _temperatures(temperatures)
    z = _logits(z, one_d=True)
    _need_a_finite_entry(z, -1)
    n_samples = V.integer("n_samples", n_samples, lo=1, hi=V.MAX_ELEMENTS,
                          hi_reason="the largest array softviz builds")
    if Ts.size * (n_samples + z.size) > 10 * V.MAX_ELEMENTS:
        raise ValueError(f"temperatures ({Ts.size}) x n_samples ({n_samples}) is too much work; "
                         f"keep their product below {10 * V.MAX_ELEMENTS}")
    top_k, top_p = _optional_k("top_k", top_k), _optional_p("top_p", top_p)
    u = _rng(rng).random(n_samples)
    distinct, sample_h, exact_h = [], [], []
    for T in Ts:
        p = _sampling_probabilities(z, float(T), top_k, top_p)
        counts = np.bincount(_inverse_cdf(p, u), minlength=z.size)
        distinct.append(np.count_nonzero(counts))
        sample_h.append(entropy(counts / counts.sum()))
        exact_h.append(entropy(p))
    return {"temperatures": Ts, "distinct": np.array(distinct),
            "sample_entropy": np.array(sample_h), "entropy": np.array(exact_h)}


# Temperature in the wild is the going-further notebook's: its own module, reachable from here
# (loaded on first use, since it needs this module itself).
_FURTHER = ("MAX_STEPS", "moe_gate", "sac_tune_alpha", "soft_targets", "distillation_loss",
            "distillation_gradient")

__getattr__, __dir__ = lazy_exports(__package__, dict.fromkeys(_FURTHER, "temperature_further"), globals(), __all__,
                                    owner=__name__)
