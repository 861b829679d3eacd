"""A teaching view of the C core: the extended-exponent split, memory traffic, probes.

Lesson 06 looks inside the kernels of native/: the (mantissa, exponent) form of
Dukhan & Ablavatski, "The Two-Pass Softmax Algorithm" (2020, arXiv:2001.04438),
how many bytes each algorithm moves, and how fast this machine can read memory.
"""
import platform
import sys

import numpy as np

from . import _native

__all__ = [
    "extexp",
    "memory_traffic",
    "read_probe",
    "copy_probe",
    "simd_path",
    "build_info",
    "TRAFFIC",
]

# Elements read and written per input element, for one softmax row (the paper's
# accounting): reload reads x twice and its stored exps once, writes exps and y;
# recompute reads x three times and writes y; two-pass and online read x twice.
TRAFFIC = {
    "three_pass_reload": (3, 2),
    "three_pass_recompute": (3, 1),
    "two_pass": (2, 1),
    "online": (2, 1),
}


def extexp(x):
    """Split exp(x) into (mantissa, exponent) with exp(x) == mantissa * 2**exponent.

    The exponent is round(x * log2(e)), an integer-valued float, and the mantissa lies
    in [sqrt(1/2), sqrt(2)] -- up to a relative slack of about |x| * eps, because
    x * log2(e) is itself rounded before it is rounded to an integer -- so the pair
    represents exp(x) even where exp(x) itself overflows or underflows: extexp(1000.0)
    is about (1.2216, 1443.0).  Computed by the same C code the two-pass kernel uses;
    float32 input runs in float32, everything else in float64.  Scalars give scalars.

    Raises ValueError for NaN, inf, or |x| beyond the range where the kernels' range
    reduction x - n ln 2 is exact (about 5677 in float32, 1.45e6 in float64).

    Used in: notebooks/06_two_pass.ipynb.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"extexp needs real numbers, got dtype {arr.dtype}")
    # np.asarray keeps 0-d inputs 0-d (ascontiguousarray would make them 1-d)
    work = np.asarray(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64)
    if not np.all(np.isfinite(work)):
        raise ValueError("extexp needs finite x (exp(+-inf) has no (mantissa, exponent) form)")
    if _native.AVAILABLE:
        limit = _native.extexp_exact_range(work.dtype)
    else:
        limit = (8191.0 if work.dtype == np.float32 else 2097151.0) / np.log2(np.e)
    if work.size and np.max(np.abs(work)) > limit:
        raise ValueError(f"|x| must be <= {limit:.6g} for {work.dtype} (largest |x| here: {np.max(np.abs(work)):.6g})")
    if _native.AVAILABLE:
        mant, expo = _native.extexp(np.ascontiguousarray(work.reshape(-1)))
    else:
        flat = work.reshape(-1).astype(np.float64)
        expo = np.rint(flat * np.log2(np.e))
        mant = np.exp(flat - expo * np.log(2.0))
        mant, expo = mant.astype(work.dtype), expo.astype(work.dtype)
    mant, expo = mant.reshape(work.shape), expo.reshape(work.shape)
    if arr.ndim == 0:
        return mant[()], expo[()]
    return mant, expo


def memory_traffic(algorithm, n, dtype=np.float32):
    """Elements read and written, and total bytes, for one softmax row of n elements.

    reads/writes count elements (reload 3n + 2n, recompute 3n + n, two-pass and
    online 2n + n); bytes = (reads + writes) * itemsize.

    Used in: notebooks/06_two_pass.ipynb, softviz.bench.
    """
    if algorithm not in TRAFFIC:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {tuple(TRAFFIC)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    itemsize = np.dtype(dtype).itemsize
    reads, writes = (k * int(n) for k in TRAFFIC[algorithm])
    return {"reads": reads, "writes": writes, "bytes": (reads + writes) * itemsize}


def _probe_array(x, name):
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64) or not x.flags.c_contiguous:
        raise TypeError(f"{name} needs a C-contiguous float32 or float64 numpy array")
    return x


def read_probe(x):
    """Read every element of x once in C and return their sum: the pure-read probe.

    Used in: softviz.bench, notebooks/06_two_pass.ipynb.
    """
    return _native.read_probe(_probe_array(x, "read_probe"))


def copy_probe(x, out):
    """Copy x into out in C (one read and one write per element): the copy probe.

    Used in: softviz.bench, notebooks/06_two_pass.ipynb.
    """
    _probe_array(x, "copy_probe")
    _probe_array(out, "copy_probe")
    if out.dtype != x.dtype or out.size != x.size:
        raise ValueError("copy_probe needs out with the same dtype and size as x")
    _native.copy_probe(x, out)


def simd_path():
    """Which compiled code path runs on this CPU (e.g. the AVX2+FMA clone).

    Used in: softviz.bench, notebooks/06_two_pass.ipynb.
    """
    return _native.simd_path()


def build_info():
    """How the core was built and what it runs on: compiler, code path, platform."""
    return {
        "native": _native.AVAILABLE,
        "load_error": _native.LOAD_ERROR,
        "simd_path": _native.simd_path(),
        "compiler": _native.compiler(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
