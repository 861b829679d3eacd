"""Time per element of every softmax contender, with the memory probes, row by row.

For one dtype and row length N, ``measure_group`` times together, round-robin
(``timing.time_interleaved``):

* each softviz algorithm with ``out=`` a preallocated buffer (the kernel's time: no
  allocation) and, unless ``fresh=False``, with a fresh output (what a plain
  ``softviz.softmax(x)`` costs, new pages included);
* numpy's stable softmax (``NUMPY_BASELINE``) and ``scipy.special.softmax``;
* the read and copy probes on the same array (``probes``), whose sum is the memory floor.

Ratios are speed ratios (> 1 means the row is faster than the reference): ``vs_numpy``
= t(numpy) / t, ``vs_recompute`` = t(three_pass_recompute, same output kind) / t,
``vs_floor`` = t(two-pass floor) / t (1.0 would be a row as fast as moving its bytes).

Used by: ``python -m softviz.bench`` and lesson 06 (``softviz.bench.sweep``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import softviz

from .probes import probe_contenders, probe_row
from .timing import MIN_SAMPLE_SECONDS, Progress, Timing, gbps, pow2_label, ratio, time_interleaved

__all__ = [
    "BASELINES",
    "NUMPY_BASELINE",
    "SCIPY_BASELINE",
    "OVERHEAD_N",
    "KERNEL_ESTIMATE_MAX_SHARE",
    "logits",
    "numpy_stable_softmax",
    "scipy_softmax",
    "method_fn",
    "timing_row",
    "add_ratios",
    "measure_group",
    "call_overhead",
    "throughput",
]

BASELINES = ("numpy", "scipy")
#: What the "numpy" contender runs.
NUMPY_BASELINE = ("inline numpy three-pass: e = x - x.max(); np.exp(e, out=e); e /= e.sum() "
                  "(softviz.reference.stable_softmax without its input checks)")
SCIPY_BASELINE = "scipy.special.softmax(x, axis=-1)"
#: Row length of the call-overhead measurement: the Python call, almost no kernel work.
OVERHEAD_N = 16
#: The kernel estimate (time minus call overhead) is given only where the call overhead
#: is at most this share of the row's time.
KERNEL_ESTIMATE_MAX_SHARE = 0.5


def logits(n: int, dtype: Any, seed: int = 0, scale: float = 10.0) -> np.ndarray:
    """``scale`` * standard normal, seeded, rounded to ``dtype``: the benchmark's rows."""
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(int(n))).astype(dtype)


def numpy_stable_softmax(x: np.ndarray) -> np.ndarray:
    """numpy's three passes, as fast as numpy goes: max, exp in place, divide in place."""
    # softviz.reference.stable_softmax minus its input checks and np.errstate, which
    # cost microseconds per call and would flatter softviz on short rows.
    e = np.subtract(x, x.max(axis=-1, keepdims=True))
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def scipy_softmax(x: np.ndarray) -> np.ndarray:
    """``scipy.special.softmax`` along the last axis."""
    import scipy.special
    return scipy.special.softmax(x, axis=-1)


def method_fn(method: str, **kwargs: Any) -> Callable[..., np.ndarray]:
    """A callable ``f(x)`` (or ``f(x, out=...)`` for the algorithms) for a contender name."""
    if method == "numpy":
        return numpy_stable_softmax
    if method == "scipy":
        return scipy_softmax
    return lambda x, **kw: softviz.softmax(x, algorithm=method, **kwargs, **kw)


def fresh_call(fn: Callable[..., object], x: np.ndarray) -> Callable[[], object]:
    """``fn(x)`` as a contender: a new output array every call."""
    return lambda: fn(x)


def out_call(fn: Callable[..., object], x: np.ndarray, out: np.ndarray) -> Callable[[], object]:
    """``fn(x, out=out)`` as a contender: the result written into ``out``."""
    return lambda: fn(x, out=out)


def _contenders(x: np.ndarray, out: np.ndarray, methods: Sequence[str], fresh: bool,
                probes: bool) -> dict[str, Callable[[], object]]:
    found: dict[str, Callable[[], object]] = {}
    for method in methods:
        fn = method_fn(method)
        if method in BASELINES:
            found[f"{method}|fresh"] = fresh_call(fn, x)
            continue
        found[f"{method}|out"] = out_call(fn, x, out)
        if fresh:
            found[f"{method}|fresh"] = fresh_call(fn, x)
    if probes:
        found.update({f"probe|{k}": v for k, v in probe_contenders(x, out).items()})
    return found


def timing_row(method: str, output: str, dtype: np.dtype, n: int, t: Timing) -> dict[str, Any]:
    """One ``throughput`` row from a ``Timing`` (ratios left None: see ``add_ratios``)."""
    sec = t.seconds
    moved = None
    if method in softviz.ALGORITHMS and sec:
        moved = gbps(softviz.kernels.memory_traffic(method, n, dtype)["bytes"], sec)
    return {"dtype": dtype.name, "n": n, "method": method, "output": output,
            "seconds": sec, "ns_per_element": sec / n * 1e9 if sec else None,
            "kernel_ns_per_element": None, "samples": list(t.samples), "loops": t.loops,
            "gbps": gbps(n * dtype.itemsize, sec), "moved_gbps": moved,
            "vs_numpy": None, "vs_recompute": None, "vs_floor": None, "error": t.error}


