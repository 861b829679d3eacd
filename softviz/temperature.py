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
* temperature in the wild, each just enough for a few numbers and a plot:
  ``moe_gate`` (dense-to-sparse gating of a mixture of experts), ``sac_tune_alpha``
  (the entropy temperature of Soft Actor-Critic), ``soft_targets``,
  ``distillation_loss`` and ``distillation_gradient`` (knowledge distillation).

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
import numbers

import numpy as np

from ._args import positive_real
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
    "moe_gate",
    "sac_tune_alpha",
    "soft_targets",
    "distillation_loss",
    "distillation_gradient",
]


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------

def _temperature(T, name="T"):
    return positive_real(name, T)


def _temperatures(Ts, name="temperatures"):
    Ts = np.asarray(Ts, dtype=np.float64)
    if Ts.ndim != 1 or Ts.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {Ts.shape}")
    if not (np.isfinite(Ts).all() and (Ts > 0).all()):
        raise ValueError(f"{name} must all be finite and > 0")
    return Ts


def _logits(z, name="z", *, one_d=False):
    """z as a float array; NaN and +inf are errors, -inf (a masked entry) is allowed."""
    try:
        arr = np.asarray(z)
    except Exception:
        raise TypeError(f"{name} must be an array of real numbers") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if one_d and arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    if np.isnan(arr).any() or np.isposinf(arr).any():
        raise ValueError(f"{name} must not contain NaN or +inf (-inf marks a masked entry)")
    return arr


def _shift(z, axis):
    # Subtracting the (finite) max first makes every scaled logit <= 0: z / T
    # can then only underflow, never overflow, so T -> 0+ gives exactly the
    # uniform distribution over the argmax set instead of inf / inf.
    m = np.max(z, axis=axis, keepdims=True)
    return z - np.where(np.isfinite(m), m, 0).astype(z.dtype), m


def _rng(rng):
    return np.random.default_rng(rng)


# --------------------------------------------------------------------------
# Tempered softmax, entropy, smooth max
# --------------------------------------------------------------------------

def tempered_softmax(z, T, axis=-1):
    """softmax(z / T) along ``axis``, for a temperature T > 0 (finite).

    T -> 0+ tends to the uniform distribution over the argmax set, T -> inf to
    the uniform distribution; for every T the order of the entries is kept.
    ``-inf`` entries (masked) get probability 0. Computed by ``softviz.softmax``
    after shifting by the max, so even T = 1e-300 gives no overflow.

    Used in: notebooks/02_temperature.ipynb
    """
    T = _temperature(T)
    z = _logits(z)
    shifted, _ = _shift(z, axis)
    with np.errstate(over="ignore"):  # (z - max z) / T -> -inf is the intended T -> 0+ limit
        return softmax(shifted, axis=axis, temperature=T)


def tempered_softmax_grid(z, temperatures):
    """Rows softmax(z / T) for each T in ``temperatures``: shape (len(temperatures), len(z)).

    Used in: notebooks/02_temperature.ipynb (probability paths, H(T)), TemperaturePanel.
    """
    Ts = _temperatures(temperatures)
    z = _logits(z, one_d=True)
    shifted, _ = _shift(z, -1)
    with np.errstate(over="ignore"):
        return softmax(shifted[None, :] / Ts[:, None], axis=-1)


def entropy(p, axis=-1):
    """Shannon entropy -sum p log p in nats (natural log), with 0 log 0 = 0.

    ``p`` must hold probabilities: no negative entries, no NaN, summing to 1
    along ``axis`` (up to rounding). Zeros contribute exactly 0, never NaN.

    Used in: notebooks/02_temperature.ipynb
    """
    p = _logits(p, "p")
    if np.isinf(p).any() or (p < 0).any():
        raise ValueError("p must hold probabilities: no negative or infinite entries")
    n = p.shape[axis]
    if n == 0:
        raise ValueError("p is empty along axis: the entropy of no outcomes is undefined")
    total = p.sum(axis=axis, dtype=np.float64)
    tol = 1e-9 + 8 * n * np.finfo(p.dtype).eps
    if not np.all(np.abs(total - 1) <= tol):
        worst = total.flat[np.argmax(np.abs(total - 1))]
        raise ValueError(f"p must sum to 1 along axis {axis}, a row sums to {worst:.6g}")
    p = p.astype(np.float64)
    positive = p > 0
    # log is only taken where p > 0: 0 * log(0) would be 0 * -inf = NaN.
    terms = np.where(positive, -p * np.log(np.where(positive, p, 1.0)), 0.0)
    return terms.sum(axis=axis)


