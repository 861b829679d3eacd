"""Reference implementations of softmax and its relatives, in numpy and mpmath.

Three kinds of reference live here:

* ``naive_softmax`` -- the textbook formula exp(x) / sum(exp(x)) in the input's
  own dtype. It overflows on purpose: lesson 01 shows it failing.
* ``stable_softmax``, ``stable_log_softmax``, ``stable_logsumexp`` -- the
  conventional max-shifted three-pass forms in numpy. They follow the
  special-value semantics of ``scipy.special`` exactly and are also what
  ``softviz.core`` falls back to when the C core is not compiled.
* ``exact_softmax``, ``exact_log_softmax``, ``exact_logsumexp`` -- mpmath at
  many decimal digits, correctly rounded to float64: the yardstick for the
  accuracy tables and the benchmark.

``stablemax`` is the StableMax of Prieto, Barsbey, Mediano and Birdal,
"Grokking at the Edge of Numerical Stability" (2025, arXiv:2501.04697).

Shared conventions: array arguments accept anything ``numpy.asarray`` accepts;
integers and bools are computed in float64; float16 is computed in float32 and
returned as float16 (except by ``naive_softmax``, which stays in float16 to show
the overflow); complex, object and string arrays raise ``TypeError``. A 0-d input
is treated as a row of length one. Results are numpy arrays (0-d arrays for
scalar results), never Python or numpy scalars.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
from numpy.typing import ArrayLike

from . import _validate as V

__all__ = [
    "naive_softmax",
    "stable_softmax",
    "stable_log_softmax",
    "stable_logsumexp",
    "exact_softmax",
    "exact_log_softmax",
    "exact_logsumexp",
    "stablemax",
]

# mpmath bounds: about 10 us per element at 50 digits, so size x digits <= 5e7 stays ~10 s.
_MAX_DIGITS = 2_000
_MAX_DIGIT_WORK = 50_000_000

_FLOAT64_MIN_EXP = -1022  # exponent of the smallest normal float64
_FLOAT64_SUBNORMAL_EXP = -1074  # exponent of the smallest subnormal float64


# --------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------

def _real_array(x: ArrayLike, name: str = "x") -> np.ndarray:
    return V.numeric_array(name, x)


def _compute_dtype(arr: np.ndarray) -> np.dtype:
    # float16 has too few bits for the intermediate sums, so it borrows float32.
    if arr.dtype == np.float16:
        return np.dtype(np.float32)
    if arr.dtype.kind == "f":
        return arr.dtype
    return np.dtype(np.float64)


def _result_dtype(arr: np.ndarray) -> np.dtype:
    return arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)


def _axis_index(axis: int, ndim: int) -> int:
    return V.axis("axis", axis, ndim)


def _prepare(x: ArrayLike, axis: int) -> tuple[np.ndarray, int, bool, np.dtype]:
    """Return (array in the compute dtype, at least 1-d; axis index; 0-d flag; result dtype)."""
    arr = _real_array(x)
    scalar = arr.ndim == 0
    a = arr.reshape(1) if scalar else arr
    ax = _axis_index(axis, a.ndim)
    return a.astype(_compute_dtype(arr), copy=False), ax, scalar, _result_dtype(arr)


def _finish(out: np.ndarray, scalar: bool, dtype: np.dtype) -> np.ndarray:
    if scalar:
        out = out.reshape(())
    return np.asarray(out.astype(dtype, copy=False))


# --------------------------------------------------------------------------
# numpy references
# --------------------------------------------------------------------------

def naive_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """Softmax by the textbook formula exp(x) / sum(exp(x)), in x's own dtype.

    Nothing is shifted, so exp overflows to inf once an entry passes about
    11.09 (float16), 88.72 (float32) or 709.78 (float64) and the row turns into
    NaN (inf / inf) or zeros; very negative rows underflow to 0 / 0 = NaN.
    That is the point: lesson 01 shows this failure, so numpy's
    RuntimeWarnings are silenced here. Integers and bools are computed in
    float64; float16 stays float16 (unlike the stable functions).

    Used in: notebooks/01_overflow.ipynb.
    """
    arr = _real_array(x)
    dtype = _result_dtype(arr)
    scalar = arr.ndim == 0
    a = (arr.reshape(1) if scalar else arr).astype(dtype, copy=False)
    ax = _axis_index(axis, a.ndim)
    with np.errstate(all="ignore"):
        e = np.exp(a)
        out = e / e.sum(axis=ax, keepdims=True)
    return _finish(out, scalar, dtype)


def stable_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """Three-pass softmax: m = max(x); e = exp(x - m), s = sum(e); e / s.

    The conventional overflow-safe form (the "three-pass" baseline of Dukhan
    and Ablavatski, "The Two-Pass Softmax Algorithm", 2020, arXiv:2001.04438).
    Special values match ``scipy.special.softmax``: a row holding a NaN or a
    +inf, or made only of -inf, becomes all NaN; -inf entries of an otherwise
    finite row give 0. A 0-d input is a row of length one (softmax(3.0) == 1.0);
    an empty axis gives an empty result (scipy raises there).

    Used in: notebooks/01_overflow.ipynb, notebooks/06_two_pass.ipynb; also the
    numpy fallback of ``softviz.softmax`` when the C core is not compiled.
    """
    a, ax, scalar, dtype = _prepare(x, axis)
    if a.shape[ax] == 0:
        return _finish(np.empty(a.shape, a.dtype), scalar, dtype)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        # inf - inf and -inf - (-inf) give NaN here, which is what spreads NaN
        # over a row holding +inf or made only of -inf, as scipy does.
        e = np.subtract(a, a.max(axis=ax, keepdims=True))
        np.exp(e, out=e)
        e /= e.sum(axis=ax, keepdims=True)
    return _finish(e, scalar, dtype)


def stable_log_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """log_softmax as (x - m) - log(sum(exp(x - m))), m the row max.

    Same algorithm as ``scipy.special.log_softmax`` and therefore the same
    special values: a NaN anywhere gives an all-NaN row; with a +inf present
    the +inf entries are NaN and the others -inf; an all -inf row is all NaN;
    -inf entries of a finite row stay -inf. The log of the sum is taken as it
    is (not log1p), so log_softmax([D, 0])[0] is exactly 0 once exp(-D) is
    absorbed by 1 in the working precision: the "Softmax Collapse" of Prieto,
    Barsbey, Mediano and Birdal, "Grokking at the Edge of Numerical
    Stability" (2025, arXiv:2501.04697).

    Used in: notebooks/01_overflow.ipynb, notebooks/06_two_pass.ipynb; also the
    numpy fallback of ``softviz.log_softmax`` when the C core is not compiled.
    """
    a, ax, scalar, dtype = _prepare(x, axis)
    if a.shape[ax] == 0:
        return _finish(np.empty(a.shape, a.dtype), scalar, dtype)
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        m = a.max(axis=ax, keepdims=True)
        # A non-finite max is replaced by 0 so that inf/NaN flow through exp and
        # log instead of producing inf - inf early: this yields scipy's pattern.
        m[~np.isfinite(m)] = 0
        t = np.subtract(a, m)
        s = np.exp(t).sum(axis=ax, keepdims=True)
        t -= np.log(s)
    return _finish(t, scalar, dtype)


def stable_logsumexp(x: ArrayLike, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) along ``axis`` without overflow.

    Computed as m + log(k) + log1p(r / k), where m is the row max, k how many
    entries equal it and r the sum of exp(x - m) over the others -- the
    accurate form of Blanchard, Higham and Higham, "Accurately computing the
    log-sum-exp and softmax functions" (IMA J. Numer. Anal., 2021), which is
    also what ``scipy.special.logsumexp`` uses. Special values as in scipy:
    NaN -> NaN, a +inf (and no NaN) -> +inf, all -inf -> -inf, empty axis ->
    -inf. ``keepdims`` keeps the reduced axis with length one (a 0-d input
    then gives shape (1,), as in scipy).

    Used in: notebooks/06_two_pass.ipynb; also the numpy fallback of
    ``softviz.logsumexp`` when the C core is not compiled.
    """
    a, ax, scalar, dtype = _prepare(x, axis)
    keepdims = V.boolean("keepdims", keepdims)
    if a.shape[ax] == 0:
        shape = list(a.shape)
        shape[ax] = 1
        out = np.full(shape, -np.inf, dtype=a.dtype)
    else:
        with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
            m = a.max(axis=ax, keepdims=True)
            finite = np.isfinite(m)
            m_safe = np.where(finite, m, 0).astype(a.dtype, copy=False)
            at_max = a == m_safe
            e = np.subtract(a, m_safe)
            np.exp(e, out=e)
            e[at_max] = 0
            k = at_max.sum(axis=ax, keepdims=True).astype(a.dtype)
            r = e.sum(axis=ax, keepdims=True)
            out = np.log1p(r / k) + np.log(k) + m_safe
            # max is NaN, +inf or -inf exactly when the answer is that value.
            out = np.where(finite, out, m)
    if not keepdims:
        out = out.squeeze(axis=ax)
    return np.asarray(out.astype(dtype, copy=False))


