"""The data cache sizes of this machine, read once from the OS.

``algorithm="auto"`` (``softviz.auto``) chooses a kernel from them, and the benchmark
prints them in its header.

Used by: ``softviz.auto`` (every ``softviz.softmax`` call with the default algorithm),
``python -m softviz.bench`` and lesson 06 (notebooks/06_two_pass.ipynb).
"""
from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["SYSFS_CACHE", "cache_sizes"]

SYSFS_CACHE = "/sys/devices/system/cpu/cpu0/cache"
_SYSCONF_CACHE = {"L1": "SC_LEVEL1_DCACHE_SIZE", "L2": "SC_LEVEL2_CACHE_SIZE",
                  "L3": "SC_LEVEL3_CACHE_SIZE"}
_SYSCTL_CACHE = {"L1": "hw.l1dcachesize", "L2": "hw.l2cachesize", "L3": "hw.l3cachesize"}


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
