"""Large fresh outputs (softviz._outputs.empty): mapped, kept for reuse when the last array on
them is gone, never reused while any view of them lives."""
import gc
import sys

import numpy as np
import pytest

import softviz
from softviz import _outputs

pytestmark = pytest.mark.skipif(not (_outputs._LINUX_HUGE and softviz.native_available()),
                                reason="the mapped outputs are a Linux path of the C core")


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    monkeypatch.setattr(_outputs, "FRESH_MMAP_BYTES", 1 << 20)
    _outputs.release_memory()
    yield
    _outputs.release_memory()


def _address(a):
    return a.__array_interface__["data"][0]


def test_a_freed_output_is_reused_for_the_next_one():
    x = np.linspace(-3, 3, 1 << 19, dtype=np.float32)       # 2 MiB
    y = softviz.softmax(x)
    first = _address(y)
    np.testing.assert_allclose(y, softviz.softmax(x, algorithm="two_pass", out=np.empty(x.shape, x.dtype)),
                               rtol=1e-6)
    del y
    gc.collect()
    assert len(_outputs._freed) == 1
    y = softviz.softmax(x)
    assert _address(y) == first and len(_outputs._freed) == 0
    np.testing.assert_allclose(y.sum(), 1.0, rtol=1e-5)


def test_a_live_view_keeps_its_memory():
    x = np.linspace(-3, 3, 1 << 19, dtype=np.float32)
    y = softviz.softmax(x)
    view = y[10:20].reshape(2, 5).T        # a view of a view: it must keep y's memory
    kept = view.copy()
    del y
    gc.collect()
    assert len(_outputs._freed) == 0
    z = softviz.softmax(np.zeros_like(x))  # a new output of the same size: other memory
    assert _address(z) != _address(view) - 10 * 4
    np.testing.assert_array_equal(view, kept)
    del view
    gc.collect()
    assert len(_outputs._freed) == 1


def test_the_pool_is_bounded_and_released():
    arrays = [_outputs.empty((1 << 19,), np.float32) for _ in range(_outputs.POOL_BLOCKS + 2)]
    assert len({_address(a) for a in arrays}) == len(arrays)
    del arrays
    gc.collect()
    assert len(_outputs._freed) == _outputs.POOL_BLOCKS
    assert _outputs.release_memory() == _outputs.POOL_BLOCKS * (2 << 20)
    assert _outputs.release_memory() == 0 and len(_outputs._freed) == 0


def test_sizes_round_to_huge_pages_and_other_sizes_wait():
    a = _outputs.empty((3, 100_000), np.float64)              # 2.3 MiB -> a 4 MiB mapping
    assert a.shape == (3, 100_000) and a.dtype == np.float64 and a.flags.writeable and a.flags.c_contiguous
    a[:] = 1.0
    del a
    gc.collect()
    b = _outputs.empty((1 << 19,), np.float32)                # 2 MiB: not the 4 MiB one
    assert len(_outputs._freed) == 1
    c = _outputs.empty(((4 << 20) // 8,), np.float64)             # 4 MiB: the kept one
    assert len(_outputs._freed) == 0 and c.size == 1 << 19
    assert sys.getrefcount(b) >= 2


def test_an_oversized_block_is_unmapped(monkeypatch):
    monkeypatch.setattr(_outputs, "POOL_BLOCK_BYTES", 1 << 20)
    a = _outputs.empty((1 << 19,), np.float32)
    del a
    gc.collect()
    assert len(_outputs._freed) == 0