def perplexity(p, axis=-1):
    """exp(entropy(p)): the "effective number of choices", from 1 (one-hot) to n (uniform).

    Used in: notebooks/02_temperature.ipynb
    """
    return np.exp(entropy(p, axis=axis))


def entropy_curve(z, temperatures):
    """H(softmax(z / T)) for each T in ``temperatures`` (nats); non-decreasing in T.

    Used in: notebooks/02_temperature.ipynb, TemperaturePanel.
    """
    return entropy(tempered_softmax_grid(z, temperatures), axis=-1)


def smooth_max(z, T, axis=-1):
    """T * logsumexp(z / T): a smooth maximum, in [max z, max z + T ln n], -> max z as T -> 0+.

    Its slope in T is the entropy, d/dT = H(softmax(z / T)) in [0, ln n] (which
    is where the bounds come from). Computed as m + T logsumexp((z - m) / T),
    m = max z, so the result is never below max z by rounding.

    Used in: notebooks/02_temperature.ipynb
    """
    T = _temperature(T)
    z = _logits(z)
    shifted, m = _shift(z, axis)
    # An all -inf row gives -inf, as logsumexp does; (z - max z) / T may overflow to -inf.
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.squeeze(np.where(np.isfinite(m), m, 0), axis=axis) \
            + T * logsumexp(shifted / T, axis=axis)
    return out.astype(np.float64) if np.ndim(out) else float(out)


def smooth_max_bounds(z, T, axis=-1):
    """(max z, max z + T ln n): the bounds of ``smooth_max(z, T)``; n is the length along axis.

    Used in: notebooks/02_temperature.ipynb, TemperaturePanel.
    """
    T = _temperature(T)
    z = _logits(z)
    m = np.max(z, axis=axis)
    upper = m + T * math.log(z.shape[axis])
    if np.ndim(m) == 0:
        return float(m), float(upper)
    return m.astype(np.float64), upper.astype(np.float64)


def _entropy_at(z, T):
    return float(entropy(tempered_softmax(z, T)))


def _bisect_log(f, lo, hi, rtol, max_iter):
    """Root of an increasing f between lo and hi (f(lo) < 0 < f(hi)), bisecting log T."""
    for _ in range(max_iter):
        mid = math.sqrt(lo * hi)  # midpoint in log T: T spans many decades
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
    return math.sqrt(lo * hi)


def _bracket(f, start=1.0, lo_limit=1e-300, hi_limit=1e300):
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


def temperature_for_entropy(z, target, *, rtol=1e-12, max_iter=200):
    """The T > 0 with entropy(softmax(z / T)) == target (nats), by bisection on log T.

    H(T) grows (dH/dT = Var_p(z) / T^3 >= 0) from ln k at T -> 0+ (k = how
    many entries tie for the max) to ln n as T -> inf, strictly in between, so
    the answer is unique for ln k < target < ln n; other targets raise
    ``ValueError``. The bracket starts at [1, 1] and grows by factors of 10
    until it holds the answer; bisection stops when hi / lo - 1 <= rtol.

    Used in: notebooks/02_temperature.ipynb (and its "Your turn").
    """
    z = _logits(z, one_d=True)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError("z has no finite entry")
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real):
        raise TypeError(f"target must be a real number, got {type(target).__name__}")
    target = float(target)
    low = math.log(np.count_nonzero(finite == finite.max()))
    high = math.log(finite.size)
    if not low < target < high:
        raise ValueError(f"target entropy must lie strictly between ln k = {low:.6g} (T -> 0+) "
                         f"and ln n = {high:.6g} (T -> inf) for these logits, got {target!r}")
    z = finite  # masked entries never get probability: they do not count in n

    def f(T):
        return _entropy_at(z, T) - target

    lo, hi = _bracket(f)
    return _bisect_log(f, lo, hi, rtol, max_iter)


