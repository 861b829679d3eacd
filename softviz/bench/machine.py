"""What the benchmark runs on: CPU model, caches, load, versions and the kernel path.

The kernel path comes from ``softviz.kernel_info()``, the one record the C dispatcher
wrote at load (or after ``softviz._native.select_isa``); nothing here guesses it.
``cache_sizes`` is the only cache reader of the benchmark.

Used by: ``python -m softviz.bench`` (the report's header) and lesson 06
(notebooks/06_two_pass.ipynb, through ``softviz.bench.sweep``).
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import numpy as np

import softviz

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

SYSFS_CACHE = "/sys/devices/system/cpu/cpu0/cache"
_SYSCONF_CACHE = {"L1": "SC_LEVEL1_DCACHE_SIZE", "L2": "SC_LEVEL2_CACHE_SIZE",
                  "L3": "SC_LEVEL3_CACHE_SIZE"}
_SYSCTL_CACHE = {"L1": "hw.l1dcachesize", "L2": "hw.l2cachesize", "L3": "hw.l3cachesize"}


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


def _sysfs_caches(base: str) -> dict[str, int]:
    caches: dict[str, int] = {}
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return caches
    for entry in (e for e in entries if e.startswith("index")):
        try:
            fields = {}
            for key in ("level", "type", "size"):
                with open(f"{base}/{entry}/{key}", encoding="utf-8") as fh:
                    fields[key] = fh.read().strip()
            size = fields["size"]
            nbytes = int(size.rstrip("KMG")) * {"K": 2**10, "M": 2**20, "G": 2**30}.get(size[-1:], 1)
        except (OSError, ValueError):
            continue
        if fields["type"] == "Instruction":
            continue
        caches[f"L{fields['level']}"] = nbytes
    return caches


def _sysconf_cache(level: str) -> int | None:
    name = _SYSCONF_CACHE[level]
    if name not in getattr(os, "sysconf_names", {}):
        return None
    try:
        value = os.sysconf(name)
    except (OSError, ValueError):
        return None
    return value if value and value > 0 else None


def _sysctl_cache(level: str) -> int | None:
    # macOS has neither sysfs nor these sysconf names; sysctl knows the sizes.
    if sys.platform != "darwin":
        return None
    try:
        out = subprocess.run(["sysctl", "-n", _SYSCTL_CACHE[level]], capture_output=True,
                             text=True, timeout=5, check=False).stdout.strip()
        value = int(out)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return value if value > 0 else None


def cache_sizes(sysfs: str = SYSFS_CACHE) -> dict[str, int | None]:
    """The data caches of this machine, ``{"L1": bytes, "L2": bytes, "L3": bytes}``.

    Read from sysfs (Linux), else ``os.sysconf`` (glibc's ``SC_LEVEL*_CACHE_SIZE``), else
    ``sysctl`` (macOS); None for a level none of them reports.  Sizes are per cache
    instance as the OS reports them (on a virtual machine, often the host's L3).

    Used in: notebooks/06_two_pass.ipynb
    """
    found = _sysfs_caches(sysfs)
    sizes: dict[str, int | None] = {}
    for level in ("L1", "L2", "L3"):
        value = found.get(level) or _sysconf_cache(level) or _sysctl_cache(level)
        sizes[level] = int(value) if value else None
    return sizes


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
