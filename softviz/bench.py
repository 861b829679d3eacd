"""The softviz benchmark: ``python -m softviz.bench``.

It measures, in one run on the machine it runs on:

* the memory read bandwidth (``softviz.kernels.read_probe``) and copy bandwidth
  (``softviz.kernels.copy_probe``), the ceilings a softmax row cannot beat;
* the throughput (GB/s of input) of every ``softviz.softmax`` algorithm for
  single rows of N = 2^10 .. 2^24, float32 and float64, next to numpy's stable
  softmax and ``scipy.special.softmax`` on the same arrays, with ratios to
  numpy, to three-pass recompute and to the read bandwidth;
* how ``workers=`` scales a long row over threads;
* the accuracy of every algorithm against an mpmath reference;
* with ``--panels``, the median ``set()`` time of every softviz panel, without
  and with a full Agg redraw;
* ``softviz.nms.soft_nms`` on 1,000 and 2,000 random boxes (lesson 04) and how
  its time grows with N (at most O(N^2): each greedy round is O(N) numpy work);
* the project's performance and accuracy targets, as PASS/FAIL.

It is a benchmark, not a test: it reports and exits 0 unless ``--check`` is
given. The functions below return plain data (lists of dicts) so that
lesson 06 can call them and plot the numbers; ``main`` is the CLI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

__all__ = [
    "DEFAULT_SIZES",
    "QUICK_SIZES",
    "SCALES",
    "NUMPY_BASELINE",
    "median",
    "parse_sizes",
    "machine_info",
    "bandwidth",
    "throughput",
    "workers_scaling",
    "accuracy",
    "evaluate_targets",
    "PANEL_MOVES",
    "PANEL_TARGETS",
    "panel_benchmark",
    "NMS_SIZES",
    "nms_benchmark",
    "run",
    "format_report",
    "main",
    "SWEEP_QUICK_SIZES",
    "SWEEP_FULL_SIZES",
    "SPREADS",
    "cache_sizes",
    "sweep",
    "live_sweep",
    "verdict",
    "plot_sweep",
    "plot_accuracy",
]

#: Row lengths of the full run: 2^10, 2^12, ..., 2^24.
DEFAULT_SIZES = tuple(2**p for p in range(10, 25, 2))
#: Row lengths of ``--quick``.
QUICK_SIZES = tuple(2**p for p in (10, 16, 20, 22, 24))
#: Logit scales of the accuracy test: x = s * standard normal.
SCALES = (1.0, 10.0, 100.0, 1000.0)
#: What the "numpy" column runs, stated in the report.
NUMPY_BASELINE = ("inline numpy three-pass: e = x - x.max(); np.exp(e, out=e); e /= e.sum() "
                  "(softviz.reference.stable_softmax without its input checks)")

# 2^24 float32 is 64 MiB: far beyond any last-level cache, so the probes and
# the workers test measure DRAM, not cache.
_LARGE_N = 2**24
_MIN_SAMPLE_S = 0.020
_BASELINES = ("numpy", "scipy")
#: Moves of each panel's main control that ``--panels`` times.
PANEL_MOVES = 30
#: Box counts for the Soft-NMS timing; the growth exponent is judged between them.
NMS_SIZES = (1000, 2000)
#: Largest acceptable growth exponent log2(t(2N) / t(N)): O(N^2) plus timing noise.
_NMS_MAX_EXPONENT = 2.3
#: Median ``set()`` targets, seconds: compute + artist update, and with a full Agg redraw.
PANEL_TARGETS = {"update": 0.030, "redraw": 0.150}
_DTYPES = ("float32", "float64")


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def median(values):
    """Median of a non-empty sequence of numbers, as a float.

    >>> median([3, 1, 2]), median([4, 1, 3, 2])
    (2.0, 2.5)
    """
    values = list(values)
    if not values:
        raise ValueError("median() of an empty sequence")
    return float(statistics.median(values))


def parse_sizes(text):
    """Parse ``"10,16,24"`` (powers of two) into ``[1024, 65536, 16777216]``."""
    sizes = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            p = int(part)
        except ValueError:
            raise ValueError(f"--sizes takes powers of two such as 10,16,24; got {part!r}") from None
        if not 0 <= p <= 30:
            raise ValueError(f"--sizes: power {p} out of range 0..30")
        sizes.append(2**p)
    if not sizes:
        raise ValueError("--sizes: no sizes given")
    return sorted(set(sizes))


def _pow2_label(n):
    p = int(n).bit_length() - 1
    return f"2^{p}" if 2**p == n else str(n)


def _softviz():
    # Imported lazily so that ``import softviz.bench`` never creates an import
    # cycle with the package's own __init__.
    import softviz
    import softviz.kernels
    import softviz.reference
    return softviz


def _numpy_stable_softmax(x):
    # softviz.reference.stable_softmax minus its input checks and np.errstate
    # wrapper, which cost a few microseconds per call and would flatter softviz
    # at small N; exp runs in place so numpy gets its fastest three passes.
    e = np.subtract(x, x.max(axis=-1, keepdims=True))
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _scipy_softmax(x):
    import scipy.special
    return scipy.special.softmax(x, axis=-1)


def _method_fn(method, **kwargs):
    if method == "numpy":
        return _numpy_stable_softmax
    if method == "scipy":
        return _scipy_softmax
    sv = _softviz()
    return lambda x: sv.softmax(x, algorithm=method, **kwargs)


def _time_per_call(fn, repeats, min_time=_MIN_SAMPLE_S):
    """Median seconds per call of ``fn()`` and the raw per-call samples.

    Each sample loops the call until it lasts >= ``min_time`` so that short
    calls are not measured at the timer's resolution.
    """
    # The first call pays one-off costs (page faults, lazy library loads).
    fn()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    loops = 1 if first >= min_time else max(1, math.ceil(min_time / max(first, 1e-9)))
    # A call that is already long enough is a valid sample: at N = 2^24 this
    # saves one slow call per measurement.
    samples = [first] if loops == 1 else []
    while len(samples) < max(1, int(repeats)):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - t0) / loops)
    return median(samples), samples, loops


def _gbps(nbytes, seconds):
    if not seconds or seconds <= 0:
        return None
    return nbytes / seconds / 1e9


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _logits(n, dtype, seed=0, scale=10.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(n)).astype(dtype)


class _Progress:
    """One status line on stderr: rewritten in place on a TTY, plain lines otherwise."""

    def __init__(self, total, stream=None, enabled=True):
        self.total = max(1, int(total))
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._width = 0

    def step(self, label):
        self.done += 1
        if not self.enabled:
            return
        w = len(str(self.total))
        line = f"[{self.done:>{w}}/{self.total}] {label} ..."
        if self.tty:
            # Pad with spaces so a shorter line fully covers the previous one.
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.enabled and self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def _step(progress, label):
    if progress is not None:
        progress.step(label)


# --------------------------------------------------------------------------
# machine
# --------------------------------------------------------------------------

def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        text = ""
    # x86 says "model name"; ARM kernels say "Hardware"/"Model"; POWER says "cpu".
    for key in ("model name", "Hardware", "Model", "cpu model", "cpu"):
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


_SYSFS_CACHE = "/sys/devices/system/cpu/cpu0/cache"


def _caches(base=_SYSFS_CACHE):
    """CPU caches of cpu0 from sysfs, e.g. {"L1d": 49152, "L2": 2097152, "L3": 272629760} (bytes)."""
    caches = {}
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return caches
    for entry in entries:
        if not entry.startswith("index"):
            continue
        try:
            with open(f"{base}/{entry}/level") as fh:
                level = fh.read().strip()
            with open(f"{base}/{entry}/type") as fh:
                kind = fh.read().strip()
            with open(f"{base}/{entry}/size") as fh:
                size = fh.read().strip()
        except OSError:
            continue
        mult = {"K": 2**10, "M": 2**20, "G": 2**30}.get(size[-1:], 1)
        try:
            nbytes = int(size.rstrip("KMG")) * mult
        except ValueError:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        caches[f"L{level}{suffix}"] = nbytes
    return caches


def _bytes_str(n):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def _is_x86_64(machine=None):
    return (machine or platform.machine()).lower() in ("x86_64", "amd64")


def machine_info():
    """Machine, library versions and the code path the C core runs.

    Used in: notebooks/06_two_pass.ipynb
    """
    import scipy
    sv = _softviz()
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        simd = sv.kernels.simd_path()
    except Exception as exc:  # a benchmark should report a broken probe, not die on it
        simd = f"unknown ({type(exc).__name__}: {exc})"
    try:
        build = dict(sv.kernels.build_info())
    except Exception as exc:
        build = {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "caches": _caches(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "softviz": getattr(sv, "__version__", "unknown"),
        "native_available": bool(sv.native_available()),
        "simd_path": simd,
        "build_info": build,
    }


# --------------------------------------------------------------------------
# measurements
# --------------------------------------------------------------------------

def bandwidth(n=_LARGE_N, dtypes=_DTYPES, repeats=5, *, seed=0, progress=None):
    """Read and copy bandwidth of this machine with the C probes, in GB/s.

    ``read``: every element read once (``kernels.read_probe``); ``copy``:
    read + write, counted as 2 * N * itemsize bytes (``kernels.copy_probe``).
    Returns one dict per (dtype, probe); ``gbps`` is None where the probe is
    unavailable (no C core), with the reason in ``error``.

    Used in: notebooks/06_two_pass.ipynb
    """
    sv = _softviz()
    rows = []
    for dtype in dtypes:
        dt = np.dtype(dtype)
        x = _logits(n, dt, seed)
        out = np.empty_like(x)
        for probe in ("read", "copy"):
            _step(progress, f"{dt.name} {probe} bandwidth N={_pow2_label(n)}")
            nbytes = n * dt.itemsize * (1 if probe == "read" else 2)
            row = {"probe": probe, "dtype": dt.name, "n": n, "bytes": nbytes,
                   "seconds": None, "samples": [], "gbps": None, "error": None}
            try:
                if probe == "read":
                    fn = lambda: sv.kernels.read_probe(x)  # noqa: E731
                else:
                    fn = lambda: sv.kernels.copy_probe(x, out)  # noqa: E731
                sec, samples, _ = _time_per_call(fn, repeats)
                row.update(seconds=sec, samples=samples, gbps=_gbps(nbytes, sec))
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
        # Let the big buffers go before the next dtype allocates its own.
        x = out = None
    return rows


def _read_gbps_by_dtype(bw_rows):
    return {r["dtype"]: r["gbps"] for r in bw_rows if r["probe"] == "read" and r["gbps"]}


def throughput(sizes=DEFAULT_SIZES, dtypes=_DTYPES, *, methods=None, repeats=5,
               large_repeats=None, read_gbps=None, seed=0, progress=None):
    """Seconds per call and GB/s of input for each method, dtype and row length.

    ``methods`` defaults to every softviz algorithm (one thread) plus the
    baselines "numpy" (see NUMPY_BASELINE) and "scipy" (scipy.special.softmax).
    All sizes of one dtype are prefixes of one seeded array (logits ~ 10 * N(0, 1)).
    Ratios are throughput ratios (> 1 means faster): ``vs_numpy``,
    ``vs_recompute`` (three_pass_recompute), ``vs_read`` (to the read bandwidth
    of ``read_gbps``, a dict dtype -> GB/s). ``moved_gbps`` counts the bytes
    each algorithm moves (``kernels.memory_traffic``), not just its input.

    Used in: notebooks/06_two_pass.ipynb
    """
    sv = _softviz()
    if methods is None:
        methods = tuple(sv.ALGORITHMS) + _BASELINES
    read_gbps = read_gbps or {}
    sizes = sorted(int(n) for n in sizes)
    rows = []
    for dtype in dtypes:
        dt = np.dtype(dtype)
        x = _logits(max(sizes), dt, seed)
        for n in sizes:
            xn = x[:n]
            reps = large_repeats if (large_repeats and n >= 2**22) else repeats
            group = []
            for method in methods:
                _step(progress, f"{dt.name} {method} N={_pow2_label(n)}")
                fn = _method_fn(method)
                row = {"method": method, "dtype": dt.name, "n": n,
                       "bytes": n * dt.itemsize, "seconds": None, "samples": [],
                       "loops": None, "gbps": None, "error": None}
                try:
                    sec, samples, loops = _time_per_call(lambda: fn(xn), reps)
                    row.update(seconds=sec, samples=samples, loops=loops,
                               gbps=_gbps(n * dt.itemsize, sec))
                except Exception as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                group.append(row)
            by = {r["method"]: r for r in group}
            t_np = by.get("numpy", {}).get("seconds")
            t_rc = by.get("three_pass_recompute", {}).get("seconds")
            for r in group:
                t = r["seconds"]
                r["vs_numpy"] = _ratio(t_np, t)
                r["vs_recompute"] = _ratio(t_rc, t)
                r["vs_read"] = _ratio(r["gbps"], read_gbps.get(dt.name))
                r["moved_gbps"] = None
                if r["method"] in sv.ALGORITHMS and t:
                    try:
                        moved = sv.kernels.memory_traffic(r["method"], n, dt)["bytes"]
                        r["moved_gbps"] = _gbps(moved, t)
                    except Exception:
                        pass
            rows.extend(group)
        xn = x = None
    return rows


def workers_scaling(n=_LARGE_N, workers=None, *, algorithms=None, dtype="float32",
                    repeats=5, seed=0, progress=None):
    """Time ``softmax(x, workers=w)`` on one long row for each algorithm.

    ``workers`` defaults to 1, 2 and os.cpu_count() when that is > 2.
    ``speedup`` is time(workers=1) / time(workers=w). A ``workers`` value the
    library refuses is reported with ``available=False`` and the error.

    Used in: notebooks/06_two_pass.ipynb
    """
    sv = _softviz()
    if algorithms is None:
        algorithms = tuple(sv.ALGORITHMS)
    if workers is None:
        workers = [1, 2]
        if (os.cpu_count() or 1) > 2:
            workers.append(os.cpu_count())
    dt = np.dtype(dtype)
    x = _logits(n, dt, seed)
    rows = []
    for alg in algorithms:
        base = None
        for w in workers:
            _step(progress, f"{dt.name} {alg} N={_pow2_label(n)} workers={w}")
            row = {"algorithm": alg, "dtype": dt.name, "n": n, "workers": w,
                   "available": True, "seconds": None, "samples": [], "gbps": None,
                   "speedup": None, "error": None}
            try:
                fn = _method_fn(alg, workers=w)
                sec, samples, _ = _time_per_call(lambda: fn(x), repeats)
                row.update(seconds=sec, samples=samples, gbps=_gbps(n * dt.itemsize, sec))
            except Exception as exc:
                # NotImplementedError/ValueError/TypeError: the library refuses
                # this many workers; report, keep going.
                row.update(available=False, error=f"{type(exc).__name__}: {exc}")
            if w == 1:
                base = row["seconds"]
            row["speedup"] = _ratio(base, row["seconds"])
            rows.append(row)
    return rows


def accuracy(algorithms=None, dtypes=_DTYPES, scales=SCALES, *, rows=20, length=256,
             seed=0, digits=50, baselines=_BASELINES, progress=None):
    """Max relative and ulp error of each method against mpmath.

    Input: ``rows`` random rows of ``length`` logits, x = s * N(0, 1) for each
    scale s, rounded to the dtype; the reference is
    ``softviz.reference.exact_softmax`` (``digits`` decimal digits) of those
    very values. Only elements whose exact value is >= the dtype's smallest
    normal are compared: smaller results may be flushed to 0 by contract, and
    a relative error against a subnormal (or underflowed) value measures the
    format, not the algorithm. ``n_excluded`` counts them.

    Used in: notebooks/06_two_pass.ipynb
    """
    sv = _softviz()
    from softviz import numerics
    if algorithms is None:
        algorithms = tuple(sv.ALGORITHMS)
    methods = tuple(algorithms) + tuple(baselines)
    out = []
    for dtype in dtypes:
        dt = np.dtype(dtype)
        tiny = float(np.finfo(dt).tiny)
        for i, s in enumerate(scales):
            rng = np.random.default_rng([seed, i])
            x = (float(s) * rng.standard_normal((rows, length))).astype(dt)
            _step(progress, f"{dt.name} exact reference (mpmath) scale={s:g}")
            exact = np.asarray(sv.reference.exact_softmax(x, axis=-1, digits=digits),
                               dtype=np.float64)
            mask = exact >= tiny
            ref = exact[mask]
            for method in methods:
                _step(progress, f"{dt.name} {method} accuracy scale={s:g}")
                row = {"method": method, "dtype": dt.name, "scale": float(s),
                       "rows": rows, "length": length,
                       "n_compared": int(mask.sum()), "n_excluded": int((~mask).sum()),
                       "max_rel_error": None, "max_ulp_error": None, "error": None}
                try:
                    got = np.asarray(_method_fn(method)(x))
                    if got.dtype != dt:
                        raise TypeError(f"returned {got.dtype}, expected {dt.name}")
                    g = got[mask].astype(np.float64)
                    row["max_rel_error"] = float(numerics.max_rel_error(g, ref))
                    row["max_ulp_error"] = float(numerics.max_ulp_error(g, ref, dt))
                except Exception as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                out.append(row)
    return out


def _median_set_seconds(panel, name, values, draw):
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


def _time_panel(cls, moves):
    from softviz.panels.base import offscreen
    from softviz.panels.controls import sweep

    row = {"panel": cls.__name__, "control": None, "moves": int(moves),
           "update_seconds": None, "redraw_seconds": None, "error": None}
    panel = None
    try:
        # Offscreen: no ipympl canvas or PNG view, so (a) is compute + artist
        # updates only and (b) adds exactly one full Agg draw.
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
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if panel is not None:
            panel.close()
    return row


def panel_benchmark(progress=None, moves=PANEL_MOVES):
    """Median ``set()`` time of every registered panel over ``moves`` moves of its main control.

    ``update_seconds``: compute + artist update (target <= 30 ms);
    ``redraw_seconds``: the same plus a full Agg ``figure.canvas.draw()``
    (target <= 150 ms). Panels are built with ``softviz.panels.base.offscreen()``.
    """
    from softviz import panels

    results = []
    for cls in panels.registry().values():
        _step(progress, f"panel {cls.__name__}")
        results.append(_time_panel(cls, moves))
    return {"status": "ok" if results else "no panels registered", "moves": int(moves),
            "targets_seconds": dict(PANEL_TARGETS), "results": results}


def nms_benchmark(sizes=NMS_SIZES, repeats=5, *, seed=0, progress=None):
    """Median time of ``softviz.nms.soft_nms`` (hard, linear, gaussian) on random boxes.

    Returns ``{"sizes", "results": [{"method", "n", "seconds", "kept"}],
    "exponent": {method: log2(t(largest) / t(smallest)) / log2(size ratio)}}``;
    an exponent near 2 or below is the O(N^2) the issue allows.

    Used in: notebooks/04_soft_nms.ipynb (reported by ``python -m softviz.bench``)
    """
    from softviz import nms

    sizes = sorted(int(n) for n in sizes)
    results, exponent = [], {}
    for method in nms.METHODS:
        times = {}
        for n in sizes:
            _step(progress, f"soft_nms {method} N={n}")
            boxes, scores = nms.random_boxes(n, seed)
            kept = len(nms.soft_nms(boxes, scores, method=method)[0])
            seconds = _time_per_call(lambda: nms.soft_nms(boxes, scores, method=method), repeats)[0]
            times[n] = seconds
            results.append({"method": method, "n": n, "seconds": seconds, "kept": kept})
        lo, hi = sizes[0], sizes[-1]
        if hi > lo and times[lo] > 0:
            exponent[method] = math.log(times[hi] / times[lo]) / math.log(hi / lo)
    return {"sizes": sizes, "results": results, "exponent": exponent}


# --------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------

def _max_error(acc_rows, method, dtype):
    vals = [r["max_rel_error"] for r in acc_rows if r["method"] == method and r["dtype"] == dtype]
    if not vals:
        return None, "not measured"
    if any(v is None for v in vals):
        errs = [r["error"] for r in acc_rows
                if r["method"] == method and r["dtype"] == dtype and r["error"]]
        return math.inf, (errs[0] if errs else "failed")
    return max(vals), None


def evaluate_targets(result):
    """PASS/FAIL of the project's targets from a ``run()`` result.

    Each target: ``kind`` ("speed", "accuracy", "build" or "panel"), ``name``,
    ``measured``, ``threshold``, ``applicable`` (False when this run did not
    measure it or it does not apply to this machine), ``passed`` (bool; False
    whenever not applicable), ``status`` ("PASS"/"FAIL"/"N/A") and a ``note``.
    Without the C core every applicable target but the panel ones FAILs: the
    numbers are then numpy's.
    """
    machine = result.get("machine", {})
    native = bool(machine.get("native_available"))
    tp = result.get("throughput") or []
    acc = result.get("accuracy")
    targets = []

    def add(kind, name, measured, threshold, ok, applicable=True, note=""):
        if applicable and not native:
            ok, note = False, "native C core not available (numpy fallback)"
        passed = bool(applicable and ok)
        targets.append({
            "kind": kind, "name": name, "measured": measured, "threshold": threshold,
            "applicable": bool(applicable), "passed": passed,
            "status": "N/A" if not applicable else ("PASS" if passed else "FAIL"),
            "note": note,
        })

    def speed(dtype, other, key, threshold):
        row = next((r for r in tp if r["method"] == "two_pass" and r["dtype"] == dtype
                    and r["n"] == _LARGE_N), None)
        name = f"{dtype} N=2^24: two_pass >= {threshold:g}x {other}"
        if row is None:
            add("speed", name, None, threshold, False, applicable=False,
                note=f"{dtype} N=2^24 not measured in this run")
            return
        val = row.get(key)
        add("speed", name, val, threshold, val is not None and val >= threshold,
            note="" if val is not None else (row.get("error") or "no timing"))

    speed("float32", "numpy stable softmax", "vs_numpy", 4.0)
    speed("float32", "three_pass_recompute", "vs_recompute", 1.15)
    speed("float64", "numpy stable softmax", "vs_numpy", 3.0)

    algorithms = result.get("config", {}).get("algorithms") or []
    for dtype in _DTYPES:
        for alg in algorithms:
            if dtype == "float32":
                threshold = 1e-6 if alg == "two_pass" else 1e-5
            else:
                threshold = 1e-13
            name = f"accuracy {dtype} {alg}: max rel err <= {threshold:g}"
            if acc is None:
                add("accuracy", name, None, threshold, False, applicable=False,
                    note="accuracy not run")
                continue
            val, why = _max_error(acc, alg, dtype)
            if why == "not measured":
                add("accuracy", name, None, threshold, False, applicable=False,
                    note=f"{dtype} not measured in this run")
            else:
                add("accuracy", name, val if math.isfinite(val) else None, threshold,
                    math.isfinite(val) and val <= threshold, note=why or "")

    # Panel timings do not depend on the C core: judged whatever `native` is.
    for row in (result.get("panels") or {}).get("results", []):
        for key, what in (("update", "compute + artist update"), ("redraw", "incl. full Agg redraw")):
            limit = PANEL_TARGETS[key]
            val = row.get(f"{key}_seconds")
            ok = val is not None and val <= limit
            targets.append({
                "kind": "panel", "name": f"panel {row['panel']}: median set() {what} "
                                         f"<= {limit * 1e3:g} ms",
                "measured": val, "threshold": limit, "applicable": True, "passed": ok,
                "status": "PASS" if ok else "FAIL", "note": row.get("error") or ""})

    # soft_nms is numpy only: judged whatever `native` is.
    for method, value in ((result.get("nms") or {}).get("exponent") or {}).items():
        ok = value <= _NMS_MAX_EXPONENT
        targets.append({
            "kind": "nms", "name": f"soft_nms {method}: time grows at most ~N^2 "
                                   f"(exponent <= {_NMS_MAX_EXPONENT:g})",
            "measured": value, "threshold": _NMS_MAX_EXPONENT, "applicable": True,
            "passed": ok, "status": "PASS" if ok else "FAIL", "note": ""})

    simd = str(machine.get("simd_path", ""))
    x86 = _is_x86_64(machine.get("machine") or platform.machine())
    add("build", "default build uses AVX2 (x86-64)", simd, "simd_path mentions AVX2",
        "AVX2" in simd.upper(), applicable=x86,
        note="" if x86 else "not an x86-64 machine")
    return targets


# --------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------

def run(sizes=DEFAULT_SIZES, dtypes=_DTYPES, *, repeats=None, quick=False,
        with_accuracy=True, with_panels=False, seed=0, progress=True):
    """Run every section and return one JSON-ready dict (what ``--json`` prints).

    Used in: notebooks/06_two_pass.ipynb
    """
    sv = _softviz()
    sizes = sorted(int(n) for n in sizes)
    dtypes = tuple(np.dtype(d).name for d in dtypes)
    algorithms = tuple(sv.ALGORITHMS)
    methods = algorithms + _BASELINES
    if repeats is None:
        base_reps, large_reps = (5, 3) if quick else (5, 5)
    else:
        base_reps = large_reps = max(1, int(repeats))
    acc_rows = 5 if quick else 20
    workers = [1, 2] + ([os.cpu_count()] if (os.cpu_count() or 1) > 2 else [])

    total = (2 * len(dtypes) + len(sizes) * len(dtypes) * len(methods)
             + len(algorithms) * len(workers))
    if with_accuracy:
        total += len(dtypes) * len(SCALES) * (1 + len(methods))
    if with_panels:
        total += len(sv.panels.registry())
    total += len(NMS_SIZES) * len(sv.nms.METHODS)
    prog = _Progress(total, enabled=bool(progress))

    result = {
        "schema": "softviz.bench/1",
        "machine": machine_info(),
        "config": {
            "sizes": sizes, "dtypes": list(dtypes), "quick": bool(quick),
            "repeats": base_reps, "repeats_large_n": large_reps,
            "min_sample_seconds": _MIN_SAMPLE_S, "seed": seed,
            "algorithms": list(algorithms), "baselines": list(_BASELINES),
            "numpy_baseline": NUMPY_BASELINE,
            "scipy_baseline": "scipy.special.softmax(x, axis=-1)",
            "logits": "10 * standard normal, numpy.random.default_rng(seed)",
            "bandwidth_n": _LARGE_N, "scaling_n": _LARGE_N, "scaling_workers": workers,
            "accuracy": {"rows": acc_rows, "length": 256, "scales": list(SCALES), "digits": 50,
                         "compared": "elements whose exact value >= finfo(dtype).tiny"},
        },
    }
    try:
        bw = bandwidth(_LARGE_N, dtypes, large_reps, seed=seed, progress=prog)
        result["bandwidth"] = bw
        result["throughput"] = throughput(
            sizes, dtypes, methods=methods, repeats=base_reps, large_repeats=large_reps,
            read_gbps=_read_gbps_by_dtype(bw), seed=seed, progress=prog)
        result["scaling"] = workers_scaling(_LARGE_N, workers, algorithms=algorithms,
                                            repeats=large_reps, seed=seed, progress=prog)
        result["accuracy"] = (accuracy(algorithms, dtypes, SCALES, rows=acc_rows, seed=seed,
                                       progress=prog) if with_accuracy else None)
        result["panels"] = panel_benchmark(prog) if with_panels else None
        result["nms"] = nms_benchmark(NMS_SIZES, base_reps, seed=seed, progress=prog)
    finally:
        prog.close()
    result["targets"] = evaluate_targets(result)
    return result


# --------------------------------------------------------------------------
# text report
# --------------------------------------------------------------------------

def _table(headers, rows, left=1):
    """Align ``rows`` (lists of str) under ``headers``; the first ``left`` columns left-aligned."""
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))

    def fmt(cells):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(r) if r else "" for r in rows]
    return "\n".join(lines)


def _f(value, spec=".2f", suffix=""):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec) + suffix


def _time_str(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_report(result):
    """The text report of a ``run()`` result (what the CLI prints without ``--json``)."""
    m, cfg = result["machine"], result["config"]
    out = []
    title = "softviz benchmark (python -m softviz.bench)"
    out += [title, "=" * len(title)]
    if not m["native_available"]:
        bang = "!" * 78
        out += [bang,
                "!!  WARNING: the softviz C core is NOT available on this machine.",
                "!!  Every softviz number below is the NUMPY FALLBACK, not the C kernels;",
                "!!  the performance targets are marked FAIL. Build it: pip install -e .",
                bang]
    # build_info repeats some header lines (simd_path, versions); show the rest.
    shown = {"simd_path", "python", "numpy", "machine", "native"}
    build = ", ".join(f"{k}={v}" for k, v in m["build_info"].items() if k not in shown) or "-"
    info = [
        ("machine", f"{m['platform']} ({m['machine']})"),
        ("cpu", f"{m['cpu_model']}; {m['cpu_count']} logical cores, {m['usable_cpus']} usable"),
        ("caches", ", ".join(f"{k} {_bytes_str(v)}" for k, v in m.get("caches", {}).items()) or "-"),
        ("versions", f"python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, "
                     f"softviz {m['softviz']}"),
        ("native core", "yes" if m["native_available"] else "NO (numpy fallback)"),
        ("SIMD path", m["simd_path"]),
        ("build", build),
        ("numpy column", cfg["numpy_baseline"]),
        ("scipy column", cfg["scipy_baseline"]),
        ("timing", f"median of {cfg['repeats']} samples (N >= 2^22: {cfg['repeats_large_n']}), "
                   f"each >= {cfg['min_sample_seconds'] * 1e3:.0f} ms of calls, time.perf_counter; "
                   f"{'quick' if cfg['quick'] else 'full'} run"),
    ]
    w = max(len(k) for k, _ in info)
    out += [f"{k:<{w}}  {v}" for k, v in info]

    out += ["", "Memory bandwidth (C probes, N = 2^24 elements)", ""]
    rows = []
    for r in result["bandwidth"]:
        rows.append([r["dtype"], r["probe"], _f(r["bytes"] / 2**20, ".0f", " MiB"),
                     _time_str(r["seconds"]), _f(r["gbps"]),
                     "" if not r["error"] else f"not available: {r['error']}"])
    out.append(_table(["dtype", "probe", "bytes", "time", "GB/s", ""], rows, left=2))
    out.append("(copy counts read + write bytes)")
    llc = max(m.get("caches", {}).values(), default=0)
    big = max((r["bytes"] for r in result["bandwidth"] if r["probe"] == "read"), default=0)
    if llc and big and big <= llc:
        # A buffer that fits in the last-level cache is read from there on
        # repeated calls: these are cache, not DRAM, bandwidths.
        out.append(f"note: the largest cache ({_bytes_str(llc)}) holds these buffers, so the "
                   "numbers at N = 2^24 can be cache bandwidth rather than DRAM")

    out += ["", "Throughput, one row, one thread (GB/s of input = N * itemsize / median time)",
            "x numpy / x recomp: throughput ratio to the numpy baseline / to three_pass_recompute;",
            "of read: fraction of the read bandwidth; moved GB/s: bytes the algorithm moves / time"]
    for dtype in cfg["dtypes"]:
        rows = []
        last_n = None
        for r in (r for r in result["throughput"] if r["dtype"] == dtype):
            if last_n is not None and r["n"] != last_n:
                rows.append([])
            last_n = r["n"]
            if r["error"]:
                rows.append([_pow2_label(r["n"]), r["method"], "error", "", "", "", "", r["error"]])
                continue
            rows.append([_pow2_label(r["n"]), r["method"], _time_str(r["seconds"]),
                         _f(r["gbps"]), _f(r["vs_numpy"], ".2f", "x"),
                         _f(r["vs_recompute"], ".2f", "x"), _f(r["vs_read"], ".2f"),
                         _f(r["moved_gbps"])])
        out += ["", f"[{dtype}]",
                _table(["N", "method", "time/call", "GB/s", "x numpy", "x recomp",
                        "of read", "moved GB/s"], rows, left=2)]

    scal = result["scaling"]
    if scal:
        out += ["", f"workers scaling ({scal[0]['dtype']}, N = {_pow2_label(scal[0]['n'])}, "
                    "speedup = time(workers=1) / time(workers=w); target >= 1.6x with 2 workers "
                    "on 2 cores, reported only)", ""]
        rows = []
        for r in scal:
            if not r["available"]:
                rows.append([r["algorithm"], str(r["workers"]), "not available", "", "", r["error"]])
                continue
            note = ""
            if r["workers"] == 2 and r["speedup"] is not None:
                note = "meets 1.6x" if r["speedup"] >= 1.6 else "below 1.6x"
            rows.append([r["algorithm"], str(r["workers"]), _time_str(r["seconds"]),
                         _f(r["gbps"]), _f(r["speedup"], ".2f", "x"), note])
        out.append(_table(["algorithm", "workers", "time/call", "GB/s", "speedup", ""], rows))

    acc = result.get("accuracy")
    if acc is not None:
        a = cfg["accuracy"]
        out += ["", f"Accuracy vs mpmath ({a['digits']} digits): {a['rows']} rows x {a['length']}, "
                    "x = scale * N(0, 1); elements with exact value >= the dtype's smallest",
                "normal only (smaller ones may be flushed to 0); max over rows"]
        scales = sorted({r["scale"] for r in acc})
        for dtype in cfg["dtypes"]:
            rows = []
            mine = [r for r in acc if r["dtype"] == dtype]
            for method in dict.fromkeys(r["method"] for r in mine):
                rs = {r["scale"]: r for r in mine if r["method"] == method}
                rels = [rs[s]["max_rel_error"] if s in rs else None for s in scales]
                ulps = [r["max_ulp_error"] for r in rs.values()]
                errs = [r["error"] for r in rs.values() if r["error"]]
                worst_rel = None if None in rels else max(rels)
                worst_ulp = None if None in ulps else max(ulps)
                rows.append([method] + [_f(v, ".2e") for v in rels]
                            + [_f(worst_rel, ".2e"), _f(worst_ulp, ".1f"), errs[0] if errs else ""])
            counts = {r["scale"]: (r["n_compared"], r["n_compared"] + r["n_excluded"]) for r in mine}
            out += ["", f"[{dtype}] max rel err per scale; elements compared: "
                    + ", ".join(f"scale {s:g}: {counts[s][0]}/{counts[s][1]}"
                                for s in scales if s in counts),
                    _table(["method"] + [f"s={s:g}" for s in scales]
                           + ["max rel", "max ulp", ""], rows)]

    if result.get("panels") is not None:
        p = result["panels"]
        out += [""]
        if p["results"]:
            lim = {k: f"<= {v * 1e3:g} ms" for k, v in p["targets_seconds"].items()}
            rows = []
            for r in p["results"]:
                cells = [r["panel"], r["control"] or "-", str(r["moves"])]
                for key in ("update", "redraw"):
                    val = r[f"{key}_seconds"]
                    ok = val is not None and val <= p["targets_seconds"][key]
                    cells += [_time_str(val), "PASS" if ok else "FAIL"]
                rows.append(cells + [r["error"] or ""])
            out += [f"Panels: median set() over {p['moves']} moves of each panel's main control "
                    "(offscreen Agg canvas)",
                    "set(): compute + artist update; + draw: also figure.canvas.draw()", "",
                    _table(["panel", "control", "moves", "set()", lim["update"],
                            "set() + draw", lim["redraw"], ""], rows, left=2)]
        else:
            out.append(f"panel benchmark: {p['status']}")

    if result.get("nms"):
        nm = result["nms"]
        rows = [[r["method"], str(r["n"]), _time_str(r["seconds"]), str(r["kept"])]
                for r in nm["results"]]
        out += ["", "Soft-NMS (softviz.nms.soft_nms, numpy): median time on random boxes; "
                "growth exponent log(t(2N)/t(N))/log 2 per method: "
                + ", ".join(f"{m} {e:.2f}" for m, e in nm["exponent"].items()),
                _table(["method", "boxes", "time", "kept"], rows)]

    out += ["", "Targets", ""]
    rows = []
    for t in result["targets"]:
        meas = t["measured"]
        if isinstance(meas, float):
            if t["kind"] == "panel":
                meas = _time_str(meas)
            else:
                meas = _f(meas, ".2f", "x") if t["kind"] == "speed" else _f(meas, ".2e")
        rows.append([t["status"], t["name"], "-" if meas is None else str(meas), t["note"]])
    out.append(_table(["", "target", "measured", "note"], rows, left=4))
    n_fail = sum(1 for t in result["targets"] if t["applicable"] and not t["passed"])
    n_app = sum(1 for t in result["targets"] if t["applicable"])
    out += ["", f"{n_app - n_fail}/{n_app} applicable targets pass"]
    return "\n".join(out)


# --------------------------------------------------------------------------
# lesson 06: a live sweep for the notebook, its verdict and its figures
# --------------------------------------------------------------------------

#: Row lengths of the notebook's quick sweep: a few seconds in all.
SWEEP_QUICK_SIZES = (2**10, 2**13, 2**16, 2**19, 2**22)
#: Row lengths of the full sweep; ``sweep`` extends them past the largest cache.
SWEEP_FULL_SIZES = tuple(2**p for p in range(10, 25))
#: Logit spreads of the notebook's accuracy figure (x = spread * N(0, 1)).
SPREADS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)

# Largest row the full sweep extends to (2^27 float64 is 1 GiB for x alone).
_SWEEP_MAX_N = 2**27
# One sample of a quick sweep lasts at least this long (the CLI uses _MIN_SAMPLE_S).
_QUICK_SAMPLE_S = 0.005
# "faster" / "slower" only beyond this relative difference: the machine is noisy.
_SAME = 0.03
# An algorithm moving its bytes at >= this fraction of the read bandwidth is memory-bound.
_BANDWIDTH_BOUND = 0.5
# Shorter rows time the Python call (microseconds) more than the kernel.
_MIN_JUDGED_N = 2**14
_SYSCONF_CACHE = {"L1": "SC_LEVEL1_DCACHE_SIZE", "L2": "SC_LEVEL2_CACHE_SIZE",
                  "L3": "SC_LEVEL3_CACHE_SIZE"}
_SYSCTL_CACHE = {"L1": "hw.l1dcachesize", "L2": "hw.l2cachesize", "L3": "hw.l3cachesize"}


def _sysconf_cache(level):
    name = _SYSCONF_CACHE[level]
    if name not in getattr(os, "sysconf_names", {}):
        return None
    try:
        value = os.sysconf(name)
    except (OSError, ValueError):
        return None
    return value if value and value > 0 else None


def _sysctl_cache(level):
    # macOS has neither sysfs nor these sysconf names; sysctl knows the sizes.
    if sys.platform != "darwin":
        return None
    import subprocess
    try:
        out = subprocess.run(["sysctl", "-n", _SYSCTL_CACHE[level]], capture_output=True,
                             text=True, timeout=5, check=False).stdout.strip()
        value = int(out)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return value if value > 0 else None


def cache_sizes(sysfs=_SYSFS_CACHE):
    """The data caches of this machine, ``{"L1": bytes, "L2": bytes, "L3": bytes}``.

    Read from sysfs (``/sys/devices/system/cpu/cpu0/cache``, Linux), else from
    ``os.sysconf`` (glibc's ``SC_LEVEL*_CACHE_SIZE``), else from ``sysctl``
    (macOS); None for a level that none of them reports.  Sizes are per cache
    instance as the OS reports them (on a virtual machine, the host's L3).

    Used in: notebooks/06_two_pass.ipynb
    """
    found = _caches(sysfs)
    sizes = {"L1": found.get("L1d") or found.get("L1"), "L2": found.get("L2"), "L3": found.get("L3")}
    for level in sizes:
        if not sizes[level]:
            sizes[level] = _sysconf_cache(level) or _sysctl_cache(level)
    return {k: (int(v) if v else None) for k, v in sizes.items()}


def _load_average():
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def _full_sizes(caches, itemsize):
    # Go on doubling until x and y together are twice the largest cache: only
    # then is every pass over the row a trip to DRAM.
    sizes = list(SWEEP_FULL_SIZES)
    llc = max((v for v in caches.values() if v), default=0)
    while 2 * sizes[-1] * itemsize < 2 * llc and sizes[-1] < _SWEEP_MAX_N:
        sizes.append(2 * sizes[-1])
    return tuple(sizes)


class _Callback:
    """Adapts a ``progress(done, total, label)`` callable to the ``step(label)`` protocol."""

    def __init__(self, total, callback):
        self.total, self.done, self.callback = total, 0, callback

    def step(self, label):
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total, label)


def sweep(quick=True, *, dtype="float32", sizes=None, methods=None, repeats=None,
          workers=True, progress=None, seed=0):
    """Measure GB/s vs N on this machine: the data of lesson 06's live benchmark.

    For each row length N (``SWEEP_QUICK_SIZES`` in quick mode; in full mode
    2^10 .. 2^24 and on until x and y together are twice the largest cache, at
    most 2^27) it times every softviz algorithm (one thread), numpy's stable
    softmax and ``scipy.special.softmax`` (medians, as the CLI), and the read
    probe at the same N (the ceiling).  With ``workers=True`` it then times
    ``workers=2`` (and all usable cores) against one thread on one long row.
    ``progress(done, total, label)`` is called after every measurement.
    The ``workers`` row is at least 2^24 long (64 MiB of float32), whatever the sizes.

    Returns a dict: ``rows`` (method, n, seconds, gbps = GB/s of input,
    moved_gbps = bytes of ``memory_traffic`` per second), ``read`` (n, gbps),
    ``workers`` (rows of ``workers_scaling``, or None), ``caches``
    (``cache_sizes()``), ``sizes``, ``dtype``, ``quick``, ``machine`` and
    ``elapsed_seconds``.  It reports; it never judges (see ``verdict``).

    Used in: notebooks/06_two_pass.ipynb
    """
    sv = _softviz()
    t_start = time.perf_counter()
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"sweep measures float32 or float64, got {dt}")
    caches = cache_sizes()
    if sizes is None:
        sizes = SWEEP_QUICK_SIZES if quick else _full_sizes(caches, dt.itemsize)
    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"sizes must be positive row lengths, got {sizes!r}")
    methods = tuple(sv.ALGORITHMS) + _BASELINES if methods is None else tuple(methods)
    reps = (3 if quick else 5) if repeats is None else max(1, int(repeats))
    min_time = _QUICK_SAMPLE_S if quick else _MIN_SAMPLE_S
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    worker_counts = sorted({1, 2, usable}) if workers else []
    scaling_algs = (("two_pass", "online") if quick else tuple(sv.ALGORITHMS)) if workers else ()
    total = len(sizes) * (len(methods) + 1) + len(scaling_algs) * len(worker_counts)
    prog = _Callback(total, progress)

    x = _logits(max(sizes), dt, seed)
    rows, reads = [], []
    for n in sizes:
        xn = x[:n]
        prog.step(f"{dt.name} read probe N={_pow2_label(n)}")
        try:
            sec, _, _ = _time_per_call(lambda: sv.kernels.read_probe(xn), reps, min_time)
            reads.append({"n": n, "seconds": sec, "gbps": _gbps(n * dt.itemsize, sec), "error": None})
        except Exception as exc:
            reads.append({"n": n, "seconds": None, "gbps": None,
                          "error": f"{type(exc).__name__}: {exc}"})
        for method in methods:
            prog.step(f"{dt.name} {method} N={_pow2_label(n)}")
            row = {"method": method, "dtype": dt.name, "n": n, "bytes": n * dt.itemsize,
                   "seconds": None, "gbps": None, "moved_gbps": None, "error": None}
            try:
                fn = _method_fn(method)
                sec, _, _ = _time_per_call(lambda: fn(xn), reps, min_time)
                row.update(seconds=sec, gbps=_gbps(n * dt.itemsize, sec))
                if method in sv.ALGORITHMS:
                    row["moved_gbps"] = _gbps(sv.kernels.memory_traffic(method, n, dt)["bytes"], sec)
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
    xn = x = None
    scaling = None
    if scaling_algs:
        # at 2^24 at least (the size of the project's workers target): shorter rows
        # give each thread too little to do between hand-offs
        scaling = workers_scaling(max(max(sizes), _LARGE_N), worker_counts, algorithms=scaling_algs, dtype=dt.name,
                                  repeats=reps, seed=seed, progress=prog)
    return {
        "schema": "softviz.bench.sweep/1",
        "quick": bool(quick), "dtype": dt.name, "sizes": sizes, "methods": list(methods),
        "repeats": reps, "caches": caches,
        "machine": {"cpu_model": _cpu_model(), "usable_cpus": usable,
                    "simd_path": sv.kernels.simd_path(), "native": bool(sv.native_available()),
                    "load_average": _load_average()},
        "rows": rows, "read": reads, "workers": scaling,
        "elapsed_seconds": time.perf_counter() - t_start,
    }


def live_sweep(quick=True, **kwargs):
    """``sweep`` with a progress bar: an ipywidgets bar in a notebook, a status line otherwise.

    Takes the keywords of ``sweep`` (except ``progress``) and returns its result.

    Used in: notebooks/06_two_pass.ipynb
    """
    if "progress" in kwargs:
        raise TypeError("live_sweep draws its own progress bar; call sweep(progress=...) instead")
    try:
        from IPython import get_ipython
        in_kernel = get_ipython() is not None and hasattr(get_ipython(), "kernel")
    except ImportError:
        in_kernel = False
    if not in_kernel:
        line = _Progress(1)

        def report(done, total, label):
            line.total = total
            line.step(label)

        try:
            return sweep(quick, progress=report, **kwargs)
        finally:
            line.close()

    import ipywidgets as widgets
    from IPython.display import display

    bar = widgets.IntProgress(value=0, min=0, max=1, description="measuring",
                              bar_style="info", style={"description_width": "initial"})
    label = widgets.Label("starting ...")
    display(widgets.HBox([bar, label]))

    def update(done, total, text):
        bar.max, bar.value = total, done
        label.value = f"{done}/{total}: {text}"

    try:
        result = sweep(quick, progress=update, **kwargs)
    except BaseException:
        bar.bar_style, bar.description = "danger", "failed"
        raise
    bar.bar_style, bar.description = "success", "done"
    label.value = (f"{bar.value} measurements in {result['elapsed_seconds']:.1f} s "
                   f"({'quick' if quick else 'full'} mode)")
    return result


def _llc(caches):
    for level in ("L3", "L2", "L1"):
        if caches.get(level):
            return level, caches[level]
    return None, None


def _speed_phrase(ratio):
    if ratio is None:
        return "could not be compared with"
    if ratio > 1 + _SAME:
        return f"is {ratio:.2f}x as fast as"
    if ratio < 1 - _SAME:
        return f"is slower than ({ratio:.2f}x the speed of)"
    return f"is about as fast as ({ratio:.2f}x)"


def verdict(result):
    """Sentences that judge a ``sweep`` result: the paper's claim, and what bounds the kernels.

    * Dukhan & Ablavatski (2020, arXiv:2001.04438) claim Two-Pass beats
      Three-Pass out of cache. The claim is tested at the longest row whose x
      and y together exceed the largest cache: it "holds" when two-pass is
      more than 3 % faster than both three-pass variants; without such a row
      the run cannot test it, and says so.
    * Compute- or bandwidth-bound: two-pass's bytes moved per second
      (``memory_traffic``) as a fraction of the read bandwidth measured at the
      same N; >= 50 % is bandwidth-bound, below that the arithmetic (the exps)
      sets the pace.  Judged at the shortest and the longest row.
    * The ``workers=`` speedup on the longest row, when measured.

    Used in: notebooks/06_two_pass.ipynb
    """
    sizes = sorted(result["sizes"])
    itemsize = np.dtype(result["dtype"]).itemsize
    secs = {(r["method"], r["n"]): r["seconds"] for r in result["rows"] if r["seconds"]}
    moved = {(r["method"], r["n"]): r["moved_gbps"] for r in result["rows"] if r["moved_gbps"]}
    read = {r["n"]: r["gbps"] for r in result["read"] if r["gbps"]}
    level, llc = _llc(result["caches"])
    out = []

    def ratio(other, n):
        a, b = secs.get((other, n)), secs.get(("two_pass", n))
        return a / b if a and b else None

    def compare(n):
        return (f"two-pass {_speed_phrase(ratio('three_pass_recompute', n))} three-pass recompute "
                f"and {_speed_phrase(ratio('three_pass_reload', n))} three-pass reload")

    outside = [n for n in sizes if llc and 2 * n * itemsize > llc]
    if llc is None:
        out.append("The OS does not report this machine's cache sizes, so this run cannot tell "
                   "in-cache from out-of-cache rows; at the longest row "
                   f"(N = {_pow2_label(sizes[-1])}) {compare(sizes[-1])}.")
    elif outside:
        n = outside[-1]
        r_rc, r_rl = ratio("three_pass_recompute", n), ratio("three_pass_reload", n)
        where = (f"out of cache (N = {_pow2_label(n)}: x and y take {_bytes_str(2 * n * itemsize)}, "
                 f"more than the {level} cache's {_bytes_str(llc)})")
        if r_rc is None or r_rl is None:
            out.append(f"The paper's claim could not be judged {where}: a measurement failed.")
        else:
            worst = min(r_rc, r_rl)
            if worst > 1 + _SAME:
                claim = "holds on this machine"
            elif worst >= 1 - _SAME:
                claim = "is not clearly confirmed on this machine"
            else:
                claim = "does not hold on this machine"
            out.append(f"The paper's claim (two-pass faster than three-pass out of cache) {claim}: "
                       f"{where} {compare(n)}.")
    else:
        n = sizes[-1]
        out.append(f"This run cannot test the paper's claim (two-pass faster than three-pass out of "
                   f"cache): its longest row (N = {_pow2_label(n)}, x and y "
                   f"{_bytes_str(2 * n * itemsize)}) still fits in the {level} cache "
                   f"({_bytes_str(llc)}); the full mode (quick=False) goes past it. "
                   f"At that size {compare(n)}.")

    def bound(n):
        g, r = moved.get(("two_pass", n)), read.get(n)
        if not g or not r:
            return None
        frac = g / r
        kind = "bandwidth-bound" if frac >= _BANDWIDTH_BOUND else "compute-bound"
        return kind, (f"at N = {_pow2_label(n)} two-pass moves its bytes at {g:.1f} GB/s, "
                      f"{100 * frac:.0f} % of the read bandwidth there ({r:.1f} GB/s): {kind}")

    # Rows below ~2^14 elements measure the Python call more than the kernel, so
    # "in cache" is judged at the longest row that still fits in L2.
    l2 = result["caches"].get("L2") or result["caches"].get("L1")
    in_cache = [n for n in sizes if n >= _MIN_JUDGED_N and (not l2 or 2 * n * itemsize <= l2)]
    judged = ([in_cache[-1]] if in_cache and in_cache[-1] != sizes[-1] else []) + [sizes[-1]]
    parts = [b for b in map(bound, judged) if b]
    if parts:
        text = "; ".join(p[1] for p in parts)
        kinds = {p[0] for p in parts}
        if kinds == {"compute-bound"}:
            why = "the exps, not the memory, set the pace, so saving a pass over memory saves little"
        elif kinds == {"bandwidth-bound"}:
            why = "memory sets the pace, so every pass saved is time saved"
        else:
            why = "short rows wait for arithmetic, long rows for memory"
        out.append(f"Bound: {text} ({why}).")
    scal = [r for r in (result.get("workers") or []) if r.get("algorithm") == "two_pass"
            and r.get("workers", 1) > 1 and r.get("speedup")]
    if scal:
        r = scal[0]
        cpus = result["machine"].get("usable_cpus") or 1
        load = result["machine"].get("load_average")
        busy = (f" (the load average is {load:.1f}: other programs are using these cores, so "
                f"threads wait for them)" if load is not None and load > 0.75 * cpus else "")
        out.append(f"workers={r['workers']} on one row of N = {_pow2_label(r['n'])}: two-pass runs "
                   f"{r['speedup']:.2f}x as fast as one thread on this machine's {cpus} usable "
                   f"cores{busy}.")
    return " ".join(out)


def _pyplot():
    import matplotlib.pyplot as plt
    return plt


_STYLE = {"three_pass_reload": (0, "-", "o"), "three_pass_recompute": (1, "-", "s"),
          "two_pass": (2, "-", "D"), "online": (3, "-", "^"),
          "numpy": (4, "--", "v"), "scipy": (5, "--", "x")}


def _method_style(method):
    from softviz.panels.style import PALETTE
    i, ls, marker = _STYLE.get(method, (0, ":", "."))
    return {"color": PALETTE[i], "linestyle": ls, "marker": marker, "markersize": 4}


def plot_sweep(result, fig=None):
    """Figure of a ``sweep`` result: GB/s vs N with the caches and the read bandwidth.

    Left: GB/s of input (N * itemsize / time) for every method; right: bytes the
    algorithm moves per second (``memory_traffic``) for the four algorithms.
    Both show the read bandwidth measured at each N as the ceiling and mark
    where x and y together fill L1, L2 and L3.  Returns the figure.

    Used in: notebooks/06_two_pass.ipynb
    """
    from softviz.panels.style import INK, PALETTE
    if fig is None:
        fig = _pyplot().figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    itemsize = np.dtype(result["dtype"]).itemsize
    read = [(r["n"], r["gbps"]) for r in result["read"] if r["gbps"]]
    for ax, key, title in ((axes[0], "gbps", "throughput: GB/s of input"),
                           (axes[1], "moved_gbps", "bytes moved per second")):
        for method in result["methods"]:
            pts = [(r["n"], r[key]) for r in result["rows"] if r["method"] == method and r[key]]
            if pts:
                ax.plot(*zip(*pts), label=method.replace("_", " "), **_method_style(method))
        if read:
            ax.plot(*zip(*read), color=INK, linewidth=2.4, alpha=0.55,
                    label="read bandwidth (ceiling)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{title} ({result['dtype']})")
        ax.set_xlabel("row length N")
        ax.set_ylabel("GB/s")
        ax.grid(True, which="major", alpha=0.3)
        for i, level in enumerate(("L1", "L2", "L3")):
            size = result["caches"].get(level)
            if not size:
                continue
            n_fill = size / (2 * itemsize)
            lo, hi = min(result["sizes"]), max(result["sizes"])
            if not lo / 2 <= n_fill <= hi * 2:
                continue
            ax.axvline(n_fill, color=PALETTE[3], linewidth=1.0, linestyle=":")
            ax.text(n_fill, 0.02 + 0.07 * i, f" {level} {_bytes_str(size)}",
                    transform=ax.get_xaxis_transform(), fontsize=8, color=PALETTE[0])
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle("softmax on this machine, one thread (dotted: x and y together fill that cache)",
                 fontsize=11)
    return fig


def plot_accuracy(rows, fig=None):
    """Figure of ``accuracy`` rows: max error in ulps vs the logit spread, per dtype.

    Zero errors are drawn at 0 on a symmetric-log axis.  Returns the figure.

    Used in: notebooks/06_two_pass.ipynb
    """
    if fig is None:
        fig = _pyplot().figure(figsize=(11, 3.8), layout="constrained")
    dtypes = list(dict.fromkeys(r["dtype"] for r in rows))
    axes = np.atleast_1d(fig.subplots(1, len(dtypes)))
    for ax, dtype in zip(axes, dtypes):
        mine = [r for r in rows if r["dtype"] == dtype and r["max_ulp_error"] is not None]
        for method in dict.fromkeys(r["method"] for r in mine):
            pts = sorted((r["scale"], r["max_ulp_error"]) for r in mine if r["method"] == method)
            ax.plot(*zip(*pts), label=method.replace("_", " "), **_method_style(method))
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(0, 2 * max([r["max_ulp_error"] for r in mine] + [1.0]))
        ax.set_title(f"{dtype}: error vs mpmath")
        ax.set_xlabel("logit spread s (x = s * N(0, 1))")
        ax.set_ylabel("max error (ulps)")
        ax.grid(True, alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    return fig


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def _json_safe(obj):
    # JSON has no NaN/inf: write null instead of an invalid document.
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m softviz.bench",
        description="Benchmark softviz.softmax: bandwidth, throughput, workers scaling, "
                    "accuracy and targets.")
    p.add_argument("--quick", action="store_true",
                   help="sizes 2^10, 2^16, 2^20, 2^22, 2^24, fewer repeats, fewer accuracy rows")
    p.add_argument("--sizes", metavar="P,P,...",
                   help="row lengths as powers of two, e.g. 10,16,24 (default 10,12,...,24)")
    p.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    p.add_argument("--repeats", type=int, metavar="N", help="samples per measurement (median)")
    p.add_argument("--no-accuracy", action="store_true", help="skip the mpmath accuracy section")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout and nothing else")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if any applicable target fails")
    p.add_argument("--panels", action="store_true",
                   help="also time each panel's set(): median over 30 moves of its main control, "
                        "without and with a full Agg redraw (targets 30 ms / 150 ms)")
    return p


def main(argv=None):
    """CLI entry point; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be >= 1")
    try:
        sizes = parse_sizes(args.sizes) if args.sizes else (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    except ValueError as exc:
        parser.error(str(exc))
    dtypes = _DTYPES if args.dtype == "both" else (args.dtype,)
    result = run(sizes, dtypes, repeats=args.repeats, quick=args.quick,
                 with_accuracy=not args.no_accuracy, with_panels=args.panels)
    if args.json:
        sys.stdout.write(json.dumps(_json_safe(result), indent=1, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_report(result) + "\n")
    sys.stdout.flush()
    failed = any(t["applicable"] and not t["passed"] for t in result["targets"])
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