def peak_temperature(z, i, *, rtol=1e-12, max_iter=200):
    """The T at which p_i = softmax(z / T)_i is largest, or None when p_i is monotone.

    dp_i/dT = p_i (E_p[z] - z_i) / T^2, and E_p[z] falls from max z (T -> 0+)
    to mean(z) (T -> inf): p_i rises while E_p[z] > z_i and falls after. So a
    middle entry, mean(z) < z_i < max z, peaks where E_p[z] = z_i; the largest
    entry only falls and an entry at or below the mean only rises (None).

    Used in: notebooks/02_temperature.ipynb (z = [0, 9, 10]).
    """
    z = _logits(z, one_d=True)
    if not np.isfinite(z).all():
        raise ValueError("peak_temperature needs finite logits")
    if not isinstance(i, (numbers.Integral, np.integer)) or isinstance(i, bool):
        raise TypeError(f"i must be an integer index, got {type(i).__name__}")
    zi = float(z[i])
    if not float(z.mean()) < zi < float(z.max()):
        return None

    def f(T):  # increasing in T: E_p[z] decreases
        return zi - float(tempered_softmax(z, T) @ z)

    lo, hi = _bracket(f)
    return _bisect_log(f, lo, hi, rtol, max_iter)


# --------------------------------------------------------------------------
# Decoding: a Zipf-like vocabulary, top-k, top-p, sampling
# --------------------------------------------------------------------------

def zipf_logits(n, s=1.0):
    """Logits z_r = -s ln r for ranks r = 1..n, so softmax(z / T)_r is proportional to r^(-s/T).

    Next-token distributions of language models are heavy-tailed, roughly
    Zipf-like: a few likely tokens and a long tail. Tempering a Zipf profile
    gives another one, with exponent s / T.

    Used in: notebooks/02_temperature.ipynb
    """
    if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    s = float(s)
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"s must be finite and > 0, got {s!r}")
    return -s * np.log(np.arange(1, int(n) + 1, dtype=np.float64))


