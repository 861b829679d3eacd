"""Argument checks shared by every public function: one wording for one kind of mistake.

Each checker takes the parameter's name and its value, returns the value in the
form the caller computes with (a float, an int, a float64 array, a shape tuple, a
``numpy.random.Generator``) and otherwise raises ``TypeError`` (wrong kind of
thing) or ``ValueError`` (right kind, outside the accepted range) with a short
message that names the parameter and says what is accepted.  Nothing else may
escape a public function of softviz: no OverflowError, IndexError or
ZeroDivisionError, no numpy-internal wording.

Sizes are bounded up front (``MAX_ELEMENTS``): a request that would take minutes
or gigabytes is refused with a ``ValueError`` that states the limit, instead of
hanging a notebook.

Used by every topic module (temperature, gumbel, nms, kde, numerics, reference)
and, through ``softviz._args.positive_real``, by softviz.core.
"""
from __future__ import annotations

import math
import numbers
import operator
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import DTypeLike

_T = TypeVar("_T")

__all__ = [
    "MAX_ELEMENTS",
    "short",
    "real_scalar",
    "positive_real",
    "integer",
    "boolean",
    "real_array",
    "numeric_array",
    "axis",
    "rng",
    "shape",
    "choice",
    "function",
]

#: What an ``rng`` parameter accepts (see :func:`rng`).
RngLike = int | np.integer | np.random.Generator | np.random.SeedSequence | np.random.BitGenerator | None
#: What a ``shape``/``size`` parameter accepts (see :func:`shape`).
ShapeLike = int | Sequence[int]

#: Largest number of elements a function builds on request (400 MB of float64):
#: past it, a size argument is refused before any work starts.
MAX_ELEMENTS = 50_000_000


def short(value: object, limit: int = 60) -> str:
    """repr(value), cut to ``limit`` characters (10**400 must not fill a message)."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _unwrap0d(value: object) -> Any:
    # a 0-d array (e.g. np.float64 arithmetic on arrays) is a scalar to the user
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def _fmt_bound(b: float | None) -> str:
    return f"{b:g}" if isinstance(b, float) else str(b)


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{_fmt_bound(lo)}, {_fmt_bound(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {_fmt_bound(lo)}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {_fmt_bound(hi)}"
    return ""


def real_scalar(name: str, value: object, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
                hi_open: bool = False, finite: bool = True) -> float:
    """``value`` as a Python float if it is a real number in the given range.

    ``lo``/``hi`` bound it (closed unless ``lo_open``/``hi_open``); ``finite``
    refuses +-inf.  NaN is always refused.  bool is refused (True as a
    temperature is a bug, not a 1); integers too large for a float count as
    infinite.
    """
    value = _unwrap0d(value)
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {short(value, 40)}")
    try:
        x = float(value)
    except OverflowError:  # a Python int beyond 1.8e308
        x = -math.inf if value < 0 else math.inf
    rng_text = _interval(lo, hi, lo_open, hi_open)
    bounded = lo is not None and hi is not None  # "finite" goes without saying
    need = " and ".join(t for t in ("finite" if finite and not bounded else "", rng_text) if t) \
        or "a number"
    bad = (math.isnan(x) or (finite and math.isinf(x))
           or (lo is not None and (x < lo or (lo_open and x == lo)))
           or (hi is not None and (x > hi or (hi_open and x == hi))))
    if bad:
        raise ValueError(f"{name} must be {need}, got {short(value, 40)}")
    return x


def positive_real(name: str, value: object) -> float:
    """``value`` as a float if it is a finite real number > 0 (temperatures, bandwidths)."""
    return real_scalar(name, value, lo=0.0, lo_open=True)


def integer(name: str, value: object, *, lo: int | None = None, hi: int | None = None, hi_reason: str = "") -> int:
    """``value`` as a Python int if it is an integer (not a bool, not a float) in [lo, hi].

    ``hi_reason`` explains an upper limit that exists to bound run time or memory.
    """
    value = _unwrap0d(value)
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {short(value, 40)}")
    v = operator.index(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        reason = f" ({hi_reason})" if hi_reason and hi is not None and v > hi else ""
        raise ValueError(f"{name} must be an integer {_interval(lo, hi, False, False)}{reason}, "
                         f"got {short(value, 40)}")
    return v


def boolean(name: str, value: object) -> bool:
    """``value`` if it is True or False (numpy bools included)."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {short(value, 40)}")
    return bool(value)


