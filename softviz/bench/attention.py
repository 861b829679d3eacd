"""Tiled attention through the C core against the naive numpy three-matrix version.

For sequence lengths N (default 512 .. 16,384), d = 64, float32, one thread (the BLAS is
limited to one thread with threadpoolctl, the C core runs one row plan per call):

* time: ``softviz.attention.tiled_attention`` (blocks of keys, the online softmax in C,
  never the N x N matrix) and ``softviz.attention.naive_attention`` (S = Q K^T / sqrt(d),
  P = softmax(S) in numpy, O = P V), interleaved round-robin, median of ``repeats``;
* peak memory of one call, beyond its inputs: the peak of numpy's allocations under
  ``tracemalloc`` (numpy reports its buffers to it), and where Linux allows it the rise of
  the resident set (VmHWM after resetting it through /proc/self/clear_refs);
* the largest difference between the two outputs.

Both versions do the same two matrix products (4 N^2 d flops), which numpy's BLAS runs;
the "matmul" rows time those two products alone, so the table shows how much of each
version's time is BLAS.  What differs is that the naive version writes and reads three
N x N matrices through memory.

``run()`` returns one row per (N, method); ``format_table`` prints them; ``main(argv)`` is
the command line (``python -m softviz.bench.attention``, ``--json`` for machines).

Used in: notebooks/08_attention.ipynb (``run(quick=True)``, its table and figure) and
``python -m softviz.bench.attention``.  FlashAttention: Dao et al. 2022 (arXiv:2205.14135),
Dao 2023 (arXiv:2307.08691).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import _validate
from ..attention import naive_attention, random_qkv, tiled_attention
from .machine import cpu_model
from .timing import time_interleaved

__all__ = ["SIZES", "QUICK_SIZES", "run", "format_table", "targets", "main"]

#: Sequence lengths of the full run and of the notebook's quick run.
SIZES = (512, 1024, 2048, 4096, 8192, 16384)
QUICK_SIZES = (512, 1024, 2048)
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency of softviz; without it the BLAS picks its own threads
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _vm(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak_rss() -> bool:
    # writing 5 to clear_refs resets the peak resident set size (Linux >= 4.0)
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _peak_memory(fn: Callable[[], object]) -> tuple[int, int | None]:
    """(tracemalloc peak bytes, rise of the resident set in bytes or None) of one call."""
    gc.collect()
    rss_ok = _reset_peak_rss()
    before = _vm("VmRSS")
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    hwm = _vm("VmHWM")
    rss = hwm - before if rss_ok and hwm is not None and before is not None else None
    return int(peak), rss


def run(sizes: Sequence[int] | None = None, *, d: int = 64, repeats: int = 3, block_q: int = 128,
        block_k: int = 256, quick: bool = False, rng: Any = 0) -> list[dict[str, Any]]:
    """Time and peak memory of tiled and naive attention for each N in ``sizes``.

    Returns rows ``{"n", "d", "method" ("tiled", "naive", or "matmul": the two matrix products
    Q K^T and S V alone, timed only, peak_bytes 0), "seconds" (median), "peak_bytes"
    (tracemalloc), "rss_bytes" (None where not measurable), "max_abs_diff" (tiled vs naive
    output), "block_q", "block_k"}``.  ``quick=True`` uses ``QUICK_SIZES`` and 2 repeats
    (a few seconds: the notebook's live version).

    Used in: notebooks/08_attention.ipynb, ``python -m softviz.bench.attention``.
    """
    quick = _validate.boolean("quick", quick)
    if sizes is None:
        sizes = QUICK_SIZES if quick else SIZES
    ns = [_validate.integer("sizes", n, lo=16, hi=1 << 15) for n in sizes]
    if not ns:
        raise ValueError("sizes must name at least one sequence length")
    d = _validate.integer("d", d, lo=1, hi=1024)
    repeats = _validate.integer("repeats", repeats, lo=1, hi=100)
    if quick:
        repeats = min(repeats, 2)
    rows: list[dict[str, Any]] = []
    gen = _validate.rng(rng)
    with _one_thread():
        for n in ns:
            q, k, v = random_qkv(n, n, d, rng=gen)
            def tiled(q: np.ndarray = q, k: np.ndarray = k, v: np.ndarray = v) -> object:
                return tiled_attention(q, k, v, block_q=block_q, block_k=block_k)

            def naive(q: np.ndarray = q, k: np.ndarray = k, v: np.ndarray = v) -> object:
                return naive_attention(q, k, v)

            def matmul(q: np.ndarray = q, k: np.ndarray = k, v: np.ndarray = v) -> object:
                # the two products both versions do, alone: what numpy's BLAS costs
                return (q @ k.T) @ v

            contenders: dict[str, Callable[[], object]] = {"tiled": tiled, "naive": naive, "matmul": matmul}
            timing = time_interleaved(contenders, repeats=repeats, min_time=0.05)
            diff = float(np.max(np.abs(np.asarray(contenders["tiled"]()) - np.asarray(contenders["naive"]()))))
            for method, fn in contenders.items():
                peak, rss = _peak_memory(fn) if method != "matmul" else (0, None)
                rows.append({"n": n, "d": d, "method": method, "seconds": timing[method].seconds,
                             "peak_bytes": peak, "rss_bytes": rss, "max_abs_diff": diff,
                             "block_q": block_q, "block_k": block_k})
            del q, k, v, contenders, tiled, naive, matmul
            gc.collect()
    return rows


def _mib(n: int | None) -> str:
    return "    n/a" if n is None else f"{n / 2**20:7.1f}"


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of ``run`` as a text table: per N, time and peak memory of both and the ratios.

    Used in: notebooks/08_attention.ipynb, ``python -m softviz.bench.attention``.
    """
    by_n: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_n.setdefault(int(r["n"]), {})[str(r["method"])] = r
    lines = [f"{'N':>6} {'tiled s':>9} {'naive s':>9} {'BLAS s':>9} {'speed-up':>8} {'tiled MiB':>9} "
             f"{'naive MiB':>9} {'mem ratio':>9} {'RSS t/n MiB':>15} {'max |diff|':>10}"]
    for n, pair in sorted(by_n.items()):
        t, nv = pair.get("tiled"), pair.get("naive")
        if t is None or nv is None:
            continue
        ts, ns = t["seconds"], nv["seconds"]
        speed = f"{ns / ts:7.2f}x" if ts and ns else "     n/a"
        ratio = f"{nv['peak_bytes'] / max(t['peak_bytes'], 1):8.0f}x"
        rss = f"{_mib(t['rss_bytes']).strip()}/{_mib(nv['rss_bytes']).strip()}"
        mm = pair.get("matmul", {}).get("seconds")
        lines.append(f"{n:6d} {ts if ts is not None else float('nan'):9.4f} "
                     f"{ns if ns is not None else float('nan'):9.4f} "
                     f"{mm if mm is not None else float('nan'):9.4f} {speed:>8} {_mib(t['peak_bytes']):>9} "
                     f"{_mib(nv['peak_bytes']):>9} {ratio:>9} {rss:>15} {t['max_abs_diff']:10.2e}")
    return "\n".join(lines)


def targets(rows: Sequence[dict[str, Any]], n: int = 16384) -> dict[str, Any]:
    """The issue's targets at N = ``n``: tiled peak memory <= 1/20 of naive, and not slower.

    Returns ``{"n", "memory_ratio", "memory_ok", "speedup", "speed_ok"}`` (None values when
    ``n`` was not measured).

    Used in: ``python -m softviz.bench.attention``.
    """
    pair = {r["method"]: r for r in rows if r["n"] == n}
    if "tiled" not in pair or "naive" not in pair:
        return {"n": n, "memory_ratio": None, "memory_ok": None, "speedup": None, "speed_ok": None}
    t, nv = pair["tiled"], pair["naive"]
    ratio = nv["peak_bytes"] / max(t["peak_bytes"], 1)
    speed = nv["seconds"] / t["seconds"] if t["seconds"] and nv["seconds"] else None
    return {"n": n, "memory_ratio": ratio, "memory_ok": ratio >= 20,
            "speedup": speed, "speed_ok": None if speed is None else speed >= 1.0}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m softviz.bench.attention [--sizes N ...] [--repeats R] [--quick] [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m softviz.bench.attention",
                                     description="tiled attention (C core) vs naive numpy attention")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="sequence lengths N")
    parser.add_argument("--d", type=int, default=64, help="head dimension (default 64)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block-q", type=int, default=128)
    parser.add_argument("--block-k", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="N = 512..2048, 2 repeats")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    from .. import kernel_info

    start = time.perf_counter()
    rows = run(args.sizes, d=args.d, repeats=args.repeats, block_q=args.block_q, block_k=args.block_k,
               quick=args.quick)
    info = {"cpu": cpu_model(), "kernel": kernel_info()["isa"], "numpy": np.__version__,
            "seconds": time.perf_counter() - start}
    if args.json:
        json.dump({"machine": info, "rows": rows, "targets": targets(rows)}, sys.stdout, indent=1)
        print()
        return 0
    print(f"attention, d = {args.d}, float32, one thread; CPU {info['cpu']}; C kernels {info['kernel']}; "
          f"blocks {args.block_q} x {args.block_k}")
    print(format_table(rows))
    t = targets(rows)
    if t["memory_ratio"] is not None:
        print(f"N = {t['n']}: naive / tiled peak memory {t['memory_ratio']:.0f}x "
              f"({'PASS' if t['memory_ok'] else 'FAIL'}: target >= 20x); naive / tiled time "
              f"{t['speedup']:.2f}x ({'PASS' if t['speed_ok'] else 'FAIL'}: target >= 1, not slower)")
    print(f"({info['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover - the command line
    raise SystemExit(main())
