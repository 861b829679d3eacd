"""``algorithm="auto"``: the kernel for a shape, chosen from this machine's caches.

Every algorithm of the C core gives the same result up to rounding; they differ in how
often they touch memory and in their fixed cost per row.  Which is fastest depends on
where the data lives while the passes run (measured in ``python -m softviz.bench`` and
lesson 06's section on short rows):

* each row and its output fit in a quarter of the last-level cache (at most 8 MiB):
  **three-pass reload**.  Its passes are the cheapest arithmetic (the exp is computed once
  and stored, the last pass only multiplies), and the row it re-reads is still in cache,
  so memory sees one read and one write per element, as for any algorithm.  A batch of
  such rows may be far larger than the cache: each row is done before the next one comes;
* longer rows: **two-pass** (Dukhan & Ablavatski 2020, arXiv:2001.04438), which reads the
  input twice and writes once, the fewest passes over memory.

Measured on AMD Zen 4 (1 MiB L2, 32 MiB L3, ``python -m softviz.bench`` and lesson 06), float32
and float64 alike: reload is 20-30 % faster than two-pass for rows whose input and output
take up to 12 MiB, single rows or batches of any size (16 x 65,536, 512 x 4,096,
64 x 50,257: 10-25 %), and 20-50 % slower from 16 MiB (half the L3) on, where the row
itself no longer stays in cache between passes.  The quarter keeps a margin for what else
the cache holds; the 8 MiB cap, because a virtual machine may report its host's whole L3,
which other tenants share.

One exception: in place (``out=x``), three-pass reload cannot run (its stored exps
would overwrite x before a row with special values could be re-read), so two-pass runs.

The cache sizes are read once at import (``softviz.caches``); the last level is L3, or L2
where the OS reports no L3, or 1 MiB where it reports neither.  ``softviz.kernel_info()["auto"]`` reports the
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

_DEFAULT_LLC = 1 << 20
_ROW_CAP = 8 << 20
_CACHES = cache_sizes()
#: the last-level cache the rule is scaled by
LLC_BYTES: int = _CACHES.get("L3") or _CACHES.get("L2") or _DEFAULT_LLC
#: a row whose input and output take at most this many bytes runs three-pass reload
ROW_IN_CACHE_BYTES: int = min(LLC_BYTES // 4, _ROW_CAP)

_OPS = ("softmax", "log_softmax", "logsumexp")


def _choose(n: int, itemsize: int, in_place: bool = False) -> str:
    # the arithmetic the fast path of softviz.core repeats inline for 1-D rows
    if in_place:
        return "two_pass"
    if 2 * n * itemsize <= ROW_IN_CACHE_BYTES:
        return "three_pass_reload"
    return "two_pass"


def auto_algorithm(n: int, dtype: DTypeLike = np.float32, *, rows: int = 1, in_place: bool = False) -> str:
    """The algorithm ``algorithm="auto"`` runs for ``rows`` rows of ``n`` elements of ``dtype``.

    ``n`` is the length of the reduced axis (the product of the reduced axes' lengths),
    ``rows`` the number of such rows in the call (validated; the rule measured on Zen 4
    depends on the row alone, see the module's docstring), ``dtype`` the input's dtype (float16
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
    return _choose(int(n), itemsize, bool(in_place))


def auto_rule() -> dict[str, Any]:
    """The rule of ``algorithm="auto"`` and the thresholds this machine gave it.

    Reported by ``softviz.kernel_info()["auto"]``.
    """
    return {
        "rule": ("three_pass_reload if 2*n*itemsize <= row_in_cache_bytes (a row and its output "
                 "stay in cache between passes: a quarter of the last-level cache, at most 8 MiB), "
                 "for any number of rows; otherwise two_pass; two_pass in place (out=x)"),
        "row_in_cache_bytes": ROW_IN_CACHE_BYTES,
        "llc_bytes": LLC_BYTES,
        "caches_reported": {k: v for k, v in _CACHES.items()},
    }