def stablemax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """StableMax: s(x) / sum(s(x)) with s(x) = x + 1 for x >= 0, 1 / (1 - x) for x < 0.

    From Prieto, Barsbey, Mediano and Birdal, "Grokking at the Edge of
    Numerical Stability" (2025, arXiv:2501.04697): s grows linearly instead of
    exponentially, so large logits do not drive the output to an exactly
    one-hot vector (no Softmax Collapse). s is positive, increasing and
    continuous (s(0) = 1). Each row is divided by its largest s first so
    that huge finite inputs cannot overflow the sum.

    Special values follow ``stable_softmax``: a row holding a NaN or a +inf,
    or made only of -inf, is all NaN; -inf entries of an otherwise finite row
    give 0. Integers and bools give float64, float dtypes are preserved
    (float16 computed in float32).

    Used in: notebooks/01_overflow.ipynb.
    """
    a, ax, scalar, dtype = _prepare(x, axis)
    if a.shape[ax] == 0:
        return _finish(np.empty(a.shape, a.dtype), scalar, dtype)
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        neg = a < 0
        s = np.where(neg, 1 / (1 - np.where(neg, a, 0)), a + 1)
        s /= s.max(axis=ax, keepdims=True)
        s /= s.sum(axis=ax, keepdims=True)
        bad = np.isnan(a) | (a == np.inf)
        bad = bad.any(axis=ax, keepdims=True) | (a == -np.inf).all(axis=ax, keepdims=True)
        s[np.broadcast_to(bad, s.shape)] = np.nan
    return _finish(s, scalar, dtype)


