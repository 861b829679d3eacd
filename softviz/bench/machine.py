"""What the benchmark runs on: CPU model, caches, load, versions and the kernel path.

The kernel path comes from ``softviz.kernel_info()``, the one record the C dispatcher
wrote at load (or after ``softviz._native.select_isa``); nothing here guesses it.
``cache_sizes`` (from ``softviz.caches``, which ``algorithm="auto"`` reads too) is the
only cache reader.

Used by: ``python -m softviz.bench`` (the report's header) and lesson 06
(notebooks/06_two_pass.ipynb, through ``softviz.bench.sweep``).
"""
from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

import softviz
from softviz.caches import SYSFS_CACHE, cache_sizes

__all__ = [
    "SYSFS_CACHE",
    "cpu_model",
    "cache_sizes",
    "usable_cpus",
    "load_average",
    "is_x86_64",
    "bytes_str",
    "machine_info",
]

def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's name as the OS reports it (``/proc/cpuinfo``), else ``platform``'s guess."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
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


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def is_x86_64(machine: str | None = None) -> bool:
    """True on x86-64 (the only family with the AVX2 and AVX-512 kernels)."""
    return (machine or platform.machine()).lower() in ("x86_64", "amd64")


def bytes_str(n: float) -> str:
    """``"64 MiB"`` for 2**26."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


def machine_info() -> dict[str, Any]:
    """Machine, library versions, load and the kernel path (``softviz.kernel_info()``).

    Used in: notebooks/06_two_pass.ipynb and the header of ``python -m softviz.bench``.
    """
    import scipy
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "caches": cache_sizes(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "softviz": getattr(softviz, "__version__", "unknown"),
        "native_available": bool(softviz.native_available()),
        "kernel": dict(softviz.kernel_info()),
        "simd_path": softviz.kernels.simd_path(),
    }