def function(name: str, value: object, *, optional: bool = True) -> Callable[..., Any] | None:
    """``value`` if it is callable (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise TypeError(f"{name} must be a function{' or None' if optional else ''}, "
                        f"got {type(value).__name__}")
    return value


_KIND_NAMES = {"O": "Python objects", "U": "strings", "S": "bytes", "V": "structured records",
               "M": "datetimes", "m": "timedeltas", "c": "complex numbers"}


def numeric_array(name: str, value: object, *, max_size: int = MAX_ELEMENTS) -> np.ndarray:
    """``numpy.asarray(value)`` if it holds real numbers (bool, int or float), its dtype kept.

    Ragged lists, strings, bytes, complex and object arrays raise ``TypeError``;
    integers beyond float64 raise ``ValueError``.
    """
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(value)
    except Exception:  # ragged nesting and the like
        raise TypeError(f"{name} must be an array of real numbers (a ragged list is not one), "
                        f"got {short(value, 40)}") from None
    if arr.dtype.kind == "O":
        # Python ints too large for int64 land here: they are numbers, only too big
        try:
            items = arr.ravel().tolist()
        except Exception:
            items = [None]
        if items and all(isinstance(v, numbers.Real) and not _is_bool(v) for v in items):
            try:
                arr = arr.astype(np.float64)
            except OverflowError:
                raise ValueError(f"{name} holds a number too large for float64") from None
            if not np.isfinite(arr).all() and any(isinstance(v, numbers.Integral) for v in items):
                raise ValueError(f"{name} holds a number too large for float64")
        else:
            raise TypeError(f"{name} must hold real numbers, got an array of Python objects")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype} "
                        f"({_KIND_NAMES.get(arr.dtype.kind, arr.dtype.kind)})")
    if arr.size > max_size:
        raise ValueError(f"{name} has {arr.size} elements; the limit is {max_size}")
    return arr


def real_array(name: str, value: object, *, ndim: int | Iterable[int] | None = None, min_ndim: int = 0,
               nonempty: bool = False, finite: str = "all", dtype: DTypeLike | None = np.float64, max_size: int = MAX_ELEMENTS) -> np.ndarray:
    """``value`` as an array of ``dtype`` (float64 by default; None keeps a float dtype).

    ``ndim``: an int or a tuple of allowed numbers of dimensions; ``min_ndim``:
    at least this many; ``nonempty``: at least one element.  ``finite``:
    "all" (no NaN, no inf), "neginf" (-inf allowed: a masked logit), or
    "any" (NaN and inf allowed).
    """
    arr = numeric_array(name, value, max_size=max_size)
    if dtype is None:
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
    else:
        arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite != "any" and arr.dtype.kind == "f" and arr.size:
        if finite == "neginf":
            if np.isnan(arr).any() or np.isposinf(arr).any():
                raise ValueError(f"{name} must not contain NaN or +inf (-inf marks a masked entry)")
        elif not np.isfinite(arr).all():
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def axis(name: str, value: object, ndim: int) -> int:
    """``value`` as an axis index in [0, ndim) (negative counts from the end)."""
    value = _unwrap0d(value)
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {short(value, 40)}")
    v = operator.index(value)
    if not -ndim <= v < ndim:
        raise ValueError(f"{name} {v} is out of bounds for an array of dimension {ndim} "
                         f"(allowed: {-ndim} to {ndim - 1})")
    return v % ndim


def rng(value: object, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from None (fresh entropy), a seed (int >= 0),
    a ``SeedSequence``/``BitGenerator`` or a Generator (returned as is)."""
    if value is None or isinstance(value, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(value)
    if isinstance(value, np.random.Generator):
        return value
    value = _unwrap0d(value)
    if isinstance(value, numbers.Integral) and not _is_bool(value):
        if value < 0:
            raise ValueError(f"{name} as a seed must be an integer >= 0, got {short(value, 40)}")
        return np.random.default_rng(int(value))
    raise TypeError(f"{name} must be None, a seed (integer >= 0) or a numpy.random.Generator, "
                    f"got {type(value).__name__}")


def shape(name: str, value: object, *, max_size: int = MAX_ELEMENTS) -> tuple[int, ...]:
    """``value`` (an int or a sequence of ints >= 0) as a shape tuple, at most ``max_size`` elements."""
    value = _unwrap0d(value)
    if isinstance(value, (str, bytes, bytearray, memoryview)) or _is_bool(value):
        raise TypeError(f"{name} must be an integer or a tuple of integers, got {type(value).__name__}")
    dims: tuple[object, ...]
    if isinstance(value, numbers.Integral):
        dims = (value,)
    else:
        try:
            # not every iterable is an Iterable to mypy (__getitem__ ones); a non-iterable raises below
            dims = tuple(cast(Iterable[object], value))
        except TypeError:
            raise TypeError(f"{name} must be an integer or a tuple of integers, "
                            f"got {type(value).__name__} {short(value, 40)}") from None
    out = []
    for d in dims:
        d = _unwrap0d(d)
        if _is_bool(d) or not isinstance(d, numbers.Integral):
            raise TypeError(f"{name} must be an integer or a tuple of integers, got {short(value, 40)}")
        if d < 0:
            raise ValueError(f"{name} must not be negative, got {short(value, 40)}")
        out.append(operator.index(d))
    total = math.prod(out)
    if total > max_size:
        count = f"{total:.3g}" if total < 10 ** 300 else "more than 1e300"
        raise ValueError(f"{name} {short(tuple(out), 40)} asks for {count} elements; "
                         f"the limit is {max_size}")
    return tuple(out)


def choice(name: str, value: object, options: Sequence[_T]) -> _T:
    """``value`` if it is one of ``options`` (compared by type and value, never elementwise)."""
    for option in options:
        if type(value) is type(option) or (isinstance(value, str) and isinstance(option, str)):
            try:
                if value == option:
                    return option
            except Exception:
                pass
    raise ValueError(f"{name} must be one of {tuple(options)}, got {short(value, 40)}")
