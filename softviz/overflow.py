"""Lesson 01 (overflow): softmax computed inside a floating-point format, step by step.

Every operation is rounded to the format (float16, bfloat16, float32 or float64;
``softviz.numerics.round_to``), so the lesson can show where exp(z) overflows to
inf, where a sum underflows to 0, what the naive formula exp(z) / sum(exp(z))
returns (``naive_outcome``, ``naive_outcome_grid``), what the max shift (the
log-sum-exp trick) changes (``softmax_steps``, ``log_softmax_in``), when 1 + x == 1
(``is_absorbed``) and how softmax collapses while StableMax does not
(``collapse_profile``), after Prieto, Barsbey, Mediano and Birdal, "Grokking at the
Edge of Numerical Stability" (2025, arXiv:2501.04697).

The per-dtype facts these build on (exp thresholds, the collapse threshold,
bfloat16 rounding, ulps) are general and live in ``softviz.numerics``.

Used in: notebooks/01_overflow.ipynb (and OverflowPanel, softviz/panels/overflow.py).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _validate as V
from .numerics import DTYPES, dtype_name, exp_thresholds, round_to

__all__ = [
    "SoftmaxSteps",
    "softmax_steps",
    "NAIVE_OUTCOMES",
    "naive_outcome",
    "naive_outcome_grid",
    "log_softmax_in",
    "is_absorbed",
    "collapse_profile",
]


class SoftmaxSteps(NamedTuple):
    """The intermediate values of one softmax computation, each a value of the format.

    ``logits`` (the input rounded to the format), ``shifted`` (z - max(z) for
    the stable method, z itself for the naive one), ``exp``, ``sum`` (one per
    row) and ``p``; all float64 arrays holding values of the format.
    """

    logits: np.ndarray
    shifted: np.ndarray
    exp: np.ndarray
    sum: np.ndarray
    p: np.ndarray


def _sequential_sum(e: np.ndarray, r: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    # Left to right, rounding after each addition, as a scalar loop in the
    # format would; numpy's own float16 sum pairs terms differently, which
    # changes only the last bits, never whether the sum overflows.
    total = np.zeros(e.shape[:-1])
    with np.errstate(invalid="ignore"):
        for i in range(e.shape[-1]):
            total = r(total + e[..., i])
    return total


#: Longest row the step-by-step functions take (their sum runs left to right, one step per entry).
_MAX_ROW = 100_000


def _rows(z: ArrayLike, name: str = "z") -> np.ndarray:
    arr = V.numeric_array(name, z, max_size=10_000_000)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} needs at least one logit along its last axis, got shape {arr.shape}")
    if arr.shape[-1] > _MAX_ROW:
        raise ValueError(f"{name} has rows of {arr.shape[-1]} logits; the limit is {_MAX_ROW} "
                         f"(the sum is formed one entry at a time)")
    return arr.astype(np.float64)


def softmax_steps(z: ArrayLike, dtype: DTypeLike, method: str = "naive") -> SoftmaxSteps:
    """Softmax of the rows of ``z`` (last axis) with every operation rounded to ``dtype``.

    ``method="naive"``: exp(z) / sum(exp(z)), nothing shifted -- the formula
    that overflows. ``method="stable"``: the same after subtracting the row
    max, z - max(z) (the log-sum-exp or "shift" trick). ``dtype`` is one of
    ``DTYPES``, so bfloat16, which numpy lacks, can be compared with the
    others: the logits are first rounded to the format, then each exp, each
    addition (left to right) and each division is rounded (see
    ``round_to``). Returns the ``SoftmaxSteps`` so a lesson can show where an
    inf or a 0 first appears. Special values: a row holding +inf or NaN, or
    only -inf, gives NaN probabilities, as ``softviz.reference.stable_softmax``.

    Used in: notebooks/01_overflow.ipynb (OverflowPanel).
    """
    V.choice("method", method, ("naive", "stable"))
    x = round_to(_rows(z), dtype)

    def r(v: ArrayLike) -> np.ndarray:
        return round_to(v, dtype)

    with np.errstate(all="ignore"):
        # inf - inf is NaN here, which spreads over a row holding +inf (as scipy).
        t = r(x - x.max(axis=-1, keepdims=True)) if method == "stable" else x
        e = r(np.exp(t))
        s = _sequential_sum(e, r)
        p = r(e / s[..., None])
    return SoftmaxSteps(x, t, e, s, p)


#: What the naive formula exp(z) / sum(exp(z)) returns for a row, as ``naive_outcome`` codes 0..3:
#: "finite" -- every probability finite; "inf" -- some exp(z_i) overflowed to inf, so that entry
#: is inf / inf = NaN (and the others x / inf = 0); "all zero" -- every exp(z_i) finite but their
#: sum overflowed, so every probability is x / inf = 0; "NaN" -- every exp(z_i) underflowed to 0,
#: so every probability is 0 / 0 = NaN (or the row held a NaN).
NAIVE_OUTCOMES = ("finite", "inf", "all zero", "NaN")


def naive_outcome(z: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """Classify what the naive softmax of each row of ``z`` gives in ``dtype`` (codes into ``NAIVE_OUTCOMES``).

    Returns an int array of shape ``z.shape[:-1]`` (0-d for one row):
    ``NAIVE_OUTCOMES[code]`` names the outcome. The classes follow the
    order in which things go wrong: an exp that overflowed ("inf") wins over
    everything else, then total underflow ("NaN"), then an overflowing sum
    ("all zero"); "finite" means every probability came out a number. A
    finite row can still be inaccurate (entries that underflowed to 0 where
    the stable formula keeps a tiny value): see ``softmax_steps``.

    Used in: notebooks/01_overflow.ipynb (the OverflowPanel's plane).
    """
    steps = softmax_steps(z, dtype, "naive")
    e, s, p = steps.exp, steps.sum, steps.p
    code = np.where(np.isinf(e).any(axis=-1), 1,
                    np.where((e == 0).all(axis=-1), 3,
                             np.where(np.isinf(s), 2,
                                      np.where(np.isfinite(p).all(axis=-1), 0, 3))))
    return np.asarray(code, dtype=np.int64)


def naive_outcome_grid(base: ArrayLike, scales: ArrayLike, shift: float = 0.0,
                       dtypes: Sequence[DTypeLike] = DTYPES) -> np.ndarray:
    """``naive_outcome`` of the logits ``scale * base + shift`` for every scale and dtype.

    ``base`` is one row of logits, ``scales`` a 1-D array; the logits are
    formed in float64 and then rounded to each format. Returns an int array
    of shape ``(len(dtypes), len(scales))``.

    Used in: notebooks/01_overflow.ipynb (the OverflowPanel's (scale, dtype) plane).
    """
    base = _rows(base, "base")
    scales = V.real_array("scales", scales, ndim=1)
    if base.ndim != 1:
        raise ValueError(f"base must be a 1-D array (one row of logits), got shape {base.shape}")
    shift = V.real_scalar("shift", shift)
    if isinstance(dtypes, (str, bytes)) or not isinstance(dtypes, (list, tuple, np.ndarray)):
        raise TypeError(f"dtypes must be a list of names from {DTYPES}, got {V.short(dtypes)}")
    names = [dtype_name(d, "dtypes") for d in dtypes]
    if not names:
        raise ValueError(f"dtypes must name at least one of {DTYPES}")
    if scales.size * base.size * max(1, len(names)) > 10_000_000:
        raise ValueError("scales x base x dtypes is too large; keep the product below 10,000,000")
    with np.errstate(over="ignore", invalid="ignore"):
        z = scales[:, None] * base[None, :] + shift
    if not np.isfinite(z).all():
        raise ValueError("scales * base + shift overflows: use smaller scales, base or shift")
    return np.stack([naive_outcome(z, d) for d in names]).reshape(len(names), scales.size)


def log_softmax_in(z: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """log_softmax of the rows of ``z`` computed in ``dtype``: (z - m) - log(sum(exp(z - m))).

    The textbook max-shifted form, every operation rounded to the format (as
    ``softmax_steps``), with the log of the sum taken as it is (not log1p).
    In float32 and float64 it gives exactly what
    ``softviz.reference.stable_log_softmax`` (and scipy) give, including the
    softmax collapse: log_softmax([D, 0])[0] == 0 exactly once
    D >= ``collapse_threshold(dtype)``. A non-finite row max is replaced by 0,
    as in ``stable_log_softmax``, so a row holding +inf or NaN -- also a finite
    logit that rounds to inf in the format -- gives NaN, as it would in the
    format itself. Returns float64 values of the format.

    Used in: notebooks/01_overflow.ipynb (softmax collapse).
    """
    x = round_to(_rows(z), dtype)

    def r(v: ArrayLike) -> np.ndarray:
        return round_to(v, dtype)

    with np.errstate(all="ignore"):
        m = x.max(axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        t = r(x - m)
        s = _sequential_sum(r(np.exp(t)), r)
        return r(t - r(np.log(s))[..., None])


def is_absorbed(x: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """True where 1 + x == 1 in ``dtype``: x is absorbed by 1 (x first rounded to the format).

    With p bits of precision, 1 + 2**-p is the tie between 1 and the next
    value up, and ties go to the even neighbour 1: in float32 1 + 2**-24 == 1
    while 1 + 2**-23 != 1. This absorption is what makes softmax collapse
    (Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
    Stability", 2025, arXiv:2501.04697).

    Used in: notebooks/01_overflow.ipynb.
    """
    return np.asarray(round_to(1.0 + round_to(x, dtype), dtype) == 1.0)


def collapse_profile(gap: ArrayLike, dtype: DTypeLike) -> dict[str, Any]:
    """Softmax and StableMax cross-entropy for two classes with logits [D, 0], D = ``gap``, in ``dtype``.

    The first class is the correct one. Every value is computed in the format
    (see ``round_to``) the way a training framework computes it:

    - ``log_softmax`` = log_softmax([D, 0])[0] (``log_softmax_in``); ``loss``
      is its negative, the cross-entropy;
    - ``p`` = exp(log_softmax), the softmax probability of the correct class;
    - ``grad`` = p - 1, the gradient of the loss with respect to the correct
      logit (what back-propagation through log_softmax computes), and
      ``grad_other`` = exp(log_softmax([D, 0])[1]), the gradient with respect
      to the other logit;
    - ``stablemax_p``, ``stablemax_loss``, ``stablemax_grad``: the same for
      StableMax, s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0), normalised; for
      D >= 0, p = s(D) / (s(D) + s(0)) and the gradient
      1 / (s(D) + s(0)) - 1 / s(D), computed as that difference;
    - ``exact_loss``, ``exact_grad``, ``stablemax_exact_grad``: the true
      values, log(1 + e^-D), -1 / (1 + e^D) and -1 / ((D + 1)(D + 2)),
      accurate in float64.

    Once e^-D is absorbed by 1 (D >= ``collapse_threshold(dtype)``: 24 ln 2
    for float32), ``loss``, ``grad`` and ``log_softmax`` are exactly 0: the
    "Softmax Collapse" of Prieto, Barsbey, Mediano and Birdal, "Grokking at
    the Edge of Numerical Stability" (2025, arXiv:2501.04697). StableMax
    decays like 1/D instead of e^-D and stays non-zero up to D ~ 2**p.
    ``gap`` must be >= 0 (a scalar or an array); every entry of the result
    has its shape.

    Used in: notebooks/01_overflow.ipynb (softmax collapse).
    """
    d = V.numeric_array("gap", gap).astype(np.float64)
    if not (np.isfinite(d).all() and (d >= 0).all()):
        raise ValueError("gap must be finite and >= 0 (the correct class has the larger logit)")

    def r(v: ArrayLike) -> np.ndarray:
        return round_to(v, dtype)

    x = r(d)
    if np.isinf(x).any():
        raise ValueError(f"gap must be finite in {dtype_name(dtype)} "
                         f"(at most {exp_thresholds(dtype).max:.6g})")
    lsm = log_softmax_in(np.stack([x, np.zeros_like(x)], axis=-1), dtype)
    with np.errstate(all="ignore"):
        p = r(np.exp(lsm[..., 0]))
        s_d = r(x + 1.0)
        total = r(s_d + 1.0)
        sm_p = r(s_d / total)
        return {
            "gap": x,
            "log_softmax": lsm[..., 0],
            "loss": r(-lsm[..., 0]) + 0.0,  # + 0.0: report -0.0 as 0.0
            "p": p,
            "grad": r(p - 1.0),
            "grad_other": r(np.exp(lsm[..., 1])),
            "stablemax_p": sm_p,
            "stablemax_loss": r(-r(np.log(sm_p))) + 0.0,
            "stablemax_grad": r(r(1.0 / total) - r(1.0 / s_d)),
            "exact_loss": np.log1p(np.exp(-d)),
            "exact_grad": -1.0 / (1.0 + np.exp(d)),
            "stablemax_exact_grad": -1.0 / ((d + 1.0) * (d + 2.0)),
        }
