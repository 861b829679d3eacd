"""The benchmark's other sections: ``workers=`` scaling, panel responsiveness, Soft-NMS.

* ``workers_scaling``: one long row split over threads (lesson 06, section 6): the
  passes' partial states merge associatively (Milakov & Gimelshein, "Online normalizer
  calculation for softmax", 2018, arXiv:1805.02867), so each thread takes a chunk.
* ``panel_benchmark`` (``--panels``): median ``set()`` time of every panel.
* ``nms_benchmark``: ``softviz.soft_nms.soft_nms`` (lesson 04; Bodla et al., "Soft-NMS",
  2017, arXiv:1704.04503) on random boxes, and how its time grows with N.

Used by: ``python -m softviz.bench``; ``workers_scaling`` also by lesson 06's sweep.
"""
from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

import softviz

from .machine import usable_cpus
from .speed import logits, method_fn, out_call
from .timing import MIN_SAMPLE_SECONDS, Progress, gbps, median, pow2_label, ratio, time_interleaved

if TYPE_CHECKING:  # the panels pull in matplotlib: imported only where a panel is timed
    from ..panels.base import Panel

__all__ = ["PANEL_MOVES", "PANEL_TARGETS", "NMS_SIZES", "NMS_MAX_EXPONENT",
           "workers_scaling", "panel_benchmark", "nms_benchmark"]

#: Moves of each panel's main control that ``--panels`` times.
PANEL_MOVES = 30
#: Median ``set()`` targets, seconds: compute + artist update, and with a full Agg redraw.
PANEL_TARGETS = {"update": 0.030, "redraw": 0.150}
#: Box counts for the Soft-NMS timing; the growth exponent is judged between them.
NMS_SIZES = (1000, 2000)
#: Largest acceptable growth exponent log2(t(2N) / t(N)): O(N^2) plus timing noise.
NMS_MAX_EXPONENT = 2.3


def _step(progress: Progress | None, label: str) -> None:
    if progress is not None:
        progress.step(label)


def workers_scaling(n: int = 2**24, workers: Sequence[int] | None = None, *,
                    algorithms: Sequence[str] | None = None, dtype: str = "float32", repeats: int = 5,
                    min_time: float = MIN_SAMPLE_SECONDS, seed: int = 0,
                    progress: Progress | None = None) -> list[dict[str, Any]]:
    """Time ``softmax(x, workers=w, out=buf)`` on one long row, every (algorithm, w) interleaved.

    ``workers`` defaults to 1, 2 and the usable CPUs when more.  ``speedup`` is
    time(workers=1) / time(workers=w).  A count the library refuses is reported with
    ``available=False`` and the error.

    Used in: notebooks/06_two_pass.ipynb
    """
    algorithms = tuple(softviz.ALGORITHMS) if algorithms is None else tuple(algorithms)
    workers = sorted({1, 2, usable_cpus()}) if workers is None else list(workers)
    dt = np.dtype(dtype)
    x = logits(n, dt, seed)
    out = np.empty_like(x)
    _step(progress, f"{dt.name} N={pow2_label(n)}: workers {workers}")
    contenders = {(a, w): out_call(method_fn(a, workers=w), x, out)
                  for a in algorithms for w in workers}
    timings = time_interleaved(contenders, repeats, min_time=min_time)
    rows = []
    for (alg, w), t in timings.items():
        base = timings.get((alg, 1))
        rows.append({"algorithm": alg, "dtype": dt.name, "n": int(n), "workers": w,
                     "available": t.error is None, "seconds": t.seconds, "samples": list(t.samples),
                     "gbps": gbps(n * dt.itemsize, t.seconds),
                     "speedup": ratio(base.seconds if base else None, t.seconds), "error": t.error})
    return rows


def _median_set_seconds(panel: Any, name: str, values: Sequence[Any], draw: bool) -> float:
    samples = []
    for value in values:
        t0 = time.perf_counter()
        panel.set(**{name: value})
        if draw:
            panel.figure.canvas.draw()
        samples.append(time.perf_counter() - t0)
        if panel.last_error is not None:
            err = panel.last_error
            raise RuntimeError(f"set({name}={value!r}) failed: {type(err).__name__}: {err}")
    return median(samples)


def _time_panel(cls: type[Panel], moves: int) -> dict[str, Any]:
    from softviz.panels.base import offscreen
    from softviz.panels.controls import sweep

    row: dict[str, Any] = {"panel": cls.__name__, "control": None, "moves": int(moves),
                           "update_seconds": None, "redraw_seconds": None, "error": None}
    panel = None
    try:
        # Offscreen: no ipympl canvas or PNG view, so "update" is compute + artist
        # updates only and "redraw" adds exactly one full Agg draw.
        with offscreen():
            panel = cls()
        name = cls.main_control or next(iter(panel.controls))
        row["control"] = name
        values = sweep(panel.controls[name], int(moves) + 1)
        # The first set and draw pay one-off costs (font cache, text layout).
        panel.set(**{name: values[0]})
        panel.figure.canvas.draw()
        row["update_seconds"] = _median_set_seconds(panel, name, values[1:], draw=False)
        # Walk back down the sweep so every move changes the value again.
        row["redraw_seconds"] = _median_set_seconds(panel, name, values[-2::-1], draw=True)
    except Exception as exc:  # reported per panel
        row["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if panel is not None:
            panel.close()
    return row


def panel_benchmark(progress: Progress | None = None, moves: int = PANEL_MOVES,
                    classes: Sequence[type] | None = None) -> dict[str, Any]:
    """Median ``set()`` time of each panel over ``moves`` moves of its main control.

    ``classes`` defaults to every registered panel.  ``update_seconds``: compute + artist
    update (target <= 30 ms); ``redraw_seconds``: the same plus a full Agg
    ``figure.canvas.draw()`` (target <= 150 ms).
    """
    from softviz import panels

    results = []
    for cls in (panels.registry().values() if classes is None else classes):
        _step(progress, f"panel {cls.__name__}")
        results.append(_time_panel(cls, moves))
    return {"status": "ok" if results else "no panels registered", "moves": int(moves),
            "targets_seconds": dict(PANEL_TARGETS), "results": results}


def nms_benchmark(sizes: Sequence[int] = NMS_SIZES, repeats: int = 5, *, seed: int = 0,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Median time of ``softviz.soft_nms.soft_nms`` (hard, linear, gaussian) on random boxes.

    Returns ``{"sizes", "results": [{"method", "n", "seconds", "kept"}], "exponent":
    {method: log(t(largest) / t(smallest)) / log(size ratio)}}``; an exponent near 2
    or below is the O(N^2) lesson 04 promises.
    """
    from softviz import soft_nms as nms

    sizes = sorted(int(n) for n in sizes)
    results, exponent = [], {}
    for method in nms.METHODS:
        _step(progress, f"soft_nms {method} N={', '.join(map(str, sizes))}")
        data = {n: nms.random_boxes(n, seed) for n in sizes}
        timings = time_interleaved(
            {n: functools.partial(nms.soft_nms, b, s, method=method) for n, (b, s) in data.items()},
            repeats)
        for n in sizes:
            kept = len(nms.soft_nms(*data[n], method=method)[0])
            results.append({"method": method, "n": n, "seconds": timings[n].seconds, "kept": kept})
        lo, hi = sizes[0], sizes[-1]
        t_lo, t_hi = timings[lo].seconds, timings[hi].seconds
        if hi > lo and t_lo and t_hi:
            exponent[method] = math.log(t_hi / t_lo) / math.log(hi / lo)
    return {"sizes": sizes, "results": results, "exponent": exponent}
