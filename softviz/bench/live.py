"""Lesson 06's live benchmark: a sweep over N on the student's machine, and its verdict.

``sweep`` runs the very measurement of ``python -m softviz.bench`` (``measure_group``:
every algorithm with ``out=``, numpy, scipy and the read and copy probes, interleaved, at
each N), on one dtype, with shorter samples in quick mode.  ``verdict`` writes sentences
from those numbers only, with two rules:

* the ceiling is the memory floor (one read pass + one copy pass, measured on the same
  row in the same rounds), not the read bandwidth alone;
* a kernel is said to run "at the floor" only within ``FLOOR_SLACK`` (15 %) of it;
  otherwise the sentence states how many times the floor it takes, nothing more.

The claim tested is that of Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm" (2020,
arXiv:2001.04438): out of cache, two-pass beats both three-pass variants.

Used in: notebooks/06_two_pass.ipynb
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import softviz

from .extras import workers_scaling
from .machine import bytes_str, cache_sizes, cpu_model, load_average, usable_cpus
from .probes import floor_seconds
from .speed import BASELINES, logits, measure_group
from .targets import FLOOR_SLACK
from .timing import MIN_SAMPLE_SECONDS, Progress, pow2_label, ratio

__all__ = ["SWEEP_QUICK_SIZES", "SWEEP_FULL_SIZES", "SPREADS", "full_sizes", "sweep", "live_sweep",
           "as_sweep", "verdict"]

#: Row lengths of the notebook's quick sweep: a few seconds in all.
SWEEP_QUICK_SIZES = (2**10, 2**13, 2**16, 2**19, 2**22)
#: Row lengths of the full sweep; ``sweep`` extends them past the largest cache.
SWEEP_FULL_SIZES = tuple(2**p for p in range(10, 25))
#: Logit spreads of the notebook's accuracy figure (x = spread * N(0, 1)).
SPREADS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)

# Largest row the full sweep extends to (2^27 float64 is 1 GiB for x alone).
_SWEEP_MAX_N = 2**27
# One sample of a quick sweep lasts at least this long (the CLI: MIN_SAMPLE_SECONDS).
_QUICK_SAMPLE_S = 0.005
# "faster" / "slower" only beyond this relative difference: the machine is noisy.
_SAME = 0.03
# Shorter rows time the Python call (microseconds) more than the kernel.
_MIN_JUDGED_N = 2**14


def full_sizes(caches: dict[str, int | None], itemsize: int) -> tuple[int, ...]:
    """``SWEEP_FULL_SIZES``, extended by doubling until x and y together are twice the largest
    cache (only then is every pass a trip to DRAM), at most 2^27."""
    sizes = list(SWEEP_FULL_SIZES)
    llc = max((v for v in caches.values() if v), default=0)
    while 2 * sizes[-1] * itemsize < 2 * llc and sizes[-1] < _SWEEP_MAX_N:
        sizes.append(2 * sizes[-1])
    return tuple(sizes)


def _sweep_machine() -> dict[str, Any]:
    return {"cpu_model": cpu_model(), "usable_cpus": usable_cpus(),
            "simd_path": softviz.kernels.simd_path(), "kernel": dict(softviz.kernel_info()),
            "native": bool(softviz.native_available()), "load_average": load_average()}


def sweep(quick: bool = True, *, dtype: str = "float32", sizes: Sequence[int] | None = None,
          methods: Sequence[str] | None = None, repeats: int | None = None, workers: bool = True,
          progress: Callable[[int, int, str], object] | None = None, seed: int = 0) -> dict[str, Any]:
    """Measure every contender and the memory floor against N on this machine.

    Sizes: ``SWEEP_QUICK_SIZES`` in quick mode; in full mode ``full_sizes`` (2^10 .. 2^24
    and on past the largest cache).  At each N, ``measure_group`` times the algorithms
    with ``out=``, the baselines, and the read and copy probes, interleaved.  With
    ``workers=True`` it then times ``workers=2`` (and all usable cores) against one
    thread on one row of at least 2^24 elements.  ``progress(done, total, label)`` is
    called before every step.

    Returns a dict: ``rows`` (the ``throughput`` rows), ``probes`` (read, copy and floor
    per N), ``workers`` (``workers_scaling`` rows or None), ``caches``, ``sizes``,
    ``dtype``, ``methods``, ``quick``, ``machine`` and ``elapsed_seconds``.  It reports;
    ``verdict`` judges.

    Used in: notebooks/06_two_pass.ipynb
    """
    t_start = time.perf_counter()
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"sweep: dtype must be float32 or float64, got {dt}")
    caches = cache_sizes()
    sizes = sorted({int(n) for n in (sizes if sizes is not None else
                                     SWEEP_QUICK_SIZES if quick else full_sizes(caches, dt.itemsize))})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"sweep: sizes must be positive row lengths, got {sizes!r}")
    methods = tuple(softviz.ALGORITHMS) + BASELINES if methods is None else tuple(methods)
    reps = (3 if quick else 5) if repeats is None else max(1, int(repeats))
    min_time = _QUICK_SAMPLE_S if quick else MIN_SAMPLE_SECONDS
    worker_counts = sorted({1, 2, usable_cpus()}) if workers else []
    prog = Progress(len(sizes) + (1 if workers else 0), callback=progress, enabled=progress is not None)
    x = logits(max(sizes), dt, seed)
    out = np.empty_like(x)
    rows, probes = [], []
    for n in sizes:
        prog.step(f"{dt.name} N={pow2_label(n)}: {len(methods)} contenders and the memory probes")
        group, probe = measure_group(x[:n], out[:n], methods, fresh=False, repeats=reps, min_time=min_time)
        rows += group
        probes.append(probe)
    del x, out  # let the big buffers go before the next step allocates
    scaling = None
    if workers:
        # At 2^24 at least: shorter rows give each thread too little work between hand-offs.
        scaling = workers_scaling(max(max(sizes), 2**24), worker_counts,
                                  algorithms=("two_pass", "online") if quick else None,
                                  dtype=dt.name, repeats=reps, min_time=min_time, seed=seed, progress=prog)
    return {"schema": "softviz.bench.sweep/2", "quick": bool(quick), "dtype": dt.name, "sizes": sizes,
            "methods": list(methods), "repeats": reps, "caches": caches, "machine": _sweep_machine(),
            "rows": rows, "probes": probes, "workers": scaling,
            "elapsed_seconds": time.perf_counter() - t_start}


def live_sweep(quick: bool = True, **kwargs: Any) -> dict[str, Any]:
    """``sweep`` with a progress bar: an ipywidgets bar in a notebook, a status line otherwise.

    Takes the keywords of ``sweep`` (except ``progress``) and returns its result.

    Used in: notebooks/06_two_pass.ipynb
    """
    if "progress" in kwargs:
        raise TypeError("live_sweep draws its own progress bar; call sweep(progress=...) instead")
    try:
        from IPython import get_ipython
        shell = get_ipython()
        in_kernel = shell is not None and hasattr(shell, "kernel")
    except ImportError:
        in_kernel = False
    if not in_kernel:
        line = Progress(1)

        def report(done: int, total: int, label: str) -> None:
            line.total = total
            line.step(label)

        try:
            return sweep(quick, progress=report, **kwargs)
        finally:
            line.close()
    return _widget_sweep(quick, kwargs)


def _widget_sweep(quick: bool, kwargs: dict[str, Any]) -> dict[str, Any]:
    import ipywidgets as widgets
    from IPython.display import display

    bar = widgets.IntProgress(value=0, min=0, max=1, description="measuring", bar_style="info",
                              style={"description_width": "initial"})
    label = widgets.Label("starting ...")
    display(widgets.HBox([bar, label]))

    def update(done: int, total: int, text: str) -> None:
        bar.max, bar.value = total, done
        label.value = f"{done}/{total}: {text}"

    try:
        result = sweep(quick, progress=update, **kwargs)
    except BaseException:
        bar.bar_style, bar.description = "danger", "failed"
        raise
    bar.bar_style, bar.description = "success", "done"
    label.value = f"measured in {result['elapsed_seconds']:.1f} s ({'quick' if quick else 'full'} mode)"
    return result


def as_sweep(result: dict[str, Any], dtype: str = "float32") -> dict[str, Any]:
    """A ``run()`` result (e.g. ``reference_result()``) in the shape of a ``sweep`` result.

    Keeps one dtype, the algorithms' ``out=`` rows and the baselines' rows, the probes
    and the ``workers=`` rows, so ``plot_sweep`` and ``verdict`` draw and judge a stored
    run exactly as they do a live one.

    Used in: notebooks/06_two_pass.ipynb (the reference machine next to the live run).
    """
    if dtype not in result["config"]["dtypes"]:
        raise ValueError(f"as_sweep: this run has no {dtype!r} rows (it has {result['config']['dtypes']})")
    tp = result["throughput"]
    algorithms, baselines = result["config"]["algorithms"], result["config"]["baselines"]
    rows = [r for r in tp["rows"] if r["dtype"] == dtype
            and ((r["method"] in algorithms and r["output"] == "out") or r["method"] in baselines)]
    m = result["machine"]
    return {"schema": "softviz.bench.sweep/2", "quick": bool(result["config"]["quick"]), "dtype": dtype,
            "sizes": sorted({r["n"] for r in rows}), "methods": list(algorithms) + list(baselines),
            "repeats": result["config"]["repeats"], "caches": dict(m["caches"]),
            "machine": {"cpu_model": m["cpu_model"], "usable_cpus": m["usable_cpus"],
                        "simd_path": m["simd_path"], "kernel": m["kernel"],
                        "native": m["native_available"], "load_average": m["load_average"]},
            "rows": rows, "probes": [p for p in tp["probes"] if p["dtype"] == dtype],
            "workers": [r for r in result.get("scaling") or [] if r["dtype"] == dtype] or None,
            "elapsed_seconds": result.get("elapsed_seconds"), "created": result.get("created")}


def _llc(caches: dict[str, int | None]) -> tuple[str | None, int | None]:
    for level in ("L3", "L2", "L1"):
        if caches.get(level):
            return level, caches[level]
    return None, None


def _speed_phrase(r: float | None) -> str:
    if r is None:
        return "could not be compared with"
    if r > 1 + _SAME:
        return f"is {r:.2f}x as fast as"
    if r < 1 - _SAME:
        return f"is slower than ({r:.2f}x the speed of)"
    return f"is about as fast as ({r:.2f}x)"


def _claim(result: dict[str, Any], secs: dict[tuple[str, int], float]) -> str:
    sizes, itemsize = sorted(result["sizes"]), np.dtype(result["dtype"]).itemsize
    level, llc = _llc(result["caches"])

    def r(other: str, n: int) -> float | None:
        return ratio(secs.get((other, n)), secs.get(("two_pass", n)))

    def compare(n: int) -> str:
        return (f"two-pass {_speed_phrase(r('three_pass_recompute', n))} three-pass recompute "
                f"and {_speed_phrase(r('three_pass_reload', n))} three-pass reload")

    outside = [n for n in sizes if llc and 2 * n * itemsize > llc]
    slow = _memory_bound_sizes(result)
    if not outside and slow:
        # sysfs may report a cache far larger than what serves these rows (virtual machines
        # do); the copy pass itself shows where the rows stopped being served from cache
        n = slow[-1]
        rc, rl = r("three_pass_recompute", n), r("three_pass_reload", n)
        if rc is None or rl is None:
            return "The paper's claim could not be judged: a measurement failed."
        worst = min(rc, rl)
        claim = ("holds on this machine" if worst > 1 + _SAME else
                 "is not clearly confirmed on this machine" if worst >= 1 - _SAME else
                 "does not hold on this machine")
        return (f"The OS reports a {bytes_str(llc or 0)} {level} cache, but from N = {pow2_label(slow[0])} on a copy pass "
                f"takes at least {_SLOW_COPY:.1f}x as long per element as in L2: those rows are memory-bound. "
                f"The paper's claim (two-pass faster than three-pass out of cache) {claim}: at N = "
                f"{pow2_label(n)} {compare(n)}.")
    if llc is None:
        return ("The OS does not report this machine's cache sizes, so this run cannot tell in-cache "
                f"from out-of-cache rows; at the longest row (N = {pow2_label(sizes[-1])}) {compare(sizes[-1])}.")
    if not outside:
        n = sizes[-1]
        return (f"This run cannot test the paper's claim (two-pass faster than three-pass out of cache): "
                f"its longest row (N = {pow2_label(n)}, x and y {bytes_str(2 * n * itemsize)}) still fits "
                f"in the {level} cache ({bytes_str(llc)}); "
                + ("the full mode (quick=False) goes past it. " if result.get("quick")
                   else "only a longer row would test it. ")
                + f"At that size {compare(n)}.")
    n = outside[-1]
    where = (f"out of cache (N = {pow2_label(n)}: x and y take {bytes_str(2 * n * itemsize)}, more than "
             f"the {level} cache's {bytes_str(llc)})")
    rc, rl = r("three_pass_recompute", n), r("three_pass_reload", n)
    if rc is None or rl is None:
        return f"The paper's claim could not be judged {where}: a measurement failed."
    worst = min(rc, rl)
    claim = ("holds on this machine" if worst > 1 + _SAME else
             "is not clearly confirmed on this machine" if worst >= 1 - _SAME else
             "does not hold on this machine")
    return f"The paper's claim (two-pass faster than three-pass out of cache) {claim}: {where} {compare(n)}."


# A row counts as memory-bound when its copy pass takes this many times as long per element as
# the fastest copy pass among the rows that fit in L2 (N >= 2^14).
_SLOW_COPY = 1.5


def _memory_bound_sizes(result: dict[str, Any]) -> list[int]:
    """Row lengths whose measured copy pass is ``_SLOW_COPY`` times slower per element than in L2."""
    itemsize = np.dtype(result["dtype"]).itemsize
    l2 = result["caches"].get("L2")
    per = {p["n"]: p["copy_seconds"] / p["n"] for p in result.get("probes") or []
           if p.get("copy_seconds") and p["n"] >= _MIN_JUDGED_N}
    fast = [v for n, v in per.items() if l2 and 2 * n * itemsize <= l2]
    if not fast:
        return []
    best = min(fast)
    slow = sorted(n for n, v in per.items() if v >= _SLOW_COPY * best and (not l2 or 2 * n * itemsize > l2))
    # only a tail of the sweep counts: every longer row must be slow too
    while slow and any(n > slow[0] and n not in slow for n in per):
        slow = slow[1:]
    return slow


def _floor_sentence(n: int, t2: float | None, probe: dict[str, Any] | None) -> str | None:
    floor = probe.get("floor_seconds") if probe else None
    if not t2 or not floor:
        return None
    k = t2 / floor
    text = (f"At N = {pow2_label(n)} two-pass takes {t2 / n * 1e9:.3f} ns per element; one read pass "
            f"and one copy pass over the same row, its memory floor, take {floor / n * 1e9:.3f} ns")
    if k <= 1:
        return text + ": two-pass runs as fast as moving its bytes, so memory traffic sets its pace."
    if k <= FLOOR_SLACK:
        return (text + f": two-pass is within {100 * (k - 1):.0f} % of its floor, so memory traffic "
                "sets its pace.")
    return (text + f": two-pass takes {k:.1f}x its floor, so memory traffic alone does not explain "
            "its time (the arithmetic, chiefly the exponentials, or the call itself costs the rest).")


def _passes_sentence(n: int, secs: dict[tuple[str, int], float], probe: dict[str, Any] | None) -> str | None:
    t2, t3 = secs.get(("two_pass", n)), secs.get(("three_pass_recompute", n))
    if not probe or not t2 or not t3:
        return None
    f2 = floor_seconds(probe.get("read_seconds"), probe.get("copy_seconds"), "two_pass")
    f3 = floor_seconds(probe.get("read_seconds"), probe.get("copy_seconds"), "three_pass_recompute")
    if not f2 or not f3:
        return None
    return (f"Three-pass recompute makes one more read pass: its floor at N = {pow2_label(n)} is "
            f"{f3 / n * 1e9:.3f} ns per element, so memory alone would let two-pass be at most "
            f"{f3 / f2:.2f}x as fast; measured: {t3 / t2:.2f}x.")


def _workers_sentence(result: dict[str, Any]) -> str | None:
    scal = [r for r in (result.get("workers") or []) if r.get("algorithm") == "two_pass"
            and r.get("workers", 1) > 1 and r.get("speedup")]
    if not scal:
        return None
    r = scal[0]
    cpus = result["machine"].get("usable_cpus") or 1
    load = result["machine"].get("load_average")
    busy = (f" (the load average is {load:.1f}: other programs are using these cores, so threads "
            "wait for them)" if load is not None and load > 0.75 * cpus else "")
    return (f"workers={r['workers']} on one row of N = {pow2_label(r['n'])}: two-pass runs "
            f"{r['speedup']:.2f}x as fast as one thread on this machine's {cpus} usable cores{busy}.")


def verdict(result: dict[str, Any]) -> str:
    """Sentences that judge a ``sweep`` result, each computed from its numbers.

    1. The paper's claim, tested at the longest row whose x and y together exceed the
       largest cache: it "holds" when two-pass is more than 3 % faster than both
       three-pass variants; without such a row the run says it cannot test it.
    2. At the longest row that fits in L2 (N >= 2^14) and at the longest row: two-pass's
       time against its memory floor (one read pass + one copy pass, measured on the same
       row).  "Memory traffic sets its pace" only within 15 % of the floor.
    3. At the longest row: what the floors predict for two-pass over three-pass recompute
       (one read pass fewer), next to what was measured.
    4. The ``workers=`` speedup, when measured.

    Used in: notebooks/06_two_pass.ipynb
    """
    sizes, itemsize = sorted(result["sizes"]), np.dtype(result["dtype"]).itemsize
    secs = {(r["method"], r["n"]): r["seconds"] for r in result["rows"] if r.get("seconds")}
    probes = {p["n"]: p for p in result.get("probes") or []}
    l2 = result["caches"].get("L2") or result["caches"].get("L1")
    in_l2 = [n for n in sizes if n >= _MIN_JUDGED_N and (not l2 or 2 * n * itemsize <= l2)]
    judged = ([in_l2[-1]] if in_l2 and in_l2[-1] != sizes[-1] else []) + [sizes[-1]]
    parts: list[str | None] = [_claim(result, secs)]
    parts += [_floor_sentence(n, secs.get(("two_pass", n)), probes.get(n)) for n in judged]
    parts += [_passes_sentence(sizes[-1], secs, probes.get(sizes[-1])), _workers_sentence(result)]
    return " ".join(p for p in parts if p)