# --------------------------------------------------------------------------
# mpmath references
# --------------------------------------------------------------------------

def _to_float64(v: Any) -> float:
    """Round an mpf to the nearest float64, subnormals included.

    mpmath rounds to 53 bits first and lets math.ldexp round again, which can
    double-round below 2**-1022; the subnormal range is rounded here directly
    on the fixed grid of multiples of 2**-1074.
    """
    if mpmath.isnan(v) or mpmath.isinf(v) or v == 0:
        return float(v)
    if abs(v) < mpmath.ldexp(1, _FLOAT64_MIN_EXP):
        k = int(mpmath.nint(mpmath.ldexp(v, -_FLOAT64_SUBNORMAL_EXP)))
        return math.ldexp(k, _FLOAT64_SUBNORMAL_EXP)
    return float(v)


def _exact_row(row: list[float] | np.ndarray, digits: int) -> tuple[list[Any], list[Any], Any]:
    """(d, e, S) for one finite-max row: d_i = x_i - max, e_i = exp(d_i), S = sum e_i >= 1.

    Terms so small that they cannot move S at this precision and would round
    to 0 in float64 anyway are left out: exp of a hugely negative argument is
    expensive in mpmath and changes nothing.
    """
    m = mpmath.mpf(max(row))
    cutoff = -max((digits + 5) * math.log(10) + math.log(len(row)), 750.0)
    d = [mpmath.mpf(v) - m for v in row]
    e = [mpmath.exp(di) if di >= cutoff else mpmath.mpf(0) for di in d]
    return d, e, mpmath.fsum(e)