def top_k_filter(z, k, axis=-1):
    """Keep the k largest logits along ``axis``, set the rest to -inf.

    Ties with the k-th largest value are all kept (so more than k entries can
    survive), as the Hugging Face ``TopKLogitsWarper`` does; k >= n keeps all.

    Used in: notebooks/02_temperature.ipynb
    """
    z = _logits(z)
    if isinstance(k, bool) or not isinstance(k, (numbers.Integral, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    n = z.shape[axis]
    if k >= n:
        return z.copy()
    kth = -np.partition(-z, k - 1, axis=axis).take([k - 1], axis=axis)
    return np.where(z >= kth, z, -np.inf)


def top_p_filter(z, p, axis=-1):
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
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ValueError(f"p must be a number in (0, 1], got {p!r}")
    if p == 1:
        return z.copy()
    probs = np.moveaxis(softmax(z, axis=axis), axis, -1)
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_p, axis=-1) - sorted_p
    n_keep = np.maximum((before < p).sum(axis=-1, keepdims=True), 1)
    threshold = np.take_along_axis(sorted_p, n_keep - 1, axis=-1)
    keep = np.moveaxis(probs >= threshold, -1, axis)
    return np.where(keep, z, -np.inf)


def sampling_probabilities(z, T=1.0, *, top_k=None, top_p=None):
    """The distribution a sampler draws from: softmax of z / T after top-k, then top-p.

    The order (temperature, then top-k, then top-p) is the usual one of
    language-model samplers. ``z`` is 1-D.

    Used in: notebooks/02_temperature.ipynb
    """
    T = _temperature(T)
    z = _logits(z, one_d=True)
    scaled, _ = _shift(z, -1)
    with np.errstate(over="ignore"):
        scaled = scaled / T
    if top_k is not None:
        scaled = top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = top_p_filter(scaled, top_p)
    return softmax(scaled)


def _inverse_cdf(p, u):
    cdf = np.cumsum(p)
    cdf /= cdf[-1]  # so u < 1 always lands inside; zero-probability entries are never hit
    return np.searchsorted(cdf, u, side="right")


def sample_tokens(z, T=1.0, size=None, *, top_k=None, top_p=None, rng=None):
    """Draw token indices from ``sampling_probabilities(z, T, top_k=..., top_p=...)``.

    Inverse-CDF sampling from ``rng.random(size)``: the same ``rng`` seed gives
    the same uniforms at every T, so the samples change with T only because
    the distribution does (common random numbers). Returns an int array of
    shape ``size`` (an int when size is None).

    Used in: notebooks/02_temperature.ipynb, TemperaturePanel.
    """
    p = sampling_probabilities(z, T, top_k=top_k, top_p=top_p)
    u = _rng(rng).random(size)
    idx = _inverse_cdf(p, np.asarray(u))
    return int(idx) if size is None else idx


def sample_diversity(z, temperatures, n_samples, *, top_k=None, top_p=None, rng=None):
    """How diverse n_samples draws are at each temperature.

    Returns a dict of arrays, one entry per T: ``"distinct"`` (how many
    different tokens were drawn), ``"sample_entropy"`` (plug-in entropy of the
    sample frequencies, nats) and ``"entropy"`` (the exact entropy of the
    distribution sampled). The same uniforms are used at every T.

    Used in: notebooks/02_temperature.ipynb
    """
    Ts = _temperatures(temperatures)
    z = _logits(z, one_d=True)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (numbers.Integral, np.integer)) \
            or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    u = _rng(rng).random(int(n_samples))
    distinct, sample_h, exact_h = [], [], []
    for T in Ts:
        p = sampling_probabilities(z, float(T), top_k=top_k, top_p=top_p)
        counts = np.bincount(_inverse_cdf(p, u), minlength=z.size)
        distinct.append(np.count_nonzero(counts))
        sample_h.append(entropy(counts / counts.sum()))
        exact_h.append(entropy(p))
    return {"temperatures": Ts, "distinct": np.array(distinct),
            "sample_entropy": np.array(sample_h), "entropy": np.array(exact_h)}


# --------------------------------------------------------------------------
# Temperature in the wild
# --------------------------------------------------------------------------

def moe_gate(x, weights, biases, T, activation=None):
    """Gate of a mixture of experts with a temperature: softmax((w_k x + b_k) / T) over experts k.

    ``x`` holds m scalar inputs, ``weights``/``biases`` one number per expert;
    returns (m, K) gate probabilities (rows sum to 1). Large T: dense (every
    expert shares every input); small T: sparse (one expert per input), which
    is how dense-to-sparse gating anneals T during training. ``activation``
    (e.g. ``numpy.tanh``) is applied to w_k x + b_k before the temperature:
    the "activation dense-to-sparse gate" of Nguyen, Akbarian & Ho.

    Without an activation the gate only sees (w, b) / T: (c w, c b, c T) gives
    the same gate for every c > 0, the simplest face of the interaction
    between temperature and gating parameters that Nguyen, Akbarian & Ho
    ("Is Temperature Sample Efficient for Softmax Gaussian Mixture of
    Experts?", ICML 2024, arXiv:2401.13875) show slows parameter estimation
    (as slow as 1 / log n).

    Used in: notebooks/02_temperature.ipynb
    """
    T = _temperature(T)
    x = _logits(np.atleast_1d(np.asarray(x, dtype=np.float64)), "x")
    w = _logits(np.atleast_1d(np.asarray(weights, dtype=np.float64)), "weights", one_d=True)
    b = _logits(np.atleast_1d(np.asarray(biases, dtype=np.float64)), "biases", one_d=True)
    if w.shape != b.shape:
        raise ValueError(f"weights and biases need one number per expert, got {w.size} and {b.size}")
    scores = x.reshape(-1, 1) * w + b
    if activation is not None:
        scores = np.asarray(activation(scores), dtype=np.float64)
    return tempered_softmax(scores, T, axis=-1)


