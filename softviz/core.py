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
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import _native, _outputs, auto, reference
from ._args import positive_real
from ._validate import numeric_array

__all__ = ["ALGORITHMS", "softmax", "log_softmax", "logsumexp", "native_available", "kernel_info"]

Axis = int | tuple[int, ...] | None

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


def native_available() -> bool:
    """True when the compiled C core is loaded (False means the numpy fallback runs).

    Used in: notebooks/00_start_here.ipynb, notebooks/06_two_pass.ipynb.
    """
    return _native.AVAILABLE


def kernel_info() -> dict:
    """Which kernels run, from the one record the C dispatcher wrote at load time.

    Keys: ``isa`` (the instruction set in use: "portable", "avx2" or "avx512"),
    ``compiled`` (the ones this build has), ``supported`` (the ones this CPU can run),
    ``requested`` (the ``SOFTVIZ_ISA`` value honoured, "" for the default choice),
    ``compiler``, ``load_error`` (why the C core did not load, or None), ``auto`` (the
    rule of ``algorithm="auto"`` and the cache thresholds this machine gave it, see
    ``softviz.auto.auto_rule``).

    Used in: notebooks/06_two_pass.ipynb, softviz.bench.
    """
    info = _native.kernel_info()
    info["auto"] = auto.auto_rule()
    return info


def softmax(x: ArrayLike, axis: Axis = -1, *, algorithm: str = "auto", temperature: float = 1.0,
            workers: int | str = 1, out: np.ndarray | None = None) -> np.ndarray:
    """softmax(x / temperature) along ``axis``, computed by the C core.

    Parameters
    ----------
    x : array_like
        Logits.  float32/float64 run natively; float16 is computed in float32 and
        returned as float16; integers and bools become float64.
    axis : int, tuple of ints or None
        Axis (or axes) to normalise over; None means all of them.  Default -1.
    algorithm : ``"auto"`` or one of ``ALGORITHMS``
        Which kernel to run; all give the same result up to rounding.  ``"auto"`` (the
        default) picks the fastest for the shape and this machine's caches: three-pass
        reload where each row and its output stay in cache, two-pass on longer rows (the rule:
        ``softviz.auto``; ``softviz.auto_algorithm`` tells what a shape gets).
    temperature : float
        Finite and > 0.  However small, the result is the limit it should be (uniform
        over the largest entries): rows are shifted by their max before dividing when
        x / temperature would overflow.
    workers : int or ``"auto"``
        Threads to run on.  A batch of rows is split into whole rows per thread
        (bit-identical to one thread); a single long row into chunks whose partial
        results merge associatively (lesson 06; equal up to rounding).  ``"auto"`` uses
        the CPUs this process may run on when the call is large enough to pay for the
        hand-off (``softviz._native.AUTO_WORKERS_MIN_ELEMENTS`` elements), else one.
    out : numpy.ndarray, optional
        Where to write the result: an array of the result's shape and dtype (``out=x``
        computes in place).  A C-contiguous float32/float64 ``out`` along the last axis is
        written by the kernels directly, so repeated calls allocate nothing.

    Used in: notebooks/00_start_here.ipynb and every lesson.
    """
    fast = _fast("softmax", x, axis, algorithm, temperature, workers, out)
    if fast is not None:
        return fast
    return _apply("softmax", x, axis, algorithm, temperature, workers, False, out)


def log_softmax(x: ArrayLike, axis: Axis = -1, *, algorithm: str = "auto", temperature: float = 1.0,
                workers: int | str = 1, out: np.ndarray | None = None) -> np.ndarray:
    """log(softmax(x / temperature)) computed as x - logsumexp(x), never via log(softmax).

    Same arguments as :func:`softmax`.  An entry that holds the whole sum in the output
    precision gets exactly 0.  Used in: notebooks/01_overflow.ipynb,
    notebooks/06_two_pass.ipynb.
    """
    fast = _fast("log_softmax", x, axis, algorithm, temperature, workers, out)
    if fast is not None:
        return fast
    return _apply("log_softmax", x, axis, algorithm, temperature, workers, False, out)


