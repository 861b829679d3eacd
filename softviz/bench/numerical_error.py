"""How far each algorithm's softmax is from the exact one.

Two sections:

* ``accuracy``: short rows (default 20 x 256) against ``softviz.reference.exact_softmax``
  (mpmath, 50 digits) of the very same rounded inputs, at several logit scales.  Lesson
  06's accuracy figure (``plot_accuracy``) draws its ulp errors.
* ``long_row_accuracy``: single rows up to 2^24 elements, where mpmath would take hours.
  The reference (``long_row_reference``) works in float64 on the exact input values:
  the shift d = x - max(x) is split into its rounded value and its exact rounding error
  (TwoSum), exp(d) = exp(d_hi) * (1 + d_lo) to first order, the normaliser is the
  correctly rounded sum of those terms (``math.fsum``), and one division follows.  Its
  relative error is a few float64 ulps (below 1e-15): 10^9 times below the float32 target
  (1e-6) and 100 times below the float64 one (1e-13).  A test checks it against mpmath.

Only elements whose exact value is at least the dtype's smallest normal are compared:
smaller results may be flushed to 0 by contract, and a relative error against a
subnormal measures the format, not the algorithm (``n_excluded`` counts them).

Used by: ``python -m softviz.bench`` and notebooks/06_two_pass.ipynb.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import softviz
from softviz import numerics

from .speed import BASELINES, method_fn
from .timing import Progress, pow2_label

__all__ = ["SCALES", "LONG_ROW_LENGTHS", "accuracy", "long_row_reference", "long_row_accuracy"]

#: Logit scales: x = s * standard normal (the accuracy targets use 1..1000).
SCALES = (1.0, 10.0, 100.0, 1000.0)
#: Row lengths of the long-row section (capped at the run's largest N).
LONG_ROW_LENGTHS = (2**10, 2**16, 2**20, 2**24)


def _step(progress: Progress | None, label: str) -> None:
    if progress is not None:
        progress.step(label)


def _compare(method: str, x: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    found: dict[str, Any] = {"max_rel_error": None, "max_ulp_error": None, "error": None}
    try:
        got = np.asarray(method_fn(method)(x))
        if got.dtype != x.dtype:
            raise TypeError(f"returned {got.dtype}, expected {x.dtype.name}")
        g = got[mask].astype(np.float64)
        found["max_rel_error"] = float(numerics.max_rel_error(g, ref[mask]))
        found["max_ulp_error"] = float(numerics.max_ulp_error(g, ref[mask], x.dtype))
    except Exception as exc:  # a benchmark reports a failing method, it does not die on it
        found["error"] = f"{type(exc).__name__}: {exc}"
    return found


def accuracy(algorithms: Sequence[str] | None = None, dtypes: Sequence[str] = ("float32", "float64"),
             scales: Sequence[float] = SCALES, *, rows: int = 20, length: int = 256, seed: int = 0,
             digits: int = 50, baselines: Sequence[str] = BASELINES,
             progress: Progress | None = None) -> list[dict[str, Any]]:
    """Max relative and ulp error of each method against mpmath, on short rows.

    Input: ``rows`` random rows of ``length`` logits, x = s * N(0, 1) for each scale s,
    rounded to the dtype; the reference is ``softviz.reference.exact_softmax``
    (``digits`` decimal digits) of those very values.

    Used in: notebooks/06_two_pass.ipynb
    """
    algorithms = tuple(softviz.ALGORITHMS) if algorithms is None else tuple(algorithms)
    out = []
    for dtype in dtypes:
        dt = np.dtype(dtype)
        for i, s in enumerate(scales):
            x = (float(s) * np.random.default_rng([seed, i]).standard_normal((rows, length))).astype(dt)
            _step(progress, f"{dt.name} exact reference (mpmath) scale={s:g}")
            exact = np.asarray(softviz.reference.exact_softmax(x, axis=-1, digits=digits), dtype=np.float64)
            mask = exact >= float(np.finfo(dt).tiny)
            for method in algorithms + tuple(baselines):
                row = {"method": method, "dtype": dt.name, "scale": float(s), "rows": rows,
                       "length": length, "n_compared": int(mask.sum()),
                       "n_excluded": int((~mask).sum())}
                out.append({**row, **_compare(method, x, exact, mask)})
    return out


def long_row_reference(x: np.ndarray) -> np.ndarray:
    """softmax of one 1-D row of finite values, in float64, to a few float64 ulps.

    See the module docstring: TwoSum-corrected shift, float64 exps, ``math.fsum``.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError("long_row_reference needs a non-empty 1-D row of finite values")
    b = -a.max()
    hi = a + b
    # TwoSum (Knuth): hi + lo == a + b exactly, whatever the magnitudes.
    bb = hi - a
    lo = (a - (hi - bb)) + (b - bb)
    with np.errstate(under="ignore"):
        terms = np.exp(hi) * (1.0 + lo)
    total = math.fsum(terms[terms > 0])
    return terms / total


def long_row_accuracy(lengths: Sequence[int] = LONG_ROW_LENGTHS,
                      dtypes: Sequence[str] = ("float32", "float64"), scales: Sequence[float] = SCALES,
                      *, algorithms: Sequence[str] | None = None, seed: int = 0,
                      progress: Progress | None = None) -> list[dict[str, Any]]:
    """Max relative and ulp error of each algorithm on single rows up to 2^24 elements.

    For each dtype, length N and scale s: one seeded row x = s * N(0, 1) rounded to the
    dtype, every algorithm against ``long_row_reference(x)``.

    Used by: ``python -m softviz.bench`` (the accuracy targets).
    """
    algorithms = tuple(softviz.ALGORITHMS) if algorithms is None else tuple(algorithms)
    out = []
    for dtype in dtypes:
        dt = np.dtype(dtype)
        for n in sorted({int(v) for v in lengths}):
            for i, s in enumerate(scales):
                _step(progress, f"{dt.name} long-row accuracy N={pow2_label(n)} scale={s:g}")
                x = (float(s) * np.random.default_rng([seed, n, i]).standard_normal(n)).astype(dt)
                ref = long_row_reference(x)
                mask = ref >= float(np.finfo(dt).tiny)
                for method in algorithms:
                    row = {"method": method, "dtype": dt.name, "n": n, "scale": float(s),
                           "n_compared": int(mask.sum()), "n_excluded": int((~mask).sum())}
                    out.append({**row, **_compare(method, x, ref, mask)})
    return out
