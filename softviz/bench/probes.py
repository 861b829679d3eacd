"""Read and copy bandwidth, and the memory floor a softmax row cannot beat.

Two C probes run on the same instruction set as the kernels: ``read_probe`` reads every
element once (and sums, so the reads cannot be optimised away), ``copy_probe`` reads
every element once and writes it once.  Timed on the same array as the softmax, at the
same N, in the same interleaved rounds, they give the cost of moving the bytes alone.

The memory floor of an algorithm is the time of the passes it makes over memory, with
no arithmetic at all.  Two-pass (Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm",
2020, arXiv:2001.04438) reads x once (pass 1) and reads x and writes y once (pass 2):
its floor is time(read pass) + time(copy pass).  Three-pass recompute adds one more
read pass, three-pass reload reads x, then copies twice (x to e, e to y).  The two-pass
floor is the least any softmax row can cost, so it is the ceiling every contender is
measured against (``vs_floor``).  On short rows (below ~2^14 elements) each probe's time
is mostly its own Python call, like the softmax's: there the floor measures calls, not
memory.

Used by: ``python -m softviz.bench`` and lesson 06 (notebooks/06_two_pass.ipynb).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import softviz

from .timing import MIN_SAMPLE_SECONDS, Progress, Timing, gbps, pow2_label, time_interleaved

__all__ = ["probe_contenders", "passes", "floor_seconds", "probe_row", "bandwidth"]


def probe_contenders(x: np.ndarray, out: np.ndarray) -> dict[str, Callable[[], object]]:
    """``{"read": ..., "copy": ...}``: the two probes on ``x`` (and ``out`` for the copy)."""
    return {"read": lambda: softviz.kernels.read_probe(x),
            "copy": lambda: softviz.kernels.copy_probe(x, out)}


def passes(algorithm: str) -> tuple[int, int]:
    """(read-only passes, copy passes) an algorithm makes over a row, from ``memory_traffic``.

    >>> passes("two_pass"), passes("three_pass_recompute"), passes("three_pass_reload")
    ((1, 1), (2, 1), (1, 2))
    """
    t = softviz.kernels.memory_traffic(algorithm, 1)
    return t["reads"] - t["writes"], t["writes"]


def floor_seconds(read_seconds: float | None, copy_seconds: float | None,
                  algorithm: str = "two_pass") -> float | None:
    """Memory floor of ``algorithm``: its read-only passes x read time + its copy passes x copy time.

    For two-pass (and online) that is read + copy, the floor of the project's targets.
    """
    if not read_seconds or not copy_seconds:
        return None
    reads, copies = passes(algorithm)
    return reads * read_seconds + copies * copy_seconds


def probe_row(dtype: str, n: int, read: Timing | None, copy: Timing | None) -> dict[str, Any]:
    """The ``probes`` entry of one (dtype, N): both probes, both bandwidths and the floor.

    read GB/s counts N * itemsize bytes, copy GB/s 2 * N * itemsize (read + write).
    """
    itemsize = np.dtype(dtype).itemsize
    r = read.seconds if read else None
    c = copy.seconds if copy else None
    errors = [t.error for t in (read, copy) if t is not None and t.error]
    if read is None or copy is None:
        errors.append("probes not measured")
    floor = floor_seconds(r, c)
    return {
        "dtype": np.dtype(dtype).name, "n": int(n),
        "read_seconds": r, "read_gbps": gbps(n * itemsize, r),
        "read_samples": list(read.samples) if read else [],
        "copy_seconds": c, "copy_gbps": gbps(2 * n * itemsize, c),
        "copy_samples": list(copy.samples) if copy else [],
        "floor_seconds": floor,
        "floor_ns_per_element": floor / n * 1e9 if floor and n else None,
        "error": "; ".join(errors) or None,
    }


def bandwidth(n: int = 2**24, dtypes: Sequence[str] = ("float32", "float64"), repeats: int = 5, *,
              seed: int = 0, min_time: float = MIN_SAMPLE_SECONDS,
              progress: Progress | None = None) -> list[dict[str, Any]]:
    """Read and copy bandwidth and the two-pass floor at one N, per dtype (``probe_row`` dicts).

    The full benchmark measures these at every N inside the softmax comparison; this is
    the stand-alone version.  Without the C core each entry carries the error.
    """
    rows = []
    for dtype in dtypes:
        dt = np.dtype(dtype)
        x = np.random.default_rng(seed).standard_normal(int(n)).astype(dt)
        out = np.empty_like(x)
        if progress is not None:
            progress.step(f"{dt.name} read and copy probes N={pow2_label(n)}")
        t = time_interleaved(probe_contenders(x, out), repeats, min_time=min_time)
        rows.append(probe_row(dt.name, int(n), t["read"], t["copy"]))
    return rows