def logsumexp(x: ArrayLike, axis: Axis = -1, *, keepdims: bool = False, algorithm: str = "auto",
              workers: int | str = 1) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``; an empty axis gives -inf (as scipy).

    Same arguments as :func:`softmax` (no temperature), plus ``keepdims``.  Where one
    entry dominates, the rest of the sum goes through log1p, so results near 0 keep
    their relative accuracy (as in scipy).
    Used in: notebooks/01_overflow.ipynb, notebooks/05_kde_regimes.ipynb.
    """
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"keepdims must be a bool, got {type(keepdims).__name__}")
    return _apply("logsumexp", x, axis, algorithm, 1.0, workers, bool(keepdims), None)


_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_ALGORITHM_SET = frozenset(ALGORITHMS + ("auto",))


def _fast(op: str, x: Any, axis: Any, algorithm: Any, temperature: Any, workers: Any, out: Any) -> np.ndarray | None:
    """The most common call straight to the kernels, or None for the general path.

    A 1-D C-contiguous float32/float64 array along its only axis, no temperature, one
    worker, no output or an ``out`` that is safe to write directly: every check below is an
    exact-type test, so any other argument (a bad one included) takes the general path,
    which validates it.  This keeps a 2^16-element call within a few microseconds of the
    kernel itself.
    """
    if not (x.__class__ is np.ndarray and x.ndim == 1 and axis.__class__ is int and axis in (-1, 0)
            and algorithm.__class__ is str and algorithm in _ALGORITHM_SET
            and temperature.__class__ in (float, int) and temperature == 1
            and workers.__class__ is int and workers == 1
            and x.dtype in _FAST_DTYPES and x.size and x.flags.c_contiguous and _native.AVAILABLE):
        return None
    if out is None:
        out = _outputs.empty(x.shape, x.dtype)
    elif not (out.__class__ is np.ndarray and out.dtype == x.dtype and out.shape == x.shape
              and out.flags.c_contiguous and out.flags.writeable):
        return None
    if algorithm == "auto":
        # softviz.auto's rule for one row; out=x makes reload refuse below (general path)
        algorithm = "three_pass_reload" if 2 * x.nbytes <= auto.ROW_IN_CACHE_BYTES else "two_pass"
    # False when out overlaps x in a way the kernels refuse (checked in C, nothing written)
    return out if _native.one_row(op, algorithm, x, out) else None


def _apply(op: str, x: Any, axis: Any, algorithm: Any, temperature: Any, workers: Any, keepdims: bool,
           out: Any) -> np.ndarray:
    _check_algorithm(algorithm)
    _check_temperature(temperature)
    _check_workers(workers)
    arr, out_dtype = _as_real_array(x)
    axes = _normalize_axes(axis, arr.ndim)
    if out is not None:
        _check_out(out, arr.shape, out_dtype)
    if temperature != 1.0:
        arr = _divide_by_temperature(arr, float(temperature), axes)

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

    if algorithm == "auto":
        in_place = out is not None and np.may_share_memory(out, rows)
        algorithm = auto.auto_algorithm(n, rows.dtype, rows=rows.shape[0], in_place=in_place)
    if workers == "auto":
        workers = _native.auto_workers(rows.size)
    direct = _direct_out(out, rows, perm, out_dtype, algorithm)
    if _native.AVAILABLE:
        res = _native.rows(op, algorithm, rows, direct, workers)
        if direct is not None:
            return out
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
    if out is not None:
        np.copyto(out, res, casting="unsafe")
        return out
    return np.asarray(res.astype(out_dtype, copy=False))


def _check_out(out: Any, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, the result has shape {shape}")
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype}, the result has dtype {dtype}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")


def _direct_out(out: np.ndarray | None, rows: np.ndarray, perm: Any, out_dtype: np.dtype,
                algorithm: str) -> np.ndarray | None:
    """``out`` as the kernels' output rows when it can be written directly, else None."""
    if out is None or perm is not None or out.dtype != rows.dtype or out_dtype != rows.dtype:
        return None
    if not out.flags.c_contiguous or out.size != rows.size:
        return None
    view = out.reshape(rows.shape)
    if np.may_share_memory(view, rows):
        # in place works when out is exactly x: every pass reads x[i] before y[i] is written,
        # except three-pass reload, whose stored exps would overwrite x before a
        # special-value row or log1p correction could read it again
        same = view.__array_interface__["data"][0] == rows.__array_interface__["data"][0]
        if not same or algorithm == "three_pass_reload":
            return None
    return view


def _divide_by_temperature(arr: np.ndarray, t: float, axes: tuple[int, ...]) -> np.ndarray:
    """arr / t, or (arr - max) / t per row where arr / t would overflow: softmax is shift
    invariant, and shifted logits are <= 0, so the limit (uniform over the argmax set)
    comes out however small t is."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        scaled = (arr / np.float64(t)).astype(arr.dtype)
        if np.array_equal(np.isfinite(scaled), np.isfinite(arr)):
            return scaled
        m = np.max(arr, axis=axes, keepdims=True) if axes else arr
        ok = np.isfinite(m)
        shifted = np.where(ok, arr.astype(np.float64) - np.where(ok, m, 0.0), arr)
        return (shifted / np.float64(t)).astype(arr.dtype)


def _check_algorithm(algorithm: Any) -> None:
    if not isinstance(algorithm, str) or algorithm not in _ALGORITHM_SET:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose 'auto' or one of {ALGORITHMS}")


def _check_temperature(temperature: Any) -> None:
    # exact-type fast paths first: the panels call softmax on tiny rows many times a second
    if temperature.__class__ is float and 0.0 < temperature < math.inf:
        return
    positive_real("temperature", temperature)


def _check_workers(workers: Any) -> None:
    if workers.__class__ is int and workers >= 1:
        return
    if isinstance(workers, str):
        if workers == "auto":
            return
        raise TypeError(f"workers must be an int >= 1 or 'auto', got the string {workers!r}")
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, numbers.Integral):
        raise TypeError(f"workers must be an int, got {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")


def _as_real_array(x: Any) -> tuple[np.ndarray, np.dtype]:
    """(array in the dtype the kernels run in, dtype of the result)."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError, OverflowError):  # ragged lists and the like: the shared
        arr = numeric_array("x", x)                 # check says so in its words
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError("x must hold real logits, got complex numbers")
    if kind in "biu":
        return arr.astype(np.float64), np.dtype(np.float64)
    if kind != "f":
        raise TypeError(f"x must hold real numbers, got an array of dtype {arr.dtype} ({_KIND_NAMES.get(kind, kind)})")
    if arr.dtype == np.float16:
        return arr.astype(np.float32), np.dtype(np.float16)
    if arr.dtype in (np.float32, np.float64):
        return arr, arr.dtype
    # longdouble: the kernels stop at float64, so say so in the result's dtype
    return arr.astype(np.float64), np.dtype(np.float64)


_KIND_NAMES = {"O": "Python objects", "U": "strings", "S": "bytes", "V": "void/structured", "M": "datetimes", "m": "timedeltas"}


def _normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
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
        i = int(a)
        if not -ndim <= i < ndim:
            raise ValueError(f"axis {i} is out of bounds for an array of dimension {ndim}")
        out.append(i % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(out)
