"""Fresh result arrays for the C core: large ones mapped into huge pages and reused.

numpy's large allocations are fresh mappings whose every 4 KiB page faults on the kernels'
first store; ``empty`` maps a large output itself and keeps a freed mapping for the next
output of its size.  Nothing here touches the C core (``softviz._native`` does).

Used by: ``softviz.core`` (every fresh result of ``softmax``, ``log_softmax``) and
``softviz._native.rows``.
"""
from __future__ import annotations

import collections
import math
import mmap
import sys
import weakref

import numpy as np

__all__ = ["FRESH_MMAP_BYTES", "POOL_BLOCKS", "POOL_BLOCK_BYTES", "empty", "release_memory"]

#: Fresh outputs of at least this many bytes are mapped by ``empty`` (Linux).  Smaller
#: ones come from numpy: glibc serves repeated allocations below 32 MiB (its largest
#: dynamic mmap threshold) from memory it already has, which costs no page faults.
FRESH_MMAP_BYTES = 32 << 20
#: At most this many freed mappings are kept for reuse, each at most POOL_BLOCK_BYTES:
#: two, so that ``y = softviz.softmax(x)`` in a loop (the new result made while the old
#: one is still alive) reuses memory every time.
POOL_BLOCKS = 2
POOL_BLOCK_BYTES = 512 << 20
_HUGE_PAGE = 2 << 20
_LINUX_HUGE = sys.platform.startswith("linux") and hasattr(mmap, "MADV_HUGEPAGE")
# MADV_POPULATE_WRITE (Linux 5.14) is missing from older Pythons' mmap module; its value is fixed
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
# freed mappings, newest last; a deque because a finalizer may append to it from any
# thread at any allocation (appends and pops are atomic, so no lock that one could hold)
_freed: collections.deque[mmap.mmap] = collections.deque()


def _recycle(m: mmap.mmap) -> None:
    # runs when the last array on m is gone: keep m for the next large output
    if len(m) > POOL_BLOCK_BYTES:
        _close(m)
        return
    _freed.append(m)
    while len(_freed) > POOL_BLOCKS:
        try:
            _close(_freed.popleft())
        except IndexError:  # emptied meanwhile by another thread
            break


def _close(m: mmap.mmap) -> None:
    try:
        m.close()
    except BufferError:  # still exported somewhere: unmapped when that goes
        pass


def _mapping(nbytes: int) -> mmap.mmap | None:
    size = -(-nbytes // _HUGE_PAGE) * _HUGE_PAGE
    for _ in range(len(_freed)):
        try:
            m = _freed.pop()
        except IndexError:
            break
        if len(m) == size:
            return m
        _freed.appendleft(m)  # another size: keep it, oldest first out
    try:
        m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, ValueError):
        return None
    for advice in (mmap.MADV_HUGEPAGE, _MADV_POPULATE_WRITE):
        try:
            m.madvise(advice)
        except (OSError, ValueError):  # an old kernel, or THP disabled: faults as usual
            pass
    return m


def release_memory() -> int:
    """Unmap the freed large outputs kept for reuse; returns the bytes given back."""
    freed = 0
    while True:
        try:
            m = _freed.pop()
        except IndexError:
            return freed
        freed += len(m)
        _close(m)


def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array for a fresh result, without the page-fault tax where it is large.

    numpy's large allocations are fresh mappings: every 4 KiB page faults on the kernels'
    first store and the kernel zeroes it (about 0.5 ns per float32 element on Zen 4, more
    than the two-pass kernel itself).  A large output is mapped here instead, advised into
    transparent huge pages and populated in one system call (one fault per 2 MiB, the
    zeroing in bulk), and when the last array on it is gone the mapping is kept (at most
    ``POOL_BLOCKS``) for the next output of the same size, as glibc does below 32 MiB and
    ONNX Runtime's arena does for its outputs: a loop of calls pays the zeroing once.
    ``release_memory()`` gives the kept mappings back.  Anywhere the advice fails this is
    ``numpy.empty``.
    """
    dtype = np.dtype(dtype)
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if not (_LINUX_HUGE and nbytes >= FRESH_MMAP_BYTES):
        return np.empty(shape, dtype)
    m = _mapping(nbytes)
    if m is None:
        return np.empty(shape, dtype)
    root = np.frombuffer(m, dtype=dtype, count=count)
    # root.base is the one memoryview every view of the result keeps alive (views chain
    # to root): when it goes, no array can reach m any more.  Were it m itself, the
    # finalizer's reference would keep m alive for ever: then m is not recycled.
    if isinstance(root.base, memoryview) and root.base.obj is m:
        weakref.finalize(root.base, _recycle, m).atexit = False
    return root.reshape(shape)