def sac_tune_alpha(q, target_entropy, *, alpha0=1.0, lr=0.5, steps=50):
    """Soft Actor-Critic's temperature tuning on one state with discrete actions.

    The soft-optimal policy for action values ``q`` is pi = softmax(q / alpha);
    alpha is tuned by gradient descent on J(alpha) = alpha (H(pi) - H_target)
    in log alpha (pi held fixed in the gradient, as in SAC):
    log alpha <- log alpha - lr (H(pi) - H_target). Too random (H above target)
    lowers alpha, too greedy raises it; the fixed point is
    ``temperature_for_entropy(q, target_entropy)``. Exact entropies, no sampling.

    Returns a dict of arrays of length steps + 1: ``"alpha"`` and ``"entropy"``.
    T. Haarnoja et al., "Soft Actor-Critic Algorithms and Applications", 2018,
    arXiv:1812.05905.

    Used in: notebooks/02_temperature.ipynb
    """
    q = _logits(q, "q", one_d=True)
    alpha = _temperature(alpha0, "alpha0")
    target = float(target_entropy)
    if not (0 <= target <= math.log(q.size)):
        raise ValueError(f"target_entropy must lie in [0, ln n = {math.log(q.size):.6g}], "
                         f"got {target_entropy!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    log_alpha = math.log(alpha)
    alphas, entropies = [], []
    for _ in range(int(steps) + 1):
        alpha = math.exp(log_alpha)
        h = _entropy_at(q, alpha)
        alphas.append(alpha)
        entropies.append(h)
        log_alpha -= lr * (h - target)
    return {"alpha": np.array(alphas), "entropy": np.array(entropies)}


def soft_targets(teacher_logits, T):
    """Hinton et al.'s soft targets softmax(z_teacher / T): T > 1 reveals the "dark knowledge".

    The small probabilities a teacher gives to wrong classes (how much a "2"
    looks like a "3" or a "7") are invisible at T = 1 and carry information
    at T = 2..20. G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in
    a Neural Network", 2015, arXiv:1503.02531.

    Used in: notebooks/02_temperature.ipynb
    """
    return tempered_softmax(teacher_logits, T)


def _distillation_args(student_logits, teacher_logits, T):
    T = _temperature(T)
    zs = _logits(student_logits, "student_logits", one_d=True)
    zt = _logits(teacher_logits, "teacher_logits", one_d=True)
    if zs.shape != zt.shape:
        raise ValueError(f"student and teacher need the same number of classes, "
                         f"got {zs.size} and {zt.size}")
    return T, zs, zt


def distillation_loss(student_logits, teacher_logits, T):
    """T^2 * cross-entropy(soft_targets(teacher, T), softmax(student / T)), in nats.

    The T^2 keeps the gradient's size comparable across temperatures (the
    soft-target gradient scales as 1 / T^2), as Hinton et al. recommend.

    Used in: notebooks/02_temperature.ipynb
    """
    T, zs, zt = _distillation_args(student_logits, teacher_logits, T)
    q = soft_targets(zt, T)
    shifted, _ = _shift(zs, -1)
    log_p = shifted / T - logsumexp(shifted / T)
    return float(-T * T * np.sum(np.where(q > 0, q * log_p, 0.0)))


def distillation_gradient(student_logits, teacher_logits, T):
    """Gradient of ``distillation_loss`` with respect to the student logits: T (p - q).

    p = softmax(z_s / T), q = softmax(z_t / T). For large T and zero-mean
    logits it tends to (z_s - z_t) / n: distillation becomes matching the
    logits (Hinton et al., section 2.1).

    Used in: notebooks/02_temperature.ipynb
    """
    T, zs, zt = _distillation_args(student_logits, teacher_logits, T)
    return T * (tempered_softmax(zs, T) - tempered_softmax(zt, T))
