"""``algorithm="auto"``: the kernel for a shape, chosen from this machine's caches.

Every algorithm of the C core gives the same result up to rounding; they differ in how
often they touch memory and in their fixed cost per row.  Which is fastest depends on
where the data lives while the passes run (measured in ``python -m softviz.bench`` and
lesson 06's section on short rows):

* the whole call in cache (input and output together fit in L2): **three-pass reload**.
  Its passes are the cheapest arithmetic (the exp is computed once and stored), and
  re-reading a cached row costs next to nothing;
* streaming from memory, rows short enough that one row and its output stay in L1
  between the passes (at most a quarter of L1, so the next row's loads and the stores
  have room): **three-pass reload** again -- memory sees one read and one write per
  element, as for any algorithm, and reload has the smallest fixed cost per row;
* otherwise: **two-pass** (Dukhan & Ablavatski 2020, arXiv:2001.04438), which reads the
  input twice and writes once, the fewest passes over memory.

One exception: in place (``out=x``), three-pass reload cannot run (its stored exps
would overwrite x before a row with special values could be re-read), so two-pass runs.

The cache sizes are read once at import (``softviz.caches``); where the OS reports none,
32 KiB of L1 and 1 MiB of L2 are assumed.  ``softviz.kernel_info()["auto"]`` reports the
rule and its thresholds.

Used by: ``softviz.softmax``, ``softviz.log_softmax``, ``softviz.logsumexp`` (the
default algorithm) and notebooks/06_two_pass.ipynb.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .caches import cache_sizes

__all__ = ["AUTO", "auto_algorithm", "auto_rule"]

AUTO = "auto"

_DEFAULT_L1, _DEFAULT_L2 = 32 << 10, 1 << 20
_CACHES = cache_sizes()
L1_BYTES: int = _CACHES.get("L1") or _DEFAULT_L1
L2_BYTES: int = _CACHES.get("L2") or _DEFAULT_L2
#: a call whose input and output together are at most this many bytes runs in cache
IN_CACHE_BYTES: int = L2_BYTES
#: a row whose input and output are at most this many bytes stays in L1 between passes
ROW_IN_L1_BYTES: int = L1_BYTES // 4

_OPS = ("softmax", "log_softmax", "logsumexp")


def _choose(rows: int, n: int, itemsize: int, in_place: bool = False) -> str:
    # the arithmetic the fast path of softviz.core repeats inline for 1-D rows
    if in_place:
        return "two_pass"
    if 2 * rows * n * itemsize <= IN_CACHE_BYTES or 2 * n * itemsize <= ROW_IN_L1_BYTES:
        return "three_pass_reload"
    return "two_pass"


def auto_algorithm(n: int, dtype: DTypeLike = np.float32, *, rows: int = 1, in_place: bool = False) -> str:
    """The algorithm ``algorithm="auto"`` runs for ``rows`` rows of ``n`` elements of ``dtype``.

    ``n`` is the length of the reduced axis (the product of the reduced axes' lengths),
    ``rows`` the number of such rows in the call, ``dtype`` the input's dtype (float16
    runs in float32, integers in float64, as in ``softviz.softmax``), ``in_place`` True
    for ``out=x``.  Used in: notebooks/06_two_pass.ipynb.

    >>> auto_algorithm(128, "float32", rows=8192)
    'three_pass_reload'
    """
    for name, value in (("n", n), ("rows", rows)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if not isinstance(in_place, (bool, np.bool_)):
        raise TypeError(f"in_place must be a bool, got {type(in_place).__name__}")
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy dtype, got {dtype!r}") from exc
    if dt.kind not in "biuf":
        raise TypeError(f"dtype must be a real numeric dtype, got {dt}")
    itemsize = 4 if dt.kind == "f" and dt.itemsize <= 4 else 8
    return _choose(int(rows), int(n), itemsize, bool(in_place))


def auto_rule() -> dict[str, Any]:
    """The rule of ``algorithm="auto"`` and the thresholds this machine gave it.

    Reported by ``softviz.kernel_info()["auto"]``.
    """
    return {
        "rule": ("three_pass_reload if 2*rows*n*itemsize <= in_cache_bytes (the call fits in L2) "
                 "or 2*n*itemsize <= row_in_l1_bytes (a row and its output stay in L1); "
                 "otherwise two_pass; two_pass in place (out=x)"),
        "in_cache_bytes": IN_CACHE_BYTES,
        "row_in_l1_bytes": ROW_IN_L1_BYTES,
        "l1_bytes": L1_BYTES,
        "l2_bytes": L2_BYTES,
        "caches_reported": {k: v for k, v in _CACHES.items()},
    }
