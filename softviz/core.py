"""softmax, log_softmax and logsumexp on the C core: the public, scipy-style API.

Each function takes any array, any axis (an int, a tuple of ints or None) and any
memory layout, brings the axis to the end as C-contiguous rows, and hands the rows to
one of the four kernels of native/ (see ``ALGORITHMS``):

* ``three_pass_reload`` and ``three_pass_recompute``: the textbook overflow-safe
  softmax (max, sum of exp(x - max), scale);
* ``two_pass``: Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm" (2020,
  arXiv:2001.04438) -- each exp kept as (mantissa, exponent), no max pass;
* ``online``: Milakov & Gimelshein, "Online normalizer calculation for softmax"
  (2018, arXiv:1805.02867) -- running max and running sum in one pass.

Results agree with ``scipy.special`` (special values included); the differences are
the default axis (-1 here) and an empty axis, which gives an empty softmax here where
scipy raises.  Without the compiled core the same functions run in numpy.
"""
import math
import numbers
import warnings

import numpy as np

from . import _native, reference
from ._args import positive_real

__all__ = ["ALGORITHMS", "softmax", "log_softmax", "logsumexp", "native_available"]

ALGORITHMS = ("three_pass_reload", "three_pass_recompute", "two_pass", "online")

if not _native.AVAILABLE:
    warnings.warn(
        "softviz: the compiled C core could not be loaded "
        f"({_native.LOAD_ERROR}); softmax/log_softmax/logsumexp fall back to numpy. "
        "Reinstall softviz with a C compiler available to get the fast kernels.",
        RuntimeWarning,
        stacklevel=2,
    )

_FALLBACK = {
    "softmax": reference.stable_softmax,
    "log_softmax": reference.stable_log_softmax,
    "logsumexp": reference.stable_logsumexp,
}


def native_available():
    """True when the compiled C core is loaded (False means the numpy fallback runs).

    Used in: notebooks/00_start_here.ipynb, notebooks/06_two_pass.ipynb.
    """
    return _native.AVAILABLE


def softmax(x, axis=-1, *, algorithm="two_pass", temperature=1.0, workers=1):
    """softmax(x / temperature) along ``axis``, computed by the C core.

    Parameters
    ----------
    x : array_like
        Logits.  float32/float64 run natively; float16 is computed in float32 and
        returned as float16; integers and bools become float64.
    axis : int, tuple of ints or None
        Axis (or axes) to normalise over; None means all of them.  Default -1.
    algorithm : one of ``ALGORITHMS``
        Which kernel to run; all give the same result up to rounding.
    temperature : float
        Finite and > 0.
    workers : int
        Threads to split long rows across (the passes' partial results merge
        associatively, lesson 06).  Results equal the one-thread result up to rounding.

    Used in: notebooks/00_start_here.ipynb and every lesson.
    """
    return _apply("softmax", x, axis, algorithm, temperature, workers, False)


def log_softmax(x, axis=-1, *, algorithm="two_pass", temperature=1.0, workers=1):
    """log(softmax(x / temperature)) computed as x - logsumexp(x), never via log(softmax).

    Same arguments as :func:`softmax`.  Used in: notebooks/01_overflow.ipynb,
    notebooks/06_two_pass.ipynb.
    """
    return _apply("log_softmax", x, axis, algorithm, temperature, workers, False)


def logsumexp(x, axis=-1, *, keepdims=False, algorithm="two_pass", workers=1):
    """log(sum(exp(x))) along ``axis``; an empty axis gives -inf (as scipy).

    Same arguments as :func:`softmax` (no temperature), plus ``keepdims``.
    Used in: notebooks/01_overflow.ipynb, notebooks/05_kde_regimes.ipynb.
    """
    return _apply("logsumexp", x, axis, algorithm, 1.0, workers, keepdims)


def _apply(op, x, axis, algorithm, temperature, workers, keepdims):
    _check_algorithm(algorithm)
    _check_temperature(temperature)
    _check_workers(workers)
    arr, out_dtype = _as_real_array(x)
    if temperature != 1.0:
        arr = arr / arr.dtype.type(temperature)
    axes = _normalize_axes(axis, arr.ndim)

    # bring the reduced axes to the end and flatten them into one row length
    nkept = arr.ndim - len(axes)
    perm = None
    if axes != tuple(range(nkept, arr.ndim)):
        perm = [d for d in range(arr.ndim) if d not in axes] + list(axes)
        arr = arr.transpose(perm)
    kept_shape = arr.shape[:nkept]
    n = math.prod(arr.shape[nkept:])
    if arr.size:
        rows = np.ascontiguousarray(arr).reshape(-1, n)
    else:
        rows = np.empty((math.prod(kept_shape), n), arr.dtype)

    if _native.AVAILABLE:
        res = _native.rows(op, algorithm, rows, workers)
    elif op == "logsumexp":
        res = _FALLBACK[op](rows, axis=-1)
    else:
        res = _FALLBACK[op](rows, axis=-1) if rows.size else np.empty_like(rows)

    if op == "logsumexp":
        res = res.reshape(kept_shape)
        if keepdims and axes:
            res = np.expand_dims(res, axes)
    else:
        res = res.reshape(arr.shape)
        if perm is not None:
            res = res.transpose(np.argsort(perm))
    return np.asarray(res.astype(out_dtype, copy=False))


def _check_algorithm(algorithm):
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")


def _check_temperature(temperature):
    # exact-type fast paths first: the panels call softmax on tiny rows many times a second
    if temperature.__class__ is float and 0.0 < temperature < math.inf:
        return
    positive_real("temperature", temperature)


def _check_workers(workers):
    if workers.__class__ is int and workers >= 1:
        return
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, numbers.Integral):
        raise TypeError(f"workers must be an int, got {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")


def _as_real_array(x):
    """(array in the dtype the kernels run in, dtype of the result)."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"could not turn the input into a numeric array: {exc}") from exc
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError("complex input is not supported: softmax needs real logits")
    if kind in "biu":
        return arr.astype(np.float64), np.dtype(np.float64)
    if kind != "f":
        raise TypeError(f"softmax needs real numbers, got an array of dtype {arr.dtype} ({_KIND_NAMES.get(kind, kind)})")
    if arr.dtype == np.float16:
        return arr.astype(np.float32), np.dtype(np.float16)
    if arr.dtype in (np.float32, np.float64):
        return arr, arr.dtype
    # longdouble: the kernels stop at float64, so say so in the result's dtype
    return arr.astype(np.float64), np.dtype(np.float64)


_KIND_NAMES = {"O": "Python objects", "U": "strings", "S": "bytes", "V": "void/structured", "M": "datetimes", "m": "timedeltas"}


def _normalize_axes(axis, ndim):
    if ndim == 0:
        # a 0-d input is one row of length 1, whatever axis names it (as in scipy)
        if axis is None or (isinstance(axis, tuple) and not axis) or axis in (0, -1):
            return ()
        raise ValueError(f"axis {axis!r} is out of bounds for a 0-d array")
    if axis.__class__ is int and -ndim <= axis < ndim:
        return (axis % ndim,)
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
            raise TypeError(f"axis must be an int, a tuple of ints or None, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(out)
