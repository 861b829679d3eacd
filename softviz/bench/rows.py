"""Short rows: the fixed cost per row, measured, and the peers table next to the reference's.

A batch of R rows of n elements costs about ``R * (a + b * n)``: ``b`` ns per element for
the vector loops and ``a`` ns per row for what surrounds them (the horizontal max and sum
each row waits for, the scalar exp of the normaliser, the checks, the branch that finds the
row's end).  For long rows ``a`` vanishes in ``b * n``; for rows of 64 or 128 it is as large
as the loops themselves, and the algorithms' ranking by memory traffic (lesson 06's
sections 4 and 5) no longer says which is fastest.

* ``row_costs`` times every algorithm on batches of the same total size and different row
  lengths (``out=``, one thread, interleaved), so only the split into rows changes;
* ``fit_row_cost`` fits ``a`` and ``b`` per algorithm (least squares on the ns per row);
* ``softviz.bench.plots.plot_row_costs`` draws ns per element against the row length;
* ``peers_side_by_side`` puts a live peers table (``softviz.bench.peers.peers``) next to
  the reference machine's (``reference_result()["peers"]``).

Used in: notebooks/06_two_pass.ipynb (section 7, short rows).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import softviz

from .report import table
from .timing import time_interleaved

__all__ = ["ROW_LENGTHS", "row_costs", "fit_row_cost", "peers_side_by_side"]

#: Row lengths of the live measurement: from shorter than one AVX-512 vector to rows where
#: the fixed cost is a few per cent.
ROW_LENGTHS: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512, 1024, 4096)


def row_costs(lengths: Sequence[int] = ROW_LENGTHS, *, total: int = 2**17, dtype: str = "float32",
              algorithms: Sequence[str] = softviz.ALGORITHMS, repeats: int = 5,
              seed: int = 0) -> list[dict[str, Any]]:
    """ns per element and per row of every algorithm on ``total // n`` rows of n, ``out=``.

    The batch has ``total`` elements for every n (2^17 float32: 512 KiB in and out, in
    L2), so the memory each call touches is the same and the difference between row
    lengths is the cost per row.  Returns one dict per (n, algorithm):
    ``{"n", "rows", "algorithm", "dtype", "ns_per_element", "ns_per_row"}``.

    Used in: notebooks/06_two_pass.ipynb.
    """
    if not isinstance(total, (int, np.integer)) or isinstance(total, bool) or total < 1:
        raise ValueError(f"total must be a positive int, got {total!r}")
    if not isinstance(repeats, (int, np.integer)) or isinstance(repeats, bool) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    lengths = list(lengths)
    if not lengths or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= total
                          for n in lengths):
        raise ValueError(f"lengths must be ints in 1..total, got {lengths!r}")
    unknown = [a for a in algorithms if a not in softviz.ALGORITHMS]
    if unknown or not algorithms:
        raise ValueError(f"algorithms must be among {softviz.ALGORITHMS}, got {list(algorithms)!r}")
    rng = np.random.default_rng(seed)
    out = []
    for n in lengths:
        rows = total // int(n)
        x = (rng.standard_normal((rows, int(n))) * 4).astype(dtype)
        y = np.empty_like(x)

        def call(a: str, x: np.ndarray = x, y: np.ndarray = y) -> Any:
            return lambda: softviz.softmax(x, algorithm=a, out=y)

        timing = time_interleaved({a: call(a) for a in algorithms}, repeats=repeats)
        for a in algorithms:
            s = timing[a].seconds
            out.append({"n": int(n), "rows": rows, "algorithm": a, "dtype": dtype,
                        "ns_per_element": s / x.size * 1e9 if s else None,
                        "ns_per_row": s / rows * 1e9 if s else None})
    return out


def fit_row_cost(rows: Sequence[dict[str, Any]], algorithm: str) -> dict[str, float]:
    """``ns_per_row ~ fixed_ns + ns_per_element * n`` fitted to ``row_costs`` rows.

    Returns ``{"fixed_ns", "ns_per_element"}`` for ``algorithm`` (least squares, every
    measured length weighted by 1/n so short rows, where the fixed cost shows, count as
    much as long ones).  Used in: notebooks/06_two_pass.ipynb.
    """
    pts = [(r["n"], r["ns_per_row"]) for r in rows if r["algorithm"] == algorithm and r["ns_per_row"]]
    if len({n for n, _ in pts}) < 2:
        raise ValueError(f"rows must hold at least two row lengths measured for algorithm {algorithm!r}")
    n, t = (np.array(v, dtype=float) for v in zip(*pts))
    slope, fixed = np.polyfit(n, t, 1, w=1.0 / n)
    return {"fixed_ns": float(fixed), "ns_per_element": float(slope)}


def _cell(ns: dict[str, Any] | None, name: str) -> str:
    v = (ns or {}).get(name)
    return f"{v:.3f}" if v is not None else "-"


def peers_side_by_side(live: Sequence[dict[str, Any]], reference: Sequence[dict[str, Any]] | None,
                       dtype: str = "float32") -> str:
    """A text table: per shape, softviz and its peers in ns per element on this machine and
    on the reference machine, with softviz's speed-up over the faster of onnxruntime and
    torch ("-" where a peer is not installed).  Used in: notebooks/06_two_pass.ipynb."""
    ref = {(r["rows"], r["n"]): r for r in (reference or []) if r["dtype"] == dtype}
    names = ["softviz", "numpy", "onnxruntime", "torch"]
    heads = ["shape", "rows x n", "auto"] + [f"{k}" for k in names] + ["x best"] + \
            [f"ref {k}" for k in names] + ["ref x best"]
    body = []
    for r in live:
        if r["dtype"] != dtype:
            continue
        other = ref.get((r["rows"], r["n"]), {})
        body.append([r["shape"], f"{r['rows']} x {r['n']}", r["algorithm"]]
                    + [_cell(r["ns_per_element"], k) for k in names]
                    + [f"{r['speedup_vs_best_peer']:.2f}" if r.get("speedup_vs_best_peer") else "-"]
                    + [_cell(other.get("ns_per_element"), k) for k in names]
                    + [f"{other['speedup_vs_best_peer']:.2f}" if other.get("speedup_vs_best_peer") else "-"])
    if not body:
        raise ValueError(f"live holds no {dtype} rows")
    return table(heads, body, left=3)