def add_ratios(rows: list[dict[str, Any]], probe: dict[str, Any] | None) -> None:
    """Fill ``vs_numpy``, ``vs_recompute`` and ``vs_floor`` of one group's rows in place."""
    by = {(r["method"], r["output"]): r["seconds"] for r in rows}
    floor = probe["floor_seconds"] if probe else None
    for r in rows:
        t = r["seconds"]
        r["vs_numpy"] = ratio(by.get(("numpy", "fresh")), t)
        r["vs_recompute"] = ratio(by.get(("three_pass_recompute", r["output"])), t)
        r["vs_floor"] = ratio(floor, t)


def measure_group(x: np.ndarray, out: np.ndarray, methods: Sequence[str], *, fresh: bool = True,
                  probes: bool = True, repeats: int = 5, min_time: float = MIN_SAMPLE_SECONDS
                  ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Time every contender on one row ``x`` (``out``: the preallocated output, same shape).

    Returns ``(rows, probe)``: one row per (method, output) in ``methods`` order, ratios
    filled in, and the ``probe_row`` of the memory probes (None with ``probes=False``).
    """
    dt, n = x.dtype, int(x.size)
    timings = time_interleaved(_contenders(x, out, methods, fresh, probes), repeats,
                               min_time=min_time)
    rows = []
    for key, t in timings.items():
        method, output = key.split("|")
        if method != "probe":
            rows.append(timing_row(method, output, dt, n, t))
    probe = probe_row(dt.name, n, timings["probe|read"], timings["probe|copy"]) if probes else None
    add_ratios(rows, probe)
    return rows, probe


def call_overhead(dtype: Any, algorithms: Sequence[str], *, repeats: int = 5,
                  min_time: float = MIN_SAMPLE_SECONDS) -> list[dict[str, Any]]:
    """Seconds per ``softmax(x, out=...)`` call on a row of ``OVERHEAD_N`` elements, per algorithm.

    That is the Python call (argument checks, cffi) with almost no kernel work;
    subtracted from a row's time it estimates the kernel alone (``kernel_ns_per_element``).
    """
    x = logits(OVERHEAD_N, dtype)
    out = np.empty_like(x)
    timings = time_interleaved({a: out_call(method_fn(a), x, out) for a in algorithms},
                               repeats, min_time=min_time)
    return [{"dtype": x.dtype.name, "method": a, "n": OVERHEAD_N, "seconds": t.seconds,
             "error": t.error} for a, t in timings.items()]


def _add_kernel_estimate(rows: list[dict[str, Any]], overhead: list[dict[str, Any]]) -> None:
    # Only where the call is at most half the row's time: on shorter rows the difference
    # of two noisy times says nothing about the kernel.
    calls = {(o["dtype"], o["method"]): o["seconds"] for o in overhead if o["seconds"]}
    for r in rows:
        call = calls.get((r["dtype"], r["method"]))
        if (r["output"] == "out" and r["seconds"] and call is not None and r["n"] > OVERHEAD_N
                and call <= KERNEL_ESTIMATE_MAX_SHARE * r["seconds"]):
            r["kernel_ns_per_element"] = (r["seconds"] - call) / (r["n"] - OVERHEAD_N) * 1e9


def throughput(sizes: Sequence[int], dtypes: Sequence[str] = ("float32", "float64"), *,
               methods: Sequence[str] | None = None, fresh: bool = True, repeats: int = 5,
               large_repeats: int | None = None, min_time: float = MIN_SAMPLE_SECONDS,
               seed: int = 0, progress: Progress | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every contender at every N and dtype: ``{"rows", "probes", "call_overhead"}``.

    ``methods`` defaults to the four algorithms plus ``BASELINES``.  All sizes of one
    dtype are prefixes of one seeded row (logits ~ 10 * N(0, 1)) and share one output
    buffer.  ``large_repeats`` (if given) replaces ``repeats`` for N >= 2^22.

    Used by: ``python -m softviz.bench``.
    """
    methods = tuple(softviz.ALGORITHMS) + BASELINES if methods is None else tuple(methods)
    algorithms = [m for m in methods if m not in BASELINES]
    sizes = sorted({int(n) for n in sizes})
    found: dict[str, list[dict[str, Any]]] = {"rows": [], "probes": [], "call_overhead": []}
    for dtype in dtypes:
        dt = np.dtype(dtype)
        if progress is not None:
            progress.step(f"{dt.name} call overhead (N={OVERHEAD_N})")
        overhead = call_overhead(dt, algorithms, repeats=repeats, min_time=min_time) if algorithms else []
        x = logits(max(sizes), dt, seed)
        out = np.empty_like(x)
        for n in sizes:
            if progress is not None:
                progress.step(f"{dt.name} N={pow2_label(n)}: softmax contenders and memory probes")
            reps = large_repeats if (large_repeats and n >= 2**22) else repeats
            rows, probe = measure_group(x[:n], out[:n], methods, fresh=fresh,
                                        repeats=reps, min_time=min_time)
            _add_kernel_estimate(rows, overhead)
            found["rows"] += rows
            if probe is not None:  # always a row here: measure_group probes by default
                found["probes"].append(probe)
        found["call_overhead"] += overhead
        del x, out  # let the big buffers go before the next dtype allocates its own
    return found