def _exact_apply(x: ArrayLike, axis: int, digits: int, row_fn: Callable[[np.ndarray], Any], reduce: bool,
                 keepdims: bool = False) -> np.ndarray:
    """Run ``row_fn(row)`` over every row along ``axis`` and assemble a float64 result.

    ``row_fn`` gets a float64 numpy row and returns one value (``reduce``) or
    one value per element.
    """
    digits = V.integer("digits", digits, lo=17, hi=_MAX_DIGITS,
                       hi_reason="mpmath time grows with the precision")
    arr = _real_array(x)
    if arr.size * digits > _MAX_DIGIT_WORK:
        raise ValueError(f"x has {arr.size} elements: at {digits} digits that is too slow for mpmath "
                         f"(keep size x digits below {_MAX_DIGIT_WORK:.0e})")
    scalar = arr.ndim == 0
    a = (arr.reshape(1) if scalar else arr).astype(np.float64)
    ax = _axis_index(axis, a.ndim)
    moved = np.moveaxis(a, ax, -1)
    n = moved.shape[-1]
    rows = moved.reshape(math.prod(moved.shape[:-1]), n)
    out: np.ndarray = np.empty((rows.shape[0], 1 if reduce else n))
    if out.size:
        with mpmath.mp.workdps(digits):
            for i, row in enumerate(rows):
                out[i] = row_fn(row)
    out = np.moveaxis(out.reshape(moved.shape[:-1] + out.shape[-1:]), -1, ax)
    if reduce:
        return np.asarray(out if keepdims else out.squeeze(axis=ax))
    return np.asarray(out.reshape(()) if scalar else out)


def _special_row(row: np.ndarray) -> str | None:
    """Classify a row: 'nan', 'posinf', 'allneginf' or None (finite max)."""
    if np.isnan(row).any():
        return "nan"
    if (row == np.inf).any():
        return "posinf"
    if (row == -np.inf).all():
        return "allneginf"
    return None


def exact_softmax(x: ArrayLike, axis: int = -1, digits: int = 50) -> np.ndarray:
    """Softmax computed by mpmath at ``digits`` decimal digits, correctly rounded to float64.

    The input is converted exactly (every float is a rational number), each row
    shifted by its max, exponentiated and summed with ``mpmath.fsum``; only the
    final quotient is rounded. Always returns float64, whatever the input
    dtype. Special values and shapes as ``stable_softmax``. About a
    millisecond per 100 elements at the default 50 digits.

    Used in: notebooks/06_two_pass.ipynb and ``python -m softviz.bench`` (the
    accuracy columns); the accuracy tests compare the C kernels with it.
    """
    def row_fn(row: np.ndarray) -> Any:
        kind = _special_row(row)
        if kind is not None:
            return np.nan
        _, e, s = _exact_row(row.tolist(), digits)
        return [_to_float64(ei / s) for ei in e]

    return _exact_apply(x, axis, digits, row_fn, reduce=False)


def exact_log_softmax(x: ArrayLike, axis: int = -1, digits: int = 50) -> np.ndarray:
    """log_softmax computed by mpmath at ``digits`` decimal digits, correctly rounded to float64.

    log_softmax_i = (x_i - m) - log(sum_j exp(x_j - m)) with m the row max:
    both terms are <= 0, so the subtraction cannot cancel and the result is
    accurate relative to its own size. Special values and shapes as
    ``stable_log_softmax``. Returns float64.

    Used in: notebooks/06_two_pass.ipynb and ``python -m softviz.bench``.
    """
    def row_fn(row: np.ndarray) -> Any:
        kind = _special_row(row)
        if kind == "posinf":
            return np.where(row == np.inf, np.nan, -np.inf)
        if kind is not None:
            return np.nan
        d, _, s = _exact_row(row.tolist(), digits)
        log_s = mpmath.log(s)
        return [_to_float64(di - log_s) for di in d]

    return _exact_apply(x, axis, digits, row_fn, reduce=False)


def exact_logsumexp(x: ArrayLike, axis: int = -1, digits: int = 50, *, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) computed by mpmath at ``digits`` decimal digits, rounded to float64.

    Special values and shapes as ``stable_logsumexp`` (NaN -> NaN, +inf ->
    +inf, all -inf -> -inf, empty axis -> -inf). Returns float64. The
    positional arguments are those of ``exact_softmax``; ``keepdims`` is
    keyword-only.

    Used in: notebooks/06_two_pass.ipynb and ``python -m softviz.bench``.
    """
    def row_fn(row: np.ndarray) -> Any:
        if row.size == 0:
            return -np.inf  # log(0), as scipy
        kind = _special_row(row)
        if kind is not None:
            return {"nan": np.nan, "posinf": np.inf, "allneginf": -np.inf}[kind]
        _, _, s = _exact_row(row.tolist(), digits)
        return _to_float64(mpmath.mpf(float(row.max())) + mpmath.log(s))

    keepdims = V.boolean("keepdims", keepdims)
    return _exact_apply(x, axis, digits, row_fn, reduce=True, keepdims=keepdims)
